#include "ami/detail/event_slots.hpp"

#include "ami/detail/signals.hpp"

#include <boost/make_shared.hpp>
#include <boost/signals2/optional_last_value.hpp>
#include <boost/signals2/signal.hpp>

#include <exception>
#include <functional>
#include <thread>
#include <utility>

namespace ami::detail {
namespace {

// Held for a few instructions at a time; contended only when another thread disconnects the
// slot at the same moment.
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

// Every change a user makes to a slot's connection (disconnect, a block taken or released)
// happens under the connection's mutex. The handles' mutex type counts those unlocks, so that
// emission asks a connection for its state only after something may have changed it.
std::atomic<std::uint64_t> g_handle_epoch{0};
thread_local bool t_reading_handles = false;  // our own queries change nothing

class watched_mutex;
// Set while an entry builds its handle: the handle's mutex makes itself known to the entry.
thread_local watched_mutex** t_handle_mutex = nullptr;

class watched_mutex {
 public:
  watched_mutex() {
    if (t_handle_mutex != nullptr && *t_handle_mutex == nullptr) *t_handle_mutex = this;
  }
  watched_mutex(const watched_mutex&) = delete;
  watched_mutex& operator=(const watched_mutex&) = delete;
  ~watched_mutex() = default;

  void lock() { m_.lock(); }
  bool try_lock() { return m_.try_lock(); }
  void unlock() {
    m_.unlock();
    if (!t_reading_handles) g_handle_epoch.fetch_add(1, std::memory_order_release);
  }

 private:
  std::mutex m_;
};

class reading_handles {
 public:
  reading_handles() noexcept : outer_(std::exchange(t_reading_handles, true)) {}
  reading_handles(const reading_handles&) = delete;
  reading_handles& operator=(const reading_handles&) = delete;
  ~reading_handles() { t_reading_handles = outer_; }

 private:
  bool outer_;
};

using tracked_signal = boost::signals2::signal<void(const event&), guarded_combiner>;
using slot_function = boost::function<void(const event&)>;

// The user's function and who is running it; shared by the slot and its handle's token.
struct slot_state {
  spin_mutex mutex;
  boost::shared_ptr<slot_function> fn;
  unsigned running = 0;  // calls in progress (a slot may emit again)
  bool released = false;

  // Under the lock: the function to destroy after unlocking, unless a call holds it.
  boost::shared_ptr<slot_function> release() {
    released = true;
    if (running != 0) return {};
    return std::move(fn);
  }
};

// Owned by the only slot of a handle signal, which signals2 destroys when the connection is
// disconnected (or the handle goes away): then the user's function goes at once, unless a call
// is running it, in which case the call lets go of it when it returns.
class release_guard {
 public:
  explicit release_guard(std::shared_ptr<slot_state> s) : state_(std::move(s)) {}
  release_guard(const release_guard&) = delete;
  release_guard& operator=(const release_guard&) = delete;
  ~release_guard() {
    boost::shared_ptr<slot_function> done;  // destroyed after unlocking
    std::lock_guard<spin_mutex> lock(state_->mutex);
    done = state_->release();
  }

 private:
  std::shared_ptr<slot_state> state_;
};

using handle_signal =
    boost::signals2::signal<void(), boost::signals2::optional_last_value<void>, int, std::less<int>,
                            boost::function<void()>,
                            boost::function<void(const boost::signals2::connection&)>,
                            watched_mutex>;

}  // namespace

// One slot. A plain slot keeps its function itself and holds a handle: a signals2 signal with
// one empty slot, whose connection is the one the user gets. disconnect(), connected(),
// blocked() and shared_connection_block act on that connection; emission reads its state
// again only when a handle's mutex was unlocked since it last looked. A slot that tracks
// objects is a signals2 signal with only that slot instead.
class event_slots::entry final {
 public:
  enum class state { run, blocked, gone };

  explicit entry(slot_function f) : state_(std::make_shared<slot_state>()) {
    t_handle_mutex = &handle_mutex_;
    handle_ = std::make_unique<handle_signal>();
    t_handle_mutex = nullptr;
    state_->fn = boost::make_shared<slot_function>(std::move(f));
    auto guard = std::make_shared<release_guard>(state_);
    conn_ = handle_->connect([guard] {});
  }
  explicit entry(std::unique_ptr<tracked_signal> t) : tracked(std::move(t)) {}

  const boost::signals2::connection& connection() const { return conn_; }

  // Any thread.
  bool connected() const {
    {
      std::lock_guard<spin_mutex> lock(state_->mutex);
      if (state_->released) return false;
    }
    reading_handles quiet;
    return conn_.connected();
  }

  // Emitting thread: whether the slot may run now. On `run` the function is held until
  // end_call(), even if the slot is disconnected meanwhile.
  state begin_call() {
    const auto epoch = g_handle_epoch.load(std::memory_order_acquire);
    if (epoch != seen_epoch_) {
      reading_handles quiet;
      if (handle_mutex_ != nullptr) {
        // signals2 reads a connection's block without its lock (its own emission holds the
        // lock around that read): hold the handle's mutex, which is the connection's.
        std::lock_guard<watched_mutex> lock(*handle_mutex_);
        blocked_ = conn_.blocked();
      } else {
        blocked_ = conn_.blocked();
      }
      gone_ = !conn_.connected();
      seen_epoch_ = epoch;
    }
    std::lock_guard<spin_mutex> lock(state_->mutex);
    if (gone_ || state_->released) return state::gone;
    if (blocked_) return state::blocked;
    ++state_->running;
    return state::run;
  }
  void call(const event& e) const { (*state_->fn)(e); }
  void end_call() {
    boost::shared_ptr<slot_function> done;  // destroyed after unlocking
    std::lock_guard<spin_mutex> lock(state_->mutex);
    if (--state_->running == 0 && state_->released) done = std::move(state_->fn);
  }

  // Emitting thread, for a slot found gone: lets go of the function now if signals2 has not
  // released the handle's slot yet.
  void release() {
    boost::shared_ptr<slot_function> done;
    std::lock_guard<spin_mutex> lock(state_->mutex);
    done = state_->release();
  }

  const std::unique_ptr<tracked_signal> tracked;

 private:
  std::shared_ptr<slot_state> state_;
  watched_mutex* handle_mutex_ = nullptr;  // owned by handle_
  std::unique_ptr<handle_signal> handle_;
  boost::signals2::connection conn_;
  // Emitting side: the connection's state as last read.
  std::uint64_t seen_epoch_ = ~std::uint64_t{0};
  bool blocked_ = false;
  bool gone_ = false;
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
    conn = e->connection();
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
      e->connection().disconnect();
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
      if (st == entry::state::gone) {
        e.release();
        saw_dead_ = true;
      }
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
