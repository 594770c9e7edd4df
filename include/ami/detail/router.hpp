// Correlation of inbound messages with pending actions: responses by ActionID, EventLists,
// OriginateResponse events, raw text answers, timeouts and abandoned (cancelled or timed
// out) actions whose late answers must be dropped. Pure logic: no sockets, no clock reads.
#pragma once

#include "ami/detail/action_id.hpp"
#include "ami/detail/event_list.hpp"
#include "ami/detail/operation.hpp"
#include "ami/detail/pending_table.hpp"
#include "ami/message.hpp"
#include "ami/response.hpp"

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ami::detail {

using clock = std::chrono::steady_clock;

// How an action is answered.
enum class answer_kind : std::uint8_t {
  response,   // a Response, possibly opening an EventList
  raw_text,   // old servers' Queues: raw text without Response or ActionID
  originate,  // Originate with Async: the Response, then the OriginateResponse event
};

// Actions whose results go back to the session: those it sends itself (challenge, login,
// logoff, keepalive, restore) and user actions it watches to restore them after a
// reconnect (filter, events; these have an operation too).
enum class internal_tag : std::uint8_t {
  none,
  challenge,
  login,
  logoff,
  keepalive,  // the keepalive Ping
  restore,    // a Filter re-sent after a reconnect
  filter,     // a user's Filter
  events,     // a user's Events
};

// Sent by the session itself, without an operation.
constexpr bool is_internal(internal_tag t) noexcept {
  return t != internal_tag::none && t != internal_tag::filter && t != internal_tag::events;
}

// What became of an inbound message.
enum class routed : std::uint8_t {
  event,      // no pending action claims it: an unsolicited event for subscribers
  list_item,  // an event consumed by a pending action (list item or end, OriginateResponse)
  answer,     // a response or raw text consumed by a pending action
  late,       // the answer of an abandoned action: dropped
  unmatched,  // a response or raw text no pending action claims: dropped
};

// A finished action, with the session's tag for internal ones.
struct routed_result {
  finished_op result;
  internal_tag tag = internal_tag::none;
  std::uint64_t n = 0;  // the action's counter
};

struct new_action {
  std::uint64_t n = 0;    // from action_ids::reserve()
  std::string name;       // the Action name
  std::string caller_id;  // the caller's ActionID, empty when the client assigns one
  answer_kind answer = answer_kind::response;
  internal_tag tag = internal_tag::none;
  std::optional<clock::time_point> deadline;
  operation_ptr op;
  // The serialized action, kept for actions to write again on a new connection (retry);
  // empty otherwise.
  std::string resend;
};

// An action put back in the queue for a new connection, and its bytes.
struct resent_action {
  std::uint64_t n = 0;
  std::string bytes;
};

class router {
 public:
  router() = default;
  router(const router&) = delete;
  router& operator=(const router&) = delete;

  action_ids& ids() noexcept { return ids_; }
  const action_ids& ids() const noexcept { return ids_; }

  // Registers an action as queued (not yet written).
  void add(new_action a);
  // The action is being written: from now on it may be answered.
  void mark_sent(std::uint64_t n);
  // Whether n is registered and still waiting to be written.
  bool is_queued(std::uint64_t n) const noexcept;
  // The ActionID to write for action n.
  std::string action_id(std::uint64_t n) const;

  // Routes one inbound message (not the banner). Actions it finishes are appended to `done`.
  routed route(const message& m, std::vector<routed_result>& done);
  // The bytes received so far are all routed. Raw text arrives as one or more text messages
  // (old servers separate queues with empty lines): it is collected until a message of
  // another kind arrives or the input runs dry, then completes its action.
  void end_of_input(std::vector<routed_result>& done);

  // Completes action n now with `ec` (cancellation, timeout). A written action leaves a
  // tombstone so that its late answer (and its late list items) are dropped.
  bool abandon(std::uint64_t n, const boost::system::error_code& ec,
               std::vector<routed_result>& done);
  // abandon() for every pending action that has an operation and is not internal.
  void abandon_all(const boost::system::error_code& ec, std::vector<routed_result>& done);
  // Completes everything with `ec` and forgets all state (the connection is gone).
  void fail_all(const boost::system::error_code& ec, std::vector<routed_result>& done);
  // The connection is gone and a new one will follow. Written actions that carry resend
  // bytes go back to queued with a fresh answer (same counter, ActionID and deadline) and
  // are appended to `resent` in counter order; other written actions, internal ones
  // included, complete with `ec`; tombstones are forgotten; queued actions stay queued.
  void requeue(const boost::system::error_code& ec, std::vector<routed_result>& done,
               std::vector<resent_action>& resent);

  // Times out every action whose deadline is <= now (error::action_timeout).
  void expire(clock::time_point now, std::vector<routed_result>& done);
  // The earliest deadline of a pending action.
  std::optional<clock::time_point> next_deadline();

  // Written, not abandoned, and not answered completely yet (a list in progress counts).
  std::size_t in_flight() const noexcept { return in_flight_; }
  std::size_t queued() const noexcept { return queued_; }
  // Every registered action, tombstones included.
  std::size_t size() const noexcept { return table_.size(); }
  bool empty() const noexcept { return table_.empty(); }
  // Lists being collected (tombstones included).
  std::size_t open_lists() const noexcept { return open_lists_.size(); }

 private:
  struct deadline_item {
    clock::time_point at{};
    std::uint64_t n = 0;
    friend bool operator>(const deadline_item& a, const deadline_item& b) noexcept {
      return a.at > b.at;
    }
  };

  enum class phase : std::uint8_t {
    queued,          // registered, not written
    sent,            // written, waiting for the Response
    listing,         // Response seen, collecting the EventList
    awaiting_event,  // Response seen, waiting for OriginateResponse
    text,            // collecting raw text
  };

  struct entry {
    std::string name;
    std::string caller_id;
    answer_kind answer = answer_kind::response;
    internal_tag tag = internal_tag::none;
    phase ph = phase::queued;
    bool abandoned = false;  // the operation completed; only the answer's end is awaited
    bool counted = false;    // included in in_flight_
    std::optional<clock::time_point> deadline;
    operation_ptr op;
    std::string resend;
    response resp;
    std::optional<list_collector> list;
    std::vector<std::string> text;  // raw text lines collected so far
  };

  // The pending entry an ActionID names: our own form first, then caller-supplied ids
  // (the oldest entry of that id whose phase fits `for_event`).
  entry* find_by_id(std::string_view id, bool for_event, std::uint64_t& n);
  entry* oldest_raw_text(std::uint64_t& n);
  entry* single_awaiting_response(std::uint64_t& n);
  routed on_response(std::uint64_t n, entry& e, const message& m, std::vector<routed_result>& done);
  routed on_list_event(std::uint64_t n, entry& e, const message& m,
                       std::vector<routed_result>& done);
  void leave_phase(std::uint64_t n, entry& e) noexcept;
  void enter_phase(std::uint64_t n, entry& e, phase p);
  void finish(std::uint64_t n, entry& e, const boost::system::error_code& ec,
              std::vector<routed_result>& done);
  void remove(std::uint64_t n, entry& e);
  void leave_flight(entry& e) noexcept;
  void finish_text(std::vector<routed_result>& done);
  bool live(const deadline_item& d) const noexcept;
  void add_deadline(deadline_item d);
  // The earliest live deadline item (pruning stale ones), or null.
  const deadline_item* earliest() noexcept;
  void pop_earliest() noexcept;

  action_ids ids_;
  pending_table<entry> table_;
  // Caller-supplied ActionIDs: the counters using each, oldest first (duplicates are
  // answered in order, as the server runs one session's actions in order).
  std::unordered_map<std::string, std::vector<std::uint64_t>> by_caller_id_;
  std::vector<std::uint64_t> open_lists_;         // lists being collected, oldest first
  std::optional<std::uint64_t> collecting_text_;  // the raw-text action receiving text
  std::size_t raw_text_sent_ = 0;                 // written raw-text actions awaiting their text
  std::size_t awaiting_response_ = 0;             // written actions in phase sent
  // Deadlines. Most actions use the same timeout, so deadlines mostly come in increasing
  // order: those go to a FIFO (O(1)), the rest to a min-heap. Stale items (the action
  // finished) are skipped when they reach the front.
  std::vector<deadline_item> fifo_;
  std::size_t fifo_head_ = 0;
  std::vector<deadline_item> heap_;
  std::size_t in_flight_ = 0;
  std::size_t queued_ = 0;
};

}  // namespace ami::detail
