// ami-ivr (tools/ami_ivr_main.hpp) run in-process: usage errors and exit statuses, a FastAGI
// call from a peer acting as Asterisk, AsyncAGI calls from a scripted server (hang up,
// --continue, a hangup during a command), --json parsed.
#include "../../tools/ami_ivr_main.hpp"
#include "agi_async_support.hpp"
#include "agi_fastagi_support.hpp"
#include "run_with_deadline.hpp"

#include "ami/testing/server.hpp"

#include <boost/json.hpp>

#include <doctest/doctest.h>

#include <future>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace ivr = ami::tools::ivr;

namespace {

ami::test::program_run run_ivr(std::vector<std::string> args,
                               std::function<void(unsigned short)> ready = {},
                               std::optional<std::string> ami_url = {}) {
  auto r = ami::test::run_with_deadline(
      [args = std::move(args), ready = std::move(ready), ami_url](std::ostream& out,
                                                                  std::ostream& err) {
        ivr::run_options run;
        run.ready = ready;
        return ivr::run_ivr(
            args, out, err,
            [&](const char* name) -> std::optional<std::string> {
              if (std::string(name) == "AMI_URL") return ami_url;
              return std::nullopt;
            },
            run);
      },
      20s);
  REQUIRE_MESSAGE(r.status, "ami-ivr did not finish");
  return r;
}

boost::json::object json_line(const std::string& out) {
  std::istringstream in(out);
  std::string line;
  REQUIRE(std::getline(in, line));
  return boost::json::parse(line).as_object();
}

std::vector<std::string> commands_of(const boost::json::object& o) {
  std::vector<std::string> out;
  for (const auto& c : o.at("commands").as_array()) {
    out.emplace_back(c.as_object().at("command").as_string().c_str());
  }
  return out;
}

}  // namespace

TEST_CASE("ami-ivr: help, usage errors and a server that cannot be reached") {
  auto r = run_ivr({"--help"});
  CHECK(*r.status == ivr::exit_ok);
  CHECK(r.out.find("--fastagi HOST:PORT") != std::string::npos);
  for (const auto& bad :
       std::vector<std::vector<std::string>>{{},
                                             {"--count", "0", "--fastagi", "127.0.0.1:0"},
                                             {"--fastagi", "nohostport"},
                                             {"--bogus"},
                                             {"--url", "http://x"},
                                             {"--timeout", "-1", "--fastagi", "127.0.0.1:0"}}) {
    r = run_ivr(bad);
    CHECK(*r.status == ivr::exit_usage);
    CHECK(r.err.find("ami-ivr: ") == 0);
  }
  unsigned short closed_port = 0;
  {
    ami::testing::server srv;
    srv.start();
    closed_port = srv.port();
  }
  r = run_ivr({}, {}, "ami://admin:amp111@127.0.0.1:" + std::to_string(closed_port));
  CHECK(*r.status == ivr::exit_connection);
  CHECK(r.err.find("cannot connect") != std::string::npos);
  CHECK(r.err.find("amp111") == std::string::npos);
}

TEST_CASE("ami-ivr: a FastAGI call, answered the way Asterisk answers") {
  std::promise<unsigned short> port;
  auto port_future = port.get_future();
  auto program = std::async(std::launch::async, [&] {
    return run_ivr({"--fastagi", "127.0.0.1:0", "--json", "--count", "1", "--timeout", "3"},
                   [&](unsigned short p) { port.set_value(p); });
  });
  REQUIRE(port_future.wait_for(10s) == std::future_status::ready);
  ami::test::fake_asterisk peer;
  REQUIRE(peer.connect(port_future.get()));
  REQUIRE(peer.write(ami::test::fastagi_env("ivr", "PJSIP/100-00000001")));
  const std::vector<std::pair<std::string, std::string>> dialogue = {
      {"ANSWER", "200 result=0"},
      {"STREAM FILE beep \"\"", "200 result=0 endpos=1600"},
      {"GET DATA enter-ext-of-person 3000 4", "200 result=1234"},
      {"SAY DIGITS 1234 \"\"", "200 result=0"},
      {"SET VARIABLE IVR_DIGITS 1234", "200 result=1"},
      {"HANGUP", "200 result=1"},
  };
  for (const auto& [command, answer] : dialogue) {
    const auto line = peer.read_line();
    REQUIRE(line);
    CHECK(*line == command);
    REQUIRE(peer.write(answer + "\n"));
  }
  CHECK(peer.closed());
  REQUIRE(program.wait_for(20s) == std::future_status::ready);
  const auto r = program.get();
  CHECK(*r.status == ivr::exit_ok);
  const auto o = json_line(r.out);
  CHECK(o.at("channel").as_string() == "PJSIP/100-00000001");
  CHECK(o.at("transport").as_string() == "fastagi");
  CHECK(o.at("digits").as_string() == "1234");
  CHECK(o.at("end").as_string() == "hangup");
  REQUIRE(o.at("commands").as_array().size() == 6);
  const auto& get_data = o.at("commands").as_array()[2].as_object();
  CHECK(get_data.at("code").as_int64() == 200);
  CHECK(get_data.at("result").as_string() == "1234");
}

TEST_CASE("ami-ivr: AsyncAGI calls: hang up, --continue, a hangup during a command") {
  for (const bool keep : {false, true}) {
    CAPTURE(keep);
    ami::testing::server srv;
    ami::test::scripted_agi script(srv);
    script.replies = {{"GET DATA enter-ext-of-person 5000 4", "200 result=42 (timeout)\n"}};
    srv.start();
    const std::string chan = "Local/800@default-00000001;2";
    std::vector<std::string> args = {"--url", srv.url(), "--json", "--count", "1"};
    if (keep) args.emplace_back("--continue");
    const auto r = run_ivr(args, [&](unsigned short) { ami::test::start_agi(srv, chan); });
    CHECK(*r.status == ivr::exit_ok);
    const auto o = json_line(r.out);
    CHECK(o.at("transport").as_string() == "asyncagi");
    CHECK(o.at("channel").as_string() == chan);
    CHECK(o.at("digits").as_string() == "42");
    CHECK(o.at("end").as_string() == (keep ? "continue" : "hangup"));
    const auto cmds = commands_of(o);
    REQUIRE(cmds.size() == 6);
    CHECK(cmds[4] == "SET VARIABLE IVR_DIGITS 42");
    CHECK(cmds[5] == (keep ? "ASYNCAGI BREAK" : "HANGUP"));
    CHECK(script.sent() == cmds);
  }

  ami::testing::server srv;
  ami::test::scripted_agi script(srv);
  script.replies = {{"GET DATA enter-ext-of-person 5000 4", "hold"}};
  srv.start();
  const std::string chan = "Local/800@default-00000002;2";
  std::thread hangup;
  const auto r = run_ivr({"--url", srv.url(), "--count", "1", "--json"}, [&](unsigned short) {
    ami::test::start_agi(srv, chan);
    hangup = std::thread([&] {
      if (srv.wait_for_actions("AGI", 3, 10s)) {
        srv.push_event({{"Event", "Hangup"}, {"Privilege", "call,all"}, {"Channel", chan}});
      }
    });
  });
  if (hangup.joinable()) hangup.join();
  CHECK(*r.status == ivr::exit_ok);
  const auto o = json_line(r.out);
  CHECK(o.at("end").as_string() == "dead_channel");
  const auto& last = o.at("commands").as_array().back().as_object();
  CHECK(last.at("command").as_string() == "GET DATA enter-ext-of-person 5000 4");
  CHECK(last.at("error").as_string() == "dead_channel");
}

namespace {

std::vector<std::string> lines_of(const std::string& out) {
  std::vector<std::string> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

TEST_CASE("ami-ivr --demo: AsyncAGI calls into the embedded PBX, narrated") {
  const auto r = run_ivr({"--demo"});
  CHECK(*r.status == ivr::exit_ok);
  CHECK(r.err.empty());
  // Each call: the caller, the session's summary line, its six (or three) commands.
  std::vector<std::string> heads;
  for (const auto& line : lines_of(r.out)) {
    if (!starts_with(line, "  ")) heads.push_back(line);
  }
  REQUIRE(heads.size() == 6);
  const auto& callers = ivr::demo_callers();
  CHECK(heads[0] == ivr::describe(callers[0]));
  CHECK(heads[0] == "demo: PJSIP/100 calls 7001, presses 1234");
  CHECK(starts_with(heads[1], "asyncagi PJSIP/100-"));
  CHECK(heads[1].find(": digits '1234', hangup") != std::string::npos);
  CHECK(heads[2] == "demo: PJSIP/101 calls 7002, presses 42#");
  CHECK(heads[3].find(": digits '42', hangup") != std::string::npos);
  CHECK(heads[4] == "demo: PJSIP/102 calls 7003 and hangs up while the IVR waits for digits");
  CHECK(heads[5].find(": digits '', failed") != std::string::npos);
  CHECK(r.out.find("  SET VARIABLE IVR_DIGITS 1234 -> 200 1") != std::string::npos);
  // GET DATA answers result=-1 for the caller who hung up: the IVR stops there.
  CHECK(r.out.find("  GET DATA enter-ext-of-person 5000 4 -> 200 -1 (failed)\n") ==
        r.out.size() -
            std::string("  GET DATA enter-ext-of-person 5000 4 -> 200 -1 (failed)\n").size());
}

TEST_CASE("ami-ivr --demo --fastagi: the PBX connects to the tool's FastAGI server") {
  const auto r = run_ivr({"--demo", "--fastagi", "127.0.0.1:0", "--json", "--count", "4"});
  CHECK(*r.status == ivr::exit_ok);
  CHECK(r.err.empty());
  const auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 4);  // --json: the sessions only, no narration
  std::vector<boost::json::object> calls;
  for (const auto& line : lines) calls.push_back(boost::json::parse(line).as_object());
  const std::vector<std::pair<std::string, std::string>> want = {
      {"1234", "hangup"}, {"42", "hangup"}, {"", "failed"}, {"1234", "hangup"}};
  for (std::size_t i = 0; i < calls.size(); ++i) {
    CAPTURE(i);
    CHECK(calls[i].at("transport").as_string() == "fastagi");
    CHECK(starts_with(std::string(calls[i].at("channel").as_string()),
                      ivr::demo_callers()[i % 3].from + "-"));
    CHECK(calls[i].at("digits").as_string() == want[i].first);
    CHECK(calls[i].at("end").as_string() == want[i].second);
  }
  CHECK(commands_of(calls[0]).back() == "HANGUP");
  CHECK(commands_of(calls[2]).size() == 3);

  // --continue: FastAGI closes the connection and the call goes back to the dialplan.
  const auto kept = run_ivr({"--demo", "--fastagi", "127.0.0.1:0", "--count", "1", "--continue"});
  CHECK(*kept.status == ivr::exit_ok);
  CHECK(kept.out.find("fastagi PJSIP/100-") != std::string::npos);
  CHECK(kept.out.find(": digits '1234', continue") != std::string::npos);
}

TEST_CASE("ami-ivr --demo: options it cannot take") {
  for (const auto& bad : std::vector<std::vector<std::string>>{
           {"--demo", "--url", "ami://admin:amp111@127.0.0.1:5038"},
           {"--demo", "--fastagi", "0.0.0.0:0"},
           {"--demo", "--fastagi", "localhost:0"}}) {
    CAPTURE(bad.back());
    const auto r = run_ivr(bad);
    CHECK(*r.status == ivr::exit_usage);
    CHECK(starts_with(r.err, "ami-ivr: --demo "));
  }
}
