#include "ami/proto/banner.hpp"

namespace ami::proto {
namespace {

// Reads a non-negative decimal number; false when there is no digit or it overflows.
bool read_number(std::string_view& text, int& out) noexcept {
  std::size_t i = 0;
  long value = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    value = value * 10 + (text[i] - '0');
    if (value > 1000000) return false;
    ++i;
  }
  if (i == 0) return false;
  out = static_cast<int>(value);
  text.remove_prefix(i);
  return true;
}

}  // namespace

std::string version::to_string() const {
  return std::to_string(major) + '.' + std::to_string(minor) + '.' + std::to_string(patch);
}

std::optional<version> parse_version(std::string_view text) noexcept {
  version v;
  if (!read_number(text, v.major)) return std::nullopt;
  if (text.size() > 1 && text[0] == '.') {
    text.remove_prefix(1);
    if (!read_number(text, v.minor)) return v;
    if (text.size() > 1 && text[0] == '.') {
      text.remove_prefix(1);
      read_number(text, v.patch);
    }
  }
  return v;
}

banner parse_banner(std::string_view line) {
  banner b;
  b.text.assign(line);
  const auto slash = line.rfind('/');
  if (slash == std::string_view::npos) {
    b.product.assign(line);
    return b;
  }
  b.product.assign(line.substr(0, slash));
  b.protocol = parse_version(line.substr(slash + 1));
  return b;
}

}  // namespace ami::proto
