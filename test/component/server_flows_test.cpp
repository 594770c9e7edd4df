// The simulated PBX's call-center flows, from a raw socket: each flow's event sequence and
// each event's field set (Asterisk's, from the captures where they have the event, from the
// modules' source otherwise), on Asterisk 18's AMI (7.0.3) and master's (13.0.0).
#include "ami/testing/server.hpp"
#include "pbx_capture_support.hpp"

#include <algorithm>
#include <set>

using namespace std::chrono_literals;
using ami::test::field_names;
using ami::test::names;
using ami::test::run;

namespace {

const char* const versions[] = {"7.0.3", "13.0.0"};

names snap(const std::string& p) {
  names out;
  for (const char* f : {"Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum",
                        "CallerIDName", "ConnectedLineNum", "ConnectedLineName", "Language",
                        "AccountCode", "Context", "Exten", "Priority", "Uniqueid", "Linkedid"}) {
    out.push_back(p + f);
  }
  return out;
}

names bridge(const std::string& p) {
  names out;
  for (const char* f : {"BridgeUniqueid", "BridgeType", "BridgeTechnology", "BridgeCreator",
                        "BridgeName", "BridgeNumChannels", "BridgeVideoSourceMode"}) {
    out.push_back(p + f);
  }
  return out;
}

names cat(std::initializer_list<names> parts) {
  names out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

ami::testing::pbx_config flows_pbx() {
  using ami::testing::behaviour;
  ami::testing::pbx_config c;
  c.time_unit = 10ms;
  c.step = 1ms;
  for (const char* name : {"trunk", "200", "201", "204", "205", "206"}) {
    ami::testing::endpoint e;
    e.name = name;
    c.endpoints.push_back(e);
  }
  c.extensions = {
      {"q1", "default", behaviour::queue, "sales", 0, ""},
      {"conf", "default", behaviour::conference, "room1", 0, ""},
      {"ann", "default", behaviour::playback, "thanks", 100000, ""},
      {"d205", "default", behaviour::dial, "PJSIP/205", 0, ""},
      {"200", "default", behaviour::echo, "", 0, "PJSIP/200"},
      {"206", "default", behaviour::echo, "", 0, "PJSIP/206"},
  };
  ami::testing::queue sales;
  sales.name = "sales";
  sales.members = {{"PJSIP/200", "Ann"}};
  c.queues = {sales};
  c.agents = {{"1001", "Eve"}};
  return c;
}

// A server and a logged-in raw client that records every event it reads.
struct flow {
  explicit flow(const char* version) {
    ami::testing::server_options o;
    o.ami_version = version;
    o.pbx = flows_pbx();
    srv = std::make_unique<ami::testing::server>(o);
    srv->start();
    REQUIRE(c.connect(srv->port()));
    REQUIRE(c.login().get_or("Response") == "Success");
    capture = ami::test::event_shapes(
        ami::test::parse_capture(std::string(version) == "7.0.3" ? "queues18.raw" : "queues.raw"));
  }

  // Reads events until one named `name` for which pred holds; returns it.
  template <class Pred>
  ami::message wait(const std::string& name, Pred&& pred) {
    for (std::size_t i = floor; i < seen.size(); ++i) {
      const auto& m = seen[i];
      if (m.event_name() == name && pred(m) && used.insert(i).second) return m;
    }
    ami::message m;
    while (true) {
      REQUIRE_MESSAGE(c.next(m), "no " << name);
      if (!m.is_event()) continue;
      seen.push_back(m);
      if (m.event_name() == name && pred(seen.back())) {
        used.insert(seen.size() - 1);
        return m;
      }
    }
  }
  ami::message wait(const std::string& name) {
    return wait(name, [](const ami::message&) { return true; });
  }
  ami::message wait_for(const std::string& name, const std::string& channel) {
    return wait(name, [&](const ami::message& m) { return m.get_or("Channel") == channel; });
  }

  // The first event of that name read so far (waited for or not).
  const ami::message& first(const std::string& name) const {
    const auto it = std::find_if(seen.begin(), seen.end(),
                                 [&](const ami::message& m) { return m.event_name() == name; });
    REQUIRE_MESSAGE(it != seen.end(), "no " << name);
    return *it;
  }

  // Later waits look only at events read from now on.
  void mark() { floor = seen.size(); }

  // The names of the events seen so far that are in `of`, in order.
  names sequence(const std::set<std::string>& of) const {
    names out;
    for (const auto& m : seen) {
      if (of.count(std::string(m.event_name())) != 0) out.emplace_back(m.event_name());
    }
    return out;
  }

  // The field names of a real server's event of that name, when the capture has one.
  void same_as_capture(const ami::message& m) const {
    const auto it = capture.find(std::string(m.event_name()));
    REQUIRE(it != capture.end());
    INFO("event " << m.event_name());
    CHECK(field_names(m) == it->second);
  }

  // A call from the trunk into queue sales, answered by PJSIP/200: (caller, member leg).
  std::pair<std::string, std::string> queue_call() {
    const std::string caller = srv->incoming_call("PJSIP/trunk", "q1", "default", "5551000");
    const auto connect = wait_for("AgentConnect", caller);
    const std::string member(connect.get_or("DestChannel"));
    wait_for("BridgeEnter", member);
    return {caller, member};
  }

  std::unique_ptr<ami::testing::server> srv;
  ami::test::raw_client c;
  std::vector<ami::message> seen;
  std::set<std::size_t> used;
  std::size_t floor = 0;
  std::map<std::string, names> capture;
};

}  // namespace

TEST_SUITE("testing server: call-center flows") {
  TEST_CASE("a queue caller answered by a member, then hanging up") {
    for (const char* v : versions) {
      CAPTURE(v);
      flow f(v);
      const auto call1 = f.queue_call();
      const std::string caller = call1.first;
      const std::string member = call1.second;
      REQUIRE(f.srv->hangup(caller));
      const auto complete = f.wait("AgentComplete");
      f.wait_for("Hangup", member);
      const std::set<std::string> of{"QueueCallerJoin", "AgentCalled",      "DialBegin",
                                     "DialEnd",         "QueueCallerLeave", "AgentConnect",
                                     "BridgeCreate",    "BridgeEnter",      "AgentComplete",
                                     "BridgeLeave",     "BridgeDestroy"};
      // app_queue's order (the captures'): the ring is announced, the caller leaves the
      // queue, then the two are connected and bridged.
      CHECK(f.sequence(of) == names{"QueueCallerJoin", "AgentCalled", "DialBegin", "DialEnd",
                                    "QueueCallerLeave", "AgentConnect", "BridgeCreate",
                                    "BridgeEnter", "BridgeEnter", "AgentComplete", "BridgeLeave",
                                    "BridgeLeave", "BridgeDestroy"});
      for (const char* name : {"QueueCallerJoin", "AgentCalled", "AgentConnect", "QueueCallerLeave",
                               "BridgeEnter", "QueueMemberStatus"}) {
        f.same_as_capture(f.first(name));
      }
      f.same_as_capture(complete);
      CHECK(complete.get_or("Reason") == "caller");
      // The member's count went up and its status back to not in use.
      const auto status = f.wait("QueueMemberStatus", [](const ami::message& m) {
        return m.get_or("CallsTaken") == "1" && m.get_or("Status") == "1";
      });
      CHECK(status.get_or("InCall") == "0");
    }
  }

  TEST_CASE("a queue caller abandoning while every member is paused") {
    for (const char* v : versions) {
      CAPTURE(v);
      flow f(v);
      REQUIRE(f.srv->queue_pause("sales", "PJSIP/200", true, "lunch"));
      const auto pause = f.wait("QueueMemberPause");
      f.same_as_capture(pause);
      CHECK(pause.get_or("PausedReason") == "lunch");
      const std::string caller = f.srv->incoming_call("PJSIP/trunk", "q1");
      f.wait_for("QueueCallerJoin", caller);
      const auto status = run(f.c, "QueueStatus", "qs", {}, "QueueStatusComplete");
      REQUIRE(status.events.size() == 4);  // QueueParams, QueueMember, QueueEntry, Complete
      CHECK(status.events[2].get_or("Channel") == caller);
      REQUIRE(f.srv->hangup(caller));
      const auto abandon = f.wait_for("QueueCallerAbandon", caller);
      f.same_as_capture(abandon);
      f.wait_for("QueueCallerLeave", caller);
      CHECK(f.sequence(
                {"QueueCallerJoin", "AgentCalled", "QueueCallerAbandon", "QueueCallerLeave"}) ==
            names{"QueueCallerJoin", "QueueCallerAbandon", "QueueCallerLeave"});
    }
  }

  TEST_CASE("members added, paused and removed by action and by the scripting API") {
    for (const char* v : versions) {
      CAPTURE(v);
      flow f(v);
      const auto add = run(f.c, "QueueAdd", "a1",
                           {{"Queue", "sales"}, {"Interface", "PJSIP/204"}, {"MemberName", "Gus"}});
      CHECK(add.response.get_or("Message") == "Added interface to queue");
      const auto added = f.wait("QueueMemberAdded");
      f.same_as_capture(added);
      CHECK(added.get_or("Membership") == "dynamic");
      CHECK(run(f.c, "QueueAdd", "a2", {{"Queue", "sales"}, {"Interface", "PJSIP/204"}})
                .response.get_or("Message") == "Unable to add interface: Already there");
      const auto pause = run(f.c, "QueuePause", "p1",
                             {{"Interface", "PJSIP/204"}, {"Paused", "true"}, {"Reason", "x"}});
      CHECK(pause.response.get_or("Message") == "Interface paused successfully");
      CHECK(f.wait("QueueMemberPause").get_or("Paused") == "1");
      CHECK(f.srv->queue_remove("sales", "PJSIP/204"));
      f.same_as_capture(f.wait("QueueMemberRemoved"));
      CHECK_FALSE(f.srv->queue_remove("sales", "PJSIP/204"));
      CHECK(f.srv->queue_add("sales", {"PJSIP/201", "Bob", 2}));
      CHECK(f.wait("QueueMemberAdded").get_or("Penalty") == "2");
      CHECK(f.srv->queues().at(0).members.size() == 2);
    }
  }

  TEST_CASE("device and hint states follow registrations and are listed") {
    for (const char* v : versions) {
      CAPTURE(v);
      flow f(v);
      REQUIRE(f.srv->set_endpoint_online("PJSIP/206", false));
      const auto dev = f.wait("DeviceStateChange",
                              [](const auto& m) { return m.get_or("Device") == "PJSIP/206"; });
      CHECK(field_names(dev) == names{"Event", "Privilege", "Device", "State"});
      CHECK(dev.get_or("State") == "UNAVAILABLE");
      const auto hint = f.wait("ExtensionStatus");
      CHECK(field_names(hint) ==
            names{"Event", "Privilege", "Exten", "Context", "Hint", "Status", "StatusText"});
      CHECK(hint.get_or("Exten") == "206");
      CHECK(hint.get_or("Status") == "4");
      CHECK(hint.get_or("StatusText") == "Unavailable");
      const auto devices = run(f.c, "DeviceStateList", "d", {}, "DeviceStateListComplete");
      CHECK(devices.response.get_or("Response") == "Success");
      const auto it = std::find_if(devices.events.begin(), devices.events.end(),
                                   [](const auto& m) { return m.get_or("Device") == "PJSIP/206"; });
      REQUIRE(it != devices.events.end());
      CHECK(it->get_or("State") == "UNAVAILABLE");
      const auto hints = run(f.c, "ExtensionStateList", "e", {}, "ExtensionStateListComplete");
      REQUIRE(hints.events.size() == 3);  // 200, 206, complete
      CHECK(hints.events[0].get_or("StatusText") == "Idle");
      CHECK(hints.events[1].get_or("StatusText") == "Unavailable");
      CHECK(hints.events[2].get_or("ListItems") == "2");
    }
  }

  TEST_CASE("hold and unhold: music on hold for the peer, the device on hold") {
    for (const char* v : versions) {
      CAPTURE(v);
      flow f(v);
      const auto call2 = f.queue_call();
      const std::string caller = call2.first;
      const std::string member = call2.second;
      REQUIRE(f.srv->hold(member, "jazz"));
      CHECK_FALSE(f.srv->hold(member));  // already held
      const auto hold = f.wait_for("Hold", member);
      CHECK(field_names(hold) == cat({{"Event", "Privilege"}, snap(""), {"MusicClass"}}));
      CHECK(hold.get_or("MusicClass") == "jazz");
      CHECK(f.wait_for("MusicOnHoldStart", caller).get_or("Class") == "jazz");
      f.wait("DeviceStateChange", [](const auto& m) {
        return m.get_or("Device") == "PJSIP/200" && m.get_or("State") == "ONHOLD";
      });
      CHECK(f.wait("QueueMemberStatus", [](const auto& m) {
               return m.get_or("Status") == "8";
             }).get_or("Interface") == "PJSIP/200");
      CHECK(f.wait("ExtensionStatus", [](const auto& m) {
               return m.get_or("StatusText") == "Hold";
             }).get_or("Status") == "16");
      f.mark();
      REQUIRE(f.srv->unhold(member));
      CHECK(field_names(f.wait_for("Unhold", member)) == cat({{"Event", "Privilege"}, snap("")}));
      f.wait_for("MusicOnHoldStop", caller);
      CHECK(f.wait("ExtensionStatus", [](const auto& m) {
               return m.get_or("StatusText") == "InUse";
             }).get_or("Status") == "1");
    }
  }

  TEST_CASE("a blind transfer: the transferee runs the new extension, the transferer leaves") {
    for (const char* v : versions) {
      CAPTURE(v);
      flow f(v);
      const auto call3 = f.queue_call();
      const std::string caller = call3.first;
      const std::string member = call3.second;
      CHECK_FALSE(f.srv->blind_transfer(member, "nowhere"));
      f.mark();
      REQUIRE(f.srv->blind_transfer(member, "ann"));
      const auto t = f.wait("BlindTransfer");
      CHECK(field_names(t) == cat({{"Event", "Privilege", "Result"},
                                   snap("Transferer"),
                                   snap("Transferee"),
                                   bridge(""),
                                   {"IsExternal", "Context", "Extension"}}));
      CHECK(t.get_or("TransfererChannel") == member);
      CHECK(t.get_or("TransfereeChannel") == caller);
      CHECK(t.get_or("Extension") == "ann");
      f.wait_for("Hangup", member);
      f.wait("BridgeDestroy");
      const auto next = f.wait("Newexten", [&](const auto& m) {
        return m.get_or("Channel") == caller && m.get_or("Priority") == "2";
      });
      CHECK(next.get_or("Exten") == "ann");
      CHECK(next.get_or("Application") == "Playback");
      CHECK(f.sequence({"BlindTransfer", "BridgeLeave", "BridgeDestroy"}) ==
            names{"BlindTransfer", "BridgeLeave", "BridgeLeave", "BridgeDestroy"});
    }
  }

  TEST_CASE("an attended transfer moves the transferee into the consultation bridge") {
    for (const char* v : versions) {
      CAPTURE(v);
      flow f(v);
      const auto call4 = f.queue_call();
      const std::string caller = call4.first;
      const std::string first = call4.second;
      REQUIRE(f.srv->hold(first));
      const std::string second = f.srv->incoming_call("PJSIP/200", "d205");
      f.wait_for("BridgeEnter", second);
      const auto target = f.wait("BridgeEnter", [&](const auto& m) {
        return m.get_or("Channel").rfind("PJSIP/205-", 0) == 0;
      });
      const std::string consult_bridge(target.get_or("BridgeUniqueid"));
      REQUIRE(f.srv->attended_transfer(first, second));
      const auto enter = f.wait("BridgeEnter", [&](const auto& m) {
        return m.get_or("Channel") == caller && m.get_or("BridgeUniqueid") == consult_bridge;
      });
      const auto t = f.wait("AttendedTransfer");
      CHECK(field_names(t) == cat({{"Event", "Privilege", "Result"},
                                   snap("OrigTransferer"),
                                   bridge("Orig"),
                                   snap("SecondTransferer"),
                                   bridge("Second"),
                                   snap("Transferee"),
                                   snap("TransferTarget"),
                                   {"IsExternal", "DestType", "DestBridgeUniqueid"}}));
      CHECK(t.get_or("DestType") == "Bridge");
      CHECK(t.get_or("DestBridgeUniqueid") == consult_bridge);
      CHECK(t.get_or("TransfereeChannel") == caller);
      f.wait_for("Hangup", first);
      f.wait_for("Hangup", second);
      for (const auto& ch : f.srv->channels()) {
        if (ch.name == caller) CHECK(ch.bridge == consult_bridge);
      }
      CHECK(f.srv->channels().size() == 2);
    }
  }

  TEST_CASE("parking: parked, listed, picked up; timing out; giving up") {
    for (const char* v : versions) {
      CAPTURE(v);
      flow f(v);
      const auto call5 = f.queue_call();
      const std::string caller = call5.first;
      const std::string member = call5.second;
      const auto space = f.srv->park(caller);
      REQUIRE(space);
      CHECK(*space == 701);
      const auto parked = f.wait("ParkedCall");
      CHECK(field_names(parked) == cat({{"Event", "Privilege"},
                                        snap("Parkee"),
                                        {"ParkerDialString", "Parkinglot", "ParkingSpace",
                                         "ParkingTimeout", "ParkingDuration"}}));
      CHECK(parked.get_or("ParkerDialString") == "PJSIP/200");
      f.wait("BridgeEnter", [&](const auto& m) {
        return m.get_or("Channel") == caller && m.get_or("BridgeType") == "parking";
      });
      f.wait_for("Hangup", member);  // the parker's phone hangs up
      const auto list = run(f.c, "ParkedCalls", "pc", {}, "ParkedCallsComplete");
      REQUIRE(list.events.size() == 2);
      CHECK(list.events[0].get_or("ParkeeChannel") == caller);
      CHECK(list.events[0].get_or("ActionID") == "pc");
      CHECK_FALSE(list.events[0].has("Privilege"));
      CHECK(list.events[1].get_or("Total") == "1");
      f.mark();
      const std::string retriever = f.srv->pickup_parked(*space, "PJSIP/204");
      REQUIRE_FALSE(retriever.empty());
      const auto unparked = f.wait("UnParkedCall");
      CHECK(field_names(unparked) == cat({{"Event", "Privilege"},
                                          snap("Parkee"),
                                          snap("Retriever"),
                                          {"ParkerDialString", "Parkinglot", "ParkingSpace",
                                           "ParkingTimeout", "ParkingDuration"}}));
      // The lot's holding bridge, now empty, goes; the two talk in a new bridge.
      f.wait("BridgeDestroy", [](const auto& m) { return m.get_or("BridgeType") == "parking"; });
      const std::string joined(f.wait_for("BridgeEnter", retriever).get_or("BridgeUniqueid"));
      f.wait("BridgeEnter", [&](const auto& m) {
        return m.get_or("Channel") == caller && m.get_or("BridgeUniqueid") == joined;
      });
      CHECK(f.srv->parked().empty());

      const auto call6 = f.queue_call();
      const std::string caller2 = call6.first;
      const std::string member2 = call6.second;
      REQUIRE(f.srv->park(caller2, 1));
      CHECK(f.wait("ParkedCallTimeOut").get_or("ParkeeChannel") == caller2);
      f.wait_for("Hangup", caller2);
      const auto call7 = f.queue_call();
      const std::string caller3 = call7.first;
      const std::string member3 = call7.second;
      REQUIRE(f.srv->park(caller3));
      REQUIRE(f.srv->hangup(caller3));
      CHECK(f.wait("ParkedCallGiveUp").get_or("ParkeeChannel") == caller3);
      CHECK(f.srv->parked().empty());
    }
  }

  TEST_CASE("a conference room: start, joins, lists, leaves, end") {
    for (const char* v : versions) {
      CAPTURE(v);
      flow f(v);
      CHECK(run(f.c, "ConfbridgeListRooms", "r0").response.get_or("Message") ==
            "No active conferences.");
      const std::string a = f.srv->incoming_call("PJSIP/trunk", "conf");
      const std::string b = f.srv->incoming_call("PJSIP/204", "conf");
      const auto start = f.wait("ConfbridgeStart");
      CHECK(field_names(start) == cat({{"Event", "Privilege", "Conference"}, bridge("")}));
      CHECK(start.get_or("BridgeTechnology") == "softmix");
      const auto join = f.wait_for("ConfbridgeJoin", a);
      CHECK(field_names(join) ==
            cat({{"Event", "Privilege", "Conference"}, bridge(""), snap(""), {"Admin", "Muted"}}));
      f.wait_for("ConfbridgeJoin", b);
      const auto rooms = run(f.c, "ConfbridgeListRooms", "r1", {}, "ConfbridgeListRoomsComplete");
      REQUIRE(rooms.events.size() == 2);
      CHECK(field_names(rooms.events[0]) ==
            names{"Event", "ActionID", "Conference", "Parties", "Marked", "Locked", "Muted"});
      CHECK(rooms.events[0].get_or("Parties") == "2");
      const auto users =
          run(f.c, "ConfbridgeList", "u1", {{"Conference", "room1"}}, "ConfbridgeListComplete");
      REQUIRE(users.events.size() == 3);
      CHECK(users.events[0].get_or("Channel") == a);
      CHECK(users.events[1].get_or("Channel") == b);
      CHECK(run(f.c, "ConfbridgeList", "u2", {{"Conference", "nope"}}).response.get_or("Message") ==
            "No Conference by that name found.");
      REQUIRE(f.srv->conferences().size() == 1);
      CHECK(f.srv->conferences()[0].channels == std::vector<std::string>{a, b});
      REQUIRE(f.srv->hangup(a));
      CHECK(field_names(f.wait_for("ConfbridgeLeave", a)) ==
            cat({{"Event", "Privilege", "Conference"}, bridge(""), snap(""), {"Admin"}}));
      REQUIRE(f.srv->hangup(b));
      f.wait_for("ConfbridgeLeave", b);
      f.wait("ConfbridgeEnd");
      f.wait("BridgeDestroy");
      CHECK(f.sequence({"ConfbridgeStart", "ConfbridgeJoin", "ConfbridgeLeave", "ConfbridgeEnd",
                        "BridgeDestroy"}) ==
            names{"ConfbridgeStart", "ConfbridgeJoin", "ConfbridgeJoin", "ConfbridgeLeave",
                  "ConfbridgeLeave", "ConfbridgeEnd", "BridgeDestroy"});
      CHECK(f.srv->conferences().empty());
    }
  }

  TEST_CASE("agents log in and off, and the Agents list says so") {
    for (const char* v : versions) {
      CAPTURE(v);
      flow f(v);
      auto list = run(f.c, "Agents", "a0", {}, "AgentsComplete");
      REQUIRE(list.events.size() == 2);
      CHECK(field_names(list.events[0]) == names{"Event", "Agent", "Name", "Status", "ActionID"});
      CHECK(list.events[0].get_or("Status") == "AGENT_LOGGEDOFF");
      const std::string chan = f.srv->agent_login("1001", "PJSIP/206");
      REQUIRE_FALSE(chan.empty());
      CHECK(f.srv->agent_login("1001", "PJSIP/206").empty());  // already logged in
      const auto login = f.wait("AgentLogin");
      CHECK(field_names(login) == cat({{"Event", "Privilege"}, snap(""), {"Agent"}}));
      list = run(f.c, "Agents", "a1", {}, "AgentsComplete");
      CHECK(field_names(list.events[0]) ==
            cat({{"Event", "Agent", "Name", "Status", "LoggedInTime"}, snap(""), {"ActionID"}}));
      CHECK(list.events[0].get_or("Status") == "AGENT_IDLE");
      CHECK(list.events[0].get_or("Channel") == chan);
      CHECK(run(f.c, "AgentLogoff", "o1", {{"Agent", "1001"}}).response.get_or("Message") ==
            "Agent logged out");
      const auto logoff = f.wait("AgentLogoff");
      CHECK(field_names(logoff) == cat({{"Event", "Privilege"}, snap(""), {"Agent", "Logintime"}}));
      f.wait_for("Hangup", chan);
      CHECK(run(f.c, "AgentLogoff", "o2", {{"Agent", "1001"}}).response.get_or("Response") ==
            "Error");
    }
  }

  TEST_CASE("a rename keeps the uniqueid; BridgeList and BridgeInfo list the bridges") {
    for (const char* v : versions) {
      CAPTURE(v);
      flow f(v);
      const auto call8 = f.queue_call();
      const std::string caller = call8.first;
      const std::string member = call8.second;
      REQUIRE(f.srv->rename(caller, "PJSIP/trunk-renamed"));
      CHECK_FALSE(f.srv->rename("PJSIP/none", "x"));
      const auto r = f.wait("Rename");
      CHECK(field_names(r) == names{"Event", "Privilege", "Channel", "Newname", "Uniqueid"});
      const auto chans = run(f.c, "CoreShowChannels", "c", {}, "CoreShowChannelsComplete");
      CHECK(std::any_of(chans.events.begin(), chans.events.end(), [&](const auto& m) {
        return m.get_or("Channel") == "PJSIP/trunk-renamed" &&
               m.get_or("Uniqueid") == r.get_or("Uniqueid");
      }));
      const auto bridges = run(f.c, "BridgeList", "b", {}, "BridgeListComplete");
      REQUIRE(bridges.events.size() == 2);
      f.same_as_capture(bridges.events[0]);
      f.same_as_capture(bridges.events[1]);
      const auto info =
          run(f.c, "BridgeInfo", "i",
              {{"BridgeUniqueid", std::string(bridges.events[0].get_or("BridgeUniqueid"))}},
              "BridgeInfoComplete");
      REQUIRE(info.events.size() == 3);
      CHECK(info.events[0].get_or("Channel") == "PJSIP/trunk-renamed");
      CHECK(info.events[2].get_or("BridgeNumChannels") == "2");
    }
  }
}

TEST_CASE("testing server: the load generator runs every call-center flow") {
  ami::testing::server_options o;
  ami::testing::pbx_config pbx;
  pbx.time_unit = 10ms;
  pbx.step = 1ms;
  o.pbx = pbx;
  ami::testing::server srv(o);
  srv.start();
  ami::test::raw_client c;
  REQUIRE(c.connect(srv.port()));
  REQUIRE(c.login().get_or("Response") == "Success");
  srv.start_load(3000);
  std::set<std::string> want{"QueueCallerJoin",
                             "AgentConnect",
                             "AgentComplete",
                             "QueueMemberPause",
                             "Hold",
                             "Unhold",
                             "BlindTransfer",
                             "AttendedTransfer",
                             "ParkedCall",
                             "UnParkedCall",
                             "ParkedCallTimeOut",
                             "ConfbridgeJoin",
                             "ConfbridgeLeave",
                             "AgentLogin",
                             "DeviceStateChange"};
  ami::message m;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!want.empty() && std::chrono::steady_clock::now() < deadline && c.next(m, 1s)) {
    want.erase(std::string(m.event_name()));
  }
  srv.stop_load();
  for (const auto& name : want) MESSAGE("never seen: " << name);
  CHECK(want.empty());
  // Load calls end by themselves once the generator stops.
  const auto end = std::chrono::steady_clock::now() + 10s;
  std::size_t left = srv.channels().size();
  while (left > 0 && std::chrono::steady_clock::now() < end) {
    c.next(m, 200ms);
    // Logged-in agents stay on their AgentLogin channels.
    left = 0;
    for (const auto& ch : srv.channels()) left += ch.application == "AgentLogin" ? 0U : 1U;
  }
  CHECK(left == 0);
}
