// The live model's cost: events applied per second with 1k, 10k and 100k live channels
// (and 500 queues with 5,000 members), with and without an immutable snapshot taken
// after every event, against a plain mutable model (std::unordered_map, no history) fed
// the same events in the same run; heap bytes per live channel for both; a sync of
// N channels (lists, then buffered events).
//
// The event stream: per channel-sized slice, the call events a busy PBX sends (Newstate,
// Newexten, NewCallerid, VarSet, Hold/Unhold), member and device changes, and churn: new
// calls coming in (Newchannel, BridgeEnter) and others ending (BridgeLeave, Hangup), so that
// the number of live channels stays at N. Events are parsed once, before timing.
#include "ami/live/reducer.hpp"
#include "ami/live/sync.hpp"
#include "ami/message.hpp"
#include "ami/proto/parser.hpp"

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace {

std::atomic<long long> live_bytes{0};

ami::message parse(const std::string& text) {
  ami::proto::parser_options o;
  o.expect_banner = false;
  ami::proto::parser p(o);
  p.feed(text + "\r\n");
  ami::message m;
  if (p.next(m).status != ami::proto::parse_status::message) {
    throw std::runtime_error("bad event text");
  }
  m.make_owned();  // the parser's buffer goes away with it
  return m;
}

std::string snapshot(const std::string& name, const std::string& uid, const std::string& linked,
                     int state, const std::string& exten, int priority) {
  static const char* const names[] = {"Down",    "Rsrvd", "OffHook", "Dialing",         "Ring",
                                      "Ringing", "Up",    "Busy",    "Dialing Offhook", "Pre-ring"};
  return "Channel: " + name + "\r\nChannelState: " + std::to_string(state) +
         "\r\nChannelStateDesc: " + names[state] +
         "\r\nCallerIDNum: 5551000\r\n"
         "CallerIDName: Caller\r\nConnectedLineNum: 100\r\nConnectedLineName: Agent\r\n"
         "Language: en\r\nAccountCode: \r\nContext: default\r\nExten: " +
         exten + "\r\nPriority: " + std::to_string(priority) + "\r\nUniqueid: " + uid +
         "\r\nLinkedid: " + linked + "\r\n";
}

std::string bridge(const std::string& id, int n) {
  return "BridgeUniqueid: " + id +
         "\r\nBridgeType: basic\r\nBridgeTechnology: simple_bridge\r\n"
         "BridgeCreator: <unknown>\r\nBridgeName: <unknown>\r\nBridgeNumChannels: " +
         std::to_string(n) + "\r\nBridgeVideoSourceMode: none\r\n";
}

std::string chan_name(std::size_t call, int leg) {
  return "PJSIP/trunk-" + std::to_string(call) + (leg == 0 ? "a" : "b");
}
std::string uid_of(std::size_t call, int leg) {
  return "1796294736." + std::to_string(call * 2 + static_cast<std::size_t>(leg));
}

// The events that set up one call of two bridged channels.
void call_setup(std::size_t call, std::vector<std::string>& out) {
  const std::string linked = uid_of(call, 0);
  const std::string br = "bridge-" + std::to_string(call);
  out.push_back("Event: Newchannel\r\n" + snapshot(chan_name(call, 0), linked, linked, 4, "s", 1));
  out.push_back("Event: Newchannel\r\n" +
                snapshot(chan_name(call, 1), uid_of(call, 1), linked, 0, "s", 1));
  out.push_back("Event: BridgeCreate\r\n" + bridge(br, 0));
  for (int leg = 0; leg < 2; ++leg) {
    out.push_back("Event: BridgeEnter\r\n" + bridge(br, leg + 1) +
                  snapshot(chan_name(call, leg), uid_of(call, leg), linked, 6, "100", 2));
  }
}

void call_teardown(std::size_t call, std::vector<std::string>& out) {
  const std::string linked = uid_of(call, 0);
  const std::string br = "bridge-" + std::to_string(call);
  for (int leg = 0; leg < 2; ++leg) {
    const auto snap = snapshot(chan_name(call, leg), uid_of(call, leg), linked, 6, "100", 2);
    out.push_back("Event: BridgeLeave\r\n" + bridge(br, 1 - leg) + snap);
    out.push_back("Event: Hangup\r\n" + snap + "Cause: 16\r\nCause-txt: Normal Clearing\r\n");
  }
  out.push_back("Event: BridgeDestroy\r\n" + bridge(br, 0));
}

std::string member(int q, int m, int status, int paused) {
  const std::string iface = "PJSIP/agent" + std::to_string(q * 10 + m);
  return "Queue: queue" + std::to_string(q) + "\r\nMemberName: " + iface +
         "\r\nInterface: " + iface + "\r\nStateInterface: " + iface +
         "\r\nMembership: dynamic\r\nPenalty: 0\r\n"
         "CallsTaken: 3\r\nLastCall: 1796290000\r\nLastPause: 0\r\nLoginTime: 1796280000\r\n"
         "InCall: 0\r\nStatus: " +
         std::to_string(status) + "\r\nPaused: " + std::to_string(paused) +
         "\r\nPausedReason: \r\nRinginuse: 1\r\nWrapuptime: 0\r\n";
}

constexpr int queues = 500;
constexpr int members_per_queue = 10;

struct workload {
  std::vector<ami::message> setup;   // N channels (N/2 calls), queues and members
  std::vector<ami::message> stream;  // the timed events; N stays the same after each pass
};

const workload& load(std::size_t channels) {
  static std::unordered_map<std::size_t, std::unique_ptr<workload>> cache;
  auto& w = cache[channels];
  if (w) return *w;
  w = std::make_unique<workload>();
  std::vector<std::string> text;
  for (int q = 0; q < queues; ++q) {
    text.push_back("Event: QueueParams\r\nQueue: queue" + std::to_string(q) +
                   "\r\nMax: 0\r\nStrategy: ringall\r\nCalls: 0\r\nHoldtime: 0\r\nTalkTime: 0\r\n"
                   "Completed: 0\r\nAbandoned: 0\r\nServiceLevel: 0\r\n");
    for (int m = 0; m < members_per_queue; ++m) {
      text.push_back("Event: QueueMemberAdded\r\n" + member(q, m, 1, 0));
    }
  }
  const std::size_t calls = channels / 2;
  for (std::size_t c = 0; c < calls; ++c) call_setup(c, text);
  for (const auto& t : text) w->setup.push_back(parse(t));
  text.clear();
  // 4,096 events per pass: updates spread over all live calls, and 1 in 16 calls replaced.
  std::size_t next_call = calls;
  std::size_t oldest = 0;
  std::size_t cursor = 0;
  while (text.size() < 4096) {
    const std::size_t c = oldest + (cursor * 7919) % calls;  // a spread of the live calls
    ++cursor;
    const std::string linked = uid_of(c, 0);
    const auto who = [&](int leg, int prio) {
      return snapshot(chan_name(c, leg), uid_of(c, leg), linked, 6, "100", prio);
    };
    text.push_back("Event: Newexten\r\n" + who(0, 3) +
                   "Extension: 100\r\nApplication: Dial\r\nAppData: PJSIP/100\r\n");
    text.push_back("Event: VarSet\r\n" + who(1, 3) + "Variable: BRIDGEPEER\r\nValue: x\r\n");
    text.push_back("Event: Hold\r\n" + who(1, 3) + "MusicClass: default\r\n");
    text.push_back("Event: Unhold\r\n" + who(1, 3));
    text.push_back("Event: Newexten\r\n" + who(0, 2) +
                   "Extension: 100\r\nApplication: Wait\r\nAppData: 5\r\n");
    text.push_back("Event: NewConnectedLine\r\n" + who(1, 2));
    const int q = static_cast<int>(cursor % queues);
    text.push_back("Event: QueueMemberStatus\r\n" +
                   member(q, static_cast<int>(cursor % members_per_queue),
                          static_cast<int>(1 + cursor % 2), 0));
    text.push_back("Event: DeviceStateChange\r\nDevice: PJSIP/agent" +
                   std::to_string(cursor % 5000) +
                   "\r\nState: " + (cursor % 2 == 0 ? "INUSE" : "NOT_INUSE") + "\r\n");
    if (cursor % 16 == 0) {
      call_teardown(oldest, text);
      call_setup(next_call, text);
      ++oldest;
      ++next_call;
    }
  }
  // The pass ends where it began: the new calls end and the old ones come back.
  for (std::size_t c = calls; c < next_call; ++c) call_teardown(c, text);
  for (std::size_t c = 0; c < oldest; ++c) call_setup(c, text);
  for (const auto& t : text) w->stream.push_back(parse(t));
  return *w;
}

ami::live::time_point now() { return ami::live::time_point{} + std::chrono::hours(500000); }

// The baseline: the same events into mutable hash maps, no history, no calls or checks.
struct plain_channel {
  std::string channel, uniqueid, linkedid, caller_id_num, caller_id_name, connected_line_num,
      connected_line_name, context, exten, application, application_data, bridge;
  int state = 0;
  int priority = 0;
  bool on_hold = false;
};

struct plain_model {
  std::unordered_map<std::string, plain_channel> channels;
  std::unordered_map<std::string, std::vector<std::string>> bridges;
  std::unordered_map<std::string, std::pair<int, int>> members;  // queue/iface: status, paused
  std::unordered_map<std::string, std::string> devices;

  static void snap(plain_channel& c, const ami::message& e) {
    c.channel = e.get_or("Channel");
    c.state = std::atoi(std::string(e.get_or("ChannelState")).c_str());
    c.caller_id_num = e.get_or("CallerIDNum");
    c.caller_id_name = e.get_or("CallerIDName");
    c.connected_line_num = e.get_or("ConnectedLineNum");
    c.connected_line_name = e.get_or("ConnectedLineName");
    c.context = e.get_or("Context");
    c.exten = e.get_or("Exten");
    c.priority = std::atoi(std::string(e.get_or("Priority")).c_str());
    c.linkedid = e.get_or("Linkedid");
  }

  void apply(const ami::message& e) {
    const auto name = e.event_name();
    const std::string uid(e.get_or("Uniqueid"));
    if (name == "Newchannel") {
      auto& c = channels[uid];
      c.uniqueid = uid;
      snap(c, e);
    } else if (name == "Hangup") {
      channels.erase(uid);
    } else if (name == "BridgeCreate") {
      bridges[std::string(e.get_or("BridgeUniqueid"))];
    } else if (name == "BridgeDestroy") {
      bridges.erase(std::string(e.get_or("BridgeUniqueid")));
    } else if (name == "BridgeEnter" || name == "BridgeLeave") {
      auto& b = bridges[std::string(e.get_or("BridgeUniqueid"))];
      auto it = channels.find(uid);
      if (it == channels.end()) return;
      snap(it->second, e);
      if (name == "BridgeEnter") {
        b.push_back(uid);
        it->second.bridge = e.get_or("BridgeUniqueid");
      } else {
        b.erase(std::remove(b.begin(), b.end(), uid), b.end());
        it->second.bridge.clear();
      }
    } else if (name == "QueueMemberStatus" || name == "QueueMemberAdded") {
      auto& m = members[std::string(e.get_or("Queue")) + "/" + std::string(e.get_or("Interface"))];
      m.first = std::atoi(std::string(e.get_or("Status")).c_str());
      m.second = std::atoi(std::string(e.get_or("Paused")).c_str());
    } else if (name == "DeviceStateChange") {
      devices[std::string(e.get_or("Device"))] = e.get_or("State");
    } else if (auto it = channels.find(uid); it != channels.end()) {
      snap(it->second, e);
      if (name == "Newexten") {
        it->second.application = e.get_or("Application");
        it->second.application_data = e.get_or("AppData");
      } else if (name == "Hold" || name == "Unhold") {
        it->second.on_hold = name == "Hold";
      }
    }
  }
};

void live_apply(benchmark::State& state, bool snapshot_each) {
  const auto& w = load(static_cast<std::size_t>(state.range(0)));
  ami::live::reducer r;
  for (const auto& e : w.setup) r.apply(e, now());
  const std::size_t live = r.current().channels.size();
  std::shared_ptr<const ami::live::state> held;
  std::size_t events = 0;
  for (auto _ : state) {
    for (const auto& e : w.stream) {
      benchmark::DoNotOptimize(r.apply(e, now()).size());
      // What a reader gets from state.snapshot(): the previous one is dropped when the
      // next is taken, so every event must copy its path rather than change in place.
      if (snapshot_each) held = std::make_shared<const ami::live::state>(r.current());
    }
    events += w.stream.size();
  }
  if (r.current().channels.size() != live || r.anomalies().total() != 0) {
    state.SkipWithError("the stream did not return to its start, or raised anomalies");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(events));
  state.counters["channels"] = static_cast<double>(live);
}

void live_apply_plain(benchmark::State& state) { live_apply(state, false); }
void live_apply_snapshot_each(benchmark::State& state) { live_apply(state, true); }

void baseline_unordered_map(benchmark::State& state) {
  const auto& w = load(static_cast<std::size_t>(state.range(0)));
  plain_model m;
  for (const auto& e : w.setup) m.apply(e);
  std::size_t events = 0;
  for (auto _ : state) {
    for (const auto& e : w.stream) m.apply(e);
    benchmark::DoNotOptimize(m.channels.size());
    events += w.stream.size();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(events));
  state.counters["channels"] = static_cast<double>(m.channels.size());
}

// Heap bytes held per live channel (with its call and bridge share), the queues excluded.
void memory_per_channel(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const auto& w = load(n);
  std::vector<ami::message> calls_only;
  for (const auto& e : w.setup) {
    const auto name = e.event_name();
    if (name != "QueueParams" && name != "QueueMemberAdded") calls_only.push_back(e);
  }
  double live_per = 0;
  double plain_per = 0;
  for (auto _ : state) {
    const long long before = live_bytes.load();
    {
      auto r = std::make_unique<ami::live::reducer>();
      for (const auto& e : calls_only) r->apply(e, now());
      live_per = static_cast<double>(live_bytes.load() - before) / static_cast<double>(n);
      const long long mid = live_bytes.load();
      auto m = std::make_unique<plain_model>();
      for (const auto& e : calls_only) m->apply(e);
      plain_per = static_cast<double>(live_bytes.load() - mid) / static_cast<double>(n);
    }
  }
  state.counters["live_bytes_per_channel"] = live_per;
  state.counters["plain_bytes_per_channel"] = plain_per;
}

// A sync of N channels: CoreShowChannels and BridgeList items, then 1,000 buffered events.
void sync_channels(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const auto& w = load(n);
  ami::live::reducer r;
  for (const auto& e : w.setup) r.apply(e, now());
  ami::response channels;
  ami::response bridges;
  channels.set_message(parse("Response: Success\r\nActionID: 1\r\nEventList: start\r\n"));
  bridges.set_message(parse("Response: Success\r\nActionID: 2\r\nEventList: start\r\n"));
  r.current().channels.for_each([&](const std::string&, const ami::live::channel& c) {
    channels.add_event(parse("Event: CoreShowChannel\r\nActionID: 1\r\n" +
                             snapshot(c.channel, c.uniqueid, c.linkedid, 6, c.exten, c.priority) +
                             "Application: Dial\r\nApplicationData: PJSIP/100\r\n"
                             "Duration: 00:01:00\r\nBridgeId: " +
                             c.bridge + "\r\n"));
  });
  r.current().bridges.for_each([&](const std::string& id, const ami::live::bridge& b) {
    bridges.add_event(parse("Event: BridgeListItem\r\nActionID: 2\r\n" +
                            bridge(id, static_cast<int>(b.channels.size()))));
  });
  const ami::live::state before = r.current();
  for (auto _ : state) {
    ami::live::synchroniser s;
    s.begin();
    for (std::size_t i = 0; i < 1000 && i < w.stream.size(); ++i) s.on_event(w.stream[i], now());
    s.on_list(ami::live::list_kind::channels, channels);
    s.on_list(ami::live::list_kind::bridges, bridges);
    ami::live::sync_report report;
    auto after = s.finish(before, now(), report);
    benchmark::DoNotOptimize(after.channels.size());
    benchmark::DoNotOptimize(report.changes.size());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(n));
}

BENCHMARK(live_apply_plain)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(live_apply_snapshot_each)
    ->Arg(1000)
    ->Arg(10000)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(baseline_unordered_map)
    ->Arg(1000)
    ->Arg(10000)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(memory_per_channel)->Arg(10000)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(sync_channels)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace

// Counting replacements of the global allocation functions: live heap bytes, as the
// allocator reports each block's usable size. g++ flags free() inside a replacement
// operator delete as a mismatch, which it is not: operator new got the memory from malloc().
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
namespace {
long long block_size(void* p) noexcept {
#if defined(__GLIBC__)
  return static_cast<long long>(malloc_usable_size(p));
#else
  (void)p;
  return 0;
#endif
}
}  // namespace
void* operator new(std::size_t n) {
  if (void* p = std::malloc(n == 0 ? 1 : n)) {
    live_bytes.fetch_add(block_size(p), std::memory_order_relaxed);
    return p;
  }
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  if (p != nullptr) live_bytes.fetch_sub(block_size(p), std::memory_order_relaxed);
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }

BENCHMARK_MAIN();
