// client::async_run against the simulated PBX: reconnects after the server closes, restarts
// or refuses connections, keepalive, retry-marked actions, restored filters and event mask,
// and the ways a run ends. Every wait has a deadline.
#include "client_support.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/signals2/connection.hpp>

#include <algorithm>
#include <atomic>
#include <memory>

using namespace std::chrono_literals;
using ami::connection_state;
using ami::test::client_fixture;
using ami::test::done_flag;
using ami::test::result;

namespace {

struct run_fixture : client_fixture {
  explicit run_fixture(ami::testing::server_options o = {}) : client_fixture(std::move(o)) {
    cfg.reconnect_initial = 10ms;
    cfg.reconnect_max = 100ms;
    cfg.keepalive_interval = 0ms;
    sub = c.on_transition([this](const ami::state_transition& t) {
      seen.push_back(t);
      if (on_change) on_change(t);
    });
  }

  void start() { c.async_run(cfg, run.handler()); }

  bool until(const std::function<bool()>& pred, std::chrono::milliseconds deadline = 10s) {
    return ami::test::run_until(io, pred, deadline);
  }

  // Logged in, and the server has counted at least n logins since it started.
  bool logged_in(std::size_t n) {
    return until(
        [&] { return srv.login_count() >= n && c.state() == connection_state::logged_in; });
  }

  std::size_t count(connection_state st) const {
    return static_cast<std::size_t>(std::count_if(
        seen.begin(), seen.end(), [&](const ami::state_transition& t) { return t.state == st; }));
  }

  std::vector<ami::state_transition> of(connection_state st) const {
    std::vector<ami::state_transition> out;
    for (const auto& t : seen) {
      if (t.state == st) out.push_back(t);
    }
    return out;
  }

  done_flag run;
  std::vector<ami::state_transition> seen;
  std::function<void(const ami::state_transition&)> on_change;
  boost::signals2::scoped_connection sub;
};

ami::send_options retry() {
  ami::send_options o;
  o.retry = true;
  return o;
}

// The actions the server received, by name.
std::vector<ami::message> received(const ami::testing::server& srv, const std::string& name) {
  std::vector<ami::message> out;
  for (auto& m : srv.received()) {
    if (ami::iequals(m.head(), name)) out.push_back(m);
  }
  return out;
}

}  // namespace

TEST_SUITE("client run") {
  TEST_CASE("the server closes: the run reconnects, logs in again and actions work") {
    run_fixture f;
    f.start();
    REQUIRE(f.logged_in(1));
    CHECK_FALSE(*f.send(ami::action("Ping")).ec);
    f.seen.clear();
    f.srv.close_sessions();
    REQUIRE(f.logged_in(2));
    CHECK_FALSE(*f.send(ami::action("Ping")).ec);
    REQUIRE(f.seen.size() >= 6);
    CHECK(f.seen[0].state == connection_state::disconnected);
    CHECK(f.seen[0].reason == ami::error::connection_lost);
    CHECK(f.seen[1].state == connection_state::backing_off);
    CHECK(f.seen[1].delay <= 10ms);
    CHECK(f.seen[1].max_delay == 10ms);
    CHECK(f.seen[1].attempt == 1);
    CHECK(f.seen.back().state == connection_state::logged_in);
    CHECK_FALSE(f.run.done());
  }

  TEST_CASE("on_state keeps working and sees backing_off") {
    run_fixture f;
    std::vector<connection_state> states;
    boost::signals2::scoped_connection s = f.c.on_state(
        [&](connection_state st, const boost::system::error_code&) { states.push_back(st); });
    f.start();
    REQUIRE(f.logged_in(1));
    f.srv.close_sessions();
    REQUIRE(f.logged_in(2));
    CHECK(std::count(states.begin(), states.end(), connection_state::backing_off) >= 1);
    CHECK(std::count(states.begin(), states.end(), connection_state::logged_in) == 2);
  }

  TEST_CASE("the server restarts on the same port with another version: the new banner") {
    run_fixture f;
    f.start();
    REQUIRE(f.logged_in(1));
    REQUIRE(f.c.ami_version());
    CHECK(*f.c.ami_version() == ami::proto::version{13, 0, 0});
    const auto port = f.srv.port();
    f.srv.stop();
    ami::testing::server_options o;
    o.port = port;
    o.ami_version = "5.0.1";
    ami::testing::server second(o);
    second.start();
    REQUIRE(f.until(
        [&] { return second.login_count() >= 1 && f.c.state() == connection_state::logged_in; }));
    REQUIRE(f.c.ami_version());
    CHECK(*f.c.ami_version() == ami::proto::version{5, 0, 1});
    CHECK_FALSE(*f.send(ami::action("Ping")).ec);
    f.c.close();
    REQUIRE(f.wait(f.run));
  }

  TEST_CASE("refused connections: backing_off with growing bounds, then a login resets them") {
    run_fixture f;
    f.cfg.reconnect_initial = 10ms;
    f.cfg.reconnect_max = 1s;
    f.cfg.reconnect_multiplier = 2.0;
    f.srv.stop();
    f.start();
    REQUIRE(f.until([&] { return f.count(connection_state::backing_off) >= 5; }));
    const auto offs = f.of(connection_state::backing_off);
    for (std::size_t i = 0; i < 5; ++i) {
      CAPTURE(i);
      CHECK(offs[i].attempt == i + 1);
      CHECK(offs[i].max_delay == std::chrono::milliseconds(10LL << i));
      CHECK(offs[i].delay <= offs[i].max_delay);
      CHECK(offs[i].reason == boost::asio::error::connection_refused);
    }
    CHECK(f.of(connection_state::disconnected).front().reason ==
          boost::asio::error::connection_refused);
    CHECK_FALSE(f.run.done());
    f.srv.start();  // the same port again
    REQUIRE(f.logged_in(1));
    CHECK(f.of(connection_state::logged_in).back().attempt >= 5);
    f.seen.clear();
    f.srv.close_sessions();
    REQUIRE(f.until([&] { return f.count(connection_state::backing_off) >= 1; }));
    CHECK(f.of(connection_state::backing_off)[0].attempt == 1);
    CHECK(f.of(connection_state::backing_off)[0].max_delay == 10ms);
  }

  TEST_CASE("a stalled server: keepalive Pings, finds the link dead in two intervals, reconnects") {
    run_fixture f;
    f.cfg.keepalive_interval = 150ms;
    f.start();
    REQUIRE(f.logged_in(1));
    f.srv.clear_received();
    f.srv.stall(true);
    const auto stalled_at = std::chrono::steady_clock::now();
    REQUIRE(f.until([&] { return f.count(connection_state::disconnected) >= 1; }));
    const auto took = std::chrono::steady_clock::now() - stalled_at;
    CHECK(f.of(connection_state::disconnected)[0].reason == ami::error::keepalive_timeout);
    CHECK(took >= 250ms);  // two intervals from the last byte read (before the stall)
    CHECK(took < 2s);
    CHECK(received(f.srv, "Ping").size() == 1);  // one Ping for the idle interval
    f.srv.stall(false);
    REQUIRE(f.logged_in(2));
    CHECK_FALSE(*f.send(ami::action("Ping")).ec);
  }

  TEST_CASE("keepalive with async_connect: the client ends up disconnected") {
    client_fixture f;
    f.cfg.keepalive_interval = 100ms;
    f.connect_ok();
    std::optional<boost::system::error_code> reason;
    auto sub = f.c.on_state([&](connection_state s, const boost::system::error_code& ec) {
      if (s == connection_state::disconnected) reason = ec;
    });
    result<ami::response> pending;
    f.srv.stall(true);
    f.c.async_send(ami::action("Ping"), pending.handler());
    REQUIRE(f.wait(pending));
    CHECK(*pending.ec == ami::error::connection_lost);
    REQUIRE(reason);
    CHECK(*reason == ami::error::keepalive_timeout);
    CHECK(f.c.state() == connection_state::disconnected);
  }

  TEST_CASE("a retry-marked Ping survives a drop; an unmarked one gets connection_lost") {
    run_fixture f;
    // The first session never answers Ping; later ones do.
    std::atomic<std::uint64_t> first{0};
    f.srv.on_action("Ping", [&](ami::testing::session& s, const ami::message&) {
      std::uint64_t none = 0;
      first.compare_exchange_strong(none, s.id());
      return s.id() == first.load();
    });
    f.start();
    REQUIRE(f.logged_in(1));
    result<ami::response> plain, marked;
    f.c.async_send(ami::action("Ping"), plain.handler());
    f.c.async_send(ami::action("Ping"), retry(), marked.handler());
    REQUIRE(f.server_got("Ping", 2));
    f.srv.close_sessions();
    REQUIRE(f.wait(plain));
    CHECK(*plain.ec == ami::error::connection_lost);
    REQUIRE(f.wait(marked));
    CHECK_FALSE(*marked.ec);
    CHECK(marked.value.get("Ping") == "Pong");
    CHECK(f.srv.login_count() == 2);
    CHECK(received(f.srv, "Ping").size() == 3);  // two, then the marked one again
  }

  TEST_CASE("actions between sessions wait, or fail at once with wait_for_session = false") {
    run_fixture f;
    f.srv.stop();
    f.start();
    REQUIRE(f.until([&] { return f.count(connection_state::backing_off) >= 1; }));
    ami::send_options no_wait;
    no_wait.wait_for_session = false;
    result<ami::response> failed, waiting;
    f.c.async_send(ami::action("Ping"), no_wait, failed.handler());
    f.c.async_send(ami::action("Ping"), waiting.handler());
    REQUIRE(f.wait(failed));
    CHECK(*failed.ec == ami::error::not_connected);
    CHECK_FALSE(waiting.done());
    f.srv.start();
    REQUIRE(f.wait(waiting));
    CHECK_FALSE(*waiting.ec);
  }

  TEST_CASE("the event mask and the Filters are restored after a reconnect, before user actions") {
    run_fixture f;
    f.start();
    REQUIRE(f.logged_in(1));
    ami::action events("Events");
    events.add("EventMask", "call");
    CHECK_FALSE(*f.send(events).ec);
    ami::action filter("Filter");
    filter.add("Operation", "Add").add("Filter", "Event: Hangup");
    CHECK_FALSE(*f.send(filter).ec);
    ami::action bad("Filter");
    bad.add("Filter", "(");
    CHECK(*f.send(bad).ec == ami::error::action_failed);

    // An action sent as soon as the connection is lost goes out after the restore.
    result<ami::response> status;
    f.on_change = [&](const ami::state_transition& t) {
      if (t.state == connection_state::disconnected && !status.done()) {
        ami::action ping("Ping");
        ping.add("ActionID", "sent-while-down");
        f.c.async_send(std::move(ping), status.handler());
      }
    };
    f.srv.clear_received();
    f.srv.close_sessions();
    REQUIRE(f.logged_in(2));
    REQUIRE(f.wait(status));
    CHECK_FALSE(*status.ec);
    const auto got = f.srv.received();
    REQUIRE(got.size() >= 3);
    CHECK(got[0].head() == "Login");
    CHECK(got[0].get("Events") == "call");
    CHECK(got[1].head() == "Filter");
    CHECK(got[1].get("Filter") == "Event: Hangup");
    CHECK(got[2].head() == "Ping");
    CHECK(got[2].action_id() == "sent-while-down");
    CHECK(received(f.srv, "Filter").size() == 1);  // the refused one is not restored

    // The new session filters like the old one.
    std::size_t newchannels = 0, hangups = 0;
    auto s1 = f.c.on_event("Newchannel", [&](const ami::event&) { ++newchannels; });
    auto s2 = f.c.on_event("Hangup", [&](const ami::event&) { ++hangups; });
    f.srv.push_event({{"Event", "Newchannel"}, {"Privilege", "call,all"}});
    f.srv.push_event({{"Event", "Hangup"}, {"Privilege", "call,all"}});
    REQUIRE(f.until([&] { return hangups == 1; }));
    CHECK(newchannels == 0);
  }

  TEST_CASE("logoff ends the run with success") {
    run_fixture f;
    f.start();
    REQUIRE(f.logged_in(1));
    done_flag lo;
    f.c.async_logoff(lo.handler());
    REQUIRE(f.wait(lo));
    CHECK_FALSE(*lo.ec);
    REQUIRE(f.wait(f.run));
    CHECK_FALSE(*f.run.ec);
    CHECK(f.c.state() == connection_state::disconnected);
    CHECK(f.srv.wait_for_sessions(0, 5s));
    CHECK(f.srv.login_count() == 1);
    CHECK(f.count(connection_state::backing_off) == 0);
  }

  TEST_CASE("close() ends the run with operation_aborted, logged in or backing off") {
    for (const bool logged : {true, false}) {
      CAPTURE(logged);
      run_fixture f;
      if (!logged) f.srv.stop();
      f.start();
      if (logged) {
        REQUIRE(f.logged_in(1));
      } else {
        REQUIRE(f.until([&] { return f.count(connection_state::backing_off) >= 1; }));
      }
      result<ami::response> pending;
      f.c.async_send(ami::action("Ping"), pending.handler());
      f.c.close();
      REQUIRE(f.wait(f.run));
      CHECK(*f.run.ec == boost::asio::error::operation_aborted);
      REQUIRE(f.wait(pending));
      CHECK(*pending.ec == boost::asio::error::operation_aborted);
      CHECK(f.c.state() == connection_state::disconnected);
    }
  }

  TEST_CASE("cancelling the run's handler ends the run; the session stays usable") {
    run_fixture f;
    boost::asio::cancellation_signal sig;
    f.c.async_run(f.cfg, boost::asio::bind_cancellation_slot(sig.slot(), f.run.handler()));
    REQUIRE(f.logged_in(1));
    sig.emit(boost::asio::cancellation_type::terminal);
    REQUIRE(f.wait(f.run));
    CHECK(*f.run.ec == boost::asio::error::operation_aborted);
    CHECK(f.c.state() == connection_state::logged_in);
    CHECK_FALSE(*f.send(ami::action("Ping")).ec);
  }

  TEST_CASE("async_connect and async_run exclude each other") {
    run_fixture f;
    f.start();
    done_flag conn, second;
    f.c.async_connect(f.cfg, conn.handler());
    f.c.async_run(f.cfg, second.handler());
    REQUIRE(f.wait(conn));
    REQUIRE(f.wait(second));
    CHECK(*conn.ec == boost::asio::error::in_progress);
    CHECK(*second.ec == boost::asio::error::in_progress);
    REQUIRE(f.logged_in(1));
    CHECK_FALSE(f.run.done());
  }

  TEST_CASE("login failure: stop ends the run, retry keeps trying until the account works") {
    {
      run_fixture f;
      f.cfg.secret = "wrong";
      f.start();
      REQUIRE(f.wait(f.run));
      CHECK(*f.run.ec == ami::error::login_failed);
      CHECK(f.c.last_error_message() == "Authentication failed");
      CHECK(f.count(connection_state::backing_off) == 0);
    }
    {
      run_fixture f;
      f.cfg.username = "late";
      f.cfg.secret = "s3cret";
      f.cfg.login_failure = ami::login_failure_policy::retry;
      f.start();
      REQUIRE(f.until([&] { return f.count(connection_state::backing_off) >= 2; }));
      CHECK(f.of(connection_state::backing_off)[0].reason == ami::error::login_failed);
      f.srv.add_user({"late", "s3cret"});
      REQUIRE(f.logged_in(1));
      CHECK_FALSE(f.run.done());
    }
  }

  TEST_CASE("a TLS file that cannot be loaded ends the run at once") {
    run_fixture f;
    f.cfg.tls = true;
    f.cfg.tls_ca_file = "/nonexistent/ca.pem";
    f.start();
    REQUIRE(f.wait(f.run));
    CHECK(*f.run.ec);
    CHECK(f.count(connection_state::backing_off) == 0);
    CHECK(f.c.state() == connection_state::disconnected);
  }

  TEST_CASE("destroying the client ends the run with operation_aborted") {
    run_fixture f;
    auto c = std::make_unique<ami::client>(f.io);
    done_flag run;
    c->async_run(f.cfg, run.handler());
    REQUIRE(f.until([&] { return f.srv.login_count() >= 1; }));
    c.reset();
    REQUIRE(f.wait(run));
    CHECK(*run.ec == boost::asio::error::operation_aborted);
  }

  TEST_CASE("200 reconnect cycles with actions in flight: every operation completes") {
    run_fixture f;
    f.cfg.reconnect_initial = 1ms;
    f.cfg.reconnect_max = 2ms;
    f.start();
    constexpr std::size_t cycles = 200;
    std::vector<std::unique_ptr<result<ami::response>>> plain, marked;
    for (std::size_t i = 1; i <= cycles; ++i) {
      REQUIRE(f.logged_in(i));
      for (int k = 0; k < 2; ++k) {
        plain.push_back(std::make_unique<result<ami::response>>());
        f.c.async_send(ami::action("Ping"), plain.back()->handler());
        marked.push_back(std::make_unique<result<ami::response>>());
        f.c.async_send(ami::action("Ping"), retry(), marked.back()->handler());
      }
      // Every other cycle lets the first answer arrive: both outcomes happen.
      if (i % 2 == 0) REQUIRE(f.until([&] { return plain[plain.size() - 2]->done(); }));
      f.srv.close_sessions();
    }
    const auto all_done = [&] {
      for (const auto* v : {&plain, &marked}) {
        for (const auto& r : *v) {
          if (!r->done()) return false;
        }
      }
      return true;
    };
    REQUIRE(f.until(all_done, 30s));
    REQUIRE(f.logged_in(cycles + 1));  // and back after the last drop
    std::size_t lost = 0;
    for (const auto& r : plain) {
      CHECK((!*r->ec || *r->ec == ami::error::connection_lost));
      if (*r->ec) ++lost;
    }
    for (const auto& r : marked) CHECK_FALSE(*r->ec);
    CHECK(lost >= plain.size() / 2);  // at least the second of each cycle was in flight
    CHECK(lost < plain.size());
    CHECK(f.count(connection_state::backing_off) >= cycles);
    CHECK_FALSE(f.run.done());
    f.c.close();
    REQUIRE(f.wait(f.run));
  }
}
