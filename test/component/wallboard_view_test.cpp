// The wallboard's pure functions (tools/wallboard/board.hpp, snapshot.hpp) on states built by
// hand: how members are counted, the clocks, and the JSON document's order, times and bytes.
#include "../../tools/wallboard/board.hpp"
#include "../../tools/wallboard/snapshot.hpp"

#include <boost/json.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <string>

using namespace std::chrono_literals;
namespace live = ami::live;
namespace wb = ami::tools::wallboard;

namespace {

live::queue_member member(const char* iface, live::device_state st, bool paused = false,
                          bool in_call = false) {
  live::queue_member m;
  m.interface = m.name = iface;
  m.status = st;
  m.paused = paused;
  m.in_call = in_call;
  return m;
}

}  // namespace

TEST_SUITE("wallboard view") {
  TEST_CASE("members: paused first, then in call or a device in use, then idle") {
    using ds = live::device_state;
    CHECK(wb::activity(member("a", ds::not_inuse)) == wb::member_activity::available);
    CHECK(wb::activity(member("a", ds::not_inuse, true)) == wb::member_activity::paused);
    CHECK(wb::activity(member("a", ds::inuse, true)) == wb::member_activity::paused);
    CHECK(wb::activity(member("a", ds::not_inuse, false, true)) == wb::member_activity::busy);
    for (const auto st : {ds::inuse, ds::busy, ds::ringing, ds::ringinuse, ds::onhold}) {
      CAPTURE(static_cast<int>(st));
      CHECK(wb::activity(member("a", st)) == wb::member_activity::busy);
    }
    for (const auto st : {ds::unknown, ds::invalid, ds::unavailable}) {
      CAPTURE(static_cast<int>(st));
      CHECK(wb::activity(member("a", st)) == wb::member_activity::unavailable);
    }
  }

  TEST_CASE("clocks: mm:ss under an hour, h:mm:ss from it, never negative") {
    CHECK(wb::clock_duration(0s) == "00:00");
    CHECK(wb::clock_duration(59s) == "00:59");
    CHECK(wb::clock_duration(61s) == "01:01");
    CHECK(wb::clock_duration(3599s) == "59:59");
    CHECK(wb::clock_duration(3600s) == "1:00:00");
    CHECK(wb::clock_duration(36061s) == "10:01:01");
    CHECK(wb::clock_duration(-5s) == "00:00");
  }

  TEST_CASE("a queue's summary and the JSON document of a hand-made state") {
    const live::time_point now = live::time_point{} + 1'700'000'000s;
    live::queue q;
    q.queue = "sales";
    q.members.insert_or_assign("PJSIP/1", member("PJSIP/1", live::device_state::not_inuse));
    q.members.insert_or_assign("PJSIP/2", member("PJSIP/2", live::device_state::inuse));
    q.members.insert_or_assign("PJSIP/3", member("PJSIP/3", live::device_state::not_inuse, true));
    // Keyed by uniqueid, positions in another order: the document lists them by position.
    live::queue_caller late;
    late.channel = "PJSIP/t-2";
    late.uniqueid = "a.2";
    late.position = 2;
    late.joined = now - 5s;
    late.caller_id_name = "bad \xff byte";
    live::queue_caller early = late;
    early.channel = "PJSIP/t-1";
    early.uniqueid = "z.1";
    early.position = 1;
    early.joined = now - 75s;
    q.callers.insert_or_assign("a.2", late);
    q.callers.insert_or_assign("z.1", early);
    q.calls = 2;

    const wb::queue_summary sum = wb::summarize(q, now);
    CHECK(sum.waiting == 2);
    CHECK(sum.longest_wait == 75s);
    CHECK(sum.available == 1);
    CHECK(sum.busy == 1);
    CHECK(sum.paused == 1);
    CHECK(sum.unavailable == 0);

    live::state s;
    s.queues.insert_or_assign("sales", q);
    live::channel ch;
    ch.channel = "PJSIP/t-1";
    ch.uniqueid = "z.1";
    ch.state = ami::events::channel_state::ringing;
    ch.created = now - 75s;
    s.channels.insert_or_assign("z.1", ch);

    const std::string text = wb::snapshot_text(s, now);
    const auto doc = boost::json::parse(text).as_object();  // valid JSON despite the byte
    const auto& jq = doc.at("queues").as_array().at(0).as_object();
    const auto& callers = jq.at("callers").as_array();
    REQUIRE(callers.size() == 2);
    CHECK(callers[0].at("channel").as_string() == "PJSIP/t-1");
    CHECK(callers[0].at("wait").as_int64() == 75);
    CHECK(callers[1].at("wait").as_int64() == 5);
    CHECK(callers[1].at("caller_id_name").as_string() == "bad \xc3\xbf byte");  // U+00FF
    CHECK(callers[0].at("joined").as_string() == "2023-11-14T22:12:05.000Z");
    const auto& members = jq.at("members").as_array();
    REQUIRE(members.size() == 3);
    CHECK(members[0].at("interface").as_string() == "PJSIP/1");  // sorted
    CHECK(members[1].at("status").as_string() == "INUSE");
    const auto& jc = doc.at("channels").as_array().at(0).as_object();
    CHECK(jc.at("state").as_string() == "Ringing");
    CHECK(jc.at("answered").is_null());

    const std::string board = wb::render_board(s, now);
    CHECK(board.find("    1. PJSIP/t-1 waiting 01:15") != std::string::npos);
    CHECK(board.find("    2. PJSIP/t-2 waiting 00:05") != std::string::npos);
    CHECK(board.find('\x1b') == std::string::npos);
    wb::board_options ansi;
    ansi.ansi = true;
    CHECK(wb::render_board(s, now, ansi).find("\x1b[K\n") != std::string::npos);
  }
}
