// A table keyed by the counters of ActionIDs. Counters are issued in increasing order and
// most answers come back roughly in that order, so entries live in a ring indexed by
// `counter - base`: insert, find and erase are O(1) without hashing or allocation in steady
// state. An entry that stays while thousands of later ones come and go (a straggler) is
// moved to a small ordered map so the ring does not grow without bound.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace ami::detail {

template <class T>
class pending_table {
 public:
  // Entry of counter n, or null.
  T* find(std::uint64_t n) noexcept {
    if (n >= base_ && n - base_ < count_) {
      auto& slot = ring_[index(n)];
      return slot ? &*slot : nullptr;
    }
    if (spill_.empty()) return nullptr;
    auto it = spill_.find(n);
    return it == spill_.end() ? nullptr : &it->second;
  }
  const T* find(std::uint64_t n) const noexcept {
    return const_cast<pending_table*>(this)->find(n);
  }

  // Inserts the entry of counter n, which must not be present.
  T& insert(std::uint64_t n, T value) {
    if (count_ == 0) {
      base_ = n;
    } else if (n < base_) {
      return spill_.emplace(n, std::move(value)).first->second;
    } else if (n - base_ >= count_ + max_gap) {
      spill_window();
      base_ = n;
    }
    const std::size_t offset = static_cast<std::size_t>(n - base_);
    if (offset >= count_) {
      reserve(offset + 1);
      count_ = offset + 1;
    }
    auto& slot = ring_[index(n)];
    slot.emplace(std::move(value));
    ++live_;
    T& stored = *slot;
    compact();
    return n >= base_ ? stored : spill_.at(n);
  }

  bool erase(std::uint64_t n) {
    if (n >= base_ && n - base_ < count_) {
      auto& slot = ring_[index(n)];
      if (!slot) return false;
      slot.reset();
      --live_;
      trim();
      return true;
    }
    return spill_.erase(n) != 0;
  }

  std::size_t size() const noexcept { return live_ + spill_.size(); }
  bool empty() const noexcept { return size() == 0; }

  // Calls f(counter, entry) in increasing counter order. f must not insert or erase.
  template <class F>
  void for_each(F&& f) {
    for (auto& [n, v] : spill_) f(n, v);
    for (std::size_t i = 0; i < count_; ++i) {
      auto& slot = ring_[(head_ + i) & (ring_.size() - 1)];
      if (slot) f(base_ + i, *slot);
    }
  }

  // Slots the ring spans and entries in the overflow map (for tests).
  std::size_t window() const noexcept { return count_; }
  std::size_t spilled() const noexcept { return spill_.size(); }

  void clear() {
    for (std::size_t i = 0; i < count_; ++i) ring_[(head_ + i) & (ring_.size() - 1)].reset();
    spill_.clear();
    head_ = 0;
    count_ = 0;
    live_ = 0;
  }

 private:
  static constexpr std::size_t max_gap = 4096;        // a jump past this restarts the ring
  static constexpr std::size_t compact_floor = 1024;  // rings this small are never compacted

  std::size_t index(std::uint64_t n) const noexcept {
    return (head_ + static_cast<std::size_t>(n - base_)) & (ring_.size() - 1);
  }

  void reserve(std::size_t slots) {
    if (slots <= ring_.size()) return;
    std::size_t cap = ring_.empty() ? 16 : ring_.size();
    while (cap < slots) cap *= 2;
    std::vector<std::optional<T>> bigger(cap);
    for (std::size_t i = 0; i < count_; ++i) {
      auto& slot = ring_[(head_ + i) & (ring_.size() - 1)];
      if (slot) bigger[i].emplace(std::move(*slot));
    }
    ring_ = std::move(bigger);
    head_ = 0;
  }

  // Drops empty slots at both ends of the window.
  void trim() noexcept {
    while (count_ != 0 && !ring_[head_]) {
      head_ = (head_ + 1) & (ring_.size() - 1);
      ++base_;
      --count_;
    }
    while (count_ != 0 && !ring_[(head_ + count_ - 1) & (ring_.size() - 1)]) --count_;
    if (count_ == 0) head_ = 0;
  }

  // Moves the oldest entries to the map while the ring is mostly holes.
  void compact() {
    while (count_ > compact_floor && count_ > 8 * live_) {
      auto& slot = ring_[head_];
      if (slot) {
        spill_.emplace(base_, std::move(*slot));
        slot.reset();
        --live_;
      }
      trim();
    }
  }

  void spill_window() {
    for (std::size_t i = 0; i < count_; ++i) {
      auto& slot = ring_[(head_ + i) & (ring_.size() - 1)];
      if (slot) {
        spill_.emplace(base_ + i, std::move(*slot));
        slot.reset();
      }
    }
    live_ = 0;
    count_ = 0;
    head_ = 0;
  }

  std::vector<std::optional<T>> ring_;  // size is zero or a power of two
  std::size_t head_ = 0;                // ring index of counter base_
  std::size_t count_ = 0;               // slots from base_ on (live or holes)
  std::uint64_t base_ = 0;
  std::size_t live_ = 0;  // entries in the ring
  std::map<std::uint64_t, T> spill_;
};

}  // namespace ami::detail
