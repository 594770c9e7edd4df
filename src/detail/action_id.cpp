#include "ami/detail/action_id.hpp"

#include <atomic>
#include <limits>

namespace ami::detail {

std::string unique_action_id_prefix() {
  static std::atomic<std::uint64_t> next{1};
  const auto n = next.fetch_add(1, std::memory_order_relaxed);
  return "ami" + std::to_string(n) + "-";
}

void action_ids::format(std::uint64_t n, std::string& out) const {
  char digits[20];
  std::size_t len = 0;
  do {
    digits[len++] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  out.reserve(out.size() + prefix_.size() + len);
  out.append(prefix_);
  while (len != 0) out.push_back(digits[--len]);
}

std::optional<std::uint64_t> action_ids::parse(std::string_view id) const noexcept {
  if (id.size() <= prefix_.size() || id.compare(0, prefix_.size(), prefix_) != 0) {
    return std::nullopt;
  }
  const auto digits = id.substr(prefix_.size());
  if (digits.size() > 20 || digits.front() == '0') return std::nullopt;
  std::uint64_t n = 0;
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (n > (max - d) / 10) return std::nullopt;
    n = n * 10 + d;
  }
  return n;
}

}  // namespace ami::detail
