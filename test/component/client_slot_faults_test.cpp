// Slots that misbehave: one that disconnects itself or a neighbour while an event is being
// delivered, one that closes the client in the middle of a burst, one that re-enters the
// client, one that blocks for longer than Asterisk's write timeout. The reader survives each,
// nothing is delivered twice or out of order, and the client stays usable.
#include "client_support.hpp"

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using ami::test::client_fixture;
using ami::test::done_flag;
using ami::test::result;
using ami::testing::field_list;

namespace {

field_list numbered(const std::string& name, int n) {
  return {{"Event", name}, {"Privilege", "call,all"}, {"N", std::to_string(n)}};
}

int number(const ami::event& e) { return std::stoi(std::string(e.get_or("N", "-1"))); }

// Pushes `count` numbered events, then a marker, and runs until the marker arrived.
void push_burst(client_fixture& f, const std::string& name, int count) {
  bool marker = false;
  auto sub = f.c.on_event("BurstEnd", [&](const ami::event&) { marker = true; });
  for (int i = 0; i < count; ++i) f.srv.push_event(numbered(name, i));
  f.srv.push_event({{"Event", "BurstEnd"}, {"Privilege", "system,all"}});
  REQUIRE(ami::test::run_until(f.io, [&] { return marker; }));
}

}  // namespace

TEST_SUITE("client") {
  TEST_CASE("a slot that disconnects itself gets one event; the others go on") {
    client_fixture f;
    f.connect_ok();
    int once = 0, steady = 0, victim = 0;
    boost::signals2::connection self;
    boost::signals2::connection later;
    self = f.c.on_event("Tick", [&](const ami::event&) {
      ++once;
      self.disconnect();
    });
    auto keep = f.c.on_event("Tick", [&](const ami::event&) { ++steady; });
    // A slot that disconnects a slot connected after it: that one never runs.
    auto killer = f.c.on_event("Tick", [&](const ami::event&) { later.disconnect(); });
    later = f.c.on_event("Tick", [&](const ami::event&) { ++victim; });
    push_burst(f, "Tick", 50);
    CHECK(once == 1);
    CHECK(steady == 50);
    CHECK(victim == 0);
    CHECK_FALSE(self.connected());
    CHECK_FALSE(later.connected());
    CHECK(f.c.stats().slot_exceptions == 0);
  }

  TEST_CASE("a slot that closes the client mid-burst: nothing after it, everything completes") {
    client_fixture f;
    f.connect_ok();
    // An action the server never answers, pending when the slot closes the client.
    f.srv.on_action("Hold", [](ami::testing::session&, const ami::message&) { return true; });
    result<ami::response> held;
    f.c.async_send(ami::action("Hold"), held.handler());
    REQUIRE(f.server_got("Hold"));
    std::vector<int> seen;
    auto sub = f.c.on_event("Tick", [&](const ami::event& e) {
      seen.push_back(number(e));
      if (number(e) == 10) f.c.close();
    });
    for (int i = 0; i < 100; ++i) f.srv.push_event(numbered("Tick", i));
    REQUIRE(ami::test::run_until(f.io, [&] { return held.done(); }));
    CHECK(*held.ec == boost::asio::error::operation_aborted);
    REQUIRE(ami::test::run_until(
        f.io, [&] { return f.c.state() == ami::connection_state::disconnected; }));
    REQUIRE(seen.size() == 11);
    for (int i = 0; i <= 10; ++i) CHECK(seen[static_cast<std::size_t>(i)] == i);
    // The same client connects again and works.
    f.connect_ok();
    CHECK_FALSE(*f.send(ami::action("Ping")).ec);
  }

  TEST_CASE("a slot that sends an action and subscribes from inside the delivery") {
    client_fixture f;
    f.connect_ok();
    std::vector<result<ami::response>> answers(5);
    int sent = 0, extra = 0;
    std::vector<boost::signals2::scoped_connection> added;
    auto sub = f.c.on_event("Tick", [&](const ami::event&) {
      if (sent < 5)
        f.c.async_send(ami::action("Ping"), answers[static_cast<std::size_t>(sent++)].handler());
      added.emplace_back(f.c.on_event("Tick", [&](const ami::event&) { ++extra; }));
    });
    push_burst(f, "Tick", 5);
    REQUIRE(ami::test::run_until(f.io, [&] {
      return std::all_of(answers.begin(), answers.end(), [](const auto& r) { return r.done(); });
    }));
    for (const auto& r : answers) CHECK_FALSE(*r.ec);
    // A slot connected during the delivery of event k sees the events after k.
    CHECK(extra == 0 + 1 + 2 + 3 + 4);
  }

  TEST_CASE("a slot that blocks longer than Asterisk's write timeout loses nothing") {
    client_fixture f;
    std::vector<std::string> slow;
    f.cfg.on_slow_slot = [&](std::string_view name, std::chrono::microseconds took) {
      CHECK(took >= 100ms);
      slow.emplace_back(name);
    };
    f.connect_ok();
    std::mutex m;
    std::condition_variable never;
    std::vector<int> seen;
    auto sub = f.c.on_event("Tick", [&](const ami::event& e) {
      seen.push_back(number(e));
      if (number(e) % 100 == 0) {
        // Holds the reader for 150 ms (nobody notifies: this is a duration, not a wait
        // for anything); the server keeps writing meanwhile.
        std::unique_lock<std::mutex> lock(m);
        never.wait_for(lock, 150ms, [] { return false; });
      }
    });
    push_burst(f, "Tick", 500);
    REQUIRE(seen.size() == 500);
    for (int i = 0; i < 500; ++i) CHECK(seen[static_cast<std::size_t>(i)] == i);
    CHECK_FALSE(*f.send(ami::action("Ping")).ec);
    CHECK(f.c.stats().parse_errors == 0);
    // Each blocking delivery was reported as slow, and only those.
    CHECK(slow == std::vector<std::string>(5, "Tick"));
    CHECK(f.c.stats().slow_slots == 5);
  }
}
