// The constexpr catalogues: one typed struct per spec entry, unique names, lookups, and
// list metadata that holds together.
#include "../support/test_data.hpp"
#include "ami/actions/catalogue.hpp"
#include "ami/events/catalogue.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <set>
#include <string>

namespace {

// How often `needle` occurs in `hay`.
std::size_t occurrences(const std::string& hay, std::string_view needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The AMI privilege names (EVENT_FLAG_* in Asterisk's main/manager.c).
constexpr std::array<std::string_view, 19> privileges{
    "system", "call", "log",       "verbose",  "command",  "agent",     "user",
    "config", "dtmf", "reporting", "cdr",      "dialplan", "originate", "agi",
    "cc",     "aoc",  "test",      "security", "message"};

bool known_privileges(std::string_view list) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    const auto name = list.substr(0, comma);
    if (std::find(privileges.begin(), privileges.end(), name) == privileges.end()) return false;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return true;
}

}  // namespace

static_assert(ami::actions::catalogue.size() == ami::actions::spec_action_count);
static_assert(ami::events::catalogue.size() == ami::events::spec_event_count);

TEST_CASE("catalogues: one entry per spec entry") {
  CHECK(ami::actions::catalogue.size() == 170);
  CHECK(ami::events::catalogue.size() == 250);
  // The spec files as committed: every action has one "parameters" key, every event one
  // "list_item_of" key.
  const std::string spec = std::string(AMI_TEST_DATA_DIR) + "/../../spec/";
  CHECK(occurrences(ami::test::read_file(spec + "actions.json"), "\"parameters\":") ==
        ami::actions::spec_action_count);
  CHECK(occurrences(ami::test::read_file(spec + "events.json"), "\"list_item_of\":") ==
        ami::events::spec_event_count);
}

TEST_CASE("catalogues: names and type names are unique") {
  std::set<std::string> names, types;
  for (const auto& a : ami::actions::catalogue) {
    CHECK(names.insert(lower(a.name)).second);
    CHECK(types.insert(std::string(a.type_name)).second);
    CHECK_FALSE(a.name.empty());
  }
  names.clear();
  types.clear();
  for (const auto& e : ami::events::catalogue) {
    CHECK(names.insert(lower(e.name)).second);
    CHECK(types.insert(std::string(e.type_name)).second);
    for (auto alias : e.aliases) CHECK(ami::events::find(alias) == &e);
  }
}

TEST_CASE("catalogues: lookups by wire name, case-insensitive") {
  const auto* q = ami::actions::find("queueadd");
  REQUIRE(q != nullptr);
  CHECK(q->name == "QueueAdd");
  CHECK(q->type_name == "queue_add");
  CHECK(ami::actions::find("SIPPEERS")->type_name == "sip_peers");
  CHECK(ami::actions::find("PJSIPShowEndpoints")->type_name == "pjsip_show_endpoints");
  CHECK(ami::actions::find("Timeout") == nullptr);
  const auto* n = ami::events::find("NewExten");
  REQUIRE(n != nullptr);
  CHECK(n->name == "Newexten");
  CHECK(n->type_name == "newexten");
  CHECK(ami::events::find("newchannel")->type_name == "newchannel");
  CHECK(ami::events::find("NoSuchEvent") == nullptr);
}

TEST_CASE("catalogues: list metadata and privileges hold together") {
  std::size_t lists = 0;
  std::size_t raw_text = 0;
  for (const auto& a : ami::actions::catalogue) {
    CAPTURE(a.name);
    CHECK(a.is_list == !a.complete_event.empty());
    CHECK(a.is_list == !a.item_events.empty());
    CHECK(known_privileges(a.privilege));
    if (a.is_list) {
      ++lists;
      CHECK(ami::events::find(a.complete_event) != nullptr);
      for (auto item : a.item_events) CHECK(ami::events::find(item) != nullptr);
    }
    raw_text += a.raw_text_response ? 1 : 0;
  }
  CHECK(lists == 50);
  CHECK(raw_text == 1);
  CHECK(ami::actions::find("Queues")->raw_text_response);
  std::size_t undocumented = 0;
  for (const auto& e : ami::events::catalogue) {
    CAPTURE(e.name);
    CHECK(known_privileges(e.privilege));
    undocumented += e.documented ? 0 : 1;
  }
  CHECK(undocumented == 65);
}
