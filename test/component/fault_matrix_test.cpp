// The fault matrix: a supervised client (async_run) with a plain action, a list action and an
// async Originate in flight meets every fault a PBX or a network can produce: the server
// closing at every byte offset of the session, stalling, sending garbage or an oversized
// message, half-closing, refusing connections for a while and coming back as another AMI
// version, and a thousand drops in a row. In every case each operation completes (an answer
// or a clear error), nothing hangs, and the client is logged in and working afterwards.
#include "client_support.hpp"

#include <boost/asio/error.hpp>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <set>
#include <string>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

using namespace std::chrono_literals;
using ami::connection_state;
using ami::test::done_flag;
using ami::test::result;
using ami::test::run_until;

namespace {

// A started server whose list action and Originate answer at once, so that a session's
// bytes are the same every time (banner, login, then the three answers), and whose Hold is
// never answered.
struct scripted_server : ami::testing::server {
  explicit scripted_server(ami::testing::server_options opts = {})
      : ami::testing::server(std::move(opts)) {
    start();
    script(*this);
  }
  static void script(ami::testing::server& srv);
};

void scripted_server::script(ami::testing::server& srv) {
  srv.on_action("Rows", [](ami::testing::session& s, const ami::message& a) {
    s.respond(a, {{"Response", "Success"}, {"EventList", "start"}, {"Message", "will follow"}});
    for (int i = 0; i < 3; ++i) s.respond(a, {{"Event", "Row"}, {"N", std::to_string(i)}});
    s.respond(a, {{"Event", "RowsComplete"}, {"EventList", "Complete"}, {"ListItems", "3"}});
    return true;
  });
  srv.on_action("Originate", [](ami::testing::session& s, const ami::message& a) {
    s.respond(a, {{"Response", "Success"}, {"Message", "Originate successfully queued"}});
    s.respond(a, {{"Event", "OriginateResponse"},
                  {"Privilege", "call,all"},
                  {"Response", "Success"},
                  {"Channel", "Local/100@default-00000001;1"},
                  {"Reason", "4"},
                  {"Uniqueid", "1700000000.1"}});
    return true;
  });
  srv.on_action("Hold", [](ami::testing::session&, const ami::message&) { return true; });
}

// One supervised client and the three operations of the scenario.
struct supervised {
  explicit supervised(const ami::testing::server& srv) : cfg(ami::config::from_url(srv.url())) {
    cfg.connect_timeout = 5s;
    cfg.login_timeout = 5s;
    cfg.action_timeout = 5s;
    cfg.reconnect_initial = 1ms;
    cfg.reconnect_max = 4ms;
    cfg.keepalive_interval = 0ms;
    sub = c.on_transition([this](const ami::state_transition& t) {
      transitions.push_back(t);
      // Every loss (of a session or of an attempt) is followed by a backoff.
      if (t.state == connection_state::backing_off && on_loss) on_loss(t);
    });
  }

  void start() { c.async_run(cfg, run.handler()); }

  // Sends the scenario's three operations (they wait for the session if need be).
  void send_all(ami::send_options opts = {}) {
    c.async_send(ami::action("Ping"), opts, ping.handler());
    c.async_send(ami::action("Rows"), opts, rows.handler());
    ami::originate_request req;
    req.channel = "Local/100@default";
    req.application = "Echo";
    c.async_originate(req, call.handler());
  }

  bool all_done() const { return ping.done() && rows.done() && call.done(); }

  bool wait_all() {
    return run_until(io, [&] { return all_done(); });
  }

  bool wait_logged_in() {
    return run_until(io, [&] { return c.state() == connection_state::logged_in; });
  }

  std::size_t losses() const {
    return static_cast<std::size_t>(
        std::count_if(transitions.begin(), transitions.end(),
                      [](const auto& t) { return t.state == connection_state::backing_off; }));
  }

  // The client is logged in again and answers.
  void check_working() {
    REQUIRE(wait_logged_in());
    result<ami::response> pong;
    c.async_send(ami::action("Ping"), pong.handler());
    REQUIRE(run_until(io, [&] { return pong.done(); }));
    CHECK_FALSE(*pong.ec);
    CHECK_FALSE(run.done());
  }

  // close() ends the run with operation_aborted.
  void finish() {
    c.close();
    REQUIRE(run_until(io, [&] { return run.done(); }));
    CHECK(*run.ec == boost::asio::error::operation_aborted);
  }

  boost::asio::io_context io;
  ami::config cfg;
  ami::client c{io};
  done_flag run;
  result<ami::response> ping, rows;
  result<ami::originate_result> call;
  std::vector<ami::state_transition> transitions;
  std::function<void(const ami::state_transition&)> on_loss;
  boost::signals2::scoped_connection sub;
};

bool lost_or_ok(const boost::system::error_code& ec) {
  return !ec || ec == ami::error::connection_lost;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif
#else
constexpr bool sanitized = false;
#endif

// Byte offsets are tried one by one up to this bound at most (the session is shorter).
constexpr std::size_t max_offset = 4000;

}  // namespace

TEST_SUITE("fault matrix") {
  TEST_CASE("the server closes at every byte offset of login, action, list and originate") {
    scripted_server srv;
    std::size_t cases = 0, cut_no_loss = 0, cut_with_loss = 0, lost_ops = 0;
    std::size_t offset = 1;
    for (; offset <= max_offset; ++offset) {
      CAPTURE(offset);
      srv.close_after_bytes(offset);
      supervised s(srv);
      // The first loss lifts the fault, so that the reconnect gets a whole session.
      s.on_loss = [&](const ami::state_transition&) { srv.close_after_bytes(0); };
      s.start();
      s.send_all();
      REQUIRE(s.wait_all());
      CHECK(lost_or_ok(*s.ping.ec));
      CHECK(lost_or_ok(*s.rows.ec));
      CHECK(lost_or_ok(*s.call.ec));
      if (!*s.rows.ec) CHECK(s.rows.value.events().size() == 3);
      if (!*s.call.ec) CHECK(s.call.value.outcome == ami::originate_outcome::answered);
      lost_ops += (*s.ping.ec ? 1U : 0U) + (*s.rows.ec ? 1U : 0U) + (*s.call.ec ? 1U : 0U);
      const bool cut = s.losses() > 0;
      if (cut) {
        const bool any_lost = *s.ping.ec || *s.rows.ec || *s.call.ec;
        (any_lost ? cut_with_loss : cut_no_loss) += 1;
        s.check_working();
      } else {
        srv.close_after_bytes(0);
      }
      s.finish();
      ++cases;
      if (!cut) break;  // the whole session fits in `offset` bytes: every offset was tried
    }
    REQUIRE(offset <= max_offset);
    MESSAGE("fault matrix: ", cases, " byte offsets, ", cut_no_loss,
            " cuts that cost no operation (before they were written, or after), ", cut_with_loss,
            " that did; ", lost_ops, " operations completed with connection_lost");
    CHECK(cases > 300);
    CHECK(cut_no_loss > 0);
    CHECK(cut_with_loss > 0);
  }

  TEST_CASE("a stalled server: keepalive notices within two intervals, then a reconnect") {
    scripted_server srv;
    supervised s(srv);
    s.cfg.keepalive_interval = 100ms;
    s.on_loss = [&](const ami::state_transition& t) {
      CHECK(t.reason == ami::error::keepalive_timeout);
      srv.stall(false);
    };
    s.start();
    REQUIRE(s.wait_logged_in());
    srv.stall(true);
    ami::send_options retry;
    retry.retry = true;
    result<ami::response> safe;
    s.c.async_send(ami::action("Ping"), retry, safe.handler());
    s.send_all();
    REQUIRE(s.wait_all());
    REQUIRE(run_until(s.io, [&] { return safe.done(); }));
    CHECK(*s.ping.ec == ami::error::connection_lost);
    CHECK(*s.rows.ec == ami::error::connection_lost);
    CHECK(*s.call.ec == ami::error::connection_lost);
    CHECK_FALSE(*safe.ec);  // written again after the new login
    CHECK(s.losses() == 1);
    s.check_working();
    s.finish();
  }

  TEST_CASE("garbage and oversized messages: dropped, counted, the session goes on") {
    scripted_server srv;
    supervised s(srv);
    s.cfg.parser_limits.max_message = 64 * 1024;
    s.start();
    REQUIRE(s.wait_logged_in());
    const std::vector<std::string> faults = {
        std::string(100 * 1024, 'x') + "\r\n\r\n",                       // an endless line
        "Event: Big\r\n" + std::string(2000, 'A') + ": 1\r\n" + "\r\n",  // a long key
        "Event: Huge\r\n" +
            [] {  // a huge message
              std::string lines;
              for (int i = 0; i < 5000; ++i) lines += "Key" + std::to_string(i) + ": value\r\n";
              return lines;
            }() +
            "\r\n",
        std::string("\x00\x01\xff\xfe\r\n: no key\r\n\r\n", 16),  // binary noise
        "Response: Success\r\nActionID: nobody-asked\r\n\r\n",    // unmatched
    };
    for (const auto& f : faults) srv.push_raw(f);
    s.send_all();
    REQUIRE(s.wait_all());
    CHECK_FALSE(*s.ping.ec);
    CHECK_FALSE(*s.rows.ec);
    CHECK_FALSE(*s.call.ec);
    CHECK(s.losses() == 0);
    const auto st = s.c.stats();
    CHECK(st.parse_errors >= 2);
    CHECK(st.unmatched >= 1);
    s.check_working();
    s.finish();
  }

  TEST_CASE("a half-closed connection is a lost one: pending operations fail, then reconnect") {
    scripted_server srv;
    supervised s(srv);
    s.start();
    REQUIRE(s.wait_logged_in());
    result<ami::response> held;
    s.c.async_send(ami::action("Hold"), held.handler());
    REQUIRE(run_until(s.io, [&] { return srv.wait_for_action("Hold", 0ms); }));
    srv.half_close_sessions();
    REQUIRE(run_until(s.io, [&] { return held.done(); }));
    CHECK(*held.ec == ami::error::connection_lost);
    CHECK(s.losses() == 1);
    s.check_working();
    s.finish();
  }

  TEST_CASE("refused for a while (backoff grows), then back as another AMI version") {
    std::optional<scripted_server> srv;
    srv.emplace();
    const auto port = srv->port();
    supervised s(*srv);
    s.cfg.reconnect_initial = 5ms;
    s.cfg.reconnect_max = 40ms;
    s.start();
    REQUIRE(s.wait_logged_in());
    CHECK(s.c.ami_version() == ami::proto::version{13, 0, 0});
    srv.reset();  // the PBX goes away: every attempt is refused
    REQUIRE(run_until(s.io, [&] { return s.losses() > 0; }));
    s.send_all();  // between attempts: the operations wait for the next session
    std::vector<std::chrono::milliseconds> bounds;
    REQUIRE(run_until(s.io, [&] {
      bounds.clear();
      for (const auto& t : s.transitions) {
        if (t.state == connection_state::backing_off) bounds.push_back(t.max_delay);
      }
      return bounds.size() >= 6;
    }));
    CHECK(std::is_sorted(bounds.begin(), bounds.end()));
    CHECK(bounds.front() == 5ms);
    CHECK(bounds.back() == 40ms);
    for (const auto& t : s.transitions) {
      if (t.state == connection_state::backing_off) CHECK(t.delay <= t.max_delay);
    }
    // The operations wait for the session meanwhile.
    CHECK_FALSE(s.ping.done());
    ami::testing::server_options opts;
    opts.port = port;
    opts.ami_version = "2.10.4";
    srv.emplace(opts);
    REQUIRE(s.wait_all());
    CHECK_FALSE(*s.ping.ec);
    CHECK_FALSE(*s.rows.ec);
    CHECK_FALSE(*s.call.ec);
    CHECK(s.c.ami_version() == ami::proto::version{2, 10, 4});
    s.check_working();
    s.finish();
  }

  TEST_CASE("1,000 reconnect cycles with operations in flight: all complete, memory flat") {
    scripted_server srv;
    supervised s(srv);
    s.start();
    const auto heap_in_use = [] {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
      return static_cast<long long>(mallinfo2().uordblks);
#else
      return 0LL;
#endif
    };
    std::vector<long long> heap;  // sampled every 25 cycles after a warm-up of 100
    std::size_t completed = 0, lost = 0;
    constexpr int cycles = 1000;
    for (int i = 0; i < cycles; ++i) {
      CAPTURE(i);
      REQUIRE(s.wait_logged_in());
      srv.clear_received();  // the server's record would grow with every cycle
      std::vector<result<ami::response>> ops(3);
      for (auto& op : ops) s.c.async_send(ami::action("Hold"), op.handler());
      REQUIRE(run_until(s.io, [&] { return srv.wait_for_actions("Hold", 3, 0ms); }));
      srv.close_sessions();
      REQUIRE(run_until(s.io, [&] {
        return std::all_of(ops.begin(), ops.end(), [](const auto& r) { return r.done(); });
      }));
      for (const auto& op : ops) {
        ++completed;
        if (*op.ec == ami::error::connection_lost) ++lost;
      }
      s.transitions.clear();
      if (i >= 100 && i % 25 == 0) heap.push_back(heap_in_use());
    }
    s.check_working();
    CHECK(completed == 3U * cycles);
    CHECK(lost == completed);
    // Whatever a cycle allocates is released: the lowest heap in use over the last ten
    // samples is where it was over the first ten. Minimums, because a sample may catch a
    // read buffer in use or a closed connection's buffers still held by a handler about to
    // run (64 KiB or more, gone a moment later); a leak of 100 bytes per cycle would add
    // 75 KiB. Sanitizer builds replace malloc and are checked by LeakSanitizer instead.
    REQUIRE(heap.size() >= 20);
    const auto first = *std::min_element(heap.begin(), heap.begin() + 10);
    const auto last = *std::min_element(heap.end() - 10, heap.end());
    if (!sanitized && first > 0) CHECK(last - first < 16 * 1024);
    s.finish();
  }
}
