// Times as the tools print them: local "14:03:07.250" and UTC "2024-05-01T14:03:07.250Z".
#pragma once

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace ami::tools {

namespace detail {

// The calendar fields of `t` (local or UTC) and its milliseconds.
inline std::tm broken_down(std::chrono::system_clock::time_point t, bool utc, int& ms) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  if (millis < 0) millis += 1000;  // before 1970, to_time_t rounds towards zero
  ms = static_cast<int>(millis);
  std::tm tm{};
  if (utc) {
    gmtime_r(&secs, &tm);
  } else {
    localtime_r(&secs, &tm);
  }
  return tm;
}

}  // namespace detail

// "14:03:07.250" in local time.
inline std::string local_time(std::chrono::system_clock::time_point t) {
  int ms = 0;
  const std::tm tm = detail::broken_down(t, false, ms);
  char buf[64];  // room for any int the format could print
  std::snprintf(buf, sizeof buf, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

// "2024-05-01T14:03:07.250Z" (UTC).
inline std::string utc_time(std::chrono::system_clock::time_point t) {
  int ms = 0;
  const std::tm tm = detail::broken_down(t, true, ms);
  char buf[96];  // room for any int the format could print
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

}  // namespace ami::tools
