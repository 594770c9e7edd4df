#include "ami/connection_state.hpp"

namespace ami {

const char* to_string(connection_state s) noexcept {
  switch (s) {
    case connection_state::disconnected: return "disconnected";
    case connection_state::connecting: return "connecting";
    case connection_state::connected: return "connected";
    case connection_state::logging_in: return "logging_in";
    case connection_state::logged_in: return "logged_in";
    case connection_state::closing: return "closing";
    case connection_state::backing_off: return "backing_off";
  }
  return "unknown";
}

}  // namespace ami
