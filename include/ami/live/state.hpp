// The live state of a PBX: every kind of thing the model follows, each in a persistent
// map. Copying a state is O(1) (it shares every node), which is what a snapshot is.
#pragma once

#include "ami/live/agent.hpp"
#include "ami/live/bridge.hpp"
#include "ami/live/call.hpp"
#include "ami/live/channel.hpp"
#include "ami/live/conference.hpp"
#include "ami/live/device.hpp"
#include "ami/live/extension.hpp"
#include "ami/live/parked_call.hpp"
#include "ami/live/persistent_map.hpp"
#include "ami/live/queue.hpp"

#include <string>
#include <string_view>

namespace ami::live {

struct state {
  persistent_map<std::string, channel> channels;           // by uniqueid
  persistent_map<std::string, std::string> channel_names;  // name -> uniqueid
  persistent_map<std::string, call> calls;                 // by linkedid
  persistent_map<std::string, bridge> bridges;             // by bridge uniqueid
  persistent_map<std::string, queue> queues;               // by name
  persistent_map<std::string, agent> agents;               // by agent id
  persistent_map<std::string, device> devices;             // by device name
  persistent_map<std::string, extension> extensions;       // by extension_key()
  persistent_map<std::string, parked_call> parked;         // by the parkee's uniqueid
  persistent_map<std::string, conference> conferences;     // by room name
  // Finished calls, by linkedid, while reducer_options::keep_finished_calls keeps them.
  persistent_map<std::string, call> recent_calls;

  const channel* channel_by_uniqueid(std::string_view uniqueid) const noexcept {
    return channels.find(uniqueid);
  }
  const channel* channel_by_name(std::string_view name) const noexcept {
    const std::string* id = channel_names.find(name);
    return id != nullptr ? channels.find(*id) : nullptr;
  }
  const queue_member* member(std::string_view queue_name,
                             std::string_view interface) const noexcept {
    const queue* q = queues.find(queue_name);
    return q != nullptr ? q->members.find(interface) : nullptr;
  }
  const queue_caller* caller(std::string_view queue_name,
                             std::string_view uniqueid) const noexcept {
    const queue* q = queues.find(queue_name);
    return q != nullptr ? q->callers.find(uniqueid) : nullptr;
  }

  friend bool operator==(const state& a, const state& b) {
    return a.channels == b.channels && a.channel_names == b.channel_names && a.calls == b.calls &&
           a.bridges == b.bridges && a.queues == b.queues && a.agents == b.agents &&
           a.devices == b.devices && a.extensions == b.extensions && a.parked == b.parked &&
           a.conferences == b.conferences && a.recent_calls == b.recent_calls;
  }
  friend bool operator!=(const state& a, const state& b) { return !(a == b); }
};

// The key of an extension in state::extensions: "exten@context".
std::string extension_key(std::string_view exten, std::string_view context);

}  // namespace ami::live
