#include "ami/fleet.hpp"

#include <boost/system/system_error.hpp>

#include <algorithm>

namespace ami {
namespace detail {

struct fleet_core::entry {
  entry(std::string n, config c, const fleet::executor_type& ex)
      : name(std::move(n)),
        cfg(std::move(c)),
        url(cfg.redacted()),
        pbx(std::make_shared<client>(ex)) {}

  const std::string name;
  const config cfg;
  const std::string url;
  const std::shared_ptr<client> pbx;
  const std::shared_ptr<std::atomic<bool>> removed = std::make_shared<std::atomic<bool>>(false);
  boost::signals2::scoped_connection events;
  boost::signals2::scoped_connection states;

  mutable std::mutex mutex;  // guards last_error
  boost::system::error_code last_error;

  void failed(const boost::system::error_code& ec) {
    const std::lock_guard<std::mutex> lock(mutex);
    last_error = ec;
  }
};

namespace {

using entry_ptr = std::shared_ptr<fleet_core::entry>;

template <class Entries>
auto lower_bound_by_name(Entries& entries, std::string_view name) {
  return std::lower_bound(entries.begin(), entries.end(), name,
                          [](const auto& e, std::string_view n) { return e->name < n; });
}

}  // namespace

std::pair<std::shared_ptr<client>, removal_flag> fleet_core::find(std::string_view name) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  auto it = lower_bound_by_name(entries_, name);
  if (it == entries_.end() || (*it)->name != name) return {};
  return {(*it)->pbx, (*it)->removed};
}

}  // namespace detail

using detail::fleet_core;

namespace {

pbx_status status_of(const fleet_core::entry& e) {
  pbx_status s;
  s.name = e.name;
  s.url = e.url;
  s.state = e.pbx->state();
  {
    const std::lock_guard<std::mutex> lock(e.mutex);
    s.last_error = e.last_error;
  }
  s.last_error_message = e.pbx->last_error_message();
  s.stats = e.pbx->stats();
  return s;
}

void add_stats(client_stats& sum, const client_stats& s) {
  sum.unmatched += s.unmatched;
  sum.late += s.late;
  sum.parse_errors += s.parse_errors;
  if (!sum.last_parse_error) sum.last_parse_error = s.last_parse_error;
  sum.slot_exceptions += s.slot_exceptions;
  sum.slow_slots += s.slow_slots;
}

}  // namespace

fleet::fleet(const executor_type& ex) : core_(std::make_shared<fleet_core>(ex)) {}

fleet::fleet(boost::asio::io_context& io) : fleet(executor_type(io.get_executor())) {}

fleet::~fleet() {
  std::vector<std::shared_ptr<fleet_core::entry>> gone;
  {
    const std::lock_guard<std::mutex> lock(core_->mutex_);
    gone.swap(core_->entries_);
  }
  for (auto& e : gone) {
    e->removed->store(true);
    e->events.disconnect();
    e->states.disconnect();
    e->pbx->close();
  }
}

fleet::executor_type fleet::get_executor() const noexcept { return core_->ex_; }

void fleet::add(std::string name, std::string_view url, boost::system::error_code& ec) {
  config cfg = config::from_url(url, ec);
  if (ec) return;
  add(std::move(name), std::move(cfg), ec);
}

void fleet::add(std::string name, config cfg, boost::system::error_code& ec) {
  ec = {};
  if (name.empty()) {
    ec = error::invalid_pbx_name;
    return;
  }
  auto e = std::make_shared<fleet_core::entry>(std::move(name), std::move(cfg), core_->ex_);
  // The slots hold the signals, not the fleet, so that a client kept by a user after the
  // fleet is gone never reaches freed memory.
  e->events =
      e->pbx->on_event([sig = core_->events_, n = e->name](const event& ev) { (*sig)(n, ev); });
  // The entry is reached through a weak pointer: the client (which holds this slot) must not
  // keep its own entry alive.
  e->states =
      e->pbx->on_state([sig = core_->states_, weak = std::weak_ptr<fleet_core::entry>(e),
                        n = e->name](connection_state st, const boost::system::error_code& why) {
        if (why) {
          if (auto held = weak.lock()) held->failed(why);
        }
        (*sig)(n, st, why);
      });
  {
    const std::lock_guard<std::mutex> lock(core_->mutex_);
    auto it = detail::lower_bound_by_name(core_->entries_, e->name);
    if (it != core_->entries_.end() && (*it)->name == e->name) {
      ec = error::duplicate_pbx;
      return;  // the entry's scoped connections go with it; its client never ran
    }
    core_->entries_.insert(it, e);
  }
  // The run ends only when the PBX is removed, or when config says not to retry (login
  // refused with login_failure stop, reconnecting off): then the PBX stays, disconnected,
  // with the failure as its last error.
  e->pbx->async_run(
      e->cfg, [weak = std::weak_ptr<fleet_core::entry>(e)](const boost::system::error_code& ended) {
        auto held = weak.lock();
        if (held && ended && ended != boost::asio::error::operation_aborted) held->failed(ended);
      });
}

void fleet::add(std::string name, std::string_view url) {
  boost::system::error_code ec;
  add(std::move(name), url, ec);
  if (ec) throw boost::system::system_error(ec, "ami::fleet::add");
}

void fleet::add(std::string name, config cfg) {
  boost::system::error_code ec;
  add(std::move(name), std::move(cfg), ec);
  if (ec) throw boost::system::system_error(ec, "ami::fleet::add");
}

bool fleet::remove(std::string_view name) {
  std::shared_ptr<fleet_core::entry> e;
  {
    const std::lock_guard<std::mutex> lock(core_->mutex_);
    auto it = detail::lower_bound_by_name(core_->entries_, name);
    if (it == core_->entries_.end() || (*it)->name != name) return false;
    e = std::move(*it);
    core_->entries_.erase(it);
  }
  // The flag first: close() aborts the pending actions, whose handlers read it.
  e->removed->store(true);
  e->events.disconnect();
  e->states.disconnect();
  e->pbx->close();
  // After close(), on the PBX's strand, so that it follows every change the slots saw.
  boost::asio::post(e->pbx->get_executor(), [sig = core_->states_, n = e->name] {
    (*sig)(n, connection_state::disconnected, boost::system::error_code(error::pbx_removed));
  });
  return true;
}

bool fleet::contains(std::string_view name) const { return core_->find(name).first != nullptr; }

std::size_t fleet::size() const {
  const std::lock_guard<std::mutex> lock(core_->mutex_);
  return core_->entries_.size();
}

std::vector<std::string> fleet::names() const {
  const std::lock_guard<std::mutex> lock(core_->mutex_);
  std::vector<std::string> out;
  out.reserve(core_->entries_.size());
  for (const auto& e : core_->entries_) out.push_back(e->name);
  return out;
}

std::shared_ptr<client> fleet::get(std::string_view name) const { return core_->find(name).first; }

boost::signals2::connection fleet::on_event(const event_slot& slot) {
  return core_->events_->connect(slot);
}

boost::signals2::connection fleet::on_state(const state_slot& slot) {
  return core_->states_->connect(slot);
}

std::optional<connection_state> fleet::state(std::string_view name) const {
  auto c = get(name);
  if (!c) return std::nullopt;
  return c->state();
}

std::optional<pbx_status> fleet::status(std::string_view name) const {
  std::shared_ptr<fleet_core::entry> e;
  {
    const std::lock_guard<std::mutex> lock(core_->mutex_);
    auto it = detail::lower_bound_by_name(core_->entries_, name);
    if (it == core_->entries_.end() || (*it)->name != name) return std::nullopt;
    e = *it;
  }
  return status_of(*e);
}

std::vector<pbx_status> fleet::statuses() const {
  std::vector<std::shared_ptr<fleet_core::entry>> all;
  {
    const std::lock_guard<std::mutex> lock(core_->mutex_);
    all = core_->entries_;
  }
  std::vector<pbx_status> out;
  out.reserve(all.size());
  for (const auto& e : all) out.push_back(status_of(*e));
  return out;
}

fleet_stats fleet::stats() const {
  std::vector<std::shared_ptr<fleet_core::entry>> all;
  {
    const std::lock_guard<std::mutex> lock(core_->mutex_);
    all = core_->entries_;
  }
  fleet_stats s;
  s.pbxs = all.size();
  for (const auto& e : all) {
    const auto st = static_cast<std::size_t>(e->pbx->state());
    if (st < s.by_state.size()) ++s.by_state[st];
    add_stats(s.totals, e->pbx->stats());
  }
  return s;
}

}  // namespace ami
