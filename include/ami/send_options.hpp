// Per-call options of client::async_send and friends.
#pragma once

#include <chrono>
#include <optional>

namespace ami {

struct send_options {
  // How long the complete answer may take (the whole EventList for list actions), counted
  // from the call: time spent in the client's queue counts. Unset: config::action_timeout.
  // Zero: no timeout. Expiry completes the operation with error::action_timeout; a late
  // answer is dropped.
  std::optional<std::chrono::milliseconds> timeout;
};

}  // namespace ami
