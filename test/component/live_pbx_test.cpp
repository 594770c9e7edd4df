// ami::live::pbx against the simulated PBX: the sync on each login, events after it,
// reconnects (in the middle of a sync too), lists the server lacks, refreshes, snapshots read
// from another thread, and a queue caller's events racing the QueueStatus list.
#include "ami/live/pbx.hpp"
#include "client_support.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <atomic>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using ami::live::change_kind;
using ami::live::entity;
using ami::live::list_kind;
using ami::live::list_outcome;
using ami::test::client_fixture;
using ami::test::done_flag;
using ami::test::run_until;
using namespace std::chrono_literals;

namespace {

struct live_fixture : client_fixture {
  explicit live_fixture(ami::testing::server_options o = {}) : client_fixture(std::move(o)) {
    finished_sub =
        live.on_sync_finished([this](const ami::live::sync_report& r) { reports.push_back(r); });
  }

  bool wait_synced(std::size_t syncs = 1) {
    return run_until(io, [&] { return live.synced() && reports.size() >= syncs; });
  }
  bool wait_for(const std::function<bool(const ami::live::state&)>& pred) {
    return run_until(io, [&] { return pred(*live.snapshot()); });
  }

  ami::live::pbx live{c};
  std::vector<ami::live::sync_report> reports;
  boost::signals2::scoped_connection finished_sub;
};

std::set<std::string> uniqueids(const ami::live::state& s) {
  std::set<std::string> out;
  s.channels.for_each([&](const std::string& id, const auto&) { out.insert(id); });
  return out;
}

std::set<std::string> server_uniqueids(const ami::testing::server& srv) {
  std::set<std::string> out;
  for (const auto& ch : srv.channels()) out.insert(ch.uniqueid);
  return out;
}

const ami::testing::channel_info* server_channel(const std::vector<ami::testing::channel_info>& v,
                                                 const std::string& name) {
  for (const auto& ch : v) {
    if (ch.name == name) return &ch;
  }
  return nullptr;
}

// Waits until the server's channel is Up and the snapshot has it Up too.
std::string settled_call(live_fixture& f, const std::string& from, const std::string& exten) {
  const std::string name = f.srv.incoming_call(from, exten);
  REQUIRE(f.wait_for([&](const ami::live::state& s) {
    const auto* ch = s.channel_by_name(name);
    return ch != nullptr && ch->state == ami::events::channel_state::up;
  }));
  return name;
}

std::size_t count_changes(const ami::live::sync_report& r, entity what, change_kind kind) {
  return static_cast<std::size_t>(
      std::count_if(r.changes.begin(), r.changes.end(),
                    [&](const ami::live::change& c) { return c.what == what && c.kind == kind; }));
}

}  // namespace

TEST_CASE("live pbx: the first sync sees the simulator's channels and queues") {
  live_fixture f;
  f.srv.incoming_call("PJSIP/100", "200");  // echo: stays up
  f.srv.incoming_call("PJSIP/trunk1", "200");
  REQUIRE(run_until(f.io, [&] { return f.srv.channels().size() == 2; }));
  bool started = false;
  auto sub = f.live.on_sync_started([&] { started = true; });
  CHECK_FALSE(f.live.synced());
  f.connect_ok();
  REQUIRE(f.wait_synced());
  CHECK(started);
  const auto snap = f.live.snapshot();
  CHECK(uniqueids(*snap) == server_uniqueids(f.srv));
  for (const auto& q : f.srv.queues()) {
    const auto* mine = snap->queues.find(q.name);
    REQUIRE(mine != nullptr);
    CHECK(mine->members.size() == q.members.size());
    for (const auto& m : q.members) CHECK(mine->members.contains(m.interface));
  }
  const auto& r = f.reports.at(0);
  CHECK(r.outcome(list_kind::channels) == list_outcome::listed);
  CHECK(r.outcome(list_kind::queues) == list_outcome::listed);
  CHECK(count_changes(r, entity::channel, change_kind::added) == 2);
  CHECK(f.live.stats().syncs == 1);
}

TEST_CASE("live pbx: events after the sync update the snapshot and the signals") {
  live_fixture f;
  f.connect_ok();
  REQUIRE(f.wait_synced());
  std::vector<ami::live::change> seen;
  bool old_lacked_it = false;
  bool new_has_it = false;
  std::size_t applied = 0;
  auto s1 = f.live.on_change([&](const ami::live::change& c, const ami::live::state& before,
                                 const ami::live::state& after) {
    seen.push_back(c);
    if (c.what == entity::channel && c.kind == change_kind::added) {
      old_lacked_it = before.channels.find(c.key) == nullptr;
      new_has_it = after.channels.find(c.key) != nullptr;
    }
  });
  auto s2 = f.live.on_event_applied([&](const ami::event&, const auto&) { ++applied; });
  const auto before = f.live.snapshot();
  const std::string name = settled_call(f, "PJSIP/100", "200");
  CHECK(old_lacked_it);
  CHECK(new_has_it);
  CHECK(applied > 0);
  CHECK(before->channels.empty());  // a snapshot never moves
  REQUIRE(f.srv.hangup(name));
  REQUIRE(
      f.wait_for([&](const ami::live::state& s) { return s.channel_by_name(name) == nullptr; }));
  const auto snap = f.live.snapshot();
  CHECK(snap->channels.empty());
  CHECK(snap->calls.empty());  // finished calls leave the model
  CHECK(std::any_of(seen.begin(), seen.end(), [](const ami::live::change& c) {
    return c.what == entity::call && c.kind == change_kind::removed;
  }));
  CHECK(f.live.stats().events_applied >= applied);
}

TEST_CASE("live pbx: a reconnect resyncs and reports only what really changed") {
  live_fixture f;
  f.cfg.reconnect_initial = 1ms;
  f.cfg.reconnect_max = 5ms;
  std::vector<ami::connection_state> states;
  auto sub = f.c.on_state([&](ami::connection_state s, auto) { states.push_back(s); });
  done_flag run;
  f.c.async_run(f.cfg, run.handler());
  const std::string stays = settled_call(f, "PJSIP/100", "200");
  const std::string goes = settled_call(f, "PJSIP/trunk1", "200");
  REQUIRE(f.wait_synced());
  const auto before = f.live.snapshot();
  const std::string gone_id = before->channel_by_name(goes)->uniqueid;

  // While the client is away, one call ends and another starts. The stall keeps the next
  // session from logging in (its banner waits) until the changes are made.
  f.srv.stall(true);
  f.srv.close_sessions();
  REQUIRE(run_until(f.io, [&] {
    return std::count(states.begin(), states.end(), ami::connection_state::disconnected) > 0;
  }));
  CHECK_FALSE(f.live.synced());
  REQUIRE(f.srv.hangup(goes));
  const std::string comes = f.srv.incoming_call("PJSIP/101", "200");
  REQUIRE(run_until(f.io, [&] {
    const auto now = f.srv.channels();
    const auto* ch = server_channel(now, comes);
    return ch != nullptr && ch->state == 6;
  }));
  f.srv.stall(false);
  REQUIRE(f.wait_synced(2));
  const auto after = f.live.snapshot();
  CHECK(uniqueids(*after) == server_uniqueids(f.srv));
  const auto& r = f.reports.at(1);
  const std::string new_id = after->channel_by_name(comes)->uniqueid;
  // Exactly one channel and its call added and one removed; the one that stayed is unchanged.
  std::vector<ami::live::change> channel_changes;
  for (const auto& c : r.changes) {
    if (c.what == entity::channel) channel_changes.push_back(c);
  }
  std::vector<ami::live::change> expected{{entity::channel, change_kind::added, new_id, {}},
                                          {entity::channel, change_kind::removed, gone_id, {}}};
  CHECK(channel_changes == expected);
  CHECK(count_changes(r, entity::call, change_kind::added) == 1);
  CHECK(count_changes(r, entity::call, change_kind::removed) == 1);
  CHECK(count_changes(r, entity::call, change_kind::changed) == 0);
  CHECK(count_changes(r, entity::queue, change_kind::changed) == 0);
  CHECK(after->channel_by_name(stays) != nullptr);
  f.c.close();
  REQUIRE(f.wait(run));
}

TEST_CASE("live pbx: a disconnect in the middle of a sync abandons it; the next login syncs") {
  live_fixture f;
  f.cfg.reconnect_initial = 1ms;
  f.cfg.reconnect_max = 5ms;
  std::atomic<int> queue_status_seen{0};
  // The first session's QueueStatus is never answered.
  f.srv.on_action("QueueStatus", [&](ami::testing::session&, const ami::message&) {
    return queue_status_seen.fetch_add(1) == 0;
  });
  std::size_t started = 0;
  auto sub = f.live.on_sync_started([&] { ++started; });
  done_flag run;
  f.c.async_run(f.cfg, run.handler());
  REQUIRE(f.server_got("QueueStatus"));
  CHECK_FALSE(f.live.synced());
  f.srv.close_sessions();
  REQUIRE(f.wait_synced());
  CHECK(started == 2);
  CHECK(f.reports.size() == 1);
  const auto st = f.live.stats();
  CHECK(st.syncs == 1);
  CHECK(st.syncs_abandoned == 1);
  CHECK(f.reports[0].outcome(list_kind::queues) == list_outcome::listed);
  CHECK(f.live.snapshot()->queues.contains(std::string_view("support")));
  f.c.close();
  REQUIRE(f.wait(run));
}

TEST_CASE("live pbx: a list the server lacks is skipped without failing the sync") {
  live_fixture f;
  f.srv.on_action("QueueStatus", [](ami::testing::session& s, const ami::message& a) {
    s.respond(a, {{"Response", "Error"},
                  {"Message",
                   "Invalid/unknown command: QueueStatus. Use Action: ListCommands to "
                   "show available commands."}});
    return true;
  });
  f.srv.incoming_call("PJSIP/100", "200");
  REQUIRE(run_until(f.io, [&] { return f.srv.channels().size() == 1; }));
  f.connect_ok();
  REQUIRE(f.wait_synced());
  const auto& r = f.reports.at(0);
  CHECK(r.outcome(list_kind::queues) == list_outcome::unsupported);
  CHECK(r.outcome(list_kind::channels) == list_outcome::listed);
  CHECK(f.live.snapshot()->queues.empty());
  CHECK(f.live.snapshot()->channels.size() == 1);
}

TEST_CASE("live pbx: async_refresh with a callback and with use_future") {
  live_fixture f;
  SUBCASE("not logged in") {
    ami::test::result<ami::live::sync_report> r;
    f.live.async_refresh(list_kind::queues, r.handler());
    REQUIRE(f.wait(r));
    CHECK(*r.ec == ami::error::not_connected);
  }
  SUBCASE("callback") {
    f.connect_ok();
    REQUIRE(f.wait_synced());
    f.srv.clear_received();
    ami::test::result<ami::live::sync_report> r;
    f.live.async_refresh(list_kind::queues, r.handler());
    REQUIRE(f.wait(r));
    REQUIRE_FALSE(*r.ec);
    CHECK(r.value.outcome(list_kind::queues) == list_outcome::listed);
    CHECK_FALSE(r.value.outcome(list_kind::channels).has_value());
    CHECK(r.value.changes.empty());  // nothing moved
    const auto got = f.srv.received();
    CHECK(std::count_if(got.begin(), got.end(),
                        [](const ami::message& m) { return m.head() == "QueueStatus"; }) == 1);
    CHECK(std::none_of(got.begin(), got.end(),
                       [](const ami::message& m) { return m.head() == "CoreShowChannels"; }));
    CHECK(f.live.stats().refreshes == 1);
    CHECK(f.reports.size() == 1);  // a refresh is not a sync
  }
  SUBCASE("use_future from another thread, while a sync is running") {
    std::promise<void> synced_promise;
    auto synced_future = synced_promise.get_future();
    auto once = f.live.on_sync_finished([&](const auto&) { synced_promise.set_value(); });
    auto guard = boost::asio::make_work_guard(f.io);
    std::thread t([&] { f.io.run(); });
    f.c.async_connect(f.cfg, [&](boost::system::error_code) {});
    // use_future(f): the error arrives as a value (an exception through a future crosses
    // threads inside libstdc++'s exception_ptr, which TSan cannot see synchronised).
    auto fut = f.live.async_refresh(
        ami::live::list_set{list_kind::queues, list_kind::channels},
        boost::asio::use_future([](boost::system::error_code ec, ami::live::sync_report r) {
          return std::make_pair(ec, std::move(r));
        }));
    // Requested before the login: not connected, or joined to the sync if it began first.
    const bool ready = fut.wait_for(10s) == std::future_status::ready;
    if (ready) {
      const auto [ec, rep] = fut.get();
      if (ec) {
        CHECK(ec == ami::error::not_connected);
      } else {
        CHECK(rep.outcome(list_kind::queues) == list_outcome::listed);
      }
    }
    // Once synced, a refresh completes with its report.
    const bool synced = synced_future.wait_for(10s) == std::future_status::ready;
    auto fut2 = f.live.async_refresh(list_kind::queues, boost::asio::use_future);
    const bool ready2 = fut2.wait_for(10s) == std::future_status::ready;
    guard.reset();
    f.c.close();
    f.io.stop();
    t.join();
    REQUIRE(ready);
    REQUIRE(synced);
    REQUIRE(ready2);
    CHECK(fut2.get().outcome(list_kind::queues) == list_outcome::listed);
  }
}

TEST_CASE("live pbx: snapshots are read from another thread while events apply") {
  live_fixture f;
  f.connect_ok();
  REQUIRE(f.wait_synced());
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> reads{0};
  std::thread reader([&] {
    while (!stop.load()) {
      const auto s = f.live.snapshot();
      std::size_t n = 0;
      s->channels.for_each(
          [&](const std::string&, const ami::live::channel& ch) { n += ch.channel.size(); });
      s->queues.for_each(
          [&](const std::string&, const ami::live::queue& q) { n += q.callers.size(); });
      reads.fetch_add(n > 0 ? 1 : 1);
    }
  });
  f.srv.start_load(4000);
  const bool enough = run_until(f.io, [&] { return f.live.stats().events_applied >= 300; });
  f.srv.stop_load();
  stop = true;
  reader.join();
  CHECK(enough);
  CHECK(reads.load() > 0);
}

namespace {

ami::testing::field_list caller_event(const std::string& name, const std::string& uid, int position,
                                      int count) {
  return {{"Event", name},
          {"Privilege", "agent,all"},
          {"Channel", "Local/c-" + uid + ";2"},
          {"ChannelState", "6"},
          {"ChannelStateDesc", "Up"},
          {"CallerIDNum", "55"},
          {"CallerIDName", "x"},
          {"ConnectedLineNum", ""},
          {"ConnectedLineName", ""},
          {"Language", "en"},
          {"AccountCode", ""},
          {"Context", "default"},
          {"Exten", "s"},
          {"Priority", "1"},
          {"Uniqueid", uid},
          {"Linkedid", uid},
          {"Queue", "sales"},
          {"Position", std::to_string(position)},
          {"Count", std::to_string(count)}};
}

// Answers QueueStatus with queue "sales" holding `waiting`, sending `early` events before the
// answer, `inside` between its Response and its items, and `late` after it.
struct scripted_queue_status {
  std::vector<std::string> waiting;
  std::vector<ami::testing::field_list> early, inside, late;

  bool operator()(ami::testing::session& s, const ami::message& a) const {
    for (const auto& e : early) s.send(e);
    s.respond(
        a,
        {{"Response", "Success"}, {"EventList", "start"}, {"Message", "Queue status will follow"}});
    for (const auto& e : inside) s.send(e);
    const std::string aid(a.get("ActionID").value_or(""));
    s.send({{"Event", "QueueParams"},
            {"Queue", "sales"},
            {"Max", "0"},
            {"Strategy", "ringall"},
            {"Calls", std::to_string(waiting.size())},
            {"Holdtime", "0"},
            {"TalkTime", "0"},
            {"Completed", "0"},
            {"Abandoned", "0"},
            {"ServiceLevel", "0"},
            {"ServicelevelPerf", "0.0"},
            {"ServicelevelPerf2", "0.0"},
            {"Weight", "0"},
            {"ActionID", aid}});
    int pos = 1;
    for (const auto& uid : waiting) {
      s.send({{"Event", "QueueEntry"},
              {"Queue", "sales"},
              {"Position", std::to_string(pos++)},
              {"Channel", "Local/c-" + uid + ";2"},
              {"Uniqueid", uid},
              {"CallerIDNum", "55"},
              {"CallerIDName", "x"},
              {"ConnectedLineNum", ""},
              {"ConnectedLineName", ""},
              {"Wait", "3"},
              {"Priority", "0"},
              {"ActionID", aid}});
    }
    s.send({{"Event", "QueueStatusComplete"},
            {"ActionID", aid},
            {"EventList", "Complete"},
            {"ListItems", std::to_string(1 + waiting.size())}});
    for (const auto& e : late) s.send(e);
    return true;
  }
};

}  // namespace

TEST_CASE("live pbx: a queue caller's events racing QueueStatus never duplicate or lose it") {
  const auto join = caller_event("QueueCallerJoin", "1", 1, 1);
  const auto leave = caller_event("QueueCallerLeave", "1", 1, 0);
  struct variant {
    const char* name;
    scripted_queue_status script;
    std::size_t callers;
  };
  const std::vector<variant> variants{
      {"join before the list, which has it", {{"1"}, {join}, {}, {}}, 1},
      {"join inside the list, which has it", {{"1"}, {}, {join}, {}}, 1},
      {"join after a list made before it", {{}, {}, {}, {join}}, 1},
      {"join after a list that has it", {{"1"}, {}, {}, {join}}, 1},
      {"leave after a list that has it", {{"1"}, {}, {}, {leave}}, 0},
      {"join and leave before the list, which lacks it", {{}, {join, leave}, {}, {}}, 0},
  };
  for (const auto& v : variants) {
    CAPTURE(v.name);
    live_fixture f;
    f.srv.on_action("QueueStatus", v.script);
    f.connect_ok();
    REQUIRE(f.wait_synced());
    // The late events were queued before anything answered after them.
    REQUIRE_FALSE(*f.send(ami::action("Ping")).ec);
    const auto s = f.live.snapshot();
    const auto* q = s->queues.find(std::string_view("sales"));
    REQUIRE(q != nullptr);
    CHECK(q->callers.size() == v.callers);
    CHECK(q->calls == static_cast<int>(v.callers));
    if (v.callers == 1) CHECK(s->caller("sales", "1")->position == 1);
  }
}
