// What the simulated PBX sends, for both simulated Asterisk versions, read through the typed
// structs: every event reads ok(), and headers Asterisk writes only in some cases are left
// out where the simulated case does not call for them.
#include "../unit/typed_read.hpp"
#include "ami/testing/server.hpp"
#include "raw_client.hpp"

#include <doctest/doctest.h>

#include <cstddef>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using ami::test::raw_client;
using ami::testing::server;
using ami::testing::server_options;

namespace {

// Moves what arrived into `seen` until an event of this name came (or the deadline).
bool collect_until(raw_client& c, std::vector<ami::message>& seen, const std::string& name,
                   std::chrono::milliseconds timeout = 5s) {
  return c.read_until(
      [&] {
        bool found = false;
        while (!c.inbox().empty()) {
          found = found || ami::iequals(c.inbox().front().event_name(), name);
          seen.push_back(c.inbox().front());
          c.inbox().pop_front();
        }
        return found;
      },
      timeout);
}

// A session like the captures': originates to an application and to an extension, a call
// into a queue answered by its member, list actions, then call-center load.
std::vector<ami::message> simulated_session(const std::string& version) {
  server_options o;
  o.ami_version = version;
  const bool old = std::stoi(version) < 9;  // AMI 7.x: Asterisk 18, chan_sip and IAX2
  auto pbx = ami::testing::pbx_config::standard(old);
  pbx.time_unit = 10ms;
  o.pbx = pbx;
  server s(o);
  s.start();
  std::vector<ami::message> seen;
  raw_client c;
  REQUIRE(c.connect(s.port()));
  c.login();
  c.action("Originate", {{"Channel", "Local/100@default"},
                         {"Application", "Wait"},
                         {"Data", "1"},
                         {"Async", "true"},
                         {"ActionID", "app"}});
  REQUIRE(collect_until(c, seen, "OriginateResponse"));
  c.action("Originate", {{"Channel", "Local/100@default"},
                         {"Context", "default"},
                         {"Exten", "200"},
                         {"Priority", "1"},
                         {"Async", "true"},
                         {"ActionID", "exten"}});
  REQUIRE(collect_until(c, seen, "OriginateResponse"));
  s.incoming_call(old ? "SIP/trunk1" : "PJSIP/trunk1", "700", "default", "5551234");
  REQUIRE(collect_until(c, seen, "AgentConnect"));
  c.action("QueueStatus", {{"ActionID", "qs"}});
  REQUIRE(collect_until(c, seen, "QueueStatusComplete"));
  c.action("CoreShowChannels", {{"ActionID", "cs"}});
  REQUIRE(collect_until(c, seen, "CoreShowChannelsComplete"));
  c.action("Status", {{"ActionID", "st"}});
  REQUIRE(collect_until(c, seen, "StatusComplete"));
  if (old) {
    c.action("SIPpeers", {{"ActionID", "sp"}});
    REQUIRE(collect_until(c, seen, "PeerlistComplete"));
    c.action("IAXpeers", {{"ActionID", "ip"}});
    REQUIRE(collect_until(c, seen, "PeerlistComplete"));
  } else {
    c.action("PJSIPShowEndpoints", {{"ActionID", "pe"}});
    REQUIRE(collect_until(c, seen, "EndpointListComplete"));
  }
  REQUIRE(collect_until(c, seen, "AgentComplete"));
  s.start_load(2000);
  REQUIRE(collect_until(c, seen, "AgentComplete"));
  s.stop_load();
  return seen;
}

void check_version(const std::string& version) {
  CAPTURE(version);
  const auto seen = simulated_session(version);
  std::size_t events = 0;
  std::size_t ok = 0;
  bool app_response = false;
  bool exten_response = false;
  for (const auto& m : seen) {
    if (!m.is_event()) continue;
    const ami::event e{m};
    CAPTURE(e.name());
    const auto r = ami::test::read_typed(e);
    CHECK_MESSAGE(r.has_value(), "no typed struct for this event");
    if (!r) continue;
    ++events;
    ok += r->ok ? 1U : 0U;
    for (const auto& h : r->missing) CHECK_MESSAGE(false, "missing ", h);
    for (const auto& h : r->bad) CHECK_MESSAGE(false, "bad ", h);
    // Headers Asterisk writes only in some cases, in cases the simulator does not make.
    const auto name = e.name();
    if (name == "Hangup") CHECK_FALSE(e.get("TechCause"));
    if (name == "DialEnd" || name == "DialState") CHECK_FALSE(e.get("Forward"));
    if (name == "BridgeEnter") CHECK_FALSE(e.get("SwapUniqueid"));
    if (name == "OriginateResponse" && e.get_or("ActionID") == "app") {
      app_response = true;
      CHECK(e.get("Application"));
      CHECK_FALSE(e.get("Context"));
      CHECK_FALSE(e.get("Exten"));
    }
    if (name == "OriginateResponse" && e.get_or("ActionID") == "exten") {
      exten_response = true;
      CHECK(e.get("Context"));
      CHECK_FALSE(e.get("Application"));
      CHECK_FALSE(e.get("Data"));
    }
  }
  CHECK(app_response);
  CHECK(exten_response);
  MESSAGE("simulated AMI ", version, ": ", ok, " of ", events, " events read ok()");
  CHECK(events > 50);
  CHECK(ok == events);
}

}  // namespace

TEST_CASE("the simulated PBX sends events that read ok, as Asterisk master (AMI 13.0.0)") {
  check_version("13.0.0");
}

TEST_CASE("the simulated PBX sends events that read ok, as Asterisk 18 (AMI 7.0.3)") {
  check_version("7.0.3");
}
