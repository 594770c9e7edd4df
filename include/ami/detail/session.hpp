// The session state machine, sans I/O: connect, banner, (Challenge,) Login, logged in,
// Logoff. The client's transport reports what happened (connected, a parsed message, closed,
// time passed); the session decides and leaves what to do in its outputs: bytes to write,
// operations to complete, state changes to announce, a request to close the transport.
//
//   disconnected -> connecting -> connected -> logging_in -> logged_in -> closing
//        ^              |             |             |             |           |
//        +--------------+-------------+-------------+-------------+-----------+
//                       (failure, timeout, close, peer closed)
//
// Reconnect and keepalive fit on top: start() is valid again once disconnected, and every
// transition goes through one place (set_state).
#pragma once

#include "ami/action.hpp"
#include "ami/config.hpp"
#include "ami/connection_state.hpp"
#include "ami/detail/router.hpp"
#include "ami/message.hpp"
#include "ami/proto/banner.hpp"

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ami::detail {

// How the client delivers the message it just gave to on_message().
enum class delivery : std::uint8_t {
  none,       // consumed (a response, the banner) or dropped
  event,      // an unsolicited event: to on_event subscribers
  list_item,  // an event that belongs to a pending action: to on_list_item subscribers
};

struct state_change {
  connection_state state = connection_state::disconnected;
  boost::system::error_code ec;  // why, for disconnected
};

// Counters of things the session dropped (they are never dropped silently).
struct session_counters {
  std::uint64_t unmatched = 0;  // responses or raw text no pending action claimed
  std::uint64_t late = 0;       // answers (and list items) of abandoned actions
};

class session {
 public:
  session() = default;
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  connection_state state() const noexcept { return state_; }
  // Thread-safe: numbers for operations before they reach the client's executor.
  std::uint64_t reserve_id() noexcept { return router_.ids().reserve(); }
  const router& routes() const noexcept { return router_; }

  // ---- connection lifecycle

  // disconnected -> connecting. `op` (number n, for abandon()) completes when logged in or
  // when the attempt fails. n is also the ActionID counter of the first action of the login
  // (Login, or Challenge for MD5), so a caller that numbers its actions knows that id. If not
  // disconnected, `op` fails at once with asio::error::already_connected (logged in) or
  // asio::error::in_progress.
  void start(const config& cfg, std::uint64_t n, operation_ptr op, clock::time_point now);
  // connecting -> connected: the transport is up; now the banner is awaited.
  void transport_connected(clock::time_point now);
  // One inbound message (views valid during the call only).
  delivery on_message(const message& m);
  // Every message received so far was given to on_message (the parser needs more bytes).
  void end_of_input();
  // The transport failed or the server closed. `ec` is the transport's reason; a failed
  // TCP connect reports it as is, later failures as error::connection_lost.
  void transport_closed(const boost::system::error_code& ec);
  // Local close: everything pending completes with `ec` (operation_aborted for close()).
  void close(const boost::system::error_code& ec);

  // ---- actions

  // Queues or writes an action. n comes from reserve_id(). Failures (not connected, queue
  // full, a field Asterisk would misread) complete `op` at once, through finished().
  void submit(std::uint64_t n, const action& a, answer_kind answer,
              std::optional<std::chrono::milliseconds> timeout, operation_ptr op,
              clock::time_point now);
  // Sends Logoff; `op` completes once the server has said Goodbye and closed.
  void logoff(std::uint64_t n, operation_ptr op, clock::time_point now);
  // Cancels one operation (its number): operation_aborted, the connection stays.
  void abandon(std::uint64_t n, const boost::system::error_code& ec);
  // Cancels every operation: pending actions, the logoff and a connect in progress (which
  // also closes that attempt).
  void cancel_all(const boost::system::error_code& ec);
  // Handles every deadline <= now (actions, connect, login, logoff).
  void expire(clock::time_point now);
  std::optional<clock::time_point> next_deadline();

  // ---- outputs, taken by the client after each call

  // Bytes to write, in order.
  const std::string& output() const noexcept { return out_; }
  // Moves the bytes to write into `dest` (which should be empty: its capacity is reused).
  // Returns true when they may hold the login secret: wipe them once written.
  bool take_output(std::string& dest) noexcept {
    dest.swap(out_);
    out_.clear();
    return std::exchange(sensitive_, false);
  }
  std::vector<finished_op>& finished() noexcept { return finished_; }
  std::vector<state_change>& state_changes() noexcept { return changes_; }
  // The transport must be closed (login failed, a timeout, a protocol error). Clears it.
  bool take_close_request() noexcept { return std::exchange(close_request_, false); }

  // ---- information

  const std::optional<proto::banner>& banner() const noexcept { return banner_; }
  // The server's Message of the last login failure or failed connect, never a secret.
  const std::string& last_error_message() const noexcept { return last_error_; }
  bool fully_booted() const noexcept { return fully_booted_; }
  const config& cfg() const noexcept { return cfg_; }
  const session_counters& counters() const noexcept { return counters_; }

 private:
  struct queued_action {
    std::uint64_t n;
    std::string bytes;
  };

  using field_refs = std::vector<std::pair<std::string_view, std::string_view>>;

  void set_state(connection_state s, const boost::system::error_code& ec = {});
  // config::action_timeout, plus the ring time for an Originate.
  std::chrono::milliseconds default_timeout(const action& a, answer_kind answer) const;
  // The attempt failed: the connect operation completes with `ec`, everything else with
  // connection_lost, and the transport is to be closed.
  void fail_connect(const boost::system::error_code& ec);
  bool send_internal(std::uint64_t n, std::string_view name, internal_tag tag,
                     const field_refs& fields);
  void send_login(std::uint64_t n, std::string_view challenge);
  void on_internal(internal_tag tag, finished_op& r);
  void flush_queue();
  void take_routed();
  void complete_now(operation_ptr op, const boost::system::error_code& ec, response r = {});
  // Completes every pending action (not connect, not logoff) with `ec` and forgets them.
  void drop_actions(const boost::system::error_code& ec);

  config cfg_;
  router router_;
  std::string default_prefix_;       // the unique prefix, for connects without their own
  std::deque<queued_action> queue_;  // written when logged in and max_in_flight allows
  operation_ptr connect_op_;
  std::uint64_t connect_n_ = 0;
  operation_ptr logoff_op_;
  std::uint64_t logoff_n_ = 0;
  std::optional<clock::time_point> phase_deadline_;  // connect, login or logoff deadline
  std::optional<proto::banner> banner_;
  std::string last_error_;
  session_counters counters_;

  std::string out_;
  std::vector<finished_op> finished_;
  std::vector<state_change> changes_;
  std::vector<routed_result> routed_;

  connection_state state_ = connection_state::disconnected;
  bool goodbye_ = false;
  bool fully_booted_ = false;
  bool sensitive_ = false;
  bool close_request_ = false;
};

}  // namespace ami::detail
