// The simulated PBX of the many-connection benchmarks (connections.cpp, fleet.cpp) in its
// child process: a load generator started, drained and burst on command (see pbx_child.hpp).
#pragma once

#include "pbx_child.hpp"

#include "ami/testing/server.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <thread>

namespace ami_bench {

// Stops the load generator and waits until its calls have ended and no event came for a
// while; returns the events generated since the server started.
inline std::uint64_t drain(ami::testing::server& srv) {
  srv.stop_load();
  auto last = srv.events_generated();
  auto quiet_since = std::chrono::steady_clock::now();
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const auto g = srv.events_generated();
    if (g != last || !srv.channels().empty()) {
      last = g;
      quiet_since = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - quiet_since > std::chrono::milliseconds(300)) {
      break;
    }
  }
  return last;
}

// Commands, one line each: "load R" (starts the load generator; answers "ok G" with the
// events generated so far), "drain" (stops it and waits until its calls have ended and no
// event came for a while; answers "drained G"), "burst B" (stops writing, runs the load until
// B more events were generated, drains, writes everything queued; answers "burst G"), "rss"
// (answers the child's VmRSS in bytes). The child exits at EOF.
[[noreturn]] inline void load_pbx_child(int commands, int replies) {
  ami::testing::server_options opts;
  opts.security_events = false;  // one login's SuccessfulAuth would reach every connection
  ami::testing::server srv(opts);
  ami_bench::serve_commands(srv, commands, replies, [&srv](const char* line, FILE* out) {
    const std::string_view cmd(line);
    if (cmd.compare(0, 5, "load ") == 0) {
      const auto g = srv.events_generated();
      srv.start_load(std::atof(line + 5));
      std::fprintf(out, "ok %llu\n", static_cast<unsigned long long>(g));
    } else if (cmd.compare(0, 5, "drain") == 0) {
      std::fprintf(out, "drained %llu\n", static_cast<unsigned long long>(drain(srv)));
    } else if (cmd.compare(0, 6, "burst ") == 0) {
      const auto until = srv.events_generated() + std::strtoull(line + 6, nullptr, 10);
      srv.stall(true);
      srv.start_load(200);
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (srv.events_generated() < until && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      const auto g = drain(srv);
      srv.stall(false);
      std::fprintf(out, "burst %llu\n", static_cast<unsigned long long>(g));
    }
  });
}

}  // namespace ami_bench
