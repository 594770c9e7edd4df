// Compile test: the AGI operations (session::async_exec with typed and generic commands,
// async_agi::async_accept) with every completion token usable in C++17. Nothing runs.
#include "ami/agi/async_agi.hpp"
#include "ami/agi/commands.hpp"
#include "ami/agi/session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_future.hpp>

#include <future>
#include <memory>
#include <tuple>
#include <type_traits>

namespace {

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

template <class Token, class Check>
void every_op(ami::agi::session& s, ami::agi::async_agi& a, Token token, Check check) {
  start([&] { return s.async_exec(ami::agi::answer{}, token); }, check);
  start([&] { return s.async_exec(ami::agi::get_data{"prompt", {}, {}}, token); }, check);
  start([&] { return s.async_exec(ami::agi::command{"NOOP", {}}, token); }, check);
  start([&] { return a.async_accept(token); }, check);
}

}  // namespace

void ami_compile_agi_tokens(ami::agi::session& s, ami::agi::async_agi& a) {
  namespace asio = boost::asio;
  s.async_exec(ami::agi::answer{}, [](ec_t, ami::agi::status_result) {});
  s.async_exec(ami::agi::command{"NOOP", {}}, [](ec_t, ami::agi::reply) {});
  a.async_accept([](ec_t, std::shared_ptr<ami::agi::session>) {});

  std::future<ami::agi::digits_result> f1 =
      s.async_exec(ami::agi::get_data{"prompt", {}, {}}, asio::use_future);
  std::future<ami::agi::reply> f2 = s.async_exec(ami::agi::command{"NOOP", {}}, asio::use_future);
  std::future<std::shared_ptr<ami::agi::session>> f3 = a.async_accept(asio::use_future);
  (void)f1, (void)f2, (void)f3;
  every_op(s, a, asio::use_future, [](auto&&) {});

  every_op(s, a, asio::deferred, [](auto&& op) { std::move(op)([](ec_t, auto&&) {}); });
  every_op(s, a, asio::as_tuple([](auto&&) {}), [](auto&&...) {});
  ec_t ec;
  every_op(s, a, asio::redirect_error([](auto&&) {}, ec), [](auto&&...) {});
}
