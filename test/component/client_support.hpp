// Shared pieces of the client's component tests: a server, an io_context and a client, and
// waits that always have a deadline.
#pragma once

#include "ami/client.hpp"
#include "ami/testing/server.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ami::test {

using namespace std::chrono_literals;

// Runs the io_context until pred() holds or the deadline passes. The work guard keeps
// run_one_for() waiting for handlers instead of returning when the client is idle.
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& pred,
                      std::chrono::milliseconds deadline = 10s) {
  auto guard = boost::asio::make_work_guard(io);
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!pred()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= end) return false;
    if (io.stopped()) io.restart();
    io.run_one_for(std::min<std::chrono::steady_clock::duration>(end - now, 20ms));
  }
  return true;
}

// Runs every ready handler (without waiting for new ones).
inline void run_ready(boost::asio::io_context& io) {
  io.restart();
  io.poll();
}

// A completion captured by a test: the error code and the value, once it arrived.
template <class T>
struct result {
  std::optional<boost::system::error_code> ec;
  T value{};
  auto handler() {
    return [this](boost::system::error_code e, T v) {
      REQUIRE_FALSE(ec.has_value());  // exactly once
      value = std::move(v);
      ec = e;
    };
  }
  bool done() const { return ec.has_value(); }
};

struct done_flag {
  std::optional<boost::system::error_code> ec;
  auto handler() {
    return [this](boost::system::error_code e) {
      REQUIRE_FALSE(ec.has_value());
      ec = e;
    };
  }
  bool done() const { return ec.has_value(); }
};

struct client_fixture {
  explicit client_fixture(ami::testing::server_options opts = {}) : srv(std::move(opts)) {
    srv.start();
    cfg = ami::config::from_url(srv.url());
    cfg.connect_timeout = 5s;
    cfg.login_timeout = 5s;
    cfg.action_timeout = 5s;
  }

  template <class T>
  bool wait(const T& r, std::chrono::milliseconds deadline = 10s) {
    return run_until(
        io, [&] { return r.done(); }, deadline);
  }

  // Runs the client until the server has received n actions of that name.
  bool server_got(const std::string& action, std::size_t n = 1) {
    return run_until(io, [&] { return srv.wait_for_actions(action, n, 0ms); });
  }

  boost::system::error_code connect() {
    done_flag d;
    c.async_connect(cfg, d.handler());
    REQUIRE(wait(d));
    return *d.ec;
  }

  void connect_ok() {
    const auto ec = connect();
    REQUIRE_MESSAGE(!ec, ec.message());
    REQUIRE(c.state() == ami::connection_state::logged_in);
  }

  result<ami::response> send(ami::action a, ami::send_options o = {}) {
    result<ami::response> r;
    c.async_send(std::move(a), o, r.handler());
    REQUIRE(wait(r));
    return r;
  }

  boost::asio::io_context io;
  ami::testing::server srv;
  ami::config cfg;
  ami::client c{io};
};

}  // namespace ami::test
