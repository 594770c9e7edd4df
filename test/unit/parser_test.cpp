// The parser against the framing quirks of real servers, its limits, garbage, and the
// ownership rules of the messages it returns. Banner and version parsing are here too.
#include "../support/test_data.hpp"

#include "ami/proto/banner.hpp"
#include "ami/proto/parser.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

using ami::message_kind;
using ami::proto::parse_status;
using ami::proto::parser;
using ami::proto::parser_options;
using ami::proto::version;
using ami::test::outcome;

namespace {

using field_list = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// An expected message, owned.
outcome msg(message_kind kind, field_list fields,
            std::initializer_list<std::string_view> lines = {}) {
  ami::message m;
  m.set_kind(kind);
  for (const auto& [name, value] : fields) m.add_field(name, value);
  for (const auto line : lines) m.add_line(line);
  outcome o;
  o.msg = m;  // copying makes it owning
  return o;
}

outcome ev(field_list fields) { return msg(message_kind::event, fields); }
outcome resp(field_list fields, std::initializer_list<std::string_view> lines = {}) {
  return msg(message_kind::response, fields, lines);
}
outcome err(ami::error e) { return {true, e, {}}; }

void check_outcomes(const std::vector<outcome>& got, const std::vector<outcome>& want) {
  CHECK(got.size() == want.size());
  for (std::size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
    INFO("outcome " << i << ": got " << ami::test::describe(got[i]) << ", want "
                    << ami::test::describe(want[i]));
    CHECK(got[i] == want[i]);
  }
  for (std::size_t i = want.size(); i < got.size(); ++i) {
    INFO("extra outcome " << i << ": " << ami::test::describe(got[i]));
    CHECK(false);
  }
}

// Parses the bytes whole and byte by byte, and checks both against `want`.
void expect(std::string_view bytes, const std::vector<outcome>& want, parser_options o = {}) {
  {
    INFO("whole");
    check_outcomes(ami::test::parse_all(bytes, o), want);
  }
  {
    INFO("byte by byte");
    check_outcomes(ami::test::parse_chunks(bytes, {1}, o), want);
  }
}

parser_options client_side() {
  parser_options o;
  o.expect_banner = false;
  return o;
}

parser_options with_limits(std::size_t max_line, std::size_t max_fields, std::size_t max_message) {
  parser_options o;
  o.limits.max_line = max_line;
  o.limits.max_fields = max_fields;
  o.limits.max_message = max_message;
  return o;
}

// SplitMix64: a small, fixed-seed generator so that every run sees the same bytes.
class prng {
 public:
  explicit prng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31U);
  }
  // Uniform enough in [0, n) for tests.
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
  bool coin() { return (next() & 1U) != 0; }

 private:
  std::uint64_t state_;
};

// Reads every view of a message, so that a dangling one shows under ASan.
std::size_t touch(const ami::message& m) {
  std::size_t sum = 0;
  for (const auto& f : m) {
    for (const char c : f.name) sum += static_cast<unsigned char>(c);
    for (const char c : f.value) sum += static_cast<unsigned char>(c);
  }
  for (const auto& l : m.lines()) {
    for (const char c : l) sum += static_cast<unsigned char>(c);
  }
  return sum;
}

void check_banner(const std::string& line, std::string_view product,
                  std::optional<version> protocol) {
  CAPTURE(line);
  parser p;
  CHECK_FALSE(p.server_banner().has_value());
  p.feed(line + "\r\nResponse: Success\r\nActionID: 1\r\n\r\n");
  ami::message m;
  REQUIRE(p.next(m).status == parse_status::message);
  CHECK(m.kind() == message_kind::banner);
  CHECK(m.size() == 0);
  REQUIRE(m.lines().size() == 1);
  CHECK(m.lines()[0] == line);
  REQUIRE(p.server_banner().has_value());
  CHECK(p.server_banner()->text == line);
  CHECK(p.server_banner()->product == product);
  CHECK(p.server_banner()->protocol == protocol);
  REQUIRE(p.next(m).status == parse_status::message);
  CHECK(m.kind() == message_kind::response);
  CHECK(m.action_id() == "1");
  CHECK(p.next(m).status == parse_status::need_more);
  CHECK_FALSE(p.finish().has_value());
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Banner

TEST_CASE("banner: Asterisk master, AMI 13.0.0") {
  check_banner("Asterisk Call Manager/13.0.0", "Asterisk Call Manager", version{13, 0, 0});
}

TEST_CASE("banner: Asterisk 18, AMI 7.0.3") {
  check_banner("Asterisk Call Manager/7.0.3", "Asterisk Call Manager", version{7, 0, 3});
}

TEST_CASE("banner: Asterisk 1.8, AMI 1.1") {
  check_banner("Asterisk Call Manager/1.1", "Asterisk Call Manager", version{1, 1, 0});
}

TEST_CASE("banner: a proxy") {
  check_banner("Asterisk Call Manager Proxy/1.0", "Asterisk Call Manager Proxy", version{1, 0, 0});
}

TEST_CASE("banner: a fork") {
  check_banner("OpenPBX Call Manager/1.0", "OpenPBX Call Manager", version{1, 0, 0});
}

TEST_CASE("banner: without a version") {
  check_banner("Asterisk Call Manager", "Asterisk Call Manager", std::nullopt);
}

TEST_CASE("banner: split across reads, bare LF, waits for its line end") {
  parser p;
  ami::message m;
  p.feed("Asterisk Call Man");
  CHECK(p.next(m).status == parse_status::need_more);
  CHECK_FALSE(p.server_banner().has_value());
  CHECK(p.finish() == ami::error::incomplete_message);
  p.feed("ager/2.10.3\n");
  REQUIRE(p.next(m).status == parse_status::message);
  CHECK(m.kind() == message_kind::banner);
  CHECK(m.lines().at(0) == "Asterisk Call Manager/2.10.3");
  REQUIRE(p.server_banner().has_value());
  CHECK(p.server_banner()->protocol == version{2, 10, 3});
  CHECK_FALSE(p.finish().has_value());
}

TEST_CASE("banner: only the first line of a connection; reset() starts a new one") {
  parser p;
  p.feed("Asterisk Call Manager/5.0.0\r\nResponse: Success\r\n\r\n");
  std::vector<outcome> got;
  ami::test::drain(p, got);
  REQUIRE(got.size() == 2);
  // Later colon-less lines, with a '/' or not, start a text message.
  p.feed("Asterisk Call Manager/9.0.0\r\nLocal/100@default in use\r\n\r\n");
  got.clear();
  ami::test::drain(p, got);
  check_outcomes(got, {msg(message_kind::text, {},
                           {"Asterisk Call Manager/9.0.0", "Local/100@default in use"})});
  REQUIRE(p.server_banner().has_value());
  CHECK(p.server_banner()->protocol == version{5, 0, 0});

  p.reset();
  CHECK_FALSE(p.server_banner().has_value());
  p.feed("Asterisk Call Manager/9.0.0\r\n");
  got.clear();
  ami::test::drain(p, got);
  REQUIRE(got.size() == 1);
  CHECK(got[0].msg.kind() == message_kind::banner);
  REQUIRE(p.server_banner().has_value());
  CHECK(p.server_banner()->protocol == version{9, 0, 0});
}

TEST_CASE("banner: a server that sends none starts with a message") {
  expect("Response: Success\r\nActionID: 1\r\n\r\n",
         {resp({{"Response", "Success"}, {"ActionID", "1"}})});
  parser p;
  p.feed("Event: FullyBooted\r\n\r\n");
  ami::message m;
  REQUIRE(p.next(m).status == parse_status::message);
  CHECK(m.is_event());
  CHECK_FALSE(p.server_banner().has_value());
}

TEST_CASE("version parsing") {
  CHECK(ami::proto::parse_version("13.0.0") == version{13, 0, 0});
  CHECK(ami::proto::parse_version("2.10") == version{2, 10, 0});
  CHECK(ami::proto::parse_version("13") == version{13, 0, 0});
  CHECK(ami::proto::parse_version("1.2.3-rc1") == version{1, 2, 3});
  CHECK(ami::proto::parse_version("1.2.3.4") == version{1, 2, 3});
  CHECK(ami::proto::parse_version("1.") == version{1, 0, 0});
  CHECK(ami::proto::parse_version("1.x") == version{1, 0, 0});
  CHECK(ami::proto::parse_version("7.0.3 (extra)") == version{7, 0, 3});
  CHECK_FALSE(ami::proto::parse_version("").has_value());
  CHECK_FALSE(ami::proto::parse_version("abc").has_value());
  CHECK_FALSE(ami::proto::parse_version(" 1.0").has_value());
  CHECK_FALSE(ami::proto::parse_version("v1.0").has_value());
  CHECK_FALSE(ami::proto::parse_version("99999999999999999999").has_value());
  CHECK(version{13, 0, 0}.to_string() == "13.0.0");
  CHECK(version{2, 10, 0}.to_string() == "2.10.0");
}

TEST_CASE("version comparisons") {
  const version v13{13, 0, 0};
  const version v7{7, 0, 3};
  CHECK(v7 < v13);
  CHECK(v13 > v7);
  CHECK(v7 <= v13);
  CHECK(v13 >= v7);
  CHECK(v7 != v13);
  CHECK_FALSE(v7 == v13);
  CHECK(v7 == version{7, 0, 3});
  CHECK(v7 <= version{7, 0, 3});
  CHECK(v7 >= version{7, 0, 3});
  CHECK_FALSE(v7 < version{7, 0, 3});
  CHECK(version{2, 9, 9} < version{2, 10, 0});   // numeric, not textual
  CHECK(version{1, 99, 99} < version{2, 0, 0});  // major first
  CHECK(version{2, 8, 0} < version{2, 8, 1});    // then minor, then patch
  CHECK(version{5, 1, 0} > version{5, 0, 99});
}

TEST_CASE("parse_banner and at_least") {
  const auto b = ami::proto::parse_banner("Asterisk Call Manager/7.0.3");
  CHECK(b.text == "Asterisk Call Manager/7.0.3");
  CHECK(b.product == "Asterisk Call Manager");
  CHECK(b.at_least({7, 0, 0}));
  CHECK(b.at_least({7, 0, 3}));
  CHECK_FALSE(b.at_least({7, 0, 4}));
  CHECK_FALSE(b.at_least({13, 0, 0}));

  const auto none = ami::proto::parse_banner("Asterisk Call Manager");
  CHECK_FALSE(none.protocol.has_value());
  CHECK_FALSE(none.at_least({0, 0, 0}));

  const auto empty_version = ami::proto::parse_banner("Asterisk Call Manager/");
  CHECK(empty_version.product == "Asterisk Call Manager");
  CHECK_FALSE(empty_version.protocol.has_value());

  const auto two_slashes = ami::proto::parse_banner("CallWeaver/AMI/1.2");
  CHECK(two_slashes.product == "CallWeaver/AMI");
  CHECK(two_slashes.protocol == version{1, 2, 0});
}

// ---------------------------------------------------------------------------------------
// Framing quirks

TEST_CASE("CRLF and bare LF line ends give the same messages") {
  const std::vector<outcome> want{
      ev({{"Event", "Newchannel"}, {"Channel", "Local/100@default-0001;1"}}),
      resp({{"Response", "Success"}, {"ActionID", "7"}})};
  expect(
      "Event: Newchannel\r\nChannel: Local/100@default-0001;1\r\n\r\n"
      "Response: Success\r\nActionID: 7\r\n\r\n",
      want);
  expect(
      "Event: Newchannel\nChannel: Local/100@default-0001;1\n\n"
      "Response: Success\nActionID: 7\n\n",
      want);
  expect(
      "Event: Newchannel\r\nChannel: Local/100@default-0001;1\n\r\n"
      "Response: Success\nActionID: 7\r\n\n",
      want);
}

TEST_CASE("a message ending CRLF LF") {
  expect("Event: QueueMemberStatus\r\nQueue: support\r\n\nEvent: Next\r\n\r\n",
         {ev({{"Event", "QueueMemberStatus"}, {"Queue", "support"}}), ev({{"Event", "Next"}})});
}

TEST_CASE("a bare LF inside a message (Agents CallStarted)") {
  expect(
      "Event: Agents\r\nAgent: 1001\r\nStatus: AGENT_ONCALL\r\nCallStarted: 1700000000\n"
      "TalkingToChan: SIP/100-00000001\r\nActionID: a1\r\n\r\n"
      "Event: AgentsComplete\r\nActionID: a1\r\n\r\n",
      {ev({{"Event", "Agents"},
           {"Agent", "1001"},
           {"Status", "AGENT_ONCALL"},
           {"CallStarted", "1700000000"},
           {"TalkingToChan", "SIP/100-00000001"},
           {"ActionID", "a1"}}),
       ev({{"Event", "AgentsComplete"}, {"ActionID", "a1"}})});
}

TEST_CASE("extra empty messages produce nothing and lose nothing") {
  expect(
      "\r\n\r\nEvent: QueueRule\r\nRule: default\r\n\r\n\r\n\r\n\r\n\r\n\n\r\n"
      "Event: After\r\nK: v\r\n\r\n\r\n\r\n",
      {ev({{"Event", "QueueRule"}, {"Rule", "default"}}), ev({{"Event", "After"}, {"K", "v"}})});
  CHECK(ami::test::parse_all("\r\n\r\n\n\r\n").empty());
}

TEST_CASE("a line without a colon is a field named by the line with an empty value") {
  // Asterisk 11 UserEvent: the body line has no key.
  parser p;
  p.feed("Event: UserEvent\r\nUserEvent: Spy\r\nthe raw body line\r\nUniqueid: 1.2\r\n\r\n");
  ami::message m;
  REQUIRE(p.next(m).status == parse_status::message);
  REQUIRE(m.size() == 4);
  CHECK(m[2].name == "the raw body line");
  CHECK(m[2].value.empty());
  CHECK(m.get("the raw body line") == std::string_view{});
  CHECK(m.get("Uniqueid") == "1.2");
}

TEST_CASE("empty values with and without the space") {
  expect("Event: Hangup\r\nCallerIDName:\r\nConnectedLineName: \r\nCause: 16\r\n\r\n",
         {ev({{"Event", "Hangup"},
              {"CallerIDName", ""},
              {"ConnectedLineName", ""},
              {"Cause", "16"}})});
}

TEST_CASE("only the first space after the colon is dropped") {
  parser p;
  p.feed("Event: X\r\nA:   three spaces  \r\nB:no space\r\nC: \t tab\r\n\r\n");
  ami::message m;
  REQUIRE(p.next(m).status == parse_status::message);
  CHECK(m.get("A") == "  three spaces  ");
  CHECK(m.get("B") == "no space");
  CHECK(m.get("C") == "\t tab");
}

TEST_CASE("fields split at the first colon") {
  expect(
      "Event: SuccessfulAuth\r\nEventTV: 2026-11-26T03:09:40.944+0000\r\n"
      "Channel: SIP/100-0000:x\r\nTimestamp: 1764126580.944021\r\nData: a:b::c:\r\n\r\n",
      {ev({{"Event", "SuccessfulAuth"},
           {"EventTV", "2026-11-26T03:09:40.944+0000"},
           {"Channel", "SIP/100-0000:x"},
           {"Timestamp", "1764126580.944021"},
           {"Data", "a:b::c:"}})});
}

TEST_CASE("repeated keys are all kept, in order") {
  parser p;
  p.feed(
      "Action: Originate\r\nVariable: A=1\r\nChannel: Local/100@default\r\nVariable: B=2\r\n"
      "Variable: C=x:y\r\n\r\n"
      "Response: Success\r\nOutput: first\r\nOutput: \r\nOutput: third\r\n\r\n"
      "Event: Newchannel\r\nChanVariable(SIP/100-0001): FOO=1\r\n"
      "ChanVariable(SIP/100-0001): BAR=2\r\n\r\n");
  ami::message m;
  REQUIRE(p.next(m).status == parse_status::message);
  CHECK(m.is_action());
  CHECK(m.get_all("Variable") == std::vector<std::string_view>{"A=1", "B=2", "C=x:y"});
  CHECK(m.get("Variable") == "A=1");
  CHECK(m[2].name == "Channel");
  REQUIRE(p.next(m).status == parse_status::message);
  CHECK(m.get_all("Output") == std::vector<std::string_view>{"first", "", "third"});
  REQUIRE(p.next(m).status == parse_status::message);
  CHECK(m.get_all("ChanVariable(SIP/100-0001)") == std::vector<std::string_view>{"FOO=1", "BAR=2"});
}

TEST_CASE("get and get_all are case-insensitive") {
  parser p;
  p.feed("Response: Success\r\nActionID: 12\r\nVARIABLE: a\r\nvariable: b\r\n\r\n");
  ami::message m;
  REQUIRE(p.next(m).status == parse_status::message);
  CHECK(m.get("actionid") == "12");
  CHECK(m.get("ACTIONID") == "12");
  CHECK(m.action_id() == "12");
  CHECK(m.get_all("Variable") == std::vector<std::string_view>{"a", "b"});
  CHECK(m.get_or("Missing", "fallback") == "fallback");
  CHECK_FALSE(m.has("Action"));
  CHECK(m.has("RESPONSE"));
}

TEST_CASE("header names with spaces and dots, and (null) values") {
  parser p;
  p.feed(
      "Response: Success\r\nActionID: 3\r\nNamed Callgroup: \r\nNamed Pickupgroup: sales\r\n"
      "SIP-T.38Support: No\r\nSIP-Sess-Refresh: uas\r\nMD5SecretExist: N\r\n"
      "Parkinglot: (null)\r\n\r\n");
  ami::message m;
  REQUIRE(p.next(m).status == parse_status::message);
  CHECK(m.get("Named Callgroup") == "");
  CHECK(m.get("named pickupgroup") == "sales");
  CHECK(m.get("SIP-T.38Support") == "No");
  CHECK(m.get("Parkinglot") == "(null)");
  CHECK(m.size() == 8);
}

TEST_CASE("events in the same read as the Login response") {
  parser p;
  p.feed("Asterisk Call Manager/13.0.0\r\n");
  ami::message m;
  REQUIRE(p.next(m).status == parse_status::message);
  p.feed(
      "Response: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n\r\n"
      "Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n"
      "Event: SuccessfulAuth\r\nPrivilege: security,all\r\nAccountID: admin\r\n\r\n");
  std::vector<outcome> got;
  ami::test::drain(p, got);
  check_outcomes(
      got,
      {resp({{"Response", "Success"}, {"ActionID", "1"}, {"Message", "Authentication accepted"}}),
       ev({{"Event", "FullyBooted"}, {"Privilege", "system,all"}, {"Status", "Fully Booted"}}),
       ev({{"Event", "SuccessfulAuth"}, {"Privilege", "security,all"}, {"AccountID", "admin"}})});
}

TEST_CASE("OriginateResponse is an event although it carries Response") {
  parser p;
  p.feed(
      "Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: o1\r\nResponse: Failure\r\n"
      "Channel: Local/100@default\r\nReason: 5\r\n\r\n"
      "Response: Success\r\nEvent: NotAnEvent\r\n\r\n");
  ami::message m;
  REQUIRE(p.next(m).status == parse_status::message);
  CHECK(m.kind() == message_kind::event);
  CHECK(m.is_event());
  CHECK_FALSE(m.is_response());
  CHECK(m.event_name() == "OriginateResponse");
  CHECK(m.get("Response") == "Failure");
  CHECK(m.get("Reason") == "5");
  REQUIRE(p.next(m).status == parse_status::message);
  CHECK(m.kind() == message_kind::response);  // the first field wins both ways
  CHECK(m.event_name().empty());
  CHECK(m.head() == "Success");
}

TEST_CASE("legacy Response: Follows Command output") {
  const std::string body =
      "Response: Follows\r\nPrivilege: Command\r\nActionID: 42\r\n"
      "Name/username             Host            Dyn Port     Status\n"
      "100/100                   127.0.0.1       D   5060     OK (1 ms)\n"
      "\n"
      "Last reload: 12:00:01 ago\n"
      "2 sip peers [Monitored: 1 online, 1 offline]\n"
      "--END COMMAND--\r\n\r\n"
      "Event: After\r\nK: v\r\n\r\n";
  const std::vector<std::string_view> lines{
      "Name/username             Host            Dyn Port     Status",
      "100/100                   127.0.0.1       D   5060     OK (1 ms)", "",
      "Last reload: 12:00:01 ago", "2 sip peers [Monitored: 1 online, 1 offline]"};
  expect(body, {msg(message_kind::response,
                    {{"Response", "Follows"}, {"Privilege", "Command"}, {"ActionID", "42"}},
                    {lines[0], lines[1], lines[2], lines[3], lines[4]}),
                ev({{"Event", "After"}, {"K", "v"}})});
  parser p;
  p.feed(body);
  ami::message m;
  REQUIRE(p.next(m).status == parse_status::message);
  CHECK(m.is_response());
  CHECK(m.head() == "Follows");
  CHECK(m.action_id() == "42");
  CHECK(m.lines() == lines);
  CHECK(m.output() == lines);
}

TEST_CASE("legacy Command output with the marker glued to the last line") {
  expect(
      "Response: Follows\r\nPrivilege: Command\r\nActionID: 9\r\n"
      "Asterisk 1.4.44 built by root\n"
      "No newline here--END COMMAND--\r\n\r\nEvent: After\r\n\r\n",
      {msg(message_kind::response,
           {{"Response", "Follows"}, {"Privilege", "Command"}, {"ActionID", "9"}},
           {"Asterisk 1.4.44 built by root", "No newline here"}),
       ev({{"Event", "After"}})});
}

TEST_CASE("legacy output starting with an empty line (core show settings)") {
  expect(
      "Response: Follows\r\nPrivilege: Command\r\nActionID: 3\r\n"
      "\nPBX Core settings\n-----------------\n  Version: 1.8.32.3\n\n--END COMMAND--\r\n\r\n"
      "Event: After\r\n\r\n",
      {msg(message_kind::response,
           {{"Response", "Follows"}, {"Privilege", "Command"}, {"ActionID", "3"}},
           {"", "PBX Core settings", "-----------------", "  Version: 1.8.32.3", ""}),
       ev({{"Event", "After"}})});
}

TEST_CASE("legacy output with another --END ... -- marker, and empty output") {
  expect(
      "Response: Follows\r\nActionID: 10\r\nline: with colon\n--END DATA--\r\n\r\n"
      "Response: Follows\r\nPrivilege: Command\r\n--END COMMAND--\r\n\r\n"
      "Event: After\r\n\r\n",
      {msg(message_kind::response, {{"Response", "Follows"}, {"ActionID", "10"}},
           {"line: with colon"}),
       msg(message_kind::response, {{"Response", "Follows"}, {"Privilege", "Command"}}, {}),
       ev({{"Event", "After"}})});
}

TEST_CASE("new-style Output lines give the same output() as the legacy body") {
  parser p;
  p.feed(
      "Response: Follows\r\nPrivilege: Command\r\nActionID: 1\r\n"
      "Asterisk 18.0.0 built\n\nTime: 10:00\n--END COMMAND--\r\n\r\n"
      "Response: Success\r\nActionID: 2\r\nMessage: Command output follows\r\n"
      "Output: Asterisk 18.0.0 built\r\nOutput: \r\nOutput: Time: 10:00\r\n\r\n");
  ami::message legacy;
  ami::message modern;
  REQUIRE(p.next(legacy).status == parse_status::message);
  REQUIRE(p.next(modern).status == parse_status::message);
  const std::vector<std::string_view> want{"Asterisk 18.0.0 built", "", "Time: 10:00"};
  CHECK(legacy.output() == want);
  CHECK(modern.output() == want);
  CHECK(modern.lines().empty());
  CHECK(modern.get("Message") == "Command output follows");
}

TEST_CASE("EventList casing is kept as sent") {
  parser p;
  p.feed(
      "Response: Success\r\nActionID: l1\r\nEventList: start\r\nMessage: Channels will "
      "follow\r\n\r\n"
      "Response: Success\r\nActionID: l2\r\nEventList: Start\r\n\r\n"
      "Event: CoreShowChannelsComplete\r\nActionID: l1\r\nEventList: Complete\r\nListItems: "
      "0\r\n\r\n");
  ami::message m;
  REQUIRE(p.next(m).status == parse_status::message);
  CHECK(m.get("eventlist") == "start");
  REQUIRE(p.next(m).status == parse_status::message);
  CHECK(m.get("EventList") == "Start");
  REQUIRE(p.next(m).status == parse_status::message);
  CHECK(m.get("EventList") == "Complete");
  CHECK(m.get("ListItems") == "0");
}

TEST_CASE("raw text without Response or Event (old Queues output)") {
  const std::string first =
      "support has 0 calls (max unlimited) in 'ringall' strategy (0s holdtime, 0s talktime), "
      "W:0, C:0, A:0, SL:0.0% within 0s";
  const std::string bytes = "Asterisk Call Manager/1.1\r\n" + first +
                            "\n   No Members\n   No Callers\n\n"
                            "sales has 1 calls (max 10) in 'rrmemory' strategy\n"
                            "   Members: \n      Local/100@default (dynamic) (Not in use)\n"
                            "   Callers: \n      1. SIP/200-00000001 (wait: 0:05, prio: 0)\n\n"
                            "\r\nEvent: After\r\n\r\n";
  parser_options o;
  expect(bytes,
         {msg(message_kind::banner, {}, {"Asterisk Call Manager/1.1"}),
          msg(message_kind::text, {}, {first, "   No Members", "   No Callers"}),
          msg(message_kind::text, {},
              {"sales has 1 calls (max 10) in 'rrmemory' strategy",
               "   Members: ", "      Local/100@default (dynamic) (Not in use)",
               "   Callers: ", "      1. SIP/200-00000001 (wait: 0:05, prio: 0)"}),
          ev({{"Event", "After"}})},
         o);
  const auto got = ami::test::parse_all(bytes);
  REQUIRE(got.size() == 4);
  CHECK(got[1].msg.kind() == message_kind::text);
  CHECK(got[1].msg.size() == 0);
  CHECK(got[1].msg.head().empty());
  CHECK(got[1].msg.output().size() == 3);
}

TEST_CASE("client-side bytes: actions, no banner expected") {
  const std::string bytes =
      "Action: Login\r\nUsername: admin\r\nSecret: s3cret\r\nActionID: 1\r\n\r\n"
      "Action: Originate\r\nChannel: Local/100@default\r\nVariable: A=1\r\nVariable: B=2\r\n"
      "ActionID: 2\r\n\r\n";
  expect(
      bytes,
      {msg(message_kind::action,
           {{"Action", "Login"}, {"Username", "admin"}, {"Secret", "s3cret"}, {"ActionID", "1"}}),
       msg(message_kind::action, {{"Action", "Originate"},
                                  {"Channel", "Local/100@default"},
                                  {"Variable", "A=1"},
                                  {"Variable", "B=2"},
                                  {"ActionID", "2"}})},
      client_side());
  // Without a banner expected, a colon-less first line is text, not a banner.
  parser p(client_side());
  p.feed("Asterisk Call Manager/1.0\r\n\r\n");
  ami::message m;
  REQUIRE(p.next(m).status == parse_status::message);
  CHECK(m.kind() == message_kind::text);
  CHECK_FALSE(p.server_banner().has_value());
}

// ---------------------------------------------------------------------------------------
// Limits

TEST_CASE("limits: line_too_long on a complete line, then the next message is intact") {
  const auto o = with_limits(32, 100, 100000);
  const std::string long_value(40, 'x');
  expect("Event: A\r\nLong: " + long_value + "\r\nMore: 1\r\n\r\nEvent: B\r\nK: v\r\n\r\n",
         {err(ami::error::line_too_long), ev({{"Event", "B"}, {"K", "v"}})}, o);
  // The overlong line first, outside a message.
  expect(std::string(33, 'y') + "\r\n\r\nEvent: B\r\n\r\n",
         {err(ami::error::line_too_long), ev({{"Event", "B"}})}, o);
  // Two overlong lines in one message are one dropped message: one error.
  expect("Event: A\r\nL1: " + long_value + "\r\nL2: " + long_value + "\r\n\r\nEvent: B\r\n\r\n",
         {err(ami::error::line_too_long), ev({{"Event", "B"}})}, o);
}

TEST_CASE("limits: line length boundary, line end excluded") {
  const auto o = with_limits(32, 100, 100000);
  const std::string exact = "K: " + std::string(29, 'a');  // 32 bytes
  REQUIRE(exact.size() == 32);
  expect("Event: A\r\n" + exact + "\r\n\r\n", {ev({{"Event", "A"}, {"K", std::string(29, 'a')}})},
         o);
  expect("Event: A\n" + exact + "\n\n", {ev({{"Event", "A"}, {"K", std::string(29, 'a')}})}, o);
  expect("Event: A\r\n" + exact + "b\r\n\r\nEvent: B\r\n\r\n",
         {err(ami::error::line_too_long), ev({{"Event", "B"}})}, o);
}

TEST_CASE("limits: line_too_long on an incomplete line is reported before its end arrives") {
  const auto o = with_limits(32, 100, 100000);
  parser p(o);
  ami::message m;
  p.feed("Event: A\r\nLong: ");
  CHECK(p.next(m).status == parse_status::need_more);
  p.feed(std::string(100, 'x'));
  const auto r = p.next(m);
  CHECK(r.status == parse_status::error);
  CHECK(r.ec == ami::error::line_too_long);
  CHECK(p.next(m).status == parse_status::need_more);
  p.feed(std::string(100, 'x'));  // more of the same line: dropped quietly
  CHECK(p.next(m).status == parse_status::need_more);
  CHECK(p.buffered() == 0);
  p.feed("xx\r\nMore: 1\r\n\r\nEvent: B\r\nK: v\r\n\r\n");
  std::vector<outcome> got;
  ami::test::drain(p, got);
  check_outcomes(got, {ev({{"Event", "B"}, {"K", "v"}})});
  CHECK_FALSE(p.finish().has_value());
}

TEST_CASE("limits: too_many_fields, then the next message is intact") {
  const auto o = with_limits(1024, 4, 100000);
  expect(
      "Event: A\r\nK1: 1\r\nK2: 2\r\nK3: 3\r\n\r\nEvent: B\r\nK1: 1\r\nK2: 2\r\nK3: 3\r\nK4: 4\r\n"
      "K5: 5\r\n\r\nEvent: C\r\n\r\n",
      {ev({{"Event", "A"}, {"K1", "1"}, {"K2", "2"}, {"K3", "3"}}),
       err(ami::error::too_many_fields), ev({{"Event", "C"}})},
      o);
  // Body lines of legacy output and text lines count too.
  expect(
      "Response: Follows\r\na\nb\nc\nd\ne\n--END COMMAND--\r\n\r\n"
      "Event: C\r\n\r\nline1: x\nl2\nl3\nl4\nl5\n\nEvent: D\r\n\r\n",
      {err(ami::error::too_many_fields), ev({{"Event", "C"}}), err(ami::error::too_many_fields),
       ev({{"Event", "D"}})},
      o);
}

TEST_CASE("limits: message_too_large at the exact boundary, line ends included") {
  const std::string a = "Event: A\r\nK: 12345\r\n\r\n";  // 22 bytes
  REQUIRE(a.size() == 22);
  const std::string next = "Event: B\r\n\r\n";
  expect(a + next, {ev({{"Event", "A"}, {"K", "12345"}}), ev({{"Event", "B"}})},
         with_limits(1024, 100, 22));
  expect(a + next, {err(ami::error::message_too_large), ev({{"Event", "B"}})},
         with_limits(1024, 100, 21));
  expect("Event: A\r\nK: 12345\r\nL: 1\r\nM: 2\r\n\r\n" + next,
         {err(ami::error::message_too_large), ev({{"Event", "B"}})}, with_limits(1024, 100, 22));
}

TEST_CASE("limits: message_too_large on an incomplete line is reported before its end arrives") {
  parser p(with_limits(1024, 100, 64));
  ami::message m;
  p.feed("Event: A\r\nK: 1\r\nLong: ");
  CHECK(p.next(m).status == parse_status::need_more);
  p.feed(std::string(60, 'z'));
  const auto r = p.next(m);
  CHECK(r.status == parse_status::error);
  CHECK(r.ec == ami::error::message_too_large);
  p.feed("zzz\r\nMore: 1\r\n\r\nEvent: B\r\nK: v\r\n\r\n");
  std::vector<outcome> got;
  ami::test::drain(p, got);
  check_outcomes(got, {ev({{"Event", "B"}, {"K", "v"}})});
}

TEST_CASE("limits: endless garbage without newlines keeps the buffer bounded") {
  parser p(with_limits(1024, 100, 64 * 1024));
  prng rng(7);
  std::string chunk(16 * 1024, 'x');
  std::size_t errors = 0;
  std::size_t max_capacity = 0;
  std::size_t max_buffered = 0;
  ami::message m;
  for (std::size_t fed = 0; fed < 10 * 1024 * 1024; fed += chunk.size()) {
    for (auto& c : chunk) c = static_cast<char>('!' + rng.below(90));  // printable, no LF
    p.feed(chunk);
    for (;;) {
      const auto r = p.next(m);
      if (r.status == parse_status::need_more) break;
      CHECK(r.status == parse_status::error);
      CHECK(r.ec == ami::error::line_too_long);
      ++errors;
    }
    max_capacity = std::max(max_capacity, p.capacity());
    max_buffered = std::max(max_buffered, p.buffered());
  }
  CHECK(errors == 1);
  CHECK(max_capacity <= 64 * 1024);
  CHECK(max_buffered <= 1025);
  p.feed("\r\n\r\nEvent: B\r\n\r\n");
  std::vector<outcome> got;
  ami::test::drain(p, got);
  check_outcomes(got, {ev({{"Event", "B"}})});
}

TEST_CASE("limits: an endless message of short lines keeps the buffer bounded") {
  parser p(with_limits(1024, 1000000, 8192));
  std::string chunk;
  while (chunk.size() < 8000) chunk += "Key: value\r\n";
  p.feed("Event: Endless\r\n");
  std::size_t errors = 0;
  std::size_t max_capacity = 0;
  ami::message m;
  for (int i = 0; i < 256; ++i) {  // 2 MB
    p.feed(chunk);
    for (;;) {
      const auto r = p.next(m);
      if (r.status == parse_status::need_more) break;
      CHECK(r.status == parse_status::error);
      CHECK(r.ec == ami::error::message_too_large);
      ++errors;
    }
    max_capacity = std::max(max_capacity, p.capacity());
  }
  CHECK(errors == 1);
  CHECK(max_capacity <= 64 * 1024);
  CHECK(p.buffered() < 16);
  p.feed("\r\nEvent: B\r\n\r\n");
  std::vector<outcome> got;
  ami::test::drain(p, got);
  check_outcomes(got, {ev({{"Event", "B"}})});
}

TEST_CASE("garbage bytes never throw, stay bounded, and the stream recovers") {
  const parser_options variants[] = {parser_options{}, with_limits(64, 8, 256), client_side()};
  std::uint64_t seed = 1;
  for (const auto& o : variants) {
    CAPTURE(seed);
    prng rng(seed++);
    std::string garbage(512 * 1024, '\0');
    for (auto& c : garbage) {
      const auto pick = rng.below(100);
      if (pick < 8) {
        c = '\n';
      } else if (pick < 12) {
        c = '\r';
      } else if (pick < 16) {
        c = ':';
      } else if (pick < 20) {
        c = '\0';
      } else {
        c = static_cast<char>(rng.below(256));
      }
    }
    parser p(o);
    ami::message m;
    std::size_t messages = 0;
    std::size_t sum = 0;
    std::size_t max_capacity = 0;
    std::size_t pos = 0;
    CHECK_NOTHROW([&] {
      while (pos < garbage.size()) {
        const std::size_t n = std::min(1 + rng.below(4096), garbage.size() - pos);
        if (rng.coin()) {
          p.feed(std::string_view(garbage).substr(pos, n));
        } else {
          std::memcpy(p.prepare(n), garbage.data() + pos, n);
          p.commit(n);
        }
        pos += n;
        for (;;) {
          const auto r = p.next(m);
          if (r.status == parse_status::need_more) break;
          if (r.status == parse_status::message) {
            ++messages;
            sum += touch(m);
          }
        }
        max_capacity = std::max(max_capacity, p.capacity());
      }
      (void)p.finish();
    }());
    CHECK(pos == garbage.size());
    CHECK(messages > 0);
    CHECK(sum > 0);
    CHECK(max_capacity <= 64 * 1024);
    p.feed("\r\n\r\nEvent: Tail\r\nK: v\r\n\r\n");
    std::vector<outcome> got;
    ami::test::drain(p, got);
    REQUIRE_FALSE(got.empty());
    CHECK(got.back() == ev({{"Event", "Tail"}, {"K", "v"}}));
    CHECK_FALSE(p.finish().has_value());
  }
}

TEST_CASE("truncated input: finish() reports incomplete_message") {
  const std::string full = "Event: A\r\nK: v\r\n\r\n";
  for (std::size_t cut = 1; cut < full.size() - 1; ++cut) {
    CAPTURE(cut);
    parser p;
    p.feed(full.substr(0, cut));
    ami::message m;
    CHECK(p.next(m).status == parse_status::need_more);
    CHECK(p.finish() == ami::error::incomplete_message);
    CHECK(p.buffered() == cut);
  }
  parser p;
  p.feed(full + "\r\n\n");
  ami::message m;
  CHECK(p.next(m).status == parse_status::message);
  CHECK(p.next(m).status == parse_status::need_more);
  CHECK_FALSE(p.finish().has_value());
  CHECK(p.buffered() == 0);
  // The last message without its blank line.
  const auto got = ami::test::parse_all("Event: A\r\n\r\nEvent: B\r\nK: v\r\n");
  check_outcomes(got, {ev({{"Event", "A"}}), err(ami::error::incomplete_message)});
  // Truncated legacy output: the body never ended.
  CHECK(ami::test::parse_all("Response: Follows\r\nActionID: 1\r\nline\n\n").back() ==
        err(ami::error::incomplete_message));
}

TEST_CASE("property: random valid streams, random splits and line ends, parse canonically") {
  // Each message is a list of lines (without line ends) and its expected parse.
  struct message_spec {
    std::vector<std::string> lines;
    outcome expected;
  };
  prng rng(2024);
  const char* const keys[] = {"Channel",
                              "Uniqueid",
                              "Variable",
                              "Output",
                              "Named Callgroup",
                              "SIP-T.38Support",
                              "ChanVariable(SIP/1-0001)",
                              "Exten",
                              "Cause"};
  auto random_value = [&rng] {
    static const char alphabet[] = "abcXYZ019 :/@-_.()=;,%";
    std::string v;
    const std::size_t n = rng.below(24);
    for (std::size_t i = 0; i < n; ++i) v += alphabet[rng.below(sizeof(alphabet) - 1)];
    return v;
  };
  auto make_message = [&]() {
    message_spec s;
    ami::message m;
    std::vector<std::string> names;  // the strings behind the views until the copy
    std::vector<std::string> values;
    names.reserve(40);
    values.reserve(40);
    const auto pick = rng.below(5);
    if (pick == 3) {  // legacy Command output
      m.set_kind(message_kind::response);
      s.lines = {"Response: Follows", "Privilege: Command",
                 "ActionID: " + std::to_string(rng.below(1000))};
      m.add_field("Response", "Follows");
      m.add_field("Privilege", "Command");
      values.push_back(s.lines[2].substr(10));
      m.add_field("ActionID", values.back());
      const std::size_t n = rng.below(6);
      for (std::size_t i = 0; i < n; ++i) {
        values.push_back(rng.below(4) == 0 ? std::string() : "out " + random_value());
        s.lines.push_back(values.back());
        m.add_line(values.back());
      }
      s.lines.push_back("--END COMMAND--");
    } else if (pick == 4) {  // raw text
      m.set_kind(message_kind::text);
      const std::size_t n = 1 + rng.below(4);
      for (std::size_t i = 0; i < n; ++i) {
        values.push_back("   text " + random_value());
        s.lines.push_back(values.back());
        m.add_line(values.back());
      }
    } else {
      const char* const heads[] = {"Event", "Response", "Action"};
      const message_kind kinds[] = {message_kind::event, message_kind::response,
                                    message_kind::action};
      m.set_kind(kinds[pick]);
      values.push_back("Head" + std::to_string(rng.below(100)));
      s.lines.push_back(std::string(heads[pick]) + ": " + values.back());
      m.add_field(heads[pick], values.back());
      const std::size_t n = rng.below(8);
      for (std::size_t i = 0; i < n; ++i) {
        names.push_back(keys[rng.below(std::size(keys))]);
        values.push_back(random_value());
        const bool tight = values.back().empty() && rng.coin();  // "Key:" instead of "Key: "
        s.lines.push_back(names.back() + (tight ? ":" : ": ") + values.back());
        m.add_field(names.back(), values.back());
      }
    }
    s.expected.msg = m;  // owning copy
    return s;
  };

  for (int round = 0; round < 400; ++round) {
    CAPTURE(round);
    std::string bytes = "Asterisk Call Manager/13.0.0\r\n";
    std::vector<outcome> want{msg(message_kind::banner, {}, {"Asterisk Call Manager/13.0.0"})};
    const std::size_t count = 1 + rng.below(12);
    for (std::size_t i = 0; i < count; ++i) {
      const auto s = make_message();
      for (const auto& line : s.lines) bytes += line + (rng.coin() ? "\r\n" : "\n");
      bytes += rng.coin() ? "\r\n" : "\n";
      if (rng.below(5) == 0) bytes += "\r\n\r\n";  // an extra empty message
      want.push_back(s.expected);
    }
    // Random split points, through feed() or prepare()/commit().
    parser p;
    std::vector<outcome> got;
    std::size_t pos = 0;
    while (pos < bytes.size()) {
      const std::size_t n = std::min(1 + rng.below(rng.coin() ? 8 : 200), bytes.size() - pos);
      if (rng.coin()) {
        p.feed(std::string_view(bytes).substr(pos, n));
      } else {
        std::memcpy(p.prepare(n), bytes.data() + pos, n);
        p.commit(n);
      }
      pos += n;
      ami::test::drain(p, got);
    }
    if (auto e = p.finish()) got.push_back(err(*e));
    check_outcomes(got, want);
  }
}

// ---------------------------------------------------------------------------------------
// Buffer and ownership

TEST_CASE("views stay valid across several next() calls without feeding") {
  parser p;
  p.feed("Event: A\r\nK: 1\r\n\r\nEvent: B\r\nK: 2\r\n\r\nEvent: C\r\nK: 3\r\n\r\n");
  ami::message a;
  ami::message b;
  ami::message c;
  REQUIRE(p.next(a).status == parse_status::message);
  REQUIRE(p.next(b).status == parse_status::message);
  REQUIRE(p.next(c).status == parse_status::message);
  CHECK(p.next(c).status == parse_status::need_more);
  CHECK_FALSE(a.owns_bytes());
  CHECK(a.event_name() == "A");
  CHECK(a.get("K") == "1");
  CHECK(b.event_name() == "B");
  CHECK(b.get("K") == "2");
  CHECK(c.event_name() == "C");
  CHECK(c.get("K") == "3");
}

TEST_CASE("a message in progress survives the buffer growing and moving") {
  parser p;
  p.feed("Event: Big\r\nFirst: kept\r\n");
  ami::message m;
  CHECK(p.next(m).status == parse_status::need_more);
  std::string lines;
  for (int i = 0; i < 20000; ++i) lines += "V: " + std::to_string(i) + "\r\n";  // ~200 KB
  p.feed(lines);
  CHECK(p.next(m).status == parse_status::need_more);
  CHECK(p.capacity() >= lines.size());
  p.feed("Last: end\r\n\r\n");
  REQUIRE(p.next(m).status == parse_status::message);
  CHECK(m.event_name() == "Big");
  CHECK(m.get("First") == "kept");
  CHECK(m.get("Last") == "end");
  const auto all = m.get_all("V");
  REQUIRE(all.size() == 20000);
  CHECK(all[0] == "0");
  CHECK(all[19999] == "19999");
}

TEST_CASE("prepare and commit; buffered counts bytes not yet returned") {
  parser p;
  const std::string bytes = "Event: A\r\n\r\nEvent: B\r\n";
  char* w = p.prepare(bytes.size() + 100);
  REQUIRE(w != nullptr);
  CHECK(p.capacity() >= bytes.size() + 100);
  std::memcpy(w, bytes.data(), bytes.size());
  p.commit(bytes.size());
  CHECK(p.buffered() == bytes.size());
  ami::message m;
  REQUIRE(p.next(m).status == parse_status::message);
  CHECK(m.event_name() == "A");
  CHECK(p.next(m).status == parse_status::need_more);
  CHECK(p.buffered() == std::strlen("Event: B\r\n"));  // the message in progress
  p.commit(0);
  CHECK(p.next(m).status == parse_status::need_more);
  p.feed("\r\n");
  REQUIRE(p.next(m).status == parse_status::message);
  CHECK(m.event_name() == "B");
  CHECK(p.buffered() == 0);
}

TEST_CASE("copying a message owns its bytes; the parser may go away") {
  ami::message copy;
  ami::message assigned;
  const char* parser_bytes = nullptr;
  {
    parser p;
    p.feed("Response: Follows\r\nActionID: 5\r\nline one\n--END COMMAND--\r\n\r\n");
    ami::message m;
    REQUIRE(p.next(m).status == parse_status::message);
    CHECK_FALSE(m.owns_bytes());
    parser_bytes = m[0].name.data();
    ami::message tmp(m);
    copy = tmp;
    assigned = m;
    CHECK(copy.owns_bytes());
    CHECK(assigned.owns_bytes());
    CHECK(copy[0].name.data() != parser_bytes);
    // Overwrite the parser's buffer with bytes of the same shape.
    p.reset();
    p.feed("Response: Xxxxxxx\r\nActionID: 6\r\nline two\n--END COMMAND--\r\n\r\n");
    REQUIRE(p.next(m).status == parse_status::message);
    CHECK(m.head() == "Xxxxxxx");
  }
  for (const auto* c : {&copy, &assigned}) {
    CHECK(c->is_response());
    CHECK(c->head() == "Follows");
    CHECK(c->action_id() == "5");
    CHECK(c->lines() == std::vector<std::string_view>{"line one"});
  }
}

TEST_CASE("moving a message keeps its content (and its views)") {
  parser p;
  p.feed("Event: A\r\nK: 1\r\n\r\n");
  ami::message m;
  REQUIRE(p.next(m).status == parse_status::message);
  const char* where = m.get("K")->data();
  ami::message moved(std::move(m));
  CHECK(moved.event_name() == "A");
  CHECK(moved.get("K") == "1");
  CHECK(moved.get("K")->data() == where);  // still the parser's bytes
  CHECK_FALSE(moved.owns_bytes());

  ami::message owned(moved);
  const char* owned_where = owned.get("K")->data();
  ami::message target;
  target = std::move(owned);
  CHECK(target.owns_bytes());
  CHECK(target.get("K")->data() == owned_where);
  p.reset();
  p.feed("Event: B\r\nK: 2\r\n\r\n");
  REQUIRE(p.next(m).status == parse_status::message);
  CHECK(target.event_name() == "A");
  CHECK(target.get("K") == "1");
}

TEST_CASE("an owning message can be passed to next() again") {
  parser p;
  p.feed("Event: A\r\nK: 1\r\n\r\nEvent: B\r\nK: 2\r\n\r\n");
  ami::message m;
  REQUIRE(p.next(m).status == parse_status::message);
  ami::message reused(m);
  REQUIRE(reused.owns_bytes());
  REQUIRE(p.next(reused).status == parse_status::message);
  CHECK(reused.event_name() == "B");
  CHECK(reused.get("K") == "2");
  CHECK(m.event_name() == "A");
}

TEST_CASE("a moved parser keeps its state; options are kept") {
  parser p(with_limits(100, 10, 1000));
  p.feed("Asterisk Call Manager/2.8.0\r\nEvent: A\r\n");
  ami::message m;
  REQUIRE(p.next(m).status == parse_status::message);
  CHECK(p.next(m).status == parse_status::need_more);
  parser q(std::move(p));
  CHECK(q.options().limits.max_line == 100);
  CHECK(q.options().limits.max_fields == 10);
  REQUIRE(q.server_banner().has_value());
  CHECK(q.server_banner()->protocol == version{2, 8, 0});
  q.feed("K: v\r\n\r\n");
  REQUIRE(q.next(m).status == parse_status::message);
  CHECK(m.event_name() == "A");
  CHECK(m.get("K") == "v");
}

TEST_CASE("lines of every length up to three scan blocks, at every offset and every split") {
  // The parser finds line ends and colons 64 bytes at a time: lines shorter and longer than a
  // block, starting anywhere in one, a colon in a later block, the last bytes of a read.
  std::string bytes;
  std::vector<outcome> want;
  std::vector<std::string> values;  // the expected views point into these
  values.reserve(200);
  for (std::size_t len = 0; len < 200; len += 7) {
    values.push_back(std::string(len, 'v'));
    const std::string pad(len % 64, 'p');
    bytes += "Event: E" + std::to_string(len) + "\r\n" + pad + ": x\r\n";
    bytes +=
        std::string(len, 'k') + ":" + values.back() + "\r\nNoColon" + values.back() + "\r\n\r\n";
  }
  for (std::size_t len = 0, i = 0; len < 200; len += 7, ++i) {
    const std::string pad(len % 64, 'p');
    ami::message m;
    m.set_kind(message_kind::event);
    const std::string name = "E" + std::to_string(len);
    const std::string key(len, 'k');
    const std::string no_colon = "NoColon" + values[i];
    m.add_field("Event", name);
    m.add_field(pad, "x");
    m.add_field(key, values[i]);
    m.add_field(no_colon, "");
    outcome o;
    o.msg = m;  // owning
    want.push_back(o);
  }
  expect(bytes, want);
  for (const std::size_t chunk : {2U, 3U, 63U, 64U, 65U, 127U}) {
    CAPTURE(chunk);
    CHECK(ami::test::parses_to(bytes, {chunk}, want));
  }
}
