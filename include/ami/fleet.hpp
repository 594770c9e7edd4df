// ami::fleet: many named PBX connections in one process, on one executor.
//
//   boost::asio::io_context io;
//   ami::fleet f{io};
//   auto all = f.on_event([](std::string_view pbx, const ami::event& e) { ... });
//   f.add("east", "ami://admin:secret@pbx-east");
//   f.add("west", "ami://admin:secret@pbx-west?reconnect=1");
//   f.async_send("east", ami::action("Ping"), [](auto ec, ami::response r) { ... });
//   io.run();
//
// Each PBX is an ami::client kept up by its async_run (reconnect and backoff as
// docs/resilience.md describes), from the moment it is added until it is removed or the
// fleet is destroyed.
//
// Threads: every member function may be called from any thread, including from inside the
// fleet's slots and completion handlers. Each PBX's client works on its own strand of the
// fleet's executor, so one io_context may be run by several threads. The combined slots
// (on_event, on_state) run on the strand of the PBX that produced the event or the change:
// the slots of one PBX run one at a time, in order; with several threads, slots of two
// distinct PBXs may run at the same time. Slots must not block (see ami/client.hpp) and
// receive borrowed events, valid only while the slot runs.
//
// Failures: adding a name already present is error::duplicate_pbx, an empty name
// error::invalid_pbx_name, a bad URL error::invalid_url. An action addressed to a name the
// fleet does not hold completes with error::unknown_pbx through its completion token;
// actions sent through the fleet that are still pending when their PBX is removed (or the
// fleet destroyed) complete with error::pbx_removed.
#pragma once

#include "ami/action.hpp"
#include "ami/client.hpp"
#include "ami/client_stats.hpp"
#include "ami/config.hpp"
#include "ami/connection_state.hpp"
#include "ami/error.hpp"
#include "ami/message.hpp"
#include "ami/response.hpp"
#include "ami/send_options.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/signals2/connection.hpp>
#include <boost/signals2/signal.hpp>
#include <boost/system/error_code.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ami {

// One PBX as the fleet sees it.
struct pbx_status {
  std::string name;
  std::string url;  // config::redacted(): the secret shown as "***"
  connection_state state = connection_state::disconnected;
  // The last failure of its connection (empty until one happened).
  boost::system::error_code last_error;
  std::string last_error_message;  // client::last_error_message() (the server's Message)
  client_stats stats;
};

// The whole fleet at one moment.
struct fleet_stats {
  std::size_t pbxs = 0;
  // PBXs in each state, indexed by connection_state.
  std::array<std::size_t, 7> by_state{};
  // The sum of every PBX's client_stats (last_parse_error: the first PBX's that has one).
  client_stats totals;

  std::size_t in(connection_state s) const noexcept {
    return by_state[static_cast<std::size_t>(s)];
  }
};

namespace detail {

// Calls every slot of a combined signal; the first exception is rethrown once all ran, so
// that the client whose strand emitted reports it (client::set_exception_handler).
struct fleet_combiner {
  using result_type = void;
  template <class Iterator>
  void operator()(Iterator first, Iterator last) const {
    std::exception_ptr failure;
    for (; first != last; ++first) {
      try {
        *first;
      } catch (...) {
        if (!failure) failure = std::current_exception();
      }
    }
    if (failure) std::rethrow_exception(failure);
  }
};

using fleet_event_signal =
    boost::signals2::signal<void(std::string_view, const event&), fleet_combiner>;
using fleet_state_signal = boost::signals2::signal<
    void(std::string_view, connection_state, const boost::system::error_code&), fleet_combiner>;

// Set when a PBX leaves the fleet, so its aborted actions say why.
using removal_flag = std::shared_ptr<const std::atomic<bool>>;

// Wraps the handler of an action sent through the fleet: operation_aborted caused by the
// PBX's removal becomes error::pbx_removed. The associator below keeps the handler's
// executor, allocator and cancellation slot.
template <class Handler>
struct removal_handler {
  Handler handler;
  removal_flag removed;

  template <class Result>
  void operator()(boost::system::error_code ec, Result r) {
    if (ec == boost::asio::error::operation_aborted && removed->load()) ec = error::pbx_removed;
    std::move(handler)(ec, std::move(r));
  }
};

class fleet_core;

struct initiate_fleet_send {
  std::shared_ptr<fleet_core> core;

  template <class Handler, class Action>
  void operator()(Handler&& handler, const std::string& pbx, Action&& a, send_options opts) const;
};

}  // namespace detail

class fleet {
 public:
  using executor_type = boost::asio::any_io_executor;
  using event_slot = detail::fleet_event_signal::slot_type;  // void(string_view pbx, event)
  // void(string_view pbx, connection_state, const error_code&)
  using state_slot = detail::fleet_state_signal::slot_type;

  explicit fleet(const executor_type& ex);
  explicit fleet(boost::asio::io_context& io);
  fleet(const fleet&) = delete;
  fleet& operator=(const fleet&) = delete;
  // Stops every PBX's run and closes its connection (see remove()).
  ~fleet();

  executor_type get_executor() const noexcept;

  // ---- membership

  // Adds a PBX and starts its async_run at once. `url` is parsed by config::from_url.
  // Errors: error::duplicate_pbx, error::invalid_pbx_name (empty), error::invalid_url.
  void add(std::string name, std::string_view url, boost::system::error_code& ec);
  void add(std::string name, config cfg, boost::system::error_code& ec);
  // The same, throwing boost::system::system_error (never with the secret in its message).
  void add(std::string name, std::string_view url);
  void add(std::string name, config cfg);

  // Removes a PBX: its run ends and its connection closes, its combined-signal slots are
  // disconnected (a slot already running on another thread finishes), the actions sent
  // through the fleet still pending complete with error::pbx_removed, and on_state slots get
  // one last (name, disconnected, error::pbx_removed) on that PBX's strand. Returns false
  // when the fleet does not hold that name.
  bool remove(std::string_view name);

  bool contains(std::string_view name) const;
  std::size_t size() const;
  // The names, sorted.
  std::vector<std::string> names() const;

  // The PBX's own client (its signals, async_command, async_originate, ...); null for an
  // unknown name. The client stays valid as long as the pointer is held, also after its
  // removal (then it is closed and no longer run by the fleet).
  std::shared_ptr<client> get(std::string_view name) const;

  // ---- actions

  // Sends through the named PBX's client::async_send, with the same completion tokens and
  // errors, plus error::unknown_pbx (nothing was sent; the handler runs through its
  // associated executor, by default the fleet's, never inside this call) and
  // error::pbx_removed. Signature: void(error_code, ami::response). Typed actions too.
  template <class Action, class Token>
  auto async_send(std::string_view pbx, Action&& a, Token&& token) {
    return async_send(pbx, std::forward<Action>(a), send_options{}, std::forward<Token>(token));
  }
  template <class Action, class Token>
  auto async_send(std::string_view pbx, Action&& a, send_options opts, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, response)>(
        detail::initiate_fleet_send{core_}, token, std::string(pbx), std::forward<Action>(a), opts);
  }

  // ---- signals (slots run on the emitting PBX's strand)

  // Every unsolicited event of every PBX, with the PBX's name.
  boost::signals2::connection on_event(const event_slot& slot);
  // Every state change of every PBX, with its name and the reason (as client::on_state).
  boost::signals2::connection on_state(const state_slot& slot);

  // ---- information (safe from any thread)

  std::optional<connection_state> state(std::string_view name) const;
  std::optional<pbx_status> status(std::string_view name) const;
  // Every PBX, sorted by name.
  std::vector<pbx_status> statuses() const;
  fleet_stats stats() const;

 private:
  std::shared_ptr<detail::fleet_core> core_;
};

namespace detail {

// The shared part of a fleet: the PBXs by name and the combined signals.
class fleet_core {
 public:
  explicit fleet_core(fleet::executor_type ex) : ex_(std::move(ex)) {}

  // The client of a PBX and its removal flag; {} for an unknown name.
  std::pair<std::shared_ptr<client>, removal_flag> find(std::string_view name) const;

  const fleet::executor_type& executor() const noexcept { return ex_; }

  struct entry;  // defined in src/fleet/fleet.cpp

 private:
  friend class ami::fleet;

  fleet::executor_type ex_;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<entry>> entries_;  // sorted by name
  std::shared_ptr<fleet_event_signal> events_ = std::make_shared<fleet_event_signal>();
  std::shared_ptr<fleet_state_signal> states_ = std::make_shared<fleet_state_signal>();
};

template <class Handler, class Action>
void initiate_fleet_send::operator()(Handler&& handler, const std::string& pbx, Action&& a,
                                     send_options opts) const {
  auto [c, removed] = core->find(pbx);
  if (!c) {
    auto ex = boost::asio::get_associated_executor(handler, core->executor());
    boost::asio::post(ex, [h = std::forward<Handler>(handler)]() mutable {
      std::move(h)(boost::system::error_code(error::unknown_pbx), response{});
    });
    return;
  }
  c->async_send(
      std::forward<Action>(a), opts,
      removal_handler<std::decay_t<Handler>>{std::forward<Handler>(handler), std::move(removed)});
}

}  // namespace detail
}  // namespace ami

namespace boost::asio {
// The wrapped handler keeps the associated executor, allocator and cancellation slot of the
// user's handler.
template <template <class, class> class Associator, class Handler, class DefaultCandidate>
struct associator<Associator, ami::detail::removal_handler<Handler>, DefaultCandidate>
    : Associator<Handler, DefaultCandidate> {
  static typename Associator<Handler, DefaultCandidate>::type get(
      const ami::detail::removal_handler<Handler>& h) noexcept {
    return Associator<Handler, DefaultCandidate>::get(h.handler);
  }
  static auto get(const ami::detail::removal_handler<Handler>& h,
                  const DefaultCandidate& c) noexcept
      -> decltype(Associator<Handler, DefaultCandidate>::get(h.handler, c)) {
    return Associator<Handler, DefaultCandidate>::get(h.handler, c);
  }
};
}  // namespace boost::asio
