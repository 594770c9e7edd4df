// The web wallboard's HTTP server (Boost.Beast): the page and its script and style sheet,
// GET /api/snapshot (the state as JSON, snapshot.hpp) and GET /api/events, an event stream
// (Server-Sent Events) whose first message is a fresh snapshot and whose next ones follow
// each change. A browser that loses the stream reconnects (EventSource does by itself) and
// starts again from a fresh snapshot, so it never shows a state made of missed updates.
//
// With a token set, the API answers 401 unless the request carries it (`?token=` or
// `Authorization: Bearer`); the page, script and style sheet hold no data and need none.
//
// Threads: the server works on a strand of the executor given. publish() and streams() may
// be called from any thread; start() and stop() from one thread at a time. The snapshot
// source runs on the strand. Destroying the server stops it.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace ami::tools::wallboard {

struct web_options {
  std::string address = "127.0.0.1";  // loopback unless asked otherwise
  unsigned short port = 0;            // 0: any free port
  std::string token;                  // empty: the API asks for none
  // The shortest time between two messages of an event stream: a burst of changes becomes
  // one message with the state after it.
  std::chrono::milliseconds min_interval{200};
  // An idle event stream gets a comment line this often, so that dead peers are noticed.
  std::chrono::milliseconds keepalive{15000};
  // A request must arrive, and a write finish, within this time, or the connection closes.
  std::chrono::milliseconds io_timeout{30000};
  std::size_t max_connections = 64;  // beyond it, new connections are closed at once
};

class web_server {
 public:
  // The current state as JSON text (one line); called on the server's strand.
  using snapshot_source = std::function<std::string()>;

  web_server(const boost::asio::any_io_executor& ex, web_options opts, snapshot_source source);
  web_server(const web_server&) = delete;
  web_server& operator=(const web_server&) = delete;
  ~web_server();

  // Binds and listens; returns the endpoint bound. Throws boost::system::system_error.
  boost::asio::ip::tcp::endpoint start();
  // The state changed: each event stream gets a fresh snapshot (coalesced, see min_interval).
  void publish();
  // Closes the listener and every connection (asynchronously, on the strand).
  void stop();

  // Event streams open now, and ever opened (for tests and logs).
  std::size_t streams() const noexcept;
  std::size_t streams_opened() const noexcept;

  struct core;

 private:
  std::shared_ptr<core> core_;
};

}  // namespace ami::tools::wallboard
