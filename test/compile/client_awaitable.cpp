// Compile test (C++20): every asynchronous operation of ami::client with use_awaitable,
// as_tuple(use_awaitable) and redirect_error(use_awaitable, ec).
#include "ami/client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <tuple>

namespace {

namespace asio = boost::asio;
using ec_t = boost::system::error_code;

template <class Token>
asio::awaitable<void> every_op(ami::client& c, Token token) {
  using namespace std::chrono_literals;
  ami::originate_request req;
  co_await c.async_connect(ami::config{}, token);
  co_await c.async_run(ami::config{}, token);
  co_await c.async_send(ami::action("Ping"), token);
  co_await c.async_send(ami::action("Ping"), ami::send_options{}, token);
  co_await c.async_command("core show version", token);
  co_await c.async_command("core show version", ami::send_options{}, token);
  co_await c.async_originate(req, token);
  co_await c.async_originate(req, 5s, token);
  co_await c.async_originate(ami::action("Originate"), token);
  co_await c.async_originate(ami::action("Originate"), 5s, token);
  co_await c.async_logoff(token);
}

asio::awaitable<void> typed(ami::client& c) {
  ami::response r = co_await c.async_send(ami::action("Ping"), asio::use_awaitable);
  std::vector<std::string> lines = co_await c.async_command("x", asio::use_awaitable);
  ami::originate_result o =
      co_await c.async_originate(ami::originate_request{}, asio::use_awaitable);
  auto [ec, r2] = co_await c.async_send(ami::action("Ping"), asio::as_tuple(asio::use_awaitable));
  ec_t ec2;
  ami::response r3 =
      co_await c.async_send(ami::action("Ping"), asio::redirect_error(asio::use_awaitable, ec2));
  (void)r, (void)lines, (void)o, (void)ec, (void)r2, (void)r3;
}

}  // namespace

void ami_compile_awaitable(ami::client& c) {
  ec_t ec;
  asio::co_spawn(c.get_executor(), every_op(c, asio::use_awaitable), asio::detached);
  asio::co_spawn(c.get_executor(), every_op(c, asio::as_tuple(asio::use_awaitable)),
                 asio::detached);
  asio::co_spawn(c.get_executor(), every_op(c, asio::redirect_error(asio::use_awaitable, ec)),
                 asio::detached);
  asio::co_spawn(c.get_executor(), typed(c), asio::detached);
}
