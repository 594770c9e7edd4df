// The reducer, event by event, from literal messages in Asterisk's header sets.
#include "live_support.hpp"

#include <algorithm>
#include <cstring>

using ami::events::channel_state;
using ami::live::anomaly;
using ami::live::change_kind;
using ami::live::entity;
using ami::live::reducer;
using ami::live::test::at;
using ami::live::test::bridge_block;
using ami::live::test::member_block;
using ami::live::test::snapshot;
using ami::live::test::wire;

namespace {

bool has_change(const std::vector<ami::live::change>& changes, entity what, change_kind kind,
                const std::string& key, const std::string& sub = {}) {
  return std::any_of(changes.begin(), changes.end(), [&](const ami::live::change& c) {
    return c.what == what && c.kind == kind && c.key == key && c.sub == sub;
  });
}

std::string newchannel(const std::string& name, const std::string& uid, const std::string& linkedid,
                       int state = 0, const std::string& cid = "") {
  return "Event: Newchannel\r\n" + snapshot("", name, uid, linkedid, state, cid, "100");
}

// Two channels of one call (caller 1.1, callee 1.2), bridged in b1.
void two_party_call(reducer& r) {
  r.apply(wire(newchannel("PJSIP/a-1", "1.1", "1.1", 4, "200")), at(0));
  r.apply(wire(newchannel("PJSIP/b-2", "1.2", "1.1", 5, "300")), at(1));
  r.apply(wire("Event: BridgeCreate\r\n" + bridge_block("", "b1")), at(2));
  r.apply(wire("Event: BridgeEnter\r\n" + bridge_block("", "b1", 1) +
               snapshot("", "PJSIP/a-1", "1.1", "1.1", 6, "200")),
          at(3));
  r.apply(wire("Event: BridgeEnter\r\n" + bridge_block("", "b1", 2) +
               snapshot("", "PJSIP/b-2", "1.2", "1.1", 6, "300")),
          at(4));
}

}  // namespace

TEST_CASE("live reducer: Newchannel makes a channel and its call") {
  reducer r;
  const auto& ch = r.apply(wire(newchannel("PJSIP/a-1", "1.1", "1.1", 4, "200")), at(0));
  CHECK(has_change(ch, entity::channel, change_kind::added, "1.1"));
  CHECK(has_change(ch, entity::call, change_kind::added, "1.1"));
  CHECK(ch.size() == 2);  // each thing once, however many fields changed
  const auto& s = r.current();
  const auto* c = s.channel_by_uniqueid("1.1");
  REQUIRE(c != nullptr);
  CHECK(c->channel == "PJSIP/a-1");
  CHECK(c->state == channel_state::ring);
  CHECK(c->caller_id_num == "200");
  CHECK(c->language == "en");
  CHECK(c->context == "default");
  CHECK(c->exten == "100");
  CHECK(c->priority == 1);
  CHECK(c->created == at(0));
  CHECK_FALSE(c->answered.has_value());
  CHECK(s.channel_by_name("PJSIP/a-1") == c);
  const auto* k = s.calls.find(std::string_view("1.1"));
  REQUIRE(k != nullptr);
  CHECK(k->channels == std::vector<std::string>{"1.1"});
  CHECK(k->caller_id_num == "200");
  CHECK(k->exten == "100");
  CHECK(k->started == at(0));
  CHECK(r.anomalies().total() == 0);
}

TEST_CASE("live reducer: snapshot events update the channel and report only real changes") {
  reducer r;
  r.apply(wire(newchannel("PJSIP/a-1", "1.1", "1.1", 4, "200")), at(0));
  auto up = wire("Event: Newstate\r\n" + snapshot("", "PJSIP/a-1", "1.1", "1.1", 6, "200", "100"));
  CHECK(has_change(r.apply(up, at(5)), entity::channel, change_kind::changed, "1.1"));
  CHECK(r.current().channel_by_uniqueid("1.1")->answered == at(5));
  CHECK(r.apply(up, at(6)).empty());  // the same snapshot again changes nothing
  CHECK(r.current().channel_by_uniqueid("1.1")->answered == at(5));

  r.apply(wire("Event: Newexten\r\n" + snapshot("", "PJSIP/a-1", "1.1", "1.1", 6, "200", "100") +
               "Extension: 100\r\nApplication: Dial\r\nAppData: PJSIP/b\r\n"),
          at(7));
  CHECK(r.current().channel_by_uniqueid("1.1")->application == "Dial");
  CHECK(r.current().channel_by_uniqueid("1.1")->application_data == "PJSIP/b");

  const auto& cid = r.apply(
      wire("Event: NewCallerid\r\n" + snapshot("", "PJSIP/a-1", "1.1", "1.1", 6, "555", "100") +
           "CID-CallingPres: 0 (Presentation Allowed, Not Screened)\r\n"),
      at(8));
  CHECK(has_change(cid, entity::call, change_kind::changed, "1.1"));  // the originator's
  CHECK(r.current().calls.find(std::string_view("1.1"))->caller_id_num == "555");
  CHECK(r.anomalies().total() == 0);
}

TEST_CASE("live reducer: Hangup removes the channel, its call with the last channel") {
  reducer r;
  two_party_call(r);
  const auto& gone =
      r.apply(wire("Event: Hangup\r\n" + snapshot("", "PJSIP/b-2", "1.2", "1.1", 6, "300") +
                   "Cause: 16\r\nCause-txt: Normal Clearing\r\n"),
              at(10));
  CHECK(has_change(gone, entity::channel, change_kind::removed, "1.2"));
  CHECK(has_change(gone, entity::bridge, change_kind::changed, "b1"));
  CHECK(has_change(gone, entity::call, change_kind::changed, "1.1"));
  const auto& s = r.current();
  CHECK(s.channel_by_uniqueid("1.2") == nullptr);
  CHECK(s.channel_by_name("PJSIP/b-2") == nullptr);
  CHECK(s.bridges.find(std::string_view("b1"))->channels == std::vector<std::string>{"1.1"});
  CHECK(s.calls.find(std::string_view("1.1"))->channels == std::vector<std::string>{"1.1"});
  const auto& last =
      r.apply(wire("Event: Hangup\r\n" + snapshot("", "PJSIP/a-1", "1.1", "1.1", 6, "200") +
                   "Cause: 16\r\n"),
              at(11));
  CHECK(has_change(last, entity::call, change_kind::removed, "1.1"));
  CHECK(r.current().channels.empty());
  CHECK(r.current().channel_names.empty());
  CHECK(r.current().calls.empty());
  CHECK(r.anomalies().total() == 0);
}

TEST_CASE("live reducer: bridges follow enter, leave and destroy") {
  reducer r;
  two_party_call(r);
  const auto& s = r.current();
  const auto* b = s.bridges.find(std::string_view("b1"));
  REQUIRE(b != nullptr);
  CHECK(b->bridge_type == "basic");
  CHECK(b->bridge_technology == "simple_bridge");
  CHECK(b->bridge_video_source_mode == "none");
  CHECK(b->channels == std::vector<std::string>{"1.1", "1.2"});
  CHECK(s.channel_by_uniqueid("1.1")->bridge == "b1");
  CHECK(s.calls.find(std::string_view("1.1"))->answered == at(4));

  r.apply(wire("Event: BridgeLeave\r\n" + bridge_block("", "b1", 1) +
               snapshot("", "PJSIP/b-2", "1.2", "1.1", 6, "300")),
          at(5));
  CHECK(r.current().channel_by_uniqueid("1.2")->bridge.empty());
  CHECK(r.current().bridges.find(std::string_view("b1"))->channels ==
        std::vector<std::string>{"1.1"});
  const auto& d = r.apply(wire("Event: BridgeDestroy\r\n" + bridge_block("", "b1", 1)), at(6));
  CHECK(has_change(d, entity::bridge, change_kind::removed, "b1"));
  CHECK(has_change(d, entity::channel, change_kind::changed, "1.1"));
  CHECK(r.current().bridges.empty());
  CHECK(r.current().channel_by_uniqueid("1.1")->bridge.empty());
  CHECK(r.anomalies().total() == 0);
}

TEST_CASE("live reducer: a channel entering a second bridge leaves the first") {
  reducer r;
  two_party_call(r);
  r.apply(wire("Event: BridgeCreate\r\n" + bridge_block("", "b2")), at(5));
  r.apply(wire("Event: BridgeEnter\r\n" + bridge_block("", "b2", 1) +
               snapshot("", "PJSIP/a-1", "1.1", "1.1", 6, "200")),
          at(6));
  const auto& s = r.current();
  CHECK(s.channel_by_uniqueid("1.1")->bridge == "b2");
  CHECK(s.bridges.find(std::string_view("b1"))->channels == std::vector<std::string>{"1.2"});
  CHECK(s.bridges.find(std::string_view("b2"))->channels == std::vector<std::string>{"1.1"});
}

TEST_CASE("live reducer: BridgeMerge moves the channels") {
  reducer r;
  two_party_call(r);
  r.apply(wire("Event: BridgeCreate\r\n" + bridge_block("", "b2")), at(5));
  r.apply(wire("Event: BridgeMerge\r\n" + bridge_block("To", "b2", 2) + bridge_block("From", "b1")),
          at(6));
  const auto& s = r.current();
  CHECK(s.bridges.find(std::string_view("b2"))->channels == std::vector<std::string>{"1.1", "1.2"});
  CHECK(s.bridges.find(std::string_view("b1"))->channels.empty());
  CHECK(s.channel_by_uniqueid("1.2")->bridge == "b2");
}

TEST_CASE("live reducer: Rename changes the name and the index") {
  reducer r;
  r.apply(wire(newchannel("PJSIP/a-1", "1.1", "1.1")), at(0));
  const auto& ch = r.apply(
      wire("Event: Rename\r\nChannel: PJSIP/a-1\r\nNewname: PJSIP/a-1<MASQ>\r\nUniqueid: 1.1\r\n"),
      at(1));
  CHECK(has_change(ch, entity::channel, change_kind::changed, "1.1"));
  CHECK(r.current().channel_by_name("PJSIP/a-1") == nullptr);
  REQUIRE(r.current().channel_by_name("PJSIP/a-1<MASQ>") != nullptr);
  CHECK(r.current().channel_by_name("PJSIP/a-1<MASQ>")->uniqueid == "1.1");
  // Without a Uniqueid (servers before 12) the old name finds it.
  r.apply(wire("Event: Rename\r\nChannel: PJSIP/a-1<MASQ>\r\nNewname: PJSIP/z-9\r\n"), at(2));
  CHECK(r.current().channel_by_uniqueid("1.1")->channel == "PJSIP/z-9");
  r.apply(wire("Event: Rename\r\nChannel: PJSIP/none\r\nNewname: x\r\nUniqueid: 7.7\r\n"), at(3));
  CHECK(r.anomalies()[anomaly::unknown_channel] == 1);
}

TEST_CASE("live reducer: a linkedid that changes moves the channel to the other call") {
  reducer r;
  r.apply(wire(newchannel("PJSIP/a-1", "1.1", "1.1")), at(0));
  r.apply(wire(newchannel("Local/x-1;1", "2.1", "2.1")), at(0));
  r.apply(wire(newchannel("Local/x-1;2", "2.2", "2.1")), at(0));
  // After a local channel optimisation the surviving channel reports the other linkedid.
  r.apply(wire("Event: Newstate\r\n" + snapshot("", "Local/x-1;2", "2.2", "1.1", 6)), at(1));
  const auto& s = r.current();
  CHECK(s.calls.find(std::string_view("1.1"))->channels == std::vector<std::string>{"1.1", "2.2"});
  CHECK(s.calls.find(std::string_view("2.1"))->channels == std::vector<std::string>{"2.1"});
}

TEST_CASE("live reducer: Hold and Unhold, tracked variables") {
  reducer r{ami::live::reducer_options{{"QUEUE_PRIO"}}};
  r.apply(wire(newchannel("PJSIP/a-1", "1.1", "1.1", 6)), at(0));
  r.apply(wire("Event: Hold\r\n" + snapshot("", "PJSIP/a-1", "1.1", "1.1", 6) +
               "MusicClass: default\r\n"),
          at(1));
  CHECK(r.current().channel_by_uniqueid("1.1")->on_hold);
  CHECK(r.current().channel_by_uniqueid("1.1")->music_class == "default");
  r.apply(wire("Event: Unhold\r\n" + snapshot("", "PJSIP/a-1", "1.1", "1.1", 6)), at(2));
  CHECK_FALSE(r.current().channel_by_uniqueid("1.1")->on_hold);
  CHECK(r.current().channel_by_uniqueid("1.1")->music_class.empty());

  const auto var = [](const std::string& name, const std::string& value) {
    return wire("Event: VarSet\r\n" + snapshot("", "PJSIP/a-1", "1.1", "1.1", 6) +
                "Variable: " + name + "\r\nValue: " + value + "\r\n");
  };
  CHECK(r.apply(var("OTHER", "x"), at(3)).empty());
  CHECK_FALSE(r.apply(var("QUEUE_PRIO", "5"), at(4)).empty());
  CHECK(r.apply(var("QUEUE_PRIO", "5"), at(5)).empty());
  r.apply(var("QUEUE_PRIO", "9"), at(6));
  const auto* c = r.current().channel_by_uniqueid("1.1");
  REQUIRE(c->variable("QUEUE_PRIO") != nullptr);
  CHECK(*c->variable("QUEUE_PRIO") == "9");
  CHECK(c->variable("OTHER") == nullptr);
  CHECK(c->variables.size() == 1);
  // A global variable names no channel.
  CHECK(r.apply(wire("Event: VarSet\r\nChannel: none\r\nVariable: G\r\nValue: 1\r\n"), at(7))
            .empty());
  CHECK(r.anomalies().total() == 0);
}

TEST_CASE("live reducer: transfers refresh the channels they name") {
  reducer r;
  two_party_call(r);
  r.apply(wire("Event: BlindTransfer\r\nResult: Success\r\n" +
               snapshot("Transferer", "PJSIP/a-1", "1.1", "1.1", 6, "200", "700") +
               snapshot("Transferee", "PJSIP/b-2", "1.2", "1.1", 6, "300", "700") +
               bridge_block("", "b1", 2) +
               "IsExternal: No\r\nContext: default\r\n"
               "Extension: 700\r\n"),
          at(5));
  CHECK(r.current().channel_by_uniqueid("1.1")->exten == "700");
  CHECK(r.current().channel_by_uniqueid("1.2")->exten == "700");
  // A transfer naming a channel the model does not have creates nothing.
  r.apply(wire("Event: AttendedTransfer\r\nResult: Success\r\n" +
               snapshot("OrigTransferer", "PJSIP/q-1", "9.1", "9.1", 6) + "DestType: Bridge\r\n"),
          at(6));
  CHECK(r.current().channel_by_uniqueid("9.1") == nullptr);
  CHECK(r.anomalies().total() == 0);
}

TEST_CASE("live reducer: queue lists, callers joining and leaving in order") {
  reducer r;
  r.apply(wire("Event: QueueParams\r\nQueue: support\r\nMax: 0\r\nStrategy: ringall\r\n"
               "Calls: 0\r\nHoldtime: 3\r\nTalkTime: 4\r\nCompleted: 1\r\nAbandoned: 2\r\n"
               "ServiceLevel: 60\r\nServicelevelPerf: 50.0\r\nServicelevelPerf2: 75.5\r\n"
               "Weight: 1\r\nActionID: q4\r\n"),
          at(0));
  r.apply(wire("Event: QueueMember\r\nQueue: support\r\nName: Agent 100\r\n"
               "Location: Local/100@default\r\nStateInterface: Local/100@default\r\n"
               "Membership: static\r\nPenalty: 0\r\nCallsTaken: 1\r\nLastCall: 1796293842\r\n"
               "LastPause: 0\r\nLoginTime: 1796293723\r\nInCall: 0\r\nStatus: 1\r\n"
               "Paused: 0\r\nPausedReason: \r\nWrapuptime: 0\r\nActionID: q4\r\n"),
          at(0));
  const auto* q = r.current().queues.find(std::string_view("support"));
  REQUIRE(q != nullptr);
  CHECK(q->strategy == "ringall");
  CHECK(q->holdtime == 3);
  CHECK(q->talktime == 4);
  CHECK(q->completed == 1);
  CHECK(q->abandoned == 2);
  CHECK(q->service_level == 60);
  CHECK(q->service_level_perf == doctest::Approx(50.0));
  CHECK(q->service_level_perf2 == doctest::Approx(75.5));
  CHECK(q->weight == 1);
  const auto* m = r.current().member("support", "Local/100@default");
  REQUIRE(m != nullptr);
  CHECK(m->name == "Agent 100");
  CHECK(m->membership == "static");
  CHECK(m->status == ami::live::device_state::not_inuse);
  CHECK(m->calls_taken == 1);
  CHECK(m->last_call == 1796293842);

  const auto join = [&](const std::string& uid, int pos, int count) {
    r.apply(wire("Event: QueueCallerJoin\r\n" +
                 snapshot("", "Local/c-" + uid + ";2", uid, uid, 6, "55" + uid) +
                 "Queue: support\r\nPosition: " + std::to_string(pos) +
                 "\r\nCount: " + std::to_string(count) + "\r\n"),
            at(10 + count));
  };
  join("1", 1, 1);
  join("2", 2, 2);
  join("3", 1, 3);  // a higher priority caller goes first
  const auto position = [&](const std::string& uid) {
    const auto* c = r.current().caller("support", uid);
    return c != nullptr ? c->position : -1;
  };
  CHECK(position("3") == 1);
  CHECK(position("1") == 2);
  CHECK(position("2") == 3);
  CHECK(r.current().queues.find(std::string_view("support"))->calls == 3);
  CHECK(r.current().caller("support", "1")->caller_id_num == "551");
  CHECK(r.current().caller("support", "1")->joined == at(11));
  CHECK(r.current().channel_by_uniqueid("1")->queue == "support");
  CHECK(r.current().calls.find(std::string_view("1"))->queue == "support");

  const auto& left =
      r.apply(wire("Event: QueueCallerLeave\r\n" + snapshot("", "Local/c-3;2", "3", "3", 6) +
                   "Queue: support\r\nPosition: 1\r\nCount: 2\r\n"),
              at(20));
  CHECK(has_change(left, entity::queue_caller, change_kind::removed, "support", "3"));
  CHECK(position("3") == -1);
  CHECK(position("1") == 1);
  CHECK(position("2") == 2);
  CHECK(r.current().queues.find(std::string_view("support"))->calls == 2);
  CHECK(r.current().channel_by_uniqueid("3")->queue.empty());
  CHECK(r.current().calls.find(std::string_view("3"))->queue == "support");  // came through it
  // The callers' channels were never announced: each join created one, and said so.
  CHECK(r.anomalies()[anomaly::unknown_channel] == 3);
  CHECK(r.anomalies().total() == 3);

  // Abandon counts a caller that is there, once; Leave follows it.
  const auto abandon =
      wire("Event: QueueCallerAbandon\r\n" + snapshot("", "Local/c-2;2", "2", "2", 6) +
           "Queue: support\r\nPosition: 2\r\nOriginalPosition: 2\r\n"
           "HoldTime: 9\r\n");
  r.apply(abandon, at(21));
  CHECK(r.current().queues.find(std::string_view("support"))->abandoned == 3);
  r.apply(wire("Event: QueueCallerLeave\r\n" + snapshot("", "Local/c-2;2", "2", "2", 6) +
               "Queue: support\r\nPosition: 2\r\nCount: 1\r\n"),
          at(21));
  r.apply(abandon, at(22));  // a late duplicate: the caller is gone
  CHECK(r.current().queues.find(std::string_view("support"))->abandoned == 3);

  // A Hangup of a waiting caller without its Leave still takes it out of the queue.
  r.apply(wire("Event: Hangup\r\n" + snapshot("", "Local/c-1;2", "1", "1", 6) + "Cause: 16\r\n"),
          at(23));
  CHECK(r.current().queues.find(std::string_view("support"))->callers.empty());
  CHECK(r.current().queues.find(std::string_view("support"))->calls == 0);
}

TEST_CASE("live reducer: QueueEntry list items give the wait as the join time") {
  reducer r;
  r.apply(wire("Event: QueueParams\r\nQueue: sales\r\nCalls: 1\r\n"), at(0));
  r.apply(wire("Event: QueueEntry\r\nQueue: sales\r\nPosition: 1\r\n"
               "Channel: Local/601@default-0000002c;2\r\nUniqueid: 1796294736.89\r\n"
               "CallerIDNum: 5551001\r\nCallerIDName: Waiting Caller\r\n"
               "ConnectedLineNum: 5551001\r\nConnectedLineName: Waiting Caller\r\nWait: 42\r\n"
               "Priority: 0\r\nActionID: q4\r\n"),
          at(100));
  const auto* c = r.current().caller("sales", "1796294736.89");
  REQUIRE(c != nullptr);
  CHECK(c->position == 1);
  CHECK(c->channel == "Local/601@default-0000002c;2");
  CHECK(c->caller_id_name == "Waiting Caller");
  CHECK(c->joined == at(58));
  CHECK(r.anomalies().total() == 0);
}

TEST_CASE("live reducer: member events add, change, pause and remove members") {
  reducer r;
  r.apply(wire("Event: QueueParams\r\nQueue: q\r\nCalls: 0\r\n"), at(0));
  const auto& added =
      r.apply(wire("Event: QueueMemberAdded\r\n" + member_block("q", "PJSIP/7", 1, 0, 2)), at(1));
  CHECK(has_change(added, entity::queue_member, change_kind::added, "q", "PJSIP/7"));
  CHECK(r.current().member("q", "PJSIP/7")->penalty == 2);
  CHECK(r.current().member("q", "PJSIP/7")->name == "PJSIP/7 name");
  r.apply(wire("Event: QueueMemberPause\r\n" +
               member_block("q", "PJSIP/7", 1, 1, 2)
                   .replace(member_block("q", "PJSIP/7", 1, 1, 2).find("PausedReason: "), 14,
                            "PausedReason: lunch")),
          at(2));
  CHECK(r.current().member("q", "PJSIP/7")->paused);
  CHECK(r.current().member("q", "PJSIP/7")->paused_reason == "lunch");
  r.apply(wire("Event: QueueMemberStatus\r\n" + member_block("q", "PJSIP/7", 2, 1, 2, 4)), at(3));
  CHECK(r.current().member("q", "PJSIP/7")->status == ami::live::device_state::inuse);
  CHECK(r.current().member("q", "PJSIP/7")->calls_taken == 4);
  CHECK(r.apply(wire("Event: QueueMemberStatus\r\n" + member_block("q", "PJSIP/7", 2, 1, 2, 4)),
                at(4))
            .empty());
  CHECK(r.anomalies().total() == 0);
  // A status for a member never added is an anomaly, and the member is repaired from it.
  r.apply(wire("Event: QueueMemberStatus\r\n" + member_block("q", "PJSIP/8", 6)), at(5));
  CHECK(r.anomalies()[anomaly::unknown_member] == 1);
  CHECK(r.current().member("q", "PJSIP/8")->status == ami::live::device_state::ringing);
  const auto& removed =
      r.apply(wire("Event: QueueMemberRemoved\r\n" + member_block("q", "PJSIP/7", 1)), at(6));
  CHECK(has_change(removed, entity::queue_member, change_kind::removed, "q", "PJSIP/7"));
  CHECK(r.current().member("q", "PJSIP/7") == nullptr);
  r.apply(wire("Event: QueueMemberRemoved\r\n" + member_block("q", "PJSIP/7", 1)), at(7));
  CHECK(r.anomalies()[anomaly::unknown_member] == 2);
  // Events for a queue never listed create it, and say so.
  r.apply(wire("Event: QueueMemberStatus\r\n" + member_block("other", "PJSIP/1", 1)), at(8));
  CHECK(r.anomalies()[anomaly::unknown_queue] == 1);
  CHECK(r.current().member("other", "PJSIP/1") != nullptr);
}

TEST_CASE("live reducer: AgentConnect and AgentComplete") {
  reducer r;
  r.apply(wire("Event: QueueParams\r\nQueue: support\r\nCompleted: 4\r\n"), at(0));
  r.apply(wire("Event: Agents\r\nAgent: 1001\r\nName: Alice\r\nStatus: AGENT_IDLE\r\n"
               "TalkingToChan: n/a\r\nCallStarted: n/a\r\nLoggedInTime: 1796290000\r\n" +
               snapshot("", "PJSIP/alice-1", "5.1", "5.1", 6) + "ActionID: a1\r\n"),
          at(0));
  const auto* a = r.current().agents.find(std::string_view("1001"));
  REQUIRE(a != nullptr);
  CHECK(a->name == "Alice");
  CHECK(a->status == ami::live::agent_status::idle);
  CHECK(a->talking_to.empty());
  CHECK(a->logged_in_time == 1796290000);
  r.apply(wire(newchannel("PJSIP/c-1", "1.1", "1.1", 6)), at(1));
  r.apply(wire("Event: AgentConnect\r\n" + snapshot("", "PJSIP/c-1", "1.1", "1.1", 6) +
               snapshot("Dest", "PJSIP/alice-1", "5.1", "5.1", 6) +
               "Queue: support\r\nInterface: Agent/1001\r\nMemberName: Alice\r\n"
               "HoldTime: 3\r\nRingTime: 1\r\n"),
          at(2));
  CHECK(r.current().agents.find(std::string_view("1001"))->status ==
        ami::live::agent_status::on_call);
  CHECK(r.current().agents.find(std::string_view("1001"))->talking_to == "PJSIP/c-1");
  CHECK(r.current().calls.find(std::string_view("1.1"))->member == "Agent/1001");
  r.apply(wire("Event: AgentComplete\r\n" + snapshot("", "PJSIP/c-1", "1.1", "1.1", 6) +
               snapshot("Dest", "PJSIP/alice-1", "5.1", "5.1", 6) +
               "Queue: support\r\nInterface: Agent/1001\r\nMemberName: Alice\r\n"
               "HoldTime: 3\r\nTalkTime: 30\r\nReason: caller\r\n"),
          at(3));
  CHECK(r.current().agents.find(std::string_view("1001"))->status == ami::live::agent_status::idle);
  CHECK(r.current().queues.find(std::string_view("support"))->completed == 5);
  r.set_queue_events_listed(true);
  r.apply(wire("Event: AgentComplete\r\nQueue: support\r\nInterface: Local/1@x\r\n"), at(4));
  CHECK(r.current().queues.find(std::string_view("support"))->completed == 5);

  r.apply(wire("Event: AgentLogoff\r\n" + snapshot("", "PJSIP/alice-1", "5.1", "5.1", 6) +
               "Agent: 1001\r\nLogintime: 100\r\n"),
          at(5));
  a = r.current().agents.find(std::string_view("1001"));
  CHECK(a->status == ami::live::agent_status::logged_off);
  CHECK(a->channel.empty());
  CHECK_FALSE(a->logged_in_time.has_value());
  r.apply(wire("Event: AgentLogin\r\n" + snapshot("", "PJSIP/alice-1", "5.1", "5.1", 6) +
               "Agent: 1001\r\n"),
          at(6));
  a = r.current().agents.find(std::string_view("1001"));
  CHECK(a->status == ami::live::agent_status::idle);
  CHECK(a->channel == "PJSIP/alice-1");
  CHECK(a->logged_in_time == 1800000006);
}

TEST_CASE("live reducer: device states and hints") {
  reducer r;
  const auto& d =
      r.apply(wire("Event: DeviceStateChange\r\nDevice: PJSIP/100\r\nState: INUSE\r\n"), at(0));
  CHECK(has_change(d, entity::device, change_kind::added, "PJSIP/100"));
  CHECK(r.current().devices.find(std::string_view("PJSIP/100"))->state ==
        ami::live::device_state::inuse);
  CHECK(r.apply(wire("Event: DeviceStateChange\r\nDevice: PJSIP/100\r\nState: INUSE\r\n"), at(1))
            .empty());
  r.apply(wire("Event: DeviceStateChange\r\nDevice: PJSIP/100\r\nState: NOT_INUSE\r\n"), at(2));
  CHECK(r.current().devices.find(std::string_view("PJSIP/100"))->state ==
        ami::live::device_state::not_inuse);
  r.apply(wire("Event: DeviceStateChange\r\nDevice: PJSIP/100\r\nState: SOMETHING\r\n"), at(3));
  CHECK(r.anomalies()[anomaly::missing_header] == 1);

  r.apply(wire("Event: ExtensionStatus\r\nExten: 100\r\nContext: default\r\n"
               "Hint: PJSIP/100\r\nStatus: 9\r\nStatusText: InUse&Ringing\r\n"),
          at(4));
  const auto* x = r.current().extensions.find(ami::live::extension_key("100", "default"));
  REQUIRE(x != nullptr);
  CHECK(x->hint == "PJSIP/100");
  CHECK(x->status == 9);
  CHECK(x->status_text == "InUse&Ringing");
}

TEST_CASE("live reducer: bad and unknown input is counted, never fatal") {
  reducer r;
  CHECK(r.apply(wire("Event: SomethingNew\r\nFoo: bar\r\n"), at(0)).empty());
  CHECK(r.ignored() == 1);
  CHECK(r.apply(wire("Response: Success\r\nActionID: 1\r\n"), at(0)).empty());
  CHECK(r.ignored() == 2);
  CHECK(r.apply(ami::message{}, at(0)).empty());

  r.apply(wire("Event: Hangup\r\n" + snapshot("", "PJSIP/x-1", "9.9", "9.9", 6)), at(1));
  CHECK(r.anomalies()[anomaly::unknown_channel] == 1);
  CHECK(r.last_anomalies() == std::vector<anomaly>{anomaly::unknown_channel});
  r.apply(wire("Event: Hangup\r\nChannel: PJSIP/x-1\r\n"), at(1));
  CHECK(r.anomalies()[anomaly::missing_header] == 1);
  r.apply(wire("Event: BridgeDestroy\r\n" + bridge_block("", "nope")), at(1));
  CHECK(r.anomalies()[anomaly::unknown_bridge] == 1);
  r.apply(wire("Event: QueueCallerLeave\r\n" + snapshot("", "PJSIP/x-1", "9.9", "9.9", 6) +
               "Queue: nowhere\r\nPosition: 1\r\nCount: 0\r\n"),
          at(1));
  CHECK(r.anomalies()[anomaly::unknown_queue] == 1);
  r.apply(wire("Event: QueueMemberPause\r\nQueue: q\r\n"), at(1));
  CHECK(r.anomalies()[anomaly::missing_header] == 2);
  r.apply(wire("Event: Newstate\r\nChannel: PJSIP/x-1\r\nChannelState: garbage\r\n"
               "Uniqueid: 8.8\r\nPriority: x\r\n"),
          at(1));
  CHECK(r.anomalies()[anomaly::unknown_channel] == 2);  // created from what it has
  CHECK(r.current().channel_by_uniqueid("8.8")->state == channel_state::down);

  // A Newstate for a channel whose Newchannel was lost repairs it.
  r.apply(wire("Event: Newstate\r\n" + snapshot("", "PJSIP/y-1", "7.7", "7.7", 6)), at(2));
  CHECK(r.anomalies()[anomaly::unknown_channel] == 3);
  CHECK(r.current().channel_by_name("PJSIP/y-1") != nullptr);
  CHECK(r.current().calls.contains(std::string_view("7.7")));
  r.apply(wire(newchannel("PJSIP/y-1", "7.7", "7.7", 6)), at(3));
  CHECK(r.anomalies()[anomaly::duplicate_channel] == 1);
  CHECK(r.current().channels.size() == 2);
}

TEST_CASE("live reducer: follows names the events it handles, in any case") {
  CHECK(reducer::follows("Newchannel"));
  CHECK(reducer::follows("NEWCHANNEL"));
  CHECK(reducer::follows("QueueMemberPaused"));
  CHECK(reducer::follows("Join"));
  CHECK_FALSE(reducer::follows("Cdr"));
  CHECK_FALSE(reducer::follows(""));
  CHECK_FALSE(reducer::follows(std::string(200, 'x')));
}

TEST_CASE("live reducer: finished calls are kept as recent calls for keep_finished_calls") {
  ami::live::reducer_options o;
  o.keep_finished_calls = std::chrono::seconds(30);
  reducer r{o};
  two_party_call(r);
  r.apply(wire("Event: Hangup\r\n" + snapshot("", "PJSIP/b-2", "1.2", "1.1", 6, "300") +
               "Cause: 16\r\n"),
          at(10));
  CHECK(r.current().recent_calls.empty());  // still going
  const auto& last =
      r.apply(wire("Event: Hangup\r\n" + snapshot("", "PJSIP/a-1", "1.1", "1.1", 6, "200") +
                   "Cause: 16\r\n"),
              at(11));
  CHECK(has_change(last, entity::call, change_kind::removed, "1.1"));
  CHECK(has_change(last, entity::recent_call, change_kind::added, "1.1"));
  CHECK(r.current().calls.empty());
  const auto* done = r.current().recent_calls.find(std::string_view("1.1"));
  REQUIRE(done != nullptr);
  CHECK(done->ended == at(11));
  CHECK(done->caller_id_num == "200");
  CHECK(done->answered.has_value());

  SUBCASE("an event after the period expires it") {
    const auto& before = r.apply(wire("Event: Ping\r\n"), at(40));
    CHECK(before.empty());
    CHECK(r.current().recent_calls.size() == 1);
    const auto& after = r.apply(wire("Event: Ping\r\n"), at(41));  // not followed, still expires
    CHECK(has_change(after, entity::recent_call, change_kind::removed, "1.1"));
    CHECK(r.current().recent_calls.empty());
  }
  SUBCASE("expire() without events, and after a reset") {
    reducer other{o};
    other.reset(r.current());  // rebuilds the expiry order from the state
    CHECK(other.expire(at(40)).empty());
    CHECK(has_change(other.expire(at(41)), entity::recent_call, change_kind::removed, "1.1"));
    CHECK(other.current().recent_calls.empty());
  }
}

TEST_CASE("live reducer: without keep_finished_calls nothing is kept") {
  reducer r;
  two_party_call(r);
  for (const char* who : {"PJSIP/b-2\r\n", "PJSIP/a-1\r\n"}) {
    const std::string name(who, std::strlen(who) - 2);
    const std::string uid = name == "PJSIP/b-2" ? "1.2" : "1.1";
    const auto& ch = r.apply(
        wire("Event: Hangup\r\n" + snapshot("", name, uid, "1.1", 6) + "Cause: 16\r\n"), at(20));
    CHECK_FALSE(has_change(ch, entity::recent_call, change_kind::added, "1.1"));
  }
  CHECK(r.current().calls.empty());
  CHECK(r.current().recent_calls.empty());
}
