// A slow event handler kept off the read path. Each event goes to a "store" that takes a
// while per event (a database, a web hook); it runs on a thread pool behind an
// ami::event_dispatcher, so the client keeps reading (Asterisk drops clients that stop
// reading) and answering actions. When the store falls behind, the dispatcher's bounded
// queue drops the oldest events, says so once per burst, and counts everything.
#pragma once

#include <ami/client.hpp>
#include <ami/event_dispatcher.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/signals2/connection.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <ostream>
#include <string>

namespace ami_examples {

struct slow_consumer_options {
  int count = 1000;                    // stop once this many events arrived...
  std::chrono::seconds wait{60};       // ...or after this long
  std::chrono::milliseconds work{20};  // what the store spends on each event
  std::size_t capacity = 100;          // events the dispatcher keeps waiting at most
  std::string pattern = "*";           // the events to store: a name or a glob
};

// Stands for slow I/O: waits `work` (on a condition nobody signals) and keeps a count.
class slow_store {
 public:
  explicit slow_store(std::chrono::milliseconds work) : work_(work) {}
  void save(const ami::event& /* a real store writes its fields somewhere */) {
    std::unique_lock<std::mutex> lock(m_);
    cv_.wait_for(lock, work_, [] { return false; });
    ++saved_;
  }
  int saved() const { return saved_.load(); }

 private:
  std::chrono::milliseconds work_;
  std::mutex m_;
  std::condition_variable cv_;
  std::atomic<int> saved_{0};
};

// Returns 0 once `count` events arrived (stored or, when the store fell behind, dropped and
// counted), 1 otherwise.
inline int run_slow_consumer(const std::string& url, const slow_consumer_options& o,
                             std::ostream& out) {
  boost::system::error_code url_ec;
  ami::config cfg = ami::config::from_url(url, url_ec);
  if (url_ec) {
    out << "bad URL: " << url_ec.message() << '\n';
    return 1;
  }
  // The client's own slots below are quick; one that blocked for 50 ms would be reported
  // here (without the hook: a warning on stderr).
  cfg.slow_slot_threshold = std::chrono::milliseconds(50);
  cfg.on_slow_slot = [&out](std::string_view name, std::chrono::microseconds took) {
    out << "slow slot: " << name << " took " << took.count() / 1000 << " ms\n";
  };

  boost::asio::io_context io;  // the client: this thread
  ami::client client{io};
  boost::asio::thread_pool pool{1};  // the store: its own thread
  slow_store store{o.work};

  // The dispatcher: its slot on the client copies each event into a queue of `capacity`
  // and returns at once; the handler runs on the pool, one event at a time, in order.
  ami::dispatcher_options opts;
  opts.capacity = o.capacity;
  opts.policy = ami::overflow_policy::drop_oldest;
  opts.on_overflow = [&out](const ami::event& e, const ami::dispatcher_stats& s) {
    // Once per burst, on the client's thread (like a slot: quick).
    out << "the store is " << s.queued << " events behind: dropping the oldest (at " << e.name()
        << ")\n";
  };
  ami::event_dispatcher to_store{client, pool.get_executor(), opts};
  to_store.on_event(o.pattern, [&store](const ami::event& e) { store.save(e); });

  // Meanwhile the client stays responsive: once enough events arrived (or time is up),
  // a Ping is answered at once even though the store is far behind; then log off.
  int seen = 0;
  bool finishing = false;
  boost::asio::steady_timer limit{io, o.wait};
  const auto finish = [&] {
    if (finishing) return;
    finishing = true;
    limit.cancel();
    const auto sent = std::chrono::steady_clock::now();
    client.async_send(ami::action("Ping"), [&, sent](boost::system::error_code ec, ami::response) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - sent)
                          .count();
      if (ec) {
        out << "Ping failed: " << ec.message() << '\n';
      } else {
        out << "Ping answered in " << ms << " ms with " << to_store.stats().queued
            << " events waiting for the store\n";
      }
      client.async_logoff([](boost::system::error_code) {});
    });
  };
  boost::signals2::scoped_connection counter = client.on_event(o.pattern, [&](const ami::event&) {
    if (++seen == o.count) finish();
  });

  client.async_connect(cfg, [&](boost::system::error_code ec) {
    if (ec) {
      out << "cannot log in to " << cfg.redacted() << ": " << ec.message() << ' '
          << client.last_error_message() << '\n';
      limit.cancel();
      return;
    }
    out << "logged in; storing events matching " << o.pattern << ", " << o.work.count()
        << " ms each\n";
    limit.async_wait([&](boost::system::error_code wait_ec) {
      if (!wait_ec) finish();
    });
  });

  io.run();     // returns after the logoff
  pool.join();  // the store finishes what is still queued
  const auto s = to_store.stats();
  out << "events: " << s.received << " received, " << store.saved() << " stored, " << s.dropped
      << " dropped in " << s.overflows << " burst(s); queue high water " << s.high_water << " of "
      << s.capacity << '\n';
  return seen >= o.count ? 0 : 1;
}

}  // namespace ami_examples
