// The client's event signal: the connection semantics of a Boost.Signals2 signal, emitted
// at a fraction of its cost. Every event of a busy connection goes through it, and a signals2
// emission (a signal mutex, a shared state copy, a lock per slot, a garbage-collecting lock)
// costs about as much as parsing the event.
//
// What stays as with signals2: connect() from any thread returns a boost::signals2::connection;
// disconnect(), scoped_connection and shared_connection_block work from any thread; slots run
// in connection order; a slot connected during an emission runs from the next one on; a slot
// disconnected during an emission (by itself or another slot) is not called afterwards, and
// its function is destroyed at once or, when it is running, as soon as it returns; an
// exception thrown by a slot goes to the sink and the other slots still run. A slot that
// tracks objects (slot_type::track) keeps a signals2 signal of its own, with every rule of
// signals2 (its position among the others is kept).
//
// How: each plain slot keeps its function and a handle, a one-slot signals2 signal whose
// connection is the one connect() returns, so that every connection operation is plain,
// documented signals2. The handles' mutex type counts the changes made through connections;
// emission reads a connection's state again only after such a change, and otherwise takes a
// small per-slot spin lock twice (to mark the function in use). Emission walks an immutable
// snapshot of the slots (replaced, copy on write, when one is connected): no signal-wide
// mutex, no shared state copy, no garbage-collecting lock.
#pragma once

#include "ami/message.hpp"

#include <boost/function.hpp>
#include <boost/shared_ptr.hpp>
#include <boost/signals2/connection.hpp>
#include <boost/signals2/slot.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace ami::detail {

class slot_exception_sink;
struct guarded_combiner;

class event_slots {
 public:
  using slot_type = boost::signals2::slot<void(const event&), boost::function<void(const event&)>>;

  explicit event_slots(const guarded_combiner& combiner);
  event_slots(const event_slots&) = delete;
  event_slots& operator=(const event_slots&) = delete;
  ~event_slots();

  // Any thread.
  boost::signals2::connection connect(const slot_type& slot);
  void disconnect_all_slots();
  // True when no slot is connected (blocked ones count as connected).
  bool empty() const;

  // Calls every connected, unblocked slot. One thread at a time (the client's strand); a slot
  // may emit again (nested).
  void operator()(const event& e);

 private:
  class entry;
  using entry_list = std::vector<boost::shared_ptr<entry>>;

  static bool dead(const entry& e);
  // With mutex_ held; returns the previous list, to be let go of after unlocking.
  std::shared_ptr<const entry_list> publish(std::shared_ptr<const entry_list> next);
  void refresh();
  void prune();

  slot_exception_sink* sink_ = nullptr;

  mutable std::mutex mutex_;  // guards published_
  std::shared_ptr<const entry_list> published_;
  std::atomic<std::uint64_t> version_{0};

  // Emitting side.
  std::shared_ptr<const entry_list> current_;
  std::uint64_t seen_ = 0;
  unsigned depth_ = 0;     // nested emissions in progress
  bool saw_dead_ = false;  // a dead slot was skipped: drop it from the snapshot
};

}  // namespace ami::detail
