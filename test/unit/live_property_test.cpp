// Property test: random call-center event sequences (calls, dialling, bridges, transfers
// between bridges, renames, holds, queue joins, abandons and answers, member pauses,
// device states, plus duplicates, unknown events and hangups of unknown channels). After
// every event the model must keep its invariants and agree with the generator's own
// model; a sync started anywhere, with lists the generator writes from its model, must
// end equal to the state that followed every event.
#include "ami/live/sync.hpp"
#include "live_support.hpp"

#include <algorithm>
#include <map>
#include <random>
#include <set>

using ami::live::list_kind;
using ami::live::reducer;
using ami::live::state;
using ami::live::test::at;
using ami::live::test::bridge_block;
using ami::live::test::snapshot;
using ami::live::test::wire;

namespace {

struct gen_channel {
  std::string name, uid, linkedid, cid, exten = "s", app, appdata, bridge, queue;
  int state = 0;
};

struct gen_queue {
  int abandoned = 0;
  int completed = 0;
  std::vector<std::string> callers;                    // in position order
  std::map<std::string, std::pair<int, int>> members;  // interface -> (status, paused)
  std::map<std::string, int> calls_taken;              // interface -> calls answered

  std::string calls_of(const std::string& iface) const {
    const auto it = calls_taken.find(iface);
    return std::to_string(it == calls_taken.end() ? 0 : it->second);
  }
};

// The generator: its own model of the PBX, and the events Asterisk would send.
class generator {
 public:
  explicit generator(unsigned seed) : rng_(seed) {
    for (int q = 0; q < 3; ++q) {
      auto& gq = queues_["q" + std::to_string(q)];
      for (int m = 0; m < 3; ++m) gq.members["PJSIP/m" + std::to_string(q * 10 + m)] = {1, 0};
    }
  }

  std::vector<std::string> setup_events() const { return list_items(); }

  // One step: the wire texts of the events it produces (maybe none).
  std::vector<std::string> step() {
    std::vector<std::string> out;
    switch (pick(13)) {
      case 0:
      case 1: new_call(out); break;
      case 2:
        if (auto* c = any_channel()) newstate(*c, out);
        break;
      case 3:
        if (auto* c = any_channel()) {
          c->exten = std::to_string(pick(900) + 100);
          c->app = pick(2) == 0 ? "Dial" : "Playback";
          c->appdata = "x" + std::to_string(pick(10));
          out.push_back("Event: Newexten\r\n" + snap(*c) + "Extension: " + c->exten +
                        "\r\nApplication: " + c->app + "\r\nAppData: " + c->appdata + "\r\n");
        }
        break;
      case 4: bridge_call(out); break;
      case 5:
        if (auto* c = any_channel(); c != nullptr && !c->bridge.empty()) leave_bridge(*c, out);
        break;
      case 6:
      case 7:
        if (auto* c = any_channel()) hangup(c->uid, out);
        break;
      case 8: join_queue(out); break;
      case 9: leave_queue(out, pick(2) == 0); break;
      case 10: member_change(out); break;
      case 11:
        if (auto* c = any_channel()) {
          const std::string old = c->name;
          c->name = "PJSIP/r" + std::to_string(++serial_) + "-" + c->uid;
          out.push_back("Event: Rename\r\nChannel: " + old + "\r\nNewname: " + c->name +
                        "\r\nUniqueid: " + c->uid + "\r\n");
        }
        break;
      default: device_change(out); break;
    }
    return out;
  }

  // Noise the model must shrug off: unknown events, a Hangup for a channel never seen.
  std::vector<std::string> noise() {
    if (pick(2) == 0) return {"Event: SomethingElse\r\nFoo: " + std::to_string(pick(9)) + "\r\n"};
    return {"Event: Hangup\r\n" +
            snapshot("", "PJSIP/ghost", "g." + std::to_string(pick(99)), "g.0", 6) +
            "Cause: 16\r\n"};
  }

  // The lists a sync would get now, each as its items.
  std::map<list_kind, std::vector<std::string>> lists() const {
    std::map<list_kind, std::vector<std::string>> out;
    auto& ch = out[list_kind::channels];
    for (const auto& [uid, c] : channels_) {
      ch.push_back("Event: CoreShowChannel\r\nActionID: s\r\n" + snap(c) + "Application: " + c.app +
                   "\r\nApplicationData: " + c.appdata +
                   "\r\nDuration: 00:00:01\r\nBridgeId: " + c.bridge + "\r\n");
    }
    auto& br = out[list_kind::bridges];
    for (const auto& [id, members] : bridges_) {
      br.push_back("Event: BridgeListItem\r\nActionID: s\r\n" +
                   bridge_block("", id, static_cast<int>(members.size())));
    }
    out[list_kind::queues] = list_items();
    auto& dv = out[list_kind::devices];
    for (const auto& [d, st] : devices_) {
      dv.push_back("Event: DeviceStateChange\r\nDevice: " + d + "\r\nState: " + st +
                   "\r\nActionID: s\r\n");
    }
    return out;
  }

  const std::map<std::string, gen_channel>& channels() const { return channels_; }
  const std::map<std::string, std::set<std::string>>& bridges() const { return bridges_; }
  const std::map<std::string, gen_queue>& queues() const { return queues_; }

 private:
  unsigned pick(unsigned n) { return static_cast<unsigned>(rng_() % n); }

  gen_channel* any_channel() {
    if (channels_.empty()) return nullptr;
    auto it = channels_.begin();
    std::advance(it, static_cast<long>(pick(static_cast<unsigned>(channels_.size()))));
    return &it->second;
  }

  static std::string snap(const gen_channel& c) {
    return snapshot("", c.name, c.uid, c.linkedid, c.state, c.cid, c.exten);
  }

  std::vector<std::string> list_items() const {
    std::vector<std::string> out;
    for (const auto& [name, q] : queues_) {
      out.push_back("Event: QueueParams\r\nQueue: " + name +
                    "\r\nMax: 0\r\nStrategy: ringall\r\n"
                    "Calls: " +
                    std::to_string(q.callers.size()) +
                    "\r\nHoldtime: 0\r\n"
                    "TalkTime: 0\r\nCompleted: " +
                    std::to_string(q.completed) + "\r\nAbandoned: " + std::to_string(q.abandoned) +
                    "\r\nServiceLevel: 0\r\nServicelevelPerf: 0.0\r\nServicelevelPerf2: 0.0\r\n"
                    "Weight: 0\r\n");
      for (const auto& [iface, m] : q.members) {
        out.push_back("Event: QueueMember\r\nQueue: " + name + "\r\nName: " + iface +
                      "\r\nLocation: " + iface + "\r\nStateInterface: " + iface +
                      "\r\nMembership: static\r\nPenalty: 0\r\nCallsTaken: " + q.calls_of(iface) +
                      "\r\nLastCall: 0\r\n"
                      "LastPause: 0\r\nLoginTime: 0\r\nInCall: 0\r\nStatus: " +
                      std::to_string(m.first) + "\r\nPaused: " + std::to_string(m.second) +
                      "\r\nPausedReason: \r\nWrapuptime: 0\r\n");
      }
      int pos = 1;
      for (const auto& uid : q.callers) {
        const auto& c = channels_.at(uid);
        out.push_back("Event: QueueEntry\r\nQueue: " + name + "\r\nPosition: " +
                      std::to_string(pos++) + "\r\nChannel: " + c.name + "\r\nUniqueid: " + uid +
                      "\r\nCallerIDNum: " + c.cid + "\r\nCallerIDName: \r\nWait: 1\r\n");
      }
    }
    return out;
  }

  void new_call(std::vector<std::string>& out) {
    const std::string uid = std::to_string(++serial_) + ".1";
    gen_channel a;
    a.name = "PJSIP/a-" + uid;
    a.uid = uid;
    a.linkedid = uid;
    a.cid = std::to_string(200 + pick(50));
    a.state = 4;
    out.push_back("Event: Newchannel\r\n" + snap(a));
    channels_[uid] = a;
    if (pick(3) != 0) {
      const std::string uid2 = std::to_string(serial_) + ".2";
      gen_channel b;
      b.name = "PJSIP/b-" + uid2;
      b.uid = uid2;
      b.linkedid = uid;
      b.cid = a.cid;
      b.state = 0;
      out.push_back("Event: Newchannel\r\n" + snap(b));
      channels_[uid2] = b;
      out.push_back("Event: DialBegin\r\n" + snap(a) +
                    snapshot("Dest", b.name, uid2, uid, 0, a.cid) + "DialString: b\r\n");
      // What Asterisk runs a dialled channel as, which CoreShowChannels then lists.
      auto& dialled = channels_[uid2];
      dialled.app = "AppDial";
      dialled.appdata = "(Outgoing Line)";
    }
  }

  void newstate(gen_channel& c, std::vector<std::string>& out) {
    static const int states[] = {4, 5, 6};
    c.state = states[pick(3)];
    out.push_back("Event: Newstate\r\n" + snap(c));
  }

  void bridge_call(std::vector<std::string>& out) {
    // Two channels not yet in this bridge, possibly moving one out of another (a transfer).
    auto* a = any_channel();
    auto* b = any_channel();
    if (a == nullptr || b == nullptr || a == b) return;
    std::string id = "br" + std::to_string(++serial_);
    if (!a->bridge.empty() && pick(2) == 0) id = a->bridge;
    if (id != a->bridge && bridges_.count(id) == 0) {
      out.push_back("Event: BridgeCreate\r\n" + bridge_block("", id));
      bridges_[id];
    }
    for (gen_channel* c : {a, b}) {
      if (c->bridge == id) continue;
      if (!c->bridge.empty()) leave_bridge(*c, out);
      c->bridge = id;
      bridges_[id].insert(c->uid);
      out.push_back("Event: BridgeEnter\r\n" +
                    bridge_block("", id, static_cast<int>(bridges_[id].size())) + snap(*c));
    }
  }

  void leave_bridge(gen_channel& c, std::vector<std::string>& out) {
    const std::string id = c.bridge;
    bridges_[id].erase(c.uid);
    c.bridge.clear();
    out.push_back("Event: BridgeLeave\r\n" +
                  bridge_block("", id, static_cast<int>(bridges_[id].size())) + snap(c));
    if (bridges_[id].empty()) {
      bridges_.erase(id);
      out.push_back("Event: BridgeDestroy\r\n" + bridge_block("", id));
    }
  }

  void remove_caller(const std::string& qname, const std::string& uid,
                     std::vector<std::string>& out, bool abandon) {
    auto& q = queues_[qname];
    const auto it = std::find(q.callers.begin(), q.callers.end(), uid);
    const int pos = static_cast<int>(it - q.callers.begin()) + 1;
    q.callers.erase(it);
    auto& c = channels_.at(uid);
    if (abandon) {
      ++q.abandoned;
      out.push_back("Event: QueueCallerAbandon\r\n" + snap(c) + "Queue: " + qname +
                    "\r\nPosition: " + std::to_string(pos) +
                    "\r\nOriginalPosition: 1\r\nHoldTime: 3\r\n");
    }
    c.queue.clear();
    out.push_back("Event: QueueCallerLeave\r\n" + snap(c) + "Queue: " + qname + "\r\nPosition: " +
                  std::to_string(pos) + "\r\nCount: " + std::to_string(q.callers.size()) + "\r\n");
  }

  void hangup(const std::string& uid, std::vector<std::string>& out) {
    auto& c = channels_.at(uid);
    if (!c.bridge.empty()) leave_bridge(c, out);
    if (!c.queue.empty()) remove_caller(c.queue, uid, out, true);
    out.push_back("Event: Hangup\r\n" + snap(c) + "Cause: 16\r\n");
    channels_.erase(uid);
  }

  void join_queue(std::vector<std::string>& out) {
    auto* c = any_channel();
    if (c == nullptr || !c->queue.empty()) return;
    const std::string qname = "q" + std::to_string(pick(3));
    auto& q = queues_[qname];
    const bool first = pick(4) == 0;  // a priority caller goes to the front
    const int pos = first ? 1 : static_cast<int>(q.callers.size()) + 1;
    q.callers.insert(q.callers.begin() + (pos - 1), c->uid);
    c->queue = qname;
    out.push_back("Event: QueueCallerJoin\r\n" + snap(*c) + "Queue: " + qname + "\r\nPosition: " +
                  std::to_string(pos) + "\r\nCount: " + std::to_string(q.callers.size()) + "\r\n");
  }

  void leave_queue(std::vector<std::string>& out, bool abandon) {
    const std::string qname = "q" + std::to_string(pick(3));
    auto& q = queues_[qname];
    if (q.callers.empty()) return;
    const std::string uid = q.callers[pick(static_cast<unsigned>(q.callers.size()))];
    if (!abandon) {
      // Answered: the member is connected, the call leaves the queue; completed counts later.
      ++q.completed;
      auto& c = channels_.at(uid);
      const std::string iface = q.members.begin()->first;
      ++q.calls_taken[iface];
      remove_caller(qname, uid, out, false);
      out.push_back("Event: AgentConnect\r\n" + snap(c) + "Queue: " + qname +
                    "\r\nInterface: " + iface + "\r\nMemberName: m\r\nHoldTime: 1\r\n");
      out.push_back("Event: AgentComplete\r\n" + snap(c) + "Queue: " + qname +
                    "\r\nInterface: " + iface + "\r\nMemberName: m\r\nTalkTime: 4\r\n");
      return;
    }
    remove_caller(qname, uid, out, true);
  }

  void member_change(std::vector<std::string>& out) {
    const std::string qname = "q" + std::to_string(pick(3));
    auto& q = queues_[qname];
    auto it = q.members.begin();
    std::advance(it, static_cast<long>(pick(static_cast<unsigned>(q.members.size()))));
    const bool pause = pick(2) == 0;
    if (pause) {
      it->second.second = 1 - it->second.second;
    } else {
      it->second.first = static_cast<int>(1 + pick(6));
    }
    out.push_back(std::string("Event: ") + (pause ? "QueueMemberPause" : "QueueMemberStatus") +
                  "\r\nQueue: " + qname + "\r\nMemberName: " + it->first +
                  "\r\nInterface: " + it->first + "\r\nStateInterface: " + it->first +
                  "\r\nMembership: static\r\nPenalty: 0\r\nCallsTaken: " + q.calls_of(it->first) +
                  "\r\nLastCall: 0\r\n"
                  "LastPause: 0\r\nLoginTime: 0\r\nInCall: 0\r\nStatus: " +
                  std::to_string(it->second.first) +
                  "\r\nPaused: " + std::to_string(it->second.second) +
                  "\r\nPausedReason: \r\nRinginuse: 1\r\nWrapuptime: 0\r\n");
  }

  void device_change(std::vector<std::string>& out) {
    static const char* const states[] = {"NOT_INUSE", "INUSE", "RINGING", "UNAVAILABLE"};
    const std::string d = "PJSIP/d" + std::to_string(pick(8));
    devices_[d] = states[pick(4)];
    out.push_back("Event: DeviceStateChange\r\nDevice: " + d + "\r\nState: " + devices_[d] +
                  "\r\n");
  }

  std::mt19937 rng_;
  int serial_ = 0;
  std::map<std::string, gen_channel> channels_;
  std::map<std::string, std::set<std::string>> bridges_;
  std::map<std::string, gen_queue> queues_;
  std::map<std::string, std::string> devices_;
};

// The model's own consistency.
void check_invariants(const state& s) {
  std::map<std::string, int> bridged;  // uniqueid -> bridges listing it
  s.bridges.for_each([&](const std::string& id, const ami::live::bridge& b) {
    std::set<std::string> seen;
    for (const auto& uid : b.channels) {
      REQUIRE(seen.insert(uid).second);
      ++bridged[uid];
      const auto* c = s.channels.find(uid);
      REQUIRE(c != nullptr);
      REQUIRE(c->bridge == id);
    }
  });
  for (const auto& [uid, n] : bridged) REQUIRE(n == 1);  // never in two bridges
  std::size_t in_calls = 0;
  s.calls.for_each([&](const std::string& id, const ami::live::call& k) {
    REQUIRE_FALSE(k.channels.empty());
    REQUIRE(std::set<std::string>(k.channels.begin(), k.channels.end()).size() ==
            k.channels.size());
    for (const auto& uid : k.channels) {
      const auto* c = s.channels.find(uid);
      REQUIRE(c != nullptr);
      REQUIRE(c->linkedid == id);
    }
    in_calls += k.channels.size();
  });
  REQUIRE(in_calls == s.channels.size());  // every channel in exactly its call
  REQUIRE(s.channel_names.size() == s.channels.size());
  s.channels.for_each([&](const std::string& uid, const ami::live::channel& c) {
    REQUIRE(s.channel_by_name(c.channel) == &c);
    if (!c.bridge.empty()) REQUIRE(bridged[uid] == 1);
    if (!c.queue.empty()) REQUIRE(s.caller(c.queue, uid) != nullptr);
  });
  s.queues.for_each([&](const std::string& name, const ami::live::queue& q) {
    std::set<int> positions;
    q.callers.for_each([&](const std::string& uid, const ami::live::queue_caller& c) {
      positions.insert(c.position);
      const auto* ch = s.channels.find(uid);
      REQUIRE(ch != nullptr);
      REQUIRE(ch->queue == name);
    });
    REQUIRE(positions.size() == q.callers.size());
    if (!positions.empty()) {
      REQUIRE(*positions.begin() == 1);
      REQUIRE(*positions.rbegin() == static_cast<int>(q.callers.size()));
    }
    REQUIRE(q.calls == static_cast<int>(q.callers.size()));
  });
}

// The model against the generator's.
void check_matches(const state& s, const generator& g) {
  REQUIRE(s.channels.size() == g.channels().size());
  for (const auto& [uid, gc] : g.channels()) {
    const auto* c = s.channels.find(uid);
    REQUIRE(c != nullptr);
    REQUIRE(c->channel == gc.name);
    REQUIRE(static_cast<int>(c->state) == gc.state);
    REQUIRE(c->bridge == gc.bridge);
    REQUIRE(c->queue == gc.queue);
    REQUIRE(c->exten == gc.exten);
  }
  REQUIRE(s.bridges.size() == g.bridges().size());
  for (const auto& [id, members] : g.bridges()) {
    const auto* b = s.bridges.find(id);
    REQUIRE(b != nullptr);
    REQUIRE(std::set<std::string>(b->channels.begin(), b->channels.end()) == members);
  }
  for (const auto& [name, gq] : g.queues()) {
    const auto* q = s.queues.find(name);
    REQUIRE(q != nullptr);
    REQUIRE(q->abandoned == gq.abandoned);
    REQUIRE(q->completed == gq.completed);
    REQUIRE(q->callers.size() == gq.callers.size());
    for (std::size_t i = 0; i < gq.callers.size(); ++i) {
      const auto* c = q->callers.find(gq.callers[i]);
      REQUIRE(c != nullptr);
      REQUIRE(c->position == static_cast<int>(i) + 1);
      REQUIRE(c->channel == g.channels().at(gq.callers[i]).name);
    }
    for (const auto& [iface, m] : gq.members) {
      const auto* mem = q->members.find(iface);
      REQUIRE(mem != nullptr);
      REQUIRE(static_cast<int>(mem->status) == m.first);
      REQUIRE(mem->paused == (m.second != 0));
    }
  }
}

// What the lists carry, compared field by field between a synced and a live state.
void check_same_listed(const state& a, const state& b) {
  REQUIRE(a.channels.size() == b.channels.size());
  a.channels.for_each([&](const std::string& uid, const ami::live::channel& c) {
    const auto* o = b.channels.find(uid);
    REQUIRE(o != nullptr);
    CHECK(c.channel == o->channel);
    CHECK(c.linkedid == o->linkedid);
    CHECK(c.state == o->state);
    CHECK(c.caller_id_num == o->caller_id_num);
    CHECK(c.context == o->context);
    CHECK(c.exten == o->exten);
    CHECK(c.priority == o->priority);
    CHECK(c.application == o->application);
    CHECK(c.application_data == o->application_data);
    CHECK(c.bridge == o->bridge);
    CHECK(c.queue == o->queue);
  });
  CHECK(a.channel_names == b.channel_names);
  REQUIRE(a.calls.size() == b.calls.size());
  a.calls.for_each([&](const std::string& id, const ami::live::call& k) {
    const auto* o = b.calls.find(id);
    REQUIRE(o != nullptr);
    CHECK(std::set<std::string>(k.channels.begin(), k.channels.end()) ==
          std::set<std::string>(o->channels.begin(), o->channels.end()));
  });
  REQUIRE(a.bridges.size() == b.bridges.size());
  a.bridges.for_each([&](const std::string& id, const ami::live::bridge& br) {
    const auto* o = b.bridges.find(id);
    REQUIRE(o != nullptr);
    CHECK(std::set<std::string>(br.channels.begin(), br.channels.end()) ==
          std::set<std::string>(o->channels.begin(), o->channels.end()));
  });
  REQUIRE(a.queues.size() == b.queues.size());
  a.queues.for_each([&](const std::string& name, const ami::live::queue& q) {
    const auto* o = b.queues.find(name);
    REQUIRE(o != nullptr);
    CAPTURE(name);
    CHECK(q.calls == o->calls);
    CHECK(q.abandoned == o->abandoned);
    CHECK(q.completed == o->completed);
    // Every member field but last_call, which the model stamps with AgentComplete's arrival
    // while a list has the PBX's own time of the call.
    REQUIRE(q.members.size() == o->members.size());
    q.members.for_each([&](const std::string& iface, const ami::live::queue_member& m) {
      const auto* om = o->members.find(iface);
      REQUIRE(om != nullptr);
      ami::live::queue_member same_time = *om;
      same_time.last_call = m.last_call;
      CHECK(m == same_time);
    });
    REQUIRE(q.callers.size() == o->callers.size());
    q.callers.for_each([&](const std::string& uid, const ami::live::queue_caller& c) {
      const auto* oc = o->callers.find(uid);
      REQUIRE(oc != nullptr);
      CHECK(c.position == oc->position);
      CHECK(c.channel == oc->channel);
    });
  });
  CHECK(a.devices == b.devices);
}

ami::response as_list(const std::vector<std::string>& items) {
  ami::response r;
  r.set_message(wire("Response: Success\r\nActionID: s\r\nEventList: start\r\n"));
  for (const auto& i : items) r.add_event(wire(i));
  r.set_complete(wire("Event: ListComplete\r\nActionID: s\r\nEventList: Complete\r\n"));
  return r;
}

}  // namespace

TEST_CASE("live property: random event sequences keep the invariants and match the truth") {
  for (unsigned seed = 1; seed <= 40; ++seed) {
    CAPTURE(seed);
    generator g(seed);
    reducer r;
    int t = 0;
    for (const auto& e : g.setup_events()) r.apply(wire(e), at(t));
    std::mt19937 noise_rng(seed);
    for (int step = 0; step < 300; ++step) {
      for (const auto& e : g.step()) r.apply(wire(e), at(++t));
      if (noise_rng() % 10 == 0) {
        for (const auto& e : g.noise()) r.apply(wire(e), at(++t));
      }
      check_invariants(r.current());
      check_matches(r.current(), g);
    }
    CHECK(r.anomalies()[ami::live::anomaly::duplicate_channel] == 0);
  }
}

TEST_CASE("live property: a sync started anywhere ends equal to the live state") {
  for (unsigned seed = 1; seed <= 40; ++seed) {
    CAPTURE(seed);
    generator g(seed * 7919);
    std::mt19937 rng(seed);
    // The events of a run, and the lists as they would be at one point of it.
    std::vector<ami::message> events;
    for (const auto& e : g.setup_events()) events.push_back(wire(e));
    const std::size_t setup = events.size();
    const int steps = 200;
    const int begin_step = static_cast<int>(rng() % 200U);
    const int list_step =
        begin_step + static_cast<int>(rng() % static_cast<unsigned>(steps - begin_step));
    std::size_t begin_at = 0;
    std::size_t list_at = 0;
    std::map<list_kind, std::vector<std::string>> lists;
    for (int step = 0; step < steps; ++step) {
      if (step == begin_step) begin_at = events.size();
      if (step == list_step) {
        list_at = events.size();
        lists = g.lists();
      }
      for (const auto& e : g.step()) events.push_back(wire(e));
    }
    // Live: every event. The state before the sync is the live one at some earlier point
    // (what a client had when the connection dropped), the events since then are lost.
    reducer live;
    const std::size_t dropped_at = setup + (begin_at - setup) / 2;
    state before;
    for (std::size_t i = 0; i < events.size(); ++i) {
      if (i == dropped_at) before = live.current();
      live.apply(events[i], at(static_cast<int>(i)));
    }
    ami::live::synchroniser sync;
    sync.begin();
    for (std::size_t i = begin_at; i < list_at; ++i)
      sync.on_event(events[i], at(static_cast<int>(i)));
    for (const auto& [kind, items] : lists) sync.on_list(kind, as_list(items));
    for (std::size_t i = list_at; i < events.size(); ++i) {
      sync.on_event(events[i], at(static_cast<int>(i)));
    }
    ami::live::sync_report report;
    const state synced = sync.finish(before, at(100000), report);
    check_invariants(synced);
    check_same_listed(synced, live.current());
    CHECK(report.replayed == events.size() - begin_at);
    // Every difference from before is reported, and only those.
    const auto changes = ami::live::diff(before, synced);
    CHECK(changes.size() == report.changes.size());
  }
}
