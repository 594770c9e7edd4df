// ami-bench-events: how fast ami::client delivers events to a slot. Connects to an event
// source (ami-bench-blaster), logs in and counts the events its on_event slot receives
// until N arrived; the time runs from the first event to the Nth.
//
//   ami-bench-events --host H --port P --events N [--user U] [--secret S] [--max-seconds T]
//
// Prints: events=N seconds=S events_per_sec=R cpu_seconds=C events_per_cpu_sec=E
//         peak_rss_kib=K (CPU time of this process over the same interval)
#include "process_stats.hpp"

#include "ami/client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using ami_bench::cpu_seconds;
using ami_bench::peak_rss_kib;

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: ami-bench-events --host H --port P --events N [--user U] [--secret S] "
               "[--max-seconds T]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  ami::config cfg;
  cfg.host = "127.0.0.1";
  cfg.username = "admin";
  cfg.secret = "bench";
  std::uint64_t target = 0;
  long max_seconds = 120;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) usage();
    if (a == "--host") {
      cfg.host = argv[++i];
    } else if (a == "--port") {
      cfg.port = static_cast<std::uint16_t>(std::strtoul(argv[++i], nullptr, 10));
    } else if (a == "--events") {
      target = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--user") {
      cfg.username = argv[++i];
    } else if (a == "--secret") {
      cfg.secret = argv[++i];
    } else if (a == "--max-seconds") {
      max_seconds = std::strtol(argv[++i], nullptr, 10);
    } else {
      usage();
    }
  }
  if (target == 0 || max_seconds <= 0) usage();

  using clock = std::chrono::steady_clock;
  boost::asio::io_context io;
  ami::client client{io};
  boost::asio::steady_timer watchdog{io, std::chrono::seconds(max_seconds)};
  std::uint64_t count = 0;
  std::uint64_t name_bytes = 0;  // touch each event, as a real slot would
  clock::time_point first, last;
  double cpu_first = 0, cpu_last = 0;
  int status = 0;

  auto sub = client.on_event([&](const ami::event& e) {
    if (count == 0) {
      first = clock::now();
      cpu_first = cpu_seconds();
    }
    name_bytes += e.name().size();
    if (++count == target) {
      last = clock::now();
      cpu_last = cpu_seconds();
      watchdog.cancel();
      client.close();
    }
  });
  client.async_connect(cfg, [&](boost::system::error_code ec) {
    if (ec) {
      std::fprintf(stderr, "ami-bench-events: connect: %s\n", ec.message().c_str());
      status = 1;
      watchdog.cancel();
    }
  });
  watchdog.async_wait([&](boost::system::error_code ec) {
    if (ec) return;
    std::fprintf(stderr, "ami-bench-events: only %llu of %llu events in %ld s\n",
                 static_cast<unsigned long long>(count), static_cast<unsigned long long>(target),
                 max_seconds);
    status = 1;
    client.close();
  });
  io.run();
  if (status != 0 || count < target) return 1;

  const double seconds = std::chrono::duration<double>(last - first).count();
  const double cpu = cpu_last - cpu_first;
  std::printf(
      "events=%llu seconds=%.4f events_per_sec=%.0f cpu_seconds=%.4f events_per_cpu_sec=%.0f "
      "peak_rss_kib=%ld name_bytes=%llu\n",
      static_cast<unsigned long long>(count), seconds,
      seconds > 0 ? static_cast<double>(count) / seconds : 0.0, cpu,
      cpu > 0 ? static_cast<double>(count) / cpu : 0.0, peak_rss_kib(),
      static_cast<unsigned long long>(name_bytes));
  return 0;
}
