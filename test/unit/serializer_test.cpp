// The serializer: exact wire bytes, refusals that leave the output untouched, the 1024-byte
// line limit, round trips through the parser; and the action builder it reads.
#include "ami/proto/serializer.hpp"
#include "ami/action.hpp"
#include "ami/proto/parser.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

using ami::action;
using ami::proto::check_field;
using ami::proto::serialize;
using ami::proto::writer;

namespace {

const std::string prefix = "Action: Earlier\r\nActionID: 0\r\n\r\n";

// Serialises after some earlier bytes, as a send queue does, and checks they stay intact.
std::optional<ami::error> serialize_after_prefix(const action& a, std::string_view id,
                                                 std::string& out) {
  out = prefix;
  auto e = serialize(a, id, out);
  CHECK(out.compare(0, prefix.size(), prefix) == 0);
  return e;
}

}  // namespace

TEST_CASE("serialize: a simple action") {
  std::string out;
  CHECK_FALSE(serialize(action("Ping"), "1", out).has_value());
  CHECK(out == "Action: Ping\r\nActionID: 1\r\n\r\n");
}

TEST_CASE("serialize: fields in order, repeated keys kept, empty values") {
  action a("Originate");
  a.set("Channel", "Local/100@default")
      .add("Variable", "A=1")
      .add("Variable", "B=x:y")
      .set("Async", "true")
      .set("CallerID", "");
  std::string out;
  CHECK_FALSE(serialize(a, "42", out).has_value());
  CHECK(out ==
        "Action: Originate\r\nChannel: Local/100@default\r\nVariable: A=1\r\nVariable: B=x:y\r\n"
        "Async: true\r\nCallerID: \r\nActionID: 42\r\n\r\n");
}

TEST_CASE("serialize: appends after earlier bytes") {
  std::string out;
  REQUIRE_FALSE(serialize_after_prefix(action("Ping"), "p1", out).has_value());
  CHECK(out == prefix + "Action: Ping\r\nActionID: p1\r\n\r\n");
  REQUIRE_FALSE(serialize(action("Logoff"), "p2", out).has_value());
  CHECK(out ==
        prefix + "Action: Ping\r\nActionID: p1\r\n\r\nAction: Logoff\r\nActionID: p2\r\n\r\n");
}

TEST_CASE("serialize: the caller's ActionID is kept, not duplicated") {
  action a("Status");
  a.set("Channel", "SIP/100-00000001").set("actionid", "mine").set("Variables", "FOO");
  std::string out;
  CHECK_FALSE(serialize(a, "assigned-7", out).has_value());
  CHECK(out ==
        "Action: Status\r\nChannel: SIP/100-00000001\r\nactionid: mine\r\nVariables: FOO\r\n\r\n");
  CHECK(out.find("assigned-7") == std::string::npos);
  // The caller's own id is enough: no assigned one needed.
  out.clear();
  CHECK_FALSE(serialize(a, "", out).has_value());
  CHECK(out.find("actionid: mine") != std::string::npos);
}

TEST_CASE("serialize: an empty ActionID field gives way to the assigned one") {
  action a("Ping");
  a.set("ActionID", "");
  std::string out;
  CHECK_FALSE(serialize(a, "9", out).has_value());
  CHECK(out == "Action: Ping\r\nActionID: 9\r\n\r\n");
  out.clear();
  CHECK(serialize(a, "", out) == ami::error::missing_field);
  CHECK(out.empty());
}

TEST_CASE("serialize: missing ActionID or name is missing_field, out unchanged") {
  std::string out;
  CHECK(serialize_after_prefix(action("Ping"), "", out) == ami::error::missing_field);
  CHECK(out == prefix);
  CHECK(serialize_after_prefix(action(""), "1", out) == ami::error::missing_field);
  CHECK(out == prefix);
  CHECK(serialize_after_prefix(action(), "1", out) == ami::error::missing_field);
  CHECK(out == prefix);
}

TEST_CASE("serialize: injection attempts are invalid_field, out unchanged") {
  struct attempt {
    const char* what;
    std::string name;
    std::string key;
    std::string value;
    std::string id;
  };
  const std::vector<attempt> attempts{
      {"CR in value", "Ping", "Data", "a\rb", "1"},
      {"LF in value", "Ping", "Data", "a\nAction: Hangup", "1"},
      {"CRLF in value", "Ping", "Data", "x\r\n\r\nAction: Hangup\r\nChannel: all", "1"},
      {"trailing CRLF in value", "Ping", "Data", "x\r\n", "1"},
      {"CR in key", "Ping", "Da\rta", "v", "1"},
      {"LF in key", "Ping", "Da\nta", "v", "1"},
      {"CRLF in key", "Ping", "Action: Hangup\r\nX", "v", "1"},
      {"colon in key", "Ping", "Data:More", "v", "1"},
      {"colon ending key", "Ping", "Data:", "v", "1"},
      {"empty key", "Ping", "", "v", "1"},
      {"CRLF in name", "Ping\r\nAction: Hangup", "Data", "v", "1"},
      {"LF in name", "Ping\n", "Data", "v", "1"},
      {"CRLF in assigned id", "Ping", "Data", "v", "1\r\nAction: Hangup"},
      {"field named Action", "Ping", "Action", "Hangup", "1"},
      {"field named action", "Ping", "action", "Hangup", "1"},
  };
  for (const auto& t : attempts) {
    CAPTURE(t.what);
    action a(t.name);
    a.add("Before", "ok").add(t.key, t.value).add("After", "ok");
    std::string out;
    CHECK(serialize_after_prefix(a, t.id, out) == ami::error::invalid_field);
    CHECK(out == prefix);
  }
}

TEST_CASE("serialize: Asterisk's 1024-byte line limit, line end included") {
  // "Data: " + value + "\r\n" is 8 bytes plus the value.
  action ok("Ping");
  ok.set("Data", std::string(1016, 'v'));
  std::string out;
  REQUIRE_FALSE(serialize(ok, "1", out).has_value());
  const auto line_start = out.find("Data: ");
  const auto line_end = out.find("\r\n", line_start) + 2;
  CHECK(line_end - line_start == 1024);

  action too_long("Ping");
  too_long.set("Data", std::string(1017, 'v'));
  CHECK(serialize_after_prefix(too_long, "1", out) == ami::error::field_too_long);
  CHECK(out == prefix);

  // The name and the assigned id are lines too: "Action: " + name + "\r\n".
  out.clear();
  CHECK_FALSE(serialize(action(std::string(1014, 'n')), "1", out).has_value());
  CHECK(serialize_after_prefix(action(std::string(1015, 'n')), "1", out) ==
        ami::error::field_too_long);
  CHECK(out == prefix);
  out.clear();
  CHECK_FALSE(serialize(action("Ping"), std::string(1012, '1'), out).has_value());
  CHECK(serialize_after_prefix(action("Ping"), std::string(1013, '1'), out) ==
        ami::error::field_too_long);
  CHECK(out == prefix);
}

TEST_CASE("check_field") {
  CHECK_FALSE(check_field("Channel", "SIP/100").has_value());
  CHECK_FALSE(check_field("Named Callgroup", "").has_value());
  CHECK_FALSE(check_field("K", "value: with colon").has_value());
  CHECK(check_field("", "v") == ami::error::invalid_field);
  CHECK(check_field("A:B", "v") == ami::error::invalid_field);
  CHECK(check_field("K", "\r") == ami::error::invalid_field);
  CHECK(check_field("K\n", "v") == ami::error::invalid_field);
  CHECK_FALSE(check_field("K", std::string(1019, 'x')).has_value());  // 1 + 2 + 1019 + 2
  CHECK(check_field("K", std::string(1020, 'x')) == ami::error::field_too_long);
  // A bad key is reported as such even when the line is also too long.
  CHECK(check_field("K\r", std::string(2000, 'x')) == ami::error::invalid_field);
}

TEST_CASE("round trip: serialize, then parse as client-side bytes") {
  action a("Originate");
  a.set("Channel", "Local/100@default")
      .set("Named Callgroup", "sales")
      .set("SIP-T.38Support", "no")
      .add("Variable", "A=1")
      .add("Variable", "TIME=12:00:01")
      .set("Empty", "")
      .set("Spaced", "  two leading spaces")
      .set("Data", "(null)");
  std::string out;
  REQUIRE_FALSE(serialize(a, "rt-1", out).has_value());
  REQUIRE_FALSE(serialize(action("Ping"), "rt-2", out).has_value());

  ami::proto::parser_options o;
  o.expect_banner = false;
  ami::proto::parser p(o);
  p.feed(out);
  ami::message m;
  REQUIRE(p.next(m).status == ami::proto::parse_status::message);
  CHECK(m.is_action());
  CHECK(m.head() == "Originate");
  REQUIRE(m.size() == a.fields().size() + 2);
  CHECK(m[0].name == "Action");
  for (std::size_t i = 0; i < a.fields().size(); ++i) {
    CAPTURE(i);
    CHECK(m[i + 1].name == a.fields()[i].first);
    CHECK(m[i + 1].value == a.fields()[i].second);
  }
  CHECK(m.action_id() == "rt-1");
  CHECK(m[m.size() - 1].name == "ActionID");
  REQUIRE(p.next(m).status == ami::proto::parse_status::message);
  CHECK(m.head() == "Ping");
  CHECK(m.action_id() == "rt-2");
  CHECK(p.next(m).status == ami::proto::parse_status::need_more);
  CHECK_FALSE(p.finish().has_value());
}

TEST_CASE("writer: loose fields, exact bytes") {
  std::string out = prefix;
  writer w(out);
  w.field("Action", "Login").field("Username", "admin").field("Secret", "s3cret");
  w.field("ActionID", "1");
  CHECK_FALSE(w.finish().has_value());
  CHECK(out ==
        prefix + "Action: Login\r\nUsername: admin\r\nSecret: s3cret\r\nActionID: 1\r\n\r\n");
}

TEST_CASE("writer: the first error wins and out is restored") {
  std::string out = prefix;
  writer w(out);
  w.field("Action", "Login").field("Username", "admin");
  w.field("Secret", "bad\r\nAction: Hangup");  // invalid_field
  w.field("Key", std::string(2000, 'k'));      // would be field_too_long
  w.field("After", "never written");
  CHECK(w.finish() == ami::error::invalid_field);
  CHECK(out == prefix);

  std::string out2;
  writer w2(out2);
  w2.field("Action", "Challenge").field("AuthType", std::string(1100, 'x'));
  CHECK(w2.finish() == ami::error::field_too_long);
  CHECK(out2.empty());
}

TEST_CASE("action builder: set, add, erase, get, action_id") {
  action a("Originate");
  CHECK(a.name() == "Originate");
  a.set("Channel", "SIP/100").add("Variable", "A=1").add("Variable", "B=2");
  a.set("channel", "SIP/200");  // replaces in place, keeps the original key spelling
  REQUIRE(a.fields().size() == 3);
  CHECK(a.fields()[0] == std::pair<std::string, std::string>{"Channel", "SIP/200"});
  REQUIRE(a.get("CHANNEL") != nullptr);
  CHECK(*a.get("CHANNEL") == "SIP/200");
  CHECK(a.get("Missing") == nullptr);
  CHECK(*a.get("variable") == "A=1");
  CHECK(a.action_id().empty());
  a.set("ActionID", "x1");
  CHECK(a.action_id() == "x1");
  CHECK(a.erase("VARIABLE") == 2);
  CHECK(a.erase("Variable") == 0);
  CHECK(a.fields().size() == 2);
  a.set_name("Hangup");
  CHECK(a.name() == "Hangup");
  CHECK(action().name().empty());
}
