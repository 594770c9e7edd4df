#include "ami/detail/event_slots.hpp"

#include "ami/detail/signals.hpp"

#include <exception>
#include <utility>

namespace ami::detail {

using tracked_signal = boost::signals2::signal<void(const event&), guarded_combiner>;

struct event_slots::entry {
  // A plain slot: its function, called directly, and whether its connection still holds it.
  boost::function<void(const event&)> fn;
  std::atomic<bool> live{true};
  // A slot that tracks objects: a signals2 signal with only that slot.
  std::unique_ptr<tracked_signal> tracked;
  boost::signals2::connection conn;
};

// Owned (through a shared_ptr in the slot function) by the internal signal's connection:
// signals2 destroys the slot function when the connection is disconnected, by disconnect(),
// a scoped_connection, disconnect_all_slots() or the signal's end.
struct event_slots::liveness {
  std::shared_ptr<entry> owner;
  explicit liveness(std::shared_ptr<entry> e) : owner(std::move(e)) {}
  liveness(const liveness&) = delete;
  liveness& operator=(const liveness&) = delete;
  ~liveness() { owner->live.store(false, std::memory_order_release); }
};

namespace {

// The internal signal's slot: does nothing, keeps the guard.
struct guard_slot {
  std::shared_ptr<void> guard;
  void operator()() const noexcept {}
};

}  // namespace

event_slots::event_slots(const guarded_combiner& combiner)
    : sink_(combiner.sink), published_(std::make_shared<const entry_list>()) {}

event_slots::~event_slots() = default;

bool event_slots::dead(const entry& e) {
  if (e.tracked) return e.tracked->empty();
  return !e.live.load(std::memory_order_acquire);
}

std::shared_ptr<const event_slots::entry_list> event_slots::publish(
    std::shared_ptr<const entry_list> next) {
  auto old = std::exchange(published_, std::move(next));
  version_.fetch_add(1, std::memory_order_release);
  return old;
}

boost::signals2::connection event_slots::connect(const slot_type& slot) {
  auto e = std::make_shared<entry>();
  if (!slot.tracked_objects().empty()) {
    e->tracked = std::make_unique<tracked_signal>(guarded_combiner{sink_});
    e->conn = e->tracked->connect(slot);
  } else {
    e->fn = slot.slot_function();
    e->conn = owner_.connect(guard_slot{std::make_shared<liveness>(e)});
  }
  std::shared_ptr<const entry_list> old;  // let go after unlocking (see prune)
  std::lock_guard<std::mutex> lock(mutex_);
  auto next = std::make_shared<entry_list>();
  next->reserve(published_->size() + 1);
  for (const auto& x : *published_) {
    if (!dead(*x)) next->push_back(x);
  }
  next->push_back(e);
  old = publish(std::move(next));
  return e->conn;
}

void event_slots::disconnect_all_slots() {
  std::shared_ptr<const entry_list> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    all = publish(std::make_shared<const entry_list>());
  }
  // Outside the lock: releasing a slot runs its destructor, which may connect again.
  for (const auto& e : *all) e->conn.disconnect();
  owner_.disconnect_all_slots();
}

bool event_slots::empty() const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& e : *published_) {
    if (!dead(*e)) return false;
  }
  return true;
}

void event_slots::refresh() {
  if (version_.load(std::memory_order_acquire) == seen_ && current_) return;
  std::shared_ptr<const entry_list> old;  // let go after unlocking (see prune)
  std::lock_guard<std::mutex> lock(mutex_);
  old = std::exchange(current_, published_);
  seen_ = version_.load(std::memory_order_relaxed);
}

void event_slots::prune() {
  saw_dead_ = false;
  // The lists let go of here may hold the last reference to a dead slot, whose function is
  // then destroyed: after unlocking, since its destructor may connect again. (A dead slot's
  // function goes either here, on the emitting thread, or with its connection, whichever lets
  // go last: never while it runs.)
  std::shared_ptr<const entry_list> old_published;
  std::shared_ptr<const entry_list> old_current;
  std::lock_guard<std::mutex> lock(mutex_);
  auto next = std::make_shared<entry_list>();
  for (const auto& e : *published_) {
    if (!dead(*e)) next->push_back(e);
  }
  old_published = publish(std::move(next));
  old_current = std::exchange(current_, published_);
  seen_ = version_.load(std::memory_order_relaxed);
}

void event_slots::operator()(const event& ev) {
  // The snapshot only changes between outermost emissions: a nested one (a slot that makes
  // the client emit again) walks the same list, which the outer one keeps alive.
  if (depth_ == 0) refresh();
  const entry_list& list = *current_;
  ++depth_;
  for (const auto& p : list) {
    entry& e = *p;
    if (e.tracked) {
      (*e.tracked)(ev);  // its combiner reports exceptions to the sink
      continue;
    }
    if (!e.live.load(std::memory_order_acquire)) {
      saw_dead_ = true;
      continue;
    }
    if (e.conn.blocked()) continue;
    try {
      e.fn(ev);
    } catch (...) {
      if (sink_ != nullptr) sink_->report(std::current_exception());
    }
  }
  --depth_;
  if (depth_ == 0 && saw_dead_) prune();
}

}  // namespace ami::detail
