// Internals of ami::testing::server shared by its source files.
#pragma once

#include "ami/message.hpp"
#include "ami/proto/banner.hpp"
#include "ami/proto/parser.hpp"
#include "ami/testing/server.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace ami::testing::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Asterisk's event and privilege classes (manager.h bit values).
namespace priv {
inline constexpr std::uint32_t system = 1U << 0;
inline constexpr std::uint32_t call = 1U << 1;
inline constexpr std::uint32_t log = 1U << 2;
inline constexpr std::uint32_t verbose = 1U << 3;
inline constexpr std::uint32_t command = 1U << 4;
inline constexpr std::uint32_t agent = 1U << 5;
inline constexpr std::uint32_t user = 1U << 6;
inline constexpr std::uint32_t config = 1U << 7;
inline constexpr std::uint32_t dtmf = 1U << 8;
inline constexpr std::uint32_t reporting = 1U << 9;
inline constexpr std::uint32_t cdr = 1U << 10;
inline constexpr std::uint32_t dialplan = 1U << 11;
inline constexpr std::uint32_t originate = 1U << 12;
inline constexpr std::uint32_t agi = 1U << 13;
inline constexpr std::uint32_t cc = 1U << 15;
inline constexpr std::uint32_t aoc = 1U << 16;
inline constexpr std::uint32_t test = 1U << 17;
inline constexpr std::uint32_t security = 1U << 18;
inline constexpr std::uint32_t message = 1U << 19;
inline constexpr std::uint32_t all = 0xFFFFFFFFU;
}  // namespace priv

// "call,reporting" -> bits; "all" -> every bit; unknown names are ignored.
std::uint32_t parse_privileges(std::string_view list) noexcept;
// Events header of Login / the Events action: on/yes/true -> all, off/no/false -> 0,
// digits -> that number, else a class list.
std::uint32_t parse_event_mask(std::string_view value) noexcept;
// The bits an event's Privilege value stands for ("all" does not count).
std::uint32_t event_category(std::string_view privilege) noexcept;

// Appends "Key: Value\r\n" for each field and the closing "\r\n".
void append_fields(std::string& out, const field_list& fields);
std::string serialize_fields(const field_list& fields);
// Inserts ActionID after the first field when the action carried one.
field_list with_action_id(const ami::message& action, field_list fields);

struct server_state;
class pbx_model;

// One accepted socket. Everything except the public session members runs on the io thread.
class connection final : public session, public std::enable_shared_from_this<connection> {
 public:
  // `tls`: the socket came from a TLS listener; start() does the handshake first.
  connection(server_state& srv, tcp::socket socket, std::uint64_t id, bool tls);
  ~connection();

  void start(std::optional<std::string> replay_bytes);

  // io thread only.
  void write(std::string bytes);
  void write_fields(const field_list& fields) { write(serialize_fields(fields)); }
  void respond_now(const ami::message& action, field_list fields) {
    write_fields(with_action_id(action, std::move(fields)));
  }
  void close_after_flush();
  void close_now();
  // Sends FIN and writes nothing more; reading goes on until the peer closes.
  void half_close();
  void flush();
  // Restarts the close_after_bytes count.
  void set_byte_budget(std::size_t n);
  // Counts an event just queued by write(); ends the session gracefully once the
  // close_after_events limit is reached.
  void event_queued();
  // Takes nothing more, writes what is queued, sends FIN and reads until the client closes
  // (close_after_events).
  void close_gracefully();
  // What finished_sessions() reports about this session.
  session_record record() const {
    return {id_, events_queued_, logged_in_.load(), bytes_written_ == bytes_queued_, by_client_};
  }
  // Ends an action that finished asynchronously: the next queued action may run.
  void resume();
  bool closed() const noexcept { return closed_; }
  server_state& state() const noexcept { return srv_; }
  bool wants_event(std::uint32_t category) const noexcept;
  // Event filters of the Filter action: every match of a '!' filter drops the event; when
  // plain filters exist, the event must match one of them.
  bool passes_filters(const std::string& event) const;
  std::vector<std::pair<bool, std::regex>> filters_;  // (exclude, pattern)

  // Session data (io thread).
  std::uint64_t id_;
  std::uint64_t events_queued_ = 0;  // session_record::events
  std::atomic<bool> logged_in_{false};
  mutable std::mutex name_mutex_;
  std::string username_;
  std::uint32_t read_perm_ = 0;
  std::uint32_t write_perm_ = 0;
  std::uint32_t event_mask_ = priv::all;
  std::string challenge_;
  std::string local_endpoint_;
  std::string remote_endpoint_;  // "IPV4/TCP/127.0.0.1/40000" ("TLS" for TLS sessions), as
                                 // security events write it
  std::string peer_;             // "127.0.0.1:40000", for logs
  std::chrono::system_clock::time_point connected_at_;

 private:
  void on_handshake(const boost::system::error_code& ec);
  void greet();
  void read();
  void on_message(const ami::message& m);
  void process();
  // Everything queued was written and the session is closing: for TLS, send close_notify
  // first (within a grace period), so the client sees an orderly end rather than a cut.
  void finish_close();

  server_state& srv_;
  tcp::socket socket_;
  // Set for TLS sessions; declared after socket_ so that it goes first.
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls_;
  std::optional<std::string> greeting_;  // what start() sends once the handshake is done
  bool handshaking_ = false;
  bool shutting_down_ = false;
  ami::proto::parser parser_;
  asio::steady_timer delay_timer_;
  std::string pending_;
  std::string writing_buf_;
  bool writing_ = false;
  bool closing_ = false;
  bool half_closed_ = false;  // FIN sent, still reading (half_close)
  bool linger_ = false;       // closing: FIN after the last byte, then read until the peer closes
  bool by_client_ = false;    // the peer ended the connection before the server began to
  std::uint64_t bytes_queued_ = 0;
  std::uint64_t bytes_written_ = 0;
  bool closed_ = false;
  bool replaying_ = false;
  std::size_t budget_ = 0;  // 0: no limit
  std::size_t budget_used_ = 0;
  std::uint64_t budget_gen_ = 0;
  std::deque<ami::message> actions_;
  bool busy_ = false;
  bool delayed_ = false;
};

// What a built-in action did.
enum class outcome {
  done,     // finished; the next action may run
  pending,  // finishes later with connection::resume()
};

// The part of the server the io thread owns, plus the shared, locked bookkeeping.
struct server_state {
  explicit server_state(server_options opts);
  ~server_state();

  // Runs `fn` on the io thread and waits for it (inline when already there or when the
  // thread is not running).
  void run_sync(const std::function<void()>& fn);
  bool on_io_thread() const noexcept;

  // io thread.
  void accept(std::optional<tcp::acceptor>& acceptor, bool tls);
  // "ami://user:secret@address:port" for a configured user, empty when unknown.
  std::string user_url(const std::string& username, bool tls) const;
  void dispatch(connection& c, const ami::message& action);
  outcome builtin(connection& c, const ami::message& action);
  void broadcast(const field_list& fields);
  void on_closed(connection& c);
  void on_login(connection& c);
  const user* find_user(std::string_view name) const;
  long uptime_seconds() const;

  server_options opts_;
  ami::proto::version version_;
  std::function<void(const std::string&)> log_;  // io thread
  void log(const std::string& line) {
    if (log_) log_(line);
  }
  std::chrono::steady_clock::time_point started_at_ = std::chrono::steady_clock::now();

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::optional<tcp::acceptor> acceptor_;
  std::thread thread_;
  std::thread::id thread_id_;
  std::atomic<bool> running_{false};
  unsigned short port_ = 0;
  // Built by start() from opts_.tls; unset for plain TCP.
  std::optional<asio::ssl::context> tls_ctx_;
  // The TLS listener when it is a separate one (server_tls::separate_listener).
  std::optional<tcp::acceptor> tls_acceptor_;
  unsigned short tls_port_ = 0;

  // io thread only.
  std::vector<std::shared_ptr<connection>> connections_;
  std::uint64_t next_id_ = 1;
  std::size_t close_after_ = 0;
  std::uint64_t close_after_events_ = 0;
  bool stalled_ = false;
  std::chrono::milliseconds delay_{0};
  std::optional<std::string> replay_;

  // Shared with other threads.
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  std::vector<ami::message> received_;
  std::size_t session_count_ = 0;
  std::size_t connection_count_ = 0;
  std::size_t login_count_ = 0;
  bool record_sessions_ = false;
  std::vector<session_record> finished_;
  std::map<std::string, action_handler> handlers_;  // lower-case names

  // Last, so that its timers go before the io_context.
  std::unique_ptr<pbx_model> pbx_;
};

}  // namespace ami::testing::detail
