// Originate a call from an ordinary (blocking) thread: a second thread runs the
// io_context, and this one waits on std::futures (asio::use_future). async_originate
// completes when the call's OriginateResponse arrives, so the future says how the call went.
#pragma once

#include <ami/client.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <future>
#include <ostream>
#include <string>
#include <thread>
#include <utility>

namespace ami_examples {

struct call_target {
  std::string channel = "Local/100@default";  // who is called first
  std::string exten = "200";                  // where the answered call goes
  std::string context = "default";
};

// Returns 0 when the call was answered, 1 when it was not or something failed.
inline int run_originate_future(const std::string& url, const call_target& target,
                                std::ostream& out) {
  boost::system::error_code url_ec;
  const ami::config cfg = ami::config::from_url(url, url_ec);
  if (url_ec) {
    out << "bad URL: " << url_ec.message() << '\n';
    return 1;
  }

  boost::asio::io_context io;
  ami::client client{io};
  // The work guard keeps io.run() going while the client is idle between our calls.
  auto work = boost::asio::make_work_guard(io);
  std::thread io_thread([&io] { io.run(); });

  int status = 1;
  try {
    // Calls from another thread are safe: the client moves them onto its own strand.
    // With use_future an error code becomes a boost::system::system_error exception.
    client.async_connect(cfg, boost::asio::use_future).get();

    ami::originate_request call;
    call.channel = target.channel;
    call.context = target.context;
    call.exten = target.exten;
    call.caller_id = "ami example <0000>";
    call.timeout = std::chrono::seconds(20);  // how long the first leg may ring
    call.variables.emplace_back("ORIGIN", "originate_future");

    // use_future(f) runs f with the completion's arguments and the future holds what f
    // returns: here both the error code and the result, so that a call that was not
    // answered (busy, no answer, ...) still tells why instead of only throwing.
    std::future<std::pair<boost::system::error_code, ami::originate_result>> pending =
        client.async_originate(
            call, boost::asio::use_future([](boost::system::error_code e, ami::originate_result r) {
              return std::make_pair(e, std::move(r));
            }));
    out << "calling " << call.channel << " -> " << call.exten << '@' << call.context << '\n';

    auto [call_ec, result] = pending.get();  // blocks until the OriginateResponse
    if (!call_ec) {
      out << "answered: " << result.channel << " (Uniqueid " << result.uniqueid << ")\n";
      status = 0;
    } else if (call_ec == ami::error::originate_failed) {
      out << "not answered: " << ami::to_string(result.outcome) << " (Reason " << result.reason
          << ")\n";
    } else {
      // action_failed: the server refused the Originate; its Message says why.
      out << "Originate failed: " << call_ec.message() << ' ' << result.response.message_text()
          << '\n';
    }
    client.async_logoff(boost::asio::use_future).get();
  } catch (const boost::system::system_error& e) {
    out << "error: " << e.code().message() << ' ' << client.last_error_message() << '\n';
  }

  client.close();
  work.reset();  // let io.run() return once nothing is pending
  io_thread.join();
  return status;
}

}  // namespace ami_examples
