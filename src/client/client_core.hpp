// The Asio side of ami::client: one strand, the transport, the read loop, the write queue,
// one timer, and the signals. Every decision is the session's (ami::detail::session); this
// class only moves bytes and time into it and carries out what it asks.
#pragma once

#include "ami/client_stats.hpp"
#include "ami/config.hpp"
#include "ami/detail/async_ops.hpp"
#include "ami/detail/session.hpp"
#include "ami/message.hpp"
#include "ami/proto/parser.hpp"
#include "event_hub.hpp"
#include "transport.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace ami::detail {

// One TCP connection's I/O state. Pending reads and writes hold a reference, so buffers
// stay valid until their handlers ran even when the client has moved on to a new
// connection.
struct connection_io {
  explicit connection_io(const boost::asio::any_io_executor& ex, proto::parser_options opts)
      : stream(ex), parser(opts) {}

  transport stream;
  proto::parser parser;
  std::string writing;  // the bytes of the write in progress
  bool write_active = false;
  bool write_sensitive = false;
  bool read_busy = false;  // the last read filled the space offered: more is waiting
};

class client_core : public std::enable_shared_from_this<client_core> {
 public:
  explicit client_core(const boost::asio::any_io_executor& ex);
  client_core(const client_core&) = delete;
  client_core& operator=(const client_core&) = delete;

  const boost::asio::any_io_executor& executor() const noexcept { return executor_; }
  std::uint64_t reserve() noexcept { return session_.reserve_id(); }

  // Any thread; each continues on the strand.
  void connect(config cfg, std::uint64_t n, operation_ptr op);
  void run(config cfg, std::uint64_t n, operation_ptr op);
  void send(action a, answer_kind answer, const send_options& opts, std::uint64_t n,
            operation_ptr op);
  void logoff(std::uint64_t n, operation_ptr op);
  void fail(operation_ptr op, const boost::system::error_code& ec);
  void cancel_one(std::uint64_t n);
  void cancel_all();
  void close();
  // Ends a logged-in session because of `reason`, a failure the client itself found (a slow
  // consumer's overflow): handled like a lost connection (a run reconnects), reported with
  // `reason`; ignored in any other state.
  void abort_connection(const boost::system::error_code& reason);
  // The client object is gone: slots are disconnected now, operations abort on the strand.
  void shut_down();

  event_hub& hub() noexcept { return hub_; }

  connection_state state() const noexcept { return state_.load(std::memory_order_acquire); }
  bool fully_booted() const noexcept { return booted_.load(std::memory_order_acquire); }
  std::optional<proto::banner> banner() const;
  std::string last_error_message() const;
  client_stats stats() const;

 private:
  template <class F>
  void on_strand(F&& f);

  void drive();
  // Opens the transport the session asked for (drive() checks take_connect_request()).
  void open_connection();
  void publish();
  void publish_info();  // banner and last error, for readers on any thread
  void arm_timer();
  void on_timer(std::uint64_t seq, const boost::system::error_code& ec);
  void on_connected(const std::shared_ptr<connection_io>& io, const boost::system::error_code& ec);
  void start_read(const std::shared_ptr<connection_io>& io);
  void read_some(const std::shared_ptr<connection_io>& io);
  void on_readable(const std::shared_ptr<connection_io>& io, const boost::system::error_code& ec);
  void on_read(const std::shared_ptr<connection_io>& io, const boost::system::error_code& ec,
               std::size_t n);
  void read_messages(const std::shared_ptr<connection_io>& io, const boost::system::error_code& ec,
                     std::size_t n);
  void complete_finished();
  void drive_after_read();
  void start_write();
  void on_written(const std::shared_ptr<connection_io>& io, const boost::system::error_code& ec);
  void drop_connection();
  void transport_failed(const boost::system::error_code& ec);
  // Prepares TLS on a new connection when cfg.tls (warning first when verification is off).
  boost::system::error_code open_tls(connection_io& io, const config& cfg);
  // Reports a warning through cfg.on_warning, or to stderr.
  static void warn(const config& cfg, const std::string& text);
  // Gives the hub the slow-slot threshold and hook of a new connection (config::on_slow_slot,
  // or a warning).
  void watch_slow_slots(const config& cfg);

  bool running_in_strand() const noexcept;

  // A strand of the given executor, type-erased. Over an io_context's executor the strand is
  // built on the concrete type: a strand over any_io_executor queries its inner executor
  // through type erasure on every handler, which allocates.
  boost::asio::any_io_executor executor_;
  session session_;
  event_hub hub_;
  std::shared_ptr<connection_io> io_;  // the current connection, if any
  event inbound_;                      // the message being dispatched (views into io_)
  boost::asio::steady_timer timer_;
  std::optional<clock::time_point> timer_at_;
  std::uint64_t timer_seq_ = 0;
  bool shut_ = false;
  std::vector<finished_op> completing_;
  // Set while on_read's own drive() runs (not one nested in a slot): its completions may run
  // their handlers inline (complete_here), never inside an initiating function.
  bool in_read_ = false;
  unsigned drive_depth_ = 0;
  // Set while such a handler runs: a drive() it causes (it sends the next action) only asks
  // the running drive() to go round again.
  bool completing_here_ = false;
  bool drive_again_ = false;
  // The first exception a handler run inline threw; rethrown once on_read has left the
  // client consistent (the read restarted), as if the handler had been posted.
  std::exception_ptr handler_exception_;
  // Why the connection's TLS failed (certificate verification, a file, an alert during
  // login): more precise than the session's message, so last_error_message() shows it.
  std::string transport_error_;

  // Published for readers on other threads.
  std::atomic<connection_state> state_{connection_state::disconnected};
  std::atomic<bool> booted_{false};
  std::atomic<std::uint64_t> unmatched_{0};
  std::atomic<std::uint64_t> late_{0};
  std::atomic<std::uint64_t> parse_errors_{0};
  std::atomic<int> last_parse_error_{0};
  mutable std::mutex info_mutex_;
  std::optional<proto::banner> banner_;
  std::string last_error_;
};

}  // namespace ami::detail
