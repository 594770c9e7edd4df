// Figures about this process that the client benchmarks report: memory (VmRSS and friends,
// the malloc heap) and CPU time. Linux and glibc; what the platform cannot tell is -1.
#pragma once

#include <cstdlib>
#include <fstream>
#include <string>

#include <malloc.h>
#include <sys/resource.h>

namespace ami_bench {

// A "Name:   123 kB" line of /proc/self/status (VmRSS, RssAnon, ...), in bytes.
inline long long status_bytes(const char* name) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string key = std::string(name) + ":";
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) == 0) return std::atoll(line.c_str() + key.size()) * 1024;
  }
  return -1;
}

struct malloc_usage {
  long long in_use = -1;  // bytes handed out: small chunks plus mmapped ones
  long long held = -1;    // bytes the arena holds from the system (in use or free), plus mmapped
};

// One mallinfo2 read, so both figures describe the same moment.
inline malloc_usage read_malloc_usage() {
  malloc_usage u;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  const struct mallinfo2 mi = ::mallinfo2();
  u.in_use = static_cast<long long>(mi.uordblks + mi.hblkhd);
  u.held = static_cast<long long>(mi.arena + mi.hblkhd);
#endif
  return u;
}

// User plus system CPU time of this process so far.
inline double cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  const auto sec = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
  };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

// The highest resident set size so far.
inline long peak_rss_kib() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;  // KiB on Linux
}

}  // namespace ami_bench
