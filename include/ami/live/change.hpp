// What applying an event (or a sync) changed: one record per thing, by kind and key.
#pragma once

#include <string>
#include <string_view>

namespace ami::live {

enum class entity {
  channel,       // key: uniqueid
  call,          // key: linkedid
  bridge,        // key: bridge uniqueid
  queue,         // key: queue name (its parameters; members and callers have their own)
  queue_member,  // key: queue name, sub: interface
  queue_caller,  // key: queue name, sub: caller uniqueid
  agent,         // key: agent id
  device,        // key: device
  extension,     // key: exten@context
  recent_call,   // key: linkedid (a finished call kept for reducer_options::keep_finished_calls)
  parked_call,   // key: the parkee's uniqueid
  conference,    // key: room name
};

enum class change_kind { added, changed, removed };

struct change {
  entity what = entity::channel;
  change_kind kind = change_kind::changed;
  std::string key;
  std::string sub;

  friend bool operator==(const change& a, const change& b) {
    return a.what == b.what && a.kind == b.kind && a.key == b.key && a.sub == b.sub;
  }
  friend bool operator!=(const change& a, const change& b) { return !(a == b); }
};

std::string_view to_string(entity e) noexcept;
std::string_view to_string(change_kind k) noexcept;

}  // namespace ami::live
