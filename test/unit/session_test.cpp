// The session state machine without sockets: login flows, queueing, and a fault injected at
// every step.
#include "ami/detail/session.hpp"
#include "ami/proto/md5.hpp"
#include "routing_support.hpp"
#include "session_support.hpp"

#include <boost/asio/error.hpp>

#include <string>

using ami::connection_state;
using ami::test::op;
using ami::test::record;
using ami::test::wire_all;
using namespace ami::detail;
using namespace std::chrono_literals;

namespace {

struct harness : ami::test::session_harness {
  record conn;

  harness() : session_harness("s-") {}

  void start() {
    s.start(cfg, s.reserve_id(), op(conn), now);
    settle();
  }

  // Connected and banner read; returns the first action the session wrote.
  ami::message to_logging_in() {
    start();
    s.transport_connected(now);
    settle();
    feed("Asterisk Call Manager/13.0.0\r\n");
    auto actions = take_actions();
    REQUIRE(actions.size() == 1);
    return actions[0];
  }

  void login() {
    const auto login = to_logging_in();
    REQUIRE(login.head() == "Login");
    answer(login, "Message: Authentication accepted\r\n");
    REQUIRE(s.state() == connection_state::logged_in);
    REQUIRE(conn.done());
    REQUIRE_FALSE(conn.ec);
  }
};

// An action's own timeout.
ami::send_options within(std::chrono::milliseconds timeout) {
  ami::send_options o;
  o.timeout = timeout;
  return o;
}

}  // namespace

TEST_CASE("plain login: banner, Login with Username, Secret and Events, then logged in") {
  harness h;
  h.cfg.events = "call,system";
  const auto login = h.to_logging_in();
  CHECK(login.head() == "Login");
  CHECK(login.get("Username") == "admin");
  CHECK(login.get("Secret") == "amp111");
  CHECK(login.get("Events") == "call,system");
  CHECK(login.action_id().substr(0, 2) == "s-");
  REQUIRE(h.s.banner());
  CHECK(h.s.banner()->protocol == ami::proto::version{13, 0, 0});
  h.answer(login, "Message: Authentication accepted\r\n");
  CHECK(h.conn.completions == 1);
  CHECK_FALSE(h.conn.ec);
  CHECK(h.states() ==
        std::vector<connection_state>{connection_state::connecting, connection_state::connected,
                                      connection_state::logging_in, connection_state::logged_in});
  CHECK_FALSE(h.s.take_close_request());
  CHECK(h.feed("Event: FullyBooted\r\nPrivilege: system,all\r\n\r\n") == delivery::event);
  CHECK(h.s.fully_booted());
}

TEST_CASE("MD5 login: Challenge, then Login with the key and no secret on the wire") {
  harness h;
  h.cfg.auth = ami::auth_method::md5;
  const auto challenge = h.to_logging_in();
  CHECK(challenge.head() == "Challenge");
  CHECK(challenge.get("AuthType") == "MD5");
  h.answer(challenge, "Challenge: 364772732\r\n");
  auto actions = h.take_actions();
  REQUIRE(actions.size() == 1);
  const auto& login = actions[0];
  CHECK(login.head() == "Login");
  CHECK(login.get("AuthType") == "MD5");
  CHECK(login.get("Key") == ami::proto::md5_login_key("364772732", "amp111"));
  CHECK_FALSE(login.has("Secret"));
  h.answer(login, "Message: Authentication accepted\r\n");
  CHECK(h.s.state() == connection_state::logged_in);
  CHECK_FALSE(h.conn.ec);
}

TEST_CASE("login output is marked sensitive, later output is not") {
  harness h;
  h.start();
  h.s.transport_connected(h.now);
  h.feed("Asterisk Call Manager/13.0.0\r\n");
  std::string out;
  CHECK(h.s.take_output(out));
  CHECK(out.find("amp111") != std::string::npos);
  const auto login = wire_all(out)[0];
  h.answer(login, "");
  record r;
  h.submit(r);
  out.clear();
  CHECK_FALSE(h.s.take_output(out));
  CHECK(out.find("Action: Ping") == 0);
}

TEST_CASE("actions wait while connecting and go out in order once logged in") {
  harness h;
  h.start();
  record a, b;
  h.submit(a, ami::action("Ping"));
  h.submit(b, ami::action("CoreStatus"));
  CHECK(h.s.output().empty());
  h.login();
  auto actions = h.take_actions();
  REQUIRE(actions.size() == 2);
  CHECK(actions[0].head() == "Ping");
  CHECK(actions[1].head() == "CoreStatus");
  h.answer(actions[1], "");
  h.answer(actions[0], "Ping: Pong\r\n");
  CHECK(a.resp.get("Ping") == "Pong");
  CHECK(b.done());
}

TEST_CASE("sending while disconnected or closing fails with not_connected") {
  harness h;
  record a;
  h.submit(a);
  CHECK(a.ec == ami::error::not_connected);
  h.login();
  record lo;
  h.s.logoff(h.s.reserve_id(), op(lo), h.now);
  h.settle();
  record b;
  h.submit(b);
  CHECK(b.ec == ami::error::not_connected);
}

TEST_CASE("a field Asterisk would misread fails the action and nothing is written") {
  harness h;
  h.login();
  record a;
  ami::action bad("Command");
  bad.add("Command", "core show version\r\nAction: Logoff");
  h.submit(a, bad);
  CHECK(a.ec == ami::error::invalid_field);
  CHECK(h.s.output().empty());
  CHECK(h.s.routes().empty());
}

TEST_CASE("max_in_flight holds later actions in the queue; max_queued bounds the queue") {
  harness h;
  h.cfg.max_in_flight = 1;
  h.cfg.max_queued = 2;
  h.login();
  record a, b, c, d;
  h.submit(a);
  h.submit(b);
  const auto nc = h.submit(c);
  h.submit(d);
  CHECK(d.ec == ami::error::too_many_pending);
  auto out = h.take_actions();
  REQUIRE(out.size() == 1);
  h.answer(out[0], "");
  CHECK(a.done());
  out = h.take_actions();
  REQUIRE(out.size() == 1);  // b, and c still waits
  // A cancelled queued action is skipped.
  h.s.abandon(nc, boost::asio::error::operation_aborted);
  h.settle();
  CHECK(c.ec == boost::asio::error::operation_aborted);
  h.answer(out[0], "");
  CHECK(b.done());
  CHECK(h.take_actions().empty());
}

TEST_CASE("a list keeps its action in flight until the list ends") {
  harness h;
  h.cfg.max_in_flight = 1;
  h.login();
  record a, b;
  h.submit(a, ami::action("Status"));
  h.submit(b);
  auto out = h.take_actions();
  REQUIRE(out.size() == 1);
  h.answer(out[0], "EventList: start\r\n");
  CHECK(h.take_actions().empty());
  CHECK(h.feed("Event: Status\r\nActionID: " + std::string(out[0].action_id()) + "\r\n\r\n") ==
        delivery::list_item);
  h.feed("Event: StatusComplete\r\nActionID: " + std::string(out[0].action_id()) +
         "\r\nEventList: Complete\r\nListItems: 1\r\n\r\n");
  CHECK(a.resp.events().size() == 1);
  CHECK(h.take_actions().size() == 1);
}

TEST_CASE("logoff: Goodbye, then the server's close completes it") {
  harness h;
  h.login();
  record lo, pending;
  h.submit(pending);
  h.take_actions();
  h.s.logoff(h.s.reserve_id(), op(lo), h.now);
  h.settle();
  CHECK(h.s.state() == connection_state::closing);
  auto out = h.take_actions();
  REQUIRE(out.size() == 1);
  CHECK(out[0].head() == "Logoff");
  h.feed("Response: Goodbye\r\nActionID: " + std::string(out[0].action_id()) +
         "\r\nMessage: Thanks for all the fish.\r\n\r\n");
  CHECK_FALSE(lo.done());
  h.s.transport_closed(boost::asio::error::eof);
  h.settle();
  CHECK(lo.completions == 1);
  CHECK_FALSE(lo.ec);
  CHECK(pending.ec == ami::error::connection_lost);
  CHECK(h.s.state() == connection_state::disconnected);
  CHECK_FALSE(h.seen.back().ec);
}

TEST_CASE("logoff: a server that never closes is closed by the client after the timeout") {
  for (const bool goodbye : {true, false}) {
    CAPTURE(goodbye);
    harness h;
    h.login();
    record lo;
    h.s.logoff(h.s.reserve_id(), op(lo), h.now);
    h.settle();
    auto out = h.take_actions();
    if (goodbye)
      h.feed("Response: Goodbye\r\nActionID: " + std::string(out[0].action_id()) + "\r\n\r\n");
    REQUIRE(h.s.next_deadline());
    h.s.expire(*h.s.next_deadline());
    h.settle();
    CHECK(lo.completions == 1);
    CHECK(lo.ec ==
          (goodbye ? boost::system::error_code{} : make_error_code(ami::error::action_timeout)));
    CHECK(h.s.take_close_request());
    CHECK(h.s.state() == connection_state::disconnected);
  }
}

TEST_CASE("start while connecting or logged in fails without disturbing the session") {
  harness h;
  h.start();
  record again;
  h.s.start(h.cfg, h.s.reserve_id(), op(again), h.now);
  h.settle();
  CHECK(again.ec == boost::asio::error::in_progress);
  CHECK(h.s.state() == connection_state::connecting);
  CHECK_FALSE(h.conn.done());
}

TEST_CASE("a message before the banner is unexpected_message") {
  harness h;
  h.start();
  h.s.transport_connected(h.now);
  h.settle();
  h.feed("Response: Success\r\n\r\n");
  CHECK(h.conn.ec == ami::error::unexpected_message);
  CHECK(h.s.take_close_request());
  CHECK(h.s.state() == connection_state::disconnected);
}

TEST_CASE("a refused login: login_failed, the server's message, nothing about the secret") {
  for (const bool md5 : {false, true}) {
    CAPTURE(md5);
    harness h;
    if (md5) h.cfg.auth = ami::auth_method::md5;
    auto first = h.to_logging_in();
    if (md5) {
      h.answer(first, "Challenge: 1234\r\n");
      first = h.take_actions().at(0);
    }
    h.feed("Response: Error\r\nActionID: " + std::string(first.action_id()) +
           "\r\nMessage: Authentication failed\r\n\r\n");
    CHECK(h.conn.ec == ami::error::login_failed);
    CHECK(h.s.last_error_message() == "Authentication failed");
    CHECK(h.s.take_close_request());
    CHECK(h.s.state() == connection_state::disconnected);
    CHECK(h.seen.back().ec == ami::error::login_failed);
  }
}

TEST_CASE("a refused challenge is login_failed") {
  harness h;
  h.cfg.auth = ami::auth_method::md5;
  const auto challenge = h.to_logging_in();
  h.feed("Response: Error\r\nActionID: " + std::string(challenge.action_id()) +
         "\r\nMessage: Must specify AuthType\r\n\r\n");
  CHECK(h.conn.ec == ami::error::login_failed);
  CHECK(h.s.last_error_message() == "Must specify AuthType");
}

// ---- a fault at every step ----------------------------------------------------------------

namespace {

enum class step { connecting, connected, challenge_sent, login_sent, logged_in };
enum class fault { peer_closed, local_close, deadline, server_error };

const char* name(step s) {
  switch (s) {
    case step::connecting: return "connecting";
    case step::connected: return "connected";
    case step::challenge_sent: return "challenge_sent";
    case step::login_sent: return "login_sent";
    case step::logged_in: return "logged_in";
  }
  return "?";
}

const char* name(fault f) {
  switch (f) {
    case fault::peer_closed: return "peer_closed";
    case fault::local_close: return "local_close";
    case fault::deadline: return "deadline";
    case fault::server_error: return "server_error";
  }
  return "?";
}

}  // namespace

TEST_CASE("a fault at every step completes everything exactly once and nothing hangs") {
  for (const auto st : {step::connecting, step::connected, step::challenge_sent, step::login_sent,
                        step::logged_in}) {
    for (const auto ft :
         {fault::peer_closed, fault::local_close, fault::deadline, fault::server_error}) {
      const std::string step_name = name(st);
      const std::string fault_name = name(ft);
      CAPTURE(step_name);
      CAPTURE(fault_name);
      harness h;
      h.cfg.auth = st == step::challenge_sent ? ami::auth_method::md5 : ami::auth_method::plain;
      h.cfg.action_timeout = 30s;
      h.start();
      record action;
      h.submit(action);      // queued until logged in (or sent once logged in)
      ami::message pending;  // the internal action waiting for its answer
      if (st != step::connecting) {
        h.s.transport_connected(h.now);
        h.settle();
      }
      if (st == step::challenge_sent || st == step::login_sent || st == step::logged_in) {
        h.feed("Asterisk Call Manager/13.0.0\r\n");
        pending = h.take_actions().at(0);
      }
      if (st == step::logged_in) {
        h.answer(pending, "");
        h.take_actions();
      }
      const bool logging = st == step::challenge_sent || st == step::login_sent;
      if (ft == fault::server_error && !logging && st != step::logged_in) continue;

      switch (ft) {
        case fault::peer_closed: h.s.transport_closed(boost::asio::error::eof); break;
        case fault::local_close: h.s.close(boost::asio::error::operation_aborted); break;
        case fault::deadline: {
          const auto d = h.s.next_deadline();
          REQUIRE(d);
          h.s.expire(*d);
          break;
        }
        case fault::server_error:
          if (st == step::logged_in) {
            h.s.transport_closed(boost::asio::error::connection_reset);
          } else {
            h.feed("Response: Error\r\nActionID: " + std::string(pending.action_id()) +
                   "\r\nMessage: Nope\r\n\r\n");
          }
          break;
      }
      h.settle();

      CHECK(h.conn.completions == 1);
      CHECK(action.completions == 1);
      if (st == step::logged_in) {
        CHECK_FALSE(h.conn.ec);
        switch (ft) {
          case fault::local_close: CHECK(action.ec == boost::asio::error::operation_aborted); break;
          case fault::deadline:
            CHECK(action.ec == ami::error::action_timeout);
            CHECK(h.s.state() == connection_state::logged_in);  // the connection stays
            continue;
          default: CHECK(action.ec == ami::error::connection_lost);
        }
      } else {
        boost::system::error_code want;
        switch (ft) {
          case fault::peer_closed:
            want = st == step::connecting ? boost::system::error_code(boost::asio::error::eof)
                                          : make_error_code(ami::error::connection_lost);
            break;
          case fault::local_close: want = boost::asio::error::operation_aborted; break;
          case fault::deadline:
            want = st == step::connecting ? ami::error::connect_timeout : ami::error::login_timeout;
            break;
          case fault::server_error: want = ami::error::login_failed; break;
        }
        CHECK(h.conn.ec == want);
        CHECK(action.ec == (ft == fault::local_close
                                ? boost::system::error_code(boost::asio::error::operation_aborted)
                                : make_error_code(ami::error::connection_lost)));
        CHECK_FALSE(h.s.last_error_message().empty());
        CHECK(h.s.last_error_message().find("amp111") == std::string::npos);
      }
      CHECK(h.s.state() == connection_state::disconnected);
      CHECK(h.seen.back().state == connection_state::disconnected);
      CHECK(h.s.routes().empty());
      CHECK_FALSE(h.s.next_deadline().has_value());
      CHECK(h.s.output().empty());
      // Further input changes nothing, and a new attempt can start.
      h.s.transport_closed(boost::asio::error::eof);
      h.feed("Response: Success\r\nActionID: s-1\r\n\r\n");
      h.settle();
      CHECK(h.conn.completions == 1);
      CHECK(action.completions == 1);
      record again;
      h.s.start(h.cfg, h.s.reserve_id(), op(again), h.now);
      h.settle();
      CHECK(h.s.state() == connection_state::connecting);
    }
  }
}

TEST_CASE("cancel_all aborts actions and keeps the session; abandoning connect closes it") {
  harness h;
  h.login();
  record a, b;
  h.submit(a);
  h.submit(b);
  h.s.cancel_all(boost::asio::error::operation_aborted);
  h.settle();
  CHECK(a.ec == boost::asio::error::operation_aborted);
  CHECK(b.ec == boost::asio::error::operation_aborted);
  CHECK(h.s.state() == connection_state::logged_in);
  CHECK_FALSE(h.s.take_close_request());

  harness g;
  const auto n = g.s.reserve_id();
  g.s.start(g.cfg, n, op(g.conn), g.now);
  g.settle();
  g.s.abandon(n, boost::asio::error::operation_aborted);
  g.settle();
  CHECK(g.conn.ec == boost::asio::error::operation_aborted);
  CHECK(g.s.state() == connection_state::disconnected);
  CHECK(g.s.take_close_request());
}

TEST_CASE("an action's own timeout, the default, and none") {
  harness h;
  h.cfg.action_timeout = 5s;
  h.cfg.keepalive_interval = 0ms;  // only the actions' deadlines
  h.login();
  record a, b, c;
  h.submit(a, ami::action("Ping"), within(1s));
  h.submit(b);
  h.submit(c, ami::action("Ping"), within(0ms));
  CHECK(h.s.next_deadline() == h.now + 1s);
  h.s.expire(h.now + 1s);
  h.settle();
  CHECK(a.ec == ami::error::action_timeout);
  CHECK_FALSE(b.done());
  h.s.expire(h.now + 5s);
  h.settle();
  CHECK(b.ec == ami::error::action_timeout);
  CHECK_FALSE(h.s.next_deadline().has_value());
  CHECK_FALSE(c.done());
  CHECK(h.s.state() == connection_state::logged_in);
}

TEST_CASE("an Originate's default timeout adds its ring time") {
  harness h;
  h.cfg.action_timeout = 5s;
  h.login();
  record r;
  ami::action a("Originate");
  a.add("Channel", "Local/100@default").add("Timeout", "20000").add("Async", "true");
  h.s.submit(h.s.reserve_id(), a, answer_kind::originate, std::nullopt, op(r), h.now);
  h.settle();
  CHECK(h.s.next_deadline() == h.now + 25s);
}

TEST_CASE("late answers and unmatched responses are counted, not delivered") {
  harness h;
  h.login();
  record a;
  const auto n = h.submit(a);
  const auto out = h.take_actions();
  h.s.abandon(n, boost::asio::error::operation_aborted);
  h.settle();
  CHECK(h.feed("Response: Success\r\nActionID: " + std::string(out[0].action_id()) + "\r\n\r\n") ==
        delivery::none);
  CHECK(h.s.counters().late == 1);
  CHECK(h.feed("Response: Success\r\nActionID: nobody\r\n\r\n") == delivery::none);
  CHECK(h.s.counters().unmatched == 1);
  CHECK(h.feed("Event: Hangup\r\nActionID: nobody\r\n\r\n") == delivery::event);
}

TEST_CASE("an explicit ActionID prefix applies to the connects that ask for it") {
  harness h;
  const auto first = h.to_logging_in();
  CHECK(first.action_id().substr(0, 2) == "s-");
  h.s.close(boost::asio::error::operation_aborted);
  h.settle();
  h.cfg.action_id_prefix.reset();
  const auto second = h.to_logging_in();
  CHECK(second.action_id().substr(0, 3) == "ami");
}
