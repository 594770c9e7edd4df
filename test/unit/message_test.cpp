// ami::message and ami::event built by hand: lookup, kinds, output(), ownership.
#include "ami/message.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

using ami::message;
using ami::message_kind;

namespace {

message sample_event() {
  message m;
  m.set_kind(message_kind::event);
  m.add_field("Event", "Newchannel");
  m.add_field("Channel", "SIP/100-00000001");
  m.add_field("ChanVariable", "A=1");
  m.add_field("chanvariable", "B=2");
  m.add_field("ActionID", "id-7");
  m.add_field("Empty", "");
  return m;
}

}  // namespace

TEST_CASE("iequals is ASCII case-insensitive and exact otherwise") {
  CHECK(ami::iequals("ActionID", "actionid"));
  CHECK(ami::iequals("ACTIONID", "ActionId"));
  CHECK(ami::iequals("", ""));
  CHECK(ami::iequals("SIP-T.38Support", "sip-t.38support"));
  CHECK_FALSE(ami::iequals("ActionID", "ActionI"));
  CHECK_FALSE(ami::iequals("a", ""));
  CHECK_FALSE(ami::iequals("Event", "Evenu"));
  // Only letters fold: '@' (0x40) and '`' (0x60) differ by 32 but are not a case pair.
  CHECK_FALSE(ami::iequals("@", "`"));
  CHECK_FALSE(ami::iequals("[", "{"));
  // Bytes above 127 compare exactly.
  CHECK(ami::iequals("\xC3\xA9", "\xC3\xA9"));
  CHECK_FALSE(ami::iequals("\xC3\xA9", "\xC3\x89"));
}

TEST_CASE("message lookup: get, get_or, get_all, has, operator[]") {
  const auto m = sample_event();
  CHECK(m.size() == 6);
  CHECK_FALSE(m.empty());
  CHECK(m[1].name == "Channel");
  CHECK(m[1].value == "SIP/100-00000001");
  CHECK(m.get("channel") == "SIP/100-00000001");
  CHECK_FALSE(m.get("Missing").has_value());
  CHECK(m.get("Empty").has_value());
  CHECK(m.get("Empty")->empty());
  CHECK(m.get_or("Missing", "dflt") == "dflt");
  CHECK(m.get_or("Missing").empty());
  CHECK(m.get_or("Empty", "dflt").empty());  // present but empty is not missing
  CHECK(m.get_all("CHANVARIABLE") == std::vector<std::string_view>{"A=1", "B=2"});
  CHECK(m.get_all("Missing").empty());
  CHECK(m.has("event"));
  CHECK_FALSE(m.has("Response"));
  std::vector<std::string_view> names;
  for (const auto& f : m) names.push_back(f.name);
  CHECK(names == std::vector<std::string_view>{"Event", "Channel", "ChanVariable", "chanvariable",
                                               "ActionID", "Empty"});
  CHECK(m.fields().size() == 6);
}

TEST_CASE("head, event_name and action_id by kind") {
  auto m = sample_event();
  CHECK(m.is_event());
  CHECK(m.head() == "Newchannel");
  CHECK(m.event_name() == "Newchannel");
  CHECK(m.action_id() == "id-7");

  message r;
  r.set_kind(message_kind::response);
  r.add_field("Response", "Error");
  r.add_field("Message", "Permission denied");
  CHECK(r.is_response());
  CHECK_FALSE(r.is_event());
  CHECK(r.head() == "Error");
  CHECK(r.event_name().empty());
  CHECK(r.action_id().empty());

  message a;
  a.set_kind(message_kind::action);
  a.add_field("Action", "Ping");
  CHECK(a.is_action());
  CHECK(a.head() == "Ping");
  CHECK(a.event_name().empty());

  const message none;
  CHECK(none.empty());
  CHECK(none.head().empty());
  CHECK(none.size() == 0);
}

TEST_CASE("to_string names every kind") {
  CHECK(std::string(ami::to_string(message_kind::banner)) == "banner");
  CHECK(std::string(ami::to_string(message_kind::action)) == "action");
  CHECK(std::string(ami::to_string(message_kind::response)) == "response");
  CHECK(std::string(ami::to_string(message_kind::event)) == "event");
  CHECK(std::string(ami::to_string(message_kind::text)) == "text");
}

TEST_CASE("output(): legacy lines first, else every Output field; never the banner") {
  message legacy;
  legacy.set_kind(message_kind::response);
  legacy.add_field("Response", "Follows");
  legacy.add_line("one");
  legacy.add_line("");
  CHECK(legacy.output() == std::vector<std::string_view>{"one", ""});
  CHECK(legacy.lines().size() == 2);

  message modern;
  modern.set_kind(message_kind::response);
  modern.add_field("Response", "Success");
  modern.add_field("Output", "one");
  modern.add_field("Message", "Command output follows");
  modern.add_field("output", "");
  CHECK(modern.output() == std::vector<std::string_view>{"one", ""});
  CHECK(modern.lines().empty());

  message banner;
  banner.set_kind(message_kind::banner);
  banner.add_line("Asterisk Call Manager/13.0.0");
  CHECK(banner.output().empty());
  CHECK(banner.lines().size() == 1);
  CHECK_FALSE(banner.empty());  // lines count as content

  message text;
  text.set_kind(message_kind::text);
  text.add_line("support has 0 calls");
  CHECK(text.output() == std::vector<std::string_view>{"support has 0 calls"});
}

TEST_CASE("copies own their bytes; the source may change or die") {
  std::string backing = "Event: Hangup|Cause: 16";
  message borrowed;
  borrowed.set_kind(message_kind::event);
  const std::string_view b(backing);
  borrowed.add_field(b.substr(0, 5), b.substr(7, 6));
  borrowed.add_field(b.substr(14, 5), b.substr(21, 2));
  borrowed.add_line(b.substr(0, 13));
  CHECK_FALSE(borrowed.owns_bytes());

  message copy(borrowed);
  message assigned;
  assigned.add_field("Old", "content");
  assigned = borrowed;
  for (auto& c : backing) c = '#';
  for (const message* m : {&copy, &assigned}) {
    CHECK(m->owns_bytes());
    CHECK(m->kind() == message_kind::event);
    CHECK(m->event_name() == "Hangup");
    CHECK(m->get("Cause") == "16");
    CHECK_FALSE(m->has("Old"));
    CHECK(m->lines() == std::vector<std::string_view>{"Event: Hangup"});
  }
  CHECK(borrowed.event_name() == "######");  // it really was a view
}

TEST_CASE("self-assignment, copy of a copy, empty values, empty message") {
  message m;
  m.set_kind(message_kind::response);
  m.add_field("Response", "Success");
  m.make_owned();
  const auto& alias = m;
  m = alias;
  CHECK(m.head() == "Success");
  CHECK(m.owns_bytes());

  const message second(m);
  CHECK(second.head() == "Success");
  CHECK(second.kind() == message_kind::response);
  CHECK(second[0].name.data() != m[0].name.data());

  // A message whose views are all empty still owns them once copied.
  message blank;
  blank.set_kind(message_kind::text);
  blank.add_line("");
  const message blank_copy(blank);
  CHECK(blank_copy.owns_bytes());
  CHECK(blank_copy.lines().size() == 1);
  CHECK(blank_copy.kind() == message_kind::text);

  const message empty;
  const message empty_copy(empty);
  CHECK(empty_copy.empty());
  CHECK(empty_copy.owns_bytes());
}

TEST_CASE("make_owned detaches from the source bytes; clear resets") {
  std::string backing = "Response: Success";
  message m;
  m.set_kind(message_kind::response);
  m.add_field(std::string_view(backing).substr(0, 8), std::string_view(backing).substr(10));
  m.make_owned();
  CHECK(m.owns_bytes());
  backing.assign(backing.size(), 'x');
  CHECK(m.head() == "Success");
  CHECK(m[0].name == "Response");
  m.make_owned();  // a second call keeps the content
  CHECK(m.head() == "Success");

  m.clear();
  CHECK(m.empty());
  CHECK(m.size() == 0);
  CHECK(m.lines().empty());
  CHECK(m.kind() == message_kind::event);
}

TEST_CASE("rebase re-points borrowed views, and leaves owned ones alone") {
  std::string first = "Event: Moved|K: v|raw";
  std::string second = first;
  const std::string_view f(first);
  message m;
  m.set_kind(message_kind::event);
  m.add_field(f.substr(0, 5), f.substr(7, 5));
  m.add_field(f.substr(13, 1), f.substr(16, 1));
  m.add_line(f.substr(18, 3));
  m.add_field(f.substr(18, 3), std::string_view{});  // a null view stays null
  m.rebase(first.data(), second.data());
  first.assign(first.size(), '#');
  CHECK(m.event_name() == "Moved");
  CHECK(m.get("K") == "v");
  CHECK(m.lines() == std::vector<std::string_view>{"raw"});
  CHECK(m[0].name.data() == second.data());
  REQUIRE(m.get("raw").has_value());
  CHECK(m.get("raw")->data() == nullptr);

  message owned(m);
  const char* where = owned[0].name.data();
  owned.rebase(second.data(), first.data());
  CHECK(owned[0].name.data() == where);
  CHECK(owned.event_name() == "Moved");
}

TEST_CASE("moving keeps content and storage") {
  auto m = sample_event();
  m.make_owned();
  const char* where = m[0].value.data();
  message moved(std::move(m));
  CHECK(moved.event_name() == "Newchannel");
  CHECK(moved[0].value.data() == where);
  CHECK(moved.owns_bytes());
  message target;
  target = std::move(moved);
  CHECK(target.get_all("ChanVariable").size() == 2);
  CHECK(target[0].value.data() == where);
}

TEST_CASE("ami::event wraps a message") {
  auto m = sample_event();
  const ami::event e(m);
  CHECK(e.name() == "Newchannel");
  CHECK(e.is_event());
  CHECK(e.owns_bytes());  // built from a copy
  CHECK(e.get("Channel") == "SIP/100-00000001");
  const ami::event copy = e;
  CHECK(copy.name() == "Newchannel");
  const ami::event none;
  CHECK(none.name().empty());
}
