#include "event_hub.hpp"

#include "ami/detail/glob.hpp"

namespace ami::detail {
namespace {

const event& no_event() {
  static const event empty;
  return empty;
}

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
      published_(std::make_shared<index>()) {}

event_hub::~event_hub() = default;

std::shared_ptr<event_signal> event_hub::make_signal() {
  return std::make_shared<event_signal>(guarded_combiner{this});
}

boost::signals2::connection event_hub::subscribe_all(const event_signal::slot_type& slot) {
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

void event_hub::emit(event_signal& sig, const event& e) {
  const event* outer = delivering_;  // a slot may trigger a nested emission (close() -> state)
  delivering_ = &e;
  sig(e);
  delivering_ = outer;
}

void event_hub::emit_event(const event& e) {
  if (shut_.load(std::memory_order_relaxed)) return;
  if (all_used_.load(std::memory_order_relaxed)) emit(all_, e);
  refresh();
  const index& idx = *current_;
  if (!idx.exact.empty()) {
    const auto it = idx.exact.find(e.name());
    if (it != idx.exact.end()) emit(*it->second, e);
  }
  for (const auto& [pattern, sig] : idx.globs) {
    if (glob_match(pattern, e.name())) emit(*sig, e);
  }
}

void event_hub::emit_list_item(const event& e) {
  if (shut_.load(std::memory_order_relaxed)) return;
  if (list_items_used_.load(std::memory_order_relaxed)) emit(list_items_, e);
}

void event_hub::emit_state(connection_state s, const boost::system::error_code& ec) {
  if (shut_.load(std::memory_order_relaxed)) return;
  const event* outer = delivering_;
  delivering_ = &no_event();
  state_(s, ec);
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
