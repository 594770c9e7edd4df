// ami-bench-connections: many ami::client connections in one process (one io_context, one
// thread). Measures the memory each idle logged-in connection costs, then the events per
// second all of them receive together from the simulated PBX's load generator.
//
//   ami-bench-connections [--connections N] [--events-per-connection M] [--rate R]
//                         [--burst-events B] [--host H --port P] [--user U] [--secret S]
//                         [--max-seconds T]
//
// Without --port the simulated PBX (ami::testing::server) runs in a child process forked at
// start, so this process's memory is the clients' alone; a pipe lets this process start and
// stop the PBX's load generator and read how many events it generated. With --port the
// clients connect to a running server (e.g. `ami-sim --events-per-second R`); its load cannot
// be started or stopped from here, so the event phase then only checks that every connection
// received at least M events.
//
// Memory: one warm-up connection logs in first (Asio's reactor, the first strand, static
// state), then VmRSS (/proc/self/status) and the malloc heap in use (mallinfo2) are read;
// N connections are opened, logged in, each answers one Ping, and after a quiet moment both
// are read again: (after - before) / N. Events: every connection has one counting on_event
// slot; the load generator runs at R events per second (each event goes to every
// connection) until every connection has received M events; the rate is the events received
// by all connections between the first event and the moment the last connection reached M.
// Then the load stops, the PBX's calls end, and each connection must have received exactly
// the events the PBX generated since the load started. Last, a burst: the PBX stops writing,
// generates B more events (queued for every connection, tens of KiB each), then writes them
// all at once, so every connection's reads fill the whole read buffer; once all arrived,
// the memory is read again.
//
// Prints key=value lines: rlimit_nofile, baseline, idle (bytes per connection), events
// (events_per_sec, cpu use), after_events and after_burst (memory per connection, idle
// again, after that traffic).
#include "connection_memory.hpp"
#include "load_pbx.hpp"
#include "pbx_child.hpp"
#include "process_stats.hpp"

#include "ami/client.hpp"
#include "ami/testing/server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <sys/resource.h>

namespace {

using ami_bench::cpu_seconds;
using ami_bench::measure;
using ami_bench::memory;
using ami_bench::pbx_process;
using ami_bench::print_memory;
using ami_bench::send_command;
using ami_bench::status_bytes;
using steady = std::chrono::steady_clock;

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: ami-bench-connections [--connections N] [--events-per-connection M]\n"
               "                             [--rate EVENTS_PER_SECOND] [--burst-events B]\n"
               "                             [--host H --port P]\n"
               "                             [--user U] [--secret S] [--max-seconds T]\n");
  std::exit(2);
}

// ---- the clients

struct options {
  std::size_t connections = 1000;
  std::uint64_t events_per_connection = 1000;
  double rate = 1000;  // events per second the PBX generates (each reaches every client)
  std::uint64_t burst_events = 300;  // 0: no burst phase
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  std::string user = "admin";
  std::string secret = "amp111";
  long max_seconds = 300;
};

class bench {
 public:
  bench(boost::asio::io_context& io, const options& o, const pbx_process* pbx)
      : io_(io), opts_(o), pbx_(pbx), watchdog_(io), pause_(io) {
    cfg_.host = o.host;
    cfg_.port = o.port;
    cfg_.username = o.user;
    cfg_.secret = o.secret;
    if (pbx_ != nullptr) {
      replies_.emplace(io_, pbx_->replies);
    }
  }

  int run() {
    watchdog_.expires_after(std::chrono::seconds(opts_.max_seconds));
    watchdog_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      fail("gave up after " + std::to_string(opts_.max_seconds) + " s (" + progress() + ")");
    });
    warm_up();
    io_.run();
    return status_;
  }

 private:
  // Connection 0 logs in alone first: what every client shares is then allocated.
  void warm_up() {
    clients_.reserve(opts_.connections + 1);
    counts_.assign(opts_.connections + 1, 0);
    add_client(0, [this] {
      ping_all(0, 1, [this] {
        settle([this] {
          before_ = measure();
          connect_all();
        });
      });
    });
  }

  void add_client(std::size_t i, std::function<void()> on_login) {
    clients_.push_back(std::make_unique<ami::client>(io_));
    auto& c = *clients_.back();
    subs_.push_back(c.on_event([this, i](const ami::event&) { on_event(i); }));
    c.async_connect(cfg_, [this, i, on_login = std::move(on_login)](boost::system::error_code ec) {
      if (ec) {
        fail("connection " + std::to_string(i) + ": " + ec.message() + " (" +
             clients_[i]->last_error_message() + ")");
        return;
      }
      on_login();
    });
  }

  void connect_all() {
    connect_started_ = steady::now();
    for (std::size_t i = 1; i <= opts_.connections; ++i) {
      add_client(i, [this] {
        if (++logged_in_ == opts_.connections) {
          login_seconds_ = seconds_since(connect_started_);
          ping_all(1, opts_.connections + 1, [this] { settle([this] { measure_idle(); }); });
        }
      });
    }
  }

  // One Ping on each connection of [from, to): every connection has answered something
  // since logging in, and what the login sent along (FullyBooted) has arrived.
  void ping_all(std::size_t from, std::size_t to, std::function<void()> done) {
    auto left = std::make_shared<std::size_t>(to - from);
    auto then = std::make_shared<std::function<void()>>(std::move(done));
    for (std::size_t i = from; i < to; ++i) {
      clients_[i]->async_send(
          ami::action("Ping"), [this, i, left, then](boost::system::error_code ec, ami::response) {
            if (ec) {
              fail("Ping on connection " + std::to_string(i) + ": " + ec.message());
              return;
            }
            if (--*left == 0) (*then)();
          });
    }
  }

  // Lets the io_context go idle for a moment, then continues.
  void settle(std::function<void()> next) {
    pause_.expires_after(std::chrono::milliseconds(500));
    pause_.async_wait([next = std::move(next)](const boost::system::error_code& ec) {
      if (!ec) next();
    });
  }

  void measure_idle() {
    idle_ = measure();
    std::printf("baseline rss_kib=%lld anon_kib=%lld heap_kib=%lld (one warm-up connection)\n",
                before_.rss / 1024, before_.anon / 1024, before_.heap / 1024);
    print_memory("idle", before_, idle_, opts_.connections);
    std::printf("login connections=%zu seconds=%.3f\n", opts_.connections, login_seconds_);
    if (pbx_ != nullptr) {
      send_command(*pbx_, "rss");
      read_reply([this](const std::string& line) {
        std::printf("pbx_process %s_bytes (not part of the figures above)\n", line.c_str());
        start_events();
      });
    } else {
      start_events();
    }
  }

  void start_events() {
    std::fill(counts_.begin(), counts_.end(), 0);
    counting_ = true;
    if (pbx_ == nullptr) return;  // the external server's load is already running
    send_command(*pbx_, "load " + std::to_string(opts_.rate));
    read_reply([this](const std::string& line) {
      generated_at_start_ = std::strtoull(line.c_str() + 3, nullptr, 10);
    });
  }

  void on_event(std::size_t i) {
    if (!counting_ || i == 0) return;
    if (first_event_ == steady::time_point{}) {
      first_event_ = steady::now();
      cpu_first_ = cpu_seconds();
    }
    ++total_;
    if (++counts_[i] == opts_.events_per_connection && ++reached_ == opts_.connections) {
      events_done();
    }
  }

  void events_done() {
    const double secs = seconds_since(first_event_);
    const double cpu = cpu_seconds() - cpu_first_;
    std::printf(
        "events connections=%zu events_per_connection=%llu received=%llu seconds=%.3f "
        "events_per_sec=%.0f cpu_seconds=%.3f cpu_share=%.2f events_per_cpu_sec=%.0f\n",
        opts_.connections, static_cast<unsigned long long>(opts_.events_per_connection),
        static_cast<unsigned long long>(total_), secs,
        secs > 0 ? static_cast<double>(total_) / secs : 0.0, cpu, secs > 0 ? cpu / secs : 0.0,
        cpu > 0 ? static_cast<double>(total_) / cpu : 0.0);
    if (pbx_ == nullptr) {
      std::printf(
          "check every connection received at least %llu events: yes (external "
          "server: exact totals not checked)\n",
          static_cast<unsigned long long>(opts_.events_per_connection));
      finish();
      return;
    }
    send_command(*pbx_, "drain");
    read_reply([this](const std::string& line) {
      const auto generated = std::strtoull(line.c_str() + 8, nullptr, 10) - generated_at_start_;
      check_totals("generated", generated, steady::now() + std::chrono::seconds(20), [this] {
        print_memory("after_events", before_, measure(), opts_.connections);
        burst();
      });
    });
  }

  void burst() {
    if (opts_.burst_events == 0) {
      finish();
      return;
    }
    send_command(*pbx_, "burst " + std::to_string(opts_.burst_events));
    read_reply([this](const std::string& line) {
      const auto generated = std::strtoull(line.c_str() + 6, nullptr, 10) - generated_at_start_;
      check_totals("generated (burst included)", generated,
                   steady::now() + std::chrono::seconds(60), [this] {
                     print_memory("after_burst", before_, measure(), opts_.connections);
                     finish();
                   });
    });
  }

  // Every connection must end with exactly the events generated since the load started;
  // then, after a quiet moment, `next`.
  void check_totals(const char* what, std::uint64_t generated, steady::time_point give_up,
                    std::function<void()> next) {
    const auto low = *std::min_element(counts_.begin() + 1, counts_.end());
    const auto high = *std::max_element(counts_.begin() + 1, counts_.end());
    if (low == generated && high == generated) {
      std::printf("check every connection received all %llu events %s: yes\n",
                  static_cast<unsigned long long>(generated), what);
      settle(std::move(next));
      return;
    }
    if (high > generated || steady::now() > give_up) {
      fail("connections received between " + std::to_string(low) + " and " + std::to_string(high) +
           " events; the PBX " + what + " " + std::to_string(generated));
      return;
    }
    pause_.expires_after(std::chrono::milliseconds(50));
    pause_.async_wait([this, what, generated, give_up,
                       next = std::move(next)](const boost::system::error_code& ec) {
      if (!ec) check_totals(what, generated, give_up, next);
    });
  }

  void read_reply(std::function<void(const std::string&)> then) {
    boost::asio::async_read_until(
        *replies_, reply_buf_, '\n',
        [this, then = std::move(then)](const boost::system::error_code& ec, std::size_t) {
          if (ec == boost::asio::error::operation_aborted) return;
          if (ec) {
            fail("the simulated PBX went away: " + ec.message());
            return;
          }
          std::istream in(&reply_buf_);
          std::string line;
          std::getline(in, line);
          then(line);
        });
  }

  void finish() {
    for (auto& c : clients_) c->close();
    watchdog_.cancel();
    pause_.cancel();
    if (replies_) replies_->cancel();
  }

  void fail(const std::string& what) {
    std::fprintf(stderr, "ami-bench-connections: %s\n", what.c_str());
    status_ = 1;
    finish();
  }

  std::string progress() const {
    return std::to_string(logged_in_) + " logged in, " + std::to_string(reached_) +
           " connections reached their event count";
  }

  static double seconds_since(steady::time_point t) {
    return std::chrono::duration<double>(steady::now() - t).count();
  }

  boost::asio::io_context& io_;
  options opts_;
  const pbx_process* pbx_;
  ami::config cfg_;
  boost::asio::steady_timer watchdog_;
  boost::asio::steady_timer pause_;
  std::optional<boost::asio::posix::stream_descriptor> replies_;
  boost::asio::streambuf reply_buf_;

  std::vector<std::unique_ptr<ami::client>> clients_;
  std::vector<boost::signals2::connection> subs_;
  std::vector<std::uint64_t> counts_;
  std::size_t logged_in_ = 0;
  steady::time_point connect_started_;
  double login_seconds_ = 0;
  memory before_;
  memory idle_;

  bool counting_ = false;
  std::uint64_t generated_at_start_ = 0;
  steady::time_point first_event_{};
  double cpu_first_ = 0;
  std::uint64_t total_ = 0;
  std::size_t reached_ = 0;
  int status_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) usage();
    const char* v = argv[++i];
    if (a == "--connections") {
      o.connections = std::strtoul(v, nullptr, 10);
    } else if (a == "--events-per-connection") {
      o.events_per_connection = std::strtoull(v, nullptr, 10);
    } else if (a == "--rate") {
      o.rate = std::atof(v);
    } else if (a == "--burst-events") {
      o.burst_events = std::strtoull(v, nullptr, 10);
    } else if (a == "--host") {
      o.host = v;
    } else if (a == "--port") {
      o.port = static_cast<unsigned short>(std::strtoul(v, nullptr, 10));
    } else if (a == "--user") {
      o.user = v;
    } else if (a == "--secret") {
      o.secret = v;
    } else if (a == "--max-seconds") {
      o.max_seconds = std::strtol(v, nullptr, 10);
    } else {
      usage();
    }
  }
  if (o.connections == 0 || o.events_per_connection == 0 || o.rate <= 0 || o.max_seconds <= 0) {
    usage();
  }
  ami_bench::raise_fd_limit("ami-bench-connections", o.connections);

  // Before any thread or io_context exists here: the child starts clean.
  std::optional<pbx_process> pbx;
  if (o.port == 0) {
    pbx = ami_bench::spawn_pbx("ami-bench-connections", ami_bench::load_pbx_child);
    o.host = "127.0.0.1";
    o.port = pbx->port;
    std::printf("pbx simulated in child process %d on port %u, load %.0f events/s\n",
                static_cast<int>(pbx->pid), static_cast<unsigned>(o.port), o.rate);
  }

  int status = 0;
  {
    boost::asio::io_context io;
    bench b(io, o, pbx ? &*pbx : nullptr);
    status = b.run();
  }
  if (pbx) ami_bench::stop_pbx(*pbx);
  return status;
}
