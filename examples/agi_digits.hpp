// AsyncAGI: wait for one call that runs AGI(agi:async), read up to four digits, store them in
// the channel variable IVR_DIGITS and return the call to the dialplan. The AGI commands ride
// the AMI connection; each step starts the next from its completion handler.
#pragma once

#include <ami/agi/async_agi.hpp>
#include <ami/client.hpp>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <memory>
#include <ostream>
#include <string>

namespace ami_examples {

// Returns 0 once a call's digits were stored and the call returned, 1 otherwise (messages go to
// `out`).
inline int run_agi_digits(const std::string& url, std::ostream& out) {
  boost::system::error_code url_ec;
  ami::config cfg = ami::config::from_url(url, url_ec);
  if (url_ec) {
    out << "bad URL: " << url_ec.message() << '\n';
    return 1;
  }
  cfg.events = "on";  // AsyncAGIStart and AsyncAGIExec are events

  boost::asio::io_context io;
  ami::client client{io};
  ami::agi::async_agi agi{client};
  int status = 1;

  const auto done = [&](const char* what, boost::system::error_code ec) {
    out << what << ": " << (ec ? ec.message() : "ok") << '\n';
    client.close();
  };

  client.async_connect(cfg, [&](boost::system::error_code connected) {
    if (connected) return done("connect", connected);
    out << "waiting for a call to AGI(agi:async)\n";
    agi.async_accept([&](boost::system::error_code accepted, std::shared_ptr<ami::agi::session> s) {
      if (accepted) return done("accept", accepted);
      out << "call on " << s->channel() << " from " << s->env().callerid << '\n';
      // Two commands queued at once: they run one after the other.
      s->async_exec(ami::agi::answer{}, [](boost::system::error_code, ami::agi::status_result) {});
      s->async_exec(ami::agi::get_data{"enter-ext-of-person", std::chrono::seconds(5), 4},
                    [&, s](boost::system::error_code read, ami::agi::digits_result d) {
                      if (read) return done("get data", read);  // dead_channel: the caller hung up
                      out << "digits: " << d.digits << (d.timed_out ? " (timed out)" : "") << '\n';
                      s->async_exec(ami::agi::set_variable{"IVR_DIGITS", d.digits},
                                    [](boost::system::error_code, ami::agi::status_result) {});
                      // ASYNCAGI BREAK: back to the dialplan (session::close() sends it too,
                      // without waiting for its reply).
                      s->async_exec(ami::agi::async_break{},
                                    [&](boost::system::error_code ec, ami::agi::status_result) {
                                      if (!ec) status = 0;
                                      done("returned to the dialplan", ec);
                                    });
                    });
    });
  });
  io.run();
  return status;
}

}  // namespace ami_examples
