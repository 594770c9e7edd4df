// One PBX's messages on their way into the stream, without I/O: a bounded, ordered buffer
// that keeps each message until JetStream acknowledged it, sends in order, and after a
// failure sends again from the oldest unacknowledged message (the Nats-Msg-Id makes the
// repeats harmless: the stream stores each id once within its duplicate window).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace ami::bridge {

enum class outbound_kind { event, state, gap };

struct outbound {
  outbound_kind kind = outbound_kind::event;
  std::string subject;
  std::string payload;
  std::string msg_id;     // Nats-Msg-Id, unique per PBX, AMI session and sequence
  std::string session;    // the AMI session's id (empty outside a session)
  std::uint64_t seq = 0;  // the event's number in its session, from 1 (0 for the others)
};

// A run of events dropped because the buffer was full (overflow_policy::drop).
struct dropped_run {
  std::string session;
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  std::uint64_t count = 0;
};

class outbox {
 public:
  explicit outbox(std::size_t capacity) : capacity_(capacity) {}

  // Whether one more event fits (control messages always do; see push_control).
  bool has_room() const noexcept { return events_ < capacity_; }
  std::size_t capacity() const noexcept { return capacity_; }

  // Queues an event; the caller checked has_room().
  void push_event(outbound m);
  // Queues a state message or a gap marker, whatever the event count: they are few (one per
  // change of the PBX's connection) and say what consumers must know. A state message that
  // would follow another one still unsent replaces it, so a long NATS outage with a PBX
  // that keeps reconnecting cannot grow the buffer without bound.
  void push_control(outbound m);

  // Counts an event that found the buffer full.
  void note_dropped(std::string_view session, std::uint64_t seq);
  // The run of drops since the last call, if any.
  std::optional<dropped_run> take_dropped();
  std::uint64_t dropped_total() const noexcept { return dropped_total_; }

  // The oldest message not yet sent, or null.
  const outbound* next();
  // next() went out: it now waits for its acknowledgement.
  void sent();
  // JetStream stored the message of that id: it leaves the buffer (with every older one
  // already acknowledged). False when no message of that id is waiting (a late repeat).
  bool acknowledged(std::string_view msg_id);
  // Every sent, unacknowledged message is to be sent again, oldest first.
  void rewind();
  // The publish of that id failed: rewind() when it is still waiting for its
  // acknowledgement, and true then; false for a failure that no longer matters (it was
  // stored meanwhile, or is already queued to go again).
  bool failed(std::string_view msg_id);

  std::size_t size() const noexcept { return items_.size(); }
  std::size_t events() const noexcept { return events_; }
  std::size_t in_flight() const noexcept { return sent_ - acked_in_sent_; }
  bool empty() const noexcept { return items_.empty(); }
  // Forgets everything (the PBX left this bridge); returns how many messages went.
  std::size_t clear() noexcept;

 private:
  struct item {
    outbound m;
    bool acked = false;
  };
  void pop_acknowledged();

  std::size_t capacity_;
  std::deque<item> items_;
  std::size_t sent_ = 0;           // items_[0, sent_) went out at least once since a rewind
  std::size_t acked_in_sent_ = 0;  // of those, acknowledged (the front is popped at once)
  std::size_t events_ = 0;
  std::optional<dropped_run> dropped_;
  std::uint64_t dropped_total_ = 0;
};

}  // namespace ami::bridge
