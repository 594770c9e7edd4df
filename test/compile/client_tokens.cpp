// Compile test: every asynchronous operation of ami::client with every completion token
// usable in C++17 (callback, use_future, deferred, as_tuple, redirect_error). Nothing runs.
#include "ami/client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_future.hpp>

#include <future>
#include <tuple>
#include <type_traits>

namespace {

struct typed_ping {
  static constexpr std::string_view action_name = "Ping";
  std::optional<ami::error> to_action(ami::action& out) const {
    out.set_name("Ping");
    return std::nullopt;
  }
};

struct typed_hangup {
  static constexpr std::string_view event_name = "Hangup";
  static typed_hangup from(const ami::event&) { return {}; }
};

using ec_t = boost::system::error_code;

// Starts op(); hands its result (a future, a deferred operation) to `check`.
template <class Op, class Check>
void start(Op op, Check& check) {
  if constexpr (std::is_void_v<decltype(op())>) {
    op();
  } else {
    check(op());
  }
}

// Every operation with `token`.
template <class Token, class Check>
void every_op(ami::client& c, Token token, Check check) {
  using namespace std::chrono_literals;
  ami::originate_request req;
  start([&] { return c.async_connect(ami::config{}, token); }, check);
  start([&] { return c.async_run(ami::config{}, token); }, check);
  start([&] { return c.async_send(ami::action("Ping"), token); }, check);
  start([&] { return c.async_send(ami::action("Ping"), ami::send_options{}, token); }, check);
  start([&] { return c.async_send(typed_ping{}, token); }, check);
  start([&] { return c.async_send(typed_ping{}, ami::send_options{}, token); }, check);
  start([&] { return c.async_command("core show version", token); }, check);
  start([&] { return c.async_command("core show version", ami::send_options{}, token); }, check);
  start([&] { return c.async_originate(req, token); }, check);
  start([&] { return c.async_originate(req, 5s, token); }, check);
  start([&] { return c.async_originate(ami::action("Originate"), token); }, check);
  start([&] { return c.async_originate(ami::action("Originate"), 5s, token); }, check);
  start([&] { return c.async_logoff(token); }, check);
}

}  // namespace

void ami_compile_tokens(ami::client& c) {
  namespace asio = boost::asio;
  auto ignore = [](auto&&...) {};

  // A generic callback that fits every signature.
  every_op(
      c, [](ec_t, auto&&...) {}, [](auto&&...) {});
  // Exact callbacks.
  c.async_connect(ami::config{}, [](ec_t) {});
  c.async_run(ami::config{}, [](ec_t) {});
  auto transitions = c.on_transition([](const ami::state_transition&) {});
  transitions.disconnect();
  c.async_send(ami::action("Ping"), [](ec_t, ami::response) {});
  c.async_command("x", [](ec_t, std::vector<std::string>) {});
  c.async_originate(ami::originate_request{}, [](ec_t, ami::originate_result) {});
  c.async_logoff([](ec_t) {});

  // use_future: futures of the value (void for connect and logoff).
  every_op(c, asio::use_future, ignore);
  std::future<void> f1 = c.async_connect(ami::config{}, asio::use_future);
  std::future<void> f5 = c.async_run(ami::config{}, asio::use_future);
  (void)f5;
  std::future<ami::response> f2 = c.async_send(ami::action("Ping"), asio::use_future);
  std::future<std::vector<std::string>> f3 = c.async_command("x", asio::use_future);
  std::future<ami::originate_result> f4 =
      c.async_originate(ami::originate_request{}, asio::use_future);
  (void)f1, (void)f2, (void)f3, (void)f4;

  // deferred: nothing starts until the deferred operation is given a token.
  every_op(c, asio::deferred, [](auto&& op) { std::move(op)([](ec_t, auto&&...) {}); });
  auto d = c.async_send(ami::action("Ping"), asio::deferred);
  std::move(d)(asio::as_tuple([](std::tuple<ec_t, ami::response>) {}));

  // as_tuple and redirect_error around callbacks and futures.
  every_op(c, asio::as_tuple([](auto&&) {}), ignore);
  every_op(c, asio::as_tuple(asio::deferred), [](auto&& op) { std::move(op)([](auto&&) {}); });
  ec_t ec;
  every_op(c, asio::redirect_error([](auto&&...) {}, ec), ignore);
  std::future<ami::response> f6 =
      c.async_send(ami::action("Ping"), asio::redirect_error(asio::use_future, ec));
  (void)f6;

  // A cancellation slot bound to a handler.
  asio::cancellation_signal sig;
  every_op(c, asio::bind_cancellation_slot(sig.slot(), [](ec_t, auto&&...) {}), ignore);

  // Typed events.
  auto conn = c.on<typed_hangup>([](const typed_hangup&) {});
  conn.disconnect();
}
