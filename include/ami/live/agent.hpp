// An agent of app_agent_pool (Agents list, AgentLogin / AgentLogoff, and the queue events
// whose member interface is the agent's).
#pragma once

#include "ami/live/clock.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace ami::live {

enum class agent_status {
  logged_off,  // "AGENT_LOGGEDOFF"
  idle,        // "AGENT_IDLE": logged in, free
  on_call,     // "AGENT_ONCALL"
  unknown,     // "AGENT_UNKNOWN", or a text this version does not know
};

struct agent {
  std::string agent;  // the agent id ("1001"); its queue member interface is Agent/1001
  std::string name;
  agent_status status = agent_status::unknown;
  std::string channel;                      // the channel it logged in on
  std::string talking_to;                   // TalkingToChan: the caller's channel while on a call
  std::optional<long long> logged_in_time;  // Unix seconds
};

inline bool operator==(const agent& a, const agent& b) {
  return a.agent == b.agent && a.name == b.name && a.status == b.status && a.channel == b.channel &&
         a.talking_to == b.talking_to && a.logged_in_time == b.logged_in_time;
}
inline bool operator!=(const agent& a, const agent& b) { return !(a == b); }

std::string_view to_string(agent_status s) noexcept;
agent_status parse_agent_status(std::string_view text) noexcept;

}  // namespace ami::live
