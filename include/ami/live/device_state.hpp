// Device states (Asterisk's enum ast_device_state): DeviceStateChange's State text and
// the Status number of queue member events.
#pragma once

#include <optional>
#include <string_view>

namespace ami::live {

enum class device_state : int {
  unknown = 0,      // "UNKNOWN"
  not_inuse = 1,    // "NOT_INUSE": idle
  inuse = 2,        // "INUSE"
  busy = 3,         // "BUSY"
  invalid = 4,      // "INVALID"
  unavailable = 5,  // "UNAVAILABLE"
  ringing = 6,      // "RINGING"
  ringinuse = 7,    // "RINGINUSE": ringing while in use
  onhold = 8,       // "ONHOLD"
};

// The text Asterisk writes for the state ("NOT_INUSE", ...).
std::string_view to_string(device_state s) noexcept;

// Parses the text form (any case) or the number; nullopt for anything else.
std::optional<device_state> parse_device_state(std::string_view value) noexcept;

}  // namespace ami::live
