// The greeting line a server sends on connect, e.g. "Asterisk Call Manager/13.0.0".
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ami::proto {

struct version {
  int major = 0;
  int minor = 0;
  int patch = 0;

  friend bool operator==(const version& a, const version& b) noexcept {
    return a.major == b.major && a.minor == b.minor && a.patch == b.patch;
  }
  friend bool operator<(const version& a, const version& b) noexcept {
    if (a.major != b.major) return a.major < b.major;
    if (a.minor != b.minor) return a.minor < b.minor;
    return a.patch < b.patch;
  }
  friend bool operator!=(const version& a, const version& b) noexcept { return !(a == b); }
  friend bool operator<=(const version& a, const version& b) noexcept { return !(b < a); }
  friend bool operator>(const version& a, const version& b) noexcept { return b < a; }
  friend bool operator>=(const version& a, const version& b) noexcept { return !(a < b); }
  std::string to_string() const;
};

// Parses "1.2.3", "2.10" or "13": missing parts are 0, trailing text is ignored.
std::optional<version> parse_version(std::string_view text) noexcept;

struct banner {
  std::string text;                 // the whole line, without its line end
  std::string product;              // text before the last '/', e.g. "Asterisk Call Manager"
  std::optional<version> protocol;  // AMI version after the '/', when it parses

  // Whether the server is an Asterisk with this AMI version or newer.
  bool at_least(version v) const noexcept { return protocol && *protocol >= v; }
};

banner parse_banner(std::string_view line);

}  // namespace ami::proto
