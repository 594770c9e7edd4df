// The sync: lists, then the buffered events; what the lists cannot say is carried over.
#include "ami/live/sync.hpp"

#include <algorithm>
#include <string>

namespace ami::live {

namespace {

constexpr std::array<list_action, list_kinds> actions{{
    {list_kind::bridges, "BridgeList", "BridgeListComplete"},
    {list_kind::channels, "CoreShowChannels", "CoreShowChannelsComplete"},
    {list_kind::queues, "QueueStatus", "QueueStatusComplete"},
    {list_kind::agents, "Agents", "AgentsComplete"},
    {list_kind::devices, "DeviceStateList", "DeviceStateListComplete"},
    {list_kind::extensions, "ExtensionStateList", "ExtensionStateListComplete"},
    {list_kind::parked, "ParkedCalls", "ParkedCallsComplete"},
    {list_kind::conferences, "ConfbridgeListRooms", "ConfbridgeListRoomsComplete"},
}};

bool contains_text(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (iequals(haystack.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

list_outcome classify(list_kind kind, const ami::response& r) {
  if (r.ok()) return list_outcome::listed;
  const auto text = r.message_text();
  // "Invalid/unknown command: DeviceStateList. Use Action: ListCommands ..."
  if (contains_text(text, "unknown command")) return list_outcome::unsupported;
  // Asterisk answers ExtensionStateList with an error when no hint exists at all.
  if (kind == list_kind::extensions && contains_text(text, "no dialplan hints")) {
    return list_outcome::listed;
  }
  // And ConfbridgeListRooms when no room is up.
  if (kind == list_kind::conferences && contains_text(text, "no active conferences")) {
    return list_outcome::listed;
  }
  return list_outcome::failed;
}

// Keeps `before`'s maps for a kind that has no list this time.
void keep_kind(list_kind kind, const state& before, state& s) {
  switch (kind) {
    case list_kind::bridges: s.bridges = before.bridges; break;
    case list_kind::channels:
      s.channels = before.channels;
      s.channel_names = before.channel_names;
      s.calls = before.calls;
      break;
    case list_kind::queues: s.queues = before.queues; break;
    case list_kind::agents: s.agents = before.agents; break;
    case list_kind::devices: s.devices = before.devices; break;
    case list_kind::extensions: s.extensions = before.extensions; break;
    case list_kind::parked: s.parked = before.parked; break;
    case list_kind::conferences: s.conferences = before.conferences; break;
  }
}

template <class Map, class F>
void patch_each(Map& after, F&& f) {
  std::vector<std::string> keys;
  keys.reserve(after.size());
  after.for_each([&](const std::string& k, const auto&) { keys.push_back(k); });
  for (const auto& k : keys) f(k, *after.find_mutable(k));
}

// What the lists do not carry, taken from before for what is still there.
void carry_over(const state& before, state& after) {
  // No list has finished calls: those known before stay, with those the replay ended.
  before.recent_calls.for_each([&](const std::string& id, const call& k) {
    if (!after.recent_calls.contains(id)) after.recent_calls.insert_or_assign(id, k);
  });
  patch_each(after.channels, [&](const std::string& id, channel& ch) {
    const channel* old = before.channels.find(id);
    if (old == nullptr) return;
    ch.created = old->created;
    if (old->answered) ch.answered = old->answered;  // a list says only that it is Up
    ch.on_hold = old->on_hold;
    ch.music_class = old->music_class;
    if (ch.variables.empty()) ch.variables = old->variables;
  });
  patch_each(after.calls, [&](const std::string& id, call& k) {
    const call* old = before.calls.find(id);
    if (old == nullptr) return;
    k.started = old->started;
    if (old->answered) k.answered = old->answered;
    if (k.queue.empty()) k.queue = old->queue;
    if (k.member.empty()) k.member = old->member;
    if (k.exten.empty()) k.exten = old->exten;
    if (!after.channels.contains(id)) {
      // The originating channel is gone; its caller id stays the call's.
      k.caller_id_num = old->caller_id_num;
      k.caller_id_name = old->caller_id_name;
      k.connected_line_num = old->connected_line_num;
      k.connected_line_name = old->connected_line_name;
    }
  });
  patch_each(after.parked, [&](const std::string& id, parked_call& p) {
    const parked_call* old = before.parked.find(id);
    if (old == nullptr || old->parking_space != p.parking_space) return;
    p.parked_at = old->parked_at;
    p.expires = old->expires;
  });
  patch_each(after.queues, [&](const std::string& name, queue& q) {
    const queue* old = before.queues.find(name);
    if (old == nullptr) return;
    patch_each(q.callers, [&](const std::string& id, queue_caller& c) {
      if (const queue_caller* was = old->callers.find(id)) c.joined = was->joined;
    });
  });
}

// After a QueueStatus list, a channel waits in the queue that lists it as a caller and in
// no other. The list's entries reach a channel only when it existed when they were applied;
// a partial sync that keeps the channels from before must link them afterwards.
void link_callers(state& s) {
  patch_each(s.channels, [&](const std::string& id, channel& ch) {
    if (!ch.queue.empty() && s.caller(ch.queue, id) == nullptr) ch.queue.clear();
  });
  std::vector<std::pair<std::string, std::string>> links;  // (uniqueid, queue)
  s.queues.for_each([&](const std::string& name, const queue& q) {
    q.callers.for_each(
        [&](const std::string& id, const queue_caller&) { links.emplace_back(id, name); });
  });
  for (const auto& [id, name] : links) {
    const channel* ch = s.channels.find(id);
    if (ch == nullptr || ch->queue == name) continue;
    channel& mine = *s.channels.find_mutable(id);
    mine.queue = name;
    const call* k = s.calls.find(mine.linkedid);
    if (k != nullptr && k->queue != name) s.calls.find_mutable(mine.linkedid)->queue = name;
  }
}

// ConfbridgeListRooms counts a room's users without naming them: they are the channels
// running ConfBridge(<room>,...), as CoreShowChannels lists them.
void link_conference_users(state& s) {
  std::vector<std::pair<std::string, std::string>> users;  // (room, uniqueid)
  s.channels.for_each([&](const std::string& id, const channel& ch) {
    if (!iequals(ch.application, "ConfBridge")) return;
    const auto room =
        std::string_view(ch.application_data).substr(0, ch.application_data.find(','));
    if (s.conferences.contains(room)) users.emplace_back(std::string(room), id);
  });
  patch_each(s.conferences, [&](const std::string& name, conference& c) {
    c.users.clear();
    for (const auto& [room, id] : users) {
      if (room == name) c.users.push_back(id);
    }
    std::sort(c.users.begin(), c.users.end());
  });
}

template <class Map>
void diff_map(const Map& before, const Map& after, entity what, std::string_view key_prefix,
              std::vector<change>& out) {
  if (before.same_as(after)) return;
  const auto record = [&](change_kind kind, const std::string& key) {
    change& c = out.emplace_back();
    c.what = what;
    c.kind = kind;
    if (key_prefix.empty()) {
      c.key = key;
    } else {
      c.key.assign(key_prefix);
      c.sub = key;
    }
  };
  after.for_each([&](const std::string& k, const auto& v) {
    const auto* old = before.find(k);
    if (old == nullptr) {
      record(change_kind::added, k);
    } else if (!(*old == v)) {
      record(change_kind::changed, k);
    }
  });
  before.for_each([&](const std::string& k, const auto&) {
    if (!after.contains(k)) record(change_kind::removed, k);
  });
}

bool same_queue_params(const queue& a, const queue& b) {
  queue x = a;
  queue y = b;
  x.members.clear();
  x.callers.clear();
  y.members.clear();
  y.callers.clear();
  return x == y;
}

}  // namespace

const std::array<list_action, list_kinds>& list_actions() noexcept { return actions; }

std::string_view to_string(list_kind k) noexcept {
  switch (k) {
    case list_kind::bridges: return "bridges";
    case list_kind::channels: return "channels";
    case list_kind::queues: return "queues";
    case list_kind::agents: return "agents";
    case list_kind::devices: return "devices";
    case list_kind::extensions: return "extensions";
    case list_kind::parked: return "parked";
    case list_kind::conferences: return "conferences";
  }
  return "unknown";
}

std::vector<change> diff(const state& before, const state& after) {
  std::vector<change> out;
  diff_map(before.channels, after.channels, entity::channel, {}, out);
  diff_map(before.calls, after.calls, entity::call, {}, out);
  diff_map(before.bridges, after.bridges, entity::bridge, {}, out);
  if (!before.queues.same_as(after.queues)) {
    static const queue empty{};
    after.queues.for_each([&](const std::string& name, const queue& q) {
      const queue* old = before.queues.find(name);
      if (old == nullptr) {
        out.push_back({entity::queue, change_kind::added, name, {}});
      } else if (!same_queue_params(*old, q)) {
        out.push_back({entity::queue, change_kind::changed, name, {}});
      }
      const queue& was = old != nullptr ? *old : empty;
      diff_map(was.members, q.members, entity::queue_member, name, out);
      diff_map(was.callers, q.callers, entity::queue_caller, name, out);
    });
    before.queues.for_each([&](const std::string& name, const queue& q) {
      if (after.queues.contains(name)) return;
      diff_map(q.members, empty.members, entity::queue_member, name, out);
      diff_map(q.callers, empty.callers, entity::queue_caller, name, out);
      out.push_back({entity::queue, change_kind::removed, name, {}});
    });
  }
  diff_map(before.agents, after.agents, entity::agent, {}, out);
  diff_map(before.devices, after.devices, entity::device, {}, out);
  diff_map(before.extensions, after.extensions, entity::extension, {}, out);
  diff_map(before.parked, after.parked, entity::parked_call, {}, out);
  diff_map(before.conferences, after.conferences, entity::conference, {}, out);
  diff_map(before.recent_calls, after.recent_calls, entity::recent_call, {}, out);
  return out;
}

synchroniser::synchroniser(reducer_options options) : options_(std::move(options)) {}

void synchroniser::begin(list_set kinds) {
  active_ = true;
  requested_ = kinds;
  buffer_.clear();
  lists_ = {};
}

void synchroniser::on_event(const ami::message& e, time_point now) {
  if (!active_ || !e.is_event() || !reducer::follows(e.event_name())) return;
  buffer_.push_back({e, now});  // copying a message makes it own its bytes
}

void synchroniser::on_list(list_kind kind, const ami::response& r) {
  on_list(kind, r, buffer_.size());
}

void synchroniser::on_list(list_kind kind, const ami::response& r, std::size_t place) {
  if (!active_ || !requested_.contains(kind)) return;
  list_answer answer;
  answer.outcome = classify(kind, r);
  answer.position = std::min(place, buffer_.size());
  if (answer.outcome == list_outcome::listed) answer.items = r.events();
  lists_[static_cast<std::size_t>(kind)] = std::move(answer);
}

void synchroniser::on_list_failed(list_kind kind) {
  if (!active_ || !requested_.contains(kind)) return;
  list_answer answer;
  answer.position = buffer_.size();
  lists_[static_cast<std::size_t>(kind)] = std::move(answer);
}

state synchroniser::finish(const state& before, time_point now, sync_report& report) {
  report = sync_report{};
  state fresh;
  for (const auto& a : actions) {
    const auto& answer = lists_[static_cast<std::size_t>(a.kind)];
    const list_outcome outcome = answer ? answer->outcome : list_outcome::failed;
    if (requested_.contains(a.kind)) report.outcomes[static_cast<std::size_t>(a.kind)] = outcome;
    if (outcome != list_outcome::listed) keep_kind(a.kind, before, fresh);
  }
  reducer r(std::move(fresh), options_);
  for (const auto& a : actions) {
    const auto& answer = lists_[static_cast<std::size_t>(a.kind)];
    if (!answer || answer->outcome != list_outcome::listed) continue;
    for (const auto& item : answer->items) r.apply(item, now);
  }
  const auto& rooms = lists_[static_cast<std::size_t>(list_kind::conferences)];
  if (rooms && rooms->outcome == list_outcome::listed) {
    // Before the replay, which then moves users in and out as it does live.
    state listed = r.current();
    link_conference_users(listed);
    r.reset(std::move(listed));
  }
  const auto& queues = lists_[static_cast<std::size_t>(list_kind::queues)];
  const std::size_t counted_from =
      queues && queues->outcome == list_outcome::listed ? queues->position : 0;
  const anomaly_counts before_replay = r.anomalies();
  for (std::size_t i = 0; i < buffer_.size(); ++i) {
    r.set_queue_events_listed(i < counted_from);
    r.apply(buffer_[i].msg, buffer_[i].at);
  }
  r.set_queue_events_listed(false);
  for (std::size_t k = 0; k < anomaly_kinds; ++k) {
    report.replay_anomalies.counts[k] = r.anomalies().counts[k] - before_replay.counts[k];
  }
  report.replayed = buffer_.size();
  state after = r.current();
  if (queues && queues->outcome == list_outcome::listed) link_callers(after);
  carry_over(before, after);
  report.changes = diff(before, after);
  active_ = false;
  requested_ = {};
  buffer_.clear();
  lists_ = {};
  return after;
}

}  // namespace ami::live
