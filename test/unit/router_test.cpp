// Correlation of inbound messages with pending actions, without sockets.
#include "ami/detail/router.hpp"
#include "../support/test_data.hpp"
#include "routing_support.hpp"

#include <boost/asio/error.hpp>

#include <map>
#include <string>

using ami::test::op;
using ami::test::record;
using ami::test::wire;
using namespace ami::detail;

namespace {

struct routing {
  router rt;
  std::vector<routed_result> done;

  routing() { rt.ids().set_prefix("t-"); }

  std::uint64_t add(const std::string& name, record& r, std::string caller_id = {},
                    answer_kind k = answer_kind::response,
                    std::optional<clock::time_point> deadline = {}, bool sent = true) {
    const auto n = rt.ids().reserve();
    new_action a;
    a.n = n;
    a.name = name;
    a.caller_id = std::move(caller_id);
    a.answer = k;
    a.deadline = deadline;
    a.op = op(r);
    rt.add(std::move(a));
    if (sent) rt.mark_sent(n);
    return n;
  }

  void complete() {
    for (auto& d : done) {
      if (d.result.op) d.result.op->complete(d.result.ec, std::move(d.result.resp));
    }
    done.clear();
  }

  // One message per read: the input runs dry after each.
  routed feed(const std::string& text) {
    const auto m = wire(text);
    const auto r = rt.route(m, done);
    rt.end_of_input(done);
    complete();
    return r;
  }

  routed respond(std::uint64_t n, const std::string& rest = "Response: Success\n") {
    return feed(rest + "ActionID: " + rt.action_id(n) + "\n\n");
  }
};

}  // namespace

TEST_CASE("responses are matched by ActionID in any order") {
  routing t;
  record a, b, c;
  const auto na = t.add("Ping", a);
  const auto nb = t.add("Ping", b);
  const auto nc = t.add("Ping", c);
  CHECK(t.rt.in_flight() == 3);
  CHECK(t.respond(nc, "Response: Success\nPing: C\n") == routed::answer);
  CHECK(t.respond(na, "Response: Success\nPing: A\n") == routed::answer);
  CHECK_FALSE(b.done());
  CHECK(t.respond(nb, "Response: Success\nPing: B\n") == routed::answer);
  for (auto* r : {&a, &b, &c}) {
    CHECK(r->completions == 1);
    CHECK_FALSE(r->ec);
  }
  CHECK(a.resp.get("Ping") == "A");
  CHECK(b.resp.get("Ping") == "B");
  CHECK(c.resp.get("Ping") == "C");
  CHECK(a.resp.msg().owns_bytes());
  CHECK(t.rt.empty());
  CHECK(t.rt.in_flight() == 0);
}

TEST_CASE("a second answer for the same id, or an unknown id, is not delivered twice") {
  routing t;
  record a;
  const auto n = t.add("Ping", a);
  t.respond(n);
  CHECK(t.respond(n) == routed::late);  // our form, no longer pending
  CHECK(t.feed("Response: Success\nActionID: someone-else\n\n") == routed::unmatched);
  CHECK(a.completions == 1);
}

TEST_CASE("Response: Error completes with action_failed and the response") {
  routing t;
  record a;
  const auto n = t.add("Originate", a);
  t.respond(n, "Response: Error\nMessage: Permission denied\n");
  CHECK(a.ec == ami::error::action_failed);
  CHECK(a.resp.message_text() == "Permission denied");
  CHECK_FALSE(a.resp.ok());
}

TEST_CASE("caller-supplied ActionIDs; duplicates are answered in order") {
  routing t;
  record a, b, c;
  t.add("Ping", a, "mine");
  t.add("Ping", b, "mine");
  t.add("Ping", c, "other");
  CHECK(t.rt.action_id(2) == "mine");
  CHECK(t.feed("Response: Success\nActionID: other\n\n") == routed::answer);
  CHECK(t.feed("Response: Success\nActionID: mine\nN: 1\n\n") == routed::answer);
  CHECK(t.feed("Response: Success\nActionID: mine\nN: 2\n\n") == routed::answer);
  CHECK(a.resp.get("N") == "1");
  CHECK(b.resp.get("N") == "2");
  CHECK(c.done());
  CHECK(t.feed("Response: Success\nActionID: mine\n\n") == routed::unmatched);
}

TEST_CASE("a caller id that looks like one of ours goes to its own action") {
  routing t;
  t.rt.ids().set_prefix("");  // ids "1", "2", ... like the captures
  record a, b;
  const auto na = t.add("Ping", a, "2");  // counter 1, caller id "2"
  const auto nb = t.add("Ping", b);       // counter 2, our id "2" too
  CHECK(na == 1);
  CHECK(nb == 2);
  // Ours first: the caller's action with id "2" is not the one with counter 2.
  t.feed("Response: Success\nActionID: 2\nWho: first\n\n");
  CHECK(b.resp.get("Who") == "first");
  CHECK_FALSE(a.done());
  t.feed("Response: Success\nActionID: 2\nWho: second\n\n");
  CHECK(a.resp.get("Who") == "second");
}

TEST_CASE("interleaved lists and unrelated events") {
  routing t;
  record q, s;
  const auto nq = t.add("QueueStatus", q);
  const auto ns = t.add("Status", s);
  const auto iq = t.rt.action_id(nq);
  const auto is = t.rt.action_id(ns);
  CHECK(t.respond(nq, "Response: Success\nEventList: start\nMessage: Queue status will follow\n") ==
        routed::answer);
  CHECK(t.feed("Event: Newchannel\nPrivilege: call,all\nChannel: X\n\n") == routed::event);
  CHECK(
      t.respond(ns, "Response: Success\nEventList: start\nMessage: Channel status will follow\n") ==
      routed::answer);
  CHECK(t.rt.open_lists() == 2);
  CHECK(t.feed("Event: QueueParams\nQueue: support\nActionID: " + iq + "\n\n") ==
        routed::list_item);
  CHECK(t.feed("Event: Status\nChannel: A\nActionID: " + is + "\n\n") == routed::list_item);
  CHECK(t.feed("Event: Hangup\nPrivilege: call,all\n\n") == routed::event);
  CHECK(t.feed("Event: QueueMember\nName: m\nActionID: " + iq + "\n\n") == routed::list_item);
  CHECK(t.feed("Event: Status\nChannel: B\nActionID: " + is + "\n\n") == routed::list_item);
  CHECK(t.feed("Event: StatusComplete\nActionID: " + is +
               "\nEventList: Complete\nListItems: 2\n\n") == routed::list_item);
  CHECK(s.done());
  CHECK_FALSE(q.done());
  CHECK(t.feed("Event: QueueStatusComplete\nActionID: " + iq +
               "\nEventList: Complete\nListItems: 2\n\n") == routed::list_item);
  REQUIRE(q.done());
  CHECK_FALSE(q.ec);
  REQUIRE(q.resp.events().size() == 2);
  CHECK(q.resp.events()[0].name() == "QueueParams");
  CHECK(q.resp.events()[1].name() == "QueueMember");
  REQUIRE(q.resp.complete() != nullptr);
  CHECK(q.resp.complete()->name() == "QueueStatusComplete");
  REQUIRE(s.resp.events().size() == 2);
  CHECK(s.resp.events()[1].get("Channel") == "B");
  CHECK(t.rt.open_lists() == 0);
  CHECK(t.rt.empty());
}

TEST_CASE("IAXpeers items without ActionID join the oldest open list that accepts them") {
  routing t;
  record iax1, iax2, other;
  const auto n1 = t.add("IAXpeers", iax1);
  const auto n2 = t.add("IAXpeers", iax2);
  const auto no = t.add("CoreShowChannels", other);
  t.respond(n1, "Response: Success\nEventList: start\nMessage: Peer status list will follow\n");
  t.respond(no, "Response: Success\nEventList: start\nMessage: Channels will follow\n");
  CHECK(t.feed("Event: PeerEntry\nChanneltype: IAX2\nObjectName: a\n\n") == routed::list_item);
  // A broadcast with the same name carries Privilege: not a list item.
  CHECK(t.feed("Event: PeerEntry\nPrivilege: system,all\n\n") == routed::event);
  CHECK(t.feed("Event: PeerlistComplete\nActionID: " + t.rt.action_id(n1) +
               "\nEventList: Complete\nListItems: 1\n\n") == routed::list_item);
  REQUIRE(iax1.done());
  CHECK_FALSE(iax1.ec);
  REQUIRE(iax1.resp.events().size() == 1);
  CHECK(iax1.resp.events()[0].get("ObjectName") == "a");
  // Now the second IAXpeers list is the oldest that accepts PeerEntry.
  t.respond(n2, "Response: Success\nEventList: start\nMessage: Peer status list will follow\n");
  CHECK(t.feed("Event: PeerEntry\nObjectName: b\n\n") == routed::list_item);
  CHECK(t.feed("Event: PeerEntry\nObjectName: c\n\n") == routed::list_item);
  t.feed("Event: PeerlistComplete\nActionID: " + t.rt.action_id(n2) +
         "\nEventList: Complete\nListItems: 2\n\n");
  CHECK(iax2.resp.events().size() == 2);
  CHECK_FALSE(iax2.ec);
  CHECK_FALSE(other.done());
  CHECK(t.feed("Event: PeerEntry\nObjectName: d\n\n") == routed::event);  // no list accepts it
}

TEST_CASE("pre-2.7 list: 'will follow' and an event name ending in Complete") {
  routing t;
  record a;
  const auto n = t.add("Agents", a);
  const auto id = t.rt.action_id(n);
  t.respond(n, "Response: Success\nMessage: Agents will follow\n");
  CHECK(t.feed("Event: Agents\nAgent: 1\nActionID: " + id + "\n\n") == routed::list_item);
  CHECK(t.feed("Event: Agents\nAgent: 2\nActionID: " + id + "\n\n") == routed::list_item);
  CHECK(t.feed("Event: AgentsComplete\nActionID: " + id + "\n\n") == routed::list_item);
  CHECK(a.done());
  CHECK_FALSE(a.ec);
  CHECK(a.resp.events().size() == 2);
}

TEST_CASE("EventList: Cancelled and a ListItems mismatch give list_incomplete with the items") {
  routing t;
  record a, b;
  const auto na = t.add("QueueStatus", a);
  const auto nb = t.add("Status", b);
  t.respond(na, "Response: Success\nEventList: start\n");
  t.respond(nb, "Response: Success\nEventList: start\n");
  t.feed("Event: QueueParams\nActionID: " + t.rt.action_id(na) + "\n\n");
  t.feed("Event: QueueStatusComplete\nActionID: " + t.rt.action_id(na) +
         "\nEventList: Cancelled\n\n");
  t.feed("Event: Status\nActionID: " + t.rt.action_id(nb) + "\n\n");
  t.feed("Event: StatusComplete\nActionID: " + t.rt.action_id(nb) +
         "\nEventList: Complete\nListItems: 3\n\n");
  CHECK(a.ec == ami::error::list_incomplete);
  CHECK(a.resp.events().size() == 1);
  CHECK(b.ec == ami::error::list_incomplete);
  CHECK(b.resp.events().size() == 1);
}

TEST_CASE("raw text (old Queues) is claimed by the oldest written raw-text action") {
  routing t;
  record ping, q1, q2, q3;
  t.add("Ping", ping);
  t.add("Queues", q1, {}, answer_kind::raw_text);
  t.add("Queues", q2, {}, answer_kind::raw_text);
  t.add("Queues", q3, {}, answer_kind::raw_text, {}, false);  // still queued
  CHECK(t.feed("support has 0 calls (max unlimited) in 'ringall' strategy\n   No Members\n\n") ==
        routed::answer);
  REQUIRE(q1.done());
  CHECK_FALSE(q1.ec);
  CHECK(q1.resp.output().size() == 2);
  CHECK(q1.resp.status().empty());
  CHECK(q1.resp.ok());
  CHECK(t.feed("sales has 1 calls\n\n") == routed::answer);
  CHECK(q2.done());
  CHECK(t.feed("more text\n\n") == routed::unmatched);  // q3 was never written
  CHECK_FALSE(q3.done());
  CHECK_FALSE(ping.done());
}

TEST_CASE("raw text in several chunks (one per queue) makes one answer") {
  routing t;
  record q, ping;
  t.add("Queues", q, {}, answer_kind::raw_text);
  const auto np = t.add("Ping", ping);
  for (const auto& m : ami::test::wire_all("support has 0 calls\n   No Members\n\n"
                                           "sales has 2 calls\n   Members:\n\n"
                                           "\r\n")) {
    CHECK(t.rt.route(m, t.done) == routed::answer);
  }
  CHECK(t.done.empty());  // more text may follow
  // A message of another kind ends the text.
  const auto pong = wire("Response: Success\nActionID: " + t.rt.action_id(np) + "\n\n");
  CHECK(t.rt.route(pong, t.done) == routed::answer);
  t.complete();
  REQUIRE(q.done());
  CHECK(q.resp.output() == std::vector<std::string>{"support has 0 calls", "   No Members",
                                                    "sales has 2 calls", "   Members:"});
  CHECK(q.resp.msg().owns_bytes());
  CHECK(ping.done());
}

TEST_CASE("raw text with no raw-text action pending is unmatched; a newer server's answer by id") {
  routing t;
  CHECK(t.feed("some text\n\n") == routed::unmatched);
  record q;
  const auto n = t.add("Queues", q, {}, answer_kind::raw_text);
  t.respond(n, "Response: Success\nMessage: done\n");  // servers that answer normally
  CHECK(q.done());
  CHECK(t.feed("some text\n\n") == routed::unmatched);
}

TEST_CASE("an abandoned action's late response and list items are dropped") {
  routing t;
  record a, b, c;
  const auto na = t.add("Ping", a);
  const auto nb = t.add("CoreShowChannels", b);
  const auto nc = t.add("Status", c);
  CHECK(t.rt.abandon(na, boost::asio::error::operation_aborted, t.done));
  CHECK_FALSE(t.rt.abandon(na, boost::asio::error::operation_aborted, t.done));
  t.complete();
  CHECK(a.ec == boost::asio::error::operation_aborted);
  CHECK(t.rt.in_flight() == 2);
  CHECK(t.respond(na) == routed::late);
  // Abandoned before its response: the list still opens, and its items are dropped.
  t.rt.abandon(nb, boost::asio::error::operation_aborted, t.done);
  t.complete();
  CHECK(t.respond(nb, "Response: Success\nEventList: start\n") == routed::late);
  const auto ib = t.rt.action_id(nb);
  CHECK(t.feed("Event: CoreShowChannel\nActionID: " + ib + "\n\n") == routed::late);
  CHECK(t.feed("Event: CoreShowChannelsComplete\nActionID: " + ib +
               "\nEventList: Complete\nListItems: 1\n\n") == routed::late);
  CHECK(t.feed("Event: CoreShowChannel\nActionID: " + ib + "\n\n") == routed::event);
  // Abandoned in the middle of its list.
  t.respond(nc, "Response: Success\nEventList: start\n");
  t.feed("Event: Status\nActionID: " + t.rt.action_id(nc) + "\n\n");
  t.rt.abandon(nc, boost::asio::error::operation_aborted, t.done);
  t.complete();
  CHECK(c.completions == 1);
  CHECK(c.resp.events().size() == 1);  // what had arrived
  CHECK(t.feed("Event: Status\nActionID: " + t.rt.action_id(nc) + "\n\n") == routed::late);
  CHECK(t.feed("Event: StatusComplete\nActionID: " + t.rt.action_id(nc) +
               "\nEventList: Complete\n\n") == routed::late);
  CHECK(t.rt.empty());
  CHECK(b.completions == 1);
}

TEST_CASE("abandoning a queued action forgets it at once") {
  routing t;
  record a;
  const auto n = t.add("Ping", a, {}, answer_kind::response, {}, false);
  CHECK(t.rt.is_queued(n));
  CHECK(t.rt.queued() == 1);
  t.rt.abandon(n, boost::asio::error::operation_aborted, t.done);
  t.complete();
  CHECK(t.rt.empty());
  CHECK(t.rt.queued() == 0);
  CHECK_FALSE(t.rt.is_queued(n));
}

TEST_CASE("deadlines: expire times out due actions; next_deadline skips finished ones") {
  routing t;
  const auto t0 = clock::time_point{} + std::chrono::hours(1);
  record a, b, c;
  const auto na = t.add("Ping", a, {}, answer_kind::response, t0 + std::chrono::seconds(1));
  t.add("Ping", b, {}, answer_kind::response, t0 + std::chrono::seconds(3));
  t.add("Ping", c);  // no timeout
  CHECK(t.rt.next_deadline() == t0 + std::chrono::seconds(1));
  t.respond(na);
  CHECK(t.rt.next_deadline() == t0 + std::chrono::seconds(3));
  t.rt.expire(t0 + std::chrono::seconds(2), t.done);
  CHECK(t.done.empty());
  t.rt.expire(t0 + std::chrono::seconds(3), t.done);
  t.complete();
  CHECK(b.ec == ami::error::action_timeout);
  CHECK_FALSE(c.done());
  CHECK_FALSE(t.rt.next_deadline().has_value());
}

TEST_CASE("deadlines out of order expire in time order") {
  routing t;
  const auto t0 = clock::time_point{} + std::chrono::hours(1);
  const int seconds[] = {3, 5, 1, 6, 2, 5, 4};
  std::vector<record> recs(7);
  std::vector<std::uint64_t> ns;
  for (std::size_t i = 0; i < 7; ++i) {
    ns.push_back(
        t.add("Ping", recs[i], {}, answer_kind::response, t0 + std::chrono::seconds(seconds[i])));
  }
  t.respond(ns[4]);  // the 2 s one answers in time
  std::vector<int> order;
  for (int s = 1; s <= 6; ++s) {
    CHECK(t.rt.next_deadline() >= t0 + std::chrono::seconds(s));
    t.rt.expire(t0 + std::chrono::seconds(s), t.done);
    for (auto& d : t.done) {
      CHECK(d.result.ec == ami::error::action_timeout);
    }
    for (std::size_t k = 0; k < t.done.size(); ++k) order.push_back(s);
    t.complete();
  }
  CHECK(order == std::vector<int>{1, 3, 4, 5, 5, 6});
  CHECK_FALSE(recs[4].ec);
  CHECK(t.rt.empty() == false);  // timed-out actions stay as tombstones for their late answers
  CHECK_FALSE(t.rt.next_deadline().has_value());
}

TEST_CASE("a response without ActionID goes to the only action awaiting one") {
  routing t;
  record a, b;
  t.add("Ping", a);
  CHECK(t.feed("Response: Success\nPing: Pong\n\n") == routed::answer);
  CHECK(a.done());
  t.add("Ping", a);
  t.add("Ping", b);
  CHECK(t.feed("Response: Success\n\n") == routed::unmatched);  // ambiguous
}

TEST_CASE("Originate with Async: the response, then OriginateResponse by ActionID") {
  routing t;
  record ok, busy, refused;
  const auto n1 = t.add("Originate", ok, {}, answer_kind::originate);
  const auto n2 = t.add("Originate", busy, {}, answer_kind::originate);
  const auto n3 = t.add("Originate", refused, {}, answer_kind::originate);
  t.respond(n1, "Response: Success\nMessage: Originate successfully queued\n");
  t.respond(n2, "Response: Success\nMessage: Originate successfully queued\n");
  t.respond(n3, "Response: Error\nMessage: Permission denied\n");
  CHECK(refused.ec == ami::error::action_failed);
  CHECK(t.rt.in_flight() == 0);  // the server is free; only the event is awaited
  CHECK_FALSE(ok.done());
  // Other events with that ActionID are not the answer.
  CHECK(t.feed("Event: Newchannel\nActionID: " + t.rt.action_id(n1) + "\n\n") == routed::event);
  CHECK(t.feed("Event: OriginateResponse\nPrivilege: call,all\nActionID: " + t.rt.action_id(n2) +
               "\nResponse: Failure\nChannel: Local/1\nReason: 5\n\n") == routed::list_item);
  CHECK(busy.ec == ami::error::originate_failed);
  REQUIRE(busy.resp.complete() != nullptr);
  CHECK(busy.resp.complete()->get("Reason") == "5");
  CHECK(t.feed("Event: OriginateResponse\nActionID: " + t.rt.action_id(n1) +
               "\nResponse: Success\nReason: 4\n\n") == routed::list_item);
  CHECK_FALSE(ok.ec);
  CHECK(ok.resp.message_text() == "Originate successfully queued");
}

TEST_CASE("events carrying an ActionID of a plain pending action are ordinary events") {
  routing t;
  record a;
  const auto n = t.add("Originate", a);  // sent with async_send: no OriginateResponse wait
  CHECK(t.feed("Event: Newchannel\nActionID: " + t.rt.action_id(n) + "\n\n") == routed::event);
  t.respond(n);
  CHECK(t.feed("Event: OriginateResponse\nActionID: " + t.rt.action_id(n) + "\n\n") ==
        routed::event);
}

TEST_CASE("fail_all completes everything, with the items collected so far") {
  routing t;
  record a, b, c;
  t.add("Ping", a);
  const auto nb = t.add("Status", b);
  t.add("Ping", c, {}, answer_kind::response, {}, false);
  t.respond(nb, "Response: Success\nEventList: start\n");
  t.feed("Event: Status\nActionID: " + t.rt.action_id(nb) + "\n\n");
  t.rt.fail_all(ami::error::connection_lost, t.done);
  t.complete();
  for (auto* r : {&a, &b, &c}) CHECK(r->ec == ami::error::connection_lost);
  CHECK(b.resp.events().size() == 1);
  CHECK(t.rt.empty());
  CHECK(t.rt.in_flight() == 0);
  CHECK(t.rt.queued() == 0);
  CHECK(t.rt.open_lists() == 0);
}

namespace {

// Registers the actions of a capture's client side with their ActionIDs, routes the server
// side, and returns the records by ActionID.
std::map<std::string, record> route_capture(const std::string& name) {
  routing t;
  std::map<std::string, record> records;
  for (const auto& a : ami::test::parse_all(ami::test::read_data(name + ".sent.raw"), [] {
         ami::proto::parser_options o;
         o.expect_banner = false;
         return o;
       }())) {
    const auto id = std::string(a.msg.action_id());
    const auto action = a.msg.head();
    const auto kind =
        ami::iequals(action, "Originate") ? answer_kind::originate : answer_kind::response;
    t.add(std::string(action), records[id], id, kind);
  }
  std::size_t events = 0;
  for (const auto& o : ami::test::parse_all(ami::test::read_data(name + ".raw"))) {
    REQUIRE_FALSE(o.is_error);
    if (o.msg.kind() == ami::message_kind::banner) continue;
    const auto r = t.rt.route(o.msg, t.done);
    CHECK(r != routed::unmatched);
    CHECK(r != routed::late);
    if (r == routed::event) ++events;
    t.complete();
  }
  CHECK(events > 10);
  CHECK(t.rt.empty());
  return records;
}

}  // namespace

TEST_CASE("session1 capture (AMI 13.0.0): every action gets its complete answer") {
  auto r = route_capture("session1");
  for (auto& [key, rec] : r) {
    const std::string id = key;
    CAPTURE(id);
    CHECK(rec.completions == 1);
    CHECK_FALSE(rec.ec);
  }
  CHECK(r["3"].resp.events().empty());  // CoreShowChannels, empty list
  REQUIRE(r["3"].resp.complete() != nullptr);
  CHECK(r["4"].resp.events().size() == 2);  // QueueStatus
  CHECK(r["5"].resp.events().size() == 2);  // Status
  CHECK(r["6"].resp.output().size() == 1);  // Command
  REQUIRE(r["o1"].resp.complete() != nullptr);
  CHECK(r["o1"].resp.complete()->get("Reason") == "4");
  CHECK(r["10"].resp.status() == "Goodbye");
}

TEST_CASE("session18 capture (AMI 7.0.3): IAXpeers items without ActionID are collected") {
  auto r = route_capture("session18");
  for (auto& [key, rec] : r) {
    const std::string id = key;
    CAPTURE(id);
    CHECK(rec.completions == 1);
    CHECK_FALSE(rec.ec);
  }
  CHECK(r["3"].resp.events().size() == 3);    // SIPpeers
  REQUIRE(r["5"].resp.events().size() == 1);  // IAXpeers
  CHECK(r["5"].resp.events()[0].get("ObjectName") == "iaxpeer1");
  CHECK(r["8"].resp.events().size() == 2);   // Status
  CHECK(r["14"].resp.output().size() == 5);  // sip show peers
  CHECK(r["22"].resp.status() == "Goodbye");
}
