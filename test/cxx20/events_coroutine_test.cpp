// The C++20 coroutine example (examples/events_coroutine.hpp) against the simulated PBX.
#include "../../examples/events_coroutine.hpp"
#include "../component/run_with_deadline.hpp"

#include "ami/testing/server.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

using namespace std::chrono_literals;
using ami::test::run_with_deadline;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Answers each Ping, then sends three UserEvents on the same session.
void script_ping_then_events(ami::testing::server& srv) {
  srv.on_action("Ping", [](ami::testing::session& s, const ami::message& a) {
    s.respond(a, {{"Response", "Success"}, {"Ping", "Pong"}});
    for (int i = 1; i <= 3; ++i) {
      s.send({{"Event", "UserEvent"},
              {"Privilege", "user,all"},
              {"UserEvent", "Tick"},
              {"N", std::to_string(i)}});
    }
    return true;
  });
}

}  // namespace

TEST_SUITE("examples") {
  TEST_CASE("events_coroutine prints the events that match its pattern") {
    ami::testing::server srv;
    srv.start();
    script_ping_then_events(srv);
    const auto url = srv.url() + "?timeout=5";

    SUBCASE("enough events") {
      ami_examples::event_watch watch;
      watch.count = 3;
      watch.pattern = "User*";  // leaves FullyBooted and SuccessfulAuth out
      watch.wait = 10s;
      const auto r = run_with_deadline(
          [url, watch](std::ostream& out, std::ostream&) {
            return ami_examples::run_events_coroutine(url, watch, out);
          },
          20s);
      REQUIRE_MESSAGE(r.status, "events_coroutine did not finish");
      CHECK(*r.status == 0);
      CHECK(contains(r.out, "Ping: Pong"));
      CHECK(contains(r.out, "1: UserEvent  UserEvent=Tick  N=1\n"));
      CHECK(contains(r.out, "3: UserEvent  UserEvent=Tick  N=3\n"));
      CHECK_FALSE(contains(r.out, "FullyBooted"));
      CHECK(contains(r.out, "3 event(s)\n"));
      CHECK(srv.wait_for_action("Logoff", 5s));
    }
    SUBCASE("the time limit ends the wait") {
      ami_examples::event_watch watch;
      watch.count = 5;
      watch.pattern = "UserEvent";
      watch.wait = 1s;
      const auto r = run_with_deadline(
          [url, watch](std::ostream& out, std::ostream&) {
            return ami_examples::run_events_coroutine(url, watch, out);
          },
          20s);
      REQUIRE_MESSAGE(r.status, "events_coroutine did not finish");
      CHECK(*r.status == 1);
      CHECK(contains(r.out, "3 event(s) before the time limit"));
    }
    SUBCASE("a refused login arrives as an exception") {
      const std::string bad =
          "ami://admin:wrong@" + srv.address() + ":" + std::to_string(srv.port()) + "?timeout=5";
      const auto r = run_with_deadline(
          [bad](std::ostream& out, std::ostream&) {
            return ami_examples::run_events_coroutine(bad, {}, out);
          },
          20s);
      REQUIRE_MESSAGE(r.status, "events_coroutine did not finish");
      CHECK(*r.status == 1);
      CHECK(contains(r.out, "error: "));
      CHECK(contains(r.out, "Authentication failed"));
    }
  }

}  // TEST_SUITE
