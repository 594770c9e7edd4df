// Case-insensitive glob matching for event-name subscriptions ("Queue*", "Agent?Login").
#pragma once

#include <string_view>

namespace ami::detail {

// '*' matches any run of characters (also none), '?' exactly one; everything else compares
// ASCII case-insensitively.
bool glob_match(std::string_view pattern, std::string_view text) noexcept;

// Whether a subscription name is a pattern rather than a plain event name.
inline bool is_glob(std::string_view name) noexcept {
  return name.find_first_of("*?") != std::string_view::npos;
}

}  // namespace ami::detail
