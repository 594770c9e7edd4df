// List the active channels with CoreShowChannels. It is a list action: the server answers
// with a response, one CoreShowChannel event per channel and CoreShowChannelsComplete; the
// client collects them all, so the handler receives the whole list at once.
#pragma once

#include <ami/client.hpp>

#include <boost/asio/io_context.hpp>

#include <iomanip>
#include <ostream>
#include <string>
#include <string_view>

namespace ami_examples {

// Returns 0 when the list arrived (even empty), 1 otherwise.
inline int run_core_show_channels(const std::string& url, std::ostream& out) {
  boost::system::error_code url_ec;
  ami::config cfg = ami::config::from_url(url, url_ec);
  if (url_ec) {
    out << "bad URL: " << url_ec.message() << '\n';
    return 1;
  }
  // This program only asks; Events: off keeps unrelated events off the connection.
  cfg.events = "off";

  boost::asio::io_context io;
  ami::client client{io};
  int status = 1;

  const auto column = [&out](std::string_view text, int width) {
    out << std::left << std::setw(width) << text << ' ';
  };

  client.async_connect(cfg, [&](boost::system::error_code ec) {
    if (ec) {
      out << "cannot log in to " << cfg.redacted() << ": " << ec.message() << ' '
          << client.last_error_message() << '\n';
      return;
    }
    client.async_send(ami::action("CoreShowChannels"), [&](boost::system::error_code send_ec,
                                                           ami::response r) {
      if (send_ec) {
        // action_failed (e.g. Permission denied) still delivers the response.
        out << "CoreShowChannels failed: " << send_ec.message() << ' ' << r.message_text() << '\n';
      } else {
        column("Channel", 36);
        column("State", 8);
        column("Location", 20);
        column("Duration", 9);
        out << "Application(Data)\n";
        for (const ami::event& ch : r.events()) {  // one CoreShowChannel per channel
          column(ch.get_or("Channel"), 36);
          column(ch.get_or("ChannelStateDesc"), 8);
          column(std::string(ch.get_or("Exten")) + '@' + std::string(ch.get_or("Context")), 20);
          column(ch.get_or("Duration"), 9);
          out << ch.get_or("Application") << '(' << ch.get_or("ApplicationData") << ")\n";
        }
        // The closing event carries the server's own count.
        const ami::event* end = r.complete();
        out << r.events().size() << " active channel(s)";
        if (end != nullptr) out << " (ListItems: " << end->get_or("ListItems", "?") << ')';
        out << '\n';
        status = 0;
      }
      client.async_logoff([](boost::system::error_code) {});
    });
  });

  io.run();
  return status;
}

}  // namespace ami_examples
