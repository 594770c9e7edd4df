// The simulated PBX's knobs for soak runs: close_after_events ends each session once it was
// sent n events, after writing every one of them, and finished_sessions() reports how many
// events each ended session was sent and who ended it. Every wait has a deadline.
#include "ami/testing/server.hpp"
#include "client_support.hpp"
#include "raw_client.hpp"

#include <doctest/doctest.h>

#include <boost/signals2/connection.hpp>

#include <cstdint>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using ami::test::raw_client;
using ami::testing::server;
using ami::testing::session_record;

namespace {

// Events that fill the socket buffers quickly, so that the limit is reached while the
// server still has bytes queued.
ami::testing::field_list big_event(int i) {
  return {{"Event", "UserEvent"},
          {"Privilege", "user,all"},
          {"UserEvent", "Soak"},
          {"Seq", std::to_string(i)},
          {"Padding", std::string(2000, 'x')}};
}

std::size_t count_events(raw_client& c) {
  std::size_t n = 0;
  for (const auto& m : c.inbox()) {
    if (m.is_event()) ++n;
  }
  return n;
}

// A raw client that is logged in (the login's answer is consumed; its events stay in the
// inbox).
void open_and_login(raw_client& c, const server& s) {
  REQUIRE(c.connect(s.port()));
  ami::message banner;
  REQUIRE(c.next(banner));
  REQUIRE(c.login().head() == "Success");
}

const session_record* find_record(const std::vector<session_record>& all, std::uint64_t id) {
  for (const auto& r : all) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

}  // namespace

TEST_SUITE("testing server soak knobs") {
  TEST_CASE("close_after_events: each session gets exactly n events, then EOF, repeatedly") {
    server s;
    s.start();
    s.record_sessions(true);
    constexpr std::uint64_t n = 300;  // 2 KB each: far more than the socket buffers hold
    s.close_after_events(n);
    for (int round = 1; round <= 3; ++round) {
      CAPTURE(round);
      raw_client c;
      open_and_login(c, s);
      // Queued while the client reads nothing; the login's FullyBooted and SuccessfulAuth
      // count too, so some of these are past the limit and must not be sent.
      for (int i = 0; i < 400; ++i) s.push_event(big_event(i));
      CHECK(c.wait_eof(10s));
      CHECK(c.eof());
      CHECK(count_events(c) == n);
      // The stream ends on a message boundary: nothing half-written.
      CHECK(c.raw().size() >= 4);
      CHECK(c.raw().compare(c.raw().size() - 4, 4, "\r\n\r\n") == 0);
      // The server sent FIN and waits for the client to close its side, as a client does
      // at EOF.
      CHECK(s.session_count() == 1);
      boost::system::error_code ignored;
      c.socket().close(ignored);
      REQUIRE(s.wait_for_finished_sessions(static_cast<std::size_t>(round), 5s));
      const auto records = s.finished_sessions();
      REQUIRE(records.size() == static_cast<std::size_t>(round));
      const auto& r = records.back();
      CHECK(r.id == static_cast<std::uint64_t>(round));
      CHECK(r.events == n);
      CHECK(r.logged_in);
      CHECK(r.flushed);
      CHECK_FALSE(r.by_client);
    }
  }

  TEST_CASE("close_after_events: a session already past the limit ends at once; 0 is off") {
    server s;
    s.start();
    s.record_sessions(true);
    raw_client c;
    open_and_login(c, s);
    for (int i = 0; i < 5; ++i) s.push_event(big_event(i));
    // FullyBooted + SuccessfulAuth + 5: past a limit of 4, so the session ends now with all
    // seven sent.
    s.close_after_events(4);
    CHECK(c.wait_eof(10s));
    CHECK(count_events(c) == 7);
    boost::system::error_code ignored;
    c.socket().close(ignored);
    REQUIRE(s.wait_for_finished_sessions(1, 5s));
    CHECK(s.finished_sessions().front().events == 7);

    s.close_after_events(0);
    raw_client d;
    open_and_login(d, s);
    for (int i = 0; i < 10; ++i) s.push_event(big_event(i));
    CHECK(d.read_until([&] { return count_events(d) == 12; }, 10s));
    CHECK_FALSE(d.eof());
    CHECK(s.session_count() == 1);
  }

  TEST_CASE("finished_sessions: a client-side close is reported with its count") {
    server s;
    s.start();
    s.record_sessions(true);
    raw_client c;
    open_and_login(c, s);
    for (int i = 0; i < 3; ++i) s.push_event(big_event(i));
    REQUIRE(c.read_until([&] { return count_events(c) == 5; }, 10s));
    boost::system::error_code ignored;
    c.socket().close(ignored);
    REQUIRE(s.wait_for_finished_sessions(1, 5s));
    const auto r = s.finished_sessions().front();
    CHECK(r.id == 1);
    CHECK(r.events == 5);
    CHECK(r.logged_in);
    CHECK(r.flushed);
    CHECK(r.by_client);

    // A connection that never logged in, ended by the server.
    raw_client d;
    REQUIRE(d.connect(s.port()));
    ami::message banner;
    REQUIRE(d.next(banner));
    s.close_sessions();
    REQUIRE(s.wait_for_finished_sessions(2, 5s));
    const auto all = s.finished_sessions();
    const auto* rd = find_record(all, 2);
    REQUIRE(rd != nullptr);
    CHECK(rd->events == 0);
    CHECK_FALSE(rd->logged_in);
    CHECK_FALSE(rd->by_client);

    s.clear_finished_sessions();
    CHECK(s.finished_sessions().empty());

    // Off: nothing is kept.
    s.record_sessions(false);
    raw_client e;
    open_and_login(e, s);
    e.socket().close(ignored);
    REQUIRE(s.wait_for_sessions(0, 5s));
    CHECK(s.finished_sessions().empty());
  }

  TEST_CASE("close_after_events with the load generator: ami::client counts match, per session") {
    ami::test::client_fixture f;
    constexpr std::uint64_t n = 200;
    constexpr std::size_t sessions = 3;
    f.srv.record_sessions(true);
    f.srv.close_after_events(n);
    f.cfg.reconnect_initial = 1ms;
    f.cfg.reconnect_max = 10ms;
    f.cfg.keepalive_interval = 0ms;

    std::uint64_t count = 0;
    bool in_session = false;
    std::vector<std::uint64_t> counts;  // one per ended session, in order
    boost::signals2::scoped_connection events = f.c.on_event([&](const ami::event&) { ++count; });
    boost::signals2::scoped_connection states =
        f.c.on_transition([&](const ami::state_transition& t) {
          if (t.state == ami::connection_state::logged_in) {
            count = 0;
            in_session = true;
          } else if (t.state == ami::connection_state::disconnected && in_session) {
            in_session = false;
            counts.push_back(count);
            if (counts.size() == sessions) f.c.close();
          }
        });
    ami::test::done_flag run;
    f.c.async_run(f.cfg, run.handler());
    f.srv.start_load(5000);
    REQUIRE(f.wait(run, 20s));
    f.srv.stop_load();
    CHECK(*run.ec == boost::asio::error::operation_aborted);
    REQUIRE(counts.size() == sessions);
    REQUIRE(f.srv.wait_for_finished_sessions(sessions, 5s));
    const auto records = f.srv.finished_sessions();
    std::size_t compared = 0;
    for (const auto& r : records) {
      if (!r.logged_in || compared == sessions) continue;
      CAPTURE(r.id);
      CHECK(r.events == n);
      CHECK(r.flushed);
      CHECK(counts[compared] == r.events);
      ++compared;
    }
    CHECK(compared == sessions);
  }
}
