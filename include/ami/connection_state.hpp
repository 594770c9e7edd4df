// The states a client's connection goes through, reported by client::state(), on_state and
// on_transition.
#pragma once

#include <boost/system/error_code.hpp>

#include <chrono>

namespace ami {

enum class connection_state {
  disconnected,  // no connection (initially, after close(), after a failure)
  connecting,    // resolving the host and opening the TCP connection
  connected,     // TCP is up; waiting for the server's banner
  logging_in,    // Challenge (MD5 only) and Login sent; waiting for the answer
  logged_in,     // the session is usable: actions are sent, events delivered
  closing,       // Logoff sent; waiting for Goodbye and the server's close
  backing_off,   // async_run only: waiting before the next connection attempt
};

// "disconnected", "connecting", ...
const char* to_string(connection_state s) noexcept;

// One change of state, as client::on_transition reports it.
struct state_transition {
  connection_state state = connection_state::disconnected;
  // disconnected: why the connection ended (empty after a logoff); backing_off: the failure
  // being backed off from. Empty for the other states.
  boost::system::error_code reason;
  // backing_off: the wait before the next attempt, drawn uniformly from [0, max_delay].
  std::chrono::milliseconds delay{0};
  std::chrono::milliseconds max_delay{0};
  // Connection attempts since async_run started or last logged in: 0 for the first connect,
  // 1 for the first reconnect, and so on. backing_off carries the attempt it precedes; it
  // starts again from 0 after each successful login. Always 0 without a run.
  unsigned attempt = 0;
};

}  // namespace ami
