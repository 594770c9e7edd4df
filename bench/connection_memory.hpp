// Figures of the many-connection benchmarks (connections.cpp, fleet.cpp): memory per
// connection read from /proc/self/status and malloc, and the descriptor limit they need.
#pragma once

#include "pbx_child.hpp"
#include "process_stats.hpp"

#include <cstddef>
#include <cstdio>
#include <string>

#include <sys/resource.h>

namespace ami_bench {

struct memory {
  long long rss = 0;     // VmRSS
  long long anon = 0;    // RssAnon: heap, stacks, anonymous mappings
  long long heap = -1;   // malloc bytes in use (mallinfo2: arena + mmapped), -1 if unknown
  long long arena = -1;  // bytes the malloc arena holds from the system (in use or free)
};

inline memory measure() {
  memory m;
  m.rss = status_bytes("VmRSS");
  m.anon = status_bytes("RssAnon");
  const auto heap = ami_bench::read_malloc_usage();
  m.heap = heap.in_use;
  m.arena = heap.held;
  return m;
}

inline double per(long long bytes, std::size_t n) {
  return static_cast<double>(bytes) / static_cast<double>(n);
}

inline void print_memory(const char* label, const memory& before, const memory& after,
                         std::size_t n) {
  std::printf("%s connections=%zu rss_per_conn=%.0f anon_per_conn=%.0f", label, n,
              per(after.rss - before.rss, n), per(after.anon - before.anon, n));
  if (after.heap >= 0) {
    std::printf(" heap_per_conn=%.0f arena_per_conn=%.0f", per(after.heap - before.heap, n),
                per(after.arena - before.arena, n));
  }
  std::printf(" rss_kib=%lld rss_before_kib=%lld\n", after.rss / 1024, before.rss / 1024);
}

// Every connection is a descriptor here and one in the simulated PBX (which inherits the
// limit): the soft limit goes up to the hard one.
inline void raise_fd_limit(const char* program, std::size_t connections) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) pbx_failure(program, "getrlimit(RLIMIT_NOFILE) failed");
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &rl) != 0)
      pbx_failure(program, "setrlimit(RLIMIT_NOFILE) failed");
  }
  const rlim_t needed = static_cast<rlim_t>(connections) + 64;
  std::printf("rlimit_nofile soft=%llu hard=%llu needed=%llu\n",
              static_cast<unsigned long long>(rl.rlim_cur),
              static_cast<unsigned long long>(rl.rlim_max),
              static_cast<unsigned long long>(needed));
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < needed) {
    pbx_failure(program, "the hard RLIMIT_NOFILE (" + std::to_string(rl.rlim_max) +
                             ") is too low for " + std::to_string(connections) +
                             " connections: raise it (ulimit -Hn, limits.conf) or " +
                             "use fewer --connections");
  }
}

}  // namespace ami_bench
