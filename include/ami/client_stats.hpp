// Counters of what a client dropped or survived; nothing is dropped silently.
#pragma once

#include "ami/error.hpp"

#include <cstdint>
#include <optional>

namespace ami {

struct client_stats {
  // Responses (or raw text) that no pending action claimed, and stray banner lines.
  std::uint64_t unmatched = 0;
  // Answers and list items of actions that were cancelled or timed out, dropped.
  std::uint64_t late = 0;
  // Inbound messages the parser had to drop (an over-long line, too many fields, ...).
  std::uint64_t parse_errors = 0;
  std::optional<error> last_parse_error;
  // Exceptions thrown by slots (each was given to the exception handler, if any).
  std::uint64_t slot_exceptions = 0;
  // Events whose slots took at least config::slow_slot_threshold (see config::on_slow_slot).
  std::uint64_t slow_slots = 0;
};

}  // namespace ami
