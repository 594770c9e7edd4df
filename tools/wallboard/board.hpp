// The wallboard as text: per queue the callers waiting and the longest wait, the members
// available / busy / paused, calls answered and abandoned and the service level; then the
// agents and the active calls. Pure functions of a state and a time, so tests compare text.
#pragma once

#include "ami/live/clock.hpp"
#include "ami/live/queue.hpp"
#include "ami/live/state.hpp"

#include <chrono>
#include <string>

namespace ami::tools::wallboard {

// What a queue member is doing, as a wallboard counts it.
enum class member_activity {
  available,    // logged in, not paused, idle
  busy,         // on a call, ringing or otherwise in use
  paused,       // paused (whatever its device does)
  unavailable,  // its device is unavailable, invalid or unknown
};

member_activity activity(const ami::live::queue_member& m) noexcept;
const char* to_string(member_activity a) noexcept;

struct queue_summary {
  int waiting = 0;
  std::chrono::seconds longest_wait{0};
  int available = 0;
  int busy = 0;
  int paused = 0;
  int unavailable = 0;
};

queue_summary summarize(const ami::live::queue& q, ami::live::time_point now);

// "mm:ss", or "h:mm:ss" from an hour on.
std::string clock_duration(std::chrono::seconds d);

struct board_options {
  // Lines end with "erase to end of line" (ESC [K), for redrawing in place on a terminal.
  bool ansi = false;
  // At most this many callers listed per queue and calls listed in all (the counts are
  // always complete).
  std::size_t max_callers = 10;
  std::size_t max_calls = 20;
};

std::string render_board(const ami::live::state& s, ami::live::time_point now,
                         const board_options& opts = {});

}  // namespace ami::tools::wallboard
