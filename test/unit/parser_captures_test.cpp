// Every capture, parsed whole, split at every byte offset and fed byte by byte, gives the
// same messages.
#include "../support/test_data.hpp"

#include <doctest/doctest.h>

using ami::test::parse_all;
using ami::test::parse_chunks;

namespace {

ami::proto::parser_options opts_for(const std::string& name) {
  ami::proto::parser_options o;
  o.expect_banner = name.find(".sent.") == std::string::npos;
  return o;
}

// One assertion per comparison keeps the sanitizer runs fast; details only on a mismatch.
void check_same(const std::vector<ami::test::outcome>& got,
                const std::vector<ami::test::outcome>& want) {
  if (got == want) return;
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("message " << i << ": " << ami::test::describe(got[i]));
    CHECK(got[i] == want[i]);
  }
}

std::vector<std::string> all_captures() {
  auto names = ami::test::server_captures();
  for (const auto& n : ami::test::client_captures()) names.push_back(n);
  return names;
}

}  // namespace

TEST_CASE("captures parse without errors and every message ends") {
  for (const auto& name : all_captures()) {
    CAPTURE(name);
    const auto bytes = ami::test::read_data(name);
    const auto whole = parse_all(bytes, opts_for(name));
    REQUIRE_FALSE(whole.empty());
    std::size_t blank_lines = 0;
    for (std::size_t i = 0; i + 3 < bytes.size(); ++i) {
      if (bytes.compare(i, 4, "\r\n\r\n") == 0) ++blank_lines;
    }
    std::size_t messages = 0;
    for (const auto& o : whole) {
      CHECK_FALSE(o.is_error);
      if (!o.is_error && o.msg.kind() != ami::message_kind::banner) ++messages;
    }
    CHECK(messages == blank_lines);  // the captures end every message with CRLF CRLF
  }
}

TEST_CASE("captures split at every byte offset parse the same") {
  for (const auto& name : all_captures()) {
    CAPTURE(name);
    const auto bytes = ami::test::read_data(name);
    const auto whole = parse_all(bytes, opts_for(name));
    for (std::size_t cut = 1; cut < bytes.size(); ++cut) {
      if (!ami::test::parses_to(bytes, {cut, bytes.size()}, whole, opts_for(name))) {
        CAPTURE(cut);
        check_same(parse_chunks(bytes, {cut, bytes.size()}, opts_for(name)), whole);
      }
    }
  }
}

TEST_CASE("captures fed byte by byte parse the same") {
  for (const auto& name : all_captures()) {
    CAPTURE(name);
    const auto bytes = ami::test::read_data(name);
    check_same(parse_chunks(bytes, {1}, opts_for(name)), parse_all(bytes, opts_for(name)));
  }
}

TEST_CASE("session1 holds the banner, responses, events and Output lines in wire order") {
  const auto got = parse_all(ami::test::read_data("session1.raw"));
  REQUIRE(got.size() > 10);
  CHECK(got[0].msg.kind() == ami::message_kind::banner);
  CHECK(got[0].msg.lines().at(0) == "Asterisk Call Manager/13.0.0");
  CHECK(got[1].msg.kind() == ami::message_kind::response);
  CHECK(got[1].msg.get("actionid") == "1");
  CHECK(got[1].msg.get("Message") == "Authentication accepted");
  CHECK(got[2].msg.event_name() == "FullyBooted");
  bool saw_output = false;
  for (const auto& o : got) {
    if (o.msg.get("ActionID") == "6") {
      const auto lines = o.msg.output();
      REQUIRE(lines.size() == 1);
      CHECK(lines[0].substr(0, 9) == "Asterisk ");
      saw_output = true;
    }
  }
  CHECK(saw_output);
}
