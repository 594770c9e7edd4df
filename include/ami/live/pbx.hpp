// ami::live::pbx: the live state of the PBX behind an ami::client, kept current.
//
//   ami::client c{io};
//   ami::live::pbx pbx{c};
//   auto done = pbx.on_sync_finished([](const ami::live::sync_report& r) { ... });
//   c.async_run(cfg, [](auto) {});
//   ...
//   std::shared_ptr<const ami::live::state> s = pbx.snapshot();  // from any thread
//
// On every login (the first, and each one after a reconnect, with async_connect or
// async_run) it syncs: it sends the list actions of list_actions(), buffers the events that
// race them, and builds the state with the synchroniser (ami/live/sync.hpp), reporting what
// differs from the state before the reconnect. After that it follows events alone. A
// disconnect abandons a sync in progress; the next login starts another.
//
// Threads: pbx works on the client's strand, where the client runs its slots and handlers,
// and its signals run there too, under the client's rules (do not block; the states and
// events passed are valid while the slot runs; copy a state, O(1), to keep it). snapshot(),
// synced(), counters and the on_* connections may be used from any thread. Construct and
// destroy a pbx on the client's strand, or while its io_context is not running; destroy it
// before the client. Pending refreshes complete with operation_aborted when it is destroyed.
#pragma once

#include "ami/client.hpp"
#include "ami/detail/signals.hpp"
#include "ami/live/change.hpp"
#include "ami/live/reducer.hpp"
#include "ami/live/state.hpp"
#include "ami/live/sync.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/signals2/connection.hpp>
#include <boost/signals2/signal.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace ami::live {

struct pbx_options {
  reducer_options reducer;
  // The timeout of each list action (unset: the client's config::action_timeout). A list
  // not answered in time counts as failed and the sync goes on without it.
  std::optional<std::chrono::milliseconds> list_timeout;
};

// The counters of a pbx (readable from any thread).
struct pbx_stats {
  std::uint64_t syncs = 0;            // full syncs finished
  std::uint64_t syncs_abandoned = 0;  // cut off by a disconnect
  std::uint64_t refreshes = 0;        // partial syncs finished
  std::uint64_t events_applied = 0;   // live events the model follows
  anomaly_counts anomalies;           // of live events (a sync's are in its report)
  std::uint64_t slot_exceptions = 0;  // thrown by pbx slots (see set_exception_handler)
};

namespace detail {

// A pending async_refresh: the user's handler, type-erased, with its executor's work.
class refresh_op {
 public:
  refresh_op() = default;
  refresh_op(const refresh_op&) = delete;
  refresh_op& operator=(const refresh_op&) = delete;
  virtual ~refresh_op() = default;
  // Posts the handler through its executor (never runs it inside this call).
  virtual void complete(const boost::system::error_code& ec, sync_report report) = 0;
};
using refresh_op_ptr = std::unique_ptr<refresh_op>;

template <class Handler>
class refresh_op_impl final : public refresh_op {
 public:
  using work_executor = std::decay_t<decltype(boost::asio::prefer(
      std::declval<boost::asio::associated_executor_t<Handler, boost::asio::any_io_executor>>(),
      boost::asio::execution::outstanding_work.tracked))>;

  template <class H>
  refresh_op_impl(H&& h, const boost::asio::any_io_executor& own)
      : handler_(std::forward<H>(h)),
        work_(boost::asio::prefer(boost::asio::get_associated_executor(handler_, own),
                                  boost::asio::execution::outstanding_work.tracked)) {}

  void complete(const boost::system::error_code& ec, sync_report report) override {
    boost::asio::post(work_, boost::asio::append(std::move(handler_), ec, std::move(report)));
  }

 private:
  Handler handler_;
  work_executor work_;
};

struct pbx_core;
void pbx_refresh(const std::shared_ptr<pbx_core>& core, list_set what, refresh_op_ptr op);
const boost::asio::any_io_executor& pbx_executor(const pbx_core& core) noexcept;

struct initiate_refresh {
  std::shared_ptr<pbx_core> core;
  template <class Handler>
  void operator()(Handler&& h, list_set what) const {
    pbx_refresh(core, what,
                std::make_unique<refresh_op_impl<std::decay_t<Handler>>>(std::forward<Handler>(h),
                                                                         pbx_executor(*core)));
  }
};

}  // namespace detail

class pbx {
 public:
  template <class Sig>
  using signal = boost::signals2::signal<Sig, ami::detail::guarded_combiner>;
  using sync_started_signal = signal<void()>;
  using sync_finished_signal = signal<void(const sync_report&)>;
  // A live event the model follows, with what it changed (possibly nothing).
  using event_signal = signal<void(const ami::event&, const std::vector<change>&)>;
  // One change, with the states before and after it (of the event, the sync or the refresh
  // that made it), so a slot can read the old and the new value.
  using change_signal = signal<void(const change&, const state& before, const state& after)>;
  // An anomaly of a live event (an event for something the model lacks), with the event.
  using anomaly_signal = signal<void(anomaly, const ami::event&)>;
  using exception_handler = std::function<void(std::exception_ptr)>;

  explicit pbx(ami::client& c, pbx_options options = {});
  pbx(const pbx&) = delete;
  pbx& operator=(const pbx&) = delete;
  ~pbx();

  // The state as last published: after the last sync and every event applied since. Before
  // the first sync, an empty state. Safe from any thread; the value never changes.
  std::shared_ptr<const state> snapshot() const;
  // True once a sync finished on the current session; false while syncing and disconnected.
  bool synced() const noexcept;
  pbx_stats stats() const;

  // Re-lists these kinds (one, or a list_set) and merges them with the events that race the
  // lists, as a sync does for all of them: for what Asterisk sends no event for, such as
  // queue statistics. Signature: void(error_code, sync_report): the report says what the
  // refresh changed against the live state. Completes with error::not_connected when not
  // logged in and with error::connection_lost when the session ends first. Requests made
  // during a sync or another refresh are joined into one refresh that follows it.
  template <class Token>
  auto async_refresh(list_set what, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, sync_report)>(
        detail::initiate_refresh{core_}, token, what);
  }

  // ---- signals: each returns a connection; slots run on the client's strand.
  boost::signals2::connection on_sync_started(const sync_started_signal::slot_type& slot);
  boost::signals2::connection on_sync_finished(const sync_finished_signal::slot_type& slot);
  boost::signals2::connection on_event_applied(const event_signal::slot_type& slot);
  boost::signals2::connection on_change(const change_signal::slot_type& slot);
  boost::signals2::connection on_anomaly(const anomaly_signal::slot_type& slot);

  // Receives exceptions thrown by the slots above; the other slots still run and the state
  // goes on. Without a handler they are only counted (stats().slot_exceptions).
  void set_exception_handler(exception_handler h);

 private:
  std::shared_ptr<detail::pbx_core> core_;
};

}  // namespace ami::live
