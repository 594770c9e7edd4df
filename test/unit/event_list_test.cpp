// EventList rules: start, items, end, Cancelled, ListItems, items without ActionID.
#include "ami/detail/event_list.hpp"
#include "routing_support.hpp"

using ami::test::wire;
using namespace ami::detail;

TEST_CASE("a list starts with EventList: start in any case, or 'will follow' on old servers") {
  CHECK(opens_event_list(wire("Response: Success\nEventList: start\nMessage: x\n\n")));
  CHECK(opens_event_list(wire("Response: Success\nEventList: Start\n\n")));
  CHECK(opens_event_list(wire("Response: Success\neventlist: START\n\n")));
  CHECK(opens_event_list(wire("Response: Success\nMessage: Channels will follow\n\n")));
  CHECK(opens_event_list(wire("Response: Success\nMessage: Queue status WILL FOLLOW\n\n")));
  CHECK_FALSE(opens_event_list(wire("Response: Success\nMessage: Command output follows\n\n")));
  CHECK_FALSE(opens_event_list(wire("Response: Success\nPing: Pong\n\n")));
  // An explicit EventList field wins over the message text.
  CHECK_FALSE(opens_event_list(wire("Response: Success\nEventList: x\nMessage: will follow\n\n")));
}

TEST_CASE("list events: items, Complete by field or (old servers) by name, Cancelled") {
  CHECK(classify_list_event(wire("Event: CoreShowChannel\nActionID: 1\n\n")) == list_mark::item);
  CHECK(classify_list_event(wire("Event: StatusComplete\nEventList: Complete\n\n")) ==
        list_mark::complete);
  CHECK(classify_list_event(wire("Event: X\nEventList: complete\n\n")) == list_mark::complete);
  CHECK(classify_list_event(wire("Event: PeerlistComplete\nActionID: 3\n\n")) ==
        list_mark::complete);
  CHECK(classify_list_event(wire("Event: AgentsComplete\n\n")) == list_mark::complete);
  CHECK(classify_list_event(wire("Event: X\nEventList: Cancelled\n\n")) == list_mark::cancelled);
}

TEST_CASE("the collector counts items and checks ListItems") {
  list_collector lc("Status");
  ami::response r;
  CHECK_FALSE(lc.add(wire("Event: Status\nActionID: 5\nChannel: A\n\n"), r, true).done);
  CHECK_FALSE(lc.add(wire("Event: Status\nActionID: 5\nChannel: B\n\n"), r, true).done);
  const auto end = lc.add(
      wire("Event: StatusComplete\nActionID: 5\nEventList: Complete\nListItems: 2\nItems: 2\n\n"),
      r, true);
  CHECK(end.done);
  CHECK_FALSE(end.failed);
  REQUIRE(r.events().size() == 2);
  CHECK(r.events()[1].get("Channel") == "B");
  REQUIRE(r.complete() != nullptr);
  CHECK(r.complete()->name() == "StatusComplete");
  CHECK(r.events()[0].owns_bytes());
}

TEST_CASE("a ListItems mismatch or a bad count ends the list with list_incomplete") {
  for (const char* count : {"3", "1", "two", ""}) {
    CAPTURE(count);
    list_collector lc;
    ami::response r;
    lc.add(wire("Event: Item\nActionID: 1\n\n"), r, true);
    lc.add(wire("Event: Item\nActionID: 1\n\n"), r, true);
    const auto end = lc.add(wire(std::string("Event: ItemsComplete\nActionID: 1\nEventList: "
                                             "Complete\nListItems: ") +
                                 count + "\n\n"),
                            r, true);
    CHECK(end.done);
    CHECK(end.failed == ami::error::list_incomplete);
    CHECK(r.events().size() == 2);  // still delivered
  }
}

TEST_CASE("old servers: no ListItems, the end is the ...Complete name") {
  list_collector lc;
  ami::response r;
  lc.add(wire("Event: Agents\nActionID: 1\n\n"), r, true);
  const auto end = lc.add(wire("Event: AgentsComplete\nActionID: 1\n\n"), r, true);
  CHECK(end.done);
  CHECK_FALSE(end.failed);
  CHECK(lc.items() == 1);
}

TEST_CASE("Cancelled ends the list with list_incomplete") {
  list_collector lc;
  ami::response r;
  lc.add(wire("Event: Item\nActionID: 1\n\n"), r, true);
  const auto end =
      lc.add(wire("Event: ItemsComplete\nActionID: 1\nEventList: Cancelled\n\n"), r, true);
  CHECK(end.done);
  CHECK(end.failed == ami::error::list_incomplete);
}

TEST_CASE("an abandoned list counts items without keeping them") {
  list_collector lc;
  ami::response r;
  lc.add(wire("Event: Item\nActionID: 1\n\n"), r, false);
  CHECK(r.events().empty());
  CHECK(lc.items() == 1);
}

TEST_CASE("items without ActionID: known for IAXpeers, learned otherwise, never broadcasts") {
  list_collector iax("IAXpeers");
  CHECK(iax.may_accept_unmarked());
  CHECK(iax.accepts_unmarked(wire("Event: PeerEntry\nChanneltype: IAX2\n\n")));
  CHECK(iax.accepts_unmarked(wire("Event: peerentry\n\n")));
  CHECK_FALSE(iax.accepts_unmarked(wire("Event: PeerEntry\nPrivilege: system,all\n\n")));
  CHECK_FALSE(iax.accepts_unmarked(wire("Event: Newchannel\n\n")));

  list_collector other("DeviceStateList");
  CHECK_FALSE(other.may_accept_unmarked());
  ami::response r;
  other.add(wire("Event: DeviceStateChange\nActionID: 9\nDevice: A\n\n"), r, true);
  CHECK(other.may_accept_unmarked());
  CHECK(other.accepts_unmarked(wire("Event: DeviceStateChange\nDevice: B\n\n")));
  // The same event name broadcast by the server carries Privilege: not an item.
  CHECK_FALSE(
      other.accepts_unmarked(wire("Event: DeviceStateChange\nPrivilege: call,all\nDevice: C\n\n")));
}
