// A call: the channels that share a linkedid, which is what a wallboard shows as one call.
#pragma once

#include "ami/live/clock.hpp"

#include <optional>
#include <string>
#include <vector>

namespace ami::live {

struct call {
  std::string linkedid;               // the uniqueid of the channel that started it
  std::vector<std::string> channels;  // uniqueids, in the order they joined
  // Who called whom: the caller id of the originating channel (the one whose uniqueid is
  // the linkedid), and the party it is connected to.
  std::string caller_id_num;
  std::string caller_id_name;
  std::string connected_line_num;
  std::string connected_line_name;
  std::string exten;  // where the originating channel was first seen in the dialplan
  time_point started{};
  std::optional<time_point> answered;  // when two of its channels were first bridged
  std::string queue;                   // the queue it came through, if any
  std::string member;                  // the queue member interface that took it
  std::optional<time_point> ended;     // when its last channel hung up (recent calls only)

  friend bool operator==(const call& a, const call& b) {
    return a.linkedid == b.linkedid && a.channels == b.channels &&
           a.caller_id_num == b.caller_id_num && a.caller_id_name == b.caller_id_name &&
           a.connected_line_num == b.connected_line_num &&
           a.connected_line_name == b.connected_line_name && a.exten == b.exten &&
           a.started == b.started && a.answered == b.answered && a.queue == b.queue &&
           a.member == b.member && a.ended == b.ended;
  }
  friend bool operator!=(const call& a, const call& b) { return !(a == b); }
};

}  // namespace ami::live
