// The ActionIDs a client assigns: a prefix unique within the process and a counter. Never
// time based, so two actions can never share an id.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ami::detail {

// "ami<N>-" with N counting the prefixes made in this process (1, 2, ...).
std::string unique_action_id_prefix();

class action_ids {
 public:
  action_ids() : prefix_(unique_action_id_prefix()) {}
  explicit action_ids(std::string prefix) : prefix_(std::move(prefix)) {}
  action_ids(const action_ids&) = delete;
  action_ids& operator=(const action_ids&) = delete;

  const std::string& prefix() const noexcept { return prefix_; }
  // Not thread-safe: only while no id is being formatted or parsed.
  void set_prefix(std::string prefix) { prefix_ = std::move(prefix); }

  // The next counter value, from 1. Thread-safe, so an operation knows its number before
  // it reaches the client's executor.
  std::uint64_t reserve() noexcept { return next_.fetch_add(1, std::memory_order_relaxed); }

  // Appends prefix + decimal n to `out`.
  void format(std::uint64_t n, std::string& out) const;
  std::string format(std::uint64_t n) const {
    std::string s;
    format(n, s);
    return s;
  }

  // The counter of an id in this generator's form (prefix, then decimal digits without a
  // leading zero), or nothing.
  std::optional<std::uint64_t> parse(std::string_view id) const noexcept;

 private:
  std::string prefix_;
  std::atomic<std::uint64_t> next_{1};
};

}  // namespace ami::detail
