// Real servers' bytes (test/data captures) replayed through the client: each action gets the
// answer the capture holds, matched by the capture's ActionIDs, and the other events arrive.
#include "../support/test_data.hpp"
#include "client_support.hpp"

#include <map>

using namespace std::chrono_literals;
using ami::test::client_fixture;
using ami::test::done_flag;
using ami::test::result;

namespace {

struct replayed {
  std::map<std::string, result<ami::response>> answers;
  std::map<std::string, result<ami::originate_result>> originates;
  std::vector<std::string> events;
  std::size_t items = 0;
};

// The events of the capture no action claims, in order.
std::vector<std::string> unsolicited_events(const std::string& name) {
  std::vector<std::string> out;
  std::map<std::string, bool> in_list;
  for (const auto& o : ami::test::parse_all(ami::test::read_data(name + ".raw"))) {
    const auto& m = o.msg;
    if (!m.is_event()) continue;
    const auto id = m.action_id();
    const bool originate = ami::iequals(m.event_name(), "OriginateResponse") && !id.empty();
    const bool unmarked_peer = id.empty() && m.event_name() == "PeerEntry" && !m.has("Privilege");
    if (!id.empty() || originate || unmarked_peer) continue;
    out.emplace_back(m.event_name());
  }
  return out;
}

void replay(const std::string& name, replayed& out) {
  client_fixture f;
  f.srv.replay(ami::test::read_data(name + ".raw"));
  f.cfg.action_id_prefix = "";  // the capture's Login answer carries ActionID 1
  auto sub = f.c.on_event([&](const ami::event& e) { out.events.emplace_back(e.name()); });
  auto items = f.c.on_list_item([&](const ami::event&) { ++out.items; });
  done_flag d;
  f.c.async_connect(f.cfg, d.handler());
  // Queued while logging in, written once logged in, answered by the capture's bytes.
  ami::proto::parser_options client_side;
  client_side.expect_banner = false;
  for (const auto& o :
       ami::test::parse_all(ami::test::read_data(name + ".sent.raw"), client_side)) {
    ami::action a(std::string(o.msg.head()));
    for (std::size_t i = 1; i < o.msg.size(); ++i) a.add(o.msg[i].name, o.msg[i].value);
    const std::string id(o.msg.action_id());
    if (a.name() == "Login") continue;
    if (a.name() == "Originate") {
      f.c.async_originate(a, out.originates[id].handler());
    } else {
      f.c.async_send(a, out.answers[id].handler());
    }
  }
  REQUIRE(f.wait(d));
  REQUIRE_FALSE(*d.ec);
  REQUIRE(ami::test::run_until(f.io, [&] {
    for (const auto& [id, r] : out.answers) {
      if (!r.done()) return false;
    }
    for (const auto& [id, r] : out.originates) {
      if (!r.done()) return false;
    }
    return true;
  }));
  CHECK(f.c.stats().unmatched == 0);
  CHECK(f.c.stats().parse_errors == 0);
  f.c.close();
}

}  // namespace

TEST_SUITE("client") {
  TEST_CASE("replay of session1 (AMI 13.0.0)") {
    replayed r;
    replay("session1", r);
    for (const auto& [key, a] : r.answers) {
      const std::string id = key;
      CAPTURE(id);
      CHECK_FALSE(*a.ec);
    }
    CHECK(r.answers["2"].value.get("Ping") == "Pong");
    CHECK(r.answers["3"].value.events().empty());
    REQUIRE(r.answers["3"].value.complete() != nullptr);
    CHECK(r.answers["4"].value.events().size() == 2);
    CHECK(r.answers["5"].value.events().size() == 2);
    REQUIRE(r.answers["6"].value.output().size() == 1);
    CHECK(r.answers["6"].value.output()[0].rfind("Asterisk GIT-master", 0) == 0);
    CHECK(r.answers["7"].value.get("NewMessages") == "0");
    CHECK(r.answers["9"].value.get("Challenge") == "364772732");
    CHECK(r.answers["10"].value.status() == "Goodbye");
    REQUIRE(r.originates.count("o1") == 1);
    CHECK_FALSE(*r.originates["o1"].ec);
    CHECK(r.originates["o1"].value.outcome == ami::originate_outcome::answered);
    CHECK(r.events == unsolicited_events("session1"));
    CHECK(r.items == 1 + 3 + 3 + 1);  // complete; QueueStatus 2+1; Status 2+1; OriginateResponse
  }

  TEST_CASE("replay of session18 (AMI 7.0.3, IAXpeers items without ActionID)") {
    replayed r;
    replay("session18", r);
    for (const auto& [key, a] : r.answers) {
      const std::string id = key;
      CAPTURE(id);
      CHECK_FALSE(*a.ec);
    }
    CHECK(r.answers["3"].value.events().size() == 3);
    REQUIRE(r.answers["5"].value.events().size() == 1);
    CHECK(r.answers["5"].value.events()[0].get("ObjectName") == "iaxpeer1");
    CHECK(r.answers["4"].value.get("SIP-T.38Support").has_value());
    CHECK(r.answers["8"].value.events().size() == 2);
    CHECK(r.answers["14"].value.output().size() == 5);
    CHECK(r.answers["22"].value.status() == "Goodbye");
    CHECK(r.originates["o1"].value.outcome == ami::originate_outcome::answered);
    CHECK(r.events == unsolicited_events("session18"));
  }

}  // TEST_SUITE
