// The session state machine, sans I/O: connect, banner, (Challenge,) Login, logged in,
// keepalive, Logoff, and async_run's reconnects. The client's transport reports what
// happened (connected, bytes read, a parsed message, closed, time passed); the session
// decides and leaves what to do in its outputs: bytes to write, operations to complete,
// state changes to announce, a request to close the transport, a request to open one.
//
//   disconnected -> connecting -> connected -> logging_in -> logged_in -> closing
//        ^              |             |             |             |           |
//        +--------------+-------------+-------------+-------------+-----------+
//                       (failure, timeout, close, peer closed, keepalive)
//
// With a run (run() instead of start()), a failure or a loss goes on from disconnected to
// backing_off, whose deadline starts the next attempt (connecting), until a logoff, a
// close, a cancellation or a policy ends the run:
//
//   ... -> disconnected -> backing_off -> connecting -> ... -> logged_in -> ...
//
// Every transition goes through one place (set_state). The session never reads a clock:
// every entry point that may start a deadline is given the time.
#pragma once

#include "ami/action.hpp"
#include "ami/config.hpp"
#include "ami/connection_state.hpp"
#include "ami/detail/router.hpp"
#include "ami/message.hpp"
#include "ami/proto/banner.hpp"
#include "ami/send_options.hpp"

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <random>
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
  boost::system::error_code ec;            // why, for disconnected and backing_off
  std::chrono::milliseconds delay{0};      // backing_off: until the next attempt
  std::chrono::milliseconds max_delay{0};  // backing_off: the bound delay was drawn under
  unsigned attempt = 0;                    // see ami::state_transition::attempt
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
  // asio::error::in_progress; while a run is active, with in_progress.
  void start(const config& cfg, std::uint64_t n, operation_ptr op, clock::time_point now);
  // Starts a run: connects like start(), and after every failure or loss backs off and
  // connects again (config::reconnect_*), logs in, restores the event mask and the Filters
  // added so far, then lets the waiting actions go. `op` (number n) completes when the run
  // ends: {} after a logoff, the cancellation's code (close, cancel, abandon(n)), the
  // failure when reconnecting is off or the login failure policy stops, a configuration
  // error at once. Refused like start() when not disconnected or a run is active.
  void run(const config& cfg, std::uint64_t n, operation_ptr op, clock::time_point now);
  bool run_active() const noexcept { return static_cast<bool>(run_op_); }
  // The transport must be opened (to cfg().host, cfg().port), then transport_connected()
  // or transport_closed() reported. Clears it.
  bool take_connect_request() noexcept { return std::exchange(connect_request_, false); }
  // connecting -> connected: the transport is up; now the banner is awaited.
  void transport_connected(clock::time_point now);
  // Bytes arrived (once per read, before their messages are given to on_message): the
  // keepalive's idle time starts again.
  void bytes_received(clock::time_point now) noexcept {
    now_ = now;
    last_read_ = now;
  }
  // One inbound message (views valid during the call only).
  delivery on_message(const message& m);
  // Every message received so far was given to on_message (the parser needs more bytes).
  void end_of_input();
  // The transport failed or the server closed. `ec` is the transport's reason; a failed
  // TCP connect reports it as is, later failures as error::connection_lost. `now` times the
  // backoff of a run; the one-argument form uses the last time the session was given.
  void transport_closed(const boost::system::error_code& ec, clock::time_point now);
  void transport_closed(const boost::system::error_code& ec) { transport_closed(ec, now_); }
  // The transport cannot be set up with this configuration (a TLS file that cannot be
  // loaded): the attempt fails with `ec` and a run ends with it, as retrying cannot help.
  void transport_unusable(const boost::system::error_code& ec);
  // Local close: everything pending completes with `ec` (operation_aborted for close()).
  void close(const boost::system::error_code& ec);
  // The client gives up on a logged-in session for `reason` (error::slow_consumer: an event
  // handler fell too far behind): a loss, reported with `reason`; a run reconnects. Ignored
  // in any other state.
  void drop_session(const boost::system::error_code& reason);

  // ---- actions

  // Queues or writes an action. n comes from reserve_id(). Failures (not connected, queue
  // full, a field Asterisk would misread) complete `op` at once, through finished(). See
  // ami::send_options for waiting while not logged in and for retry.
  void submit(std::uint64_t n, const action& a, answer_kind answer, const send_options& opts,
              operation_ptr op, clock::time_point now);
  void submit(std::uint64_t n, const action& a, answer_kind answer,
              std::optional<std::chrono::milliseconds> timeout, operation_ptr op,
              clock::time_point now) {
    send_options o;
    o.timeout = timeout;
    submit(n, a, answer, o, std::move(op), now);
  }
  // Sends Logoff; `op` completes once the server has said Goodbye and closed, and so does
  // a run. A run that is not logged in (backing off, reconnecting) just ends: `op` and the
  // run complete with success.
  void logoff(std::uint64_t n, operation_ptr op, clock::time_point now);
  // Cancels one operation (its number): operation_aborted, the connection stays. For the
  // run: it ends; a logged-in session stays (unsupervised), an attempt is abandoned.
  void abandon(std::uint64_t n, const boost::system::error_code& ec);
  // Cancels every operation: pending actions, the logoff, the run, and a connect in
  // progress (which also closes that attempt). A logged-in session stays.
  void cancel_all(const boost::system::error_code& ec);
  // Handles every deadline <= now (actions, connect, login, logoff, backoff, keepalive).
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

  // ---- reconnect policy

  // The bound of the backoff before attempt k >= 1:
  // min(max(reconnect_max, reconnect_initial), reconnect_initial * max(multiplier, 1)^(k-1)).
  static std::chrono::milliseconds backoff_cap(const config& cfg, unsigned attempt) noexcept;
  // Attempts since the run started or last logged in (see state_transition::attempt).
  unsigned attempt() const noexcept { return attempt_; }
  // The jitter: a PRNG seeded once per session from std::random_device, or this seed.
  void seed(std::uint64_t s) {
    rng_.seed(s);
    seeded_ = true;
  }
  // Replaces the jitter: f(max_delay) gives the delay (clamped to [0, max_delay]).
  void set_jitter(std::function<std::chrono::milliseconds(std::chrono::milliseconds)> f) {
    jitter_ = std::move(f);
  }

 private:
  struct queued_action {
    std::uint64_t n;
    std::string bytes;
    bool wait = true;  // keeps waiting through a reconnect
  };

  using field_refs = std::vector<std::pair<std::string_view, std::string_view>>;

  // start() and run() while a run or a connection is active: `op` fails with
  // already_connected (logged in by start()) or in_progress. True when it did.
  bool refused_while_busy(operation_ptr& op);

  void set_state(connection_state s, const boost::system::error_code& ec = {},
                 std::chrono::milliseconds delay = {}, std::chrono::milliseconds max_delay = {});
  // config::action_timeout, plus the ring time for an Originate.
  std::chrono::milliseconds default_timeout(const action& a, answer_kind answer) const;
  // A new connect or run: the configuration, and no state of an earlier one.
  void reset(const config& cfg);
  // -> connecting, asking the client for a transport; n numbers the login's first action.
  void begin_attempt(std::uint64_t n, clock::time_point now);
  // The attempt (connecting .. logging_in) failed: the connect operation completes with
  // `ec` and the transport is to be closed. A run backs off and tries again when `ec`
  // allows it (retryable, reconnecting on, the login failure policy); otherwise everything
  // else completes with connection_lost and the run ends with `ec`.
  void fail_attempt(const boost::system::error_code& ec, bool retryable = true);
  // The logged-in session is gone (`reason`): a run keeps the waiting and retry-marked
  // actions and backs off; otherwise everything completes with connection_lost.
  void lose_session(const boost::system::error_code& reason);
  // disconnected -> backing_off: draws the delay before the next attempt.
  void back_off(const boost::system::error_code& reason);
  std::chrono::milliseconds draw_delay(std::chrono::milliseconds cap);
  // Keeps, for the next connection, the actions that wait or are marked for retry; the
  // others complete with `ec`.
  void keep_for_reconnect(const boost::system::error_code& ec);
  // The run ends with `ec` (a no-op without a run).
  void end_run(const boost::system::error_code& ec);
  // The run stops (cancelled): a logged-in session stays, an attempt is abandoned and the
  // actions waiting for it complete with `waiting`.
  void stop_run(const boost::system::error_code& ec, const boost::system::error_code& waiting);
  // Logged in: Ping after one idle interval, dead after two.
  void check_keepalive(clock::time_point now);
  std::optional<clock::time_point> keepalive_due() const;
  // Re-sends the Filters of the run, ahead of every waiting action.
  void queue_restore();
  bool send_internal(std::uint64_t n, std::string_view name, internal_tag tag,
                     const field_refs& fields);
  void send_login(std::uint64_t n, std::string_view challenge);
  void on_internal(internal_tag tag, finished_op& r);
  // Hands a routed result on: to finished() for operations, to on_internal() for the
  // session's own actions (when `internal_too`), and records watched Filters and Events.
  void deliver(routed_result& r, bool internal_too);
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
  std::optional<clock::time_point> phase_deadline_;  // connect, login, logoff or backoff
  operation_ptr run_op_;
  std::uint64_t run_n_ = 0;
  unsigned attempt_ = 0;
  std::mt19937_64 rng_;
  bool seeded_ = false;
  std::function<std::chrono::milliseconds(std::chrono::milliseconds)> jitter_;
  // Restored after a reconnect: the last successful Events' EventMask (the Login's Events)
  // and the successful Filters, in order; user Filters and Events awaiting their answer.
  std::optional<std::string> event_mask_;
  std::vector<action> filters_;
  std::vector<std::pair<std::uint64_t, action>> watched_;
  // Time: the last time given to the session, and of the last bytes read. The keepalive
  // has probed (sent its Ping, or found the in-flight limit reached) for the idle period
  // that started at probed_for_.
  clock::time_point now_{};
  clock::time_point last_read_{};
  std::optional<clock::time_point> probed_for_;
  bool ping_out_ = false;
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
  bool connect_request_ = false;
};

}  // namespace ami::detail
