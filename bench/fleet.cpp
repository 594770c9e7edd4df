// ami-bench-fleet: one ami::fleet of N named PBX connections in one process (one io_context,
// one thread). Measures the memory each idle logged-in PBX costs, checks that every event
// reaches the combined signal, and compares the events per CPU second delivered through the
// combined signal with those delivered through per-client slots, in the same run.
//
//   ami-bench-fleet [--pbxs N] [--events-per-pbx M] [--rate R] [--rounds K] [--max-seconds T]
//
// The simulated PBX runs in a child process (bench/load_pbx.hpp), so this process's memory is
// the fleet's alone; every PBX of the fleet is a connection to it under its own name.
//
// Memory: a warm-up PBX is added first and answers a Ping through the fleet; VmRSS and the
// malloc heap are read; N PBXs are added (by URL), all log in, each answers a Ping sent by
// name, and after a quiet moment the figures are read again: (after - before) / N.
// Events: K rounds, each with two phases in turn. "client": every PBX's own client has one
// counting on_event slot. "fleet": the fleet has one counting on_event slot (it finds the PBX
// from the name it is given). Each phase runs the load generator at R events per second
// (every event reaches every PBX) until every PBX counted M events, then stops it; every PBX
// must then have counted exactly the events the PBX generated in that phase. The figure is
// the events counted per CPU second of this process (and per wall second) over the phase;
// the medians of the K rounds are printed with their ratio.
#include "connection_memory.hpp"
#include "load_pbx.hpp"
#include "pbx_child.hpp"
#include "process_stats.hpp"

#include "ami/fleet.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/signals2/connection.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

namespace {

using ami_bench::cpu_seconds;
using ami_bench::pbx_process;
using steady = std::chrono::steady_clock;

constexpr const char* program = "ami-bench-fleet";

[[noreturn]] void fail(const std::string& what) { ami_bench::pbx_failure(program, what); }

struct options {
  std::size_t pbxs = 1000;
  std::uint64_t events_per_pbx = 500;
  double rate = 1000;
  int rounds = 3;
  long max_seconds = 120;
};

// Per-PBX event counts, touched only on the io thread; the main thread learns that every PBX
// reached the target through `reached`, and reads the counts through run_on_io().
struct counters {
  std::vector<std::uint64_t> per_pbx;
  std::uint64_t target = 0;
  std::atomic<std::size_t> reached{0};
  steady::time_point first{};
  double cpu_first = 0;

  void hit(std::size_t i) {
    if (first == steady::time_point{}) {
      first = steady::now();
      cpu_first = cpu_seconds();
    }
    if (++per_pbx[i] == target) reached.fetch_add(1, std::memory_order_release);
  }
};

std::string name_of(std::size_t i) { return "pbx" + std::to_string(i); }

// The index in "pbx<i>", the fleet slot's only lookup; SIZE_MAX for another name (the
// warm-up PBX).
std::size_t index_of(std::string_view name) {
  std::size_t i = 0;
  if (name.size() < 4 || name.compare(0, 3, "pbx") != 0) return SIZE_MAX;
  const auto r = std::from_chars(name.data() + 3, name.data() + name.size(), i);
  return r.ec == std::errc{} ? i : SIZE_MAX;
}

class bench {
 public:
  bench(const options& o, const pbx_process& pbx) : opts_(o), pbx_(pbx) {
    url_ = "ami://admin:amp111@127.0.0.1:" + std::to_string(pbx.port) + "?keepalive=0";
    counts_.per_pbx.assign(o.pbxs, 0);
    states_ = fleet_.on_state(
        [this](std::string_view, ami::connection_state st, const boost::system::error_code&) {
          if (st == ami::connection_state::logged_in) logged_in_.fetch_add(1);
        });
    io_thread_ = std::thread([this] { io_.run(); });
  }

  ~bench() {
    guard_.reset();
    run_on_io([this] {
      states_.disconnect();
      for (const auto& n : fleet_.names()) fleet_.remove(n);
    });
    io_.stop();
    io_thread_.join();
  }

  void run() {
    fleet_.add("warm-up", url_);
    wait_for([this] { return logged_in_.load() >= 1; }, "the warm-up PBX to log in");
    ping_all({"warm-up"});
    settle();
    const auto before = ami_bench::measure();

    const auto login_start = steady::now();
    std::vector<std::string> names;
    for (std::size_t i = 0; i < opts_.pbxs; ++i) {
      names.push_back(name_of(i));
      fleet_.add(names.back(), url_);
    }
    wait_for([this] { return logged_in_.load() >= opts_.pbxs + 1; }, "every PBX to log in");
    const double login_seconds = seconds_since(login_start);
    ping_all(names);
    settle();
    const auto idle = ami_bench::measure();
    ami_bench::print_memory("idle", before, idle, opts_.pbxs);
    const auto st = fleet_.stats();
    std::printf("login pbxs=%zu seconds=%.3f logged_in=%zu\n", opts_.pbxs, login_seconds,
                st.in(ami::connection_state::logged_in));

    std::vector<double> client_rates, fleet_rates;
    for (int r = 1; r <= opts_.rounds; ++r) {
      client_rates.push_back(phase("client", r, [this](std::size_t i) {
        return fleet_.get(name_of(i))->on_event([this, i](const ami::event&) { counts_.hit(i); });
      }));
      fleet_rates.push_back(phase("fleet", r, [this](std::size_t i) {
        if (i != 0) return boost::signals2::connection{};
        return fleet_.on_event([this](std::string_view pbx, const ami::event&) {
          const auto at = index_of(pbx);
          if (at < opts_.pbxs) counts_.hit(at);
        });
      }));
    }
    const double c = median(client_rates);
    const double f = median(fleet_rates);
    std::printf(
        "median rounds=%d client_events_per_cpu_sec=%.0f fleet_events_per_cpu_sec=%.0f "
        "fleet_vs_client=%.3f\n",
        opts_.rounds, c, f, c > 0 ? f / c : 0.0);
    ami_bench::print_memory("after_events", before, ami_bench::measure(), opts_.pbxs);
  }

 private:
  // One phase: the slots `subscribe(i)` returns (for every PBX index), the load until every
  // PBX counted M events, then the exact totals. Returns events per CPU second.
  double phase(const char* what, int round,
               const std::function<boost::signals2::connection(std::size_t)>& subscribe) {
    std::vector<boost::signals2::scoped_connection> subs;
    run_on_io([&] {
      std::fill(counts_.per_pbx.begin(), counts_.per_pbx.end(), 0);
      counts_.target = opts_.events_per_pbx;
      counts_.reached = 0;
      counts_.first = {};
      for (std::size_t i = 0; i < opts_.pbxs; ++i) subs.emplace_back(subscribe(i));
    });
    ami_bench::send_command(pbx_, "load " + std::to_string(opts_.rate));
    const auto start_line = ami_bench::read_line(pbx_.replies);
    const auto generated_at_start = std::strtoull(start_line.c_str() + 3, nullptr, 10);
    wait_for([this] { return counts_.reached.load(std::memory_order_acquire) == opts_.pbxs; },
             "every PBX to count its events");
    double wall = 0, cpu = 0;
    std::uint64_t total = 0;
    run_on_io([&] {
      wall = seconds_since(counts_.first);
      cpu = cpu_seconds() - counts_.cpu_first;
      for (auto n : counts_.per_pbx) total += n;
    });
    ami_bench::send_command(pbx_, "drain");
    const auto drained = ami_bench::read_line(pbx_.replies);
    const auto generated = std::strtoull(drained.c_str() + 8, nullptr, 10) - generated_at_start;
    // Every event the PBX generated reaches every PBX's slot, none twice.
    std::uint64_t low = 0, high = 0;
    const auto give_up = steady::now() + std::chrono::seconds(20);
    do {
      run_on_io([&] {
        low = *std::min_element(counts_.per_pbx.begin(), counts_.per_pbx.end());
        high = *std::max_element(counts_.per_pbx.begin(), counts_.per_pbx.end());
      });
      if (low == generated && high == generated) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } while (high <= generated && steady::now() < give_up);
    if (low != generated || high != generated) {
      fail(std::string(what) + " phase: PBXs counted between " + std::to_string(low) + " and " +
           std::to_string(high) + " events; the PBX generated " + std::to_string(generated));
    }
    run_on_io([&] { subs.clear(); });
    const double rate = cpu > 0 ? static_cast<double>(total) / cpu : 0.0;
    std::printf(
        "events round=%d slots=%s pbxs=%zu received=%llu seconds=%.3f events_per_sec=%.0f "
        "cpu_seconds=%.3f events_per_cpu_sec=%.0f all_delivered=yes generated=%llu\n",
        round, what, opts_.pbxs, static_cast<unsigned long long>(total), wall,
        wall > 0 ? static_cast<double>(total) / wall : 0.0, cpu, rate,
        static_cast<unsigned long long>(generated));
    std::fflush(stdout);
    return rate;
  }

  // Pings every named PBX through the fleet, waits for all answers.
  void ping_all(const std::vector<std::string>& names) {
    std::atomic<std::size_t> left{names.size()};
    std::atomic<bool> failed{false};
    for (const auto& n : names) {
      fleet_.async_send(n, ami::action("Ping"),
                        [&](boost::system::error_code ec, const ami::response&) {
                          if (ec) failed = true;
                          left.fetch_sub(1);
                        });
    }
    wait_for([&] { return left.load() == 0; }, "every PBX to answer its Ping");
    if (failed) fail("a Ping through the fleet failed");
  }

  // Runs f on the io thread and waits for it.
  void run_on_io(const std::function<void()>& f) {
    std::promise<void> done;
    boost::asio::post(io_, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

  void wait_for(const std::function<bool()>& pred, const char* what) const {
    const auto give_up = steady::now() + std::chrono::seconds(opts_.max_seconds);
    while (!pred()) {
      if (steady::now() > give_up) fail(std::string("gave up waiting for ") + what);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  static void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(500)); }

  static double seconds_since(steady::time_point t) {
    return std::chrono::duration<double>(steady::now() - t).count();
  }

  static double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const auto n = v.size();
    if (n == 0) return 0;
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }

  options opts_;
  const pbx_process& pbx_;
  std::string url_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{
      io_.get_executor()};
  ami::fleet fleet_{io_};
  counters counts_;
  std::atomic<std::size_t> logged_in_{0};
  boost::signals2::scoped_connection states_;
  std::thread io_thread_;
};

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc)
      fail(
          "usage: ami-bench-fleet [--pbxs N] [--events-per-pbx M] [--rate R] "
          "[--rounds K] [--max-seconds T]");
    const char* v = argv[++i];
    if (a == "--pbxs") {
      o.pbxs = std::strtoul(v, nullptr, 10);
    } else if (a == "--events-per-pbx") {
      o.events_per_pbx = std::strtoull(v, nullptr, 10);
    } else if (a == "--rate") {
      o.rate = std::atof(v);
    } else if (a == "--rounds") {
      o.rounds = std::atoi(v);
    } else if (a == "--max-seconds") {
      o.max_seconds = std::strtol(v, nullptr, 10);
    } else {
      fail("unknown option " + std::string(a));
    }
  }
  if (o.pbxs == 0 || o.events_per_pbx == 0 || o.rate <= 0 || o.rounds <= 0) fail("bad option");
  ami_bench::raise_fd_limit(program, o.pbxs + 1);

  // Before any thread exists here: the child starts clean.
  const auto pbx = ami_bench::spawn_pbx(program, ami_bench::load_pbx_child);
  std::printf("pbx simulated in child process %d on port %u, load %.0f events/s\n",
              static_cast<int>(pbx.pid), static_cast<unsigned>(pbx.port), o.rate);
  {
    bench b(o, pbx);
    b.run();
  }
  ami_bench::stop_pbx(pbx);
  return 0;
}
