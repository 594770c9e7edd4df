// ami-bench-events: how fast ami::client delivers events to a slot. Connects to an event
// source (ami-bench-blaster), logs in and counts what its slot receives until the blaster
// has sent N events; the time runs from the first event the slot gets to the last.
//
//   ami-bench-events --host H --port P --events N [--user U] [--secret S] [--max-seconds T]
//                    [--slot all|name|glob|typed|names50] [--mix standard|hangup]
//
// Slots: all = one on_event slot (every event); name = on_event("Hangup"); glob =
// on_event("QueueMember*") (on the hangup mix "Hang*"); typed = on<ami::events::hangup> reading the
// struct; names50 = 50 name slots of which only "Hangup" matches (a wallboard's pattern). --mix
// must be the blaster's: the slot knows from it how many of the N events it will receive.
//
// Prints: events=N seconds=S events_per_sec=R cpu_seconds=C events_per_cpu_sec=E
//         peak_rss_kib=K (CPU time of this process over the same interval)
#include "blaster_events.hpp"
#include "process_stats.hpp"

#include "ami/client.hpp"
#include "ami/detail/glob.hpp"
#include "ami/events/hangup.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

using ami_bench::cpu_seconds;
using ami_bench::peak_rss_kib;

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: ami-bench-events --host H --port P --events N [--user U] [--secret S] "
               "[--max-seconds T] [--slot all|name|glob|typed|names50] "
               "[--mix standard|hangup]\n");
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
  std::string slot_mode = "all";
  auto mix = ami_bench::event_mix::standard;
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
    } else if (a == "--slot") {
      slot_mode = argv[++i];
    } else if (a == "--mix") {
      const std::string_view m = argv[++i];
      if (m == "hangup") {
        mix = ami_bench::event_mix::hangup;
      } else if (m != "standard") {
        usage();
      }
    } else {
      usage();
    }
  }
  if (target == 0 || max_seconds <= 0) usage();
  std::string pattern = "Hangup";
  if (slot_mode == "glob") pattern = mix == ami_bench::event_mix::hangup ? "Hang*" : "QueueMember*";
  if (slot_mode != "all" && slot_mode != "name" && slot_mode != "glob" && slot_mode != "typed" &&
      slot_mode != "names50") {
    usage();
  }
  // How many of the first N events the slot receives (the blaster repeats its ring).
  std::uint64_t expected = target;
  if (slot_mode != "all") {
    const auto ring = ami_bench::build_ring(mix);
    expected = 0;
    for (std::uint64_t i = 0; i < target; ++i) {
      if (ami::detail::glob_match(pattern, ring.names[i % ring.names.size()])) ++expected;
    }
    if (expected == 0) usage();
  }

  using clock = std::chrono::steady_clock;
  boost::asio::io_context io;
  ami::client client{io};
  boost::asio::steady_timer watchdog{io, std::chrono::seconds(max_seconds)};
  std::uint64_t count = 0;
  std::uint64_t name_bytes = 0;  // touch each event, as a real slot would
  clock::time_point first, last;
  double cpu_first = 0, cpu_last = 0;
  int status = 0;

  // Counts what the slot gets; stops at the last expected event.
  const auto got = [&](std::size_t bytes) {
    if (count == 0) {
      first = clock::now();
      cpu_first = cpu_seconds();
    }
    name_bytes += bytes;  // touch each event, as a real slot would
    if (++count == expected) {
      last = clock::now();
      cpu_last = cpu_seconds();
      watchdog.cancel();
      client.close();
    }
  };
  std::vector<boost::signals2::scoped_connection> subs;
  if (slot_mode == "all") {
    subs.emplace_back(client.on_event([&](const ami::event& e) { got(e.name().size()); }));
  } else if (slot_mode == "typed") {
    subs.emplace_back(client.on<ami::events::hangup>(
        [&](const ami::events::hangup& h) { got(h.channel.channel.size() + h.cause_txt.size()); }));
  } else {
    if (slot_mode == "names50") {
      for (int n = 0; n < 49; ++n) {
        subs.emplace_back(client.on_event("UserEvent" + std::to_string(n),
                                          [&](const ami::event& e) { got(e.name().size()); }));
      }
    }
    subs.emplace_back(client.on_event(pattern, [&](const ami::event& e) { got(e.name().size()); }));
  }
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
  if (status != 0 || count < expected) return 1;

  const double seconds = std::chrono::duration<double>(last - first).count();
  const double cpu = cpu_last - cpu_first;
  std::printf(
      "events=%llu seconds=%.4f events_per_sec=%.0f cpu_seconds=%.4f events_per_cpu_sec=%.0f "
      "peak_rss_kib=%ld name_bytes=%llu slot=%s slot_events=%llu\n",
      static_cast<unsigned long long>(target), seconds,
      seconds > 0 ? static_cast<double>(target) / seconds : 0.0, cpu,
      cpu > 0 ? static_cast<double>(target) / cpu : 0.0, peak_rss_kib(),
      static_cast<unsigned long long>(name_bytes), slot_mode.c_str(),
      static_cast<unsigned long long>(count));
  return 0;
}
