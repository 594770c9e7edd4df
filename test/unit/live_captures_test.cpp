// The real captures replayed through the reducer: the model built from events alone must
// agree with what the server itself lists (CoreShowChannels, QueueStatus, BridgeList) at
// the moment it lists it, and nothing may be left over once every call has ended.
#include "live_support.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <string>

using ami::live::anomaly;
using ami::live::reducer;
using ami::live::test::at;
using ami::live::test::capture;

namespace {

std::set<std::string> channel_ids(const ami::live::state& s) {
  std::set<std::string> out;
  s.channels.for_each([&](const std::string& id, const ami::live::channel&) { out.insert(id); });
  return out;
}

struct replay_result {
  reducer r;
  int lists_checked = 0;
  int queue_lists_checked = 0;
  std::vector<std::string> anomalies;
};

// A QueueStatus list against the model from before it: every queue the model knows
// has the listed counters, callers and member fields.
struct queue_list_check {
  ami::live::state before;
  bool active = false;
  bool counters_known = false;  // the model has had a QueueStatus list before this one
  std::set<std::string> queues_listed;
  std::map<std::string, std::set<std::string>> callers;  // queue -> uniqueids

  void item(const ami::message& m) {
    const std::string q(m.get_or("Queue"));
    const auto* known = before.queues.find(q);
    const auto ev = m.event_name();
    if (ev == "QueueParams") {
      queues_listed.insert(q);
      if (known == nullptr || !counters_known) return;
      CAPTURE(q);
      CHECK(std::to_string(known->completed) == m.get_or("Completed"));
      CHECK(std::to_string(known->abandoned) == m.get_or("Abandoned"));
      CHECK(std::to_string(known->calls) == m.get_or("Calls"));
    } else if (ev == "QueueEntry") {
      callers[q].insert(std::string(m.get_or("Uniqueid")));
    } else if (ev == "QueueMember") {
      const auto* mem = before.member(q, m.get_or("Location"));
      if (mem == nullptr) return;
      CAPTURE(q);
      CAPTURE(mem->interface);
      CHECK(std::to_string(static_cast<int>(mem->status)) == m.get_or("Status"));
      CHECK(std::to_string(mem->calls_taken) == m.get_or("CallsTaken"));
      CHECK(std::to_string(mem->penalty) == m.get_or("Penalty"));
      CHECK((mem->paused ? "1" : "0") == m.get_or("Paused"));
      CHECK((mem->in_call ? "1" : "0") == m.get_or("InCall"));
      CHECK(std::to_string(mem->last_call) == m.get_or("LastCall"));
    }
  }

  void complete() {
    for (const auto& q : queues_listed) {
      const auto* known = before.queues.find(q);
      if (known == nullptr) continue;
      std::set<std::string> model;
      known->callers.for_each(
          [&](const std::string& id, const ami::live::queue_caller&) { model.insert(id); });
      CAPTURE(q);
      CHECK(model == callers[q]);
    }
  }
};

// Applies every event; at each CoreShowChannels list compares the model from before the
// list with the list's items.
replay_result replay(const std::string& name) {
  replay_result out;
  std::set<std::string> before_list;
  std::set<std::string> listed;
  bool in_list = false;
  queue_list_check queue_list;
  int t = 0;
  for (const auto& m : capture(name)) {
    if (!m.is_event()) continue;
    const auto ev = m.event_name();
    if (ev == "CoreShowChannel") {
      if (!in_list) before_list = channel_ids(out.r.current());
      in_list = true;
      listed.insert(std::string(m.get_or("Uniqueid")));
    } else if (ev == "CoreShowChannelsComplete") {
      if (!in_list) before_list = channel_ids(out.r.current());
      CHECK(before_list == listed);
      ++out.lists_checked;
      in_list = false;
      listed.clear();
    }
    if (ev == "QueueParams" || ev == "QueueMember" || ev == "QueueEntry") {
      if (!queue_list.active) {
        queue_list = queue_list_check{};
        queue_list.before = out.r.current();  // a snapshot: O(1)
        queue_list.counters_known = out.queue_lists_checked > 0;
        queue_list.active = true;
      }
      queue_list.item(m);
    } else if (ev == "QueueStatusComplete" && queue_list.active) {
      queue_list.complete();
      queue_list.active = false;
      ++out.queue_lists_checked;
    }
    out.r.apply(m, at(t++));
    for (auto a : out.r.last_anomalies()) {
      out.anomalies.push_back(std::string(ev) + ":" + std::string(ami::live::to_string(a)));
    }
  }
  return out;
}

void check_all_ended(const ami::live::state& s) {
  CHECK(s.channels.empty());
  CHECK(s.channel_names.empty());
  CHECK(s.calls.empty());
  CHECK(s.bridges.empty());
  s.queues.for_each([](const std::string& name, const ami::live::queue& q) {
    CAPTURE(name);
    CHECK(q.callers.empty());
  });
}

}  // namespace

TEST_CASE("live captures: queues (master) replayed agree with the server's own lists") {
  for (const char* name : {"queues.raw", "queues18.raw"}) {
    CAPTURE(name);
    auto res = replay(name);
    CHECK(res.lists_checked == 1);
    const auto& s = res.r.current();
    CHECK(res.queue_lists_checked == 2);
    check_all_ended(s);
    // Without a sync first, the queues and members met before the first QueueStatus are
    // news to the model, and only those.
    CHECK_FALSE(res.anomalies.empty());
    for (const auto& a : res.anomalies) {
      CAPTURE(a);
      CHECK((a == "QueueCallerJoin:unknown_queue" || a == "QueueMemberStatus:unknown_member"));
    }
    const auto* support = s.queues.find(std::string_view("support"));
    REQUIRE(support != nullptr);
    CHECK(support->strategy == "ringall");
    CHECK(support->completed == 2);
    CHECK(support->members.size() == 1);  // the temporary member came and went
    const auto* agent = s.member("support", "Local/100@default");
    REQUIRE(agent != nullptr);
    CHECK(agent->name == "Agent 100");
    CHECK(agent->calls_taken == 2);
    CHECK_FALSE(agent->paused);
    CHECK(agent->paused_reason.empty());
    // The abandon was counted: the second QueueStatus (checked above) agrees.
    CHECK(s.queues.find(std::string_view("sales"))->abandoned >= 1);
  }
}

TEST_CASE("live captures: sessions replayed leave nothing behind") {
  for (const char* name : {"session1.raw", "session18.raw"}) {
    CAPTURE(name);
    auto res = replay(name);
    CHECK(res.lists_checked == 1);  // an empty CoreShowChannels before the call
    check_all_ended(res.r.current());
    CHECK(res.r.anomalies()[anomaly::unknown_channel] == 0);
    CHECK(res.r.anomalies()[anomaly::missing_header] == 0);
    CHECK(res.r.current().devices.size() >= 1);  // DeviceStateChange of the Local channels
    CHECK(res.r.applied() > 10);
  }
}
