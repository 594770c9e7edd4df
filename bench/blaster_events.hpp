// The events ami-bench-blaster sends: a ring of 1,024 distinct Newchannel, Newstate, Hangup
// and QueueMemberStatus events (or a Hangup-heavy mix of Newchannel and Hangup) shaped like the
// ones Asterisk sends (323 to 373 bytes each). Shared with ami-bench-parser so that the parser is
// also measured on exactly these bytes.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

namespace ami_bench {

struct event_ring {
  std::string bytes;
  std::vector<std::size_t> ends;   // end offset of each event in `bytes`
  std::vector<std::string> names;  // each event's name
};

// standard: the four kinds in turn. hangup: a Hangup-heavy stream (a Newchannel, then
// three Hangups), what a slot on Hangup sees on a busy dialer.
enum class event_mix { standard, hangup };

inline void add_channel_fields(std::string& e, const std::string& channel, int state,
                               const char* state_desc, const std::string& num,
                               const std::string& uniqueid, const std::string& linkedid) {
  e += "Channel: " + channel + "\r\n";
  e += "ChannelState: " + std::to_string(state) + "\r\n";
  e += std::string("ChannelStateDesc: ") + state_desc + "\r\n";
  e += "CallerIDNum: " + num + "\r\n";
  e += "CallerIDName: Agent " + num + "\r\n";
  e += "ConnectedLineNum: <unknown>\r\nConnectedLineName: <unknown>\r\n";
  e += "Language: en\r\nAccountCode: \r\nContext: default\r\n";
  e += "Exten: " + num + "\r\nPriority: 1\r\n";
  e += "Uniqueid: " + uniqueid + "\r\nLinkedid: " + linkedid + "\r\n";
}

inline event_ring build_ring(event_mix mix = event_mix::standard) {
  constexpr std::size_t ring_events = 1024;
  event_ring ring;
  for (std::size_t i = 0; i < ring_events; ++i) {
    const std::string num = std::to_string(100 + i % 400);
    char hex[16];
    std::snprintf(hex, sizeof hex, "%08zx", i);
    const std::string channel = "PJSIP/" + num + "-" + hex;
    const std::string uniqueid = "1795662580." + std::to_string(i);
    const std::string linkedid = "1795662580." + std::to_string(i - i % 4);
    std::string e;
    const std::size_t kind = mix == event_mix::hangup ? (i % 4 == 0 ? 0 : 2) : i % 4;
    switch (kind) {
      case 0:
        e = "Event: Newchannel\r\nPrivilege: call,all\r\n";
        add_channel_fields(e, channel, 0, "Down", num, uniqueid, linkedid);
        break;
      case 1:
        e = "Event: Newstate\r\nPrivilege: call,all\r\n";
        add_channel_fields(e, channel, 6, "Up", num, uniqueid, linkedid);
        break;
      case 2:
        e = "Event: Hangup\r\nPrivilege: call,all\r\n";
        add_channel_fields(e, channel, 6, "Up", num, uniqueid, linkedid);
        e += "Cause: 16\r\nCause-txt: Normal Clearing\r\n";
        break;
      default:
        e = "Event: QueueMemberStatus\r\nPrivilege: agent,all\r\nQueue: support\r\n";
        e += "MemberName: Agent " + num + "\r\nInterface: PJSIP/" + num + "\r\n";
        e += "StateInterface: PJSIP/" + num + "\r\nMembership: dynamic\r\nPenalty: 0\r\n";
        e += "CallsTaken: " + std::to_string(i) + "\r\nLastCall: 1795662576\r\n";
        e += "LastPause: 0\r\nLoginTime: 1795662500\r\nInCall: " + std::to_string(i % 2) +
             "\r\nStatus: 2\r\nPaused: 0\r\nPausedReason: \r\nRinginuse: 1\r\nWrapuptime: 0\r\n";
        break;
    }
    ring.names.push_back(e.substr(7, e.find('\r') - 7));  // after "Event: "
    e += "\r\n";
    ring.bytes += e;
    ring.ends.push_back(ring.bytes.size());
  }
  return ring;
}

}  // namespace ami_bench
