// Connect, log in and send one Ping, with plain completion callbacks: the simplest way to
// use ami::client. Everything runs on this thread, inside io.run().
#pragma once

#include <ami/client.hpp>

#include <boost/asio/io_context.hpp>

#include <ostream>
#include <string>

namespace ami_examples {

// Returns 0 when the server answered the Ping, 1 otherwise (messages go to `out`).
inline int run_ping_callbacks(const std::string& url, std::ostream& out) {
  boost::system::error_code url_ec;
  const ami::config cfg = ami::config::from_url(url, url_ec);
  if (url_ec) {
    out << "bad URL: " << url_ec.message() << '\n';
    return 1;
  }

  boost::asio::io_context io;
  ami::client client{io};
  int status = 1;

  // Each step starts the next one from its completion handler. Handlers run inside
  // io.run() below, never inside the call that started the operation.
  client.async_connect(cfg, [&](boost::system::error_code ec) {
    if (ec) {
      // redacted() shows the URL with the secret replaced by ***.
      out << "cannot log in to " << cfg.redacted() << ": " << ec.message() << ' '
          << client.last_error_message() << '\n';
      return;  // nothing is pending any more, so io.run() returns
    }
    out << "logged in to " << client.banner()->text << '\n';

    client.async_send(ami::action("Ping"), [&](boost::system::error_code send_ec, ami::response r) {
      if (send_ec) {
        out << "Ping failed: " << send_ec.message() << '\n';
      } else {
        // The response owns its bytes: it may be kept after the handler returns.
        out << "Ping: " << r.get("Ping").value_or("(none)")
            << "  Timestamp: " << r.get("Timestamp").value_or("(none)")
            << "  ActionID: " << r.action_id() << '\n';
        status = 0;
      }
      // Logoff waits for the server's Goodbye; then the connection closes and io.run()
      // runs out of work.
      client.async_logoff([](boost::system::error_code) {});
    });
  });

  io.run();
  return status;
}

}  // namespace ami_examples
