// ami-events (tools/ami_events_main.hpp) run in-process against the simulated PBX, with
// events pushed by the test: --count, --filter, --where, --json, --stats, reconnection and
// login failure.
#include "../../tools/ami_events_main.hpp"

#include "ami/testing/server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
namespace events = ami::tools::events;

namespace {

using env_map = std::map<std::string, std::string>;
using ami::testing::field_list;

// ami-events running on its own thread while the test drives the server. The streams live in
// shared state, so a run that misses its deadline cannot outlive them.
class program {
 public:
  explicit program(std::vector<std::string> args, env_map env = {})
      : st_(std::make_shared<state>()) {
    finished_ = st_->done.get_future();
    std::thread([st = st_, args = std::move(args), env = std::move(env)] {
      int status = -1;
      try {
        status = events::run_events(args, st->out, st->err,
                                    [&env](const char* name) -> std::optional<std::string> {
                                      const auto it = env.find(name);
                                      if (it == env.end()) return std::nullopt;
                                      return it->second;
                                    });
      } catch (...) {
        status = -2;
      }
      st->done.set_value(status);
    }).detach();
  }

  // The exit status, or nothing when the deadline passed.
  std::optional<int> wait(std::chrono::milliseconds deadline = 20s) {
    if (finished_.wait_for(deadline) != std::future_status::ready) return std::nullopt;
    return finished_.get();
  }
  std::string out() const { return st_->out.str(); }
  std::string err() const { return st_->err.str(); }

 private:
  struct state {
    std::ostringstream out, err;
    std::promise<int> done;
  };
  std::shared_ptr<state> st_;
  std::future<int> finished_;
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

struct events_fixture {
  events_fixture() : srv(options()) { srv.start(); }

  static ami::testing::server_options options() {
    ami::testing::server_options so;
    so.security_events = false;
    return so;
  }

  std::vector<std::string> args(std::vector<std::string> more) const {
    more.insert(more.begin(), {"--url", srv.url()});
    return more;
  }

  void push(const std::string& name, field_list fields = {}) {
    fields.insert(fields.begin(), {"Event", name});
    srv.push_event(fields);
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

}  // namespace

TEST_SUITE("ami-events") {
  TEST_CASE("--count stops after N events that pass --filter") {
    events_fixture f;
    program p(f.args({"--count", "3", "--filter", "Newchannel,Hang*"}));
    REQUIRE(f.srv.wait_for_logins(1, 10s));
    f.push("Newchannel", {{"Channel", "PJSIP/100-00000001"}, {"ChannelStateDesc", "Ring"}});
    f.push("VarSet", {{"Channel", "PJSIP/100-00000001"}, {"Variable", "X"}});
    f.push("Hangup", {{"Channel", "PJSIP/100-00000001"}, {"Cause-txt", "Normal Clearing"}});
    f.push("NEWCHANNEL", {{"Channel", "PJSIP/101-00000002"}});  // names match case-insensitively
    f.push("Newchannel", {{"Channel", "PJSIP/102-00000003"}});
    const auto status = p.wait();
    REQUIRE_MESSAGE(status, "ami-events did not stop");
    CHECK(*status == events::exit_ok);
    const auto lines = split_lines(p.out());
    REQUIRE(lines.size() == 3);
    CHECK(contains(lines[0], " Newchannel "));
    CHECK(contains(lines[0], "Channel=PJSIP/100-00000001 ChannelStateDesc=Ring"));
    CHECK(contains(lines[1], " Hangup "));
    CHECK(contains(lines[1], "Cause-txt=\"Normal Clearing\""));  // spaces are quoted
    CHECK(contains(lines[2], "Channel=PJSIP/101-00000002"));
    CHECK_FALSE(contains(p.out(), "VarSet"));
    // HH:MM:SS.mmm first.
    CHECK(lines[0].size() > 13);
    CHECK(lines[0][2] == ':');
    CHECK(lines[0][8] == '.');
    // Connection states on stderr, with the redacted URL.
    CHECK(contains(p.err(), "connecting to ami://admin:***@127.0.0.1:"));
    CHECK(contains(p.err(), "logged in"));
    CHECK_FALSE(contains(p.err(), "amp111"));
  }

  TEST_CASE("--where keeps events whose headers all match") {
    events_fixture f;
    program p(f.args({"--count", "2", "--where", "Channel=PJSIP/1*", "--where", "Cause=16"}));
    REQUIRE(f.srv.wait_for_logins(1, 10s));
    f.push("Hangup", {{"Channel", "PJSIP/200-00000001"}, {"Cause", "16"}});
    f.push("Hangup", {{"Channel", "PJSIP/100-00000002"}, {"Cause", "17"}});
    f.push("Newstate", {{"Channel", "PJSIP/100-00000003"}});
    f.push("Hangup", {{"Channel", "PJSIP/101-00000004"}, {"Cause", "16"}});
    f.push("UserEvent", {{"Variable", "a"}, {"Channel", "pjsip/105-00000005"}, {"Cause", "16"}});
    f.push("Hangup", {{"Channel", "PJSIP/102-00000006"}, {"Cause", "16"}});
    REQUIRE(p.wait());
    const auto lines = split_lines(p.out());
    REQUIRE(lines.size() == 2);
    CHECK(contains(lines[0], "Channel=PJSIP/101-00000004"));
    CHECK(contains(lines[1], "Channel=pjsip/105-00000005"));  // glob values: case-insensitive
  }

  TEST_CASE("--json prints one valid object per event, repeated headers as arrays") {
    events_fixture f;
    program p(f.args({"--json", "--count", "2", "--filter", "UserEvent"}));
    REQUIRE(f.srv.wait_for_logins(1, 10s));
    f.push("UserEvent", {{"UserEvent", "CrmPopup"},
                         {"Variable", "a=1"},
                         {"Variable", "b=2"},
                         {"Note", "quote \" backslash \\ tab \t bad \xff byte"}});
    f.push("UserEvent", {{"UserEvent", "Second"}});
    REQUIRE(p.wait());
    const auto lines = split_lines(p.out());
    REQUIRE(lines.size() == 2);
    const auto first = parse_object(lines[0]);
    CHECK(first.at("event").as_string() == "UserEvent");
    const std::string time(first.at("time").as_string());
    CHECK(time.size() == 24);  // 2024-05-01T14:03:07.250Z
    CHECK(time.back() == 'Z');
    const auto& headers = first.at("headers").as_object();
    CHECK(headers.if_contains("Event") == nullptr);
    CHECK(headers.at("UserEvent").as_string() == "CrmPopup");
    const auto& vars = headers.at("Variable").as_array();
    REQUIRE(vars.size() == 2);
    CHECK(vars[0].as_string() == "a=1");
    CHECK(vars[1].as_string() == "b=2");
    CHECK(headers.at("Note").as_string() == "quote \" backslash \\ tab \t bad \xc3\xbf byte");
    const auto second = parse_object(lines[1]);
    CHECK(second.at("headers").as_object().at("UserEvent").as_string() == "Second");
  }

  TEST_CASE("--stats: a line per second by event name, and a summary") {
    events_fixture f;
    program p(f.args({"--stats", "--duration", "1.4", "--filter", "Test*"}));
    REQUIRE(f.srv.wait_for_logins(1, 10s));
    for (int i = 0; i < 3; ++i) f.push("TestA");
    for (int i = 0; i < 2; ++i) f.push("TestB");
    for (const char* n : {"TestC", "TestD", "TestE", "TestF", "TestG", "TestH", "TestI", "TestJ"}) {
      f.push(n);
    }
    f.push("Other");
    const auto status = p.wait();
    REQUIRE(status);
    CHECK(*status == events::exit_ok);
    const auto lines = split_lines(p.out());
    std::size_t summary = 0;
    while (summary < lines.size() && lines[summary].rfind("summary: ", 0) != 0) ++summary;
    REQUIRE(summary < lines.size());
    // At least the line of the first second, with the busiest names first.
    REQUIRE(summary >= 1);
    // The burst, pushed right after the login, lands in one second.
    std::string burst;
    for (std::size_t i = 0; i < summary; ++i) {
      CHECK(contains(lines[i], " events/s"));
      if (contains(lines[i], " 13 events/s")) burst = lines[i];
    }
    CHECK(contains(burst, " 13 events/s  TestA=3  TestB=2  TestC=1  TestD=1"));
    CHECK(contains(burst, "TestH=1  +2 more"));  // 10 names, the 8 busiest shown
    CHECK(contains(lines[summary], "summary: 13 events in "));
    REQUIRE(lines.size() == summary + 11);  // every name in the summary
    CHECK(contains(lines[summary + 1], "TestA"));
    CHECK(contains(lines[summary + 1], " 3  ("));
    CHECK(contains(lines[summary + 2], "TestB"));
    CHECK(contains(lines[summary + 10], "TestJ"));
    CHECK_FALSE(contains(p.out(), "Other"));
  }

  TEST_CASE("--stats --json: the summary as JSON") {
    events_fixture f;
    program p(f.args({"--stats", "--json", "--count", "5", "--filter", "Test*"}));
    REQUIRE(f.srv.wait_for_logins(1, 10s));
    for (int i = 0; i < 3; ++i) f.push("TestA");
    for (int i = 0; i < 2; ++i) f.push("TestB");
    REQUIRE(p.wait());
    const auto lines = split_lines(p.out());
    REQUIRE(!lines.empty());
    for (const auto& l : lines) parse_object(l);  // every line is JSON
    const auto summary = parse_object(lines.back());
    CHECK(summary.at("summary").as_bool());
    CHECK(summary.at("events").to_number<int>() == 5);
    CHECK(summary.at("by_name").as_object().at("TestA").to_number<int>() == 3);
    CHECK(summary.at("by_name").as_object().at("TestB").to_number<int>() == 2);
    CHECK(summary.at("seconds").is_double());
    CHECK(summary.at("rate").is_double());
  }

  TEST_CASE("a lost connection is re-established and the events go on") {
    events_fixture f;
    program p(f.args({"--count", "1", "--filter", "Test*"}));
    REQUIRE(f.srv.wait_for_logins(1, 10s));
    // The server drops everyone; the monitor reconnects and logs in again.
    f.srv.close_sessions();
    REQUIRE(f.srv.wait_for_logins(2, 10s));
    f.push("TestAfter");
    const auto status = p.wait();
    REQUIRE(status);
    CHECK(*status == events::exit_ok);
    const auto lines = split_lines(p.out());
    REQUIRE(lines.size() == 1);
    CHECK(contains(lines[0], "TestAfter"));
    // async_run's backoff: a delay drawn from [0, 0.25 s] before the first reconnect.
    CHECK(contains(p.err(), "reconnecting in 0."));
    CHECK(f.srv.connection_count() == 2);
  }

  TEST_CASE("a server that cannot be reached exits 2 without retrying") {
    std::uint16_t closed_port = 0;
    {
      boost::asio::io_context io;
      boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
      closed_port = a.local_endpoint().port();
    }  // closed: connecting is refused
    program p({"--url", "ami://admin:amp111@127.0.0.1:" + std::to_string(closed_port)});
    const auto status = p.wait();
    REQUIRE(status);
    CHECK(*status == events::exit_connection);
    CHECK(contains(p.err(), "cannot log in to ami://admin:***@127.0.0.1:"));
    CHECK_FALSE(contains(p.err(), "reconnecting"));
  }

  TEST_CASE("--duration ends a quiet run with exit 0") {
    events_fixture f;
    program p(f.args({"--duration", "0.2", "--filter", "Nothing"}));
    const auto status = p.wait();
    REQUIRE(status);
    CHECK(*status == events::exit_ok);
    CHECK(p.out().empty());
    CHECK(contains(p.err(), "disconnected"));
  }

  TEST_CASE("a wrong secret exits 2 and never prints it") {
    events_fixture f;
    const std::string secret = "Not-The-Secret-9";
    const std::string port = std::to_string(f.srv.port());
    program p({"--count", "1"},
              {{"AMI_URL", "ami://admin@127.0.0.1:" + port}, {"AMI_SECRET", secret}});
    const auto status = p.wait();
    REQUIRE(status);
    CHECK(*status == events::exit_connection);
    CHECK(p.out().empty());
    CHECK(contains(p.err(), "cannot log in to ami://admin:***@127.0.0.1:" + port));
    CHECK(contains(p.err(), "Authentication failed"));
    CHECK_FALSE(contains(p.err(), secret));
  }

  TEST_CASE("usage errors exit 1, --help exits 0") {
    for (const auto& args :
         std::vector<std::vector<std::string>>{{"--count", "0", "--url", "ami://a:b@h"},
                                               {"--count", "x", "--url", "ami://a:b@h"},
                                               {"--duration", "-1", "--url", "ami://a:b@h"},
                                               {"--where", "Channel", "--url", "ami://a:b@h"},
                                               {"--filter", ",", "--url", "ami://a:b@h"},
                                               {"--url", "ami://a:b@h", "extra"},
                                               {"--demo", "--url", "ami://a:b@h"},
                                               {}}) {  // no server
      CAPTURE(args.size());
      program p(args);
      const auto status = p.wait();
      REQUIRE(status);
      CHECK(*status == events::exit_other);
      CHECK(p.out().empty());
      CHECK(contains(p.err(), "ami-events: "));
    }
    program help({"--help"});
    REQUIRE(help.wait());
    CHECK(contains(help.out(), "Usage: ami-events"));
  }
}
