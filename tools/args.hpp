// Command-line pieces the tools share: "--name VALUE" / "--name=VALUE" options and durations
// in seconds.
#pragma once

#include <cmath>
#include <cstddef>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ami::tools {

// Whether args[i] is the option `name`, as "--name VALUE" (i moves to the value) or
// "--name=VALUE". A missing value sets `problem`.
inline bool read_option(const std::vector<std::string>& args, std::size_t& i, std::string_view name,
                        std::string& value, std::optional<std::string>& problem) {
  const std::string& arg = args[i];
  if (arg.compare(0, name.size(), name) != 0) return false;
  if (arg.size() == name.size()) {
    if (i + 1 >= args.size()) {
      problem = std::string(name) + " needs a value";
    } else {
      value = args[++i];
    }
    return true;
  }
  if (arg[name.size()] != '=') return false;
  value = arg.substr(name.size() + 1);
  return true;
}

// A number of seconds, finite, above 0 (or 0 itself when `zero_ok`) and at most `max`.
inline bool parse_seconds(const std::string& s, double& out, bool zero_ok = false,
                          double max = 86400) {
  if (s.empty()) return false;
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    return false;
  }
  if (used != s.size() || !std::isfinite(v) || v < 0 || (v == 0 && !zero_ok) || v > max) {
    return false;
  }
  out = v;
  return true;
}

}  // namespace ami::tools
