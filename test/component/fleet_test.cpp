// ami::fleet against several simulated PBXs: combined events tagged with their PBX, restarts
// and reconnects of one PBX while the others go on, actions by name, unknown names, removal
// with pending actions, PBXs added at run time. Every wait has a deadline.
#include "ami/fleet.hpp"

#include "client_support.hpp"

#include <boost/asio/use_future.hpp>
#include <boost/signals2/connection.hpp>
#include <boost/system/system_error.hpp>

#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using ami::connection_state;
using ami::test::result;

namespace {

struct state_change {
  std::string pbx;
  connection_state state;
  boost::system::error_code why;
};

struct fleet_fixture {
  explicit fleet_fixture(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      servers.push_back(std::make_unique<ami::testing::server>());
      servers.back()->start();
    }
    events_sub = f.on_event([this](std::string_view pbx, const ami::event& e) {
      if (e.name() != "UserEvent") return;
      auto& seq = seqs[std::string(pbx)];
      seq.push_back(std::stoi(std::string(e.get("Seq").value_or("-1"))));
    });
    states_sub = f.on_state(
        [this](std::string_view pbx, connection_state st, const boost::system::error_code& why) {
          changes.push_back({std::string(pbx), st, why});
        });
  }

  ami::config cfg_for(std::size_t i) const {
    auto cfg = ami::config::from_url(servers[i]->url());
    cfg.reconnect_initial = 10ms;
    cfg.reconnect_max = 100ms;
    cfg.keepalive_interval = 0ms;
    cfg.connect_timeout = 5s;
    cfg.login_timeout = 5s;
    cfg.action_timeout = 5s;
    return cfg;
  }

  static std::string name(std::size_t i) { return "pbx" + std::to_string(i); }

  void add_all() {
    for (std::size_t i = 0; i < servers.size(); ++i) f.add(name(i), cfg_for(i));
  }

  bool until(const std::function<bool()>& pred, std::chrono::milliseconds deadline = 10s) {
    return ami::test::run_until(io, pred, deadline);
  }

  bool logged_in(std::size_t n) {
    return until([&] { return f.stats().in(connection_state::logged_in) == n; });
  }

  void push(std::size_t i, int from, int count) {
    for (int s = from; s < from + count; ++s) {
      servers[i]->push_event(
          {{"Event", "UserEvent"}, {"UserEvent", "Fleet"}, {"Seq", std::to_string(s)}});
    }
  }

  std::size_t seen(const std::string& pbx) { return seqs[pbx].size(); }

  std::size_t changes_of(const std::string& pbx, connection_state st) const {
    std::size_t n = 0;
    for (const auto& c : changes) n += (c.pbx == pbx && c.state == st) ? 1U : 0U;
    return n;
  }

  boost::asio::io_context io;
  std::vector<std::unique_ptr<ami::testing::server>> servers;
  std::map<std::string, std::vector<int>> seqs;
  std::vector<state_change> changes;
  ami::fleet f{io};
  boost::signals2::scoped_connection events_sub;
  boost::signals2::scoped_connection states_sub;
};

std::vector<int> iota(int from, int count) {
  std::vector<int> v;
  for (int i = from; i < from + count; ++i) v.push_back(i);
  return v;
}

}  // namespace

TEST_SUITE("fleet") {
  TEST_CASE("events of three PBXs arrive tagged with their name, none lost, in order") {
    fleet_fixture t(3);
    t.add_all();
    REQUIRE(t.logged_in(3));
    // The PBX's own client sees the same events as the combined signal.
    std::size_t own = 0;
    boost::signals2::scoped_connection s =
        t.f.get("pbx1")->on_event("UserEvent", [&](auto&) { ++own; });
    constexpr int n = 300;
    for (std::size_t i = 0; i < 3; ++i) t.push(i, 0, n);
    REQUIRE(
        t.until([&] { return t.seen("pbx0") == n && t.seen("pbx1") == n && t.seen("pbx2") == n; }));
    for (const auto& entry : t.seqs) {
      const auto& pbx = entry.first;  // CAPTURE cannot take a structured binding (C++17)
      CAPTURE(pbx);
      CHECK(entry.second == iota(0, n));
    }
    CHECK(t.seqs.size() == 3);
    CHECK(own == n);
    CHECK(t.changes_of("pbx0", connection_state::logged_in) == 1);
    const auto st = t.f.stats();
    CHECK(st.pbxs == 3);
    CHECK(st.in(connection_state::logged_in) == 3);
    CHECK(st.totals.unmatched == 0);
    CHECK(st.totals.parse_errors == 0);
    CHECK(t.f.names() == std::vector<std::string>{"pbx0", "pbx1", "pbx2"});
  }

  TEST_CASE("a PBX restarts on the same port: it reconnects while the others keep going") {
    fleet_fixture t(3);
    t.add_all();
    REQUIRE(t.logged_in(3));
    t.servers[1]->stop();
    REQUIRE(t.until([&] { return t.changes_of("pbx1", connection_state::backing_off) >= 1; }));
    const auto down = t.f.status("pbx1");
    REQUIRE(down);
    CHECK(down->last_error == ami::error::connection_lost);
    CHECK(down->url.find("***") != std::string::npos);
    CHECK(down->url.find("amp111") == std::string::npos);
    // The others deliver while pbx1 is away.
    t.push(0, 0, 50);
    t.push(2, 0, 50);
    REQUIRE(t.until([&] { return t.seen("pbx0") == 50 && t.seen("pbx2") == 50; }));
    CHECK(t.f.stats().in(connection_state::logged_in) == 2);
    CHECK(t.changes_of("pbx0", connection_state::disconnected) == 0);

    t.servers[1]->start();  // the same port again
    REQUIRE(t.until([&] { return t.f.state("pbx1") == connection_state::logged_in; }));
    REQUIRE(t.logged_in(3));
    CHECK(t.changes_of("pbx1", connection_state::logged_in) == 2);
    CHECK(t.changes_of("pbx1", connection_state::disconnected) >= 1);
    t.push(1, 0, 20);
    REQUIRE(t.until([&] { return t.seen("pbx1") == 20; }));
    CHECK(t.seqs["pbx1"] == iota(0, 20));

    // close_sessions: every PBX drops at once and comes back.
    t.servers[0]->close_sessions();
    REQUIRE(t.until([&] { return t.changes_of("pbx0", connection_state::logged_in) == 2; }));
    REQUIRE(t.logged_in(3));
  }

  TEST_CASE("actions by name: a callback and use_future from another thread") {
    fleet_fixture t(2);
    t.add_all();
    REQUIRE(t.logged_in(2));
    result<ami::response> r;
    t.f.async_send("pbx1", ami::action("Ping"), r.handler());
    REQUIRE(t.until([&] { return r.done(); }));
    CHECK_FALSE(*r.ec);
    CHECK(r.value.get("Ping") == "Pong");
    CHECK(t.servers[1]->wait_for_action("Ping", 0ms));
    CHECK_FALSE(t.servers[0]->wait_for_action("Ping", 0ms));

    auto guard = boost::asio::make_work_guard(t.io);
    std::thread runner([&] { t.io.run(); });
    auto fut = t.f.async_send("pbx0", ami::action("Ping"), boost::asio::use_future);
    const bool ready = fut.wait_for(10s) == std::future_status::ready;
    guard.reset();
    t.io.stop();
    runner.join();
    REQUIRE(ready);
    CHECK(fut.get().get("Ping") == "Pong");
  }

  TEST_CASE("an unknown name completes with unknown_pbx through the token, never inline") {
    fleet_fixture t(1);
    t.add_all();
    result<ami::response> r;
    t.f.async_send("nope", ami::action("Ping"), r.handler());
    CHECK_FALSE(r.done());
    REQUIRE(t.until([&] { return r.done(); }));
    CHECK(*r.ec == ami::error::unknown_pbx);

    auto fut = t.f.async_send("nope", ami::action("Ping"), boost::asio::use_future);
    REQUIRE(t.until([&] { return fut.wait_for(0ms) == std::future_status::ready; }));
    try {
      fut.get();
      FAIL("no exception");
    } catch (const boost::system::system_error& e) {
      CHECK(e.code() == ami::error::unknown_pbx);
    }
    CHECK(t.f.get("nope") == nullptr);
    CHECK_FALSE(t.f.state("nope"));
    CHECK_FALSE(t.f.remove("nope"));
  }

  TEST_CASE("remove while actions are pending: pbx_removed, signals disconnected") {
    fleet_fixture t(2);
    t.servers[0]->on_action("Ping", [](ami::testing::session&, const ami::message&) {
      return true;  // never answered
    });
    t.add_all();
    REQUIRE(t.logged_in(2));
    const auto c = t.f.get("pbx0");
    REQUIRE(c);
    result<ami::response> a;
    result<ami::response> b;
    t.f.async_send("pbx0", ami::action("Ping"), a.handler());
    t.f.async_send("pbx0", ami::action("Ping"), b.handler());
    REQUIRE(t.until([&] { return t.servers[0]->wait_for_actions("Ping", 2, 0ms); }));
    CHECK(t.f.remove("pbx0"));
    CHECK_FALSE(t.f.contains("pbx0"));
    REQUIRE(t.until([&] { return a.done() && b.done(); }));
    CHECK(*a.ec == ami::error::pbx_removed);
    CHECK(*b.ec == ami::error::pbx_removed);
    REQUIRE(t.until(
        [&] { return !t.changes.empty() && t.changes.back().why == ami::error::pbx_removed; }));
    CHECK(t.changes.back().pbx == "pbx0");
    CHECK(t.changes.back().state == connection_state::disconnected);
    CHECK(c->state() == connection_state::disconnected);
    CHECK(t.f.size() == 1);
    CHECK(t.f.stats().pbxs == 1);
    // Sent afterwards: the name is gone.
    result<ami::response> late;
    t.f.async_send("pbx0", ami::action("Ping"), late.handler());
    REQUIRE(t.until([&] { return late.done(); }));
    CHECK(*late.ec == ami::error::unknown_pbx);
    // The other PBX is untouched; the removed one's events no longer reach the fleet.
    const auto before = t.changes.size();
    t.push(1, 0, 10);
    REQUIRE(t.until([&] { return t.seen("pbx1") == 10; }));
    CHECK(t.seen("pbx0") == 0);
    CHECK(t.changes.size() == before);
  }

  TEST_CASE("add at run time by URL; duplicate, empty and bad names and URLs are errors") {
    fleet_fixture t(2);
    t.f.add("first", t.cfg_for(0));
    REQUIRE(t.logged_in(1));
    t.f.add("second", t.servers[1]->url() + "?keepalive=0");
    REQUIRE(t.logged_in(2));
    t.push(1, 0, 5);
    REQUIRE(t.until([&] { return t.seen("second") == 5; }));

    boost::system::error_code ec;
    t.f.add("second", t.servers[0]->url(), ec);
    CHECK(ec == ami::error::duplicate_pbx);
    t.f.add("", t.servers[0]->url(), ec);
    CHECK(ec == ami::error::invalid_pbx_name);
    t.f.add("third", "http://nowhere", ec);
    CHECK(ec == ami::error::invalid_url);
    CHECK_THROWS_AS(t.f.add("first", t.cfg_for(1)), boost::system::system_error);
    CHECK(t.f.size() == 2);
    // The failed adds started nothing: the servers still have one session each.
    CHECK(t.servers[0]->session_count() == 1);
    CHECK(t.servers[1]->session_count() == 1);
  }

  TEST_CASE("a run that gives up (login refused, login_failure=stop) leaves the PBX disconnected") {
    fleet_fixture t(1);
    auto cfg = t.cfg_for(0);
    cfg.secret = "wrong";
    cfg.login_failure = ami::login_failure_policy::stop;
    t.f.add("bad", cfg);
    REQUIRE(t.until([&] {
      auto s = t.f.status("bad");
      return s && s->last_error == ami::error::login_failed &&
             s->state == connection_state::disconnected;
    }));
    CHECK(t.f.contains("bad"));
    CHECK(t.f.stats().in(connection_state::disconnected) == 1);
  }
}
