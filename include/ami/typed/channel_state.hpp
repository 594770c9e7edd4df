// The state of a channel as AMI reports it in ChannelState headers (Asterisk's
// enum ast_channel_state, include/asterisk/channelstate.h).
#pragma once

#include <optional>
#include <string_view>

namespace ami::events {

enum class channel_state : int {
  down = 0,             // "Down": available
  reserved = 1,         // "Rsrvd": down, but reserved
  offhook = 2,          // "OffHook"
  dialing = 3,          // "Dialing": digits have been dialled
  ring = 4,             // "Ring": the line is ringing (incoming)
  ringing = 5,          // "Ringing": the remote end is ringing
  up = 6,               // "Up": answered
  busy = 7,             // "Busy"
  dialing_offhook = 8,  // "Dialing Offhook"
  prering = 9,          // "Pre-ring": an incoming call is being set up
};

// The text Asterisk writes in ChannelStateDesc for each state.
std::string_view to_string(channel_state s) noexcept;

// Parses a ChannelState value. Asterisk keeps flags above bit 15 (a muted channel adds
// 1 << 16); they are ignored. Anything else than a state number gives nullopt.
std::optional<channel_state> parse_channel_state(std::string_view value) noexcept;

}  // namespace ami::events
