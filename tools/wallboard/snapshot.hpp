// The live state as one JSON document: what `ami-wallboard --snapshot --json` prints and
// what the web wallboard's GET /api/snapshot and event stream carry.
//
// Top-level keys: channels, calls, bridges, queues, agents, devices, extensions, parked,
// conferences; each an array of objects keyed by the model's field names (ami/live/*.hpp).
// Enumerations are Asterisk's own text (channel state "Up", device state "NOT_INUSE", agent
// status "AGENT_IDLE"), times are UTC ("2024-05-01T14:03:07.250Z", null when unset) and a
// queue caller's `wait` is whole seconds since it joined, at `now`.
#pragma once

#include "ami/live/clock.hpp"
#include "ami/live/state.hpp"

#include <boost/json/object.hpp>

#include <string>

namespace ami::tools::wallboard {

boost::json::object snapshot_json(const ami::live::state& s, ami::live::time_point now);

// snapshot_json() serialized, on one line.
std::string snapshot_text(const ami::live::state& s, ami::live::time_point now);

}  // namespace ami::tools::wallboard
