// The client's signals and the index of event-name subscriptions. Subscribing works from
// any thread; emitting happens on the client's strand and costs nothing for names nobody
// subscribed to.
#pragma once

#include "ami/detail/signals.hpp"
#include "ami/message.hpp"

#include <boost/signals2/connection.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ami::detail {

class event_hub final : public slot_exception_sink {
 public:
  using exception_handler = std::function<void(std::exception_ptr, const event&)>;
  using slow_slot_hook = std::function<void(std::string_view, std::chrono::microseconds)>;

  event_hub();
  event_hub(const event_hub&) = delete;
  event_hub& operator=(const event_hub&) = delete;
  ~event_hub();

  // Any thread.
  boost::signals2::connection subscribe_all(const event_signal::slot_type& slot);
  boost::signals2::connection subscribe(std::string_view name, const event_signal::slot_type& slot);
  boost::signals2::connection subscribe_list_items(const event_signal::slot_type& slot);
  boost::signals2::connection subscribe_state(const state_signal::slot_type& slot);
  boost::signals2::connection subscribe_transition(const transition_signal::slot_type& slot);
  void set_exception_handler(exception_handler h);
  // Disconnects every slot; nothing is emitted afterwards.
  void shut_down();
  std::uint64_t slot_exceptions() const noexcept {
    return slot_exceptions_.load(std::memory_order_relaxed);
  }

  std::uint64_t slow_slots() const noexcept { return slow_slots_.load(std::memory_order_relaxed); }

  // The client's strand only.
  // Times the slots of each event from now on (config::slow_slot_threshold; 0: off).
  void watch_slow_slots(std::chrono::milliseconds threshold, slow_slot_hook hook);
  void emit_event(const event& e);
  void emit_list_item(const event& e);
  // on_state's slots, then on_transition's.
  void emit_state(const state_transition& t);

  void report(std::exception_ptr e) noexcept override;

 private:
  struct ci_hash {
    std::size_t operator()(std::string_view s) const noexcept;
  };
  struct ci_equal {
    bool operator()(std::string_view a, std::string_view b) const noexcept { return iequals(a, b); }
  };

  // An immutable snapshot of the name subscriptions; replaced (copy on write) on subscribe.
  struct index {
    std::deque<std::string> names;  // keys of `exact` point into these
    std::unordered_map<std::string_view, std::shared_ptr<event_signal>, ci_hash, ci_equal> exact;
    std::vector<std::pair<std::string, std::shared_ptr<event_signal>>> globs;
  };

  std::shared_ptr<event_signal> make_signal();
  void refresh() noexcept;
  // `started` is the time the event's first slot began (0 until then, and when not timed).
  void emit(event_signal& sig, const event& e, std::int64_t& started);
  void check_slow(const event& e, std::int64_t started);

  event_signal all_;
  event_signal list_items_;
  state_signal state_;
  transition_signal transition_;
  std::atomic<bool> all_used_{false};
  std::atomic<bool> list_items_used_{false};
  std::atomic<bool> shut_{false};

  mutable std::mutex mutex_;  // guards published_ and handler_
  std::shared_ptr<const index> published_;
  exception_handler handler_;
  std::atomic<std::uint64_t> version_{0};

  // Strand side.
  std::shared_ptr<const index> current_;
  std::uint64_t seen_version_ = 0;
  const event* delivering_ = nullptr;
  std::int64_t slow_threshold_ns_ = 0;  // 0: slots are not timed
  bool coarse_clock_ = false;           // the threshold is well above the coarse clock's tick
  slow_slot_hook slow_hook_;

  std::atomic<std::uint64_t> slot_exceptions_{0};
  std::atomic<std::uint64_t> slow_slots_{0};
};

}  // namespace ami::detail
