// The states a client's connection goes through, reported by client::state() and on_state.
#pragma once

namespace ami {

enum class connection_state {
  disconnected,  // no connection (initially, after close(), after a failure)
  connecting,    // resolving the host and opening the TCP connection
  connected,     // TCP is up; waiting for the server's banner
  logging_in,    // Challenge (MD5 only) and Login sent; waiting for the answer
  logged_in,     // the session is usable: actions are sent, events delivered
  closing,       // Logoff sent; waiting for Goodbye and the server's close
};

// "disconnected", "connecting", ...
const char* to_string(connection_state s) noexcept;

}  // namespace ami
