// The simulated PBX of ami::testing::server, from raw sockets, against the captures' shapes.
#include "../support/test_data.hpp"
#include "ami/testing/server.hpp"
#include "pbx_capture_support.hpp"
#include "raw_client.hpp"

#include <doctest/doctest.h>

#include <map>
#include <mutex>
#include <set>

using namespace std::chrono_literals;
using ami::test::event_shapes;
using ami::test::exchange;
using ami::test::field_names;
using ami::test::names;
using ami::test::parse_capture;
using ami::test::raw_client;
using ami::test::run;
using ami::testing::server;
using ami::testing::server_options;

namespace {

server_options opts(const std::string& version) {
  server_options o;
  o.ami_version = version;
  o.users.push_back({"reader", "readonly", "all", ""});
  return o;
}

}  // namespace

TEST_SUITE("testing server: PBX") {
  TEST_CASE("Asterisk 18 session: every answer has the capture's fields") {
    auto o = opts("7.0.3");
    auto pbx = ami::testing::pbx_config::standard(true);
    pbx.time_unit = 1s;  // the call must outlive the script, as on the real server
    o.pbx = pbx;
    server s(o);
    s.start();
    const auto capture = parse_capture("session18.raw");
    std::map<std::string, std::vector<ami::message>> by_id;
    for (const auto& m : capture) {
      if (!m.action_id().empty()) by_id[std::string(m.action_id())].push_back(m);
    }
    const auto shapes = event_shapes(capture);
    auto expect_same = [&](const exchange& x, const std::string& id) {
      INFO("ActionID " << id);
      const auto& want = by_id[id];
      REQUIRE_FALSE(want.empty());
      CHECK(field_names(x.response) == field_names(want.front()));
      names got_events, want_events;
      for (const auto& e : x.events) got_events.emplace_back(e.event_name());
      for (std::size_t i = 1; i < want.size(); ++i) {
        if (want[i].is_event()) want_events.emplace_back(want[i].event_name());
      }
      if (id != "o1") CHECK(got_events == want_events);
      for (const auto& e : x.events) {
        const auto it = shapes.find(std::string(e.event_name()));
        if (it != shapes.end()) {
          INFO("event " << e.event_name());
          CHECK(field_names(e) == it->second);
        }
      }
    };

    raw_client c;
    REQUIRE(c.connect(s.port()));
    expect_same(run(c, "Login", "1", {{"Username", "admin"}, {"Secret", "amp111"}}), "1");
    expect_same(run(c, "Ping", "2"), "2");
    expect_same(run(c, "SIPpeers", "3", {}, "PeerlistComplete"), "3");
    expect_same(run(c, "SIPshowpeer", "4", {{"Peer", "100"}}), "4");
    auto iax = run(c, "IAXpeers", "5", {}, "PeerlistComplete");
    REQUIRE(iax.events.size() == 2);
    for (const auto& m : capture) {
      if (m.event_name() == "PeerEntry" && m.get_or("Channeltype") == "IAX2") {
        CHECK(field_names(iax.events[0]) == field_names(m));
      }
    }
    CHECK_FALSE(iax.events[0].has("ActionID"));
    CHECK(iax.events[0].get_or("Channeltype") == "IAX2");
    CHECK(iax.events[1].get_or("ListItems") == "1");
    expect_same(run(c, "CoreShowChannels", "6", {}, "CoreShowChannelsComplete"), "6");
    expect_same(run(c, "Originate", "o1",
                    {{"Channel", "Local/100@default"},
                     {"Application", "Wait"},
                     {"Data", "5"},
                     {"Async", "true"}},
                    "OriginateResponse"),
                "o1");
    expect_same(run(c, "Status", "8", {}, "StatusComplete"), "8");
    const std::string chan = "Local/100@default-00000000;1";
    expect_same(run(c, "Monitor", "9", {{"Channel", chan}, {"File", "test1"}, {"Mix", "true"}}),
                "9");
    expect_same(run(c, "ChangeMonitor", "10", {{"Channel", chan}, {"File", "test1b"}}), "10");
    expect_same(run(c, "StopMonitor", "11", {{"Channel", chan}}), "11");
    expect_same(run(c, "QueueStatus", "12", {}, "QueueStatusComplete"), "12");
    expect_same(run(c, "Command", "13", {{"Command", "core show version"}}), "13");
    auto peers = run(c, "Command", "14", {{"Command", "sip show peers"}});
    expect_same(peers, "14");
    const auto got_lines = peers.response.get_all("Output");
    const auto want_lines = by_id["14"].front().get_all("Output");
    REQUIRE(got_lines.size() == want_lines.size());
    for (std::size_t i = 0; i < got_lines.size(); ++i) CHECK(got_lines[i] == want_lines[i]);
    auto ext = run(c, "ExtensionState", "15", {{"Exten", "100"}, {"Context", "default"}});
    expect_same(ext, "15");
    CHECK(ext.response.get_or("Hint") == "SIP/100");
    CHECK(ext.response.get_or("StatusText") == "Unavailable");
    expect_same(run(c, "MailboxStatus", "16", {{"Mailbox", "1234@default"}}), "16");
    expect_same(run(c, "MailboxCount", "17", {{"Mailbox", "1234@default"}}), "17");
    expect_same(run(c, "AbsoluteTimeout", "18", {{"Channel", chan}, {"Timeout", "30"}}), "18");
    expect_same(
        run(c, "Redirect", "19",
            {{"Channel", chan}, {"Exten", "200"}, {"Context", "default"}, {"Priority", "1"}}),
        "19");
    ami::message echo;
    REQUIRE(c.next_event("Newexten", echo));
    expect_same(run(c, "Hangup", "20", {{"Channel", chan}}), "20");
    ami::message hangup;
    REQUIRE(c.next_event("Hangup", hangup));
    CHECK(field_names(hangup) == shapes.at("Hangup"));
    expect_same(run(c, "Challenge", "21", {{"AuthType", "MD5"}}), "21");
    expect_same(run(c, "Logoff", "22"), "22");
    CHECK(c.wait_eof());
  }

  TEST_CASE("Asterisk master session: Originate events and lists have the capture's shapes") {
    auto o = opts("13.0.0");
    auto pbx = ami::testing::pbx_config::standard(false);
    pbx.time_unit = 50ms;
    o.pbx = pbx;
    server s(o);
    s.start();
    const auto capture = parse_capture("session1.raw");
    const auto shapes = event_shapes(capture);
    raw_client c;
    REQUIRE(c.connect(s.port()));
    run(c, "Login", "1", {{"Username", "admin"}, {"Secret", "amp111"}});
    c.inbox().clear();
    auto empty = run(c, "CoreShowChannels", "3", {}, "CoreShowChannelsComplete");
    CHECK(field_names(empty.response) == names{"Response", "ActionID", "EventList", "Message"});
    CHECK(empty.response.get_or("Message") == "Channels will follow");
    CHECK(field_names(empty.events.back()) == names{"Event", "ActionID", "EventList", "ListItems"});
    CHECK(empty.events.back().get_or("ListItems") == "0");

    c.action("Originate", {{"Channel", "Local/100@default"},
                           {"Application", "Wait"},
                           {"Data", "5"},
                           {"Async", "true"},
                           {"ActionID", "o1"}});
    // Every event up to the last Cdr: the call ends by itself after Wait 5 (250 ms here).
    std::vector<ami::message> seen;
    REQUIRE(c.read_until([&] {
      while (!c.inbox().empty()) {
        seen.push_back(c.inbox().front());
        c.inbox().pop_front();
      }
      std::size_t cdrs = 0;
      for (const auto& m : seen) cdrs += m.event_name() == "Cdr" ? 1U : 0U;
      return cdrs == 2;
    }));
    names flow, want_flow;
    const std::set<std::string> call_events{"Newchannel",       "Newexten", "LocalBridge",
                                            "DialBegin",        "Newstate", "DialEnd",
                                            "OriginateResponse"};
    for (const auto& m : seen) {
      if (m.is_event() && call_events.count(std::string(m.event_name()))) {
        flow.emplace_back(m.event_name());
      }
      if (m.is_event()) {
        const auto it = shapes.find(std::string(m.event_name()));
        if (it != shapes.end()) {
          INFO("event " << m.event_name());
          CHECK(field_names(m) == it->second);
        }
      }
    }
    for (const auto& m : capture) {
      if (m.is_event() && call_events.count(std::string(m.event_name()))) {
        want_flow.emplace_back(m.event_name());
      }
    }
    // The capture's call goes on with Newexten (Wait 20) after OriginateResponse: compare the
    // flow up to and including the first Newexten after it.
    want_flow.resize(std::min(want_flow.size(), flow.size()));
    CHECK(flow == want_flow);
    CHECK(s.channels().empty());
  }

  TEST_CASE("a user without write privilege gets Permission denied and RequestNotAllowed") {
    server s(opts("13.0.0"));
    s.start();
    const auto capture = parse_capture("errors_permission.raw");
    raw_client c;
    REQUIRE(c.connect(s.port()));
    run(c, "Login", "r1", {{"Username", "reader"}, {"Secret", "readonly"}});
    auto denied = run(c, "Originate", "r2",
                      {{"Channel", "Local/100@default"},
                       {"Application", "Wait"},
                       {"Data", "1"},
                       {"Async", "true"}});
    CHECK(denied.response.get_or("Message") == "Permission denied");
    ami::message ev;
    REQUIRE(c.next_event("RequestNotAllowed", ev));
    CHECK(field_names(ev) == event_shapes(capture).at("RequestNotAllowed"));
    CHECK(ev.get_or("RequestType") == "Action: Originate");
    CHECK(ev.get_or("AccountID") == "reader");
    // Actions that need no privilege still work.
    CHECK(run(c, "Ping", "p").response.get_or("Ping") == "Pong");
    CHECK(s.channels().empty());
  }

  TEST_CASE("Originate outcomes: answered, busy, no answer, congestion, no such extension") {
    auto o = opts("13.0.0");
    auto pbx = ami::testing::pbx_config::standard(false);
    pbx.time_unit = 20ms;
    o.pbx = pbx;
    server s(o);
    s.start();
    raw_client c;
    REQUIRE(c.connect(s.port()));
    run(c, "Login", "l", {{"Username", "admin"}, {"Secret", "amp111"}});
    struct want {
      std::string channel;
      std::string response;
      std::string reason;
    };
    const std::vector<want> cases{
        {"Local/100@default", "Success", "4"}, {"Local/400@default", "Failure", "5"},
        {"Local/500@default", "Failure", "3"}, {"Local/501@default", "Failure", "8"},
        {"Local/999@default", "Failure", "0"}, {"PJSIP/100", "Failure", "0"},  // not registered
        {"PJSIP/trunk1", "Success", "4"}};
    int n = 0;
    for (const auto& w : cases) {
      INFO(w.channel);
      const std::string id = "o" + std::to_string(n++);
      auto x = run(c, "Originate", id,
                   {{"Channel", w.channel},
                    {"Exten", "200"},
                    {"Context", "default"},
                    {"Priority", "1"},
                    {"Timeout", "10000"},
                    {"CallerID", "\"Bob\" <555>"},
                    {"Async", "true"}},
                   "OriginateResponse");
      CHECK(x.response.get_or("Message") == "Originate successfully queued");
      const auto& r = x.events.back();
      CHECK(r.get_or("Response") == w.response);
      CHECK(r.get_or("Reason") == w.reason);
      CHECK(r.get_or("Context") == "default");
      CHECK(r.get_or("Exten") == "200");
      CHECK(r.get_or("CallerIDNum") == "555");
      CHECK(r.get_or("CallerIDName") == "Bob");
      if (w.response == "Success") {
        CHECK(r.get_or("Channel").find(w.channel) == 0);
      } else {
        CHECK(r.get_or("Channel") == w.channel);
      }
    }
    // Answered calls to 200 echo until hung up.
    ami::message ev;
    REQUIRE(c.next_event("Newexten", ev));
    CHECK(s.channels().size() >= 2);
    for (int i = 0; i < 10 && !s.channels().empty(); ++i) CHECK(s.hangup(s.channels()[0].name));
    CHECK(s.channels().empty());
  }

  TEST_CASE("sync Originate holds the session's later answers until the call is up") {
    auto o = opts("13.0.0");
    auto pbx = ami::testing::pbx_config::standard(false);
    pbx.time_unit = 20ms;
    pbx.step = 10ms;
    o.pbx = pbx;
    server s(o);
    s.start();
    raw_client c;
    REQUIRE(c.connect(s.port()));
    run(c, "Login", "l", {{"Username", "admin"}, {"Secret", "amp111"}});
    c.action("Originate", {{"Channel", "Local/100@default"},
                           {"Application", "Wait"},
                           {"Data", "1"},
                           {"ActionID", "sync"}});
    c.action("Ping", {{"ActionID", "after"}});
    ami::message r;
    REQUIRE(c.next_response(r));
    CHECK(r.action_id() == "sync");
    CHECK(r.head() == "Success");
    CHECK(r.get_or("Message") == "Originate successfully queued");
    REQUIRE(c.next_response(r));
    CHECK(r.action_id() == "after");
    CHECK(c.raw().find("OriginateResponse") == std::string::npos);

    auto failed = run(c, "Originate", "busy",
                      {{"Channel", "Local/400@default"}, {"Application", "Wait"}, {"Data", "1"}});
    CHECK(failed.response.head() == "Error");
    CHECK(failed.response.get_or("Message") == "Originate failed");
    auto missing = run(c, "Originate", "m", {{"Application", "Wait"}});
    CHECK(missing.response.get_or("Message") == "Channel not specified");
  }

  TEST_CASE("a call into a queue: join, agent called and connected, bridge, complete") {
    auto o = opts("13.0.0");
    auto pbx = ami::testing::pbx_config::standard(false);
    pbx.time_unit = 20ms;
    pbx.queues[0].members[0].paused = true;  // the caller waits until the member is unpaused
    o.pbx = pbx;
    server s(o);
    s.start();
    raw_client c;
    REQUIRE(c.connect(s.port()));
    run(c, "Login", "l", {{"Username", "admin"}, {"Secret", "amp111"}, {"Events", "agent,call"}});
    const auto caller = s.incoming_call("PJSIP/trunk1", "700", "default", "5551234");
    CHECK(caller.find("PJSIP/trunk1-") == 0);
    ami::message ev;
    REQUIRE(c.next_event("QueueCallerJoin", ev));
    CHECK(ev.get_or("Queue") == "support");
    CHECK(ev.get_or("CallerIDNum") == "5551234");
    auto status = run(c, "QueueStatus", "qs", {{"Queue", "support"}}, "QueueStatusComplete");
    names kinds;
    for (const auto& e : status.events) kinds.emplace_back(e.event_name());
    CHECK(kinds == names{"QueueParams", "QueueMember", "QueueEntry", "QueueStatusComplete"});
    CHECK(status.events[0].get_or("Calls") == "1");
    CHECK(status.events[1].get_or("Paused") == "1");
    CHECK(status.events[2].get_or("Channel") == caller);
    CHECK(status.events[3].get_or("ListItems") == "3");

    auto summary = run(c, "QueueSummary", "sum", {}, "QueueSummaryComplete");
    REQUIRE(summary.events.size() == 2);
    CHECK(summary.events[0].get_or("Callers") == "1");
    CHECK(summary.events[0].get_or("Available") == "0");

    auto unpause =
        run(c, "QueuePause", "up", {{"Interface", "Local/100@default"}, {"Paused", "false"}});
    CHECK(unpause.response.get_or("Message") == "Interface unpaused successfully");
    REQUIRE(c.next_event("QueueMemberPause", ev));
    REQUIRE(c.next_event("AgentCalled", ev));
    CHECK(ev.get_or("Interface") == "Local/100@default");
    // app_queue's order, as in the captures: the caller leaves the queue, then is connected.
    REQUIRE(c.next_event("QueueCallerLeave", ev));
    CHECK(ev.get_or("Channel") == caller);
    REQUIRE(c.next_event("AgentConnect", ev));
    CHECK(ev.get_or("Channel") == caller);
    REQUIRE(c.next_event("BridgeEnter", ev));
    const std::string bridge(ev.get_or("BridgeUniqueid"));
    REQUIRE(c.next_event("BridgeEnter", ev));
    CHECK(ev.get_or("BridgeNumChannels") == "2");
    bool bridged = false;
    for (const auto& ch : s.channels())
      bridged = bridged || (ch.name == caller && ch.bridge == bridge);
    CHECK(bridged);

    CHECK(s.hangup(caller));
    REQUIRE(c.next_event("AgentComplete", ev));
    CHECK(ev.get_or("Reason") == "caller");
    REQUIRE(c.next_event("BridgeDestroy", ev));
    CHECK(ev.get_or("BridgeUniqueid") == bridge);
    CHECK(s.wait_for_action("QueuePause", 1s));
    const auto qs = s.queues();
    REQUIRE(qs.size() == 1);
    CHECK_FALSE(qs[0].members[0].paused);
  }

  TEST_CASE("queue membership actions and their errors") {
    server s(opts("13.0.0"));
    s.start();
    raw_client c;
    REQUIRE(c.connect(s.port()));
    run(c, "Login", "l", {{"Username", "admin"}, {"Secret", "amp111"}});
    auto add = run(c, "QueueAdd", "a",
                   {{"Queue", "support"},
                    {"Interface", "PJSIP/trunk1"},
                    {"MemberName", "Trunk"},
                    {"Penalty", "2"}});
    CHECK(add.response.get_or("Message") == "Added interface to queue");
    ami::message ev;
    REQUIRE(c.next_event("QueueMemberAdded", ev));
    CHECK(ev.get_or("MemberName") == "Trunk");
    CHECK(ev.get_or("Penalty") == "2");
    CHECK(ev.get_or("Membership") == "dynamic");
    CHECK(run(c, "QueueAdd", "a2", {{"Queue", "support"}, {"Interface", "PJSIP/trunk1"}})
              .response.get_or("Message") == "Unable to add interface: Already there");
    CHECK(run(c, "QueueAdd", "a3", {{"Queue", "nope"}, {"Interface", "PJSIP/x"}})
              .response.get_or("Message") == "Unable to add interface to queue: No such queue");
    CHECK(run(c, "QueuePause", "p",
              {{"Interface", "PJSIP/trunk1"}, {"Paused", "true"}, {"Reason", "lunch"}})
              .response.get_or("Message") == "Interface paused successfully");
    REQUIRE(c.next_event("QueueMemberPause", ev));
    CHECK(ev.get_or("PausedReason") == "lunch");
    CHECK(run(c, "QueuePause", "p2", {{"Interface", "PJSIP/none"}, {"Paused", "true"}})
              .response.get_or("Message") == "Interface not found");
    CHECK(run(c, "QueueRemove", "r", {{"Queue", "support"}, {"Interface", "PJSIP/trunk1"}})
              .response.get_or("Message") == "Removed interface from queue");
    REQUIRE(c.next_event("QueueMemberRemoved", ev));
    CHECK(run(c, "QueueRemove", "r2", {{"Queue", "support"}, {"Interface", "PJSIP/trunk1"}})
              .response.get_or("Message") == "Unable to remove interface: Not there");
    CHECK(s.queues()[0].members.size() == 1);
  }

  TEST_CASE("channel actions: Setvar, Getvar, Redirect with ExtraChannel, PlayDTMF, timeouts") {
    auto o = opts("13.0.0");
    auto pbx = ami::testing::pbx_config::standard(false);
    pbx.time_unit = 20ms;
    o.pbx = pbx;
    server s(o);
    s.start();
    raw_client c;
    REQUIRE(c.connect(s.port()));
    run(c, "Login", "l", {{"Username", "admin"}, {"Secret", "amp111"}});
    const auto a = s.incoming_call("PJSIP/trunk1", "200");
    const auto b = s.incoming_call("PJSIP/trunk1", "200");
    ami::message ev;
    REQUIRE(c.read_until([&] { return c.raw().find("Application: Echo") != std::string::npos; }));

    CHECK(run(c, "Setvar", "s", {{"Channel", a}, {"Variable", "FOO"}, {"Value", "bar"}})
              .response.get_or("Message") == "Variable Set");
    REQUIRE(c.next_event("VarSet", ev));
    CHECK(ev.get_or("Variable") == "FOO");
    auto g = run(c, "Getvar", "g", {{"Channel", a}, {"Variable", "FOO"}});
    CHECK(field_names(g.response) == names{"Response", "ActionID", "Variable", "Value"});
    CHECK(g.response.get_or("Value") == "bar");
    CHECK(s.variable(a, "FOO") == std::optional<std::string>("bar"));
    run(c, "Setvar", "gs", {{"Variable", "GLOBAL1"}, {"Value", "x"}});
    CHECK(run(c, "Getvar", "gg", {{"Variable", "GLOBAL1"}}).response.get_or("Value") == "x");
    CHECK(run(c, "Getvar", "nc", {{"Channel", "SIP/none-1"}, {"Variable", "A"}})
              .response.get_or("Message") == "No such channel");

    auto dtmf = run(c, "PlayDTMF", "d", {{"Channel", a}, {"Digit", "5"}});
    CHECK(dtmf.response.get_or("Message") == "DTMF successfully queued");
    REQUIRE(c.next_event("DTMFEnd", ev));
    CHECK(ev.get_or("Digit") == "5");

    auto r = run(c, "Redirect", "r",
                 {{"Channel", a},
                  {"ExtraChannel", b},
                  {"Exten", "600"},
                  {"Context", "default"},
                  {"Priority", "1"}});
    CHECK(r.response.get_or("Message") == "Dual Redirect successful");
    REQUIRE(
        c.read_until([&] { return c.raw().find("Application: Playback") != std::string::npos; }));
    CHECK(run(c, "Redirect", "r2", {{"Channel", "PJSIP/none-9"}, {"Exten", "600"}})
              .response.get_or("Message") == "Channel does not exist: PJSIP/none-9");
    CHECK(run(c, "Redirect", "r3", {{"Channel", a}, {"Exten", "999"}}).response.get_or("Message") ==
          "Extension does not exist.");
    // Playback of 2 simulated seconds, then both hang up.
    REQUIRE(c.read_until([&] { return s.channels().empty(); }, 5s));

    const auto d = s.incoming_call("PJSIP/trunk1", "200");
    REQUIRE(c.read_until(
        [&] { return c.raw().find("Application: Echo", c.raw().rfind(d)) != std::string::npos; }));
    CHECK(run(c, "AbsoluteTimeout", "t", {{"Channel", d}, {"Timeout", "1"}})
              .response.get_or("Message") == "Timeout Set");
    do {
      REQUIRE(c.next_event("Hangup", ev));
    } while (ev.get_or("Channel") != d);
    CHECK(run(c, "Hangup", "h", {{"Channel", d}}).response.get_or("Message") == "No such channel");
  }

  TEST_CASE("UserEvent, Filter, event classes and ListCommands") {
    server s(opts("13.0.0"));
    s.start();
    raw_client c, agent_only;
    REQUIRE(c.connect(s.port()));
    REQUIRE(agent_only.connect(s.port()));
    run(c, "Login", "l", {{"Username", "admin"}, {"Secret", "amp111"}});
    run(agent_only, "Login", "l",
        {{"Username", "admin"}, {"Secret", "amp111"}, {"Events", "agent"}});

    auto f = run(c, "Filter", "f", {{"Operation", "Add"}, {"Filter", "!UserEvent: Noise"}});
    CHECK(f.response.get_or("Message") == "Filter Added Successfully");
    CHECK(run(c, "UserEvent", "u1", {{"UserEvent", "Noise"}}).response.get_or("Message") ==
          "Event Sent");
    auto u = run(c, "UserEvent", "u2", {{"UserEvent", "Signal"}, {"Detail", "42"}});
    ami::message ev;
    REQUIRE(c.next_event("UserEvent", ev));
    CHECK(ev.get_or("UserEvent") == "Signal");
    CHECK(ev.get_or("Detail") == "42");
    CHECK(ev.get_or("Privilege") == "user,all");
    CHECK(c.raw().find("UserEvent: Noise") == std::string::npos);

    // The agent-only session sees queue events and no user events.
    run(c, "QueuePause", "p", {{"Interface", "Local/100@default"}, {"Paused", "true"}});
    REQUIRE(agent_only.next_event("QueueMemberPause", ev));
    CHECK(agent_only.raw().find("UserEvent") == std::string::npos);

    auto lc = run(c, "ListCommands", "lc");
    CHECK(lc.response.get_or("Originate") == "Place a call.  (Priv: originate,all)");
    CHECK(lc.response.get_or("Ping").find("(Priv: <none>)") != std::string_view::npos);
    CHECK_FALSE(lc.response.has("SIPpeers"));  // chan_sip is gone on AMI 13
    CHECK(run(c, "SIPpeers", "sp").response.get_or("Message").find("Invalid/unknown command") == 0);
  }

  TEST_CASE("endpoints, extension state and mailboxes") {
    server s(opts("13.0.0"));
    s.start();
    s.set_mailbox({"1234@default", 3, 1, 1});
    ami::testing::endpoint phone;
    phone.name = "200";
    s.add_endpoint(phone);
    s.add_extension({"201", "default", ami::testing::behaviour::dial, "PJSIP/200", 0, "PJSIP/200"});
    raw_client c;
    REQUIRE(c.connect(s.port()));
    run(c, "Login", "l", {{"Username", "admin"}, {"Secret", "amp111"}});
    auto eps = run(c, "PJSIPShowEndpoints", "e", {}, "EndpointListComplete");
    CHECK(eps.response.get_or("EventList") == "start");
    names objects;
    for (const auto& e : eps.events) {
      if (e.event_name() == "EndpointList") objects.emplace_back(e.get_or("ObjectName"));
    }
    CHECK(objects == names{"100", "101", "trunk1", "200"});
    CHECK(eps.events.back().get_or("ListItems") == "4");

    auto idle = run(c, "ExtensionState", "x", {{"Exten", "201"}, {"Context", "default"}});
    CHECK(idle.response.get_or("StatusText") == "Idle");
    CHECK(idle.response.get_or("Status") == "0");
    const auto caller = s.incoming_call("PJSIP/trunk1", "201");
    ami::message ev;
    REQUIRE(c.next_event("BridgeEnter", ev));
    REQUIRE(c.next_event("BridgeEnter", ev));
    auto busy = run(c, "ExtensionState", "y", {{"Exten", "201"}, {"Context", "default"}});
    CHECK(busy.response.get_or("StatusText") == "InUse");
    CHECK(s.channels().size() == 2);
    CHECK(s.hangup(caller));
    CHECK(s.channels().empty());

    auto count = run(c, "MailboxCount", "m", {{"Mailbox", "1234@default"}});
    CHECK(count.response.get_or("NewMessages") == "3");
    CHECK(count.response.get_or("OldMessages") == "1");
    CHECK(count.response.get_or("UrgMessages") == "1");
    CHECK(run(c, "MailboxStatus", "w", {{"Mailbox", "1234@default"}}).response.get_or("Waiting") ==
          "1");
  }

  TEST_CASE("old servers: lists without EventList start, raw Queues text, legacy Command") {
    server s(opts("1.1"));
    s.start();
    raw_client c;
    REQUIRE(c.connect(s.port()));
    run(c, "Login", "l", {{"Username", "admin"}, {"Secret", "amp111"}});
    CHECK(c.raw().find("FullyBooted") == std::string::npos);
    auto st = run(c, "Status", "s", {}, "StatusComplete");
    CHECK(field_names(st.response) == names{"Response", "ActionID", "Message"});
    CHECK(field_names(st.events.back()) == names{"Event", "ActionID", "EventList", "Items"});
    auto qs = run(c, "QueueStatus", "q", {}, "QueueStatusComplete");
    CHECK(field_names(qs.events.back()) == names{"Event", "ActionID"});

    c.inbox().clear();
    const auto before = c.raw().size();
    c.action("Queues", {{"ActionID", "raw"}});
    REQUIRE(c.read_until(
        [&] { return c.raw().find("No Callers\r\n\r\n\r\n", before) != std::string::npos; }));
    CHECK(c.raw().substr(before) ==
          "support has 0 calls (max unlimited) in 'ringall' strategy (0s holdtime, 0s talktime), "
          "W:0, C:0, A:0, SL:0.0%, SL2:0.0% within 0s\r\n"
          "   Members: \r\n"
          "      Local/100@default (ringinuse enabled) (Not in use) has taken no calls yet\r\n"
          "   No Callers\r\n\r\n\r\n");
    ami::message text;
    REQUIRE(c.next(text));
    CHECK(text.kind() == ami::message_kind::text);
    CHECK_FALSE(text.has("ActionID"));
  }

  TEST_CASE("live channels: CoreShowChannel items, Status of one channel, MixMonitor") {
    auto o = opts("13.0.0");
    auto pbx = ami::testing::pbx_config::standard(false);
    pbx.time_unit = 20ms;
    o.pbx = pbx;
    server s(o);
    s.start();
    raw_client c;
    REQUIRE(c.connect(s.port()));
    run(c, "Login", "l", {{"Username", "admin"}, {"Secret", "amp111"}});
    const auto a = s.incoming_call("PJSIP/trunk1", "200", "default", "5550100");
    REQUIRE(c.read_until([&] { return c.raw().find("Application: Echo") != std::string::npos; }));

    auto list = run(c, "CoreShowChannels", "cs", {}, "CoreShowChannelsComplete");
    REQUIRE(list.events.size() == 2);
    const names snapshot{"Channel",           "ChannelState", "ChannelStateDesc",
                         "CallerIDNum",       "CallerIDName", "ConnectedLineNum",
                         "ConnectedLineName", "Language",     "AccountCode",
                         "Context",           "Exten",        "Priority",
                         "Uniqueid",          "Linkedid"};
    names item{"Event", "ActionID"};
    item.insert(item.end(), snapshot.begin(), snapshot.end());
    item.insert(item.end(), {"BridgeId", "Application", "ApplicationData", "Duration"});
    CHECK(field_names(list.events[0]) == item);
    CHECK(list.events[0].get_or("Channel") == a);
    CHECK(list.events[0].get_or("CallerIDNum") == "5550100");
    CHECK(list.events[0].get_or("Application") == "Echo");
    CHECK(list.events[0].get_or("Duration").size() == 8);
    CHECK(list.events[1].get_or("ListItems") == "1");

    auto one = run(c, "Status", "st", {{"Channel", a}}, "StatusComplete");
    REQUIRE(one.events.size() == 2);
    CHECK(one.events[0].get_or("Type") == "PJSIP");
    CHECK(one.events[0].get_or("ChannelStateDesc") == "Up");
    CHECK(one.events[1].get_or("Items") == "1");
    CHECK(run(c, "Status", "st2", {{"Channel", "PJSIP/x-1"}}).response.get_or("Message") ==
          "No such channel");

    auto mm = run(c, "MixMonitor", "mm", {{"Channel", a}, {"File", "rec.wav"}});
    CHECK(field_names(mm.response) == names{"Response", "ActionID", "MixMonitorID"});
    ami::message ev;
    REQUIRE(c.next_event("MixMonitorStart", ev));
    names start{"Event", "Privilege"};
    start.insert(start.end(), snapshot.begin(), snapshot.end());
    CHECK(field_names(ev) == start);
    CHECK(run(c, "StopMixMonitor", "sm", {{"Channel", a}}).response.head() == "Success");
    REQUIRE(c.next_event("MixMonitorStop", ev));
    CHECK(run(c, "StopMixMonitor", "sm2", {{"Channel", a}}).response.head() == "Error");
    CHECK(s.hangup(a));
    REQUIRE(c.next_event("Cdr", ev));
    CHECK(ev.get_or("Disposition") == "ANSWERED");
    CHECK(ev.get_or("Source") == "5550100");
  }

  TEST_CASE("users added at run time, write classes, replay_file and the log") {
    // Declared before the server: it logs until it is destroyed.
    std::mutex m;
    std::vector<std::string> log;
    server s(opts("13.0.0"));
    s.set_log([&](const std::string& line) {
      std::lock_guard<std::mutex> lock(m);
      log.push_back(line);
    });
    s.start();
    s.add_user({"operator", "op", "call", "call"});
    CHECK(s.url("operator") == "ami://operator:op@127.0.0.1:" + std::to_string(s.port()));
    CHECK_THROWS(s.url("nobody"));
    raw_client c;
    REQUIRE(c.connect(s.port()));
    auto login = run(c, "Login", "l", {{"Username", "operator"}, {"Secret", "op"}});
    CHECK(login.response.head() == "Success");
    // Read "call" only: no FullyBooted (system) and no SuccessfulAuth (security).
    CHECK(c.raw().find("FullyBooted") == std::string::npos);
    CHECK(run(c, "Originate", "o", {{"Channel", "Local/100@default"}, {"Application", "Wait"}})
              .response.get_or("Message") == "Permission denied");
    // call is enough for Hangup.
    CHECK(run(c, "Hangup", "h", {{"Channel", "PJSIP/x-1"}}).response.get_or("Message") ==
          "No such channel");
    CHECK(run(c, "Command", "c", {{"Command", "core show version"}}).response.get_or("Message") ==
          "Permission denied");
    CHECK(c.raw().find("RequestNotAllowed") == std::string::npos);  // a security event
    {
      std::lock_guard<std::mutex> lock(m);
      REQUIRE(log.size() >= 5);
      CHECK(log[0].find("session 1 connected from 127.0.0.1") == 0);
      CHECK(log[1] == "session 1 action Login ActionID=l");
    }

    s.replay_file(ami::test::data_path("errors_permission.raw"));
    raw_client r;
    REQUIRE(r.connect(s.port()));
    const auto want = ami::test::read_data("errors_permission.raw");
    REQUIRE(r.wait_bytes(want.size()));
    CHECK(r.raw() == want);
    CHECK_THROWS(s.replay_file(ami::test::data_path("no-such-file.raw")));
  }

  // The rate itself is a benchmark figure; here only the traffic's shape is checked.
  TEST_CASE("the load generator produces call-center traffic") {
    server s(opts("13.0.0"));
    s.start();
    raw_client c;
    REQUIRE(c.connect(s.port()));
    run(c, "Login", "l", {{"Username", "admin"}, {"Secret", "amp111"}});
    s.start_load(2000);
    ami::message ev;
    REQUIRE(c.next_event("QueueCallerJoin", ev, 5s));
    REQUIRE(c.next_event("AgentConnect", ev, 5s));
    REQUIRE(c.next_event("AgentComplete", ev, 5s));
    s.stop_load();
    CHECK(s.events_generated() >= 3);
  }

}  // TEST_SUITE
