// ami::event_dispatcher against the simulated PBX: a blocked handler does not stall the
// reader, each overflow policy with exact counts and the expected events in order, the
// overflow hook, exceptions, typed and by-value handlers, and destruction while events flow.
// Handlers block on gates the test opens; every wait has a deadline.
#include "client_support.hpp"

#include "ami/event_dispatcher.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using ami::test::client_fixture;
using ami::test::run_until;

namespace {

// Holds a handler until the test opens it (or 20 s pass, which fails the test).
class gate {
 public:
  void pass() {
    std::unique_lock<std::mutex> lock(m_);
    ++entered_;
    cv_.notify_all();
    if (!cv_.wait_for(lock, 20s, [&] { return open_; })) timed_out_ = true;
  }
  void open() {
    {
      std::lock_guard<std::mutex> lock(m_);
      open_ = true;
    }
    cv_.notify_all();
  }
  int entered() const {
    std::lock_guard<std::mutex> lock(m_);
    return entered_;
  }
  bool timed_out() const {
    std::lock_guard<std::mutex> lock(m_);
    return timed_out_;
  }

 private:
  mutable std::mutex m_;
  std::condition_variable cv_;
  int entered_ = 0;
  bool open_ = false;
  bool timed_out_ = false;
};

// Opens the gate when the test ends, even on a failed REQUIRE, so no handler stays blocked.
struct open_on_exit {
  gate& g;
  ~open_on_exit() { g.open(); }
};

// The Seq numbers a handler saw, shared with the test thread.
class recorder {
 public:
  void add(int seq) {
    {
      std::lock_guard<std::mutex> lock(m_);
      seqs_.push_back(seq);
    }
    cv_.notify_all();
  }
  std::vector<int> seqs() const {
    std::lock_guard<std::mutex> lock(m_);
    return seqs_;
  }
  std::size_t size() const {
    std::lock_guard<std::mutex> lock(m_);
    return seqs_.size();
  }
  bool wait_for_size(std::size_t n, std::chrono::milliseconds deadline = 10s) {
    std::unique_lock<std::mutex> lock(m_);
    return cv_.wait_for(lock, deadline, [&] { return seqs_.size() >= n; });
  }

 private:
  mutable std::mutex m_;
  std::condition_variable cv_;
  std::vector<int> seqs_;
};

// Events first..last, "Event: <name>" with "Seq: <n>", as one block of bytes.
std::string burst(int first, int last, const std::string& name = "TestBurst") {
  std::string out;
  for (int n = first; n <= last; ++n) {
    out += "Event: " + name + "\r\nPrivilege: call,all\r\nSeq: " + std::to_string(n) + "\r\n\r\n";
  }
  return out;
}

int seq_of(const ami::event& e) { return std::stoi(std::string(e.get_or("Seq", "-1"))); }

struct typed_one {
  static constexpr std::string_view event_name = "TypedOne";
  std::string_view seq;
  static typed_one from(const ami::event& e) { return {e.get_or("Seq")}; }
};
static_assert(ami::is_typed_event_v<typed_one>);

std::vector<int> with_range(std::vector<int> v, int first, int last) {
  for (int n = first; n <= last; ++n) v.push_back(n);
  return v;
}

void check_balance(const ami::dispatcher_stats& s) {
  CHECK(s.received == s.delivered + s.dropped + s.discarded + s.queued);
  CHECK(s.high_water <= s.capacity);
}

// Spends about `d` in a slot: a wait on a condition nobody signals. It generates a duration,
// it does not synchronise anything.
void spend(std::chrono::microseconds d) {
  std::mutex m;
  std::condition_variable cv;
  std::unique_lock<std::mutex> lock(m);
  cv.wait_for(lock, d, [] { return false; });
}

// One blocked-handler scenario: event 0 blocks the handler, then 10,000 events arrive and a
// Ping is answered behind them.
struct flood_result {
  ami::dispatcher_stats at_pong;
  std::vector<int> handled;
  int overflow_calls = 0;
  int overflow_seq = -1;
  std::uint64_t overflow_dropped = 0;
};

flood_result flood(ami::overflow_policy policy) {
  client_fixture f;
  f.connect_ok();
  gate g;
  recorder rec;
  flood_result out;
  boost::asio::thread_pool pool(1);
  ami::dispatcher_options opts;
  opts.capacity = 100;
  opts.policy = policy;
  opts.on_overflow = [&](const ami::event& e, const ami::dispatcher_stats& s) {
    ++out.overflow_calls;  // on the client's executor: this thread
    out.overflow_seq = seq_of(e);
    out.overflow_dropped = s.dropped;
  };
  ami::event_dispatcher d{f.c, pool.get_executor(), opts};
  open_on_exit guard{g};
  d.on_event("TestBurst", [&](const ami::event& e) {
    rec.add(seq_of(e));
    if (seq_of(e) == 0) g.pass();
  });

  f.srv.push_raw(burst(0, 0));
  REQUIRE(run_until(f.io, [&] { return g.entered() == 1; }));
  f.srv.push_raw(burst(1, 10000));
  const auto pong = f.send(ami::action("Ping"));  // answered behind the 10,000 events
  CHECK_FALSE(*pong.ec);
  CHECK(rec.size() == 1);  // the handler is still blocked on event 0
  out.at_pong = d.stats();

  g.open();
  const std::size_t expected = 1 + opts.capacity;
  CHECK(rec.wait_for_size(expected));
  CHECK_FALSE(g.timed_out());
  // Nothing else arrives: the Ping proved every event was read.
  CHECK(run_until(f.io, [&] { return d.stats().queued == 0; }));
  out.handled = rec.seqs();
  check_balance(d.stats());
  return out;
}

// What both dropping policies report: the queue full at the Pong, everything past it dropped
// in one overflow, reported once; they differ only in which events survive.
void check_flood_counts(const flood_result& r) {
  CHECK(r.at_pong.received == 10001);
  CHECK(r.at_pong.delivered == 1);
  CHECK(r.at_pong.queued == 100);
  CHECK(r.at_pong.high_water == 100);
  CHECK(r.at_pong.dropped == 9900);
  CHECK(r.at_pong.overflows == 1);
  CHECK(r.overflow_calls == 1);
  CHECK(r.overflow_seq == 101);  // the first event that did not fit
}

}  // namespace

TEST_SUITE("event_dispatcher") {
  TEST_CASE("a blocked handler does not stall the reader; drop_newest keeps the first events") {
    const auto r = flood(ami::overflow_policy::drop_newest);
    check_flood_counts(r);
    check_balance(r.at_pong);
    CHECK(r.overflow_dropped == 1);
    CHECK(r.handled == with_range({0}, 1, 100));
  }

  TEST_CASE("drop_oldest keeps the latest events") {
    const auto r = flood(ami::overflow_policy::drop_oldest);
    check_flood_counts(r);
    CHECK(r.handled == with_range({0}, 9901, 10000));
  }

  TEST_CASE("close_connection closes the client's connection with error::slow_consumer") {
    client_fixture f;
    f.connect_ok();
    gate g;
    recorder rec;
    boost::asio::thread_pool pool(1);
    ami::dispatcher_options opts;
    opts.capacity = 100;  // the default policy is close_connection
    REQUIRE(opts.policy == ami::overflow_policy::close_connection);
    int overflow_calls = 0;
    opts.on_overflow = [&](const ami::event&, const ami::dispatcher_stats&) { ++overflow_calls; };
    ami::event_dispatcher d{f.c, pool.get_executor(), opts};
    open_on_exit guard{g};
    d.on_event("TestBurst", [&](const ami::event& e) {
      rec.add(seq_of(e));
      if (seq_of(e) == 0) g.pass();
    });
    std::vector<boost::system::error_code> downs;
    auto st = f.c.on_state([&](ami::connection_state s, const boost::system::error_code& ec) {
      if (s == ami::connection_state::disconnected) downs.push_back(ec);
    });

    f.srv.push_raw(burst(0, 0));
    REQUIRE(run_until(f.io, [&] { return g.entered() == 1; }));
    f.srv.push_raw(burst(1, 10000));
    ami::test::result<ami::response> ping;
    f.c.async_send(ami::action("Ping"), ping.handler());
    REQUIRE(run_until(f.io, [&] { return !downs.empty() && ping.done(); }));
    CHECK(downs.size() == 1);
    CHECK(downs[0] == ami::error::slow_consumer);
    CHECK(f.c.last_error_message().find("queue overflowed") != std::string::npos);
    // Pending when the connection closed: it failed, it did not hang.
    CHECK(*ping.ec == ami::error::connection_lost);
    CHECK(f.c.state() == ami::connection_state::disconnected);
    CHECK(overflow_calls == 1);
    // Event 101 did not fit: the client read nothing more from that connection.
    auto s = d.stats();
    CHECK(s.received == 102);
    CHECK(s.dropped == 1);
    CHECK(s.queued == 100);
    CHECK(s.delivered == 1);
    CHECK(s.overflows == 1);

    // The queued events are still delivered, in order.
    g.open();
    CHECK(rec.wait_for_size(101));
    CHECK(rec.seqs() == with_range({0}, 1, 100));

    // Connected again, the same dispatcher goes on (the queue drained: the burst is over).
    f.connect_ok();
    f.srv.push_raw(burst(20000, 20002));
    REQUIRE(run_until(f.io, [&] { return rec.size() == 104; }));
    CHECK(rec.seqs().back() == 20002);
    s = d.stats();
    CHECK(s.dropped == 1);
    CHECK(s.overflows == 1);
    check_balance(s);
  }

  TEST_CASE("close_connection under async_run: the client reconnects by itself") {
    client_fixture f;
    f.cfg.reconnect_initial = 10ms;
    f.cfg.reconnect_max = 20ms;
    gate g;
    recorder rec;
    boost::asio::thread_pool pool(1);
    ami::dispatcher_options opts;
    opts.capacity = 10;
    ami::event_dispatcher d{f.c, pool.get_executor(), opts};
    open_on_exit guard{g};
    d.on_event("TestBurst", [&](const ami::event& e) {
      rec.add(seq_of(e));
      if (seq_of(e) == 0) g.pass();
    });
    std::vector<std::pair<ami::connection_state, boost::system::error_code>> states;
    auto st = f.c.on_state([&](ami::connection_state s, const boost::system::error_code& ec) {
      states.emplace_back(s, ec);
    });
    ami::test::done_flag run;
    f.c.async_run(f.cfg, run.handler());
    REQUIRE(run_until(f.io, [&] { return f.c.state() == ami::connection_state::logged_in; }));

    f.srv.push_raw(burst(0, 0));
    REQUIRE(run_until(f.io, [&] { return g.entered() == 1; }));
    f.srv.push_raw(burst(1, 100));  // 1..10 fit, 11 does not
    REQUIRE(run_until(f.io, [&] {
      return f.srv.login_count() == 2 && f.c.state() == ami::connection_state::logged_in;
    }));
    CHECK_FALSE(run.done());  // the run goes on
    const auto lost = std::find_if(states.begin(), states.end(), [](const auto& x) {
      return x.first == ami::connection_state::disconnected;
    });
    REQUIRE(lost != states.end());
    CHECK(lost->second == ami::error::slow_consumer);
    CHECK(f.c.last_error_message().find("queue overflowed") != std::string::npos);
    auto s = d.stats();
    CHECK(s.received == 12);
    CHECK(s.dropped == 1);

    g.open();
    CHECK(rec.wait_for_size(11));
    f.srv.push_raw(burst(500, 502));
    REQUIRE(run_until(f.io, [&] { return rec.size() == 14; }));
    CHECK(rec.seqs() == with_range(with_range({0}, 1, 10), 500, 502));
    f.c.async_logoff([](boost::system::error_code) {});
    REQUIRE(f.wait(run));
    CHECK_FALSE(*run.ec);
  }

  TEST_CASE("handler exceptions are reported and delivery goes on") {
    client_fixture f;
    f.connect_ok();
    boost::asio::thread_pool pool(2);
    std::mutex m;
    std::vector<std::string> caught;
    ami::dispatcher_options opts;
    opts.on_exception = [&](std::exception_ptr ep, const ami::event& e) {
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& x) {
        std::lock_guard<std::mutex> lock(m);
        caught.push_back(std::string(x.what()) + "@" + std::to_string(seq_of(e)));
      }
    };
    recorder rec;
    ami::event_dispatcher d{f.c, pool.get_executor(), opts};
    d.on_event("TestBurst", [&](const ami::event& e) {
      rec.add(seq_of(e));
      if (seq_of(e) % 2 == 1) throw std::runtime_error("odd");
    });
    f.srv.push_raw(burst(1, 6));
    REQUIRE(run_until(f.io, [&] { return rec.size() == 6; }));
    // The last handler call may still be in its exception hook.
    REQUIRE(run_until(f.io, [&] { return d.stats().handler_exceptions == 3; }));
    CHECK(rec.seqs() == with_range({}, 1, 6));
    std::lock_guard<std::mutex> lock(m);
    CHECK(caught == std::vector<std::string>{"odd@1", "odd@3", "odd@5"});
  }

  TEST_CASE("typed, by-value and glob handlers share one queue in wire order") {
    client_fixture f;
    f.connect_ok();
    // The handlers run on another io_context, through a strand, on their own thread.
    boost::asio::io_context worker;
    auto work = boost::asio::make_work_guard(worker);
    std::thread worker_thread([&] { worker.run(); });
    struct join_on_exit {
      decltype(work)& w;
      std::thread& t;
      ~join_on_exit() {
        w.reset();
        if (t.joinable()) t.join();
      }
    } joiner{work, worker_thread};
    std::mutex m;
    std::vector<std::string> seen;
    std::vector<ami::event> kept;
    std::atomic<int> calls{0};
    std::atomic<bool> inside{false};
    bool overlapped = false;
    auto note = [&](const std::string& s) {
      if (inside.exchange(true)) overlapped = true;  // handlers never overlap
      {
        std::lock_guard<std::mutex> lock(m);
        seen.push_back(s);
      }
      inside = false;
      ++calls;
    };
    {
      ami::event_dispatcher d{f.c, boost::asio::make_strand(worker), {}};
      auto c1 = d.on<typed_one>([&](const typed_one& t) { note("typed" + std::string(t.seq)); });
      auto c2 = d.on_event("Glob*", [&](ami::event e) {  // takes the owned copy by value
        note("glob" + std::string(e.get_or("Seq")));
        std::lock_guard<std::mutex> lock(m);
        kept.push_back(std::move(e));
      });
      auto c3 =
          d.on_event("Plain", [&](ami::event&& e) { note("plain" + std::to_string(seq_of(e))); });
      CHECK(c1.connected());
      f.srv.push_raw(burst(1, 1, "TypedOne") + burst(2, 2, "GlobA") + burst(3, 3, "Plain") +
                     burst(4, 4, "GlobB") + burst(5, 5, "Other") + burst(6, 6, "TypedOne"));
      REQUIRE(run_until(f.io, [&] { return calls == 5; }));
      const auto s = d.stats();
      CHECK(s.received == 5);
      CHECK(s.delivered == 5);
      d.stop();
    }
    CHECK_FALSE(overlapped);
    std::lock_guard<std::mutex> lock(m);
    CHECK(seen == std::vector<std::string>{"typed1", "glob2", "plain3", "glob4", "typed6"});
    // Events taken by value are owned: still readable after the dispatcher and the reads.
    REQUIRE(kept.size() == 2);
    CHECK(kept[0].name() == "GlobA");
    CHECK(kept[1].get_or("Seq") == "4");
  }

  TEST_CASE("stop() from inside the handler, and subscriptions after stop") {
    client_fixture f;
    f.connect_ok();
    boost::asio::thread_pool pool(1);
    recorder rec;
    std::optional<ami::event_dispatcher> d;
    d.emplace(f.c, pool.get_executor(), ami::dispatcher_options{});
    d->on_event("TestBurst", [&](const ami::event& e) {
      if (seq_of(e) == 3) d->stop();  // does not wait for itself
      rec.add(seq_of(e));
    });
    f.srv.push_raw(burst(1, 3));
    REQUIRE(run_until(f.io, [&] { return rec.size() == 3; }));
    f.srv.push_raw(burst(4, 6));
    CHECK_FALSE(*f.send(ami::action("Ping")).ec);  // events 4..6 were read meanwhile
    pool.join();
    CHECK(rec.seqs() == with_range({}, 1, 3));
    const auto s = d->stats();
    CHECK(s.received == 3);
    CHECK(s.delivered == 3);
    check_balance(s);
    CHECK_FALSE(d->on_event([](const ami::event&) {}).connected());
    d->stop();  // idempotent
  }

  TEST_CASE("destroying the dispatcher while events flow and its handler runs") {
    client_fixture f;
    f.connect_ok();
    // From here the client runs on its own thread, the handlers on two more.
    auto work = boost::asio::make_work_guard(f.io);
    std::thread io_thread([&] { f.io.run(); });
    struct stop_on_exit {
      client_fixture& fx;
      decltype(work)& w;
      std::thread& t;
      ~stop_on_exit() {
        w.reset();
        fx.io.stop();
        if (t.joinable()) t.join();
      }
    } stopper{f, work, io_thread};
    boost::asio::thread_pool pool(2);

    for (int round = 0; round < 10; ++round) {
      CAPTURE(round);
      auto sink = std::make_unique<std::vector<int>>();  // used by the handler, freed after
      auto calls = std::make_shared<std::atomic<int>>(0);
      recorder started;
      ami::dispatcher_options opts;
      opts.capacity = 64;
      opts.policy = ami::overflow_policy::drop_oldest;
      std::optional<ami::event_dispatcher> d;
      d.emplace(f.c, pool.get_executor(), opts);
      d->on_event("TestBurst", [v = sink.get(), calls, &started](const ami::event& e) {
        v->push_back(seq_of(e));
        if (calls->fetch_add(1) < 8) started.add(seq_of(e));
        spend(100us);  // slow enough that events queue up
      });
      f.srv.push_raw(burst(1, 2000));
      REQUIRE(started.wait_for_size(8));
      d->stop();  // waits for the handler call in progress
      const auto s = d->stats();
      CHECK(s.received == s.delivered + s.dropped + s.discarded);
      CHECK(s.high_water <= 64);
      const int after_stop = calls->load();
      CHECK(after_stop == static_cast<int>(s.delivered));
      d.reset();
      sink.reset();  // a handler still running would touch freed memory (ASan)
      // The client goes on reading; nothing more reaches the handler.
      auto pong = f.c.async_send(ami::action("Ping"), boost::asio::use_future);
      REQUIRE(pong.wait_for(10s) == std::future_status::ready);
      CHECK_NOTHROW(pong.get());
      CHECK(calls->load() == after_stop);
    }
  }

  TEST_CASE("the client may go first: queued events are still delivered") {
    ami::testing::server srv;
    srv.start();
    auto cfg = ami::config::from_url(srv.url());
    boost::asio::io_context io;
    boost::asio::thread_pool pool(1);
    gate g;
    recorder rec;
    std::optional<ami::client> c;
    c.emplace(io);
    ami::test::done_flag connected;
    c->async_connect(cfg, connected.handler());
    REQUIRE(run_until(io, [&] { return connected.done(); }));
    REQUIRE_FALSE(*connected.ec);
    ami::event_dispatcher d{*c, pool.get_executor(), {}};
    open_on_exit guard{g};
    d.on_event("TestBurst", [&](const ami::event& e) {
      if (seq_of(e) == 1) g.pass();
      rec.add(seq_of(e));
    });
    srv.push_raw(burst(1, 5));
    REQUIRE(run_until(io, [&] { return d.stats().received == 5; }));
    c.reset();  // disconnects the dispatcher's slots
    CHECK_FALSE(d.on_event([](const ami::event&) {}).connected());
    g.open();
    CHECK(rec.wait_for_size(5));
    CHECK(rec.seqs() == with_range({}, 1, 5));
    ami::test::run_ready(io);
  }

  TEST_CASE("a capacity of 0 is refused") {
    boost::asio::io_context io;
    ami::client c{io};
    ami::dispatcher_options opts;
    opts.capacity = 0;
    CHECK_THROWS_AS(ami::event_dispatcher(c, io.get_executor(), opts), std::invalid_argument);
  }
}

TEST_SUITE("client") {
  TEST_CASE("slow slots: reported with the event's name above the threshold, not below") {
    for (const auto threshold : {10ms, 40ms}) {  // the precise clock, then the coarse one
      CAPTURE(threshold.count());
      client_fixture f;
      f.cfg.slow_slot_threshold = threshold;
      std::vector<std::pair<std::string, std::chrono::microseconds>> slow;
      f.cfg.on_slow_slot = [&](std::string_view name, std::chrono::microseconds took) {
        slow.emplace_back(std::string(name), took);
      };
      f.connect_ok();
      const auto spent = threshold * 3;
      auto a = f.c.on_event("SlowOne", [&](const ami::event&) { spend(spent); });
      auto b = f.c.on_event("FastOne", [](const ami::event&) {});
      bool marker = false;
      auto m = f.c.on_event("Marker", [&](const ami::event&) { marker = true; });
      f.srv.push_raw(burst(1, 3, "FastOne") + burst(4, 4, "SlowOne") + burst(5, 5, "FastOne") +
                     burst(6, 6, "Marker"));
      REQUIRE(run_until(f.io, [&] { return marker; }));
      REQUIRE(slow.size() == 1);
      CHECK(slow[0].first == "SlowOne");
      CHECK(slow[0].second >= threshold);
      CHECK(slow[0].second >= spent - 5ms);  // coarse: within a tick (at most 4 ms)
      CHECK(f.c.stats().slow_slots == 1);
    }
  }

  TEST_CASE("slow slots: list item slots are timed too") {
    client_fixture f;
    f.srv.on_action("ItemList", [](ami::testing::session& s, const ami::message& a) {
      s.respond(a, {{"Response", "Success"}, {"EventList", "start"}, {"Message", "follows"}});
      s.respond(a, {{"Event", "QuickItem"}});
      s.respond(a, {{"Event", "SlowItem"}});
      s.respond(a, {{"Event", "ItemListComplete"}, {"EventList", "Complete"}, {"ListItems", "2"}});
      return true;
    });
    f.cfg.slow_slot_threshold = 20ms;
    std::vector<std::string> slow;
    f.cfg.on_slow_slot = [&](std::string_view name, std::chrono::microseconds) {
      slow.emplace_back(name);
    };
    f.connect_ok();
    auto items = f.c.on_list_item([](const ami::event& e) {
      if (e.name() == "SlowItem") spend(60ms);
    });
    const auto r = f.send(ami::action("ItemList"));
    CHECK_FALSE(*r.ec);
    CHECK(slow == std::vector<std::string>{"SlowItem"});
    CHECK(f.c.stats().slow_slots == 1);
  }

  TEST_CASE("slow slots: a warning by default, nothing when the threshold is 0") {
    client_fixture f;
    f.cfg.slow_slot_threshold = 20ms;
    std::vector<std::string> warnings;
    f.cfg.on_warning = [&](std::string_view w) { warnings.emplace_back(w); };
    f.connect_ok();
    auto a = f.c.on_event("SlowOne", [&](const ami::event&) { spend(60ms); });
    f.srv.push_raw(burst(1, 1, "SlowOne"));
    REQUIRE(run_until(f.io, [&] { return !warnings.empty(); }));
    CHECK(warnings.size() == 1);
    CHECK(warnings[0].find("SlowOne") != std::string::npos);
    CHECK(warnings[0].find("slow_slot_threshold 20 ms") != std::string::npos);
    CHECK(f.c.stats().slow_slots == 1);

    // A new connection takes the new configuration: 0 turns the measurement off.
    f.c.close();
    REQUIRE(run_until(f.io, [&] { return f.c.state() == ami::connection_state::disconnected; }));
    f.cfg.slow_slot_threshold = 0ms;
    f.connect_ok();
    bool marker = false;
    auto m = f.c.on_event("Marker", [&](const ami::event&) { marker = true; });
    f.srv.push_raw(burst(2, 2, "SlowOne") + burst(3, 3, "Marker"));
    REQUIRE(run_until(f.io, [&] { return marker; }));
    CHECK(warnings.size() == 1);
    CHECK(f.c.stats().slow_slots == 1);
  }
}
