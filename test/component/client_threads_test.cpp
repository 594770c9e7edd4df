// Many threads: four run the io_context, four others send with use_future.
#include "client_support.hpp"

#include <boost/asio/use_future.hpp>

#include <atomic>
#include <thread>

using namespace std::chrono_literals;
using ami::test::client_fixture;

TEST_SUITE("client") {
  TEST_CASE("4 io threads, 4 sending threads, use_future") {
    client_fixture f;
    auto guard = boost::asio::make_work_guard(f.io);
    std::vector<std::thread> io_threads;
    for (int i = 0; i < 4; ++i) io_threads.emplace_back([&] { f.io.run(); });
    std::atomic<int> events{0};
    auto sub = f.c.on_event("UserEvent", [&](const ami::event&) { ++events; });

    auto connected = f.c.async_connect(f.cfg, boost::asio::use_future);
    REQUIRE(connected.wait_for(10s) == std::future_status::ready);
    CHECK_NOTHROW(connected.get());

    constexpr int per_thread = 200;
    std::atomic<int> ok{0};
    std::atomic<int> failed{0};
    std::vector<std::thread> senders;
    for (int t = 0; t < 4; ++t) {
      senders.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i) {
          ami::action a("Ping");
          a.add("Seq", std::to_string(t * per_thread + i));
          auto fut = f.c.async_send(std::move(a), boost::asio::use_future);
          if (fut.wait_for(10s) != std::future_status::ready) {
            ++failed;
            return;
          }
          try {
            const auto r = fut.get();
            r.get("Ping") == "Pong" ? ++ok : ++failed;
          } catch (...) {
            ++failed;
          }
          if (i % 50 == 0) {
            f.srv.push_event({{"Event", "UserEvent"}, {"Privilege", "user,all"}});
            (void)f.c.state();
            (void)f.c.stats();
          }
        }
      });
    }
    for (auto& s : senders) s.join();
    CHECK(ok == 4 * per_thread);
    CHECK(failed == 0);

    auto bye = f.c.async_logoff(boost::asio::use_future);
    CHECK(bye.wait_for(10s) == std::future_status::ready);
    guard.reset();
    f.io.stop();
    for (auto& t : io_threads) t.join();
    CHECK(events <= 16);
  }

  TEST_CASE("subscribing, cancelling and destroying from other threads while io threads run") {
    ami::testing::server srv;
    srv.start();
    boost::asio::io_context io;
    auto guard = boost::asio::make_work_guard(io);
    std::vector<std::thread> io_threads;
    for (int i = 0; i < 4; ++i) io_threads.emplace_back([&] { io.run(); });
    auto c = std::make_unique<ami::client>(io);
    auto connected = c->async_connect(ami::config::from_url(srv.url()), boost::asio::use_future);
    REQUIRE(connected.wait_for(10s) == std::future_status::ready);
    CHECK_NOTHROW(connected.get());

    std::atomic<bool> stop{false};
    std::atomic<int> delivered{0};
    std::thread pusher([&] {
      while (!stop) srv.push_event({{"Event", "Hangup"}, {"Privilege", "call,all"}});
    });
    std::vector<boost::signals2::scoped_connection> subs;
    for (int i = 0; i < 20; ++i) {
      subs.emplace_back(
          c->on_event(i % 2 == 0 ? "Hangup" : "Hang*", [&](const ami::event&) { ++delivered; }));
    }
    std::vector<std::future<ami::response>> futures;
    for (int i = 0; i < 200; ++i) {
      futures.push_back(c->async_send(ami::action("Ping"), boost::asio::use_future));
      if (i == 100) c->cancel();
    }
    subs.clear();  // disconnect from this thread while events flow
    c.reset();     // destroyed while its strand may be busy on an io thread
    int ready = 0;
    for (auto& f : futures) {
      if (f.wait_for(10s) == std::future_status::ready) ++ready;
    }
    CHECK(ready == 200);
    stop = true;
    pusher.join();
    guard.reset();
    io.stop();
    for (auto& t : io_threads) t.join();
  }

}  // TEST_SUITE
