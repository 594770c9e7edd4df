// Disconnects at every step and the client's lifetime: every pending operation completes,
// nothing hangs, nothing is used after it is gone.
#include "client_support.hpp"

#include <memory>
#include <set>

using namespace std::chrono_literals;
using ami::connection_state;
using ami::test::client_fixture;
using ami::test::done_flag;
using ami::test::result;

namespace {

bool all_done(const std::vector<result<ami::response>>& rs) {
  return std::all_of(rs.begin(), rs.end(), [](const auto& r) { return r.done(); });
}

}  // namespace

TEST_SUITE("client") {
  TEST_CASE("the server closing after n bytes, for n across the whole login and a list") {
    // Bytes the server writes: banner 29, login response + FullyBooted, SuccessfulAuth, then
    // the answers. Cutting anywhere must complete everything.
    std::set<std::string> seen;
    for (std::size_t n : {1U, 10U, 28U, 29U, 30U, 60U, 100U, 150U, 200U, 250U, 400U, 500U, 700U,
                          900U, 1200U, 2000U}) {
      CAPTURE(n);
      client_fixture f;
      f.srv.on_action("Rows", [](ami::testing::session& s, const ami::message& a) {
        s.respond(a, {{"Response", "Success"}, {"EventList", "start"}});
        for (int i = 0; i < 20; ++i) s.respond(a, {{"Event", "Row"}, {"N", std::to_string(i)}});
        s.respond(a, {{"Event", "RowsComplete"}, {"EventList", "Complete"}, {"ListItems", "20"}});
        return true;
      });
      f.srv.close_after_bytes(n);
      done_flag d;
      std::vector<result<ami::response>> rs(4);
      f.c.async_connect(f.cfg, d.handler());
      f.c.async_send(ami::action("Ping"), rs[0].handler());
      f.c.async_send(ami::action("Rows"), rs[1].handler());
      f.c.async_send(ami::action("Ping"), rs[2].handler());
      f.c.async_send(ami::action("Rows"), rs[3].handler());
      REQUIRE(ami::test::run_until(f.io, [&] { return d.done() && all_done(rs); }));
      REQUIRE(ami::test::run_until(f.io,
                                   [&] { return f.c.state() == connection_state::disconnected; }));
      seen.insert(d.ec->message());
      if (*d.ec) {
        CHECK(*d.ec == ami::error::connection_lost);
        for (const auto& r : rs) CHECK(*r.ec == ami::error::connection_lost);
      } else {
        // Answers complete in order; the first one the cut reached and all after it are lost.
        bool lost = false;
        for (const auto& r : rs) {
          if (*r.ec) lost = true;
          CHECK(*r.ec == (lost ? make_error_code(ami::error::connection_lost)
                               : boost::system::error_code{}));
        }
      }
    }
    CHECK(seen.size() == 2);  // both outcomes were exercised
  }

  TEST_CASE("the server closing with many actions pending fails them all at once") {
    client_fixture f;
    f.connect_ok();
    f.srv.stall(true);
    std::vector<result<ami::response>> rs(50);
    for (auto& r : rs) f.c.async_send(ami::action("Ping"), r.handler());
    REQUIRE(f.server_got("Ping", 50));
    std::optional<boost::system::error_code> reason;
    auto sub = f.c.on_state([&](connection_state s, const boost::system::error_code& ec) {
      if (s == connection_state::disconnected) reason = ec;
    });
    f.srv.close_sessions();
    REQUIRE(ami::test::run_until(f.io, [&] { return all_done(rs); }));
    for (const auto& r : rs) CHECK(*r.ec == ami::error::connection_lost);
    REQUIRE(reason);
    CHECK(*reason == ami::error::connection_lost);
    f.srv.stall(false);
    f.connect_ok();  // reconnects on demand
    CHECK_FALSE(*f.send(ami::action("Ping")).ec);
  }

  TEST_CASE("destroying the client completes pending operations with operation_aborted") {
    client_fixture f;
    auto c = std::make_unique<ami::client>(f.io);
    done_flag d;
    c->async_connect(f.cfg, d.handler());
    REQUIRE(f.wait(d));
    f.srv.stall(true);
    std::vector<result<ami::response>> rs(10);
    for (auto& r : rs) c->async_send(ami::action("Ping"), r.handler());
    REQUIRE(f.server_got("Ping", 10));
    c.reset();
    REQUIRE(ami::test::run_until(f.io, [&] { return all_done(rs); }));
    for (const auto& r : rs) CHECK(*r.ec == boost::asio::error::operation_aborted);
    CHECK(f.srv.wait_for_sessions(0, 5s));
  }

  TEST_CASE("the client destroyed from inside an event slot") {
    client_fixture f;
    f.srv.on_action("Never", [](ami::testing::session&, const ami::message&) { return true; });
    auto c = std::make_unique<ami::client>(f.io);
    done_flag d;
    c->async_connect(f.cfg, d.handler());
    REQUIRE(f.wait(d));
    int after = 0;
    auto s1 = c->on_event("Hangup", [&](const ami::event&) { c.reset(); });
    auto s2 = c->on_event("Hangup", [&](const ami::event&) { ++after; });
    result<ami::response> pending;
    c->async_send(ami::action("Never"), pending.handler());
    REQUIRE(f.server_got("Never"));
    f.srv.push_event({{"Event", "Hangup"}, {"Privilege", "call,all"}});
    f.srv.push_event({{"Event", "Hangup"}, {"Privilege", "call,all"}});
    REQUIRE(ami::test::run_until(f.io, [&] { return !c && pending.done(); }));
    CHECK(*pending.ec == boost::asio::error::operation_aborted);
    CHECK(after == 0);  // the other slot was disconnected before it could run
    CHECK(f.srv.wait_for_sessions(0, 5s));
  }

  TEST_CASE("the client destroyed from inside a completion handler and a state slot") {
    client_fixture f;
    {
      auto c = std::make_unique<ami::client>(f.io);
      bool destroyed = false;
      c->async_connect(f.cfg, [&](boost::system::error_code ec) {
        CHECK_FALSE(ec);
        c->async_send(ami::action("Ping"), [&](boost::system::error_code, ami::response) {
          c.reset();
          destroyed = true;
        });
      });
      REQUIRE(ami::test::run_until(f.io, [&] { return destroyed; }));
    }
    {
      auto c = std::make_unique<ami::client>(f.io);
      auto sub = c->on_state([&](connection_state s, const boost::system::error_code&) {
        if (s == connection_state::logged_in) c.reset();
      });
      bool completed = false;
      boost::system::error_code result_ec;
      c->async_connect(f.cfg, [&](boost::system::error_code ec) {
        completed = true;
        result_ec = ec;
      });
      REQUIRE(ami::test::run_until(f.io, [&] { return completed; }));
      CHECK_FALSE(result_ec);  // it had succeeded before the slot destroyed the client
      CHECK_FALSE(c);
    }
    CHECK(f.srv.wait_for_sessions(0, 5s));
  }

  TEST_CASE("a protocol error (over-long line) is counted and the reader goes on") {
    client_fixture f;
    f.cfg.parser_limits.max_line = 256;
    f.connect_ok();
    bool marker = false;
    auto sub = f.c.on_event("Marker", [&](const ami::event&) { marker = true; });
    f.srv.push_event(
        {{"Event", "Big"}, {"Privilege", "call,all"}, {"Data", std::string(1000, 'x')}});
    f.srv.push_event({{"Event", "Marker"}, {"Privilege", "call,all"}});
    REQUIRE(ami::test::run_until(f.io, [&] { return marker; }));
    CHECK(f.c.stats().parse_errors == 1);
    CHECK(f.c.stats().last_parse_error == ami::error::line_too_long);
    CHECK_FALSE(*f.send(ami::action("Ping")).ec);
  }

}  // TEST_SUITE
