// A live channel, as the channel snapshot headers of AMI events describe it.
#pragma once

#include "ami/live/clock.hpp"
#include "ami/typed/channel_state.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ami::live {

struct channel {
  std::string channel;  // the name ("PJSIP/100-00000001"), changes with Rename
  std::string uniqueid;
  std::string linkedid;  // the call it belongs to
  ami::events::channel_state state = ami::events::channel_state::down;
  std::string caller_id_num;
  std::string caller_id_name;
  std::string connected_line_num;
  std::string connected_line_name;
  std::string account_code;
  std::string language;
  std::string context;
  std::string exten;
  int priority = 0;
  std::string application;       // from Newexten or CoreShowChannel
  std::string application_data;  // AppData / ApplicationData
  std::string bridge;            // the bridge it is in (BridgeUniqueid), empty if none
  std::string queue;             // the queue it waits in as a caller, empty if none
  time_point created{};
  std::optional<time_point> answered;  // when it was first seen Up
  bool on_hold = false;
  std::string music_class;  // of the hold
  // The tracked channel variables (reducer_options::variables), in first-set order.
  std::vector<std::pair<std::string, std::string>> variables;

  // The value of a tracked variable, nullptr when not set.
  const std::string* variable(std::string_view name) const noexcept {
    for (const auto& v : variables) {
      if (v.first == name) return &v.second;
    }
    return nullptr;
  }
};

inline bool operator==(const channel& a, const channel& b) {
  return a.channel == b.channel && a.uniqueid == b.uniqueid && a.linkedid == b.linkedid &&
         a.state == b.state && a.caller_id_num == b.caller_id_num &&
         a.caller_id_name == b.caller_id_name && a.connected_line_num == b.connected_line_num &&
         a.connected_line_name == b.connected_line_name && a.account_code == b.account_code &&
         a.language == b.language && a.context == b.context && a.exten == b.exten &&
         a.priority == b.priority && a.application == b.application &&
         a.application_data == b.application_data && a.bridge == b.bridge && a.queue == b.queue &&
         a.created == b.created && a.answered == b.answered && a.on_hold == b.on_hold &&
         a.music_class == b.music_class && a.variables == b.variables;
}
inline bool operator!=(const channel& a, const channel& b) { return !(a == b); }

}  // namespace ami::live
