#!/usr/bin/env python3
"""Reads an Asterisk source tree and records, per AMI event, which headers the C code
writes always and which only in some cases.

    extract_spec.py ASTERISK_SOURCE_TREE [--branch NAME] [--commit SHA] [--out FILE]
    extract_spec.py --merge BRANCH_FILE... [--overrides FILE] [--out FILE]
    extract_spec.py --check SPEC_DIR [--overrides FILE]

The first form scans one tree (main/, apps/, channels/, res/...: only *.c and *_doc.xml are
read) and writes that branch's findings as JSON. The second merges the files of several
branches, oldest first, into spec/event_headers.json: a header is `conditional` when some
branch writes it only in some cases or does not write it at all, and `since` / `removed_in`
name the branches where it appears and disappears. The third form checks that a spec
directory's event_headers.json is that merge of its asterisk/<branch>.json files.

What counts as an emission site: a manager_event / ast_manager_event* /
ast_manager_event_blob_create call with a literal event name (or a ternary of two), a run
of astman_append calls starting with "Event: Name", and the security event tables of
main/security_events.c. A header is conditional at a site when it is appended under an
if/else/switch/loop, when its name is chosen by a ternary ("forwarded ? \"Forward: \" :
\"\""), or when it is an optional security event field. Across the sites of one event, a
header is always written only when every site that was read completely writes it always.
Sites whose headers come from JSON blobs or helpers in other functions are `partial`: what
they write is recorded, but their absences say nothing. Python 3, standard library only.
"""

import argparse
import json
import re
import sys
from pathlib import Path

SOURCE_DIRS = ["main", "apps", "channels", "res", "funcs", "pbx", "bridges", "addons", "cdr",
               "cel"]

# Call name -> (index of the event name argument, index of the format argument).
EMITTERS = {
    "manager_event": (1, 2),
    "ast_manager_event": (2, 3),
    "ast_manager_event_multichan": (1, 4),
    "ast_manager_event_blob_create": (1, 2),
    "manager_event_sessions": (2, 3),
}
SNAPSHOT_BUILDERS = {
    "ast_manager_build_channel_state_string": "channel",
    "ast_manager_build_channel_state_string_prefix": "channel",
    "ast_manager_build_bridge_state_string": "bridge",
    "ast_manager_build_bridge_state_string_prefix": "bridge",
}
HEADER_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*): ?")
CONVERSION = re.compile(r"%[-+ #0]*(\*|\d+)?(?:\.(\*|\d+))?(?:hh|h|ll|l|j|z|t|L)?([a-zA-Z%])")
IDTEXT = re.compile(r"id_?text", re.I)


# --------------------------------------------------------------------------------------
# C text helpers

def strip_comments(text):
    """Blanks comments (keeping offsets and newlines); string and char literals stay."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"' or c == "'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            i = j + 1
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            for k in range(i, j):
                if out[k] != "\n":
                    out[k] = " "
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            for k in range(i, j):
                out[k] = " "
            i = j
        else:
            i += 1
    return "".join(out)


def skip_literal(text, i):
    q = text[i]
    j = i + 1
    while j < len(text) and text[j] != q:
        j += 2 if text[j] == "\\" else 1
    return j + 1


def matching(text, i):
    """Index just past the bracket matching the one at i."""
    pairs = {"(": ")", "{": "}", "[": "]"}
    stack = [pairs[text[i]]]
    j = i + 1
    while j < len(text) and stack:
        c = text[j]
        if c in "\"'":
            j = skip_literal(text, j)
            continue
        if c in pairs:
            stack.append(pairs[c])
        elif stack and c == stack[-1]:
            stack.pop()
        j += 1
    return j


def split_args(text):
    """Top-level comma-separated arguments of a call's argument text."""
    args, depth, start, j = [], 0, 0, 0
    while j < len(text):
        c = text[j]
        if c in "\"'":
            j = skip_literal(text, j)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            args.append(text[start:j].strip())
            start = j + 1
        j += 1
    args.append(text[start:].strip())
    return args


def literal(expr):
    """The value of adjacent string literals making up all of expr, or None."""
    parts, j, expr = [], 0, expr.strip()
    while j < len(expr):
        if expr[j].isspace():
            j += 1
            continue
        if expr[j] != '"':
            return None
        k = skip_literal(expr, j)
        parts.append(expr[j + 1:k - 1])
        j = k
    if not parts:
        return None
    return "".join(parts).replace("\\r", "\r").replace("\\n", "\n").replace('\\"', '"')


def opening(text):
    """Index of the '(' matching the ')' that ends text (-1 when unbalanced)."""
    level, k = 0, len(text) - 1
    while k >= 0:
        if text[k] == ")":
            level += 1
        elif text[k] == "(":
            level -= 1
            if level == 0:
                return k
        k -= 1
    return k


def functions(text):
    """(name, body start, body end) of each function definition."""
    out, depth, j = [], 0, 0
    while j < len(text):
        c = text[j]
        if c in "\"'":
            j = skip_literal(text, j)
            continue
        if c == "{":
            if depth == 0:
                before = text[max(0, j - 4000):j].rstrip()
                if before.endswith(")"):
                    m = re.search(r"([A-Za-z_]\w*)\s*$", before[:opening(before)])
                    end = matching(text, j)
                    if m:
                        out.append((m.group(1), j, end))
                    j = end
                    continue
            depth += 1
        elif c == "}":
            depth = max(0, depth - 1)
        j += 1
    return out


COND_WORDS = ("if", "for", "while", "switch")


def guard_before(text, pos):
    """True when the text just before pos (a statement or a block) is an if/else/loop head."""
    before = text[max(0, pos - 2000):pos].rstrip()
    if re.search(r"\b(else|do)$", before):
        return True
    if re.search(r"\bcase\b[^;{}]*:$|\bdefault\s*:$", before):
        return True
    if before.endswith(")"):
        m = re.search(r"\b(\w+)\s*$", before[:opening(before)])
        return bool(m and m.group(1) in COND_WORDS)
    return False


def conditional_blocks(text, start, end):
    """Spans (open, close) of the blocks in a function body that run only in some cases."""
    spans, stack, j = [], [], start + 1
    while j < end - 1:
        c = text[j]
        if c in "\"'":
            j = skip_literal(text, j)
            continue
        if c == "{":
            stack.append((j, guard_before(text, j)))
        elif c == "}" and stack:
            o, cond = stack.pop()
            if cond:
                spans.append((o, j))
        j += 1
    return spans


def statement_start(text, pos, body_start):
    j, depth = pos - 1, 0  # the ';' inside a for (...) does not end a statement
    while j > body_start:
        c = text[j]
        if c == ")":
            depth += 1
        elif c == "(":
            depth -= 1
        elif c in ";{}" and depth <= 0:
            return j + 1
        j -= 1
    return body_start + 1


def is_conditional(text, pos, body_start, spans, inside=None):
    """pos runs only in some cases: within a conditional block (that does not also hold
    `inside`), or a brace-less if/else statement."""
    for o, c in spans:
        if o < pos < c and not (inside is not None and o < inside < c):
            return True
    s = statement_start(text, pos, body_start)
    head = text[s:pos]
    if re.match(r"\s*(else\b|(if|for|while)\s*\()", head):
        return True
    return guard_before(text, s)


def calls(text, name, start, end):
    """(position, argument list) of each call of `name` between start and end."""
    out = []
    for m in re.finditer(r"\b%s\s*\(" % re.escape(name), text[start:end]):
        p = start + m.start()
        o = start + m.end() - 1
        close = matching(text, o)
        out.append((p, split_args(text[o + 1:close - 1]), close))
    return out


# --------------------------------------------------------------------------------------
# Emission sites

class Site:
    def __init__(self, event, where):
        self.event = event
        self.where = where
        self.headers = {}  # name -> "always" | "conditional"
        self.partial = False
        self.blocks = []   # snapshot kinds seen

    def add(self, name, conditional):
        if conditional:
            self.headers.setdefault(name, "conditional")
        else:
            self.headers[name] = "always"


class Function:
    def __init__(self, text, name, start, end, file_literals):
        self.text, self.name, self.start, self.end = text, name, start, end
        self.spans = conditional_blocks(text, start, end)
        self.body = text[start:end]
        self.file_literals = file_literals

    def cond(self, pos, inside=None):
        return is_conditional(self.text, pos, self.start, self.spans, inside)

    def string_of(self, ident):
        """A variable initialised from a string literal ("SwapUniqueid: ")."""
        pat = r"\b%s\s*(?:\[\s*\])?\s*=\s*((?:\"(?:[^\"\\]|\\.)*\"\s*)+)" % re.escape(ident)
        m = re.search(pat, self.body) or re.search(pat, self.file_literals)
        return literal(m.group(1)) if m else None


def format_headers(fn, fmt, args, site, cond):
    """Records the headers a format string and its arguments write."""
    if fmt is None:
        site.partial = True
        return
    convs = [m for m in CONVERSION.finditer(fmt) if m.group(3) != "%"]
    arg_of, k = {}, 0
    for m in convs:
        k += (m.group(1) == "*") + (m.group(2) == "*")
        arg_of[m.start()] = args[k] if k < len(args) else ""
        k += 1
    pos = 0
    for line in fmt.split("\r\n"):
        j = 0
        skip = 0
        while True:
            m = CONVERSION.match(line, j)
            if not m or m.group(3) == "%":
                break
            expr = arg_of.get(pos + j, "")
            j = m.end()
            if skip:
                skip -= 1
                continue
            if resolve_insert(fn, expr, site, cond):
                skip = 2  # the value and the line end, chosen by the same ternary
        h = HEADER_LINE.match(line[j:])
        if h:
            site.add(h.group(1), cond)
        pos += len(line) + 2


def resolve_insert(fn, expr, site, cond):
    """A %s at the start of a line: a header chosen by a ternary (returns True), a buffer
    of headers, a snapshot, or the ActionID line."""
    m = re.match(r"(?s)(.+?)\?\s*(.+?)\s*:\s*\"\"\s*$", expr)
    if m:
        chosen = m.group(2)
        name = literal(chosen)
        if name is None and re.fullmatch(r"[A-Za-z_]\w*", chosen):
            name = fn.string_of(chosen)
        if name is not None:
            h = HEADER_LINE.match(name)
            if h and name[h.end():].strip() == "":
                site.add(h.group(1), True)
                return True
            sub = Site(site.event, site.where)
            format_headers(fn, name, [], sub, True)
            for n in sub.headers:
                site.add(n, True)
            return False
        expr, cond = chosen, True
    if IDTEXT.search(expr):
        site.add("ActionID", True)
        return False
    lit = literal(expr)
    if lit is not None:
        format_headers(fn, lit, [], site, cond)
        return False
    b = re.search(r"ast_str_buffer\s*\(\s*([A-Za-z_][\w>.-]*)\s*\)", expr)
    if b:
        buffer_headers(fn, b.group(1), site, cond)
        return False
    if expr.strip() in ('""', ""):
        return False
    site.partial = True
    return False


def buffer_headers(fn, var, site, cond):
    """Headers put into an ast_str buffer within the function."""
    for name, kind in SNAPSHOT_BUILDERS.items():
        if re.search(r"\b%s\s*=\s*%s\s*\(" % (re.escape(var), name), fn.body):
            site.blocks.append(kind)
            return
    found = False
    for call in ("ast_str_append", "ast_str_set"):
        for p, args, _ in calls(fn.text, call, fn.start, fn.end):
            if len(args) < 3 or args[0].replace(" ", "") != "&" + var:
                continue
            found = True
            format_headers(fn, literal(args[2]), args[3:], site, cond or fn.cond(p))
    if not found:
        site.partial = True


def event_names(expr):
    lit = literal(expr)
    if lit is not None:
        return [lit]
    m = re.match(r"(?s).+\?\s*(\"[^\"]*\")\s*:\s*(\"[^\"]*\")\s*$", expr)
    if m:
        return [literal(m.group(1)), literal(m.group(2))]
    return []


def emitter_sites(fn, path):
    out = []
    for call, (ni, fi) in EMITTERS.items():
        for p, args, _ in calls(fn.text, call, fn.start, fn.end):
            if len(args) <= ni:
                continue
            names = event_names(args[ni])
            if not names:
                continue
            line = fn.text.count("\n", 0, p) + 1
            for name in names:
                site = Site(name, "%s:%d" % (path, line))
                fmt_expr = args[fi] if len(args) > fi else ""
                if fmt_expr == "NO_EXTRA_FIELDS":
                    out.append(site)
                    continue
                format_headers(fn, literal(fmt_expr), args[fi + 1:], site, False)
                out.append(site)
    return out


def append_sites(fn, path):
    """Runs of astman_append calls: from the one writing "Event: Name" to the blank line
    or the end of the function. A later "Event:" ends a run unless the two are in
    different branches of an if/else (then the calls after both belong to both)."""
    appends = calls(fn.text, "astman_append", fn.start, fn.end)
    out, open_ = [], []  # open_: (site, position of its "Event:" call)

    def exclusive(a, b):
        return any(o < a < c and not o < b < c for o, c in fn.spans)

    for p, args, _ in appends:
        if len(args) < 2:
            continue
        fmt = literal(args[1])
        if fmt is not None and fmt.startswith("Event: "):
            head, _, rest = fmt.partition("\r\n")
            name = head[len("Event: "):].strip()
            open_ = [(s, q) for s, q in open_ if exclusive(q, p)]
            if not re.fullmatch(r"[A-Za-z][\w-]*", name):
                continue
            site = Site(name, "%s:%d" % (path, fn.text.count("\n", 0, p) + 1))
            out.append(site)
            format_headers(fn, rest, args[2:], site, False)
            if "\r\n\r\n" not in fmt:
                open_.append((site, p))
            continue
        still = []
        for site, q in open_:
            cond = fn.cond(p, q)
            format_headers(fn, fmt, args[2:], site, cond)
            ends = fmt is not None and (fmt.endswith("\r\n\r\n") or fmt == "\r\n")
            if not (ends and not cond):
                still.append((site, q))
        open_ = still
    return out


def security_sites(root):
    """main/security_events.c: required fields are always written, optional ones not."""
    events_c = root / "main" / "security_events.c"
    event_c = root / "main" / "event.c"
    if not events_c.exists() or not event_c.exists():
        return []
    names = dict(re.findall(r"\[(AST_EVENT_IE_\w+)\]\s*=\s*\{\s*\w+\s*,\s*\"([^\"]+)\"",
                            event_c.read_text(errors="replace")))
    text = strip_comments(events_c.read_text(errors="replace"))
    out = []
    for m in re.finditer(r"\[(AST_SECURITY_EVENT_\w+)\]\s*=\s*\{", text):
        body = text[m.end() - 1:matching(text, m.end() - 1)]
        n = re.search(r"\.name\s*=\s*\"([^\"]+)\"", body)
        if not n:
            continue
        site = Site(n.group(1), "main/security_events.c:%d" % (text.count("\n", 0, m.start()) + 1))
        for part, cond in (("required_ies", False), ("optional_ies", True)):
            pm = re.search(r"\.%s\s*=\s*\{" % part, body)
            if not pm:
                continue
            block = body[pm.end() - 1:matching(body, pm.end() - 1)]
            for ie in re.findall(r"\{\s*(AST_EVENT_IE_\w+)", block):
                if ie != "AST_EVENT_IE_END" and ie in names:
                    site.add(names[ie], cond)
        out.append(site)
    return out


# --------------------------------------------------------------------------------------
# Documentation

DOC_EVENT = re.compile(r'<managerEvent\s[^>]*name="([^"]+)"[^>]*>(.*?)</managerEvent>', re.S)


def doc_events(text, docs, included):
    for m in DOC_EVENT.finditer(text):
        params = re.findall(r'<parameter\s[^>]*name="([^"]+)"', m.group(2))
        if "xi:include" in m.group(2):
            included.add(m.group(1))  # parameters from elsewhere: the list is a lower bound
        docs.setdefault(m.group(1), [])
        for p in params:
            if p not in docs[m.group(1)]:
                docs[m.group(1)].append(p)


# --------------------------------------------------------------------------------------
# One tree

def scan_tree(root):
    sites, docs, included = [], {}, set()
    files = []
    for d in SOURCE_DIRS:
        if (root / d).is_dir():
            files += sorted((root / d).rglob("*.c")) + sorted((root / d).rglob("*_doc.xml"))
    for path in files:
        raw = path.read_text(errors="replace")
        rel = path.relative_to(root).as_posix()
        if "managerEvent" in raw:
            doc_events(raw, docs, included)
        if path.suffix != ".c":
            continue
        if not any(k in raw for k in list(EMITTERS) + ["astman_append"]):
            continue
        text = strip_comments(raw)
        fns = functions(text)
        file_literals = text
        for name, s, e in fns:
            fn = Function(text, name, s, e, file_literals)
            sites += emitter_sites(fn, rel)
            sites += append_sites(fn, rel)
    sites += security_sites(root)
    return sites, docs, included


def summarise(sites, docs, included):
    by_event = {}
    for s in sites:
        by_event.setdefault(s.event, []).append(s)
    events = {}
    for name in sorted(set(by_event) | set(docs)):
        ss = by_event.get(name, [])
        complete = [s for s in ss if not s.partial]
        headers = {}
        for s in ss:
            for h, how in s.headers.items():
                headers.setdefault(h, set()).add(how)
        out = {}
        for h, hows in headers.items():
            always = "conditional" not in hows and all(
                s.headers.get(h) == "always" for s in complete)
            out[h] = "always" if always else "conditional"
        entry = {"headers": dict(sorted(out.items())),
                 "sites": sorted(s.where for s in ss),
                 "partial": bool(ss) and not complete}
        if name in docs:
            entry["documented"] = docs[name]
            if name in included:
                entry["documented_in_part"] = True
        events[name] = entry
    return events


# --------------------------------------------------------------------------------------
# Merging branches

def merge(files, overrides):
    branches = []
    per = []
    for f in files:
        data = json.loads(Path(f).read_text(encoding="utf-8"))
        branches.append({"branch": data["branch"], "commit": data.get("commit", "")})
        per.append(data)
    order = [b["branch"] for b in branches]
    events = {}
    names = sorted({n for d in per for n in d["events"]})
    for name in names:
        have = [d["branch"] for d in per if name in d["events"] and d["events"][name]["sites"]]
        if not have:
            continue
        headers = {}
        for d in per:
            e = d["events"].get(name)
            if not e or not e["sites"]:
                continue
            for h, how in e["headers"].items():
                key = next((k for k in headers if k.lower() == h.lower()), h)
                info = headers.setdefault(key, {"branches": [], "conditional_in": []})
                info["branches"].append(d["branch"])
                if how == "conditional":
                    info["conditional_in"].append(d["branch"])
        out = {}
        for h, info in sorted(headers.items()):
            complete_in = [d["branch"] for d in per
                           if d["branch"] in have and not d["events"][name]["partial"]]
            absent = [b for b in complete_in if b not in info["branches"]]
            row = {"presence": "conditional" if info["conditional_in"] or absent else "always"}
            if info["conditional_in"]:
                row["conditional_in"] = info["conditional_in"]
            first, last = info["branches"][0], info["branches"][-1]
            if first != have[0]:
                row["since"] = first
            if last != have[-1]:
                row["removed_in"] = order[order.index(last) + 1]
            out[h] = row
        entry = {"branches": have, "headers": out}
        newest = next(d for d in reversed(per) if name in d["events"])["events"][name]
        if newest["partial"]:
            entry["partial"] = True
        docs = newest.get("documented")
        if docs is not None:
            written = {h.lower() for h in out}
            notes = []
            unwritten = [p for p in docs if p.lower() not in written and p != "ActionID"]
            if unwritten and not newest["partial"]:
                notes.append("documented, not written by the code: " + ", ".join(unwritten))
            docset = {p.lower() for p in docs}
            extra = [h for h in out if h.lower() not in docset and h != "ActionID"]
            if extra and not newest.get("documented_in_part"):
                notes.append("written by the code, not documented: " + ", ".join(extra))
            if notes:
                entry["notes"] = notes
        events[name] = entry
    for name, hs in overrides.get("events", {}).items():
        entry = events.setdefault(name, {"branches": [], "headers": {}})
        for h, o in hs.items():
            row = entry["headers"].setdefault(h, {})
            row["presence"] = o["presence"]
            row["override"] = o["reason"]
    return {"branches": branches, "events": events}


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tree", nargs="*", help="an Asterisk source tree (or, with --merge, "
                    "the branch files to merge, oldest first)")
    ap.add_argument("--branch", default="")
    ap.add_argument("--commit", default="")
    ap.add_argument("--merge", action="store_true")
    ap.add_argument("--check", metavar="SPEC_DIR",
                    help="fail unless SPEC_DIR/event_headers.json is the merge of "
                    "SPEC_DIR/asterisk/<branch>.json (in its branch order) and --overrides")
    ap.add_argument("--overrides", default="")
    ap.add_argument("--out", default="-")
    a = ap.parse_args(argv)
    if a.check:
        spec = Path(a.check)
        have = (spec / "event_headers.json").read_text(encoding="utf-8")
        order = [b["branch"] for b in json.loads(have)["branches"]]
        overrides = json.loads(Path(a.overrides).read_text(encoding="utf-8")) if a.overrides else {}
        want = json.dumps(merge([spec / "asterisk" / (b + ".json") for b in order], overrides),
                          indent=1) + "\n"
        if want != have:
            sys.stderr.write("extract_spec: %s/event_headers.json is not the merge of %s/asterisk "
                             "and the overrides; rerun with --merge\n" % (spec, spec))
            return 1
        return 0
    if a.merge:
        overrides = {}
        if a.overrides:
            overrides = json.loads(Path(a.overrides).read_text(encoding="utf-8"))
        result = merge(a.tree, overrides)
    else:
        if len(a.tree) != 1:
            ap.error("one source tree")
        root = Path(a.tree[0])
        sites, docs, included = scan_tree(root)
        result = {"branch": a.branch or root.name, "commit": a.commit,
                  "events": summarise(sites, docs, included)}
    text = json.dumps(result, indent=1) + "\n"
    if a.out == "-":
        sys.stdout.write(text)
    else:
        Path(a.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
