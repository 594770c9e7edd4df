// The web wallboard's HTTP server (tools/wallboard/web_server.hpp) on loopback, with a
// snapshot source the test controls: the page and its files, GET /api/snapshot, the token,
// the event stream (a fresh snapshot first, then one per change, bursts coalesced), and a
// reconnect that starts from a fresh snapshot.
#include "../../tools/wallboard/web_server.hpp"
#include "http_test_client.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <doctest/doctest.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

using ami::test::http_request;
using ami::test::sse_client;
using ami::tools::wallboard::web_options;
using ami::tools::wallboard::web_server;
using namespace std::chrono_literals;
namespace http = boost::beast::http;

namespace {

// The server on its own io thread; the document it serves is set by the test.
struct web_fixture {
  explicit web_fixture(web_options o = {}) {
    server.emplace(io.get_executor(), std::move(o), [this] {
      std::lock_guard<std::mutex> lock(m);
      return document;
    });
    port = server->start().port();
    thread = std::thread([this] { io.run(); });
  }
  ~web_fixture() {
    server->stop();
    work.reset();
    thread.join();  // stop() closed everything, so run() returns
    server.reset();
  }
  web_fixture(const web_fixture&) = delete;
  web_fixture& operator=(const web_fixture&) = delete;

  void set(std::string doc) {
    std::lock_guard<std::mutex> lock(m);
    document = std::move(doc);
  }
  // Waits until the server has this many open streams (it has no signal for it: the count
  // is an atomic the test reads).
  bool wait_streams(std::size_t n, std::chrono::milliseconds deadline = 5s) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (server->streams() != n) {
      if (std::chrono::steady_clock::now() >= end) return false;
      std::this_thread::yield();
    }
    return true;
  }

  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::mutex m;
  std::string document = R"({"n":0})";
  std::optional<web_server> server;
  unsigned short port = 0;
  std::thread thread;
};

}  // namespace

TEST_SUITE("wallboard web server") {
  TEST_CASE("the page, its script and style sheet are served from the program") {
    web_fixture f;
    const auto page = http_request(f.port, "/");
    REQUIRE(page);
    CHECK(page->status == 200);
    CHECK(page->content_type == "text/html; charset=utf-8");
    CHECK(page->body.find("wallboard.js") != std::string::npos);
    const auto script = http_request(f.port, "/wallboard.js");
    REQUIRE(script);
    CHECK(script->status == 200);
    CHECK(script->content_type == "text/javascript; charset=utf-8");
    CHECK(script->body.find("EventSource") != std::string::npos);
    const auto css = http_request(f.port, "/wallboard.css");
    REQUIRE(css);
    CHECK(css->content_type == "text/css; charset=utf-8");
    const auto missing = http_request(f.port, "/nothing-here");
    REQUIRE(missing);
    CHECK(missing->status == 404);
    const auto post = http_request(f.port, "/api/snapshot", http::verb::post);
    REQUIRE(post);
    CHECK(post->status == 405);
  }

  TEST_CASE("GET /api/snapshot answers the source's current document") {
    web_fixture f;
    f.set(R"({"queues":[1]})");
    const auto a = http_request(f.port, "/api/snapshot");
    REQUIRE(a);
    CHECK(a->status == 200);
    CHECK(a->content_type == "application/json");
    CHECK(a->body == R"({"queues":[1]})");
    f.set(R"({"queues":[2]})");
    const auto b = http_request(f.port, "/api/snapshot");
    REQUIRE(b);
    CHECK(b->body == R"({"queues":[2]})");
  }

  TEST_CASE("with a token, the API refuses requests without it and accepts both forms") {
    web_options o;
    o.token = "s3cr:t";
    web_fixture f(o);
    for (const char* target : {"/api/snapshot", "/api/snapshot?token=wrong", "/api/events",
                               "/api/snapshot?token=s3cr"}) {
      CAPTURE(target);
      const auto a = http_request(f.port, target);
      REQUIRE(a);
      CHECK(a->status == 401);
      CHECK(a->www_authenticate == "Bearer");
      CHECK(a->body.find(R"({)") == std::string::npos);  // no data leaks out
    }
    const auto bad_bearer =
        http_request(f.port, "/api/snapshot", http::verb::get, {{"Authorization", "Bearer no"}});
    REQUIRE(bad_bearer);
    CHECK(bad_bearer->status == 401);
    const auto by_query = http_request(f.port, "/api/snapshot?token=s3cr%3At");
    REQUIRE(by_query);
    CHECK(by_query->status == 200);
    const auto by_header = http_request(f.port, "/api/snapshot", http::verb::get,
                                        {{"Authorization", "Bearer s3cr:t"}});
    REQUIRE(by_header);
    CHECK(by_header->status == 200);
    // The page holds no data: it loads without the token and asks for it itself.
    const auto page = http_request(f.port, "/");
    REQUIRE(page);
    CHECK(page->status == 200);
    sse_client refused(f.port, "/api/events?token=nope");
    CHECK(refused.status() == 401);
    sse_client stream(f.port, "/api/events?token=s3cr%3At");
    CHECK(stream.status() == 200);
    CHECK(stream.next());
  }

  TEST_CASE("the event stream starts with a fresh snapshot, then follows publish()") {
    web_fixture f;
    f.set(R"({"n":1})");
    sse_client s(f.port, "/api/events");
    REQUIRE(s.status() == 200);
    CHECK(s.content_type() == "text/event-stream");
    const auto first = s.next();
    REQUIRE(first);
    CHECK(first->first == "snapshot");
    CHECK(first->second == R"({"n":1})");
    REQUIRE(f.wait_streams(1));
    f.set(R"({"n":2})");
    f.server->publish();
    const auto second = s.next();
    REQUIRE(second);
    CHECK(second->second == R"({"n":2})");
  }

  TEST_CASE("a burst of changes reaches the stream as fewer messages ending with the last") {
    web_options o;
    o.min_interval = 300ms;
    web_fixture f(o);
    sse_client s(f.port, "/api/events");
    REQUIRE(s.next());
    REQUIRE(f.wait_streams(1));
    for (int i = 1; i <= 20; ++i) {
      f.set(R"({"n":)" + std::to_string(i) + "}");
      f.server->publish();
    }
    int messages = 0;
    std::string last;
    while (last != R"({"n":20})") {
      const auto m = s.next();
      REQUIRE(m);
      last = m->second;
      ++messages;
    }
    CHECK(messages < 20);
  }

  TEST_CASE("a browser that comes back gets a fresh snapshot, not the stale one") {
    web_fixture f;
    f.set(R"({"n":"before"})");
    {
      sse_client s(f.port, "/api/events");
      const auto m = s.next();
      REQUIRE(m);
      CHECK(m->second == R"({"n":"before"})");
      REQUIRE(f.wait_streams(1));
      s.close();
    }
    // The server notices the closed stream and forgets it.
    REQUIRE(f.wait_streams(0));
    f.set(R"({"n":"after"})");  // changed while nobody watched, and never published
    sse_client again(f.port, "/api/events");
    const auto m = again.next();
    REQUIRE(m);
    CHECK(m->second == R"({"n":"after"})");
    CHECK(f.server->streams_opened() == 2);
  }

  TEST_CASE("a server that cannot listen says so") {
    web_fixture f;
    web_options o;
    o.port = f.port;  // taken
    boost::asio::io_context io;
    web_server second(io.get_executor(), o, [] { return std::string("{}"); });
    CHECK_THROWS_AS(second.start(), boost::system::system_error);
  }
}
