// ami::client: an asynchronous AMI client on Boost.Asio.
//
//   boost::asio::io_context io;
//   ami::client c{io};
//   auto hangups = c.on_event("Hangup", [](const ami::event& e) { ... });
//   c.async_connect(ami::config::from_url("ami://admin:secret@pbx"), [&](auto ec) {
//     c.async_send(ami::action("Ping"), [](auto ec, ami::response r) { ... });
//   });
//   io.run();
//
// Completion tokens: every async_* function goes through boost::asio::async_initiate, so a
// callback, use_future, use_awaitable, deferred, as_tuple(...) and redirect_error(...) all
// work. Handlers run through their associated executor (by default the client's strand)
// and are never invoked inside the initiating call.
//
// Threads: every member function may be called from any thread. The client works on a
// strand of the executor it was given, so one io_context may be run by several threads.
// Slots run on that strand, one event at a time: they must not block (Asterisk drops a
// client that does not read for its writetimeout). Slots receive borrowed events, valid
// only while the slot runs; copy an event (ami::event copy = one allocation) to keep it.
// Slow work goes through an ami::event_dispatcher (ami/event_dispatcher.hpp), and slots
// slower than config::slow_slot_threshold are reported.
//
// Operations and failures: a Response: Error completes with error::action_failed and still
// delivers the response. Every action has a timeout (config::action_timeout, or
// send_options::timeout): error::action_timeout. A handler's cancellation slot (terminal,
// partial or total) completes that operation with asio::error::operation_aborted and the
// connection stays usable; the late answer is dropped by its ActionID. When the connection
// ends every pending action completes at once with error::connection_lost, unless async_run
// is active and the action was marked send_options::retry (it is written again after the
// next login) or was still waiting in the queue. Destroying the client completes every
// pending operation with operation_aborted.
//
// Lifetime: the client may be destroyed from inside one of its slots or completion
// handlers. A moved-from client may only be destroyed or assigned to.
#pragma once

#include "ami/action.hpp"
#include "ami/client_stats.hpp"
#include "ami/config.hpp"
#include "ami/connection_state.hpp"
#include "ami/detail/async_ops.hpp"
#include "ami/detail/signals.hpp"
#include "ami/error.hpp"
#include "ami/message.hpp"
#include "ami/originate.hpp"
#include "ami/proto/banner.hpp"
#include "ami/response.hpp"
#include "ami/send_options.hpp"
#include "ami/typed.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/signals2/connection.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace ami {

class event_dispatcher;

class client {
 public:
  using executor_type = boost::asio::any_io_executor;
  using event_slot = detail::event_signal::slot_type;  // void(const ami::event&)
  using state_slot = detail::state_signal::slot_type;  // void(connection_state, error_code)
  using transition_slot = detail::transition_signal::slot_type;  // void(const state_transition&)
  using exception_handler = std::function<void(std::exception_ptr, const event&)>;

  explicit client(const executor_type& ex);
  explicit client(boost::asio::io_context& io);
  client(const client&) = delete;
  client& operator=(const client&) = delete;
  client(client&&) noexcept = default;
  client& operator=(client&& other) noexcept;
  ~client();

  // The client's strand (an executor of the io_context given at construction).
  executor_type get_executor() const noexcept;

  // ---- connection

  // Connects (resolve, TCP, within connect_timeout), reads the banner, logs in (Challenge
  // first for MD5; within login_timeout). Signature: void(error_code).
  //   error::login_failed    the server refused; last_error_message() has its Message
  //   error::connect_timeout, error::login_timeout, error::connection_lost
  //   asio errors of the TCP connect (connection_refused, host_not_found, ...)
  //   asio::error::already_connected / in_progress when not disconnected; in_progress
  //                          while async_run is active
  //   error::tls_verify_failed  the server's certificate did not verify (config::tls);
  //                          last_error_message() has OpenSSL's reason
  //   asio.ssl errors of a failed TLS handshake; errors of TLS files that cannot be loaded
  // Actions sent while connecting wait in the queue and go out once logged in.
  template <class Token>
  auto async_connect(config cfg, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        detail::initiate_connect{core_}, token, std::move(cfg));
  }

  // Keeps a session up until told to stop (docs/resilience.md). Connects and logs in like
  // async_connect; when the attempt fails or the session is lost (the server closed, a
  // keepalive timeout), waits a random backoff (config::reconnect_*) and tries again, for
  // as long as it takes. After each login it restores the event mask (the EventMask of the
  // last successful Events action, as the Login's Events) and re-sends the Filters that
  // succeeded, before any waiting action. Every step is reported by on_state and
  // on_transition (backing_off carries the delay).
  // Signature: void(error_code), once the run ends:
  //   success               async_logoff ended the session (or was called between attempts)
  //   operation_aborted     close(), cancel(), the handler's cancellation slot, or the
  //                         client was destroyed. cancel() and a cancellation slot leave a
  //                         logged-in session up (no longer supervised); close() ends it
  //   error::login_failed   the server refused the login and config::login_failure is stop
  //   the failure itself    when config::reconnect_initial is 0 (reconnecting is off)
  //   a configuration error at once (a TLS file that cannot be loaded, a login field with
  //                         CR or LF)
  //   asio::error::in_progress  a run or a connect is already active
  //   asio::error::already_connected  async_connect's session is logged in
  // While a run is active async_connect fails with in_progress. Actions sent while the run
  // is between sessions wait (send_options::wait_for_session) and go out after the next
  // login; those written when the connection was lost complete with connection_lost unless
  // marked send_options::retry, which are written again.
  template <class Token>
  auto async_run(config cfg, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        detail::initiate_run{core_}, token, std::move(cfg));
  }

  // Sends Logoff; completes once the server answered Goodbye and closed the connection
  // (or, after action_timeout, once the client closed it). Signature: void(error_code).
  // During a run this ends the run; between two attempts it completes at once.
  template <class Token>
  auto async_logoff(Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        detail::initiate_logoff{core_}, token);
  }

  // Closes the connection now and ends a run. Pending operations complete with
  // operation_aborted.
  void close();
  // Completes every pending operation with operation_aborted (a connect in progress is
  // abandoned too); an established connection stays usable. A run ends too: a logged-in
  // session stays up without supervision, a run between sessions just stops.
  void cancel();

  // ---- actions

  // Sends an action and waits for its complete answer. Signature:
  // void(error_code, ami::response). The client assigns the ActionID unless the action
  // carries one. Errors: action_failed (the response is delivered), action_timeout,
  // connection_lost, not_connected (not logged in and nothing bringing a session up, or
  // send_options::wait_for_session is false), too_many_pending,
  // invalid_field / field_too_long / missing_field (nothing was sent), list_incomplete (an
  // EventList ended Cancelled or with a ListItems mismatch; the items are delivered).
  template <class Token>
  auto async_send(action a, Token&& token) {
    return async_send(std::move(a), send_options{}, std::forward<Token>(token));
  }
  template <class Token>
  auto async_send(action a, send_options opts, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, response)>(
        detail::initiate_send<detail::result_response>{core_}, token, std::move(a),
        detail::answer_kind::response, opts, std::optional<error>{});
  }

  // A typed action (see ami/typed.hpp): converted with to_action() now; a conversion error
  // completes the operation with that error and nothing is sent.
  template <class T, class Token, std::enable_if_t<is_typed_action_v<T>, int> = 0>
  auto async_send(const T& typed, Token&& token) {
    return async_send(typed, send_options{}, std::forward<Token>(token));
  }
  template <class T, class Token, std::enable_if_t<is_typed_action_v<T>, int> = 0>
  auto async_send(const T& typed, send_options opts, Token&& token) {
    action a;
    std::optional<error> invalid = typed.to_action(a);
    if (a.name().empty()) a.set_name(std::string(T::action_name));
    return boost::asio::async_initiate<Token, void(boost::system::error_code, response)>(
        detail::initiate_send<detail::result_response>{core_}, token, std::move(a),
        detail::answer_kind::response, opts, invalid);
  }

  // Runs a CLI command (Action: Command). Signature:
  // void(error_code, std::vector<std::string> lines): the output lines whether the server
  // sends the legacy "Response: Follows" body or Output fields. A failed command
  // (Response: Error) completes with action_failed and its lines.
  template <class Token>
  auto async_command(std::string_view command, Token&& token) {
    return async_command(command, send_options{}, std::forward<Token>(token));
  }
  template <class Token>
  auto async_command(std::string_view command, send_options opts, Token&& token) {
    action a("Command");
    a.add("Command", command);
    return boost::asio::async_initiate<Token,
                                       void(boost::system::error_code, std::vector<std::string>)>(
        detail::initiate_send<detail::result_lines>{core_}, token, std::move(a),
        detail::answer_kind::response, opts, std::optional<error>{});
  }

  // Originates a call with Async: true and waits for its OriginateResponse (matched by
  // ActionID). Signature: void(error_code, originate_result). error::originate_failed for
  // busy, no answer, congestion or failure (the result says which and carries the event);
  // action_failed when the Originate itself was refused. `timeout` covers the whole wait;
  // without it: config::action_timeout plus the Originate's Timeout field.
  template <class Token>
  auto async_originate(const originate_request& req, Token&& token) {
    return originate_impl(req.to_action(), std::nullopt, std::forward<Token>(token));
  }
  template <class Token>
  auto async_originate(const originate_request& req, std::chrono::milliseconds timeout,
                       Token&& token) {
    return originate_impl(req.to_action(), timeout, std::forward<Token>(token));
  }
  template <class Token>
  auto async_originate(action originate, Token&& token) {
    return originate_impl(std::move(originate), std::nullopt, std::forward<Token>(token));
  }
  template <class Token>
  auto async_originate(action originate, std::chrono::milliseconds timeout, Token&& token) {
    return originate_impl(std::move(originate), timeout, std::forward<Token>(token));
  }

  // ---- events
  //
  // Each on_* returns a boost::signals2::connection (wrap it in a scoped_connection to
  // disconnect on scope exit). Slots run on the client's strand with borrowed events.

  // Every unsolicited event (events that answer a pending action go to on_list_item).
  boost::signals2::connection on_event(const event_slot& slot);
  // Events of one name (case-insensitive), or of a glob pattern ("Queue*", "Agent?").
  // Unknown names are fine: every event arrives, typed or not.
  boost::signals2::connection on_event(std::string_view name, const event_slot& slot);
  // Events consumed by a pending action: EventList items, the list's ...Complete event,
  // OriginateResponse of async_originate. Opt-in; they also arrive in the response.
  boost::signals2::connection on_list_item(const event_slot& slot);
  // State changes, with the reason (the error) when the state is disconnected (and, for
  // backing_off, the failure being backed off from).
  boost::signals2::connection on_state(const state_slot& slot);
  // The same changes with everything known about them: the backoff delay and its bound,
  // the attempt number (see ami::state_transition).
  boost::signals2::connection on_transition(const transition_slot& slot);

  // Typed events (see ami/typed.hpp): the slot receives E::from(event).
  template <class E, class F>
  boost::signals2::connection on(F&& slot) {
    static_assert(is_typed_event_v<E>, "E must follow the typed event contract of ami/typed.hpp");
    return on_event(E::event_name, [f = std::forward<F>(slot)](const event& e) { f(E::from(e)); });
  }

  // Receives exceptions thrown by slots, with the event being delivered (an empty event for
  // state slots). The other slots still run and the reader goes on. Without a handler the
  // exception is only counted (stats().slot_exceptions).
  void set_exception_handler(exception_handler h);

  // ---- information (safe from any thread)

  connection_state state() const noexcept;
  // The banner of the current (or last) connection.
  std::optional<proto::banner> banner() const;
  std::optional<proto::version> ami_version() const;
  // True once this connection has seen the FullyBooted event.
  bool fully_booted() const noexcept;
  // Why the last connect failed ("Authentication failed", ...). Never holds a secret.
  std::string last_error_message() const;
  client_stats stats() const;

 private:
  friend class event_dispatcher;  // subscribes and closes through core_

  template <class Token>
  auto originate_impl(action a, std::optional<std::chrono::milliseconds> timeout, Token&& token) {
    a.set("Async", "true");
    send_options opts;
    opts.timeout = timeout;
    return boost::asio::async_initiate<Token, void(boost::system::error_code, originate_result)>(
        detail::initiate_send<detail::result_originate>{core_}, token, std::move(a),
        detail::answer_kind::originate, opts, std::optional<error>{});
  }

  std::shared_ptr<detail::client_core> core_;
};

}  // namespace ami
