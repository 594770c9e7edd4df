// The session's run (reconnect, re-login, restore, retry, waiting) and keepalive, without
// sockets: every decision is checked on the state machine alone.
#include "ami/detail/session.hpp"
#include "routing_support.hpp"
#include "session_support.hpp"

#include <boost/asio/error.hpp>

#include <cerrno>
#include <set>
#include <string>

using ami::connection_state;
using ami::test::op;
using ami::test::record;
using namespace ami::detail;
using namespace std::chrono_literals;

namespace {

struct run_harness : ami::test::session_harness {
  record run;
  std::uint64_t run_n = 0;

  run_harness() : session_harness("r-") {
    cfg.reconnect_initial = 100ms;
    cfg.reconnect_max = 1s;
    cfg.reconnect_multiplier = 2.0;
    cfg.keepalive_interval = 0ms;
    // The upper bound, so that tests know each delay; the jitter has its own test.
    s.set_jitter([](std::chrono::milliseconds cap) { return cap; });
  }

  const state_change& last(connection_state st) const {
    for (auto it = seen.rbegin(); it != seen.rend(); ++it) {
      if (it->state == st) return *it;
    }
    FAIL("state never seen: " << ami::to_string(st));
    return seen.front();
  }

  void start_run() {
    run_n = s.reserve_id();
    s.run(cfg, run_n, op(run), now);
    settle();
  }

  // Bytes arrived, as the client reports before each read's messages.
  delivery feed(const std::string& text) override {
    s.bytes_received(now);
    return session_harness::feed(text);
  }

  // The session asked for a transport: connected, banner read. Returns the Login.
  ami::message to_login(const std::string& banner = "Asterisk Call Manager/13.0.0") {
    REQUIRE(s.take_connect_request());
    s.transport_connected(now);
    settle();
    feed(banner + "\r\n");
    auto actions = take_actions();
    REQUIRE(actions.size() == 1);  // the Login alone: user actions wait for its answer
    REQUIRE(actions[0].head() == "Login");
    return actions[0];
  }

  // Logs in; returns what the session wrote right after (restored Filters, waiting actions).
  std::vector<ami::message> log_in() {
    answer(to_login(), "Message: Authentication accepted\r\n");
    REQUIRE(s.state() == connection_state::logged_in);
    return take_actions();
  }

  // The server drops the connection; the run backs off.
  void lose(const boost::system::error_code& ec = boost::asio::error::eof) {
    s.transport_closed(ec, now);
    settle();
  }

  // Time passes to the end of the backoff: the next attempt starts.
  void end_backoff() {
    REQUIRE(s.state() == connection_state::backing_off);
    const auto d = s.next_deadline();
    REQUIRE(d);
    now = *d;
    s.expire(now);
    settle();
    REQUIRE(s.state() == connection_state::connecting);
  }
};

ami::send_options retry() {
  ami::send_options o;
  o.retry = true;
  return o;
}

ami::send_options no_wait() {
  ami::send_options o;
  o.wait_for_session = false;
  return o;
}

}  // namespace

TEST_SUITE("session run") {
  TEST_CASE("backoff bounds grow by the multiplier up to the maximum") {
    ami::config c;
    c.reconnect_initial = 100ms;
    c.reconnect_max = 1s;
    c.reconnect_multiplier = 2.0;
    std::vector<std::chrono::milliseconds> caps;
    for (unsigned k = 1; k <= 7; ++k) caps.push_back(session::backoff_cap(c, k));
    CHECK(caps == std::vector<std::chrono::milliseconds>{100ms, 200ms, 400ms, 800ms, 1000ms, 1000ms,
                                                         1000ms});
    CHECK(session::backoff_cap(c, 1000000) == 1s);  // months of failures stay bounded
    c.reconnect_multiplier = 1.5;
    CHECK(session::backoff_cap(c, 3) == 225ms);
    c.reconnect_multiplier = 0.5;  // counts as 1: constant
    CHECK(session::backoff_cap(c, 9) == 100ms);
    c.reconnect_multiplier = 2.0;
    c.reconnect_max = 10ms;  // below the initial delay: the initial delay
    CHECK(session::backoff_cap(c, 5) == 100ms);
  }

  TEST_CASE("full jitter: delays are uniform in [0, bound], differ, and follow the seed") {
    const auto delays = [](std::uint64_t seed) {
      run_harness h;
      h.s.set_jitter({});
      h.s.seed(seed);
      h.cfg.reconnect_max = 400ms;
      h.start_run();
      std::vector<state_change> offs;
      for (int i = 0; i < 40; ++i) {
        REQUIRE(h.s.take_connect_request());
        h.lose(boost::asio::error::connection_refused);
        offs.push_back(h.last(connection_state::backing_off));
        h.end_backoff();
      }
      return offs;
    };
    const auto a = delays(7);
    std::set<long long> distinct;
    for (std::size_t i = 0; i < a.size(); ++i) {
      CAPTURE(i);
      CHECK(a[i].attempt == i + 1);
      CHECK(a[i].max_delay ==
            std::min<std::chrono::milliseconds>(
                std::chrono::milliseconds(100LL << std::min<std::size_t>(i, 10)), 400ms));
      CHECK(a[i].delay >= 0ms);
      CHECK(a[i].delay <= a[i].max_delay);
      distinct.insert(a[i].delay.count());
    }
    CHECK(distinct.size() > 10);
    const auto b = delays(7);
    const auto c = delays(8);
    bool same = true, differs = false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      same = same && a[i].delay == b[i].delay;
      differs = differs || a[i].delay != c[i].delay;
    }
    CHECK(same);
    CHECK(differs);
  }

  TEST_CASE("a run connects, logs in and reports each transition with its attempt") {
    run_harness h;
    h.start_run();
    CHECK(h.s.run_active());
    CHECK_FALSE(h.run.done());
    h.log_in();
    CHECK(h.states() ==
          std::vector<connection_state>{connection_state::connecting, connection_state::connected,
                                        connection_state::logging_in, connection_state::logged_in});
    for (const auto& c : h.seen) CHECK(c.attempt == 0);
    CHECK_FALSE(h.run.done());  // the run goes on while logged in
  }

  TEST_CASE("a loss: disconnected with the reason, backing_off with the delay, then again") {
    run_harness h;
    h.start_run();
    h.log_in();
    h.seen.clear();
    h.lose(boost::asio::error::connection_reset);
    CHECK(h.states() == std::vector<connection_state>{connection_state::disconnected,
                                                      connection_state::backing_off});
    CHECK(h.seen[0].ec == ami::error::connection_lost);
    CHECK(h.seen[1].ec == ami::error::connection_lost);
    CHECK(h.seen[1].delay == 100ms);
    CHECK(h.seen[1].max_delay == 100ms);
    CHECK(h.seen[1].attempt == 1);
    CHECK(h.s.next_deadline() == h.now + 100ms);
    CHECK_FALSE(h.s.take_connect_request());  // not before the backoff ends
    h.s.expire(h.now + 99ms);
    CHECK(h.s.state() == connection_state::backing_off);
    h.end_backoff();
    CHECK(h.last(connection_state::connecting).attempt == 1);
    h.log_in();
    CHECK(h.last(connection_state::logged_in).attempt == 1);
    CHECK(h.s.attempt() == 0);
    CHECK_FALSE(h.run.done());
  }

  TEST_CASE("failed attempts back off longer each time; a login resets the count") {
    run_harness h;
    h.start_run();
    std::vector<std::chrono::milliseconds> caps;
    for (int i = 0; i < 4; ++i) {
      REQUIRE(h.s.take_connect_request());
      h.lose(boost::asio::error::connection_refused);
      CHECK(h.last(connection_state::disconnected).ec == boost::asio::error::connection_refused);
      caps.push_back(h.last(connection_state::backing_off).max_delay);
      h.end_backoff();
    }
    CHECK(caps == std::vector<std::chrono::milliseconds>{100ms, 200ms, 400ms, 800ms});
    // Timeouts count as failures too.
    h.s.expire(*h.s.next_deadline());
    h.settle();
    CHECK(h.last(connection_state::disconnected).ec == ami::error::connect_timeout);
    CHECK(h.last(connection_state::backing_off).max_delay == 1s);
    CHECK(h.s.take_close_request());
    h.end_backoff();
    h.log_in();
    h.lose();
    CHECK(h.last(connection_state::backing_off).attempt == 1);
    CHECK(h.last(connection_state::backing_off).max_delay == 100ms);
  }

  TEST_CASE("re-login comes first: actions sent meanwhile go out only once logged in") {
    run_harness h;
    h.start_run();
    h.log_in();
    h.lose();
    record a, b;
    h.submit(a, ami::action("Ping"));
    h.submit(b, ami::action("CoreStatus"));
    CHECK_FALSE(a.done());
    h.end_backoff();
    const auto login = h.to_login();  // the Login alone (checked inside)
    CHECK(h.s.output().empty());
    h.answer(login, "Message: Authentication accepted\r\n");
    const auto out = h.take_actions();
    REQUIRE(out.size() == 2);
    CHECK(out[0].head() == "Ping");
    CHECK(out[1].head() == "CoreStatus");
    h.answer(out[0], "Ping: Pong\r\n");
    h.answer(out[1]);
    CHECK_FALSE(a.ec);
    CHECK_FALSE(b.ec);
  }

  TEST_CASE("the event mask and the Filters that succeeded are restored, in order, first") {
    run_harness h;
    h.cfg.events = "on";
    h.start_run();
    h.log_in();
    record ev, f1, f2, bad;
    ami::action events("Events");
    events.add("EventMask", "call,agent");
    h.submit(ev, events);
    ami::action filter1("Filter");
    filter1.add("Operation", "Add").add("Filter", "Event: Hangup");
    h.submit(f1, filter1);
    ami::action refused("Filter");
    refused.add("Filter", "(");
    h.submit(bad, refused);
    ami::action filter2("Filter");
    filter2.add("Filter", "!Channel: Local/.*").add("ActionID", "mine-1");
    h.submit(f2, filter2);
    auto out = h.take_actions();
    REQUIRE(out.size() == 4);
    h.answer(out[0], "Events: On\r\n");
    h.answer(out[1], "Message: Filter Added Successfully\r\n");
    h.answer(out[2], "Message: Filter Not Added\r\n", "Error");
    h.answer(out[3], "Message: Filter Added Successfully\r\n");
    CHECK(bad.ec == ami::error::action_failed);

    h.lose();
    record waiting;
    h.submit(waiting, ami::action("CoreStatus"));
    h.end_backoff();
    const auto login = h.to_login();
    CHECK(login.get("Events") == "call,agent");
    h.answer(login);
    out = h.take_actions();
    REQUIRE(out.size() == 3);
    CHECK(out[0].head() == "Filter");
    CHECK(out[0].get("Filter") == "Event: Hangup");
    CHECK(out[0].get("Operation") == "Add");
    CHECK(out[1].head() == "Filter");
    CHECK(out[1].get("Filter") == "!Channel: Local/.*");
    CHECK(out[1].action_id().substr(0, 2) == "r-");  // the client's id, not the caller's
    CHECK(out[2].head() == "CoreStatus");
    // Their answers are the session's: nobody else sees them.
    h.answer(out[0]);
    h.answer(out[1]);
    CHECK(h.s.counters().unmatched == 0);
    h.answer(out[2]);
    CHECK_FALSE(waiting.ec);

    // A second loss restores the same set, once.
    h.lose();
    h.end_backoff();
    const auto login2 = h.to_login();
    CHECK(login2.get("Events") == "call,agent");
    h.answer(login2);
    out = h.take_actions();
    REQUIRE(out.size() == 2);
    CHECK(out[0].get("Filter") == "Event: Hangup");
    CHECK(out[1].get("Filter") == "!Channel: Local/.*");
  }

  TEST_CASE("at a loss: retry-marked actions are written again, the others connection_lost") {
    run_harness h;
    h.cfg.action_timeout = 10s;
    h.start_run();
    h.log_in();
    record plain, marked, own_id, list;
    h.submit(plain);
    h.submit(marked, ami::action("Ping"), retry());
    ami::action with_id("Ping");
    with_id.add("ActionID", "caller-7");
    h.submit(own_id, with_id, retry());
    h.submit(list, ami::action("Status"), retry());
    auto first = h.take_actions();
    REQUIRE(first.size() == 4);
    // The list had started: its items are collected afresh after the re-send.
    h.answer(first[3], "EventList: start\r\n");
    h.feed("Event: Status\r\nActionID: " + std::string(first[3].action_id()) +
           "\r\nChannel: old\r\n\r\n");
    const auto deadline = h.s.next_deadline();

    h.now += 1s;
    h.lose();
    CHECK(h.s.next_deadline() == h.now + 100ms);  // the backoff comes first
    CHECK(plain.ec == ami::error::connection_lost);
    CHECK_FALSE(marked.done());
    CHECK_FALSE(own_id.done());
    CHECK_FALSE(list.done());
    h.end_backoff();
    const auto again = h.log_in();
    CHECK(h.s.next_deadline() == deadline);  // the same deadlines as before the loss
    REQUIRE(again.size() == 3);
    CHECK(again[0].action_id() == first[1].action_id());
    CHECK(again[1].action_id() == "caller-7");
    CHECK(again[2].head() == "Status");
    h.answer(again[0], "Ping: Pong\r\n");
    h.answer(again[1], "Ping: Pong\r\n");
    h.answer(again[2], "EventList: start\r\n");
    h.feed("Event: Status\r\nActionID: " + std::string(again[2].action_id()) +
           "\r\nChannel: new\r\n\r\n");
    h.feed("Event: StatusComplete\r\nActionID: " + std::string(again[2].action_id()) +
           "\r\nEventList: Complete\r\nListItems: 1\r\n\r\n");
    CHECK_FALSE(marked.ec);
    CHECK(marked.resp.get("Ping") == "Pong");
    CHECK_FALSE(own_id.ec);
    CHECK_FALSE(list.ec);
    REQUIRE(list.resp.events().size() == 1);
    CHECK(list.resp.events()[0].get("Channel") == "new");
  }

  TEST_CASE("a retried action keeps its deadline across the reconnect") {
    run_harness h;
    h.start_run();
    h.log_in();
    record marked;
    ami::send_options o = retry();
    o.timeout = 2s;
    h.submit(marked, ami::action("Ping"), o);
    const auto deadline = h.now + 2s;
    h.take_actions();
    h.lose();
    h.end_backoff();
    REQUIRE(h.s.take_connect_request());
    // The server never accepts: the action times out at its original deadline.
    h.now = deadline;
    h.s.expire(h.now);
    h.settle();
    CHECK(marked.ec == ami::error::action_timeout);
  }

  TEST_CASE("without a run retry changes nothing: connection_lost") {
    run_harness h;
    const auto n = h.s.reserve_id();
    record conn;
    h.s.start(h.cfg, n, op(conn), h.now);
    h.settle();
    h.log_in();
    record marked;
    h.submit(marked, ami::action("Ping"), retry());
    h.take_actions();
    h.lose();
    CHECK(marked.ec == ami::error::connection_lost);
    CHECK(h.s.state() == connection_state::disconnected);
    CHECK_FALSE(h.s.take_connect_request());
    CHECK_FALSE(h.s.next_deadline().has_value());
  }

  TEST_CASE("between sessions actions wait, or fail at once when asked; the queue is bounded") {
    run_harness h;
    h.cfg.max_queued = 2;
    h.start_run();
    h.log_in();
    h.lose();
    record w1, f, w2, over, late;
    h.submit(w1);
    h.submit(f, ami::action("Ping"), no_wait());
    CHECK(f.ec == ami::error::not_connected);
    ami::send_options short_wait;
    short_wait.timeout = 50ms;
    h.submit(w2, ami::action("Ping"), short_wait);
    h.submit(over);
    CHECK(over.ec == ami::error::too_many_pending);
    // The timeout runs while waiting.
    h.s.expire(h.now + 50ms);
    h.settle();
    CHECK(w2.ec == ami::error::action_timeout);
    CHECK_FALSE(w1.done());
    h.end_backoff();
    // Connecting (not logged in yet): the same choice.
    h.submit(late, ami::action("Ping"), no_wait());
    CHECK(late.ec == ami::error::not_connected);
    const auto out = h.log_in();
    REQUIRE(out.size() == 1);
    h.answer(out[0]);
    CHECK_FALSE(w1.ec);
  }

  TEST_CASE("queued actions at a loss keep waiting; those that asked not to wait are lost") {
    run_harness h;
    h.cfg.max_in_flight = 1;
    h.start_run();
    h.log_in();
    record sent, queued_wait, queued_nowait;
    h.submit(sent);
    h.submit(queued_wait);
    h.submit(queued_nowait, ami::action("Ping"), no_wait());
    CHECK(h.take_actions().size() == 1);
    h.lose();
    CHECK(sent.ec == ami::error::connection_lost);
    CHECK(queued_nowait.ec == ami::error::connection_lost);
    CHECK_FALSE(queued_wait.done());
    h.end_backoff();
    const auto out = h.log_in();
    REQUIRE(out.size() == 1);
    h.answer(out[0]);
    CHECK_FALSE(queued_wait.ec);
  }

  TEST_CASE("without a run, disconnected sends fail with not_connected whatever the option") {
    run_harness h;
    record a, b;
    h.submit(a);
    ami::send_options o;
    o.wait_for_session = true;
    o.retry = true;
    h.submit(b, ami::action("Ping"), o);
    CHECK(a.ec == ami::error::not_connected);
    CHECK(b.ec == ami::error::not_connected);
  }

  TEST_CASE("login failure policy stop: the run ends with login_failed") {
    run_harness h;
    h.start_run();
    record waiting;
    h.submit(waiting);
    const auto login = h.to_login();
    h.answer(login, "Message: Authentication failed\r\n", "Error");
    CHECK(h.run.ec == ami::error::login_failed);
    CHECK(waiting.ec == ami::error::connection_lost);
    CHECK_FALSE(h.s.run_active());
    CHECK(h.s.state() == connection_state::disconnected);
    CHECK(h.s.take_close_request());
    CHECK_FALSE(h.s.next_deadline().has_value());
    CHECK(h.s.last_error_message() == "Authentication failed");
  }

  TEST_CASE("login failure policy retry: back off and try again") {
    run_harness h;
    h.cfg.login_failure = ami::login_failure_policy::retry;
    h.start_run();
    record waiting;
    h.submit(waiting);
    h.answer(h.to_login(), "Message: Authentication failed\r\n", "Error");
    CHECK_FALSE(h.run.done());
    CHECK_FALSE(waiting.done());
    CHECK(h.last(connection_state::backing_off).ec == ami::error::login_failed);
    CHECK(h.s.take_close_request());
    h.end_backoff();
    const auto out = h.log_in();
    REQUIRE(out.size() == 1);
    h.answer(out[0]);
    CHECK_FALSE(waiting.ec);
  }

  TEST_CASE("reconnect_initial 0: the first loss or failure ends the run with its reason") {
    for (const bool logged : {true, false}) {
      CAPTURE(logged);
      run_harness h;
      h.cfg.reconnect_initial = 0ms;
      h.start_run();
      if (logged) {
        h.log_in();
        h.lose();
        CHECK(h.run.ec == ami::error::connection_lost);
      } else {
        REQUIRE(h.s.take_connect_request());
        h.lose(boost::asio::error::connection_refused);
        CHECK(h.run.ec == boost::asio::error::connection_refused);
      }
      CHECK(h.s.state() == connection_state::disconnected);
      CHECK_FALSE(h.s.run_active());
    }
  }

  TEST_CASE("logoff ends the run with success; between sessions at once") {
    {
      run_harness h;
      h.start_run();
      h.log_in();
      record lo;
      h.s.logoff(h.s.reserve_id(), op(lo), h.now);
      h.settle();
      const auto out = h.take_actions();
      REQUIRE(out.size() == 1);
      h.answer(out[0], "", "Goodbye");
      h.lose();
      CHECK(lo.completions == 1);
      CHECK_FALSE(lo.ec);
      CHECK(h.run.completions == 1);
      CHECK_FALSE(h.run.ec);
      CHECK(h.s.state() == connection_state::disconnected);
      CHECK_FALSE(h.s.next_deadline().has_value());
    }
    {
      run_harness h;
      h.start_run();
      h.log_in();
      h.lose();
      record waiting, lo;
      h.submit(waiting);
      h.s.logoff(h.s.reserve_id(), op(lo), h.now);
      h.settle();
      CHECK_FALSE(lo.ec);
      CHECK(lo.done());
      CHECK(h.run.done());
      CHECK_FALSE(h.run.ec);
      CHECK(waiting.ec == ami::error::connection_lost);
      CHECK(h.s.state() == connection_state::disconnected);
      CHECK_FALSE(h.s.next_deadline().has_value());
    }
  }

  TEST_CASE("close ends the run with operation_aborted, logged in or backing off") {
    for (const bool logged : {true, false}) {
      CAPTURE(logged);
      run_harness h;
      h.start_run();
      h.log_in();
      if (!logged) h.lose();
      record pending;
      h.submit(pending);
      h.s.close(boost::asio::error::operation_aborted);
      h.settle();
      CHECK(h.run.ec == boost::asio::error::operation_aborted);
      CHECK(pending.ec == boost::asio::error::operation_aborted);
      CHECK(h.s.state() == connection_state::disconnected);
      CHECK_FALSE(h.s.run_active());
      CHECK_FALSE(h.s.next_deadline().has_value());
    }
  }

  TEST_CASE("cancelling the run: a logged-in session stays, an attempt is abandoned") {
    {
      run_harness h;
      h.start_run();
      h.log_in();
      h.s.cancel_all(boost::asio::error::operation_aborted);
      h.settle();
      CHECK(h.run.ec == boost::asio::error::operation_aborted);
      CHECK(h.s.state() == connection_state::logged_in);
      CHECK_FALSE(h.s.take_close_request());
      h.lose();  // unsupervised now: no reconnect
      CHECK(h.s.state() == connection_state::disconnected);
      CHECK_FALSE(h.s.next_deadline().has_value());
    }
    {
      run_harness h;
      h.start_run();
      h.log_in();
      h.lose();
      record waiting;
      h.submit(waiting);
      h.s.abandon(h.run_n, boost::asio::error::operation_aborted);
      h.settle();
      CHECK(h.run.ec == boost::asio::error::operation_aborted);
      CHECK(waiting.ec == ami::error::connection_lost);
      CHECK(h.s.state() == connection_state::disconnected);
      CHECK_FALSE(h.s.next_deadline().has_value());
    }
  }

  TEST_CASE("one run at a time; connect and run exclude each other") {
    run_harness h;
    h.start_run();
    record again, conn;
    h.s.run(h.cfg, h.s.reserve_id(), op(again), h.now);
    h.s.start(h.cfg, h.s.reserve_id(), op(conn), h.now);
    h.settle();
    CHECK(again.ec == boost::asio::error::in_progress);
    CHECK(conn.ec == boost::asio::error::in_progress);
    h.log_in();
    record again2, conn2;
    h.s.run(h.cfg, h.s.reserve_id(), op(again2), h.now);
    h.s.start(h.cfg, h.s.reserve_id(), op(conn2), h.now);
    h.settle();
    CHECK(again2.ec == boost::asio::error::in_progress);
    CHECK(conn2.ec == boost::asio::error::in_progress);
    CHECK_FALSE(h.run.done());

    run_harness g;
    record c;
    g.s.start(g.cfg, g.s.reserve_id(), op(c), g.now);
    g.settle();
    g.log_in();
    record r;
    g.s.run(g.cfg, g.s.reserve_id(), op(r), g.now);
    g.settle();
    CHECK(r.ec == boost::asio::error::already_connected);
  }

  TEST_CASE("a transport that cannot be set up ends the run at once") {
    run_harness h;
    h.start_run();
    REQUIRE(h.s.take_connect_request());
    h.s.transport_unusable(boost::system::error_code(ENOENT, boost::system::generic_category()));
    h.settle();
    CHECK(h.run.ec == boost::system::error_code(ENOENT, boost::system::generic_category()));
    CHECK(h.s.state() == connection_state::disconnected);
    CHECK_FALSE(h.s.run_active());
  }

  TEST_CASE("keepalive: Ping after one idle interval, keepalive_timeout after two") {
    run_harness h;
    h.cfg.keepalive_interval = 1s;
    h.start_run();
    h.log_in();
    const auto t0 = h.now;
    CHECK(h.s.next_deadline() == t0 + 1s);
    h.s.expire(t0 + 999ms);
    CHECK(h.s.output().empty());
    h.s.expire(t0 + 1s);
    h.settle();
    auto out = h.take_actions();
    REQUIRE(out.size() == 1);
    CHECK(out[0].head() == "Ping");
    CHECK(h.s.next_deadline() == t0 + 2s);  // one Ping per idle period
    h.s.expire(t0 + 1500ms);
    CHECK(h.s.output().empty());
    // The Pong is traffic: the idle time starts again, and the answer is nobody's business.
    h.now = t0 + 1600ms;
    h.answer(out[0], "Ping: Pong\r\n");
    CHECK(h.s.counters().unmatched == 0);
    CHECK(h.s.next_deadline() == h.now + 1s);
    // Events count as traffic too.
    h.now += 900ms;
    h.feed("Event: Newchannel\r\n\r\n");
    h.s.expire(h.now + 500ms);
    CHECK(h.s.output().empty());
    // Silence: a Ping, then the link is declared dead.
    const auto last = h.now;
    h.now = last + 1s;
    h.s.expire(h.now);
    h.settle();
    REQUIRE(h.take_actions().size() == 1);
    record pending, marked;
    h.submit(pending);
    h.submit(marked, ami::action("Ping"), retry());
    h.take_actions();
    h.now = last + 2s;
    h.s.expire(h.now);
    h.settle();
    CHECK(h.s.take_close_request());
    CHECK(h.last(connection_state::disconnected).ec == ami::error::keepalive_timeout);
    CHECK(h.last(connection_state::backing_off).ec == ami::error::keepalive_timeout);
    CHECK(pending.ec == ami::error::connection_lost);
    CHECK_FALSE(marked.done());
    h.end_backoff();
    const auto again = h.log_in();
    REQUIRE(again.size() == 1);
    CHECK(again[0].head() == "Ping");
  }

  TEST_CASE("keepalive without a run: the session just ends up disconnected") {
    run_harness h;
    h.cfg.keepalive_interval = 1s;
    record conn;
    h.s.start(h.cfg, h.s.reserve_id(), op(conn), h.now);
    h.settle();
    h.log_in();
    record pending;
    h.submit(pending);
    h.take_actions();
    h.s.expire(h.now + 1s);
    h.s.expire(h.now + 2s);
    h.settle();
    CHECK(pending.ec == ami::error::connection_lost);
    CHECK(h.s.state() == connection_state::disconnected);
    CHECK(h.seen.back().ec == ami::error::keepalive_timeout);
    CHECK(h.s.take_close_request());
    CHECK_FALSE(h.s.next_deadline().has_value());
  }

  TEST_CASE("keepalive at the in-flight limit: no Ping, the pending answer probes the link") {
    run_harness h;
    h.cfg.keepalive_interval = 1s;
    h.cfg.max_in_flight = 1;
    h.cfg.action_timeout = 0ms;
    h.start_run();
    h.log_in();
    record slow;
    h.submit(slow, ami::action("Command"));
    REQUIRE(h.take_actions().size() == 1);
    h.s.expire(h.now + 1s);
    CHECK(h.s.output().empty());
    CHECK(h.s.next_deadline() == h.now + 2s);  // not a busy loop at the first interval
    h.s.expire(h.now + 2s);
    h.settle();
    CHECK(slow.ec == ami::error::connection_lost);
    CHECK(h.last(connection_state::disconnected).ec == ami::error::keepalive_timeout);
  }

  TEST_CASE("keepalive is off at 0 and outside logged_in") {
    run_harness h;
    h.cfg.keepalive_interval = 0ms;
    h.start_run();
    h.log_in();
    CHECK_FALSE(h.s.next_deadline().has_value());
    h.s.expire(h.now + 1h);
    CHECK(h.s.output().empty());
    CHECK(h.s.state() == connection_state::logged_in);
  }
}
