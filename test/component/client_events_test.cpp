// Events: all, by name, by glob, typed, list items, unknown names, throwing slots.
#include "client_support.hpp"

#include <boost/signals2/shared_connection_block.hpp>

#include <stdexcept>

using namespace std::chrono_literals;
using ami::test::client_fixture;
using ami::test::result;
using ami::testing::field_list;

namespace {

struct hangup {
  static constexpr std::string_view event_name = "Hangup";
  std::string channel;
  int cause = -1;
  static hangup from(const ami::event& e) {
    hangup h;
    h.channel = std::string(e.get_or("Channel"));
    const auto c = e.get_or("Cause");
    if (!c.empty()) h.cause = std::stoi(std::string(c));
    return h;
  }
};
static_assert(ami::is_typed_event_v<hangup>);

field_list ev(const std::string& name, const std::string& channel) {
  return {{"Event", name}, {"Privilege", "call,all"}, {"Channel", channel}, {"Cause", "16"}};
}

// Pushes the events, then a marker, and runs until the marker arrived.
void push_and_wait(client_fixture& f, const std::vector<field_list>& events) {
  bool marker = false;
  auto sub = f.c.on_event("TestMarker", [&](const ami::event&) { marker = true; });
  for (const auto& e : events) f.srv.push_event(e);
  f.srv.push_event({{"Event", "TestMarker"}, {"Privilege", "system,all"}});
  REQUIRE(ami::test::run_until(f.io, [&] { return marker; }));
}

}  // namespace

TEST_SUITE("client") {
  TEST_CASE("on_event by name (any case), by glob, for all, and typed") {
    client_fixture f;
    f.connect_ok();
    std::vector<std::string> all, hangups, queues;
    std::vector<hangup> typed;
    auto a = f.c.on_event([&](const ami::event& e) { all.emplace_back(e.name()); });
    auto h = f.c.on_event("hangup",
                          [&](const ami::event& e) { hangups.emplace_back(e.get_or("Channel")); });
    auto q = f.c.on_event("Queue*", [&](const ami::event& e) { queues.emplace_back(e.name()); });
    auto t = f.c.on<hangup>([&](const hangup& x) { typed.push_back(x); });
    push_and_wait(f, {ev("Newchannel", "A"), ev("Hangup", "A"), ev("QueueMemberStatus", "B"),
                      ev("QueueCallerJoin", "C"), ev("HANGUP", "D")});
    CHECK(hangups == std::vector<std::string>{"A", "D"});
    CHECK(queues == std::vector<std::string>{"QueueMemberStatus", "QueueCallerJoin"});
    REQUIRE(typed.size() == 2);
    CHECK(typed[0].channel == "A");
    CHECK(typed[0].cause == 16);
    // All unsolicited events, in order (SuccessfulAuth and FullyBooted came before).
    REQUIRE(all.size() >= 6);
    CHECK(std::vector<std::string>(all.end() - 6, all.end()) ==
          std::vector<std::string>{"Newchannel", "Hangup", "QueueMemberStatus", "QueueCallerJoin",
                                   "HANGUP", "TestMarker"});
  }

  TEST_CASE("unknown event names arrive like any other") {
    client_fixture f;
    f.connect_ok();
    std::vector<std::string> names;
    std::string value;
    auto a = f.c.on_event([&](const ami::event& e) { names.emplace_back(e.name()); });
    auto b = f.c.on_event("BrandNewEvent2031", [&](const ami::event& e) {
      value = std::string(e.get_or("Some Header.With-Dots"));
    });
    push_and_wait(f, {{{"Event", "BrandNewEvent2031"},
                       {"Privilege", "call,all"},
                       {"Some Header.With-Dots", "(null)"}}});
    CHECK(value == "(null)");
    CHECK(std::find(names.begin(), names.end(), "BrandNewEvent2031") != names.end());
  }

  TEST_CASE("disconnected, blocked and scoped connections stop delivery") {
    client_fixture f;
    f.connect_ok();
    int plain = 0, scoped = 0, blocked = 0;
    auto c1 = f.c.on_event("Hangup", [&](const ami::event&) { ++plain; });
    auto c3 = f.c.on_event("Hangup", [&](const ami::event&) { ++blocked; });
    {
      boost::signals2::scoped_connection c2 =
          f.c.on_event("Hangup", [&](const ami::event&) { ++scoped; });
      push_and_wait(f, {ev("Hangup", "A")});
    }
    {
      boost::signals2::shared_connection_block block(c3);
      push_and_wait(f, {ev("Hangup", "B")});
    }
    c1.disconnect();
    push_and_wait(f, {ev("Hangup", "C")});
    CHECK(plain == 2);
    CHECK(scoped == 1);
    CHECK(blocked == 2);
  }

  TEST_CASE("list items go to on_list_item and into the response, not to on_event") {
    client_fixture f;
    f.srv.on_action("ItemList", [](ami::testing::session& s, const ami::message& a) {
      s.respond(a, {{"Response", "Success"}, {"EventList", "start"}, {"Message", "will follow"}});
      s.respond(a, {{"Event", "Item"}, {"N", "1"}});
      s.respond(a, {{"Event", "Item"}, {"N", "2"}});
      s.respond(a, {{"Event", "ItemListComplete"}, {"EventList", "Complete"}, {"ListItems", "2"}});
      return true;
    });
    f.connect_ok();
    std::vector<std::string> items, events;
    auto a = f.c.on_list_item([&](const ami::event& e) { items.emplace_back(e.name()); });
    auto b = f.c.on_event([&](const ami::event& e) { events.emplace_back(e.name()); });
    events.clear();
    auto r = f.send(ami::action("ItemList"));
    CHECK_FALSE(*r.ec);
    CHECK(r.value.events().size() == 2);
    CHECK(items == std::vector<std::string>{"Item", "Item", "ItemListComplete"});
    CHECK(std::find(events.begin(), events.end(), "Item") == events.end());
  }

  TEST_CASE("a throwing slot: the handler sees it, other slots and the reader go on") {
    client_fixture f;
    f.connect_ok();
    std::vector<std::string> caught;
    f.c.set_exception_handler([&](std::exception_ptr e, const ami::event& at) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        caught.push_back(std::string(x.what()) + "@" + std::string(at.name()));
      }
    });
    int after = 0;
    auto a = f.c.on_event("Hangup", [](const ami::event&) { throw std::runtime_error("boom"); });
    auto b = f.c.on_event("Hangup", [&](const ami::event&) { ++after; });
    auto s = f.c.on_state([](ami::connection_state, const boost::system::error_code&) {
      throw std::logic_error("state");
    });
    push_and_wait(f, {ev("Hangup", "A"), ev("Hangup", "B")});
    CHECK(caught == std::vector<std::string>{"boom@Hangup", "boom@Hangup"});
    CHECK(after == 2);
    CHECK(f.c.stats().slot_exceptions == 2);
    CHECK_FALSE(*f.send(ami::action("Ping")).ec);
    // Without a handler the exception is only counted; a throwing handler is contained too.
    f.c.set_exception_handler([](std::exception_ptr, const ami::event&) { throw 42; });
    push_and_wait(f, {ev("Hangup", "C")});
    CHECK(after == 3);
    CHECK(f.c.stats().slot_exceptions == 4);
    f.c.set_exception_handler(nullptr);
    f.c.close();
    REQUIRE(ami::test::run_until(
        f.io, [&] { return f.c.state() == ami::connection_state::disconnected; }));
    CHECK(f.c.stats().slot_exceptions == 5);  // the state slot threw
  }

  TEST_CASE("slots subscribed from inside a slot, and events arriving with the login") {
    ami::testing::server_options o;
    client_fixture f(o);
    std::vector<std::string> early;
    auto a = f.c.on_event([&](const ami::event& e) { early.emplace_back(e.name()); });
    boost::signals2::connection inner;
    int inner_calls = 0;
    auto b = f.c.on_event("SuccessfulAuth", [&](const ami::event&) {
      inner = f.c.on_event("Hangup", [&](const ami::event&) { ++inner_calls; });
    });
    f.connect_ok();
    push_and_wait(f, {ev("Hangup", "A")});
    CHECK(inner_calls == 1);
    REQUIRE(early.size() >= 2);
    CHECK(early[0] == "FullyBooted");  // in the same TCP write as the login response
    CHECK(early[1] == "SuccessfulAuth");
  }

}  // TEST_SUITE
