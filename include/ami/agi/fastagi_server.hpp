// A FastAGI server on Boost.Asio: dialplan AGI(agi://host:port/script?args) connects to it,
// writes the agi_* environment, then reads commands and writes replies on the socket.
//
//   ami::agi::fastagi_server srv{io.get_executor(), {"127.0.0.1", 4573}};
//   srv.route("ivr", [](std::shared_ptr<ami::agi::session> s) { ... s->async_exec(...) ... });
//   srv.start();
//
// Routing is by script path (agi_network_script, else the path of agi_request, without
// the query): an exact match, else the "*" route; a connection with no route is closed
// (Asterisk continues the dialplan with AGISTATUS=FAILURE). Each session has the interface
// of session.hpp: when the caller hangs up Asterisk writes "HANGUP" (session::hung_up()
// turns true) and answers later commands with 511 (dead_channel); once the socket closes,
// everything pending completes with agi_session_ended. A session lasts until the peer
// closes, session::close(), or stop(): keep the shared_ptr only as long as needed and call
// close() when done (Asterisk then continues the dialplan).
//
// Limits: max_sessions connections at once (more are closed at accept), max_line bytes
// per line, environment_timeout for the environment block, reply_timeout for each reply
// (agi_timeout, and the connection is closed): a stalled peer cannot hold a session.
//
// FastAGI has no TLS and no authentication: listen on loopback (the default) or a trusted
// network only.
#pragma once

#include "ami/agi/session.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace ami::agi {

struct fastagi_options {
  std::string address = "127.0.0.1";
  unsigned short port = 4573;  // Asterisk's default; 0 picks a free port
  std::size_t max_sessions = 1000;
  std::size_t max_line = 8192;
  std::chrono::milliseconds environment_timeout{10000};
  // Longer than any prompt or digit wait the application asks for; 0 = no limit.
  std::chrono::milliseconds reply_timeout{std::chrono::minutes(10)};
};

struct fastagi_stats {
  std::uint64_t accepted = 0;         // connections accepted
  std::uint64_t refused = 0;          // closed at accept: max_sessions reached
  std::uint64_t unrouted = 0;         // no route for the script
  std::uint64_t bad_environment = 0;  // malformed, too long or too slow environment
  std::uint64_t sessions = 0;         // sessions handed to a route
};

namespace detail {
struct fastagi_state;
}

class fastagi_server {
 public:
  using handler = std::function<void(std::shared_ptr<session>)>;

  explicit fastagi_server(const boost::asio::any_io_executor& ex, fastagi_options opts = {});
  fastagi_server(const fastagi_server&) = delete;
  fastagi_server& operator=(const fastagi_server&) = delete;
  // Stops: the listener and every connection close.
  ~fastagi_server();

  // Routes a script path ("ivr", "sales/queue") or "*" (any other) to a handler, which runs
  // on the session's strand. Call before start().
  void route(std::string script, handler h);

  // Binds and listens; throws boost::system::system_error when it cannot.
  void start();
  // Closes the listener and every connection (their commands complete with
  // agi_session_ended). Safe from any thread.
  void stop();

  // The bound port (after start()).
  unsigned short port() const;
  // Connections open now.
  std::size_t session_count() const noexcept;
  fastagi_stats stats() const;

 private:
  std::shared_ptr<detail::fastagi_state> state_;
};

}  // namespace ami::agi
