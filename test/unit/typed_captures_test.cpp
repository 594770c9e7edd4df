// Every event of every capture from real Asterisk servers, read through the generated struct
// of its name: it reads ok() unless it is one of the few anomalies listed here.
#include "../support/test_data.hpp"
#include "typed_read.hpp"

#include <doctest/doctest.h>

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

// Server-side captures of test/data, one connection each: real servers, then the
// simulated PBX (ami::testing) as master and as 18, recorded from the session of
// component/server_typed_events_test.cpp (originates, a queue call, lists, load).
const std::vector<std::string>& event_captures() {
  static const std::vector<std::string> names{
      "session1.raw", "session18.raw",  "errors_permission.raw", "queues.raw",    "queues18.raw",
      "asyncagi.raw", "asyncagi18.raw", "fastagi.raw",           "fastagi18.raw", "sim_master.raw",
      "sim18.raw"};
  return names;
}

// Headers real servers leave out although their code writes them always, per event, with
// the reason. Anything else missing or bad fails the test.
const std::map<std::string, std::set<std::string>>& anomalies() {
  static const std::map<std::string, std::set<std::string>> known{};
  return known;
}

}  // namespace

TEST_CASE("every event of the captures reads ok through its typed struct") {
  std::size_t all = 0;
  std::size_t clean = 0;
  std::size_t excused = 0;
  for (const auto& name : event_captures()) {
    CAPTURE(name);
    std::size_t events = 0;
    std::size_t ok = 0;
    for (const auto& o : ami::test::parse_all(ami::test::read_data(name))) {
      if (o.is_error || !o.msg.is_event()) continue;
      const ami::event e{o.msg};
      const auto r = ami::test::read_typed(e);
      CAPTURE(e.name());
      CHECK_MESSAGE(r.has_value(), "no typed struct for this event");
      if (!r) continue;
      ++events;
      if (r->ok) {
        ++ok;
        continue;
      }
      CHECK_MESSAGE(r->bad.empty(), "bad: ", r->bad.front());
      const auto it = anomalies().find(std::string(r->name));
      for (const auto& m : r->missing) {
        CAPTURE(m);
        CHECK_MESSAGE((it != anomalies().end() && it->second.count(m) == 1),
                      "missing a header Asterisk always writes");
      }
      if (r->bad.empty()) ++excused;
    }
    MESSAGE(name, ": ", ok, " of ", events, " events read ok()");
    CHECK(events > 0);
    all += events;
    clean += ok;
  }
  // The anomalies stay a small minority: at least 99 % of real traffic reads ok().
  CHECK(clean * 100 >= all * 99);
  CHECK(excused <= all / 100);
}
