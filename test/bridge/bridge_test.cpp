// ami-bridge end to end: simulated PBXs -> the bridge -> a real nats-server (JetStream) ->
// a consumer in the test. Every wait has a deadline.
#include "bridge_support.hpp"

#include <algorithm>
#include <set>

using namespace std::chrono_literals;
using ami::test::bridge_cfg;
using ami::test::bridge_runner;
using ami::test::eventually;
using ami::test::iota;
using ami::test::nats_server;
using ami::test::push_user_events;
using ami::test::start_pbxs;
using ami::test::stored;
using ami::test::stream_reader;
using ami::test::text;

namespace {

bool is_state(const stored& s, const std::string& pbx, const std::string& state) {
  return s.pbx == pbx && s.kind == "state" && text(s.body, "state") == state;
}

std::size_t states(const stream_reader& r, const std::string& pbx, const std::string& state) {
  return static_cast<std::size_t>(std::count_if(
      r.all.begin(), r.all.end(), [&](const stored& s) { return is_state(s, pbx, state); }));
}

std::vector<stored> gaps(const stream_reader& r, const std::string& pbx) {
  std::vector<stored> out;
  for (const auto& s : r.all) {
    if (s.pbx == pbx && s.kind == "gap") out.push_back(s);
  }
  return out;
}

std::uint64_t number(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64()) return static_cast<std::uint64_t>(v->get_int64());
  return 0;
}

// Every event of a PBX carries its session and a sequence from 1 without holes per session,
// and the Nats-Msg-Id made each stored once.
void check_sequences(const stream_reader& r, const std::string& pbx) {
  std::map<std::string, std::uint64_t> last;
  for (const auto& s : r.all) {
    if (s.pbx != pbx || s.kind != "event") continue;
    CAPTURE(s.session);
    REQUIRE_FALSE(s.session.empty());
    CHECK(s.seq == last[s.session] + 1);
    last[s.session] = s.seq;
    CHECK(s.subject == "ami." + pbx + ".event.UserEvent");
  }
}

}  // namespace

TEST_SUITE("bridge") {
  TEST_CASE("three PBXs: every event once and in order, across a PBX restart") {
    nats_server nats;
    auto pbxs = start_pbxs(3);
    bridge_runner br(bridge_cfg(nats, pbxs));
    REQUIRE(br.start_ok());
    INFO("log of br:\n" << br.log_text());
    stream_reader r(nats.url());
    REQUIRE(r.read_until([&] {
      return states(r, "pbx0", "up") == 1 && states(r, "pbx1", "up") == 1 &&
             states(r, "pbx2", "up") == 1;
    }));
    constexpr int n = 200;
    for (auto& p : pbxs) push_user_events(*p, 0, n);
    REQUIRE(r.read_until([&] {
      return r.user_seqs("pbx0").size() >= n && r.user_seqs("pbx1").size() >= n &&
             r.user_seqs("pbx2").size() >= n;
    }));
    for (const char* pbx : {"pbx0", "pbx1", "pbx2"}) {
      CAPTURE(pbx);
      CHECK(r.user_seqs(pbx) == iota(0, n));
    }

    // pbx1 restarts: a gap marker for the session that ended, the states, a new session.
    const std::string first_session = r.all.back().pbx.empty() ? "" : [&] {
      for (const auto& s : r.all) {
        if (s.pbx == "pbx1" && s.kind == "event") return s.session;
      }
      return std::string();
    }();
    pbxs[1]->stop();
    pbxs[1]->start();
    REQUIRE(r.read_until([&] { return states(r, "pbx1", "up") == 2; }));
    push_user_events(*pbxs[1], n, 50);
    push_user_events(*pbxs[0], n, 10);
    REQUIRE(r.read_until([&] {
      return r.user_seqs("pbx1").size() >= n + 50 && r.user_seqs("pbx0").size() >= n + 10;
    }));
    CHECK(r.user_seqs("pbx1") == iota(0, n + 50));
    CHECK(r.user_seqs("pbx0") == iota(0, n + 10));
    CHECK(r.user_seqs("pbx2") == iota(0, n));
    const auto g = gaps(r, "pbx1");
    REQUIRE(g.size() == 1);
    CHECK(text(g[0].body, "reason") == "session_ended");
    CHECK(text(g[0].body, "session") == first_session);
    CHECK(number(g[0].body, "last_seq") == n);
    CHECK(text(g[0].body, "error") == "connection_lost");
    CHECK(states(r, "pbx1", "backing_off") + states(r, "pbx1", "down") >= 1);
    CHECK(gaps(r, "pbx0").empty());
    // The gap marker comes after the old session's last event and before the new one's first.
    std::vector<std::string> order;
    for (const auto& s : r.all) {
      if (s.pbx == "pbx1" && (s.kind == "gap" || s.kind == "event")) {
        if (order.empty() || order.back() != s.kind + s.session)
          order.push_back(s.kind + s.session);
      }
    }
    CHECK(order.size() == 3);
    for (const char* pbx : {"pbx0", "pbx1", "pbx2"}) check_sequences(r, pbx);
    CHECK(br.get().stats().acknowledged >= 3 * n);
    CHECK(br.get().stats().dropped == 0);
    CHECK(br.stop());
  }

  TEST_CASE("nats-server killed and restarted on its store: nothing lost within the buffer") {
    nats_server nats;
    auto pbxs = start_pbxs(2);
    auto cfg = bridge_cfg(nats, pbxs);
    cfg.lease_ttl = 5s;  // the outage must not cost the lease
    bridge_runner br(cfg);
    REQUIRE(br.start_ok());
    INFO("log of br:\n" << br.log_text());
    {
      stream_reader r(nats.url());
      REQUIRE(r.read_until(
          [&] { return states(r, "pbx0", "up") == 1 && states(r, "pbx1", "up") == 1; }));
      push_user_events(*pbxs[0], 0, 100);
      push_user_events(*pbxs[1], 0, 100);
      // The first arrived: most of the rest is on the wire or waiting for its acknowledgement.
      REQUIRE(r.read_until([&] { return !r.user_seqs("pbx0").empty(); }));
    }
    nats.kill_now();
    push_user_events(*pbxs[0], 100, 100);
    push_user_events(*pbxs[1], 100, 100);
    REQUIRE(eventually([&] { return br.get().stats().events == 400; }));
    nats.start();
    stream_reader r(nats.url());
    REQUIRE(r.read_until(
        [&] { return r.user_seqs("pbx0").size() >= 200 && r.user_seqs("pbx1").size() >= 200; }));
    CHECK(r.user_seqs("pbx0") == iota(0, 200));
    CHECK(r.user_seqs("pbx1") == iota(0, 200));
    check_sequences(r, "pbx0");
    check_sequences(r, "pbx1");
    CHECK(gaps(r, "pbx0").empty());
    CHECK(br.get().stats().dropped == 0);
    CHECK(br.logged("NATS disconnected"));
    CHECK(br.stop());
  }

  TEST_CASE("buffer full while NATS is down, drop policy: counted, then a gap marker") {
    nats_server nats;
    auto pbxs = start_pbxs(1);
    auto cfg = bridge_cfg(nats, pbxs);
    cfg.lease_ttl = 5s;
    cfg.buffer = 20;
    cfg.overflow = ami::bridge::overflow_policy::drop;
    bridge_runner br(cfg);
    REQUIRE(br.start_ok());
    INFO("log of br:\n" << br.log_text());
    {
      stream_reader r(nats.url());
      REQUIRE(r.read_until([&] { return states(r, "pbx0", "up") == 1; }));
      push_user_events(*pbxs[0], 0, 10);
      REQUIRE(r.read_until([&] { return r.user_seqs("pbx0").size() >= 10; }));
      REQUIRE(eventually([&] { return br.get().stats().buffered == 0; }));
    }
    nats.kill_now();
    push_user_events(*pbxs[0], 10, 50);
    REQUIRE(eventually([&] { return br.get().stats().events == 60; }));
    CHECK(br.get().stats().dropped == 30);
    nats.start();
    // The buffer drains, then the gap marker goes out before anything newer.
    REQUIRE(eventually([&] { return br.get().stats().buffered == 0; }));
    push_user_events(*pbxs[0], 60, 5);
    stream_reader r(nats.url());
    REQUIRE(r.read_until([&] { return r.user_seqs("pbx0").size() >= 35; }));
    // 0..29 went (10 before, 20 buffered), 30..59 dropped, then the gap, then 60..64.
    std::vector<int> expected = iota(0, 30);
    for (int i = 60; i < 65; ++i) expected.push_back(i);
    CHECK(r.user_seqs("pbx0") == expected);
    const auto g = gaps(r, "pbx0");
    REQUIRE(g.size() == 1);
    CHECK(text(g[0].body, "reason") == "buffer_full");
    CHECK(number(g[0].body, "dropped") == 30);
    CHECK(number(g[0].body, "first_seq") == 31);
    CHECK(number(g[0].body, "last_seq") == 60);
    // The marker sits between event 29 (seq 30) and event 60 (seq 61).
    std::size_t gap_at = 0, before = 0;
    for (std::size_t i = 0; i < r.all.size(); ++i) {
      if (r.all[i].kind == "gap") gap_at = i;
      if (r.all[i].kind == "event" && r.all[i].seq == 30) before = i;
    }
    CHECK(gap_at > before);
    CHECK(r.all.back().seq == 65);
    CHECK(br.stop());
  }

  TEST_CASE("buffer full while NATS is down, resync policy: the AMI session closes, then resumes") {
    nats_server nats;
    auto pbxs = start_pbxs(1);
    auto cfg = bridge_cfg(nats, pbxs);
    cfg.lease_ttl = 5s;
    cfg.buffer = 20;
    cfg.overflow = ami::bridge::overflow_policy::resync;
    bridge_runner br(cfg);
    REQUIRE(br.start_ok());
    INFO("log of br:\n" << br.log_text());
    {
      stream_reader r(nats.url());
      REQUIRE(r.read_until([&] { return states(r, "pbx0", "up") == 1; }));
      REQUIRE(eventually([&] { return br.get().stats().buffered == 0; }));
    }
    nats.kill_now();
    push_user_events(*pbxs[0], 0, 50);
    REQUIRE(eventually([&] { return br.get().stats().resyncs == 1; }));
    CHECK(br.get().stats().dropped == 0);
    // The session closed: the simulator has no logged-in session left to send to.
    REQUIRE(eventually([&] { return pbxs[0]->session_count() == 0; }));
    nats.start();
    stream_reader r(nats.url());
    REQUIRE(r.read_until([&] { return states(r, "pbx0", "up") == 2; }));
    push_user_events(*pbxs[0], 100, 5);
    REQUIRE(r.read_until([&] { return r.user_seqs("pbx0").size() >= 25; }));
    std::vector<int> expected = iota(0, 20);
    for (int i = 100; i < 105; ++i) expected.push_back(i);
    CHECK(r.user_seqs("pbx0") == expected);
    const auto g = gaps(r, "pbx0");
    REQUIRE(g.size() == 1);
    CHECK(text(g[0].body, "reason") == "buffer_full");
    CHECK(number(g[0].body, "last_seq") == 20);
    CHECK(states(r, "pbx0", "paused") == 1);
    check_sequences(r, "pbx0");
    CHECK(br.stop());
  }

  TEST_CASE("actions over NATS: Ping, a list, failures, bad requests, a PBX that is down") {
    nats_server nats;
    auto pbxs = start_pbxs(2);
    pbxs[0]->on_action("Hang", [](ami::testing::session&, const ami::message&) {
      return true;  // never answered: the action times out
    });
    auto cfg = bridge_cfg(nats, pbxs);
    cfg.pbxs[0].ami.action_timeout = 300ms;
    bridge_runner br(cfg);
    REQUIRE(br.start_ok());
    INFO("log of br:\n" << br.log_text());
    {
      stream_reader r(nats.url());
      REQUIRE(r.read_until(
          [&] { return states(r, "pbx0", "up") == 1 && states(r, "pbx1", "up") == 1; }));
    }
    const auto url = nats.url();
    auto ping = ami::test::request(url, "ami.pbx0.action", R"({"Action":"Ping"})");
    REQUIRE(ping);
    CHECK(text((*ping)["response"].as_object(), "Response") == "Success");
    CHECK(text((*ping)["response"].as_object(), "Ping") == "Pong");

    auto list = ami::test::request(url, "ami.pbx1.action", R"({"Action":"CoreShowChannels"})");
    REQUIRE(list);
    REQUIRE(list->contains("events"));
    const auto& events = (*list)["events"].as_array();
    REQUIRE_FALSE(events.empty());
    CHECK(text(events.back().as_object(), "Event") == "CoreShowChannelsComplete");

    auto failed = ami::test::request(url, "ami.pbx0.action", R"({"Action":"NoSuchAction"})");
    REQUIRE(failed);
    CHECK(text(*failed, "error") == "action_failed");
    CHECK(text(*failed, "message").find("Invalid/unknown command") != std::string::npos);
    CHECK(text((*failed)["response"].as_object(), "Response") == "Error");

    auto malformed = ami::test::request(url, "ami.pbx0.action", R"({"Action": "Ping",)");
    REQUIRE(malformed);
    CHECK(text(*malformed, "error") == "bad_request");
    auto not_object = ami::test::request(url, "ami.pbx0.action", R"(["Ping"])");
    REQUIRE(not_object);
    CHECK(text(*not_object, "error") == "bad_request");

    pbxs[0]->clear_received();
    auto injected = ami::test::request(
        url, "ami.pbx0.action",
        R"({"Action":"Ping","ActionID":"x\r\nAction: Originate\r\nChannel: PJSIP/evil"})");
    REQUIRE(injected);
    CHECK(text(*injected, "error") == "bad_request");
    auto injected_key =
        ami::test::request(url, "ami.pbx0.action", R"({"Action":"Ping","A\nB":"1"})");
    REQUIRE(injected_key);
    CHECK(text(*injected_key, "error") == "bad_request");
    CHECK(pbxs[0]->received().empty());

    auto slow = ami::test::request(url, "ami.pbx0.action", R"({"Action":"Hang"})");
    REQUIRE(slow);
    CHECK(text(*slow, "error") == "timeout");

    pbxs[1]->stop();
    REQUIRE(eventually([&] {
      auto down = ami::test::request(url, "ami.pbx1.action", R"({"Action":"Ping"})");
      return down && text(*down, "error") == "not_connected";
    }));

    // The bridge still serves after all of that.
    auto again =
        ami::test::request(url, "ami.pbx0.action", R"({"Action":"Ping","ActionID":"mine-1"})");
    REQUIRE(again);
    CHECK(text((*again)["response"].as_object(), "ActionID") == "mine-1");
    const auto st = br.get().stats();
    CHECK(st.bad_requests == 4);
    CHECK(st.actions >= 9);
    CHECK(br.stop());
  }

  TEST_CASE("two bridges: one owner per PBX, the other takes over after a crash") {
    nats_server nats;
    auto pbxs = start_pbxs(1);
    auto cfg = bridge_cfg(nats, pbxs);
    auto cfg_a = cfg;
    cfg_a.bridge_id = "bridge-a";
    auto cfg_b = cfg;
    cfg_b.bridge_id = "bridge-b";
    bridge_runner a(cfg_a);
    REQUIRE(a.start_ok());
    INFO("log of a:\n" << a.log_text());
    REQUIRE(eventually([&] { return a.get().owned().size() == 1; }));
    bridge_runner b(cfg_b);
    REQUIRE(b.start_ok());
    INFO("log of b:\n" << b.log_text());
    stream_reader r(nats.url());
    REQUIRE(r.read_until([&] { return states(r, "pbx0", "up") == 1; }));
    push_user_events(*pbxs[0], 0, 50);
    REQUIRE(r.read_until([&] { return r.user_seqs("pbx0").size() >= 50; }));
    // Several renewal periods (150 ms): b never owns it while a is healthy.
    std::size_t overlap = 0;
    const auto until = std::chrono::steady_clock::now() + 400ms;
    while (std::chrono::steady_clock::now() < until) {
      overlap += b.get().owned().empty() ? 0U : 1U;
      r.next(20ms);
    }
    CHECK(overlap == 0);
    CHECK(a.get().owned() == std::vector<std::string>{"pbx0"});

    const auto crashed = std::chrono::steady_clock::now();
    a.crash();
    REQUIRE(eventually([&] { return b.get().owned().size() == 1; }, 5s));
    const auto took = std::chrono::steady_clock::now() - crashed;
    CHECK(took < 3s);  // the lease's TTL (600 ms) and a renewal period, with room
    REQUIRE(r.read_until([&] { return states(r, "pbx0", "up") == 2; }));
    push_user_events(*pbxs[0], 50, 20);
    REQUIRE(r.read_until([&] { return r.user_seqs("pbx0").size() >= 70; }));
    CHECK(r.user_seqs("pbx0") == iota(0, 70));
    // The stream shows a's messages, then b's: never interleaved.
    std::vector<std::string> owners;
    for (const auto& s : r.all) {
      if (s.pbx == "pbx0" && (owners.empty() || owners.back() != s.bridge))
        owners.push_back(s.bridge);
    }
    CHECK(owners == std::vector<std::string>{"bridge-a", "bridge-b"});
    const auto g = gaps(r, "pbx0");
    REQUIRE_FALSE(g.empty());
    CHECK(text(g.back().body, "reason") == "takeover");
    CHECK(text(g.back().body, "previous_bridge") == "bridge-a");
    CHECK(b.get().stats().takeovers == 1);

    // A clean stop releases the lease: a third bridge takes over well before the TTL.
    auto cfg_c = cfg;
    cfg_c.bridge_id = "bridge-c";
    bridge_runner c(cfg_c);
    REQUIRE(c.start_ok());
    INFO("log of c:\n" << c.log_text());
    bool drained = false;
    CHECK(b.stop(2s, &drained));
    CHECK(drained);
    REQUIRE(eventually([&] { return c.get().owned().size() == 1; }, 5s));
    CHECK(c.stop());
  }
}

#include "bridge_consumer.hpp"

#include <sstream>

TEST_CASE("bridge: examples/bridge_consumer reads the stream and sends an action") {
  nats_server nats;
  auto pbxs = start_pbxs(1);
  bridge_runner br(bridge_cfg(nats, pbxs));
  REQUIRE(br.start_ok());
  INFO("log of br:\n" << br.log_text());
  {
    stream_reader r(nats.url());
    REQUIRE(r.read_until([&] { return states(r, "pbx0", "up") == 1; }));
    push_user_events(*pbxs[0], 0, 5);
    REQUIRE(r.read_until([&] { return r.user_seqs("pbx0").size() >= 5; }));
  }
  ami::examples::bridge_consumer_options o;
  o.url = nats.url();
  o.action_pbx = "pbx0";
  o.max_messages = 7;  // connecting, up, five events
  o.idle = 2s;
  std::ostringstream out, err;
  CHECK(ami::examples::run_bridge_consumer(o, out, err) == 0);
  const auto s = out.str();
  CAPTURE(s);
  CHECK(s.find("action reply: {\"response\":{\"Response\":\"Success\"") != std::string::npos);
  CHECK(s.find("\"Ping\":\"Pong\"") != std::string::npos);
  CHECK(s.find("pbx0 state") != std::string::npos);
  CHECK(s.find("pbx0 event #5 {\"Event\":\"UserEvent\"") != std::string::npos);
  CHECK(s.find("7 messages") != std::string::npos);
  // The durable consumer remembers: a second run starts after what was acknowledged.
  push_user_events(*pbxs[0], 5, 1);
  o.action_pbx.clear();
  o.max_messages = 1;
  std::ostringstream again;
  CHECK(ami::examples::run_bridge_consumer(o, again, err) == 0);
  CHECK(again.str().find("pbx0 event #6") != std::string::npos);
  CHECK(br.stop());
}

TEST_CASE("bridge: a lease taken by someone else stops the owner at once, it comes back after") {
  nats_server nats;
  auto pbxs = start_pbxs(1);
  auto cfg = bridge_cfg(nats, pbxs);
  cfg.bridge_id = "bridge-a";
  bridge_runner a(cfg);
  REQUIRE(a.start_ok());
  INFO("log of a:\n" << a.log_text());
  REQUIRE(eventually([&] { return a.get().owned().size() == 1; }));
  // Another writer overwrites the key, as a bridge that took over after a partition would.
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  kvStore* kv = nullptr;
  REQUIRE(natsConnection_ConnectTo(&nc, nats.url().c_str()) == NATS_OK);
  REQUIRE(natsConnection_JetStream(&js, nc, nullptr) == NATS_OK);
  REQUIRE(js_KeyValue(&kv, js, "ami_bridge_leases") == NATS_OK);
  std::uint64_t rev = 0;
  REQUIRE(kvStore_PutString(&rev, kv, "ami_pbx0", R"({"bridge":"intruder","renewed_ms":1})") ==
          NATS_OK);
  REQUIRE(eventually([&] { return a.get().owned().empty(); }, 5s));
  CHECK(a.logged("pbx pbx0: released (lease taken by another bridge)"));
  // The session to the PBX closed with it.
  REQUIRE(eventually([&] { return pbxs[0]->session_count() == 0; }));
  // The intruder goes away: its key lapses (here: deleted), and the bridge takes the PBX back.
  REQUIRE(kvStore_Delete(kv, "ami_pbx0") == NATS_OK);
  REQUIRE(eventually([&] { return a.get().owned().size() == 1; }, 5s));
  stream_reader r(nats.url());
  REQUIRE(r.read_until([&] { return states(r, "pbx0", "up") == 2; }));
  const auto g = gaps(r, "pbx0");
  REQUIRE_FALSE(g.empty());
  CHECK(text(g.back().body, "reason") == "takeover");
  CHECK(text(g.back().body, "previous_bridge") == "intruder");
  kvStore_Destroy(kv);
  jsCtx_Destroy(js);
  natsConnection_Close(nc);
  natsConnection_Destroy(nc);
  CHECK(a.stop());
}
