// The bounded queue of an ami::event_dispatcher and its overflow policy, without threads or
// I/O: a ring of `capacity` owned events, each with a tag (the handler it is for), and the
// counters of dispatcher_stats. The dispatcher guards it with its mutex.
#pragma once

#include "ami/event_dispatcher.hpp"
#include "ami/message.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace ami::detail {

template <class Tag>
class event_ring {
 public:
  // What offer() did with an event.
  struct offer_result {
    bool queued = false;         // the arriving event is in the ring
    bool dropped = false;        // an event was lost: the arriving one, or the oldest
    bool burst_started = false;  // the first drop of a burst (see offer())
  };

  // capacity >= 1 (the dispatcher checks it).
  event_ring(std::size_t capacity, overflow_policy policy)
      : slots_(capacity), capacity_(capacity), policy_(policy) {}

  // Copies `e` in (one owned copy), or applies the policy when the ring is full.
  // close_connection drops like drop_newest here; closing is the dispatcher's part. A burst
  // of drops ends once the consumer has drained the ring to half its capacity, so that a
  // steady overload (one event out, one in, one dropped) is one burst, not one per event.
  offer_result offer(const event& e, Tag tag) {
    ++received_;
    offer_result r;
    if (overflowing_ && count_ <= capacity_ / 2) overflowing_ = false;
    if (count_ == capacity_) {
      ++dropped_;
      r.dropped = true;
      if (!overflowing_) {
        overflowing_ = true;
        ++overflows_;
        r.burst_started = true;
      }
      if (policy_ != overflow_policy::drop_oldest) return r;
      slots_[head_] = slot{};  // the oldest goes (it is the drop counted above)
      head_ = (head_ + 1) % capacity_;
      --count_;
    }
    slot& s = slots_[(head_ + count_) % capacity_];
    try {
      s.ev = e;
    } catch (...) {
      ++dropped_;  // out of memory: lost, but counted
      throw;
    }
    s.tag = tag;
    ++count_;
    high_water_ = std::max(high_water_, count_);
    r.queued = true;
    return r;
  }

  // Moves the oldest event out (counted as delivered); false when empty.
  bool pop(event& out, Tag& tag) {
    if (count_ == 0) return false;
    slot& s = slots_[head_];
    out = std::move(s.ev);
    s.ev = event{};
    tag = s.tag;
    head_ = (head_ + 1) % capacity_;
    --count_;
    ++delivered_;
    return true;
  }

  // Drops every queued event (counted as discarded).
  void discard() {
    discarded_ += count_;
    for (; count_ > 0; --count_) {
      slots_[head_] = slot{};
      head_ = (head_ + 1) % capacity_;
    }
    head_ = 0;
  }

  std::size_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }

  // Every counter but handler_exceptions.
  dispatcher_stats stats() const {
    dispatcher_stats s;
    s.received = received_;
    s.delivered = delivered_;
    s.dropped = dropped_;
    s.overflows = overflows_;
    s.discarded = discarded_;
    s.queued = count_;
    s.high_water = high_water_;
    s.capacity = capacity_;
    return s;
  }

 private:
  struct slot {
    event ev;
    Tag tag{};
  };

  std::vector<slot> slots_;
  std::size_t capacity_;
  overflow_policy policy_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  bool overflowing_ = false;  // in a burst of drops
  std::uint64_t received_ = 0;
  std::uint64_t delivered_ = 0;
  std::uint64_t dropped_ = 0;
  std::uint64_t overflows_ = 0;
  std::uint64_t discarded_ = 0;
  std::size_t high_water_ = 0;
};

}  // namespace ami::detail
