#include "ami/event_dispatcher.hpp"

#include "ami/detail/event_ring.hpp"
#include "client_core.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace ami::detail {

// The state shared by the dispatcher, its slots on the client and its posted drains: the
// ring under one mutex. The client's strand is the only producer; one drain at a time
// (scheduled_) is the consumer, so the handlers see wire order, one call at a time.
class dispatch_queue : public std::enable_shared_from_this<dispatch_queue> {
 public:
  using handler_fn = std::function<void(event&)>;

  dispatch_queue(std::weak_ptr<client_core> core, boost::asio::any_io_executor ex,
                 dispatcher_options opts)
      : core_(std::move(core)),
        executor_(std::move(ex)),
        policy_(opts.policy),
        on_overflow_(std::move(opts.on_overflow)),
        on_exception_(std::move(opts.on_exception)),
        ring_(opts.capacity, opts.policy) {}

  boost::signals2::connection subscribe(std::optional<std::string_view> name, handler_fn h);
  void stop();
  dispatcher_stats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return snapshot();
  }

 private:
  // Events handled per posted drain before it gives the executor to other work.
  static constexpr int batch = 64;

  // The client's strand: one event for one subscription.
  void offer(const event& e, const handler_fn* h);
  // Posts a drain (mutex_ held: posting never runs the drain inline).
  void post_drain();
  // The handler executor.
  void drain();
  void report(std::exception_ptr ep, const event& e) noexcept;
  dispatcher_stats snapshot() const {  // mutex_ held
    auto s = ring_.stats();
    s.handler_exceptions = handler_exceptions_;
    return s;
  }
  void notify_waiters() {  // mutex_ held
    if (waiting_ > 0) idle_.notify_all();
  }

  const std::weak_ptr<client_core> core_;
  // Released by stop(): a strand must not outlive its context, and the client's slots may
  // keep this object a little longer than the dispatcher.
  boost::asio::any_io_executor executor_;
  const overflow_policy policy_;
  const std::function<void(const event&, const dispatcher_stats&)> on_overflow_;
  const std::function<void(std::exception_ptr, const event&)> on_exception_;

  mutable std::mutex mutex_;
  std::condition_variable idle_;     // a call that stop() waits for has returned
  std::deque<handler_fn> handlers_;  // stable addresses: queued events point to them
  std::vector<boost::signals2::connection> connections_;
  event_ring<const handler_fn*> ring_;
  std::uint64_t handler_exceptions_ = 0;
  bool scheduled_ = false;  // a drain is posted or running
  bool stopped_ = false;
  // Calls in progress outside the lock, which stop() waits for (unless it is that call).
  bool handler_running_ = false;
  std::thread::id handler_thread_;
  bool callback_running_ = false;
  std::thread::id callback_thread_;
  int waiting_ = 0;  // threads in stop()
};

boost::signals2::connection dispatch_queue::subscribe(std::optional<std::string_view> name,
                                                      handler_fn h) {
  const auto core = core_.lock();
  if (!core) return {};
  const handler_fn* handler = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopped_) return {};
    handlers_.push_back(std::move(h));
    handler = &handlers_.back();
  }
  auto slot = [self = shared_from_this(), handler](const event& e) { self->offer(e, handler); };
  boost::signals2::connection c =
      name ? core->hub().subscribe(*name, slot) : core->hub().subscribe_all(slot);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stopped_) {
      connections_.erase(std::remove_if(connections_.begin(), connections_.end(),
                                        [](const auto& x) { return !x.connected(); }),
                         connections_.end());
      connections_.push_back(c);
      return c;
    }
  }
  c.disconnect();  // stop() ran meanwhile
  return {};
}

void dispatch_queue::offer(const event& e, const handler_fn* h) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (stopped_) return;
  const auto r = ring_.offer(e, h);  // the copy is made under the lock: no second lock
  if (r.queued && !scheduled_) {
    scheduled_ = true;
    post_drain();
  }
  const bool notify = r.burst_started && on_overflow_;
  const bool close = r.dropped && policy_ == overflow_policy::close_connection;
  if (!notify && !close) return;
  const auto now = snapshot();
  callback_running_ = true;
  callback_thread_ = std::this_thread::get_id();
  lock.unlock();
  if (notify) {
    try {
      on_overflow_(e, now);
    } catch (...) {
      // Like a warning hook: it must not break the reader.
    }
  }
  if (close) {
    // Ignored unless a connection is up: a burst that outlasts a reconnect closes the new
    // connection too, and a closed one stays closed.
    if (const auto core = core_.lock()) core->abort_connection(error::slow_consumer);
  }
  lock.lock();
  callback_running_ = false;
  notify_waiters();
}

void dispatch_queue::post_drain() {
  try {
    boost::asio::post(executor_, [self = shared_from_this()] { self->drain(); });
  } catch (...) {
    scheduled_ = false;  // the next event tries again
    throw;
  }
}

void dispatch_queue::drain() {
  std::unique_lock<std::mutex> lock(mutex_);
  event ev;
  const handler_fn* h = nullptr;
  for (int n = 0;; ++n) {
    if (stopped_ || ring_.empty()) {
      scheduled_ = false;
      return;
    }
    if (n == batch) {
      post_drain();  // scheduled_ stays set: no other drain starts meanwhile
      return;
    }
    ring_.pop(ev, h);
    handler_running_ = true;
    handler_thread_ = std::this_thread::get_id();
    lock.unlock();
    try {
      (*h)(ev);
    } catch (...) {
      report(std::current_exception(), ev);
    }
    ev = event{};  // the event's memory goes back outside the lock
    lock.lock();
    handler_running_ = false;
    notify_waiters();
  }
}

void dispatch_queue::report(std::exception_ptr ep, const event& e) noexcept {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++handler_exceptions_;
  }
  if (!on_exception_) return;
  try {
    on_exception_(std::move(ep), e);
  } catch (...) {
    // Delivery goes on.
  }
}

void dispatch_queue::stop() {
  std::vector<boost::signals2::connection> connections;
  std::deque<handler_fn> handlers;
  boost::asio::any_io_executor executor;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!stopped_) {
      stopped_ = true;
      ring_.discard();
      connections.swap(connections_);
      executor = std::move(executor_);
      executor_ = boost::asio::any_io_executor{};
    }
    const auto me = std::this_thread::get_id();
    ++waiting_;
    idle_.wait(lock, [&] {
      return (!handler_running_ || handler_thread_ == me) &&
             (!callback_running_ || callback_thread_ == me);
    });
    --waiting_;
    // Nothing runs now (unless stop() was called from that very call): the handlers and
    // what they captured go now, on this thread.
    if (!handler_running_ && !callback_running_) handlers.swap(handlers_);
  }
  for (auto& c : connections) c.disconnect();
}

}  // namespace ami::detail

namespace ami {

event_dispatcher::event_dispatcher(client& c, const executor_type& handler_executor,
                                   dispatcher_options opts) {
  if (opts.capacity == 0) {
    throw std::invalid_argument("ami::event_dispatcher: the capacity must be at least 1");
  }
  queue_ = std::make_shared<detail::dispatch_queue>(c.core_, handler_executor, std::move(opts));
}

event_dispatcher::event_dispatcher(event_dispatcher&& other) noexcept = default;

event_dispatcher& event_dispatcher::operator=(event_dispatcher&& other) noexcept {
  if (this != &other) {
    if (queue_) queue_->stop();
    queue_ = std::move(other.queue_);
  }
  return *this;
}

event_dispatcher::~event_dispatcher() {
  if (queue_) queue_->stop();
}

void event_dispatcher::stop() {
  if (queue_) queue_->stop();
}

dispatcher_stats event_dispatcher::stats() const {
  return queue_ ? queue_->stats() : dispatcher_stats{};
}

boost::signals2::connection event_dispatcher::subscribe(std::optional<std::string_view> name,
                                                        handler_fn h) {
  if (!queue_) return {};
  return queue_->subscribe(name, std::move(h));
}

}  // namespace ami
