#include "ami/detail/event_slots.hpp"

#include "ami/detail/signals.hpp"

#include <boost/make_shared.hpp>
#include <boost/signals2/signal.hpp>

#include <exception>
#include <thread>
#include <utility>

namespace ami::detail {
namespace {

// Held for a few instructions at a time; contended only when another thread disconnects or
// blocks the slot at the same moment.
class spin_mutex {
 public:
  void lock() noexcept {
    while (locked_.exchange(true, std::memory_order_acquire)) {
      while (locked_.load(std::memory_order_relaxed)) std::this_thread::yield();
    }
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

using tracked_signal = boost::signals2::signal<void(const event&), guarded_combiner>;
using slot_function = boost::function<void(const event&)>;

}  // namespace

// One slot. A plain slot is its own connection body: connection::disconnect(), connected(),
// blocked() and shared_connection_block act on it directly, under its lock. A slot that tracks
// objects is a signals2 signal with only that slot instead.
class event_slots::entry final : public boost::signals2::detail::connection_body_base {
 public:
  enum class state { run, blocked, gone };

  explicit entry(slot_function f) : fn_(boost::make_shared<slot_function>(std::move(f))) {}
  explicit entry(std::unique_ptr<tracked_signal> t) : tracked(std::move(t)) {}

  bool connected() const override {
    std::lock_guard<spin_mutex> lock(mutex_);
    return nolock_nograb_connected();
  }
  void lock() override { mutex_.lock(); }
  void unlock() override { mutex_.unlock(); }

  // Emitting thread: whether the slot may run now. On `run` the function is held until
  // end_call(), even if the slot is disconnected meanwhile.
  state begin_call() {
    std::lock_guard<spin_mutex> lock(mutex_);
    if (!nolock_nograb_connected()) return state::gone;
    if (blocked()) return state::blocked;
    ++running_;
    return state::run;
  }
  void call(const event& e) const { (*fn_)(e); }
  void end_call() {
    boost::shared_ptr<slot_function> done;  // destroyed after unlocking
    std::lock_guard<spin_mutex> lock(mutex_);
    if (--running_ == 0 && !nolock_nograb_connected()) done = std::move(fn_);
  }

  const std::unique_ptr<tracked_signal> tracked;

 protected:
  // Called on the first disconnect, under the lock; the caller destroys what it returns after
  // unlocking. A running slot keeps its function until end_call().
  boost::shared_ptr<void> release_slot() const override {
    if (running_ != 0) return {};
    return std::move(fn_);
  }

 private:
  mutable spin_mutex mutex_;
  mutable boost::shared_ptr<slot_function> fn_;
  mutable unsigned running_ = 0;  // calls in progress (a slot may emit again)
};

event_slots::event_slots(const guarded_combiner& combiner)
    : sink_(combiner.sink), published_(std::make_shared<const entry_list>()) {}

event_slots::~event_slots() = default;

bool event_slots::dead(const entry& e) {
  if (e.tracked) return e.tracked->empty();
  return !e.connected();
}

std::shared_ptr<const event_slots::entry_list> event_slots::publish(
    std::shared_ptr<const entry_list> next) {
  auto old = std::exchange(published_, std::move(next));
  version_.fetch_add(1, std::memory_order_release);
  return old;
}

boost::signals2::connection event_slots::connect(const slot_type& slot) {
  boost::shared_ptr<entry> e;
  boost::signals2::connection conn;
  if (!slot.tracked_objects().empty()) {
    e = boost::make_shared<entry>(std::make_unique<tracked_signal>(guarded_combiner{sink_}));
    conn = e->tracked->connect(slot);
  } else {
    e = boost::make_shared<entry>(slot.slot_function());
    conn = boost::signals2::connection(boost::weak_ptr<entry>(e));
  }
  std::shared_ptr<const entry_list> old;  // let go after unlocking (see prune)
  std::lock_guard<std::mutex> lock(mutex_);
  auto next = std::make_shared<entry_list>();
  next->reserve(published_->size() + 1);
  for (const auto& x : *published_) {
    if (!dead(*x)) next->push_back(x);
  }
  next->push_back(std::move(e));
  old = publish(std::move(next));
  return conn;
}

void event_slots::disconnect_all_slots() {
  std::shared_ptr<const entry_list> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    all = publish(std::make_shared<const entry_list>());
  }
  // Outside the lock: releasing a slot runs its destructor, which may connect again.
  for (const auto& e : *all) {
    if (e->tracked) {
      e->tracked->disconnect_all_slots();
    } else {
      e->disconnect();
    }
  }
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
  // The lists let go of here may hold the last reference to a slot (its function is already
  // gone): after unlocking, as everything that may run a destructor.
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
    const auto st = e.begin_call();
    if (st != entry::state::run) {
      if (st == entry::state::gone) saw_dead_ = true;
      continue;
    }
    try {
      e.call(ev);
    } catch (...) {
      if (sink_ != nullptr) sink_->report(std::current_exception());
    }
    e.end_call();
  }
  --depth_;
  if (depth_ == 0 && saw_dead_) prune();
}

}  // namespace ami::detail
