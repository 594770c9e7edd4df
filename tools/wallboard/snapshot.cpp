#include "snapshot.hpp"
#include "sorted.hpp"

#include "../clock_text.hpp"
#include "../json.hpp"

#include "ami/live/agent.hpp"
#include "ami/live/device_state.hpp"
#include "ami/typed/channel_state.hpp"

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace ami::tools::wallboard {

namespace {

namespace json = boost::json;
namespace live = ami::live;

// Every value of a persistent map, converted, in key order.
template <class Map, class Convert>
json::array array_of(const Map& map, Convert convert) {
  json::array a;
  a.reserve(map.size());
  for (const auto& e : sorted_entries(map)) a.push_back(convert(*e.second));
  return a;
}

json::value time_value(live::time_point t) {
  if (t == live::time_point{}) return nullptr;
  return json::value(utc_time(t));
}

json::value time_value(const std::optional<live::time_point>& t) {
  return t ? time_value(*t) : json::value(nullptr);
}

json::object channel_json(const live::channel& c) {
  json::object o;
  o["channel"] = json_string(c.channel);
  o["uniqueid"] = json_string(c.uniqueid);
  o["linkedid"] = json_string(c.linkedid);
  o["state"] = ami::events::to_string(c.state);
  o["caller_id_num"] = json_string(c.caller_id_num);
  o["caller_id_name"] = json_string(c.caller_id_name);
  o["connected_line_num"] = json_string(c.connected_line_num);
  o["connected_line_name"] = json_string(c.connected_line_name);
  o["context"] = json_string(c.context);
  o["exten"] = json_string(c.exten);
  o["priority"] = c.priority;
  o["application"] = json_string(c.application);
  o["application_data"] = json_string(c.application_data);
  o["bridge"] = json_string(c.bridge);
  o["queue"] = json_string(c.queue);
  o["created"] = time_value(c.created);
  o["answered"] = time_value(c.answered);
  o["on_hold"] = c.on_hold;
  return o;
}

json::object call_json(const live::call& c) {
  json::object o;
  o["linkedid"] = json_string(c.linkedid);
  o["channels"] = json_strings(c.channels);
  o["caller_id_num"] = json_string(c.caller_id_num);
  o["caller_id_name"] = json_string(c.caller_id_name);
  o["connected_line_num"] = json_string(c.connected_line_num);
  o["connected_line_name"] = json_string(c.connected_line_name);
  o["exten"] = json_string(c.exten);
  o["started"] = time_value(c.started);
  o["answered"] = time_value(c.answered);
  o["queue"] = json_string(c.queue);
  o["member"] = json_string(c.member);
  return o;
}

json::object bridge_json(const live::bridge& b) {
  json::object o;
  o["bridge_uniqueid"] = json_string(b.bridge_uniqueid);
  o["bridge_type"] = json_string(b.bridge_type);
  o["bridge_technology"] = json_string(b.bridge_technology);
  o["bridge_creator"] = json_string(b.bridge_creator);
  o["bridge_name"] = json_string(b.bridge_name);
  o["bridge_video_source_mode"] = json_string(b.bridge_video_source_mode);
  o["channels"] = json_strings(b.channels);
  return o;
}

json::object member_json(const live::queue_member& m) {
  json::object o;
  o["interface"] = json_string(m.interface);
  o["name"] = json_string(m.name);
  o["state_interface"] = json_string(m.state_interface);
  o["membership"] = json_string(m.membership);
  o["status"] = live::to_string(m.status);
  o["paused"] = m.paused;
  o["paused_reason"] = json_string(m.paused_reason);
  o["penalty"] = m.penalty;
  o["calls_taken"] = m.calls_taken;
  o["last_call"] = m.last_call;
  o["in_call"] = m.in_call;
  o["wrapup_time"] = m.wrapup_time;
  return o;
}

json::object caller_json(const live::queue_caller& c, live::time_point now) {
  json::object o;
  o["channel"] = json_string(c.channel);
  o["uniqueid"] = json_string(c.uniqueid);
  o["position"] = c.position;
  o["caller_id_num"] = json_string(c.caller_id_num);
  o["caller_id_name"] = json_string(c.caller_id_name);
  o["joined"] = time_value(c.joined);
  const auto wait = std::chrono::duration_cast<std::chrono::seconds>(now - c.joined).count();
  o["wait"] = c.joined == live::time_point{} ? 0 : std::max<long long>(0, wait);
  return o;
}

json::object queue_json(const live::queue& q, live::time_point now) {
  json::object o;
  o["queue"] = json_string(q.queue);
  o["strategy"] = json_string(q.strategy);
  o["max"] = q.max;
  o["weight"] = q.weight;
  o["calls"] = q.calls;
  o["completed"] = q.completed;
  o["abandoned"] = q.abandoned;
  o["holdtime"] = q.holdtime;
  o["talktime"] = q.talktime;
  o["service_level"] = q.service_level;
  o["service_level_perf"] = q.service_level_perf;
  o["members"] = array_of(q.members, member_json);
  // Callers in queue order (the map is keyed by uniqueid).
  std::vector<const live::queue_caller*> callers;
  q.callers.for_each(
      [&](const std::string&, const live::queue_caller& c) { callers.push_back(&c); });
  std::stable_sort(callers.begin(), callers.end(),
                   [](const auto* a, const auto* b) { return a->position < b->position; });
  json::array waiting;
  for (const auto* c : callers) waiting.push_back(caller_json(*c, now));
  o["callers"] = std::move(waiting);
  return o;
}

json::object agent_json(const live::agent& a) {
  json::object o;
  o["agent"] = json_string(a.agent);
  o["name"] = json_string(a.name);
  o["status"] = live::to_string(a.status);
  o["channel"] = json_string(a.channel);
  o["talking_to"] = json_string(a.talking_to);
  o["logged_in_time"] = a.logged_in_time ? json::value(*a.logged_in_time) : json::value(nullptr);
  return o;
}

json::object device_json(const live::device& d) {
  json::object o;
  o["device"] = json_string(d.device);
  o["state"] = live::to_string(d.state);
  return o;
}

json::object extension_json(const live::extension& x) {
  json::object o;
  o["exten"] = json_string(x.exten);
  o["context"] = json_string(x.context);
  o["hint"] = json_string(x.hint);
  o["status"] = x.status;
  o["status_text"] = json_string(x.status_text);
  return o;
}

json::object parked_json(const live::parked_call& p, live::time_point now) {
  json::object o;
  o["channel"] = json_string(p.parkee_channel);
  o["uniqueid"] = json_string(p.parkee_uniqueid);
  o["parking_lot"] = json_string(p.parking_lot);
  o["parking_space"] = p.parking_space;
  o["parker_dial_string"] = json_string(p.parker_dial_string);
  o["parked_at"] = time_value(p.parked_at);
  const auto parked = std::chrono::duration_cast<std::chrono::seconds>(now - p.parked_at).count();
  o["duration"] = p.parked_at == live::time_point{} ? 0 : std::max<long long>(0, parked);
  o["expires"] = time_value(p.expires);
  return o;
}

json::object conference_json(const live::conference& c) {
  json::object o;
  o["conference"] = json_string(c.conference);
  o["parties"] = c.parties;
  o["marked"] = c.marked;
  o["locked"] = c.locked;
  o["muted"] = c.muted;
  o["users"] = json_strings(c.users);
  return o;
}

}  // namespace

boost::json::object snapshot_json(const live::state& s, live::time_point now) {
  json::object doc;
  doc["channels"] = array_of(s.channels, channel_json);
  doc["calls"] = array_of(s.calls, call_json);
  doc["bridges"] = array_of(s.bridges, bridge_json);
  doc["queues"] = array_of(s.queues, [now](const live::queue& q) { return queue_json(q, now); });
  doc["agents"] = array_of(s.agents, agent_json);
  doc["devices"] = array_of(s.devices, device_json);
  doc["extensions"] = array_of(s.extensions, extension_json);
  doc["parked"] =
      array_of(s.parked, [now](const live::parked_call& p) { return parked_json(p, now); });
  doc["conferences"] = array_of(s.conferences, conference_json);
  return doc;
}

std::string snapshot_text(const live::state& s, live::time_point now) {
  return json_text(snapshot_json(s, now));
}

}  // namespace ami::tools::wallboard
