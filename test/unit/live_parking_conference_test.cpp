// Parked calls and ConfBridge rooms in the live model (events and their lists), and the
// reducer's repairs found by the simulator's property test: the application of a dialled
// channel, a member's call count on AgentComplete.
#include "ami/live/sync.hpp"
#include "live_support.hpp"

#include <algorithm>

using ami::live::change_kind;
using ami::live::entity;
using ami::live::list_kind;
using ami::live::list_outcome;
using ami::live::reducer;
using ami::live::test::at;
using ami::live::test::bridge_block;
using ami::live::test::member_block;
using ami::live::test::snapshot;
using ami::live::test::wire;

namespace {

bool has_change(const std::vector<ami::live::change>& changes, entity what, change_kind kind,
                const std::string& key) {
  return std::any_of(changes.begin(), changes.end(), [&](const ami::live::change& c) {
    return c.what == what && c.kind == kind && c.key == key;
  });
}

std::string channel(const std::string& name, const std::string& uid, int state = 6) {
  return "Event: Newchannel\r\n" + snapshot("", name, uid, uid, state, "200");
}

std::string parked(const std::string& event, const std::string& name, const std::string& uid,
                   int space, const std::string& retriever = "") {
  return "Event: " + event + "\r\nPrivilege: call,all\r\n" + snapshot("Parkee", name, uid, uid, 6) +
         retriever + "ParkerDialString: PJSIP/200\r\nParkinglot: default\r\nParkingSpace: " +
         std::to_string(space) + "\r\nParkingTimeout: 45\r\nParkingDuration: 5\r\n";
}

std::string conf(const std::string& event, const std::string& room, const std::string& name = "",
                 const std::string& uid = "") {
  std::string out = "Event: " + event + "\r\nPrivilege: call,all\r\nConference: " + room + "\r\n" +
                    bridge_block("", "cb1");
  if (!uid.empty()) out += snapshot("", name, uid, uid, 6) + "Admin: No\r\n";
  return out;
}

ami::response list_response(const std::string& complete, const std::vector<ami::message>& items) {
  ami::response r;
  r.set_message(wire("Response: Success\r\nActionID: s1\r\nEventList: start\r\n"));
  for (const auto& i : items) r.add_event(i);
  r.set_complete(wire("Event: " + complete + "\r\nActionID: s1\r\nEventList: Complete\r\n"));
  return r;
}

}  // namespace

TEST_CASE("live reducer: a call parked, then picked up, timing out or given up") {
  for (const char* end : {"UnParkedCall", "ParkedCallTimeOut", "ParkedCallGiveUp"}) {
    CAPTURE(end);
    reducer r;
    r.apply(wire(channel("PJSIP/trunk-1", "1.1")), at(0));
    const auto& added = r.apply(wire(parked("ParkedCall", "PJSIP/trunk-1", "1.1", 701)), at(10));
    CHECK(has_change(added, entity::parked_call, change_kind::added, "1.1"));
    const auto* p = r.current().parked.find(std::string_view("1.1"));
    REQUIRE(p != nullptr);
    CHECK(p->parkee_channel == "PJSIP/trunk-1");
    CHECK(p->parking_lot == "default");
    CHECK(p->parking_space == 701);
    CHECK(p->parker_dial_string == "PJSIP/200");
    CHECK(p->parked_at == at(5));  // ParkingDuration: 5
    CHECK(p->expires == at(55));   // ParkingTimeout: 45
    // The same call listed again (a sync's ParkedCalls) changes nothing.
    CHECK(r.apply(wire(parked("ParkedCall", "PJSIP/trunk-1", "1.1", 701)), at(11)).empty());
    const std::string retriever = std::string(end) == "UnParkedCall"
                                      ? snapshot("Retriever", "PJSIP/204-2", "2.1", "2.1", 6)
                                      : "";
    const auto& gone = r.apply(wire(parked(end, "PJSIP/trunk-1", "1.1", 701, retriever)), at(12));
    CHECK(has_change(gone, entity::parked_call, change_kind::removed, "1.1"));
    CHECK(r.current().parked.empty());
    CHECK(r.anomalies().total() == 0);
  }
}

TEST_CASE("live reducer: a parked call follows a rename, leaves with a hang-up, and is swapped") {
  reducer r;
  r.apply(wire(channel("PJSIP/trunk-1", "1.1")), at(0));
  r.apply(wire(channel("PJSIP/trunk-2", "1.2")), at(0));
  r.apply(wire(parked("ParkedCall", "PJSIP/trunk-1", "1.1", 701)), at(1));
  r.apply(
      wire("Event: Rename\r\nChannel: PJSIP/trunk-1\r\nNewname: PJSIP/x-1\r\nUniqueid: 1.1\r\n"),
      at(2));
  CHECK(r.current().parked.find(std::string_view("1.1"))->parkee_channel == "PJSIP/x-1");
  // Another channel takes the space: the first is not parked any more.
  const auto& swapped = r.apply(wire(parked("ParkedCallSwap", "PJSIP/trunk-2", "1.2", 701)), at(3));
  CHECK(has_change(swapped, entity::parked_call, change_kind::removed, "1.1"));
  CHECK(has_change(swapped, entity::parked_call, change_kind::added, "1.2"));
  const auto& hung =
      r.apply(wire("Event: Hangup\r\n" + snapshot("", "PJSIP/trunk-2", "1.2", "1.2", 6) +
                   "Cause: 16\r\nCause-txt: Normal Clearing\r\n"),
              at(4));
  CHECK(has_change(hung, entity::parked_call, change_kind::removed, "1.2"));
  CHECK(r.current().parked.empty());
}

TEST_CASE("live reducer: a conference room from start to end") {
  reducer r;
  r.apply(wire(channel("PJSIP/a-1", "1.1")), at(0));
  r.apply(wire(channel("PJSIP/b-2", "1.2")), at(0));
  const auto& started = r.apply(wire(conf("ConfbridgeStart", "room1")), at(1));
  CHECK(has_change(started, entity::conference, change_kind::added, "room1"));
  r.apply(wire(conf("ConfbridgeJoin", "room1", "PJSIP/b-2", "1.2") + "Muted: No\r\n"), at(2));
  r.apply(wire(conf("ConfbridgeJoin", "room1", "PJSIP/a-1", "1.1") + "Muted: No\r\n"), at(3));
  // A join seen twice (it raced the sync's list) counts once.
  r.apply(wire(conf("ConfbridgeJoin", "room1", "PJSIP/a-1", "1.1") + "Muted: No\r\n"), at(3));
  const auto* k = r.current().conferences.find(std::string_view("room1"));
  REQUIRE(k != nullptr);
  CHECK(k->parties == 2);
  CHECK(k->users == std::vector<std::string>{"1.1", "1.2"});  // sorted
  r.apply(wire("Event: ConfbridgeLock\r\nConference: room1\r\n" + bridge_block("", "cb1")), at(4));
  CHECK(r.current().conferences.find(std::string_view("room1"))->locked);
  r.apply(wire(conf("ConfbridgeLeave", "room1", "PJSIP/a-1", "1.1")), at(5));
  k = r.current().conferences.find(std::string_view("room1"));
  CHECK(k->parties == 1);
  CHECK(k->users == std::vector<std::string>{"1.2"});
  const auto& ended = r.apply(wire(conf("ConfbridgeEnd", "room1")), at(6));
  CHECK(has_change(ended, entity::conference, change_kind::removed, "room1"));
  CHECK(r.current().conferences.empty());
  CHECK(r.anomalies().total() == 0);
}

TEST_CASE("live reducer: a conference user that hangs up without ConfbridgeLeave leaves the room") {
  reducer r;
  r.apply(wire(channel("PJSIP/a-1", "1.1")), at(0));
  r.apply(wire("Event: Newexten\r\n" + snapshot("", "PJSIP/a-1", "1.1", "1.1", 6) +
               "Extension: conf\r\nApplication: ConfBridge\r\nAppData: room1,default_bridge\r\n"),
          at(1));
  r.apply(wire(conf("ConfbridgeJoin", "room1", "PJSIP/a-1", "1.1") + "Muted: No\r\n"), at(2));
  r.apply(wire("Event: Hangup\r\n" + snapshot("", "PJSIP/a-1", "1.1", "1.1", 6) + "Cause: 16\r\n"),
          at(3));
  const auto* k = r.current().conferences.find(std::string_view("room1"));
  REQUIRE(k != nullptr);
  CHECK(k->users.empty());
  CHECK(k->parties == 0);
}

TEST_CASE("live reducer: a dialled channel runs AppDial, or AppQueue for a queue's member") {
  reducer r;
  r.apply(wire(channel("PJSIP/trunk-1", "1.1")), at(0));
  r.apply(wire("Event: Newexten\r\n" + snapshot("", "PJSIP/trunk-1", "1.1", "1.1", 6) +
               "Extension: q1\r\nApplication: Queue\r\nAppData: sales\r\n"),
          at(1));
  r.apply(wire(channel("PJSIP/200-2", "1.2", 0)), at(2));
  r.apply(wire("Event: DialBegin\r\n" + snapshot("", "PJSIP/trunk-1", "1.1", "1.1", 6) +
               snapshot("Dest", "PJSIP/200-2", "1.2", "1.1", 0) + "DialString: 200\r\n"),
          at(3));
  const auto* m = r.current().channel_by_uniqueid("1.2");
  CHECK(m->application == "AppQueue");
  CHECK(m->application_data == "(Outgoing Line)");
  r.apply(wire(channel("PJSIP/205-3", "1.3", 0)), at(4));
  r.apply(wire("Event: DialBegin\r\n" + snapshot("Dest", "PJSIP/205-3", "1.3", "1.3", 0) +
               "DialString: 205\r\n"),
          at(5));
  CHECK(r.current().channel_by_uniqueid("1.3")->application == "AppDial");
}

TEST_CASE("live reducer: AgentComplete counts the member's call before its next status") {
  reducer r;
  r.apply(wire("Event: QueueMemberAdded\r\n" + member_block("sales", "PJSIP/200", 2)), at(0));
  r.apply(wire("Event: AgentComplete\r\n" + snapshot("", "PJSIP/trunk-1", "1.1", "1.1", 6) +
               snapshot("Dest", "PJSIP/200-2", "1.2", "1.1", 6) +
               "Queue: sales\r\nInterface: PJSIP/200\r\nMemberName: x\r\nHoldTime: 1\r\n"
               "TalkTime: 9\r\nReason: caller\r\n"),
          at(10));
  const auto* m = r.current().member("sales", "PJSIP/200");
  REQUIRE(m != nullptr);
  CHECK(m->calls_taken == 1);
  CHECK(m->last_call == 1800000010);
  CHECK(r.current().queues.find(std::string_view("sales"))->completed == 1);
  // The member's next status is absolute: nothing is counted twice.
  r.apply(wire("Event: QueueMemberStatus\r\n" + member_block("sales", "PJSIP/200", 1, 0, 0, 1)),
          at(11));
  CHECK(r.current().member("sales", "PJSIP/200")->calls_taken == 1);
}

TEST_CASE("live sync: ParkedCalls and ConfbridgeListRooms, the rooms' users from the channels") {
  ami::live::synchroniser s;
  s.begin();
  const auto csc = [](const std::string& name, const std::string& uid, const std::string& app,
                      const std::string& data) {
    return wire("Event: CoreShowChannel\r\nActionID: s1\r\n" + snapshot("", name, uid, uid, 6) +
                "Application: " + app + "\r\nApplicationData: " + data +
                "\r\nDuration: 00:00:07\r\nBridgeId: \r\n");
  };
  s.on_list(
      list_kind::channels,
      list_response("CoreShowChannelsComplete",
                    {csc("PJSIP/a-1", "1.1", "ConfBridge", "room1"),
                     csc("PJSIP/b-2", "1.2", "ConfBridge", "room1,bp,up"),
                     csc("PJSIP/c-3", "1.3", "Echo", ""), csc("PJSIP/d-4", "1.4", "Wait", "100")}));
  auto item = parked("ParkedCall", "PJSIP/d-4", "1.4", 702);
  item.erase(item.find("Privilege"), std::string("Privilege: call,all\r\n").size());
  s.on_list(list_kind::parked, list_response("ParkedCallsComplete", {wire(item)}));
  s.on_list(
      list_kind::conferences,
      list_response("ConfbridgeListRoomsComplete",
                    {wire("Event: ConfbridgeListRooms\r\nActionID: s1\r\nConference: room1\r\n"
                          "Parties: 2\r\nMarked: 0\r\nLocked: No\r\nMuted: Yes\r\n")}));
  // A third user joins after the lists.
  s.on_event(wire(conf("ConfbridgeJoin", "room1", "PJSIP/c-3", "1.3") + "Muted: No\r\n"), at(100));
  ami::live::sync_report report;
  const auto st = s.finish({}, at(101), report);
  CHECK(report.outcome(list_kind::parked) == list_outcome::listed);
  CHECK(report.outcome(list_kind::conferences) == list_outcome::listed);
  const auto* k = st.conferences.find(std::string_view("room1"));
  REQUIRE(k != nullptr);
  CHECK(k->users == std::vector<std::string>{"1.1", "1.2", "1.3"});
  CHECK(k->parties == 3);
  CHECK(k->muted);
  const auto* p = st.parked.find(std::string_view("1.4"));
  REQUIRE(p != nullptr);
  CHECK(p->parking_space == 702);
  CHECK(std::any_of(report.changes.begin(), report.changes.end(), [](const auto& c) {
    return c.what == entity::parked_call && c.kind == change_kind::added && c.key == "1.4";
  }));
}

TEST_CASE("live sync: no conference up is an empty list; no res_parking is unsupported") {
  ami::live::synchroniser s;
  s.begin();
  const auto error = [](const std::string& message) {
    ami::response r;
    r.set_message(wire("Response: Error\r\nActionID: s2\r\nMessage: " + message + "\r\n"));
    return r;
  };
  s.on_list(list_kind::conferences, error("No active conferences."));
  s.on_list(list_kind::parked, error("Invalid/unknown command: ParkedCalls. Use Action: "
                                     "ListCommands to show available commands."));
  ami::live::state before;
  before.conferences.insert_or_assign("old", ami::live::conference{"old", 1, 0, false, false, {}});
  ami::live::sync_report report;
  const auto st = s.finish(before, at(1), report);
  CHECK(report.outcome(list_kind::conferences) == list_outcome::listed);
  CHECK(report.outcome(list_kind::parked) == list_outcome::unsupported);
  CHECK(st.conferences.empty());
}

TEST_CASE("live sync: a member event that raced the QueueStatus list does not set its count back") {
  // The member's status (CallsTaken 2) and the call it then completed arrived before the
  // list, which has the count after both (3).
  ami::live::synchroniser s;
  s.begin();
  s.on_event(wire("Event: QueueMemberStatus\r\n" + member_block("sales", "PJSIP/200", 2, 0, 0, 2)),
             at(1));
  s.on_event(wire("Event: AgentComplete\r\n" + snapshot("", "PJSIP/trunk-1", "1.1", "1.1", 6) +
                  snapshot("Dest", "PJSIP/200-2", "1.2", "1.1", 6) +
                  "Queue: sales\r\nInterface: PJSIP/200\r\nMemberName: x\r\nHoldTime: 1\r\n"
                  "TalkTime: 9\r\nReason: caller\r\n"),
             at(2));
  auto item =
      "Event: QueueMember\r\nActionID: s1\r\n" + member_block("sales", "PJSIP/200", 1, 0, 0, 3);
  s.on_list(list_kind::queues,
            list_response("QueueStatusComplete",
                          {wire("Event: QueueParams\r\nActionID: s1\r\nQueue: sales\r\nMax: 0\r\n"
                                "Strategy: ringall\r\nCalls: 0\r\nHoldtime: 0\r\nTalkTime: 0\r\n"
                                "Completed: 1\r\nAbandoned: 0\r\n"),
                           wire(item)}));
  // A status after the list is applied.
  s.on_event(wire("Event: QueueMemberPause\r\n" + member_block("sales", "PJSIP/200", 1, 1, 0, 3)),
             at(3));
  ami::live::sync_report report;
  const auto st = s.finish({}, at(4), report);
  const auto* m = st.member("sales", "PJSIP/200");
  REQUIRE(m != nullptr);
  CHECK(m->calls_taken == 3);
  CHECK(m->paused);
  CHECK(static_cast<int>(m->status) == 1);
  CHECK(st.queues.find(std::string_view("sales"))->completed == 1);
}
