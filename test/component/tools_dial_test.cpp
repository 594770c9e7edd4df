// ami-dial (tools/ami_dial_main.hpp) run in-process against the simulated PBX: every outcome
// and its exit status, the progress lines, the Originate it sends, --json, --demo.
#include "../../tools/ami_dial_main.hpp"
#include "run_with_deadline.hpp"

#include "ami/testing/server.hpp"

#include <boost/json.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
namespace dial = ami::tools::dial;

namespace {

using env_map = std::map<std::string, std::string>;

ami::test::program_run run_dial(std::vector<std::string> args, env_map env = {}) {
  auto r = ami::test::run_with_deadline(
      [args = std::move(args), env = std::move(env)](std::ostream& out, std::ostream& err) {
        return dial::run_dial(args, out, err,
                              [&env](const char* name) -> std::optional<std::string> {
                                const auto it = env.find(name);
                                if (it == env.end()) return std::nullopt;
                                return it->second;
                              });
      },
      20s);
  REQUIRE_MESSAGE(r.status, "ami-dial did not finish");
  return r;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

// The demo PBX on a fast clock: a simulated second is 10 ms.
ami::testing::server_options fast_demo_pbx() {
  ami::testing::server_options so;
  so.pbx = dial::demo_pbx();
  so.pbx->time_unit = 10ms;
  so.pbx->step = 2ms;
  return so;
}

struct dial_fixture {
  dial_fixture() : srv(fast_demo_pbx()) { srv.start(); }

  // --url plus the given arguments.
  std::vector<std::string> args(std::vector<std::string> more) const {
    more.insert(more.begin(), {"--url", srv.url()});
    return more;
  }

  ami::testing::server srv;
};

boost::json::object parse_object(const std::string& text) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(text, ec);
  REQUIRE_MESSAGE(!ec, "not JSON: " << text);
  REQUIRE_MESSAGE(v.is_object(), "not an object: " << text);
  return v.as_object();
}

std::string str(const boost::json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  REQUIRE_MESSAGE(v != nullptr, "missing " << key);
  REQUIRE_MESSAGE(v->is_string(), key << " is not a string");
  return std::string(v->as_string());
}

}  // namespace

TEST_SUITE("ami-dial") {
  TEST_CASE("answered: progress from the call's events, the bridge, exit 0") {
    dial_fixture f;
    const auto r = run_dial(f.args({"--from", "PJSIP/100", "--to", "200", "--timeout", "5"}));
    CHECK(*r.status == dial::exit_answered);
    CHECK(r.err.empty());
    // The progress lines, in the order the call went.
    const std::vector<std::string> steps = {"dialing PJSIP/100-",  "ringing PJSIP/100-",
                                            "answered PJSIP/100-", "calling 200 (PJSIP/200-",
                                            "200 answered",        "bridged PJSIP/100-"};
    std::size_t at = 0;
    for (const auto& step : steps) {
      CAPTURE(step);
      const auto pos = r.out.find(step, at);
      REQUIRE(pos != std::string::npos);
      at = pos;
    }
    const auto lines = split_lines(r.out);
    REQUIRE(!lines.empty());
    CHECK(contains(lines.back(), "outcome: answered in "));
    CHECK(contains(lines.back(), "bridged with PJSIP/200-"));
    CHECK_FALSE(contains(r.out, "amp111"));  // the redacted URL only
    CHECK(contains(r.out, "ami://admin:***@127.0.0.1:"));
    // The two phones are in a call now.
    const auto chans = f.srv.channels();
    CHECK(chans.size() == 2);
    for (const auto& c : chans) CHECK_FALSE(c.bridge.empty());
  }

  TEST_CASE("the Originate carries the agent, the number, caller ID, variables and timeout") {
    dial_fixture f;
    const auto r = run_dial(f.args({"--from", "PJSIP/100", "--to", "300", "--context", "default",
                                    "--caller-id", "Sales <555>", "--var", "CRM_ID=42", "--var",
                                    "NOTE=a=b", "--timeout", "7", "--follow", "0"}));
    CHECK(*r.status == dial::exit_answered);
    ami::message originate;
    for (const auto& m : f.srv.received()) {
      if (m.get_or("Action") == "Originate") originate = m;
    }
    REQUIRE_FALSE(originate.empty());
    CHECK(originate.get("Channel") == "PJSIP/100");
    CHECK(originate.get("Context") == "default");
    CHECK(originate.get("Exten") == "300");
    CHECK(originate.get("Priority") == "1");
    CHECK(originate.get("CallerID") == "Sales <555>");
    CHECK(originate.get("Timeout") == "7000");
    CHECK(originate.get("Async") == "true");
    const auto vars = originate.get_all("Variable");
    REQUIRE(vars.size() == 2);
    CHECK(vars[0] == "CRM_ID=42");
    CHECK(vars[1] == "NOTE=a=b");
    // The variables reached the answered channel.
    const auto chans = f.srv.channels();
    REQUIRE(chans.size() == 1);
    CHECK(f.srv.variable(chans[0].name, "CRM_ID") == "42");
  }

  TEST_CASE("each unanswered outcome has its exit status and Reason") {
    struct expectation {
      const char* from;
      const char* to;
      int status;
      const char* outcome;
      std::optional<int> reason;
    };
    const expectation cases[] = {
        {"PJSIP/101", "200", dial::exit_busy, "busy", 5},
        {"PJSIP/102", "200", dial::exit_no_answer, "no_answer", 3},
        {"PJSIP/103", "200", dial::exit_failed, "congestion", 8},
        {"Local/999@default", "200", dial::exit_failed, "failure", 0},  // no such extension
        {"PJSIP/999", "200", dial::exit_failed, "failure", 0},          // no such phone
        // The agent answers, then the number is unknown to the dialplan.
        {"PJSIP/100", "999", dial::exit_failed, "failure", 4},
    };
    dial_fixture f;
    for (const auto& e : cases) {
      CAPTURE(e.from);
      CAPTURE(e.to);
      // 20 s of ringing is 200 ms here (time unit 10 ms): long enough that a busy or
      // congested phone answers before the ring timeout even on a loaded machine.
      const auto r =
          run_dial(f.args({"--from", e.from, "--to", e.to, "--timeout", "20", "--json"}));
      CHECK(*r.status == e.status);
      const auto lines = split_lines(r.out);
      REQUIRE(lines.size() == 1);
      const auto o = parse_object(lines[0]);
      CHECK(str(o, "outcome") == e.outcome);
      REQUIRE(o.if_contains("reason") != nullptr);
      CHECK(o.at("reason").as_int64() == *e.reason);
      CHECK(o.at("bridged").as_bool() == false);
    }
  }

  TEST_CASE("text outcome lines for busy and no answer") {
    dial_fixture f;
    const auto busy = run_dial(f.args({"--from", "PJSIP/101", "--to", "200"}));
    CHECK(*busy.status == dial::exit_busy);
    CHECK(contains(busy.out, "PJSIP/101-00000000: BUSY"));
    CHECK(contains(split_lines(busy.out).back(), "outcome: busy: PJSIP/101 (Reason 5)"));
    const auto away = run_dial(f.args({"--from", "PJSIP/102", "--to", "200", "--timeout", "2"}));
    CHECK(*away.status == dial::exit_no_answer);
    CHECK(contains(away.out, "ringing PJSIP/102-"));
    CHECK(contains(split_lines(away.out).back(), "outcome: no answer: PJSIP/102 (Reason 3)"));
    const auto unknown = run_dial(f.args({"--from", "PJSIP/100", "--to", "999"}));
    CHECK(*unknown.status == dial::exit_failed);
    CHECK(contains(unknown.out, "Unallocated"));
    CHECK(contains(split_lines(unknown.out).back(), "no such extension: 999@default"));
  }

  TEST_CASE("--json: one object with the outcome of an answered call") {
    dial_fixture f;
    const auto r = run_dial(f.args({"--from", "PJSIP/100", "--to", "200", "--json"}));
    CHECK(*r.status == dial::exit_answered);
    const auto lines = split_lines(r.out);
    REQUIRE(lines.size() == 1);  // no progress lines with --json
    const auto o = parse_object(lines[0]);
    CHECK(str(o, "outcome") == "answered");
    CHECK(o.at("reason").as_int64() == 4);
    CHECK(str(o, "response") == "Success");
    CHECK(str(o, "from") == "PJSIP/100");
    CHECK(str(o, "to") == "200");
    CHECK(str(o, "context") == "default");
    const std::string channel = str(o, "channel");
    CHECK(channel.rfind("PJSIP/100-", 0) == 0);
    CHECK(o.at("bridged").as_bool());
    CHECK(str(o, "peer").rfind("PJSIP/200-", 0) == 0);
    REQUIRE(o.at("seconds").is_double());
    CHECK(o.at("seconds").as_double() >= 0.0);
    CHECK(o.at("seconds").as_double() < 20.0);
    // The Uniqueid is the one of the agent's live channel.
    bool found = false;
    for (const auto& c : f.srv.channels()) {
      if (c.name == channel) {
        found = true;
        CHECK(str(o, "uniqueid") == c.uniqueid);
      }
    }
    CHECK(found);
  }

  TEST_CASE("a refused Originate (Extension does not exist.) exits 5") {
    dial_fixture f;
    f.srv.on_action("Originate", [](ami::testing::session& s, const ami::message& a) {
      s.respond(a, {{"Response", "Error"}, {"Message", "Extension does not exist."}});
      return true;
    });
    const auto r = run_dial(f.args({"--from", "PJSIP/100", "--to", "404", "--json"}));
    CHECK(*r.status == dial::exit_failed);
    const auto o = parse_object(split_lines(r.out).at(0));
    CHECK(str(o, "outcome") == "refused");
    CHECK(o.at("reason").is_null());
    CHECK(str(o, "message") == "Extension does not exist.");
    CHECK(contains(r.err, "Originate refused: Extension does not exist."));
  }

  TEST_CASE("a wrong secret or an unreachable port exits 2, never printing the secret") {
    dial_fixture f;
    const std::string port = std::to_string(f.srv.port());
    const std::string secret = "Wrong-Secret-7";
    SUBCASE("secret in the URL") {
      const auto r = run_dial({"--url", "ami://admin:" + secret + "@127.0.0.1:" + port, "--from",
                               "PJSIP/100", "--to", "200"});
      CHECK(*r.status == dial::exit_connection);
      CHECK(contains(r.err, "cannot log in to ami://admin:***@127.0.0.1:" + port));
      CHECK(contains(r.err, "Authentication failed"));
      CHECK_FALSE(contains(r.err + r.out, secret));
      CHECK_FALSE(f.srv.wait_for_action("Originate", 0ms));
    }
    SUBCASE("secret from AMI_SECRET, JSON outcome") {
      const auto r =
          run_dial({"--from", "PJSIP/100", "--to", "200", "--json"},
                   {{"AMI_URL", "ami://admin@127.0.0.1:" + port}, {"AMI_SECRET", secret}});
      CHECK(*r.status == dial::exit_connection);
      const auto o = parse_object(split_lines(r.out).at(0));
      CHECK(str(o, "outcome") == "error");
      CHECK(contains(str(o, "message"), "Authentication failed"));
      CHECK_FALSE(contains(r.err + r.out, secret));
    }
    SUBCASE("nothing listens on the port") {
      std::string closed_port;
      {
        ami::testing::server gone;
        gone.start();
        closed_port = std::to_string(gone.port());
      }
      const auto r = run_dial({"--url", "ami://admin:amp111@127.0.0.1:" + closed_port, "--from",
                               "PJSIP/100", "--to", "200"});
      CHECK(*r.status == dial::exit_connection);
      CHECK(contains(r.err, "cannot log in to ami://admin:***@127.0.0.1:" + closed_port));
      CHECK_FALSE(contains(r.err, "amp111"));
    }
  }

  TEST_CASE("the server comes from AMI_URL and the secret from AMI_SECRET") {
    dial_fixture f;
    const auto r = run_dial({"--from", "PJSIP/101", "--to", "200"},
                            {{"AMI_URL", "ami://admin@127.0.0.1:" + std::to_string(f.srv.port())},
                             {"AMI_SECRET", "amp111"}});
    CHECK(*r.status == dial::exit_busy);
    CHECK(f.srv.wait_for_action("Originate", 0ms));
  }

  TEST_CASE("--demo dials on an embedded PBX") {
    const auto r = run_dial({"--demo", "--from", "PJSIP/101"});
    CHECK(*r.status == dial::exit_busy);
    CHECK(contains(r.out, "(demo PBX)"));
    CHECK(contains(r.out, "outcome: busy: PJSIP/101 (Reason 5)"));
  }

  TEST_CASE("usage errors exit 1, --help exits 0") {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--to", "200", "--url", "ami://admin:x@127.0.0.1:1"},
             {"--from", "PJSIP/100", "--url", "ami://admin:x@127.0.0.1:1"},
             {"--from", "PJSIP/100", "--to", "200"},  // no server at all
             {"--from", "PJSIP/100", "--to", "200", "--url", "http://x"},
             {"--from", "PJSIP/100", "--to", "200", "--url", "ami://a:b@h", "--timeout", "0"},
             {"--from", "PJSIP/100", "--to", "200", "--url", "ami://a:b@h", "--var", "=x"},
             {"--from", "PJSIP/100", "--to", "200", "--url", "ami://a:b@h", "--bogus"},
             {"--demo", "--url", "ami://a:b@h"},
             {"--from"}}) {
      CAPTURE(args.size());
      const auto r = run_dial(args);
      CHECK(*r.status == dial::exit_other);
      CHECK(r.out.empty());
      CHECK(contains(r.err, "ami-dial: "));
    }
    const auto help = run_dial({"--help"});
    CHECK(*help.status == 0);
    CHECK(contains(help.out, "Usage: ami-dial"));
  }
}
