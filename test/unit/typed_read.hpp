// Any event read through the generated struct of its name (generated_events_read_test.cpp).
#pragma once

#include "ami/message.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ami::test {

// What the struct made of an event: owning copies, so that they outlive it.
struct typed_reading {
  std::string_view name;  // the struct's event_name
  bool ok = false;
  std::vector<std::string> missing;
  std::vector<std::string> bad;
};

// nullopt when no struct has the event's name (or alias).
std::optional<typed_reading> read_typed(const ami::event& e);

}  // namespace ami::test
