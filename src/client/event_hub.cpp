#include "event_hub.hpp"

#include "ami/detail/glob.hpp"

#include <time.h>

namespace ami::detail {
namespace {

const event& no_event() {
  static const event empty;
  return empty;
}

// Slot timing, in ns of CLOCK_MONOTONIC (steady_clock's origin on Linux, so both readers
// agree). steady_clock costs about 25 ns a read; the coarse clock about 5 ns, but it only
// moves once per kernel tick (1 to 4 ms), so it serves thresholds of a few ticks and more.
std::int64_t precise_now() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

#if defined(CLOCK_MONOTONIC_COARSE)
std::int64_t coarse_now() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// The coarse clock's tick in ns (0 when unknown).
std::int64_t coarse_tick() noexcept {
  static const std::int64_t tick = [] {
    timespec ts{};
    if (::clock_getres(CLOCK_MONOTONIC_COARSE, &ts) != 0) return std::int64_t{0};
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  }();
  return tick;
}
#else
std::int64_t coarse_now() noexcept { return precise_now(); }
std::int64_t coarse_tick() noexcept { return 0; }
#endif

}  // namespace

std::size_t event_hub::ci_hash::operator()(std::string_view s) const noexcept {
  std::uint64_t h = 1469598103934665603ULL;
  for (const char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 'A' && u <= 'Z') u = static_cast<unsigned char>(u + 32);
    h = (h ^ u) * 1099511628211ULL;
  }
  return static_cast<std::size_t>(h);
}

event_hub::event_hub()
    : all_(guarded_combiner{this}),
      list_items_(guarded_combiner{this}),
      state_(guarded_combiner{this}),
      transition_(guarded_combiner{this}),
      published_(std::make_shared<index>()) {}

event_hub::~event_hub() = default;

std::shared_ptr<event_signal> event_hub::make_signal() {
  return std::make_shared<event_signal>(guarded_combiner{this});
}

boost::signals2::connection event_hub::subscribe_all(const event_signal::slot_type& slot) {
  if (shut_.load(std::memory_order_acquire)) return {};  // an event_dispatcher outliving the client
  auto c = all_.connect(slot);
  all_used_.store(true, std::memory_order_release);
  return c;
}

boost::signals2::connection event_hub::subscribe_list_items(const event_signal::slot_type& slot) {
  auto c = list_items_.connect(slot);
  list_items_used_.store(true, std::memory_order_release);
  return c;
}

boost::signals2::connection event_hub::subscribe_state(const state_signal::slot_type& slot) {
  return state_.connect(slot);
}

boost::signals2::connection event_hub::subscribe_transition(
    const transition_signal::slot_type& slot) {
  return transition_.connect(slot);
}

boost::signals2::connection event_hub::subscribe(std::string_view name,
                                                 const event_signal::slot_type& slot) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (shut_.load(std::memory_order_relaxed)) return {};
  const bool glob = is_glob(name);
  if (glob) {
    for (const auto& [pattern, sig] : published_->globs) {
      if (pattern == name) return sig->connect(slot);
    }
  } else {
    const auto it = published_->exact.find(name);
    if (it != published_->exact.end()) return it->second->connect(slot);
  }
  // A new name: publish a new snapshot that shares the existing signals.
  auto next = std::make_shared<index>();
  for (const auto& [key, sig] : published_->exact) {
    if (sig->empty()) continue;  // drop names whose slots are all gone
    next->names.emplace_back(key);
    next->exact.emplace(next->names.back(), sig);
  }
  for (const auto& g : published_->globs) {
    if (!g.second->empty()) next->globs.push_back(g);
  }
  auto sig = make_signal();
  auto c = sig->connect(slot);
  if (glob) {
    next->globs.emplace_back(std::string(name), sig);
  } else {
    next->names.emplace_back(name);
    next->exact.emplace(next->names.back(), sig);
  }
  published_ = std::move(next);
  version_.fetch_add(1, std::memory_order_release);
  return c;
}

void event_hub::set_exception_handler(exception_handler h) {
  std::lock_guard<std::mutex> lock(mutex_);
  handler_ = std::move(h);
}

void event_hub::shut_down() {
  shut_.store(true, std::memory_order_release);
  all_.disconnect_all_slots();
  list_items_.disconnect_all_slots();
  state_.disconnect_all_slots();
  transition_.disconnect_all_slots();
  std::shared_ptr<const index> idx;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    idx = published_;
    handler_ = nullptr;
  }
  for (const auto& [key, sig] : idx->exact) sig->disconnect_all_slots();
  for (const auto& g : idx->globs) g.second->disconnect_all_slots();
}

void event_hub::refresh() noexcept {
  const auto v = version_.load(std::memory_order_acquire);
  if (v == seen_version_ && current_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  current_ = published_;
  seen_version_ = version_.load(std::memory_order_relaxed);
}

void event_hub::watch_slow_slots(std::chrono::milliseconds threshold, slow_slot_hook hook) {
  slow_threshold_ns_ = threshold.count() > 0
                           ? std::chrono::duration_cast<std::chrono::nanoseconds>(threshold).count()
                           : 0;
  const auto tick = coarse_tick();
  coarse_clock_ = tick > 0 && slow_threshold_ns_ >= 4 * tick;
  slow_hook_ = std::move(hook);
}

void event_hub::check_slow(const event& e, std::int64_t started) {
  const auto took = (coarse_clock_ ? coarse_now() : precise_now()) - started;
  if (slow_threshold_ns_ == 0 || took < slow_threshold_ns_) return;
  if (shut_.load(std::memory_order_relaxed)) return;
  slow_slots_.fetch_add(1, std::memory_order_relaxed);
  const slow_slot_hook hook = slow_hook_;  // a copy: the hook may reconnect (and replace it)
  if (!hook) return;
  try {
    hook(e.name(), std::chrono::microseconds(took / 1000));
  } catch (...) {
    // Like a warning hook: a throwing one must not break the reader.
  }
}

void event_hub::emit(event_signal& sig, const event& e, std::int64_t& started) {
  if (slow_threshold_ns_ != 0 && started == 0) {
    started = coarse_clock_ ? coarse_now() : precise_now();
  }
  const event* outer = delivering_;  // a slot may trigger a nested emission (close() -> state)
  delivering_ = &e;
  sig(e);
  delivering_ = outer;
}

void event_hub::emit_event(const event& e) {
  if (shut_.load(std::memory_order_relaxed)) return;
  std::int64_t started = 0;  // the clock is read only for events that have slots
  if (all_used_.load(std::memory_order_relaxed)) emit(all_, e, started);
  refresh();
  const index& idx = *current_;
  if (!idx.exact.empty()) {
    const auto it = idx.exact.find(e.name());
    if (it != idx.exact.end()) emit(*it->second, e, started);
  }
  for (const auto& [pattern, sig] : idx.globs) {
    if (glob_match(pattern, e.name())) emit(*sig, e, started);
  }
  if (started != 0) check_slow(e, started);
}

void event_hub::emit_list_item(const event& e) {
  if (shut_.load(std::memory_order_relaxed)) return;
  if (!list_items_used_.load(std::memory_order_relaxed)) return;
  std::int64_t started = 0;
  emit(list_items_, e, started);
  if (started != 0) check_slow(e, started);
}

void event_hub::emit_state(const state_transition& t) {
  if (shut_.load(std::memory_order_relaxed)) return;
  const event* outer = delivering_;
  delivering_ = &no_event();
  state_(t.state, t.reason);
  if (!shut_.load(std::memory_order_relaxed)) transition_(t);
  delivering_ = outer;
}

void event_hub::report(std::exception_ptr e) noexcept {
  slot_exceptions_.fetch_add(1, std::memory_order_relaxed);
  exception_handler h;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    h = handler_;
  }
  if (!h) return;
  try {
    h(std::move(e), delivering_ != nullptr ? *delivering_ : no_event());
  } catch (...) {
    slot_exceptions_.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace ami::detail
