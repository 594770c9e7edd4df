// Turns an action into wire bytes, refusing anything Asterisk would misread.
#pragma once

#include "ami/action.hpp"
#include "ami/error.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ami::proto {

// Asterisk reads at most this many bytes per inbound line, line end included, and drops
// longer lines.
inline constexpr std::size_t max_outbound_line = 1024;

// Checks one field: no CR or LF anywhere, a key without ':' that is not empty, and a line
// "Key: Value\r\n" within max_outbound_line.
std::optional<error> check_field(std::string_view key, std::string_view value) noexcept;

// Appends the action to `out` ("Action: Name", its fields in order, then "ActionID: id"
// unless the action carries its own, then the blank line). On error `out` is unchanged.
// An empty `action_id` with no ActionID field in the action is error::missing_field.
std::optional<error> serialize(const action& a, std::string_view action_id, std::string& out);

// Serialises loose fields (used for Login, where the secret must not be kept in an action).
class writer {
 public:
  explicit writer(std::string& out) : out_(out), start_(out.size()) {}
  writer& field(std::string_view key, std::string_view value);
  // Ends the message; on any earlier error restores `out` and returns the error.
  std::optional<error> finish();

 private:
  std::string& out_;
  std::size_t start_;
  std::optional<error> error_;
};

}  // namespace ami::proto
