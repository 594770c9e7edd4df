// Strict decimal parsing for header values (counts, causes, priorities, times).
#pragma once

#include <optional>
#include <string_view>

namespace ami {

// The value as a base-10 integer: optional spaces around an optional '-' and digits, and
// nothing else. Empty text, other characters or a value out of range give nullopt.
std::optional<long long> parse_integer(std::string_view value) noexcept;

// Same, narrowed to int (nullopt when it does not fit).
std::optional<int> parse_int(std::string_view value) noexcept;

}  // namespace ami
