// The examples (examples/*.hpp) run against the simulated PBX, each within a deadline.
#include "../../examples/core_show_channels.hpp"
#include "../../examples/fleet_monitor.hpp"
#include "../../examples/originate_future.hpp"
#include "../../examples/ping_callbacks.hpp"
#include "../../examples/queue_monitor.hpp"
#include "../../examples/slow_consumer.hpp"
#include "run_with_deadline.hpp"

#include "ami/testing/server.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using ami::test::run_with_deadline;

namespace {

constexpr auto deadline = 20s;

// The server's URL with every client timeout at 5 s, so that nothing waits for long.
std::string url_of(const ami::testing::server& srv, const std::string& user = "admin") {
  return srv.url(user) + "?timeout=5";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_SUITE("examples") {
  TEST_CASE("ping_callbacks logs in and prints the Pong") {
    ami::testing::server srv;
    srv.start();
    const auto url = url_of(srv);
    const auto r = run_with_deadline(
        [url](std::ostream& out, std::ostream&) {
          return ami_examples::run_ping_callbacks(url, out);
        },
        deadline);
    REQUIRE_MESSAGE(r.status, "ping_callbacks did not finish");
    CHECK(*r.status == 0);
    CHECK(contains(r.out, "logged in to Asterisk Call Manager/13.0.0"));
    CHECK(contains(r.out, "Ping: Pong"));
    CHECK(srv.wait_for_action("Logoff", 5s));
  }

  TEST_CASE("ping_callbacks reports a refused login without the secret") {
    ami::testing::server_options opts;
    opts.users.push_back({"watcher", "right-secret"});
    ami::testing::server srv(opts);
    srv.start();
    const std::string url = "ami://watcher:not-the-secret@" + srv.address() + ":" +
                            std::to_string(srv.port()) + "?timeout=5";
    const auto r = run_with_deadline(
        [url](std::ostream& out, std::ostream&) {
          return ami_examples::run_ping_callbacks(url, out);
        },
        deadline);
    REQUIRE_MESSAGE(r.status, "ping_callbacks did not finish");
    CHECK(*r.status == 1);
    CHECK(contains(r.out, "cannot log in to ami://watcher:***@"));
    CHECK(contains(r.out, "Authentication failed"));
    CHECK_FALSE(contains(r.out, "not-the-secret"));
  }

  TEST_CASE("originate_future: an answered call and a busy one") {
    ami::testing::server srv;
    srv.start();
    const auto url = url_of(srv);

    SUBCASE("answered") {
      const auto r = run_with_deadline(
          [url](std::ostream& out, std::ostream&) {
            return ami_examples::run_originate_future(url, {"Local/100@default", "200", "default"},
                                                      out);
          },
          deadline);
      REQUIRE_MESSAGE(r.status, "originate_future did not finish");
      CHECK(*r.status == 0);
      CHECK(contains(r.out, "calling Local/100@default -> 200@default"));
      CHECK(contains(r.out, "answered: Local/100@default-"));
      // The variable reached the server with the Originate.
      bool seen = false;
      for (const auto& m : srv.received()) {
        if (ami::iequals(m.get_or("Action"), "Originate")) {
          seen = m.get_or("Variable") == "ORIGIN=originate_future" && m.get_or("Async") == "true";
        }
      }
      CHECK(seen);
    }
    SUBCASE("busy") {
      const auto r = run_with_deadline(
          [url](std::ostream& out, std::ostream&) {
            return ami_examples::run_originate_future(url, {"Local/400@default", "200", "default"},
                                                      out);
          },
          deadline);
      REQUIRE_MESSAGE(r.status, "originate_future did not finish");
      CHECK(*r.status == 1);
      CHECK(contains(r.out, "not answered: busy (Reason 5)"));
    }
    SUBCASE("refused by the server") {
      srv.on_action("Originate", [](ami::testing::session& s, const ami::message& a) {
        s.respond(a, {{"Response", "Error"}, {"Message", "Originate is disabled here"}});
        return true;
      });
      const auto r = run_with_deadline(
          [url](std::ostream& out, std::ostream&) {
            return ami_examples::run_originate_future(url, {}, out);
          },
          deadline);
      REQUIRE_MESSAGE(r.status, "originate_future did not finish");
      CHECK(*r.status == 1);
      CHECK(contains(r.out, "Originate failed: "));
      CHECK(contains(r.out, "Originate is disabled here"));
    }
  }

  TEST_CASE("core_show_channels prints the live channels and the server's count") {
    ami::testing::server srv;
    srv.start();
    const auto url = url_of(srv);

    SUBCASE("no channel") {
      const auto r = run_with_deadline(
          [url](std::ostream& out, std::ostream&) {
            return ami_examples::run_core_show_channels(url, out);
          },
          deadline);
      REQUIRE_MESSAGE(r.status, "core_show_channels did not finish");
      CHECK(*r.status == 0);
      CHECK(contains(r.out, "0 active channel(s) (ListItems: 0)"));
    }
    SUBCASE("one call into the echo test") {
      const auto channel = srv.incoming_call("PJSIP/trunk1", "200");
      REQUIRE_FALSE(channel.empty());
      const auto r = run_with_deadline(
          [url](std::ostream& out, std::ostream&) {
            return ami_examples::run_core_show_channels(url, out);
          },
          deadline);
      REQUIRE_MESSAGE(r.status, "core_show_channels did not finish");
      CHECK(*r.status == 0);
      CHECK(contains(r.out, channel));
      CHECK(contains(r.out, "200@default"));
      CHECK(contains(r.out, "1 active channel(s) (ListItems: 1)"));
    }
  }

  TEST_CASE("slow_consumer: the store falls behind, drops are counted, the client answers") {
    ami::testing::server srv;
    srv.start();
    const auto url = url_of(srv);
    ami_examples::slow_consumer_options o;
    o.count = 300;
    o.work = 10ms;
    o.capacity = 50;
    o.pattern = "TestBurst";
    o.wait = 10s;  // within the deadline, so that a shortfall shows in the output
    // Once the example logged in, 300 events arrive at once: far faster than 10 ms each.
    std::thread pusher([&srv] {
      if (!srv.wait_for_logins(1, 15s)) return;
      std::string bytes;
      for (int n = 1; n <= 300; ++n) {
        bytes +=
            "Event: TestBurst\r\nPrivilege: call,all\r\nSeq: " + std::to_string(n) + "\r\n\r\n";
      }
      srv.push_raw(bytes);
    });
    const auto r = run_with_deadline(
        [url, o](std::ostream& out, std::ostream&) {
          return ami_examples::run_slow_consumer(url, o, out);
        },
        deadline);
    pusher.join();
    INFO(r.out);
    REQUIRE_MESSAGE(r.status, "slow_consumer did not finish");
    CHECK(*r.status == 0);
    CHECK(contains(r.out, "Ping answered in "));
    CHECK(contains(r.out, "dropping the oldest"));
    const auto at = r.out.find("events: ");
    REQUIRE(at != std::string::npos);
    int received = 0, stored = 0, dropped = 0, bursts = 0, high = 0, capacity = 0;
    REQUIRE(std::sscanf(r.out.c_str() + at,
                        "events: %d received, %d stored, %d dropped in %d burst(s); queue high "
                        "water %d of %d",
                        &received, &stored, &dropped, &bursts, &high, &capacity) == 6);
    CHECK(received == 300);
    CHECK(stored + dropped == 300);  // nothing lost without being counted
    CHECK(dropped > 0);
    CHECK(bursts >= 1);
    CHECK(high == 50);
    CHECK(capacity == 50);
  }

  TEST_CASE("queue_monitor prints the board after the sync and after a refresh") {
    ami::testing::server srv;
    srv.start();
    const auto url = url_of(srv);
    const auto r = run_with_deadline(
        [url](std::ostream& out, std::ostream&) {
          ami_examples::queue_monitor_options o;
          o.boards = 2;
          return ami_examples::run_queue_monitor(url, out, o);
        },
        deadline);
    REQUIRE_MESSAGE(r.status, "queue_monitor did not finish");
    CHECK(*r.status == 0);
    CHECK(contains(r.out, "synced: "));
    // The standard PBX's queue, with its member, on both boards.
    CHECK(contains(r.out, "support: 0 waiting"));
    CHECK(contains(r.out, "  member Local/100@default"));
    CHECK(r.out.find("---- 1 queue(s)") != r.out.rfind("---- 1 queue(s)"));
  }

  TEST_CASE("fleet_monitor: two PBXs, their events counted by name, then a summary") {
    ami::testing::server east;
    ami::testing::server west;
    east.start();
    west.start();
    const std::vector<ami_examples::named_pbx> pbxs{{"east", url_of(east)}, {"west", url_of(west)}};
    std::thread pusher([&east, &west] {
      for (auto* srv : {&east, &west}) {
        if (!srv->wait_for_logins(1, 15s)) return;
      }
      for (int n = 1; n <= 10; ++n) {
        for (auto* srv : {&east, &west}) {
          srv->push_event({{"Event", "UserEvent"}, {"UserEvent", "Demo"}});
        }
      }
    });
    const auto r = run_with_deadline(
        [pbxs](std::ostream& out, std::ostream&) {
          return ami_examples::run_fleet_monitor(pbxs, 10, out);
        },
        deadline);
    pusher.join();
    INFO(r.out);
    REQUIRE_MESSAGE(r.status, "fleet_monitor did not finish");
    CHECK(*r.status == 0);
    CHECK(contains(r.out, "east is logged_in"));
    CHECK(contains(r.out, "west is logged_in"));
    for (const std::string name : {"east", "west"}) {
      CAPTURE(name);
      const auto at = r.out.find(name + ": logged_in, ");
      REQUIRE(at != std::string::npos);
      int events = 0;
      REQUIRE(std::sscanf(r.out.c_str() + at + name.size(), ": logged_in, %d events", &events) ==
              1);
      CHECK(events >= 10);
    }
    CHECK(contains(r.out, "UserEvent="));
    CHECK(contains(r.out, "fleet: 2 PBXs, 2 logged in, 0 parse errors"));
  }

  TEST_CASE("fleet_monitor: a bad URL is reported, nothing runs") {
    const auto r = run_with_deadline(
        [](std::ostream& out, std::ostream&) {
          return ami_examples::run_fleet_monitor({{"bad", "http://nowhere"}}, 1, out);
        },
        deadline);
    REQUIRE(r.status);
    CHECK(*r.status == 1);
    CHECK(contains(r.out, "cannot add bad: invalid connection URL"));
  }
}  // TEST_SUITE
