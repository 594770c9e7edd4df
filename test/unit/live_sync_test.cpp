// The sync: lists and buffered events in every order (the race of a queue caller's events
// with the QueueStatus list), unsupported lists, what it reports, what it carries over.
#include "ami/live/sync.hpp"
#include "live_support.hpp"

#include <algorithm>
#include <map>

using ami::live::change_kind;
using ami::live::entity;
using ami::live::list_kind;
using ami::live::list_outcome;
using ami::live::state;
using ami::live::sync_report;
using ami::live::synchroniser;
using ami::live::test::at;
using ami::live::test::snapshot;
using ami::live::test::wire;

namespace {

ami::response list_response(const std::string& complete, const std::vector<ami::message>& items) {
  ami::response r;
  r.set_message(wire("Response: Success\r\nActionID: s1\r\nEventList: start\r\n"));
  for (const auto& i : items) r.add_event(i);
  r.set_complete(wire("Event: " + complete +
                      "\r\nActionID: s1\r\nEventList: Complete\r\n"
                      "ListItems: " +
                      std::to_string(items.size()) + "\r\n"));
  return r;
}

ami::response error_response(const std::string& message) {
  ami::response r;
  r.set_message(wire("Response: Error\r\nActionID: s2\r\nMessage: " + message + "\r\n"));
  return r;
}

ami::message queue_params(int calls, int abandoned) {
  return wire("Event: QueueParams\r\nQueue: sales\r\nMax: 0\r\nStrategy: ringall\r\nCalls: " +
              std::to_string(calls) +
              "\r\nHoldtime: 0\r\nTalkTime: 0\r\nCompleted: 0\r\n"
              "Abandoned: " +
              std::to_string(abandoned) +
              "\r\nServiceLevel: 0\r\n"
              "ServicelevelPerf: 0.0\r\nServicelevelPerf2: 0.0\r\nWeight: 0\r\nActionID: s1\r\n");
}

ami::message queue_entry(const std::string& uid, int position) {
  return wire("Event: QueueEntry\r\nQueue: sales\r\nPosition: " + std::to_string(position) +
              "\r\nChannel: Local/c-" + uid + ";2\r\nUniqueid: " + uid +
              "\r\nCallerIDNum: 55\r\nCallerIDName: x\r\nConnectedLineNum: \r\n"
              "ConnectedLineName: \r\nWait: 3\r\nPriority: 0\r\nActionID: s1\r\n");
}

ami::message caller_event(const std::string& name, const std::string& uid, int position,
                          int count) {
  return wire("Event: " + name + "\r\n" + snapshot("", "Local/c-" + uid + ";2", uid, uid, 6, "55") +
              "Queue: sales\r\nPosition: " + std::to_string(position) +
              "\r\nCount: " + std::to_string(count) + "\r\nOriginalPosition: 1\r\nHoldTime: 2\r\n");
}

ami::message core_show_channel(const std::string& uid, const std::string& bridge = "") {
  return wire("Event: CoreShowChannel\r\nActionID: s1\r\n" +
              snapshot("", "Local/c-" + uid + ";2", uid, uid, 6, "55") +
              "Application: Queue\r\nApplicationData: sales\r\nDuration: 00:01:05\r\n"
              "BridgeId: " +
              bridge + "\r\n");
}

// Runs a sync whose lists are given, with `early` events before them and `late` after.
state run(const state& before, const std::vector<ami::message>& early,
          const std::map<list_kind, ami::response>& lists, const std::vector<ami::message>& late,
          sync_report& report) {
  synchroniser s;
  s.begin();
  int t = 100;
  for (const auto& e : early) s.on_event(e, at(t++));
  for (const auto& [kind, r] : lists) s.on_list(kind, r);
  for (const auto& e : late) s.on_event(e, at(t++));
  return s.finish(before, at(200), report);
}

std::map<list_kind, ami::response> queue_lists(int calls, int abandoned,
                                               const std::vector<std::string>& waiting) {
  std::vector<ami::message> items{queue_params(calls, abandoned)};
  std::vector<ami::message> channels;
  int pos = 1;
  for (const auto& uid : waiting) {
    items.push_back(queue_entry(uid, pos++));
    channels.push_back(core_show_channel(uid));
  }
  return {{list_kind::queues, list_response("QueueStatusComplete", items)},
          {list_kind::channels, list_response("CoreShowChannelsComplete", channels)}};
}

std::size_t callers(const state& s) {
  const auto* q = s.queues.find(std::string_view("sales"));
  return q == nullptr ? 0 : q->callers.size();
}

}  // namespace

TEST_CASE("live sync: a caller's join racing the QueueStatus list is counted once") {
  const auto join = caller_event("QueueCallerJoin", "1", 1, 1);
  sync_report report;
  SUBCASE("join before the list, which has the caller") {
    const auto s = run({}, {join}, queue_lists(1, 0, {"1"}), {}, report);
    CHECK(callers(s) == 1);
    CHECK(s.queues.find(std::string_view("sales"))->calls == 1);
    CHECK(s.caller("sales", "1")->position == 1);
  }
  SUBCASE("join after the list, which already had the caller") {
    const auto s = run({}, {}, queue_lists(1, 0, {"1"}), {join}, report);
    CHECK(callers(s) == 1);
    CHECK(s.queues.find(std::string_view("sales"))->calls == 1);
  }
  SUBCASE("join after a list made before it") {
    const auto s = run({}, {}, queue_lists(0, 0, {}), {join}, report);
    CHECK(callers(s) == 1);
    CHECK(s.queues.find(std::string_view("sales"))->calls == 1);
  }
  CHECK(report.replayed == 1);
}

TEST_CASE("live sync: a caller leaving around the list is never left over") {
  const auto join = caller_event("QueueCallerJoin", "1", 1, 1);
  const auto abandon = caller_event("QueueCallerAbandon", "1", 1, 0);
  const auto leave = caller_event("QueueCallerLeave", "1", 1, 0);
  sync_report report;
  SUBCASE("join and abandon before the list, which counted the abandon") {
    const auto s = run({}, {join, abandon, leave}, queue_lists(0, 1, {}), {}, report);
    CHECK(callers(s) == 0);
    CHECK(s.queues.find(std::string_view("sales"))->abandoned == 1);
    CHECK(s.queues.find(std::string_view("sales"))->calls == 0);
  }
  SUBCASE("abandon after the list, which had the caller") {
    const auto s = run({}, {join}, queue_lists(1, 0, {"1"}), {abandon, leave}, report);
    CHECK(callers(s) == 0);
    CHECK(s.queues.find(std::string_view("sales"))->abandoned == 1);
    CHECK(s.queues.find(std::string_view("sales"))->calls == 0);
    CHECK(s.channel_by_uniqueid("1")->queue.empty());
  }
  SUBCASE("abandon after a list that had already counted it") {
    const auto s = run({}, {}, queue_lists(0, 1, {}), {abandon, leave}, report);
    CHECK(callers(s) == 0);
    CHECK(s.queues.find(std::string_view("sales"))->abandoned == 1);
  }
  // Whatever raced, no anomaly reaches the live counters; the replay's are reported.
  CHECK(report.outcome(list_kind::queues) == list_outcome::listed);
}

TEST_CASE("live sync: positions stay right when joins race the list") {
  // Caller 2 joined at the front after caller 1; both joins came before the list.
  sync_report report;
  const auto s = run(
      {}, {caller_event("QueueCallerJoin", "1", 1, 1), caller_event("QueueCallerJoin", "2", 1, 2)},
      queue_lists(2, 0, {"2", "1"}), {}, report);
  CHECK(s.caller("sales", "2")->position == 1);
  CHECK(s.caller("sales", "1")->position == 2);
}

TEST_CASE("live sync: unsupported and failed lists keep what was known") {
  state before;
  before.devices.insert_or_assign(std::string("PJSIP/1"),
                                  ami::live::device{"PJSIP/1", ami::live::device_state::inuse});
  before.extensions.insert_or_assign(std::string("1@default"),
                                     ami::live::extension{"1", "default", "PJSIP/1", 1, "InUse"});
  before.agents.insert_or_assign(std::string("7"), ami::live::agent{"7", "Al", {}, {}, {}, {}});
  std::map<list_kind, ami::response> lists{
      {list_kind::devices, error_response("Invalid/unknown command: DeviceStateList. Use Action: "
                                          "ListCommands to show available commands.")},
      {list_kind::extensions, error_response("No dialplan hints are available")},
      {list_kind::agents, error_response("Permission denied")},
  };
  sync_report report;
  const auto s =
      run(before, {wire("Event: DeviceStateChange\r\nDevice: PJSIP/2\r\nState: RINGING\r\n")},
          lists, {}, report);
  CHECK(report.outcome(list_kind::devices) == list_outcome::unsupported);
  CHECK(report.outcome(list_kind::extensions) == list_outcome::listed);
  CHECK(report.outcome(list_kind::agents) == list_outcome::failed);
  CHECK(report.outcome(list_kind::channels) == list_outcome::failed);  // never answered
  CHECK(s.devices.size() == 2);  // kept, and followed by the buffered event
  CHECK(s.devices.find(std::string_view("PJSIP/2"))->state == ami::live::device_state::ringing);
  CHECK(s.extensions.empty());  // no hints at all: an empty list
  CHECK(s.agents.size() == 1);
  const auto removed = std::count_if(report.changes.begin(), report.changes.end(), [](auto& c) {
    return c.what == entity::extension && c.kind == change_kind::removed && c.key == "1@default";
  });
  CHECK(removed == 1);
}

TEST_CASE("live sync: reports added, changed and removed against the state before") {
  state before;
  {
    ami::live::reducer r;
    for (const char* uid : {"1", "2", "4"}) r.apply(core_show_channel(uid), at(0));
    before = r.current();
  }
  std::map<list_kind, ami::response> lists{
      {list_kind::channels,
       list_response("CoreShowChannelsComplete", {core_show_channel("2", "br"),
                                                  core_show_channel("3"), core_show_channel("4")})},
      {list_kind::bridges,
       list_response("BridgeListComplete", {wire("Event: BridgeListItem\r\nActionID: s1\r\n" +
                                                 ami::live::test::bridge_block("", "br", 1))})},
  };
  sync_report report;
  const auto s = run(before, {}, lists, {}, report);
  const auto count = [&](entity what, change_kind kind, const std::string& key) {
    return std::count_if(report.changes.begin(), report.changes.end(),
                         [&](auto& c) { return c.what == what && c.kind == kind && c.key == key; });
  };
  CHECK(count(entity::channel, change_kind::removed, "1") == 1);
  CHECK(count(entity::call, change_kind::removed, "1") == 1);
  CHECK(count(entity::channel, change_kind::changed, "2") == 1);  // now in a bridge
  CHECK(count(entity::channel, change_kind::added, "3") == 1);
  CHECK(count(entity::bridge, change_kind::added, "br") == 1);
  CHECK(count(entity::channel, change_kind::changed, "4") == 0);  // unchanged: not reported
  CHECK(count(entity::call, change_kind::added, "3") == 1);
  CHECK(report.changes.size() == 6);
  CHECK(s.bridges.find(std::string_view("br"))->bridge_type == "basic");
  CHECK(s.bridges.find(std::string_view("br"))->channels == std::vector<std::string>{"2"});
  CHECK(s.channel_by_uniqueid("2")->bridge == "br");
  CHECK(s.channel_by_uniqueid("3")->created == at(200 - 65));  // from the Duration
  CHECK(s.channel_by_uniqueid("4")->created == at(-65));       // carried over
}

TEST_CASE("live sync: carries over what the lists do not say") {
  ami::live::reducer r{ami::live::reducer_options{{"V"}}};
  r.apply(core_show_channel("1"), at(0));
  r.apply(wire("Event: Hold\r\n" + snapshot("", "Local/c-1;2", "1", "1", 6, "55") +
               "MusicClass: jazz\r\n"),
          at(1));
  r.apply(wire("Event: VarSet\r\n" + snapshot("", "Local/c-1;2", "1", "1", 6, "55") +
               "Variable: V\r\nValue: x\r\n"),
          at(2));
  const state before = r.current();
  sync_report report;
  const auto s = run(before, {}, queue_lists(1, 0, {"1"}), {}, report);
  const auto* c = s.channel_by_uniqueid("1");
  REQUIRE(c != nullptr);
  CHECK(c->on_hold);
  CHECK(c->music_class == "jazz");
  REQUIRE(c->variable("V") != nullptr);
  CHECK(*c->variable("V") == "x");
  CHECK(c->created == before.channel_by_uniqueid("1")->created);
  CHECK(c->queue == "sales");
}

TEST_CASE("live sync: from the capture, then events: the next QueueStatus agrees") {
  // queues.raw: the lists q4..q9 are the sync; the events before them were missed (as in a
  // reconnect); the events after them follow the synced state.
  const auto msgs = ami::live::test::capture("queues.raw");
  std::map<std::string, ami::response> answers;  // by ActionID
  std::map<std::string, std::size_t> ended_at;   // message index of each list's end
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    const auto& m = msgs[i];
    const std::string id(m.action_id());
    if (id.empty()) continue;
    if (m.is_response()) {
      answers[id].set_message(m);
      ended_at[id] = i;
    } else if (m.has("EventList")) {
      answers[id].set_complete(m);
      ended_at[id] = i;
    } else if (m.is_event()) {
      answers[id].add_event(m);
    }
  }
  const std::map<std::string, list_kind> sync_lists{{"q4", list_kind::queues},
                                                    {"q6", list_kind::bridges},
                                                    {"q7", list_kind::channels},
                                                    {"q8", list_kind::devices},
                                                    {"q9", list_kind::extensions}};
  synchroniser sync;
  ami::live::reducer live;
  bool syncing = false;
  bool synced = false;
  std::size_t pending = sync_lists.size();
  std::size_t q17_checked = 0;
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    const auto& m = msgs[i];
    const std::string id(m.action_id());
    if (!synced && !syncing && id == "q4") {
      sync.begin();
      syncing = true;
    }
    if (syncing) {
      for (const auto& [lid, kind] : sync_lists) {
        if (ended_at[lid] == i) {
          sync.on_list(kind, answers[lid]);
          --pending;
        }
      }
      if (m.is_event() && id.empty()) sync.on_event(m, at(static_cast<int>(i)));
      if (pending == 0) {
        sync_report report;
        live.reset(sync.finish(live.current(), at(static_cast<int>(i)), report));
        CHECK(report.outcome(list_kind::devices) == list_outcome::unsupported);
        CHECK(report.outcome(list_kind::extensions) == list_outcome::listed);
        CHECK(report.outcome(list_kind::queues) == list_outcome::listed);
        syncing = false;
        synced = true;
      }
      continue;
    }
    if (!synced) continue;  // missed: before the sync
    if (id == "q17" && m.event_name() == "QueueParams") {
      const auto* q = live.current().queues.find(m.get_or("Queue"));
      REQUIRE(q != nullptr);
      CAPTURE(q->queue);
      CHECK(std::to_string(q->completed) == m.get_or("Completed"));
      CHECK(std::to_string(q->abandoned) == m.get_or("Abandoned"));
      CHECK(std::to_string(q->calls) == m.get_or("Calls"));
      CHECK(q->callers.empty());
      ++q17_checked;
    }
    if (id.empty() && m.is_event()) live.apply(m, at(static_cast<int>(i)));
  }
  CHECK(synced);
  CHECK(q17_checked == 2);
  CHECK(live.current().channels.empty());
  CHECK(live.current().calls.empty());
  CHECK(live.current().bridges.empty());
  CHECK(live.anomalies().total() == 0);  // after the sync nothing was news
}

TEST_CASE("live sync: a list answered late is placed where it ended") {
  // The join arrived after the list (which did not have the caller), but the answer is
  // handed over after the join: its place says so, and the join is applied.
  const auto join = caller_event("QueueCallerJoin", "1", 1, 1);
  const auto lists = queue_lists(0, 0, {});
  synchroniser s;
  s.begin();
  const std::size_t place = s.buffered();
  s.on_event(join, at(1));
  for (const auto& [kind, r] : lists) s.on_list(kind, r, place);
  sync_report report;
  const auto late = s.finish({}, at(2), report);
  CHECK(callers(late) == 1);
  CHECK(late.queues.find(std::string_view("sales"))->calls == 1);

  // Placed at its arrival instead, the join counts as listed and is not applied.
  s.begin();
  s.on_event(join, at(1));
  for (const auto& [kind, r] : lists) s.on_list(kind, r);
  const auto early = s.finish({}, at(2), report);
  CHECK(callers(early) == 0);
}

TEST_CASE("live sync: a partial sync lists some kinds and rebuilds the rest from the events") {
  // The live state before the refresh: caller 1 waits in sales.
  ami::live::reducer live;
  live.apply(caller_event("QueueCallerJoin", "1", 1, 1), at(1));
  const state base = live.current();
  REQUIRE(callers(base) == 1);

  synchroniser s;
  s.begin(list_kind::queues);
  CHECK(s.requested() == ami::live::list_set{list_kind::queues});
  const std::vector<ami::message> early{caller_event("QueueCallerJoin", "2", 2, 2)};
  const std::vector<ami::message> late{caller_event("QueueCallerLeave", "1", 1, 1),
                                       wire("Event: DeviceStateChange\r\nDevice: PJSIP/2\r\n"
                                            "State: RINGING\r\n")};
  int t = 10;
  for (const auto& e : early) {
    s.on_event(e, at(t));
    live.apply(e, at(t++));
  }
  auto lists = queue_lists(2, 0, {"1", "2"});
  // An answer for a kind not requested is ignored: the channels stay as the events made them.
  lists[list_kind::channels] = list_response("CoreShowChannelsComplete", {});
  for (const auto& [kind, r] : lists) s.on_list(kind, r);
  for (const auto& e : late) {
    s.on_event(e, at(t));
    live.apply(e, at(t++));
  }
  sync_report report;
  const state after = s.finish(base, at(50), report);
  CHECK_FALSE(s.active());
  CHECK(report.outcome(list_kind::queues) == list_outcome::listed);
  CHECK_FALSE(report.outcome(list_kind::channels).has_value());
  CHECK_FALSE(report.outcome(list_kind::devices).has_value());
  CHECK(report.replayed == 3);
  // Caller 2 once, at the head after caller 1 left; nothing counted twice.
  CHECK(callers(after) == 1);
  REQUIRE(after.caller("sales", "2") != nullptr);
  CHECK(after.caller("sales", "2")->position == 1);
  CHECK(after.caller("sales", "1") == nullptr);
  // What was not listed equals what the same events gave live (the queue parameters come
  // from the list, which the events did not carry).
  CHECK(after.channels == live.current().channels);
  CHECK(after.calls == live.current().calls);
  CHECK(after.devices == live.current().devices);
  CHECK(after.channel_by_uniqueid("2")->queue == "sales");
  CHECK(after.calls.find(std::string_view("2"))->queue == "sales");
}

TEST_CASE("live sync: a list with no usable answer keeps what was known") {
  state before;
  before.devices.insert_or_assign(std::string("PJSIP/1"),
                                  ami::live::device{"PJSIP/1", ami::live::device_state::inuse});
  synchroniser s;
  s.begin(ami::live::list_set{list_kind::devices, list_kind::agents});
  s.on_list_failed(list_kind::devices);
  s.on_list_failed(list_kind::channels);  // not requested: ignored
  sync_report report;
  const state after = s.finish(before, at(5), report);
  CHECK(report.outcome(list_kind::devices) == list_outcome::failed);
  CHECK(report.outcome(list_kind::agents) == list_outcome::failed);  // never answered
  CHECK_FALSE(report.outcome(list_kind::channels).has_value());
  CHECK(after.devices == before.devices);
  CHECK(report.changes.empty());
}

TEST_CASE("live sync: list_set") {
  using ami::live::list_set;
  constexpr list_set none;
  static_assert(none.empty());
  list_set s = list_set{list_kind::queues} | list_kind::agents;
  CHECK(s.contains(list_kind::queues));
  CHECK(s.contains(list_kind::agents));
  CHECK_FALSE(s.contains(list_kind::channels));
  s.erase(list_kind::queues);
  CHECK(s == list_set{list_kind::agents});
  for (const auto& a : ami::live::list_actions()) CHECK(list_set::all().contains(a.kind));
  CHECK(list_set::all() != s);
}
