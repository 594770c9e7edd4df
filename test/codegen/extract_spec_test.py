#!/usr/bin/env python3
"""codegen/extract_spec.py on small C sources written in Asterisk's style."""

import json
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXTRACT = HERE.parent.parent / "codegen" / "extract_spec.py"
FIXTURES = HERE / "fixtures"


def run(*args):
    out = subprocess.run([sys.executable, str(EXTRACT), *map(str, args)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout)


class OneTree(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.v2 = run(FIXTURES / "v2", "--branch", "2")["events"]

    def test_unconditional_headers_are_always_written(self):
        h = self.v2["CallDone"]["headers"]
        self.assertEqual(h["Cause"], "always")
        self.assertEqual(h["Detail"], "always")

    def test_a_header_appended_under_an_if_is_conditional(self):
        self.assertEqual(self.v2["CallDone"]["headers"]["Note"], "conditional")

    def test_a_header_appended_in_a_loop_is_conditional(self):
        self.assertEqual(self.v2["CallDone"]["headers"]["Item"], "conditional")

    def test_a_header_named_by_a_ternary_is_conditional(self):
        self.assertEqual(self.v2["CallDone"]["headers"]["Extra"], "conditional")

    def test_a_ternary_event_name_gives_both_events(self):
        self.assertEqual(self.v2["CallGoing"]["headers"], self.v2["CallDone"]["headers"])

    def test_a_snapshot_block_is_not_a_header(self):
        self.assertNotIn("Channel", self.v2["CallDone"]["headers"])
        self.assertFalse(self.v2["CallDone"]["partial"])

    def test_documentation_is_read(self):
        self.assertEqual(self.v2["CallDone"]["documented"], ["Cause", "Note", "Detail"])

    def test_astman_append_runs_across_if_else_branches(self):
        h = self.v2["PeerRow"]["headers"]
        self.assertEqual(h["Kind"], "always")
        self.assertEqual(h["Name"], "always")
        self.assertEqual(h["Address"], "conditional")
        self.assertEqual(h["ActionID"], "conditional")
        self.assertEqual(len(self.v2["PeerRow"]["sites"]), 2)


class Merge(unittest.TestCase):
    def test_versions_and_presence(self):
        with tempfile.TemporaryDirectory() as tmp:
            t = Path(tmp)
            for v in ("v1", "v2"):
                (t / (v + ".json")).write_text(
                    json.dumps(run(FIXTURES / v, "--branch", v[1:])), encoding="utf-8")
            overrides = t / "overrides.json"
            overrides.write_text(json.dumps({"events": {"CallDone": {"Cause": {
                "presence": "conditional", "reason": "a test"}}}}), encoding="utf-8")
            merged = run("--merge", t / "v1.json", t / "v2.json", "--overrides", overrides)
        self.assertEqual([b["branch"] for b in merged["branches"]], ["1", "2"])
        h = merged["events"]["CallDone"]["headers"]
        # Written in both versions, always: Detail only since 2, so not in every version.
        self.assertEqual(h["Detail"], {"presence": "conditional", "since": "2"})
        # Always in 1, under an if in 2.
        self.assertEqual(h["Note"], {"presence": "conditional", "conditional_in": ["2"]})
        self.assertEqual(h["Cause"]["presence"], "conditional")
        self.assertEqual(h["Cause"]["override"], "a test")
        # The event of version 2 only.
        self.assertEqual(merged["events"]["CallGoing"]["branches"], ["2"])
        self.assertEqual(merged["events"]["CallGoing"]["headers"]["Detail"],
                         {"presence": "always"})

    def test_docs_and_code_disagreeing_is_noted(self):
        with tempfile.TemporaryDirectory() as tmp:
            f = Path(tmp) / "v1.json"
            f.write_text(json.dumps(run(FIXTURES / "v1", "--branch", "1")), encoding="utf-8")
            merged = run("--merge", f)
        self.assertEqual(merged["events"]["CallDone"]["notes"],
                         ["documented, not written by the code: Detail"])


if __name__ == "__main__":
    unittest.main()
