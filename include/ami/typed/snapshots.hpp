// The channel and bridge snapshots that many events carry, each as a block of headers
// with a common prefix ("Channel", "DestChannel", "OrigBridgeUniqueid"...). The generated
// events hold one struct per block, read with that block's prefixed header names.
#pragma once

#include "ami/typed/channel_state.hpp"
#include "ami/typed/event_fields.hpp"

#include <array>
#include <optional>
#include <string_view>

namespace ami::events {

// A channel snapshot. Views into the event: valid as long as the event is.
struct channel_snapshot {
  // Full header names, in member order: the 14 documented headers, then Tenantid.
  using header_names = std::array<std::string_view, 15>;

  // False when the event carries none of the block's headers: Asterisk writes the whole
  // block or nothing (a DialBegin of an originated call has no caller channel). An
  // absent block adds nothing to the event's `missing` list.
  bool present = false;
  std::string_view channel;
  std::optional<ami::events::channel_state> channel_state;  // nullopt: missing or bad
  std::string_view channel_state_desc;
  std::string_view caller_id_num;
  std::string_view caller_id_name;
  std::string_view connected_line_num;
  std::string_view connected_line_name;
  std::string_view language;
  std::string_view account_code;
  std::string_view context;
  std::string_view exten;
  std::optional<int> priority;
  std::string_view uniqueid;
  std::string_view linkedid;
  // Written only on multi-tenant set-ups (Asterisk 20+); never reported missing.
  std::string_view tenantid;
  // ChanVariable headers (one per configured channel variable) are repeated: read them
  // with raw->get_all(prefix + "ChanVariable").

  void read(ami::detail::event_reader& r, const header_names& names) noexcept;
};

// A bridge snapshot. Views into the event: valid as long as the event is.
struct bridge_snapshot {
  // Full header names, in member order; the last one, BridgeVideoSource, is written only
  // when the bridge has a video source and is never reported missing.
  using header_names = std::array<std::string_view, 8>;

  bool present = false;  // as for channel_snapshot
  std::string_view bridge_uniqueid;
  std::string_view bridge_type;
  std::string_view bridge_technology;
  std::string_view bridge_creator;
  std::string_view bridge_name;
  std::optional<int> bridge_num_channels;
  std::string_view bridge_video_source_mode;
  std::string_view bridge_video_source;

  void read(ami::detail::event_reader& r, const header_names& names) noexcept;
};

}  // namespace ami::events
