// The simulated Asterisk (ami::testing::server) tested from raw sockets.
#include "ami/testing/server.hpp"
#include "../support/test_data.hpp"
#include "ami/proto/md5.hpp"
#include "raw_client.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

using namespace std::chrono_literals;
using ami::test::raw_client;
using ami::testing::server;
using ami::testing::server_options;

namespace {

ami::message expect_next(raw_client& c) {
  ami::message m;
  REQUIRE(c.next(m));
  return m;
}

ami::message expect_response(raw_client& c) {
  ami::message m;
  REQUIRE(c.next_response(m));
  return m;
}

// A connected client that has read the banner.
void open(raw_client& c, const server& s) {
  REQUIRE(c.connect(s.port()));
  const auto banner = expect_next(c);
  REQUIRE(banner.kind() == ami::message_kind::banner);
}

// Logs in and reads up to the SuccessfulAuth event that follows, so later bytes start clean.
void login_settled(raw_client& c) {
  REQUIRE(c.login().head() == "Success");
  ami::message ev;
  REQUIRE(c.next_event("SuccessfulAuth", ev));
}

std::vector<std::string> names_of(const ami::message& m) {
  std::vector<std::string> out;
  for (const auto& f : m) out.emplace_back(f.name);
  return out;
}

}  // namespace

TEST_SUITE("testing server") {
  TEST_CASE("banner carries the configured AMI version") {
    server_options o;
    o.ami_version = "7.0.3";
    server s(o);
    s.start();
    CHECK(s.port() != 0);
    CHECK(s.url() == "ami://admin:amp111@127.0.0.1:" + std::to_string(s.port()));
    raw_client c;
    REQUIRE(c.connect(s.port()));
    REQUIRE(c.wait_bytes(29));
    CHECK(c.raw() == "Asterisk Call Manager/7.0.3\r\n");
    CHECK(s.wait_for_sessions(1, 5s));
    CHECK(s.session_count() == 1);
  }

  TEST_CASE("plain login: response, FullyBooted and SuccessfulAuth, like Asterisk") {
    server s;
    s.start();
    raw_client c;
    open(c, s);
    c.send("Action: Login\r\nUsername: admin\r\nSecret: amp111\r\nActionID: 1\r\n\r\n");
    ami::message ev;
    REQUIRE(c.next_event("SuccessfulAuth", ev));
    CHECK(ev.get_or("AccountID") == "admin");
    CHECK(ev.get_or("Privilege") == "security,all");
    const std::string prefix =
        "Asterisk Call Manager/13.0.0\r\n"
        "Response: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n\r\n"
        "Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: ";
    CHECK(c.raw().substr(0, prefix.size()) == prefix);
    CHECK(c.raw().find("Status: Fully Booted\r\n\r\nEvent: SuccessfulAuth\r\n") !=
          std::string::npos);
    CHECK(s.wait_for_logins(1, 5s));
    CHECK(s.login_count() == 1);
  }

  TEST_CASE("MD5 login through Challenge") {
    server s;
    s.start();
    raw_client c;
    open(c, s);
    c.action("Challenge", {{"AuthType", "MD5"}, {"ActionID", "c1"}});
    const auto ch = expect_response(c);
    CHECK(names_of(ch) == std::vector<std::string>{"Response", "ActionID", "Challenge"});
    const std::string nonce(ch.get_or("Challenge"));
    CHECK(nonce.size() == 9);
    c.action("Login", {{"AuthType", "md5"},
                       {"Username", "admin"},
                       {"Key", ami::proto::md5_login_key(nonce, "amp111")},
                       {"ActionID", "l1"}});
    const auto r = expect_response(c);
    CHECK(r.head() == "Success");
    CHECK(r.action_id() == "l1");

    raw_client bad;
    open(bad, s);
    bad.action("Challenge", {{"AuthType", "MD5"}});
    const auto ch2 = expect_response(bad);
    CHECK_FALSE(ch2.has("ActionID"));
    bad.action("Login", {{"AuthType", "MD5"}, {"Username", "admin"}, {"Key", "00"}});
    CHECK(expect_response(bad).get_or("Message") == "Authentication failed");
    CHECK(bad.wait_eof());
  }

  TEST_CASE("failed login answers after the delay, then closes") {
    server_options o;
    o.login_failure_delay = 60ms;
    server s(o);
    s.start();
    raw_client c;
    open(c, s);
    const auto t0 = std::chrono::steady_clock::now();
    c.send("Action: Login\r\nUsername: admin\r\nSecret: wrongsecret\r\nActionID: bad1\r\n\r\n");
    CHECK(c.wait_eof());
    CHECK(std::chrono::steady_clock::now() - t0 >= 60ms);
    CHECK(c.raw() == ami::test::read_data("errors_badlogin.raw"));
    CHECK(s.wait_for_sessions(0, 5s));
    CHECK(s.login_count() == 0);
  }

  TEST_CASE("before login only Login, Challenge and Logoff are allowed") {
    server s;
    s.start();
    raw_client c;
    open(c, s);
    c.action("Ping", {{"ActionID", "p"}});
    const auto r = expect_response(c);
    CHECK(r.head() == "Error");
    CHECK(r.action_id() == "p");
    CHECK(r.get_or("Message") == "Permission denied");
    c.action("Logoff");
    const auto bye = expect_response(c);
    CHECK(bye.head() == "Goodbye");
    CHECK_FALSE(bye.has("ActionID"));
    CHECK(c.wait_eof());
  }

  TEST_CASE("Ping answers Pong with a timestamp") {
    server s;
    s.start();
    raw_client c;
    open(c, s);
    c.login();
    c.action("Ping", {{"ActionID", "2"}});
    const auto r = expect_response(c);
    CHECK(names_of(r) == std::vector<std::string>{"Response", "ActionID", "Ping", "Timestamp"});
    CHECK(r.get_or("Ping") == "Pong");
    const auto ts = r.get_or("Timestamp");
    REQUIRE(ts.find('.') != std::string_view::npos);
    CHECK(ts.size() - ts.find('.') == 7);  // microseconds
  }

  TEST_CASE("Logoff says goodbye and closes") {
    server s;
    s.start();
    raw_client c;
    open(c, s);
    c.login();
    c.send("Action: Logoff\r\nActionID: 10\r\n\r\n");
    CHECK(c.wait_eof());
    const std::string goodbye =
        "Response: Goodbye\r\nActionID: 10\r\nMessage: Thanks for all the fish.\r\n\r\n";
    CHECK(c.raw().size() >= goodbye.size());
    CHECK(c.raw().substr(c.raw().size() - goodbye.size()) == goodbye);
    CHECK(s.wait_for_sessions(0, 5s));
  }

  TEST_CASE("unknown action and missing Action header") {
    server s;
    s.start();
    raw_client c;
    open(c, s);
    c.login();
    c.action("NoSuchThing", {{"ActionID", "u"}});
    const auto r = expect_response(c);
    CHECK(r.head() == "Error");
    CHECK(r.get_or("Message") ==
          "Invalid/unknown command: NoSuchThing. Use Action: ListCommands to show available "
          "commands.");
    c.send("Foo: bar\r\nActionID: m\r\n\r\n");
    const auto m = expect_response(c);
    CHECK(m.get_or("Message") == "Missing action in request");
    CHECK(m.action_id() == "m");
  }

  TEST_CASE("Command: Output fields on AMI >= 2.8, legacy Follows before") {
    SUBCASE("new format") {
      server s;
      s.start();
      raw_client c;
      open(c, s);
      login_settled(c);
      const auto before = c.raw().size();
      c.action("Command", {{"Command", "core show version"}, {"ActionID", "6"}});
      const auto r = expect_response(c);
      CHECK(names_of(r) == std::vector<std::string>{"Response", "ActionID", "Message", "Output"});
      CHECK(r.get_or("Message") == "Command output follows");
      REQUIRE(r.output().size() == 1);
      CHECK(r.output()[0].substr(0, 9) == "Asterisk ");
      const std::string head =
          "Response: Success\r\nActionID: 6\r\nMessage: Command output follows\r\nOutput: ";
      CHECK(c.raw().substr(before, head.size()) == head);

      c.action("Command", {{"Command", "bogus cmd"}, {"ActionID", "7"}});
      const auto e = expect_response(c);
      CHECK(e.head() == "Error");
      CHECK(e.get_or("Message") == "Command output follows");
      CHECK(e.get_or("Output") ==
            "No such command 'bogus cmd' (type 'core show help bogus cmd' for other possible "
            "commands)");
    }
    SUBCASE("legacy format") {
      server_options o;
      o.ami_version = "2.5.0";
      server s(o);
      s.start();
      raw_client c;
      open(c, s);
      login_settled(c);
      const auto before = c.raw().size();
      c.action("Command", {{"Command", "core show version"}, {"ActionID", "6"}});
      const auto r = expect_response(c);
      CHECK(r.head() == "Follows");
      REQUIRE(r.output().size() == 1);
      const std::string line(r.output()[0]);
      CHECK(line.find("Asterisk 13.") == 0);
      CHECK(c.raw().substr(before) == "Response: Follows\r\nPrivilege: Command\r\nActionID: 6\r\n" +
                                          line + "\n--END COMMAND--\r\n\r\n");
    }
  }

  TEST_CASE("on_action scripts answers; false falls back to the built-in") {
    server s;
    s.start();
    std::atomic<int> calls{0};
    s.on_action("originate", [&](ami::testing::session& ses, const ami::message& a) {
      ++calls;
      ses.respond(a, {{"Response", "Error"}, {"Message", "Scripted"}});
      return true;
    });
    s.on_action("*", [&](ami::testing::session&, const ami::message& a) {
      if (ami::iequals(a.get_or("Action"), "Ping")) ++calls;
      return false;
    });
    raw_client c;
    open(c, s);
    c.login();
    c.action("Originate", {{"Channel", "Local/1@x"}, {"ActionID", "o"}});
    const auto r = expect_response(c);
    CHECK(names_of(r) == std::vector<std::string>{"Response", "ActionID", "Message"});
    CHECK(r.get_or("Message") == "Scripted");
    c.action("Ping", {{"ActionID", "p"}});
    CHECK(expect_response(c).get_or("Ping") == "Pong");
    CHECK(calls == 2);

    // A handler can keep the session and answer later, from another thread.
    std::shared_ptr<ami::testing::session> kept;
    std::mutex m;
    std::condition_variable cv;
    s.on_action("Later", [&](ami::testing::session& ses, const ami::message&) {
      std::lock_guard<std::mutex> lock(m);
      kept = ses.shared();
      cv.notify_all();
      return true;
    });
    c.action("Later");
    {
      std::unique_lock<std::mutex> lock(m);
      REQUIRE(cv.wait_for(lock, 5s, [&] { return kept != nullptr; }));
    }
    std::thread t([&] { kept->send({{"Response", "Success"}, {"Message", "late"}}); });
    t.join();
    CHECK(expect_response(c).get_or("Message") == "late");
    CHECK(kept->logged_in());
    CHECK(kept->username() == "admin");
  }

  TEST_CASE("push_event follows the session's event mask") {
    server s;
    s.start();
    raw_client all, off, sys;
    open(all, s);
    open(off, s);
    open(sys, s);
    all.login();
    off.login("admin", "amp111", {{"Events", "off"}});
    sys.login("admin", "amp111", {{"Events", "system"}});
    s.push_event({{"Event", "Hangup"}, {"Privilege", "call,all"}, {"Channel", "SIP/1-0"}});
    s.push_event({{"Event", "Reload"}, {"Privilege", "system,all"}});
    s.push_raw("Event: Marker\r\n\r\n");
    ami::message ev;
    REQUIRE(all.next_event("Hangup", ev));
    CHECK(ev.get_or("Channel") == "SIP/1-0");
    REQUIRE(all.next_event("Reload", ev));
    // Events are delivered in order, so the marker proves what came before it.
    REQUIRE(off.next_event("Marker", ev));
    REQUIRE(sys.next_event("Reload", ev));
    REQUIRE(sys.next_event("Marker", ev));
    CHECK(off.raw().find("Event: Hangup") == std::string::npos);
    CHECK(off.raw().find("Event: Reload") == std::string::npos);
    CHECK(off.raw().find("FullyBooted") == std::string::npos);
    CHECK(sys.raw().find("Event: Hangup") == std::string::npos);

    // The Events action changes the mask.
    off.action("Events", {{"EventMask", "on"}, {"ActionID", "e"}});
    const auto r = expect_response(off);
    CHECK(r.get_or("Events") == "On");
    s.push_event({{"Event", "Hangup"}, {"Privilege", "call,all"}});
    CHECK(off.next_event("Hangup", ev));
  }

  TEST_CASE("close_after_bytes writes exactly n bytes, then closes") {
    server s;
    s.start();
    s.close_after_bytes(10);
    raw_client c;
    REQUIRE(c.connect(s.port()));
    CHECK(c.wait_eof());
    CHECK(c.raw() == "Asterisk C");

    s.close_after_bytes(0);
    raw_client d;
    open(d, s);
    login_settled(d);
    s.close_after_bytes(25);
    d.action("Ping", {{"ActionID", "2"}});
    CHECK(d.wait_eof());
    // The first 25 bytes of "Response: Success\r\nActionID: 2\r\n...".
    REQUIRE(d.raw().size() > 25);
    CHECK(d.raw().substr(d.raw().size() - 25) == "Response: Success\r\nAction");
  }

  TEST_CASE("received() records every action of every session, in order") {
    server s;
    s.start();
    raw_client a, b;
    open(a, s);
    open(b, s);
    a.action("Login", {{"Username", "admin"}, {"Secret", "amp111"}});
    CHECK(s.wait_for_action("login", 5s));
    b.action("Ping", {{"ActionID", "x"}, {"Variable", "a=1"}, {"Variable", "b=2"}});
    CHECK(s.wait_for_actions("PING", 1, 5s));
    CHECK_FALSE(s.wait_for_action("Originate", 20ms));
    const auto got = s.received();
    REQUIRE(got.size() == 2);
    CHECK(got[0].get_or("Action") == "Login");
    CHECK(got[0].get_or("Secret") == "amp111");
    CHECK(got[1].get_all("Variable") == std::vector<std::string_view>{"a=1", "b=2"});
    CHECK(got[1].owns_bytes());
    s.clear_received();
    CHECK(s.received().empty());
  }

  TEST_CASE("stall holds every write; delay_responses delays answers in order") {
    server s;
    s.start();
    raw_client c;
    open(c, s);
    c.login();
    s.stall(true);
    c.action("Ping", {{"ActionID", "1"}});
    CHECK(s.wait_for_action("Ping", 5s));
    ami::message m;
    CHECK_FALSE(c.next_response(m, 50ms));
    s.stall(false);
    REQUIRE(c.next_response(m));
    CHECK(m.action_id() == "1");

    s.delay_responses(40ms);
    const auto t0 = std::chrono::steady_clock::now();
    c.action("Ping", {{"ActionID", "a"}});
    c.action("Ping", {{"ActionID", "b"}});
    REQUIRE(c.next_response(m));
    CHECK(m.action_id() == "a");
    REQUIRE(c.next_response(m));
    CHECK(m.action_id() == "b");
    CHECK(std::chrono::steady_clock::now() - t0 >= 80ms);
  }

  TEST_CASE("replay sends a capture instead of the normal behaviour") {
    server s;
    s.start();
    const auto capture = ami::test::read_data("session1.raw");
    s.replay(capture);
    raw_client c;
    REQUIRE(c.connect(s.port()));
    REQUIRE(c.wait_bytes(capture.size()));
    CHECK(c.raw() == capture);
    c.action("Ping", {{"ActionID", "z"}});
    CHECK(s.wait_for_action("Ping", 5s));
    CHECK_FALSE(c.wait_eof(30ms));  // stays open, silent

    s.replay({});
    raw_client d;
    REQUIRE(d.connect(s.port()));
    REQUIRE(d.wait_bytes(30));
    CHECK(d.raw() == "Asterisk Call Manager/13.0.0\r\n");
  }

  TEST_CASE("close_sessions closes every connection; stop and start again") {
    server s;
    s.start();
    raw_client a, b;
    open(a, s);
    open(b, s);
    REQUIRE(s.wait_for_sessions(2, 5s));
    CHECK(s.connection_count() == 2);
    s.close_sessions();
    CHECK(a.wait_eof());
    CHECK(b.wait_eof());
    CHECK(s.wait_for_sessions(0, 5s));

    const auto port = s.port();
    raw_client c;
    open(c, s);
    s.stop();
    CHECK(c.wait_eof());
    s.start();
    CHECK(s.port() == port);
    raw_client d;
    open(d, s);
  }

  TEST_CASE("a port already in use makes start() throw") {
    server a;
    a.start();
    server_options o;
    o.port = a.port();
    server b(o);
    CHECK_THROWS(b.start());
  }

}  // TEST_SUITE
