// A queue of app_queue: its parameters and statistics (QueueParams), its members and the
// callers waiting in it.
#pragma once

#include "ami/live/clock.hpp"
#include "ami/live/device_state.hpp"
#include "ami/live/persistent_map.hpp"

#include <string>

namespace ami::live {

struct queue_member {
  std::string interface;  // Interface (Location in QueueStatus), the member's key
  std::string name;       // MemberName / Name
  std::string state_interface;
  std::string membership;  // "static", "dynamic", "realtime"
  device_state status = device_state::unknown;
  bool paused = false;
  std::string paused_reason;
  int penalty = 0;
  int calls_taken = 0;
  long long last_call = 0;   // Unix seconds, 0 when never
  long long last_pause = 0;  // Unix seconds, 0 when never
  long long login_time = 0;  // Unix seconds
  bool in_call = false;
  bool ring_in_use = true;
  int wrapup_time = 0;  // seconds

  friend bool operator==(const queue_member& a, const queue_member& b) {
    return a.interface == b.interface && a.name == b.name &&
           a.state_interface == b.state_interface && a.membership == b.membership &&
           a.status == b.status && a.paused == b.paused && a.paused_reason == b.paused_reason &&
           a.penalty == b.penalty && a.calls_taken == b.calls_taken && a.last_call == b.last_call &&
           a.last_pause == b.last_pause && a.login_time == b.login_time && a.in_call == b.in_call &&
           a.ring_in_use == b.ring_in_use && a.wrapup_time == b.wrapup_time;
  }
  friend bool operator!=(const queue_member& a, const queue_member& b) { return !(a == b); }
};

struct queue_caller {
  std::string channel;
  std::string uniqueid;  // the caller's key
  int position = 0;      // 1 is next to be answered
  std::string caller_id_num;
  std::string caller_id_name;
  time_point joined{};

  friend bool operator==(const queue_caller& a, const queue_caller& b) {
    return a.channel == b.channel && a.uniqueid == b.uniqueid && a.position == b.position &&
           a.caller_id_num == b.caller_id_num && a.caller_id_name == b.caller_id_name &&
           a.joined == b.joined;
  }
  friend bool operator!=(const queue_caller& a, const queue_caller& b) { return !(a == b); }
};

struct queue {
  std::string queue;  // the name
  std::string strategy;
  int max = 0;  // 0: unlimited
  int weight = 0;
  int calls = 0;     // callers waiting (kept equal to callers.size())
  int holdtime = 0;  // seconds, Asterisk's running average
  int talktime = 0;  // seconds, Asterisk's running average
  int completed = 0;
  int abandoned = 0;
  int service_level = 0;            // seconds
  double service_level_perf = 0.0;  // percent answered within the service level
  double service_level_perf2 = 0.0;
  persistent_map<std::string, queue_member> members;  // by interface
  persistent_map<std::string, queue_caller> callers;  // by uniqueid
};

inline bool operator==(const queue& a, const queue& b) {
  return a.queue == b.queue && a.strategy == b.strategy && a.max == b.max && a.weight == b.weight &&
         a.calls == b.calls && a.holdtime == b.holdtime && a.talktime == b.talktime &&
         a.completed == b.completed && a.abandoned == b.abandoned &&
         a.service_level == b.service_level && a.service_level_perf == b.service_level_perf &&
         a.service_level_perf2 == b.service_level_perf2 && a.members == b.members &&
         a.callers == b.callers;
}
inline bool operator!=(const queue& a, const queue& b) { return !(a == b); }

}  // namespace ami::live
