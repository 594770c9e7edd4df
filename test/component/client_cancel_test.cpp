// Timeouts and cancellation: the operation ends, the connection stays, the late answer is
// dropped.
#include "client_support.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>

#include <memory>
#include <mutex>

using namespace std::chrono_literals;
using ami::test::client_fixture;
using ami::test::result;

namespace {

// "Slow" actions are held by the server until release() answers them; after release()
// (the server records an action before its handler runs) they are answered at once.
struct slow_server {
  struct held {
    std::shared_ptr<ami::testing::session> s;
    ami::message action;
  };
  struct state {
    std::mutex mutex;
    std::vector<held> actions;
    bool released = false;
  };
  std::shared_ptr<state> st = std::make_shared<state>();

  static void answer(held& h) {
    if (h.action.get_or("List") == "yes") {
      h.s->respond(h.action, {{"Response", "Success"}, {"EventList", "start"}});
      h.s->respond(h.action, {{"Event", "Row"}});
      h.s->respond(h.action,
                   {{"Event", "RowsComplete"}, {"EventList", "Complete"}, {"ListItems", "1"}});
    } else {
      h.s->respond(h.action, {{"Response", "Success"}, {"Late", "yes"}});
    }
  }

  explicit slow_server(ami::testing::server& srv) {
    srv.on_action("Slow", [st = st](ami::testing::session& s, const ami::message& act) {
      std::lock_guard<std::mutex> lock(st->mutex);
      held h{s.shared(), act};
      if (st->released) {
        answer(h);
      } else {
        st->actions.push_back(std::move(h));
      }
      return true;
    });
  }

  void release() {
    std::lock_guard<std::mutex> lock(st->mutex);
    for (auto& h : st->actions) answer(h);
    st->actions.clear();
    st->released = true;
  }
};

// After the late answers, a Ping round trip proves they were read (the server answers in
// order), and the connection still works.
void ping_ok(client_fixture& f) {
  auto r = f.send(ami::action("Ping"));
  REQUIRE_FALSE(*r.ec);
  CHECK(r.value.get("Ping") == "Pong");
}

}  // namespace

TEST_SUITE("client") {
  TEST_CASE(
      "an action's timeout: action_timeout, the connection stays, the late answer is dropped") {
    client_fixture f;
    slow_server slow(f.srv);
    f.connect_ok();
    ami::send_options o;
    o.timeout = 100ms;
    const auto t0 = std::chrono::steady_clock::now();
    auto r = f.send(ami::action("Slow"), o);
    CHECK(*r.ec == ami::error::action_timeout);
    CHECK(std::chrono::steady_clock::now() - t0 >= 100ms);
    CHECK(f.c.state() == ami::connection_state::logged_in);
    slow.release();
    ping_ok(f);
    CHECK(f.c.stats().late == 1);
    CHECK(f.c.stats().unmatched == 0);
  }

  TEST_CASE("the config's default action timeout applies") {
    client_fixture f;
    slow_server slow(f.srv);
    f.cfg.action_timeout = 100ms;
    f.connect_ok();
    CHECK(*f.send(ami::action("Slow")).ec == ami::error::action_timeout);
    slow.release();
  }

  TEST_CASE("cancellation of each type completes with operation_aborted; the connection stays") {
    for (const auto type :
         {boost::asio::cancellation_type::terminal, boost::asio::cancellation_type::partial,
          boost::asio::cancellation_type::total}) {
      CAPTURE(static_cast<int>(type));
      for (const bool list : {false, true}) {
        CAPTURE(list);
        client_fixture f;
        slow_server slow(f.srv);
        f.connect_ok();
        boost::asio::cancellation_signal sig;
        result<ami::response> r;
        ami::action a("Slow");
        if (list) a.add("List", "yes");
        f.c.async_send(a, boost::asio::bind_cancellation_slot(sig.slot(), r.handler()));
        REQUIRE(f.server_got("Slow"));
        ami::test::run_ready(f.io);
        CHECK_FALSE(r.done());
        sig.emit(type);
        REQUIRE(f.wait(r));
        CHECK(*r.ec == boost::asio::error::operation_aborted);
        slow.release();
        ping_ok(f);
        CHECK(f.c.stats().late == (list ? 3U : 1U));  // response, item, complete
        sig.emit(type);                               // after completion: nothing happens
        ami::test::run_ready(f.io);
        CHECK(f.c.state() == ami::connection_state::logged_in);
      }
    }
  }

  TEST_CASE("cancelling one operation leaves the others alone") {
    client_fixture f;
    slow_server slow(f.srv);
    f.connect_ok();
    boost::asio::cancellation_signal sig;
    result<ami::response> cancelled, other;
    f.c.async_send(ami::action("Slow"),
                   boost::asio::bind_cancellation_slot(sig.slot(), cancelled.handler()));
    f.c.async_send(ami::action("Slow"), other.handler());
    REQUIRE(f.server_got("Slow", 2));
    sig.emit(boost::asio::cancellation_type::terminal);
    REQUIRE(f.wait(cancelled));
    CHECK(*cancelled.ec == boost::asio::error::operation_aborted);
    CHECK_FALSE(other.done());
    slow.release();
    REQUIRE(f.wait(other));
    CHECK_FALSE(*other.ec);
    CHECK(other.value.get("Late") == "yes");
  }

  TEST_CASE("cancel() aborts every pending operation and keeps the connection") {
    client_fixture f;
    slow_server slow(f.srv);
    f.connect_ok();
    std::vector<result<ami::response>> rs(5);
    for (auto& r : rs) f.c.async_send(ami::action("Slow"), r.handler());
    REQUIRE(f.server_got("Slow", 5));
    f.c.cancel();
    REQUIRE(ami::test::run_until(f.io, [&] {
      return std::all_of(rs.begin(), rs.end(), [](const auto& r) { return r.done(); });
    }));
    for (const auto& r : rs) CHECK(*r.ec == boost::asio::error::operation_aborted);
    slow.release();
    ping_ok(f);
    CHECK(f.c.stats().late == 5);
  }

  TEST_CASE("cancelling a connect abandons the attempt") {
    client_fixture f;
    f.srv.stall(true);  // no banner
    boost::asio::cancellation_signal sig;
    ami::test::done_flag d;
    f.c.async_connect(f.cfg, boost::asio::bind_cancellation_slot(sig.slot(), d.handler()));
    REQUIRE(ami::test::run_until(f.io, [&] { return f.srv.wait_for_sessions(1, 0ms); }));
    sig.emit(boost::asio::cancellation_type::terminal);
    REQUIRE(f.wait(d));
    CHECK(*d.ec == boost::asio::error::operation_aborted);
    CHECK(f.c.state() == ami::connection_state::disconnected);
    CHECK(f.srv.wait_for_sessions(0, 5s));
  }

  TEST_CASE("close() aborts everything and disconnects") {
    client_fixture f;
    slow_server slow(f.srv);
    f.connect_ok();
    result<ami::response> r;
    f.c.async_send(ami::action("Slow"), r.handler());
    REQUIRE(f.server_got("Slow"));
    f.c.close();
    REQUIRE(f.wait(r));
    CHECK(*r.ec == boost::asio::error::operation_aborted);
    CHECK(f.c.state() == ami::connection_state::disconnected);
    CHECK(f.srv.wait_for_sessions(0, 5s));
    slow.release();
  }

}  // TEST_SUITE
