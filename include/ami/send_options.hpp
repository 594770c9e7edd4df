// Per-call options of client::async_send and friends.
#pragma once

#include <chrono>
#include <optional>

namespace ami {

struct send_options {
  // How long the complete answer may take (the whole EventList for list actions), counted
  // from the call: time spent in the client's queue, waiting for a session or between
  // attempts counts. Unset: config::action_timeout. Zero: no timeout. Expiry completes the
  // operation with error::action_timeout; a late answer is dropped.
  std::optional<std::chrono::milliseconds> timeout;

  // The action is safe to send twice (Ping, a status query, a Filter): when the connection
  // is lost after it was written and client::async_run reconnects, it is written again
  // after the new login (same ActionID, same deadline, its answer collected afresh) instead
  // of completing with error::connection_lost. Without a run it changes nothing.
  bool retry = false;

  // What to do when there is no logged-in session at the call (the run is backing off or
  // reconnecting, or async_connect is still logging in). true: wait in the client's queue
  // (bounded by config::max_queued: error::too_many_pending) and go out once logged in.
  // false: fail at once with error::not_connected. With nothing bringing a session up (no
  // run, no connect in progress) the action fails with not_connected either way.
  bool wait_for_session = true;
};

}  // namespace ami
