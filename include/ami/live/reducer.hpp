// The reducer: pure logic that applies AMI events to a live state, one event at a time.
// No sockets and no clock: the caller passes each event with the time it arrived.
//
// It never throws on bad input and never crashes: an event for something it has not seen
// (a Hangup for an unknown channel, a member event for an unknown queue), or one that
// lacks the header naming its subject, is counted as an anomaly; where the event carries
// enough (a channel snapshot, a member's full header set) the missing thing is created
// from it, so the next event repairs what a lost one broke.
#pragma once

#include "ami/live/change.hpp"
#include "ami/live/clock.hpp"
#include "ami/live/state.hpp"
#include "ami/message.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ami::live {

enum class anomaly {
  unknown_channel,    // an event about a channel the state does not have
  duplicate_channel,  // a Newchannel for a uniqueid already live
  unknown_bridge,     // BridgeEnter / Leave / Destroy for a bridge never created
  unknown_queue,      // a queue event for a queue never listed (created from it)
  unknown_member,     // a member event for a member the queue does not have
  unknown_caller,     // a caller leaving a queue it was not seen joining
  missing_header,     // no header naming what the event is about (Uniqueid, Queue, ...)
};
inline constexpr std::size_t anomaly_kinds = 7;

std::string_view to_string(anomaly a) noexcept;

struct anomaly_counts {
  std::array<std::uint64_t, anomaly_kinds> counts{};

  std::uint64_t operator[](anomaly a) const noexcept { return counts[static_cast<std::size_t>(a)]; }
  std::uint64_t total() const noexcept {
    std::uint64_t n = 0;
    for (auto c : counts) n += c;
    return n;
  }
};

struct reducer_options {
  // Channel variables to follow from VarSet events (case-sensitive, as Asterisk's).
  std::vector<std::string> variables;
  // How long a call stays in state::recent_calls once its last channel hung up (0: it
  // leaves the model at once). Expiry happens as events arrive (their time) or on expire().
  std::chrono::seconds keep_finished_calls{0};
};

class reducer {
 public:
  explicit reducer(reducer_options options = {});
  reducer(state initial, reducer_options options);

  const state& current() const noexcept { return state_; }
  // Replaces the state (after a sync); counters are kept.
  void reset(state s);

  // Drops the recent calls that ended more than keep_finished_calls before `now` and
  // returns what that changed (valid until the next call).
  const std::vector<change>& expire(time_point now);

  // Applies one event that arrived at `now` and returns what it changed, each thing once
  // (valid until the next call). Events the model does not follow change nothing.
  const std::vector<change>& apply(const ami::message& e, time_point now);

  // The anomalies of the last apply(), in the order met.
  const std::vector<anomaly>& last_anomalies() const noexcept { return last_anomalies_; }
  const anomaly_counts& anomalies() const noexcept { return anomalies_; }

  // Events applied that the model follows, and events it ignored (other names).
  std::uint64_t applied() const noexcept { return applied_; }
  std::uint64_t ignored() const noexcept { return ignored_; }

  // Marks the events that follow as already reflected in a QueueStatus list (a sync
  // replaying what arrived before the list): queue callers joining and leaving, the
  // counters (completed, abandoned) they bump, and the members' fields are left as the
  // list has them; the channels these events describe are still updated.
  void set_queue_events_listed(bool listed) noexcept { queue_events_listed_ = listed; }

  // True when apply() does something with events of this name.
  static bool follows(std::string_view event_name) noexcept;

  // The implementation's per-event context (defined in the source file).
  struct context;

 private:
  friend struct context;

  state state_;
  reducer_options options_;
  std::vector<change> changes_;
  std::vector<anomaly> last_anomalies_;
  anomaly_counts anomalies_;
  std::uint64_t applied_ = 0;
  std::uint64_t ignored_ = 0;
  bool queue_events_listed_ = false;
  // The recent calls in the order they ended, for expiry.
  std::deque<std::pair<time_point, std::string>> recent_order_;

  void expire_recent(time_point now);
};

}  // namespace ami::live
