// C++20 coroutines: connect, send a Ping, then print events as they arrive, with
// co_await on the client's operations (asio::use_awaitable). Needs a C++20 compiler.
#pragma once

#include <ami/client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/signals2/connection.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <exception>
#include <ostream>
#include <string>

namespace ami_examples {

struct event_watch {
  int count = 10;                 // stop after this many events...
  std::chrono::seconds wait{60};  // ...or after this long
  std::string pattern = "*";      // event names to print: a name or a glob ("Queue*")
};

// Prints one line per event: its name and the first few fields after Privilege.
inline void print_event(std::ostream& out, int n, const ami::event& e) {
  out << n << ": " << e.name();
  int shown = 0;
  for (const ami::field& f : e) {
    if (ami::iequals(f.name, "Event") || ami::iequals(f.name, "Privilege")) continue;
    if (++shown > 3) break;
    out << "  " << f.name << '=' << f.value;
  }
  out << '\n';
}

// The coroutine: reads like blocking code, runs on the io_context without blocking it.
// Failures (connect, login, Ping) arrive as boost::system::system_error exceptions.
inline boost::asio::awaitable<int> watch_events(ami::client& client, ami::config cfg,
                                                event_watch watch, std::ostream& out) {
  namespace asio = boost::asio;

  // A slot cannot co_await, so it wakes the coroutine by cancelling a timer that the
  // coroutine waits on. The timer's expiry is the overall time limit.
  asio::steady_timer wake{co_await asio::this_coro::executor, watch.wait};
  int seen = 0;

  // Subscribe before connecting so that no early event is missed. The slot receives a
  // borrowed event, valid only during the call; it runs on this thread (one io.run()).
  boost::signals2::scoped_connection sub = client.on_event(watch.pattern, [&](const ami::event& e) {
    if (seen >= watch.count) return;
    print_event(out, ++seen, e);
    if (seen == watch.count) wake.cancel();
  });

  co_await client.async_connect(cfg, asio::use_awaitable);
  out << "logged in to " << client.banner()->text << '\n';

  ami::response pong = co_await client.async_send(ami::action("Ping"), asio::use_awaitable);
  out << "Ping: " << pong.get("Ping").value_or("(none)") << '\n';

  // The events may have arrived already (cancel() only wakes a wait in progress). One thread
  // runs everything, so no slot can run between this test and the start of the wait.
  if (seen < watch.count) {
    // as_tuple: the cancellation (operation_aborted) is the normal way out, not an error.
    co_await wake.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  out << seen << " event(s)" << (seen < watch.count ? " before the time limit" : "") << '\n';

  co_await client.async_logoff(asio::use_awaitable);
  co_return seen == watch.count ? 0 : 1;
}

// Returns 0 once `watch.count` events were printed, 1 otherwise.
inline int run_events_coroutine(const std::string& url, const event_watch& watch,
                                std::ostream& out) {
  boost::system::error_code url_ec;
  const ami::config cfg = ami::config::from_url(url, url_ec);
  if (url_ec) {
    out << "bad URL: " << url_ec.message() << '\n';
    return 1;
  }

  boost::asio::io_context io;
  ami::client client{io};
  int status = 1;
  boost::asio::co_spawn(
      io, watch_events(client, cfg, watch, out), [&](std::exception_ptr e, int result) {
        if (!e) {
          status = result;
          return;
        }
        try {
          std::rethrow_exception(e);
        } catch (const boost::system::system_error& err) {
          out << "error: " << err.code().message() << ' ' << client.last_error_message() << '\n';
        } catch (const std::exception& err) {
          out << "error: " << err.what() << '\n';
        }
      });
  io.run();
  return status;
}

}  // namespace ami_examples
