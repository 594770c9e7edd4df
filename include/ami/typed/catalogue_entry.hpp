// Rows of the constexpr catalogues ami::actions::catalogue (ami/actions/catalogue.hpp)
// and ami::events::catalogue (ami/events/catalogue.hpp).
#pragma once

#include <cstddef>
#include <string_view>

namespace ami {

// A constant list of names (a view of a static array).
struct name_list {
  const std::string_view* items = nullptr;
  std::size_t count = 0;

  constexpr const std::string_view* begin() const noexcept { return items; }
  constexpr const std::string_view* end() const noexcept { return items + count; }
  constexpr std::size_t size() const noexcept { return count; }
  constexpr bool empty() const noexcept { return count == 0; }
  constexpr std::string_view operator[](std::size_t i) const noexcept { return items[i]; }
};

struct action_info {
  std::string_view name;            // wire name ("QueueAdd")
  std::string_view type_name;       // struct in ami::actions ("queue_add")
  bool is_list;                     // answers with an EventList
  std::string_view complete_event;  // the list's last event, empty if none
  name_list item_events;            // the list's item events
  std::string_view privilege;       // write classes needed, comma-separated ("" = none)
  std::string_view since;           // first documented version ("" = unknown)
  std::string_view removed_in;      // release branch without it ("" = still there)
  std::string_view module;          // Asterisk module registering it ("builtin" = core)
  bool raw_text_response;           // answers with raw text, no Response or ActionID
};

struct event_info {
  std::string_view name;        // wire name ("Newexten")
  std::string_view type_name;   // struct in ami::events ("newexten")
  name_list aliases;            // other spellings of the same event ("NewExten")
  std::string_view privilege;   // event classes, comma-separated ("" = list-only event)
  std::string_view since;       // first documented version ("" = unknown)
  std::string_view removed_in;  // release branch without it ("" = still there)
  bool documented;              // false: known from Asterisk's C code only
};

}  // namespace ami
