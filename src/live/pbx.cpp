// The Asio side of the live state: feeds the client's events and list answers to the
// reducer and the synchroniser, hands out snapshots, emits the signals. Everything but
// snapshot(), synced() and stats() runs on the client's strand.
#include "ami/live/pbx.hpp"

#include "ami/error.hpp"

#include <boost/asio/dispatch.hpp>

#include <array>
#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace ami::live {

namespace detail {

namespace {

// ActionIDs of the list actions: unique across every pbx of the process, so that the list
// items and closing events of one sync are told from those of an abandoned one and from
// the user's own actions.
std::atomic<std::uint64_t> next_sync_id{1};

}  // namespace

struct pbx_core final : std::enable_shared_from_this<pbx_core>, ami::detail::slot_exception_sink {
  enum class phase {
    idle,     // not logged in (or the sync not started yet)
    syncing,  // a full sync after a login
    live,     // following events
    refreshing,
  };

  pbx_core(ami::client& cl, pbx_options o)
      : c(cl),
        executor(cl.get_executor()),
        options(std::move(o)),
        model(options.reducer),
        sync(options.reducer),
        published(std::make_shared<const state>()),
        sync_started(ami::detail::guarded_combiner{this}),
        sync_finished(ami::detail::guarded_combiner{this}),
        applied(ami::detail::guarded_combiner{this}),
        changed(ami::detail::guarded_combiner{this}),
        anomalous(ami::detail::guarded_combiner{this}) {}

  void report(std::exception_ptr e) noexcept override {
    pbx::exception_handler h;
    {
      std::lock_guard<std::mutex> lock(mu);
      ++counters.slot_exceptions;
      h = on_exception;
    }
    if (h) {
      try {
        h(e);
      } catch (...) {  // the handler's own failure has nowhere further to go
      }
    }
  }

  void attach() {
    std::weak_ptr<pbx_core> weak = shared_from_this();
    subscriptions.emplace_back(c.on_state([weak](connection_state s, boost::system::error_code) {
      if (auto self = weak.lock()) self->on_state(s);
    }));
    subscriptions.emplace_back(c.on_event([weak](const ami::event& e) {
      if (auto self = weak.lock()) self->on_event(e);
    }));
    subscriptions.emplace_back(c.on_list_item([weak](const ami::event& e) {
      if (auto self = weak.lock()) self->on_list_item(e);
    }));
    // Attached to a session that is already up: sync it as if it had just logged in.
    boost::asio::dispatch(executor, [weak] {
      auto self = weak.lock();
      if (self && self->current == phase::idle && self->c.state() == connection_state::logged_in) {
        self->start(list_set::all(), true);
      }
    });
  }

  void on_state(connection_state s) {
    if (s == connection_state::logged_in) {
      start(list_set::all(), true);
      return;
    }
    abandon();
  }

  // The session is gone: a sync in progress is abandoned (its late answers carry an old
  // generation) and waiting refreshes fail; the next login syncs everything.
  void abandon() {
    if (current == phase::idle) return;
    if (current == phase::syncing) {
      std::lock_guard<std::mutex> lock(mu);
      ++counters.syncs_abandoned;
    }
    ++generation;
    current = phase::idle;
    is_synced.store(false, std::memory_order_release);
    fail_refreshes(ami::error::connection_lost);
  }

  void fail_refreshes(const boost::system::error_code& ec) {
    auto ops = std::move(waiting_now);
    waiting_now.clear();
    for (auto& op : waiting_next) ops.push_back(std::move(op));
    waiting_next.clear();
    wanted_next = {};
    for (auto& op : ops) op->complete(ec, {});
  }

  // Starts a sync: of every kind after a login (full), of some for a refresh.
  void start(list_set kinds, bool full) {
    ++generation;
    current = full ? phase::syncing : phase::refreshing;
    if (full) is_synced.store(false, std::memory_order_release);
    base = model.current();
    sync.begin(kinds);
    outstanding = kinds;
    places = {};
    const std::uint64_t id = next_sync_id.fetch_add(1, std::memory_order_relaxed);
    if (full) sync_started();
    for (const auto& a : list_actions()) {
      if (!kinds.contains(a.kind)) continue;
      auto& aid = action_ids[static_cast<std::size_t>(a.kind)];
      aid = "ami-live-" + std::to_string(id) + "-" + std::string(to_string(a.kind));
      ami::action act{std::string(a.action)};
      act.set("ActionID", aid);
      ami::send_options opts;
      opts.timeout = options.list_timeout;
      opts.wait_for_session = false;  // a list is only worth its session
      std::weak_ptr<pbx_core> weak = shared_from_this();
      c.async_send(std::move(act), opts,
                   [weak, gen = generation, kind = a.kind](boost::system::error_code ec,
                                                           const ami::response& r) {
                     if (auto self = weak.lock()) self->on_answer(gen, kind, ec, r);
                   });
    }
  }

  void on_list_item(const ami::event& e) {
    if (current != phase::syncing && current != phase::refreshing) return;
    const auto aid = e.get("ActionID");
    if (!aid) return;
    for (const auto& a : list_actions()) {
      const auto k = static_cast<std::size_t>(a.kind);
      if (outstanding.contains(a.kind) && *aid == action_ids[k] &&
          iequals(e.event_name(), a.complete_event)) {
        places[k] = sync.buffered();
      }
    }
  }

  void on_answer(std::uint64_t gen, list_kind kind, const boost::system::error_code& ec,
                 const ami::response& r) {
    if (gen != generation || !outstanding.contains(kind)) return;
    if (ec == ami::error::connection_lost || ec == ami::error::not_connected) {
      abandon();  // the answers still missing will not come on this session
      return;
    }
    const auto k = static_cast<std::size_t>(kind);
    if (!ec || ec == ami::error::action_failed) {
      sync.on_list(kind, r, places[k].value_or(sync.buffered()));
    } else {
      sync.on_list_failed(kind);  // timeout, an incomplete list, the session ending
    }
    outstanding.erase(kind);
    if (outstanding.empty()) finish();
  }

  void finish() {
    const bool full = current == phase::syncing;
    sync_report rep;
    state after = sync.finish(base, clock::now(), rep);
    state before;
    if (full) {
      before = std::move(base);  // the state before the reconnect
    } else {
      // The model followed the events live meanwhile: report against that.
      before = model.current();
      rep.changes = diff(before, after);
    }
    base = state{};
    current = phase::live;
    {
      std::lock_guard<std::mutex> lock(mu);
      model.reset(after);
      stale = true;
      ++(full ? counters.syncs : counters.refreshes);
    }
    if (full) is_synced.store(true, std::memory_order_release);
    if (!changed.empty()) {
      for (const auto& ch : rep.changes) changed(ch, before, after);
    }
    auto done = std::move(waiting_now);
    waiting_now.clear();
    if (full) sync_finished(rep);
    for (auto& op : done) op->complete({}, rep);
    if (!wanted_next.empty() && current == phase::live) {
      const list_set next = wanted_next;
      wanted_next = {};
      waiting_now = std::move(waiting_next);
      waiting_next.clear();
      start(next, false);
    }
  }

  void on_event(const ami::event& e) {
    const auto now = clock::now();
    if (current == phase::syncing) {
      sync.on_event(e, now);  // applied once the lists are in
      return;
    }
    if (current == phase::refreshing) sync.on_event(e, now);
    if (!reducer::follows(e.event_name())) return;
    std::optional<state> before;
    if (!changed.empty()) before = model.current();
    const std::vector<change>* changes = nullptr;
    {
      // Written under the lock that snapshot() takes to copy it; read freely on the strand.
      std::lock_guard<std::mutex> lock(mu);
      changes = &model.apply(e, now);
      if (!changes->empty()) stale = true;
      ++counters.events_applied;
      counters.anomalies = model.anomalies();
    }
    const auto& anomalies = model.last_anomalies();
    if (!anomalous.empty()) {
      for (const auto a : anomalies) anomalous(a, e);
    }
    if (!applied.empty()) applied(e, *changes);
    if (before) {
      for (const auto& ch : *changes) changed(ch, *before, model.current());
    }
  }

  void refresh(list_set what, refresh_op_ptr op) {
    if (what.empty()) {
      op->complete({}, {});
      return;
    }
    switch (current) {
      case phase::idle: op->complete(ami::error::not_connected, {}); return;
      case phase::live:
        waiting_now.push_back(std::move(op));
        start(what, false);
        return;
      case phase::syncing:
      case phase::refreshing:
        wanted_next.insert(what);
        waiting_next.push_back(std::move(op));
        return;
    }
  }

  void detach() {
    subscriptions.clear();
    ++generation;
    current = phase::idle;
    fail_refreshes(boost::asio::error::operation_aborted);
  }

  ami::client& c;
  boost::asio::any_io_executor executor;
  pbx_options options;
  reducer model;
  synchroniser sync;

  // Strand state.
  phase current = phase::idle;
  std::uint64_t generation = 0;
  state base;  // the state when the running sync began
  list_set outstanding;
  std::array<std::optional<std::size_t>, list_kinds> places{};
  std::array<std::string, list_kinds> action_ids{};
  std::vector<refresh_op_ptr> waiting_now;   // complete when the running sync finishes
  std::vector<refresh_op_ptr> waiting_next;  // joined into the refresh that follows it
  list_set wanted_next;
  std::vector<boost::signals2::scoped_connection> subscriptions;

  // Shared with other threads.
  mutable std::mutex mu;
  // The snapshot is taken when asked for, not after every event: an O(1) copy of the model,
  // but one that makes the next event copy the nodes it changes instead of writing in place.
  std::shared_ptr<const state> published;
  bool stale = false;  // the model moved since `published` was taken
  pbx_stats counters;
  pbx::exception_handler on_exception;
  std::atomic<bool> is_synced{false};

  pbx::sync_started_signal sync_started;
  pbx::sync_finished_signal sync_finished;
  pbx::event_signal applied;
  pbx::change_signal changed;
  pbx::anomaly_signal anomalous;
};

void pbx_refresh(const std::shared_ptr<pbx_core>& core, list_set what, refresh_op_ptr op) {
  // Always through the strand, so the handler never runs inside the initiating call.
  boost::asio::post(core->executor,
                    [weak = std::weak_ptr<pbx_core>(core), what, op = std::move(op)]() mutable {
                      if (auto self = weak.lock()) {
                        self->refresh(what, std::move(op));
                      } else {
                        op->complete(boost::asio::error::operation_aborted, {});
                      }
                    });
}

const boost::asio::any_io_executor& pbx_executor(const pbx_core& core) noexcept {
  return core.executor;
}

}  // namespace detail

pbx::pbx(ami::client& c, pbx_options options)
    : core_(std::make_shared<detail::pbx_core>(c, std::move(options))) {
  core_->attach();
}

pbx::~pbx() { core_->detach(); }

std::shared_ptr<const state> pbx::snapshot() const {
  std::shared_ptr<const state> old;  // released after the lock
  std::lock_guard<std::mutex> lock(core_->mu);
  if (core_->stale) {
    old = std::exchange(core_->published, std::make_shared<const state>(core_->model.current()));
    core_->stale = false;
  }
  return core_->published;
}

bool pbx::synced() const noexcept { return core_->is_synced.load(std::memory_order_acquire); }

pbx_stats pbx::stats() const {
  std::lock_guard<std::mutex> lock(core_->mu);
  return core_->counters;
}

boost::signals2::connection pbx::on_sync_started(const sync_started_signal::slot_type& slot) {
  return core_->sync_started.connect(slot);
}
boost::signals2::connection pbx::on_sync_finished(const sync_finished_signal::slot_type& slot) {
  return core_->sync_finished.connect(slot);
}
boost::signals2::connection pbx::on_event_applied(const event_signal::slot_type& slot) {
  return core_->applied.connect(slot);
}
boost::signals2::connection pbx::on_change(const change_signal::slot_type& slot) {
  return core_->changed.connect(slot);
}
boost::signals2::connection pbx::on_anomaly(const anomaly_signal::slot_type& slot) {
  return core_->anomalous.connect(slot);
}

void pbx::set_exception_handler(exception_handler h) {
  std::lock_guard<std::mutex> lock(core_->mu);
  core_->on_exception = std::move(h);
}

}  // namespace ami::live
