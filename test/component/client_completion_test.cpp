// How completions reach handlers: from the client's reads a handler on the client's own
// executor runs at once (no trip through the scheduler), never inside an initiating function,
// and what it throws leaves from io_context::run() without losing any other completion.
#include "client_support.hpp"

#include "ami/action.hpp"
#include "ami/client.hpp"
#include "ami/response.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using ami::test::client_fixture;
using ami::test::run_until;

TEST_SUITE("client: completions") {
  TEST_CASE("a chain of 2,000 actions, each sent from the previous completion, all complete") {
    client_fixture f;
    f.connect_ok();
    constexpr int total = 2000;
    int done = 0;
    int failed = 0;
    std::function<void()> next;
    next = [&] {
      f.c.async_send(ami::action("Ping"), [&](boost::system::error_code ec, ami::response) {
        if (ec) ++failed;
        if (++done < total) next();
      });
    };
    next();
    REQUIRE(run_until(
        f.io, [&] { return done == total; }, 30s));
    CHECK(failed == 0);
  }

  TEST_CASE("an operation that fails at once never completes inside the call that started it") {
    client_fixture f;
    f.connect_ok();
    // From a completion handler and from an event slot, both of which run inside the
    // client's read: the bad field fails the action before anything is sent.
    bool inside = false;
    std::vector<std::string> order;
    const auto send_bad = [&](const char* from) {
      ami::action bad("Ping");
      bad.add("Bad\r\nKey", "x");
      inside = true;
      f.c.async_send(std::move(bad), [&, from](boost::system::error_code ec, ami::response) {
        CHECK_FALSE(inside);
        CHECK(ec == ami::error::invalid_field);
        order.emplace_back(std::string("failed from ") + from);
      });
      inside = false;
    };
    auto slot = f.c.on_event("UserEvent", [&](const ami::event&) { send_bad("slot"); });
    f.c.async_send(ami::action("Ping"), [&](boost::system::error_code ec, ami::response) {
      CHECK_FALSE(ec);
      send_bad("handler");
    });
    REQUIRE(run_until(f.io, [&] { return order.size() == 1; }));
    f.srv.push_event({{"Event", "UserEvent"}, {"UserEvent", "Go"}});
    REQUIRE(run_until(f.io, [&] { return order.size() == 2; }));
    CHECK(order == std::vector<std::string>{"failed from handler", "failed from slot"});
  }

  TEST_CASE(
      "a handler that throws: run() rethrows it; the other completions of that read and "
      "the connection go on") {
    client_fixture f;
    f.connect_ok();
    // Three Pings answered in one read (the server holds its answers back, then sends them
    // together); the first handler throws.
    f.srv.stall(true);
    int completed = 0;
    f.c.async_send(ami::action("Ping"), [&](boost::system::error_code, ami::response) {
      ++completed;
      throw std::runtime_error("from a handler");
    });
    for (int i = 0; i < 2; ++i) {
      f.c.async_send(ami::action("Ping"), [&](boost::system::error_code ec, ami::response) {
        CHECK_FALSE(ec);
        ++completed;
      });
    }
    REQUIRE(f.server_got("Ping", 3));
    f.srv.stall(false);
    bool thrown = false;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (completed < 3 && std::chrono::steady_clock::now() < deadline) {
      try {
        run_until(
            f.io, [&] { return completed == 3; }, 1s);
      } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()) == "from a handler");
        thrown = true;
      }
    }
    CHECK(thrown);
    CHECK(completed == 3);
    // The read went on: the connection still answers.
    auto r = f.send(ami::action("Ping"));
    CHECK_FALSE(*r.ec);
  }

  TEST_CASE("a handler bound to another io_context runs there, not inside the client's read") {
    client_fixture f;
    f.connect_ok();
    boost::asio::io_context other;
    bool ran = false;
    f.c.async_send(ami::action("Ping"),
                   boost::asio::bind_executor(other.get_executor(),
                                              [&](boost::system::error_code ec, ami::response) {
                                                CHECK_FALSE(ec);
                                                ran = true;
                                              }));
    // A second Ping's answer comes after the first one's: once it is in, the first answer has
    // been read too, and its handler waits for its own io_context.
    auto second = f.send(ami::action("Ping"));
    CHECK_FALSE(*second.ec);
    CHECK_FALSE(ran);
    REQUIRE(run_until(other, [&] { return ran; }));
  }
}
