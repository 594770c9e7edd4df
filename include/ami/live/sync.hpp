// Synchronisation, as pure logic: what the PBX lists (CoreShowChannels, BridgeList,
// QueueStatus, Agents, DeviceStateList, ExtensionStateList, ParkedCalls, ConfbridgeListRooms)
// becomes a fresh state, and the events that arrived while the lists were coming are
// applied after them in wire order, so that nothing is missed and nothing counted twice.
//
// Why that is right: Asterisk changes its state before it sends the event that reports
// the change, and writes a list in one piece. An event that arrived before a list is then
// already in it; applying it again is harmless because events set absolute values keyed
// by id. Queues are the exception: a caller's join or leave moves the others' positions,
// and AgentComplete bumps counters (the queue's completed, the member's calls taken) that
// an older member event would set back. Queue events that arrived before the QueueStatus
// list ended are therefore not applied to the queues, their callers or their members. An event that
// arrived after a list may or may not be in it and is applied; a caller joins once however often
// its join is seen, and an abandon is counted only for a caller still there.
//
// Use: begin(); send the actions of list_actions() the server has; feed every live event
// to on_event() and every list's answer to on_list(), in the order they arrive; then
// finish() with the state from before (empty on the first login).
#pragma once

#include "ami/live/change.hpp"
#include "ami/live/clock.hpp"
#include "ami/live/reducer.hpp"
#include "ami/live/state.hpp"
#include "ami/message.hpp"
#include "ami/response.hpp"

#include <array>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <vector>

namespace ami::live {

// The kinds of lists, in the order a sync applies them (bridges before the channels in
// them, channels before the queue callers they are).
enum class list_kind {
  bridges,
  channels,
  queues,
  agents,
  devices,
  extensions,
  parked,
  conferences
};
inline constexpr std::size_t list_kinds = 8;

struct list_action {
  list_kind kind;
  std::string_view action;          // "CoreShowChannels"
  std::string_view complete_event;  // "CoreShowChannelsComplete"
};

// A set of list kinds: what a partial sync (a refresh of some kinds) lists.
class list_set {
 public:
  constexpr list_set() noexcept = default;
  constexpr list_set(list_kind k) noexcept : bits_(bit(k)) {}  // NOLINT: a kind is a set
  constexpr list_set(std::initializer_list<list_kind> kinds) noexcept {
    for (auto k : kinds) bits_ |= bit(k);
  }
  static constexpr list_set all() noexcept {
    list_set s;
    s.bits_ = (1U << list_kinds) - 1;
    return s;
  }

  constexpr bool contains(list_kind k) const noexcept { return (bits_ & bit(k)) != 0; }
  constexpr bool empty() const noexcept { return bits_ == 0; }
  constexpr list_set& insert(list_set other) noexcept {
    bits_ |= other.bits_;
    return *this;
  }
  constexpr list_set& erase(list_kind k) noexcept {
    bits_ &= ~bit(k);
    return *this;
  }
  friend constexpr list_set operator|(list_set a, list_set b) noexcept { return a.insert(b); }
  friend constexpr bool operator==(list_set a, list_set b) noexcept { return a.bits_ == b.bits_; }
  friend constexpr bool operator!=(list_set a, list_set b) noexcept { return a.bits_ != b.bits_; }

 private:
  static constexpr unsigned bit(list_kind k) noexcept { return 1U << static_cast<unsigned>(k); }
  unsigned bits_ = 0;
};

// Every list a sync uses, in list_kind order.
const std::array<list_action, list_kinds>& list_actions() noexcept;
std::string_view to_string(list_kind k) noexcept;

// How a list's answer was taken.
enum class list_outcome {
  listed,       // its items replace what the state had of that kind
  unsupported,  // the server does not know the action (module not loaded, old version)
  failed,       // another error (permission, not answered)
};

struct sync_report {
  std::vector<change> changes;  // the state after versus the state before
  // Empty for the kinds a partial sync did not list.
  std::array<std::optional<list_outcome>, list_kinds> outcomes{};
  std::size_t replayed = 0;  // events applied after the lists
  // Anomalies met while replaying: expected when events race the lists (a Hangup for a
  // channel the list no longer had), kept apart from the live counters.
  anomaly_counts replay_anomalies;

  std::optional<list_outcome> outcome(list_kind k) const noexcept {
    return outcomes[static_cast<std::size_t>(k)];
  }
};

class synchroniser {
 public:
  explicit synchroniser(reducer_options options = {});

  // Starts a sync: forgets any earlier one and buffers from now on.
  void begin() { begin(list_set::all()); }
  // A partial sync: only these kinds are listed; finish() keeps the others from `before`
  // and follows them with the buffered events, so passing the state as it was at begin()
  // rebuilds what applying the same events live gave them. Answers for other kinds are
  // ignored.
  void begin(list_set kinds);
  bool active() const noexcept { return active_; }
  list_set requested() const noexcept { return requested_; }

  // An event that is not a list item, in wire order. It is copied (owned).
  void on_event(const ami::message& e, time_point now);
  // The whole answer of one list action (its Response and its items), given at the
  // list's place in the wire order: after every event that arrived before the list ended
  // and before any that arrived after it (a caller joining just after a QueueStatus list
  // would otherwise be taken as already listed).
  void on_list(list_kind kind, const ami::response& r);
  // The same when the answer comes later than its place: `place` is buffered() as it was
  // when the list ended. ami::client completes an action after the events read with its
  // last item have been emitted; its on_list_item signal sees the closing event in wire
  // order, which is where to take buffered().
  void on_list(list_kind kind, const ami::response& r, std::size_t place);

  // A list that got no usable answer (timeout, lost connection, an incomplete list): the
  // kind keeps what `before` had, as for an error response.
  void on_list_failed(list_kind kind);

  std::size_t buffered() const noexcept { return buffer_.size(); }

  // Builds the state: the lists, then the buffered events. A kind without a usable list
  // keeps what `before` had of it (then follows events). What the lists do not say
  // (creation and answer times, hold, tracked variables, the queue member a call reached)
  // is carried over from `before` for the things still there. Ends the sync.
  state finish(const state& before, time_point now, sync_report& report);

 private:
  struct buffered_event {
    ami::message msg;
    time_point at;
  };
  struct list_answer {
    list_outcome outcome = list_outcome::failed;
    std::vector<ami::event> items;
    std::size_t position = 0;  // how many buffered events arrived before it ended
  };

  reducer_options options_;
  bool active_ = false;
  list_set requested_;
  std::vector<buffered_event> buffer_;
  std::array<std::optional<list_answer>, list_kinds> lists_{};
};

// What differs between two states, as change records (added / changed / removed per
// thing; a queue's members and callers each as their own records).
std::vector<change> diff(const state& before, const state& after);

}  // namespace ami::live
