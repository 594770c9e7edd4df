// The central property of ami::live: for random call-center scenarios on the simulated PBX
// (queue calls answered and abandoned, member pauses and changes, holds, blind and attended
// transfers, parked calls, conference rooms, agents, renames, registrations, reconnects),
// the state kept live from events equals, field by field, the state a fresh sync builds
// from scratch; and once every call ended nothing is left of them.
//
// AMI_LIVE_SEEDS=N runs N seeds (default 20); AMI_LIVE_SEED=S runs seed S alone.
#include "ami/live/pbx.hpp"
#include "client_support.hpp"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using ami::live::state;
using ami::test::run_until;
using namespace std::chrono_literals;

namespace {

// ---- field-by-field comparison ---------------------------------------------------------
//
// Left out, because no list reports them and a fresh sync cannot know them: a channel's
// hold state and music class; a call's answer time, queue, member and first extension, and
// its caller id and start once its originating channel is gone; a queue's hold and talk
// time (no event updates them); when a channel was answered (a sync stamps its own time).
// Times a list gives in whole seconds (created, joined, parked, logged in) are compared
// within 3 s.

class differ {
 public:
  std::vector<std::string> diffs;

  template <class T>
  void same(const std::string& what, const T& live, const T& fresh) {
    if (live == fresh) return;
    std::ostringstream o;
    o << what << ": live " << printable(live) << ", fresh " << printable(fresh);
    diffs.push_back(o.str());
  }
  void near(const std::string& what, ami::live::time_point live, ami::live::time_point fresh) {
    const auto d = live > fresh ? live - fresh : fresh - live;
    if (d > 3s) diffs.push_back(what + ": times " + std::to_string(ms(d)) + " ms apart");
  }
  void near(const std::string& what, long long live, long long fresh) {
    if (std::llabs(live - fresh) > 3) same(what, live, fresh);
  }

  template <class Map, class F>
  void maps(const std::string& what, const Map& live, const Map& fresh, F&& each) {
    live.for_each([&](const std::string& k, const auto& v) {
      const auto* other = fresh.find(k);
      if (other == nullptr) {
        diffs.push_back(what + " " + k + ": only live");
      } else {
        each(what + " " + k, v, *other);
      }
    });
    fresh.for_each([&](const std::string& k, const auto&) {
      if (!live.contains(k)) diffs.push_back(what + " " + k + ": only fresh");
    });
  }

 private:
  static long long ms(std::chrono::system_clock::duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  }
  template <class T>
  static std::string printable(const T& v) {
    if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      std::string out = "[";
      for (const auto& s : v) out += s + " ";
      return out + "]";
    } else if constexpr (std::is_enum_v<T>) {
      return std::to_string(static_cast<int>(v));
    } else if constexpr (std::is_same_v<T, std::optional<long long>>) {
      return v ? std::to_string(*v) : "none";
    } else {
      std::ostringstream o;
      o << v;
      return o.str();
    }
  }
};

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<std::string> compare(const state& live, const state& fresh) {
  differ d;
  d.maps("channel", live.channels, fresh.channels,
         [&](const std::string& w, const auto& a, const auto& b) {
           d.same(w + " name", a.channel, b.channel);
           d.same(w + " linkedid", a.linkedid, b.linkedid);
           d.same(w + " state", a.state, b.state);
           d.same(w + " caller_id_num", a.caller_id_num, b.caller_id_num);
           d.same(w + " caller_id_name", a.caller_id_name, b.caller_id_name);
           d.same(w + " connected_line_num", a.connected_line_num, b.connected_line_num);
           d.same(w + " connected_line_name", a.connected_line_name, b.connected_line_name);
           d.same(w + " account_code", a.account_code, b.account_code);
           d.same(w + " language", a.language, b.language);
           d.same(w + " context", a.context, b.context);
           d.same(w + " exten", a.exten, b.exten);
           d.same(w + " priority", a.priority, b.priority);
           d.same(w + " application", a.application, b.application);
           d.same(w + " application_data", a.application_data, b.application_data);
           d.same(w + " bridge", a.bridge, b.bridge);
           d.same(w + " queue", a.queue, b.queue);
           d.near(w + " created", a.created, b.created);
           // A sync stamps a channel it first sees Up with its own time: only whether it was.
           d.same(w + " answered", a.answered.has_value(), b.answered.has_value());
         });
  d.maps("channel name", live.channel_names, fresh.channel_names,
         [&](const std::string& w, const auto& a, const auto& b) { d.same(w, a, b); });
  d.maps("call", live.calls, fresh.calls, [&](const std::string& w, const auto& a, const auto& b) {
    d.same(w + " channels", sorted(a.channels), sorted(b.channels));
    if (live.channels.contains(a.linkedid)) {
      d.same(w + " caller_id_num", a.caller_id_num, b.caller_id_num);
      d.same(w + " caller_id_name", a.caller_id_name, b.caller_id_name);
      d.same(w + " connected_line_num", a.connected_line_num, b.connected_line_num);
      d.same(w + " connected_line_name", a.connected_line_name, b.connected_line_name);
      d.near(w + " started", a.started, b.started);
    }
  });
  d.maps("bridge", live.bridges, fresh.bridges,
         [&](const std::string& w, const auto& a, const auto& b) {
           d.same(w + " type", a.bridge_type, b.bridge_type);
           d.same(w + " technology", a.bridge_technology, b.bridge_technology);
           d.same(w + " creator", a.bridge_creator, b.bridge_creator);
           d.same(w + " name", a.bridge_name, b.bridge_name);
           d.same(w + " video", a.bridge_video_source_mode, b.bridge_video_source_mode);
           d.same(w + " channels", sorted(a.channels), sorted(b.channels));
         });
  d.maps("queue", live.queues, fresh.queues,
         [&](const std::string& w, const auto& a, const auto& b) {
           d.same(w + " strategy", a.strategy, b.strategy);
           d.same(w + " max", a.max, b.max);
           d.same(w + " weight", a.weight, b.weight);
           d.same(w + " calls", a.calls, b.calls);
           d.same(w + " completed", a.completed, b.completed);
           d.same(w + " abandoned", a.abandoned, b.abandoned);
           d.same(w + " service_level", a.service_level, b.service_level);
           d.maps(w + " member", a.members, b.members,
                  [&](const std::string& mw, const auto& x, const auto& y) {
                    d.same(mw + " name", x.name, y.name);
                    d.same(mw + " state_interface", x.state_interface, y.state_interface);
                    d.same(mw + " membership", x.membership, y.membership);
                    d.same(mw + " status", x.status, y.status);
                    d.same(mw + " paused", x.paused, y.paused);
                    d.same(mw + " paused_reason", x.paused_reason, y.paused_reason);
                    d.same(mw + " penalty", x.penalty, y.penalty);
                    d.same(mw + " calls_taken", x.calls_taken, y.calls_taken);
                    d.near(mw + " last_call", x.last_call, y.last_call);
                    d.same(mw + " last_pause", x.last_pause, y.last_pause);
                    d.same(mw + " login_time", x.login_time, y.login_time);
                    d.same(mw + " in_call", x.in_call, y.in_call);
                    d.same(mw + " wrapup_time", x.wrapup_time, y.wrapup_time);
                  });
           d.maps(w + " caller", a.callers, b.callers,
                  [&](const std::string& cw, const auto& x, const auto& y) {
                    d.same(cw + " channel", x.channel, y.channel);
                    d.same(cw + " position", x.position, y.position);
                    d.same(cw + " caller_id_num", x.caller_id_num, y.caller_id_num);
                    d.same(cw + " caller_id_name", x.caller_id_name, y.caller_id_name);
                    d.near(cw + " joined", x.joined, y.joined);
                  });
         });
  d.maps("agent", live.agents, fresh.agents,
         [&](const std::string& w, const auto& a, const auto& b) {
           d.same(w + " name", a.name, b.name);
           d.same(w + " status", a.status, b.status);
           d.same(w + " channel", a.channel, b.channel);
           d.same(w + " talking_to", a.talking_to, b.talking_to);
           d.same(w + " logged in", a.logged_in_time.has_value(), b.logged_in_time.has_value());
           if (a.logged_in_time && b.logged_in_time) {
             d.near(w + " logged_in_time", *a.logged_in_time, *b.logged_in_time);
           }
         });
  d.maps("device", live.devices, fresh.devices,
         [&](const std::string& w, const auto& a, const auto& b) { d.same(w, a.state, b.state); });
  d.maps("extension", live.extensions, fresh.extensions,
         [&](const std::string& w, const auto& a, const auto& b) {
           d.same(w + " hint", a.hint, b.hint);
           d.same(w + " status", a.status, b.status);
           d.same(w + " status_text", a.status_text, b.status_text);
         });
  d.maps("parked", live.parked, fresh.parked,
         [&](const std::string& w, const auto& a, const auto& b) {
           d.same(w + " channel", a.parkee_channel, b.parkee_channel);
           d.same(w + " lot", a.parking_lot, b.parking_lot);
           d.same(w + " space", a.parking_space, b.parking_space);
           d.same(w + " parker", a.parker_dial_string, b.parker_dial_string);
           d.near(w + " parked_at", a.parked_at, b.parked_at);
           d.near(w + " expires", a.expires, b.expires);
         });
  d.maps("conference", live.conferences, fresh.conferences,
         [&](const std::string& w, const auto& a, const auto& b) {
           d.same(w + " parties", a.parties, b.parties);
           d.same(w + " locked", a.locked, b.locked);
           d.same(w + " muted", a.muted, b.muted);
           d.same(w + " users", a.users, b.users);
         });
  return d.diffs;
}

// ---- the scenario ----------------------------------------------------------------------

ami::testing::pbx_config scenario_pbx() {
  using ami::testing::behaviour;
  ami::testing::pbx_config c;
  c.time_unit = 10ms;
  c.step = 1ms;
  c.parking_timeout = 100000;  // parked calls time out only when a park asks for it
  for (const char* name : {"trunk", "200", "201", "202", "203", "204", "205", "206"}) {
    ami::testing::endpoint e;
    e.name = name;
    c.endpoints.push_back(e);
  }
  c.extensions = {
      {"q1", "default", behaviour::queue, "sales", 0, ""},
      {"q2", "default", behaviour::queue, "support", 0, ""},
      {"conf", "default", behaviour::conference, "room1", 0, ""},
      {"ann", "default", behaviour::playback, "thanks", 100000, ""},
      {"echo", "default", behaviour::echo, "", 0, ""},
      {"d205", "default", behaviour::dial, "PJSIP/205", 0, ""},
      {"200", "default", behaviour::echo, "", 0, "PJSIP/200"},
      {"201", "default", behaviour::echo, "", 0, "PJSIP/201"},
      {"206", "default", behaviour::echo, "", 0, "PJSIP/206"},
  };
  ami::testing::queue sales;
  sales.name = "sales";
  sales.members = {{"PJSIP/200", "Ann"}, {"PJSIP/201", "Bob"}};
  ami::testing::queue support;
  support.name = "support";
  support.strategy = "rrmemory";
  support.members = {{"PJSIP/202", "Cat"}, {"PJSIP/203", "Dan", 1, true, "lunch"}};
  c.queues = {sales, support};
  c.agents = {{"1001", "Eve"}, {"1002", "Fay"}};
  return c;
}

std::string device_of(const std::string& channel) { return channel.substr(0, channel.rfind('-')); }

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

struct scenario {
  explicit scenario(unsigned seed, const char* version) : rng(seed) {
    ami::testing::server_options o;
    o.ami_version = version;
    o.pbx = scenario_pbx();
    srv = std::make_unique<ami::testing::server>(o);
    srv->start();
    cfg = ami::config::from_url(srv->url());
    cfg.connect_timeout = cfg.login_timeout = cfg.action_timeout = 5s;
    cfg.reconnect_initial = 1ms;
    cfg.reconnect_max = 5ms;
    events_sub = c.on_event([this](const ami::event&) { ++events; });
  }
  ~scenario() {
    live.reset();
    c.close();
    run_until(
        io, [&] { return run_done; }, 5s);
  }

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }

  template <class Pred>
  std::vector<ami::testing::channel_info> channels(Pred&& p) {
    std::vector<ami::testing::channel_info> out;
    for (auto& ch : srv->channels()) {
      if (p(ch)) out.push_back(ch);
    }
    return out;
  }
  template <class Pred>
  std::optional<ami::testing::channel_info> any(Pred&& p) {
    auto v = channels(std::forward<Pred>(p));
    if (v.empty()) return std::nullopt;
    return v[static_cast<std::size_t>(pick(static_cast<int>(v.size())))];
  }

  // Lets the scenario run on: until the client has seen a few more events or a short
  // deadline passed (an operation that changed nothing sends none).
  void progress() {
    const auto target = events + static_cast<std::size_t>(pick(4));
    run_until(
        io, [&] { return events >= target; }, 15ms);
  }

  // One random operation of a call center.
  void step() {
    const auto bridged_member = [](const ami::testing::channel_info& ch) {
      return ch.state == 6 && !ch.bridge.empty() && starts_with(ch.name, "PJSIP/20");
    };
    const auto queued_caller = [](const ami::testing::channel_info& ch) {
      return starts_with(ch.name, "PJSIP/trunk") && ch.application == "Queue" && !ch.bridge.empty();
    };
    switch (pick(20)) {
      case 0:
      case 1:
      case 2:
      case 3:
        srv->incoming_call("PJSIP/trunk", pick(2) == 0 ? "q1" : "q2", "default",
                           "555" + std::to_string(1000 + pick(9000)));
        break;
      case 4: srv->incoming_call("PJSIP/trunk", pick(3) == 0 ? "echo" : "conf"); break;
      case 5:
      case 6:
        if (auto ch = any([](const auto& x) { return x.name.find("Local/") != 0; })) {
          srv->hangup(ch->name);
        }
        break;
      case 7: {
        const char* members[] = {"PJSIP/200", "PJSIP/201", "PJSIP/202", "PJSIP/203"};
        const std::string m = members[pick(4)];
        const std::string q = m < "PJSIP/202" ? "sales" : "support";
        srv->queue_pause(q, m, pick(2) == 0, pick(2) == 0 ? "break" : "");
        break;
      }
      case 8:
        if (!srv->queue_add("sales", {"PJSIP/204", "Gus", pick(3)})) {
          srv->queue_remove("sales", "PJSIP/204");
        }
        break;
      case 9:
        if (auto ch = any(bridged_member)) {
          if (!srv->hold(ch->name)) srv->unhold(ch->name);
        }
        break;
      case 10:
        if (auto ch = any(bridged_member)) {
          srv->blind_transfer(ch->name, pick(2) == 0 ? "ann" : "q2");
        }
        break;
      case 11:
        if (auto ch = any(queued_caller)) srv->park(ch->name, pick(3) == 0 ? 3 : 0);
        break;
      case 12: {
        const auto p = srv->parked();
        if (!p.empty())
          srv->pickup_parked(p[static_cast<std::size_t>(pick(static_cast<int>(p.size())))].space,
                             "PJSIP/204");
        break;
      }
      case 13:
        if (auto ch = any([&](const auto& x) {
              return bridged_member(x) && !x.on_hold && x.name < "PJSIP/204";
            })) {
          srv->hold(ch->name);
          consults.emplace_back(ch->name, srv->incoming_call(device_of(ch->name), "d205"));
        }
        break;
      case 14:
        if (!consults.empty()) {
          const auto [first, second] = consults.back();
          consults.pop_back();
          if (!srv->attended_transfer(first, second)) srv->hangup(second);
        }
        break;
      case 15:
        if (auto ch = any([](const auto& x) { return starts_with(x.name, "PJSIP/trunk-"); })) {
          srv->rename(ch->name, "PJSIP/trunk-r" + std::to_string(renames++) + ch->name.substr(12));
        }
        break;
      case 16: {
        const std::string agent = pick(2) == 0 ? "1001" : "1002";
        if (srv->agent_login(agent, "PJSIP/206").empty()) srv->agent_logoff(agent);
        break;
      }
      case 17: srv->set_endpoint_online("PJSIP/206", pick(2) == 0); break;
      case 18:
        if (reconnects < 2 && pick(3) == 0) {
          ++reconnects;
          srv->close_sessions();
        }
        break;
      default:
        if (auto ch = any([](const auto& x) { return x.on_hold; })) srv->unhold(ch->name);
        break;
    }
    progress();
  }

  // A client that syncs from scratch, its state once synced.
  std::shared_ptr<const state> fresh_sync() {
    ami::client c2{io};
    auto p2 = std::make_unique<ami::live::pbx>(c2);
    bool connected = false;
    c2.async_connect(cfg, [&](boost::system::error_code ec) { connected = !ec; });
    std::shared_ptr<const state> out;
    if (run_until(
            io, [&] { return connected && p2->synced(); }, 5s))
      out = p2->snapshot();
    p2.reset();
    c2.close();
    run_until(
        io, [&] { return c2.state() == ami::connection_state::disconnected; }, 2s);
    return out;
  }

  // Waits (within a deadline) until the live state equals a fresh sync's; the last
  // differences otherwise.
  std::vector<std::string> converge() {
    std::vector<std::string> diffs{"never synced"};
    const auto end = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < end) {
      if (!run_until(
              io, [&] { return live->synced(); }, 2s))
        continue;
      const auto fresh = fresh_sync();
      if (!fresh) continue;
      // A Ping answered on the live session comes after every event sent before it, and so
      // after every event that the fresh lists reflect.
      bool pong = false;
      c.async_send(ami::action("Ping"), {},
                   [&](boost::system::error_code, const ami::response&) { pong = true; });
      if (!run_until(
              io, [&] { return pong; }, 2s) ||
          !live->synced())
        continue;
      diffs = compare(*live->snapshot(), *fresh);
      if (diffs.empty()) return diffs;
      run_until(
          io, [] { return false; }, 5ms);  // let what is still moving move
    }
    return diffs;
  }

  void hang_up_everything() {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      const auto all = srv->channels();
      if (all.empty()) return;
      for (const auto& ch : all) srv->hangup(ch.name);
      run_until(
          io, [&] { return srv->channels().empty(); }, 50ms);
    }
  }

  std::mt19937 rng;
  boost::asio::io_context io;
  std::unique_ptr<ami::testing::server> srv;
  ami::config cfg;
  ami::client c{io};
  std::unique_ptr<ami::live::pbx> live = std::make_unique<ami::live::pbx>(c);
  boost::signals2::scoped_connection events_sub;
  std::size_t events = 0;
  bool run_done = false;
  int reconnects = 0;
  int renames = 0;
  std::vector<std::pair<std::string, std::string>> consults;
};

unsigned env_number(const char* name, unsigned fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? static_cast<unsigned>(std::strtoul(v, nullptr, 10))
                                    : fallback;
}

void report(const std::vector<std::string>& diffs) {
  for (std::size_t i = 0; i < diffs.size() && i < 25; ++i) MESSAGE(diffs[i]);
}

}  // namespace

TEST_CASE(
    "live property: random call-center scenarios end with the live state equal to a fresh sync") {
  std::vector<unsigned> seeds;
  if (const char* one = std::getenv("AMI_LIVE_SEED"); one != nullptr && *one != '\0') {
    seeds.push_back(env_number("AMI_LIVE_SEED", 1));
  } else {
    for (unsigned i = 1; i <= env_number("AMI_LIVE_SEEDS", 20); ++i) seeds.push_back(i);
  }
  for (const unsigned seed : seeds) {
    const char* version = seed % 2 == 0 ? "7.0.3" : "13.0.0";  // Asterisk 18 and master
    CAPTURE(seed);
    CAPTURE(version);
    scenario s(seed, version);
    s.c.async_run(s.cfg, [&](boost::system::error_code) { s.run_done = true; });
    REQUIRE(run_until(s.io, [&] { return s.live->synced(); }));
    const int steps = 20 + s.pick(15);
    for (int i = 0; i < steps; ++i) s.step();

    // With calls up: callers waiting, members talking, calls parked and on hold.
    auto diffs = s.converge();
    report(diffs);
    CHECK(diffs.empty());

    s.hang_up_everything();
    REQUIRE(s.srv->channels().empty());
    diffs = s.converge();
    report(diffs);
    CHECK(diffs.empty());
    const auto left = s.live->snapshot();
    CHECK(left->channels.empty());
    CHECK(left->channel_names.empty());
    CHECK(left->calls.empty());
    CHECK(left->bridges.empty());
    CHECK(left->parked.empty());
    CHECK(left->conferences.empty());
    // Exactly the members the PBX has, and no caller anywhere.
    for (const auto& q : s.srv->queues()) {
      const auto* mine = left->queues.find(q.name);
      REQUIRE(mine != nullptr);
      std::set<std::string> want, have;
      for (const auto& m : q.members) want.insert(m.interface);
      mine->members.for_each([&](const std::string& k, const auto&) { have.insert(k); });
      CHECK(have == want);
      CHECK(mine->callers.empty());
      CHECK(mine->calls == 0);
    }
    CHECK(left->queues.size() == s.srv->queues().size());
    if (diffs.size() > 0) break;  // one failing seed says enough
  }
}
