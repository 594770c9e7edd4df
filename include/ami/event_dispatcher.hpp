// ami::event_dispatcher: slow event handlers, off the client's read path.
//
//   boost::asio::thread_pool pool{1};
//   ami::dispatcher_options opts;
//   opts.capacity = 1000;
//   opts.policy = ami::overflow_policy::drop_oldest;
//   ami::event_dispatcher slow{client, pool.get_executor(), opts};
//   slow.on_event("Cdr", [&](const ami::event& e) { database.insert(e); });  // may block
//
// The client reads nothing while its slots run, and Asterisk drops a manager client that
// leaves its socket unread for its writetimeout (100 ms by default). A dispatcher's slots
// only copy the event (an owned copy: one allocation) into a bounded queue and return; the
// handlers run on the executor given here (a thread_pool, another io_context, a strand).
// When the handlers fall behind and the queue is full, the overflow policy decides, and
// counters and a hook make every loss visible. docs/slow-consumers.md has the details.
//
// Order: one dispatcher delivers in wire order, one event at a time (its handlers never run
// concurrently with each other, even on a multi-threaded executor). An event that matches
// several subscriptions of one dispatcher is queued once for each.
//
// Threads and lifetime: every member function may be called from any thread. The client
// and the dispatcher may be destroyed in either order: a destroyed client just stops
// feeding the queue. Destroying the dispatcher (or stop()) disconnects it from the client,
// discards the queued events, and waits for a handler call in progress on another thread
// to return; after that no handler, on_exception or on_overflow call runs or starts, so
// whatever the handlers use may go. Called from inside a handler it does not wait for that
// call. Do not destroy the dispatcher on the client's executor while a handler waits for
// that client (e.g. async_send(..., use_future).get() inside the handler): it would wait
// for a handler that waits for it. The handler executor must keep running while events are
// queued (a stopped one just lets the queue fill up and overflow), and its execution context
// must outlive the dispatcher, or at least last until stop().
#pragma once

#include "ami/client.hpp"
#include "ami/message.hpp"
#include "ami/typed.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/signals2/connection.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

namespace ami {

// What a dispatcher does with an event that arrives while its queue is full.
enum class overflow_policy {
  // The arriving event is dropped; the queued ones stay. Keeps the start of a burst (the
  // first events of a call) and loses its end.
  drop_newest,
  // The oldest queued event is dropped to make room. Keeps the latest events (a dashboard
  // that shows the present) and loses the older ones.
  drop_oldest,
  // Nothing is lost quietly: the client's connection is closed with error::slow_consumer
  // (pending actions complete with it, on_state reports disconnected with it), so the
  // application rebuilds its view of the PBX once connected again (async_run reconnects on
  // its own). The event that did not fit counts as dropped; the events queued before it are
  // still delivered.
  close_connection,
};

// A snapshot of a dispatcher's counters. At every snapshot
// received == delivered + dropped + discarded + queued.
struct dispatcher_stats {
  std::uint64_t received = 0;   // events the client handed to the dispatcher
  std::uint64_t delivered = 0;  // events given to a handler (counted when the call starts)
  std::uint64_t dropped = 0;    // events lost to the overflow policy
  std::uint64_t overflows = 0;  // bursts of drops: each one started with an on_overflow call
  std::uint64_t discarded = 0;  // events still queued when the dispatcher stopped
  std::uint64_t handler_exceptions = 0;  // exceptions thrown by handlers
  std::size_t queued = 0;                // events waiting now (not the one a handler is running on)
  std::size_t high_water = 0;            // the most events ever waiting at once (<= capacity)
  std::size_t capacity = 0;
};

struct dispatcher_options {
  // The most events waiting at once (the handler's current one aside). Memory stays within
  // capacity + 1 events, each bounded by config::parser_limits. Must be at least 1.
  std::size_t capacity = 1024;
  // What happens when the queue is full. The default loses nothing silently.
  overflow_policy policy = overflow_policy::close_connection;
  // Called for the first drop of a burst (not for each event): the event that did not fit
  // (borrowed) and the counters at that moment. A burst ends once the handlers have drained
  // the queue to half its capacity, so a steady overload is one burst. Runs on the client's
  // executor, like a slot: it must not block. Exceptions are swallowed.
  std::function<void(const event& incoming, const dispatcher_stats& now)> on_overflow;
  // Receives what a handler threw, with the event being handled (empty when the handler
  // took the event by value), on the handler executor. Delivery goes on either way; without
  // it, exceptions are only counted. Exceptions it throws are swallowed.
  std::function<void(std::exception_ptr, const event&)> on_exception;
};

namespace detail {
class dispatch_queue;
}

class event_dispatcher {
 public:
  using executor_type = boost::asio::any_io_executor;

  // Feeds on `c`'s events (subscribe with on_event / on) and runs the handlers on
  // `handler_executor`. Throws std::invalid_argument when opts.capacity is 0.
  event_dispatcher(client& c, const executor_type& handler_executor, dispatcher_options opts = {});
  event_dispatcher(const event_dispatcher&) = delete;
  event_dispatcher& operator=(const event_dispatcher&) = delete;
  // A moved-from dispatcher may only be destroyed or assigned to.
  event_dispatcher(event_dispatcher&& other) noexcept;
  event_dispatcher& operator=(event_dispatcher&& other) noexcept;  // stops this one first
  ~event_dispatcher();

  // Subscriptions, each fed through this dispatcher's one queue. A handler takes the owned
  // event as `const ami::event&`, `ami::event&&` or `ami::event` (moved in: keep it at no
  // further cost). The returned connection removes just that subscription; stop() removes
  // them all. After stop(), or once the client is gone, they return an empty connection.

  // Every unsolicited event of the client.
  template <class F>
  boost::signals2::connection on_event(F&& handler) {
    return subscribe(std::nullopt, wrap(std::forward<F>(handler)));
  }
  // Events of one name (case-insensitive) or of a glob pattern ("Queue*", "Agent?").
  template <class F>
  boost::signals2::connection on_event(std::string_view name, F&& handler) {
    return subscribe(name, wrap(std::forward<F>(handler)));
  }
  // Typed events (ami/typed.hpp): the handler receives E::from(event), built on the handler
  // executor (the typed event's views point into the queued copy, valid during the call).
  template <class E, class F>
  boost::signals2::connection on(F&& handler) {
    static_assert(is_typed_event_v<E>, "E must follow the typed event contract of ami/typed.hpp");
    static_assert(std::is_invocable_v<std::decay_t<F>&, const E&>,
                  "the handler must be callable with const E&");
    return subscribe(E::event_name, [f = std::forward<F>(handler)](event& e) mutable {
      f(E::from(static_cast<const event&>(e)));
    });
  }

  // Disconnects from the client, discards the queued events (stats().discarded) and waits
  // for a handler call in progress on another thread (see the lifetime notes above).
  // Idempotent; the destructor calls it.
  void stop();

  // Safe from any thread, also after stop().
  dispatcher_stats stats() const;

 private:
  using handler_fn = std::function<void(event&)>;

  template <class F>
  static handler_fn wrap(F&& f) {
    static_assert(std::is_invocable_v<std::decay_t<F>&, event&&>,
                  "a handler takes const ami::event&, ami::event&& or ami::event");
    return [fn = std::forward<F>(f)](event& e) mutable { fn(std::move(e)); };
  }

  boost::signals2::connection subscribe(std::optional<std::string_view> name, handler_fn h);

  std::shared_ptr<detail::dispatch_queue> queue_;
};

}  // namespace ami
