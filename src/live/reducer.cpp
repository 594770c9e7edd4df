// The reducer: one handler per event name, each a few lines over the helpers below.
#include "ami/live/reducer.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <optional>
#include <unordered_map>

namespace ami::live {

namespace {

using ami::events::channel_state;

// The headers of a channel snapshot block, read in one pass over the event.
enum snap_field : unsigned {
  f_channel,
  f_state,
  f_caller_id_num,
  f_caller_id_name,
  f_connected_num,
  f_connected_name,
  f_language,
  f_account_code,
  f_context,
  f_exten,
  f_priority,
  f_uniqueid,
  f_linkedid,
  f_count,
};

struct snapshot_view {
  std::array<std::string_view, f_count> v{};
  unsigned present = 0;

  bool has(snap_field f) const noexcept { return (present & (1U << f)) != 0; }
  std::string_view operator[](snap_field f) const noexcept { return v[f]; }
  bool any() const noexcept { return present != 0; }
};

snap_field match_snapshot_header(std::string_view n) noexcept {
  switch (n.size()) {
    case 5: return iequals(n, "Exten") ? f_exten : f_count;
    case 7:
      if (iequals(n, "Channel")) return f_channel;
      return iequals(n, "Context") ? f_context : f_count;
    case 8:
      if (iequals(n, "Uniqueid")) return f_uniqueid;
      if (iequals(n, "Linkedid")) return f_linkedid;
      if (iequals(n, "Priority")) return f_priority;
      return iequals(n, "Language") ? f_language : f_count;
    case 11:
      if (iequals(n, "CallerIDNum")) return f_caller_id_num;
      return iequals(n, "AccountCode") ? f_account_code : f_count;
    case 12:
      if (iequals(n, "ChannelState")) return f_state;
      return iequals(n, "CallerIDName") ? f_caller_id_name : f_count;
    case 16: return iequals(n, "ConnectedLineNum") ? f_connected_num : f_count;
    case 17: return iequals(n, "ConnectedLineName") ? f_connected_name : f_count;
    default: return f_count;
  }
}

// The block whose header names start with `prefix` ("" for the plain block, "Dest",
// "Transferer", ...). The first occurrence of a header wins, as in message::get.
snapshot_view read_snapshot(const ami::message& m, std::string_view prefix) noexcept {
  snapshot_view s;
  const auto& fields = m.fields();
  for (std::size_t i = 1; i < fields.size(); ++i) {
    std::string_view n = fields[i].name;
    if (n.size() <= prefix.size()) continue;
    if (!prefix.empty() && !iequals(n.substr(0, prefix.size()), prefix)) continue;
    n.remove_prefix(prefix.size());
    const snap_field which = match_snapshot_header(n);
    if (which == f_count) continue;
    const unsigned bit = 1U << which;
    if ((s.present & bit) != 0) continue;
    s.present |= bit;
    s.v[which] = fields[i].value;
  }
  return s;
}

template <class T>
std::optional<T> number(std::string_view text) noexcept {
  T n{};
  const char* end = text.data() + text.size();
  const auto r = std::from_chars(text.data(), end, n);
  if (r.ec != std::errc{} || r.ptr != end || text.empty()) return std::nullopt;
  return n;
}

// Sets `dst` from the header `name` when the event has it and the value parses.
template <class T>
bool set_number(T& dst, const ami::message& m, std::string_view name) {
  const auto text = m.get(name);
  if (!text) return false;
  const auto n = number<T>(*text);
  if (!n || *n == dst) return false;
  dst = *n;
  return true;
}

bool set_text(std::string& dst, const ami::message& m, std::string_view name) {
  const auto text = m.get(name);
  if (!text || dst == *text) return false;
  dst.assign(*text);
  return true;
}

bool set_flag(bool& dst, const ami::message& m, std::string_view name) {
  const auto text = m.get(name);
  if (!text) return false;
  bool v = false;
  if (const auto n = number<int>(*text)) {
    v = *n != 0;
  } else {
    v = iequals(*text, "yes") || iequals(*text, "true");
  }
  if (v == dst) return false;
  dst = v;
  return true;
}

bool set_view(std::string& dst, std::string_view value) {
  if (dst == value) return false;
  dst.assign(value);
  return true;
}

// Parses a CoreShowChannel Duration ("HH:MM:SS", hours may exceed 24) into seconds.
std::optional<long long> parse_duration(std::string_view text) noexcept {
  long long total = 0;
  int parts = 0;
  while (!text.empty()) {
    const auto colon = text.find(':');
    const auto part = number<long long>(text.substr(0, colon));
    if (!part || *part < 0) return std::nullopt;
    total = total * 60 + *part;
    ++parts;
    if (colon == std::string_view::npos) break;
    text.remove_prefix(colon + 1);
  }
  if (parts == 0 || parts > 3) return std::nullopt;
  return total;
}

template <class Vec>
bool erase_value(Vec& v, std::string_view value) {
  const auto it = std::find(v.begin(), v.end(), value);
  if (it == v.end()) return false;
  v.erase(it);
  return true;
}

template <class Vec>
bool push_unique(Vec& v, std::string_view value) {
  if (std::find(v.begin(), v.end(), value) != v.end()) return false;
  v.emplace_back(value);
  return true;
}

// How an event that names a channel treats one the state lacks.
enum class lookup {
  create,    // Newchannel: a new channel; an existing one is a duplicate
  list,      // a list item: create or refresh, never an anomaly
  repair,    // an event about a live channel: create it from the snapshot, an anomaly
  existing,  // an event that cannot create (Hangup): an anomaly when absent
  quiet,     // a secondary channel of an event (transfers): refresh only if known
};

}  // namespace

struct reducer::context {
  reducer& r;
  state& s;
  const ami::message& e;
  time_point now;

  void note(entity what, change_kind kind, std::string_view key, std::string_view sub = {}) {
    auto& changes = r.changes_;
    for (auto it = changes.begin(); it != changes.end(); ++it) {
      if (it->what != what || it->key != key || it->sub != sub) continue;
      if (it->kind == change_kind::added && kind == change_kind::removed) {
        changes.erase(it);  // born and gone within one event: nothing to report
      } else if (it->kind == change_kind::removed && kind == change_kind::added) {
        it->kind = change_kind::changed;
      } else if (kind == change_kind::removed) {
        it->kind = change_kind::removed;
      }
      return;
    }
    change& c = changes.emplace_back();
    c.what = what;
    c.kind = kind;
    c.key.assign(key);
    c.sub.assign(sub);
  }

  void flag(anomaly a) {
    ++r.anomalies_.counts[static_cast<std::size_t>(a)];
    r.last_anomalies_.push_back(a);
  }

  bool queue_listed() const noexcept { return r.queue_events_listed_; }
  const reducer_options& options() const noexcept { return r.options_; }

  // Calls -------------------------------------------------------------------------------

  void copy_originator(call& k, const channel& ch) {
    k.caller_id_num = ch.caller_id_num;
    k.caller_id_name = ch.caller_id_name;
    k.connected_line_num = ch.connected_line_num;
    k.connected_line_name = ch.connected_line_name;
    if (k.exten.empty()) k.exten = ch.exten;
  }

  void join_call(const channel& ch) {
    if (ch.linkedid.empty()) return;
    bool inserted = false;
    call& k = s.calls.upsert(ch.linkedid, &inserted);
    if (inserted) {
      k.linkedid = ch.linkedid;
      k.started = ch.created;
    }
    push_unique(k.channels, ch.uniqueid);
    if (ch.uniqueid == ch.linkedid) copy_originator(k, ch);
    if (!ch.queue.empty()) k.queue = ch.queue;
    note(entity::call, inserted ? change_kind::added : change_kind::changed, ch.linkedid);
  }

  void leave_call(std::string_view linkedid, std::string_view uniqueid) {
    call* k = s.calls.find_mutable(linkedid);
    if (k == nullptr || !erase_value(k->channels, uniqueid)) return;
    if (k->channels.empty()) {
      if (r.options_.keep_finished_calls.count() > 0) {
        call done = *k;
        done.ended = now;
        const std::string id = done.linkedid.empty() ? std::string(linkedid) : done.linkedid;
        s.recent_calls.insert_or_assign(id, std::move(done));
        r.recent_order_.emplace_back(now, id);
        note(entity::recent_call, change_kind::added, id);
      }
      s.calls.erase(linkedid);
      note(entity::call, change_kind::removed, linkedid);
    } else {
      note(entity::call, change_kind::changed, linkedid);
    }
  }

  // Channels ----------------------------------------------------------------------------

  // A waiting caller's and a parked call's records name their channel: they follow renames.
  void caller_renamed(const channel& ch) {
    if (const parked_call* p = s.parked.find(ch.uniqueid); p && p->parkee_channel != ch.channel) {
      s.parked.find_mutable(ch.uniqueid)->parkee_channel = ch.channel;
      note(entity::parked_call, change_kind::changed, ch.uniqueid);
    }
    if (ch.queue.empty()) return;
    queue* q = s.queues.find_mutable(ch.queue);
    queue_caller* c = q != nullptr ? q->callers.find_mutable(ch.uniqueid) : nullptr;
    if (c == nullptr || c->channel == ch.channel) return;
    c->channel = ch.channel;
    note(entity::queue_caller, change_kind::changed, ch.queue, ch.uniqueid);
  }

  // Copies the block's fields into `ch`; keeps the name index and the calls in step.
  bool refresh(channel& ch, const snapshot_view& v) {
    bool changed = false;
    bool originator_changed = false;
    if (v.has(f_channel) && ch.channel != v[f_channel]) {
      s.channel_names.erase(ch.channel);
      ch.channel.assign(v[f_channel]);
      s.channel_names.insert_or_assign(ch.channel, ch.uniqueid);
      caller_renamed(ch);
      changed = true;
    }
    if (v.has(f_state)) {
      if (const auto st = ami::events::parse_channel_state(v[f_state]); st && *st != ch.state) {
        ch.state = *st;
        changed = true;
      }
      if (ch.state == channel_state::up && !ch.answered) {
        ch.answered = now;
        changed = true;
      }
    }
    const auto field = [&](std::string& dst, snap_field f) {
      if (v.has(f) && set_view(dst, v[f])) {
        changed = true;
        return true;
      }
      return false;
    };
    originator_changed |= field(ch.caller_id_num, f_caller_id_num);
    originator_changed |= field(ch.caller_id_name, f_caller_id_name);
    originator_changed |= field(ch.connected_line_num, f_connected_num);
    originator_changed |= field(ch.connected_line_name, f_connected_name);
    field(ch.language, f_language);
    field(ch.account_code, f_account_code);
    field(ch.context, f_context);
    field(ch.exten, f_exten);
    if (v.has(f_priority)) {
      if (const auto p = number<int>(v[f_priority]); p && *p != ch.priority) {
        ch.priority = *p;
        changed = true;
      }
    }
    if (v.has(f_linkedid) && !v[f_linkedid].empty() && ch.linkedid != v[f_linkedid]) {
      // A masquerade or a local channel optimisation moved the channel to another call.
      leave_call(ch.linkedid, ch.uniqueid);
      ch.linkedid.assign(v[f_linkedid]);
      join_call(ch);
      changed = true;
    } else if (originator_changed && ch.uniqueid == ch.linkedid) {
      if (call* k = s.calls.find_mutable(ch.linkedid)) {
        copy_originator(*k, ch);
        note(entity::call, change_kind::changed, ch.linkedid);
      }
    }
    if (changed) note(entity::channel, change_kind::changed, ch.uniqueid);
    return changed;
  }

  // Whether refresh() would change anything: an event that repeats what the model has
  // then copies nothing, even while a snapshot shares the channel.
  static bool snapshot_changes(const channel& ch, const snapshot_view& v) {
    const auto differs = [&](const std::string& have, snap_field f) {
      return v.has(f) && have != v[f];
    };
    if (differs(ch.channel, f_channel) || differs(ch.caller_id_num, f_caller_id_num) ||
        differs(ch.caller_id_name, f_caller_id_name) ||
        differs(ch.connected_line_num, f_connected_num) ||
        differs(ch.connected_line_name, f_connected_name) || differs(ch.language, f_language) ||
        differs(ch.account_code, f_account_code) || differs(ch.context, f_context) ||
        differs(ch.exten, f_exten)) {
      return true;
    }
    if (v.has(f_linkedid) && !v[f_linkedid].empty() && ch.linkedid != v[f_linkedid]) return true;
    if (v.has(f_state)) {
      const auto st = ami::events::parse_channel_state(v[f_state]);
      if (st && *st != ch.state) return true;
      if (ch.state == channel_state::up && !ch.answered) return true;
    }
    if (v.has(f_priority)) {
      const auto p = number<int>(v[f_priority]);
      if (p && *p != ch.priority) return true;
    }
    return false;
  }

  // For events that change a channel only through its snapshot block.
  void update_channel(const snapshot_view& v, lookup mode) {
    if (v.any() && mode != lookup::create) {
      const channel* have = s.channels.find(v[f_uniqueid]);
      if (have != nullptr && !snapshot_changes(*have, v)) return;
    }
    find_channel(v, mode);
  }

  // The channel the block describes, per `mode`; nullptr when there is none.
  channel* find_channel(const snapshot_view& v, lookup mode) {
    if (!v.any()) return nullptr;
    const std::string_view uid = v[f_uniqueid];
    if (uid.empty()) {
      if (mode != lookup::quiet) flag(anomaly::missing_header);
      return nullptr;
    }
    if (channel* ch = s.channels.find_mutable(uid)) {
      if (mode == lookup::create) flag(anomaly::duplicate_channel);
      refresh(*ch, v);
      return ch;
    }
    switch (mode) {
      case lookup::quiet: return nullptr;
      case lookup::existing: flag(anomaly::unknown_channel); return nullptr;
      case lookup::repair: flag(anomaly::unknown_channel); break;
      case lookup::create:
      case lookup::list: break;
    }
    bool inserted = false;
    channel& ch = s.channels.upsert(uid, &inserted);
    ch.uniqueid.assign(uid);
    ch.created = now;
    note(entity::channel, change_kind::added, uid);
    if (v.has(f_linkedid)) ch.linkedid.assign(v[f_linkedid]);
    if (ch.linkedid.empty()) ch.linkedid.assign(uid);
    refresh(ch, v);
    join_call(ch);
    return &ch;
  }

  void remove_channel(std::string_view uid) {
    const channel* found = s.channels.find(uid);
    if (found == nullptr) return;
    const channel ch = *found;  // the copy outlives the erase below
    if (!ch.bridge.empty()) leave_bridge(ch.bridge, uid);
    if (!ch.queue.empty()) remove_caller(ch.queue, uid, false);
    if (s.parked.contains(uid)) {
      // Parked calls end with an event of their own; a hang-up without one repairs here.
      s.parked.erase(uid);
      note(entity::parked_call, change_kind::removed, uid);
    }
    if (iequals(ch.application, "ConfBridge")) {
      const auto data = std::string_view(ch.application_data);
      leave_conference(data.substr(0, data.find(',')), uid);
    }
    leave_call(ch.linkedid, uid);
    if (const std::string* id = s.channel_names.find(ch.channel); id != nullptr && *id == uid) {
      s.channel_names.erase(ch.channel);
    }
    s.channels.erase(uid);
    note(entity::channel, change_kind::removed, uid);
  }

  // Bridges -----------------------------------------------------------------------------

  // The bridge block with this prefix ("", "To", "From", "Orig"...), created if new.
  bridge* read_bridge(std::string_view prefix, bool unknown_is_anomaly) {
    std::string name;
    const auto header = [&](std::string_view suffix) {
      name.assign(prefix).append(suffix);
      return e.get(name);
    };
    const auto id = header("BridgeUniqueid");
    if (!id || id->empty()) {
      flag(anomaly::missing_header);
      return nullptr;
    }
    bool inserted = false;
    bridge& b = s.bridges.upsert(*id, &inserted);
    bool changed = inserted;
    if (inserted) {
      b.bridge_uniqueid.assign(*id);
      if (unknown_is_anomaly) flag(anomaly::unknown_bridge);
    }
    const auto field = [&](std::string& dst, std::string_view suffix) {
      if (const auto v = header(suffix); v && set_view(dst, *v)) changed = true;
    };
    field(b.bridge_type, "BridgeType");
    field(b.bridge_technology, "BridgeTechnology");
    field(b.bridge_creator, "BridgeCreator");
    field(b.bridge_name, "BridgeName");
    field(b.bridge_video_source_mode, "BridgeVideoSourceMode");
    if (changed) {
      note(entity::bridge, inserted ? change_kind::added : change_kind::changed, *id);
    }
    return &b;
  }

  void leave_bridge(std::string_view bridge_id, std::string_view uid) {
    bridge* b = s.bridges.find_mutable(bridge_id);
    if (b != nullptr && erase_value(b->channels, uid)) {
      note(entity::bridge, change_kind::changed, bridge_id);
    }
    if (channel* ch = s.channels.find_mutable(uid); ch != nullptr && ch->bridge == bridge_id) {
      ch->bridge.clear();
      note(entity::channel, change_kind::changed, uid);
    }
  }

  void enter_bridge(const std::string& bridge_id, channel& ch) {
    if (ch.bridge == bridge_id) return;
    const std::string uid = ch.uniqueid;
    if (!ch.bridge.empty()) {
      // Never in two bridges: a missed BridgeLeave is repaired here.
      const std::string old = ch.bridge;
      leave_bridge(old, uid);
    }
    // leave_bridge may have copied the channel's entry: look it up again.
    if (channel* again = s.channels.find_mutable(uid)) {
      again->bridge = bridge_id;
      note(entity::channel, change_kind::changed, uid);
    }
    bridge* b = s.bridges.find_mutable(bridge_id);
    if (b == nullptr) return;
    push_unique(b->channels, uid);
    note(entity::bridge, change_kind::changed, bridge_id);
    if (b->channels.size() >= 2) {
      // The first time two of a call's channels talk is when it is answered.
      for (const auto& member : b->channels) {
        const channel* other = s.channels.find(member);
        if (other == nullptr) continue;
        call* k = s.calls.find_mutable(other->linkedid);
        if (k != nullptr && !k->answered) {
          k->answered = now;
          note(entity::call, change_kind::changed, other->linkedid);
        }
      }
    }
  }

  // Queues ------------------------------------------------------------------------------

  queue* find_queue(bool create, bool unknown_is_anomaly) {
    const auto name = e.get_or("Queue");
    if (name.empty()) {
      flag(anomaly::missing_header);
      return nullptr;
    }
    if (queue* q = s.queues.find_mutable(name)) return q;
    if (!create) {
      flag(anomaly::unknown_queue);
      return nullptr;
    }
    if (unknown_is_anomaly) flag(anomaly::unknown_queue);
    queue& q = s.queues.upsert(name);
    q.queue.assign(name);
    note(entity::queue, change_kind::added, name);
    return &q;
  }

  // The member fields of QueueMember (list item) and QueueMember* events.
  bool read_member(queue_member& m) {
    bool changed = false;
    changed |= set_text(m.name, e, "MemberName");
    changed |= set_text(m.name, e, "Name");
    changed |= set_text(m.state_interface, e, "StateInterface");
    changed |= set_text(m.membership, e, "Membership");
    changed |= set_number(m.penalty, e, "Penalty");
    changed |= set_number(m.calls_taken, e, "CallsTaken");
    changed |= set_number(m.last_call, e, "LastCall");
    changed |= set_number(m.last_pause, e, "LastPause");
    changed |= set_number(m.login_time, e, "LoginTime");
    changed |= set_flag(m.in_call, e, "InCall");
    if (const auto st = e.get("Status")) {
      if (const auto ds = parse_device_state(*st); ds && *ds != m.status) {
        m.status = *ds;
        changed = true;
      }
    }
    changed |= set_flag(m.paused, e, "Paused");
    changed |= set_text(m.paused_reason, e, "PausedReason");
    changed |= set_flag(m.ring_in_use, e, "Ringinuse");
    changed |= set_number(m.wrapup_time, e, "Wrapuptime");
    return changed;
  }

  std::string_view member_interface() const {
    auto iface = e.get_or("Interface");
    if (iface.empty()) iface = e.get_or("Location");  // QueueStatus and older servers
    return iface;
  }

  // A member event: the member is created when new (`added` says whether that is normal).
  void upsert_member(bool added_is_normal) {
    // A member event that a QueueStatus list already reflects is older than the list: its
    // absolute values (CallsTaken...) may have moved since through events not applied.
    if (queue_listed()) return;
    queue* q = find_queue(true, !added_is_normal);
    if (q == nullptr) return;
    const std::string qname = q->queue;
    const auto iface = member_interface();
    if (iface.empty()) {
      flag(anomaly::missing_header);
      return;
    }
    bool inserted = false;
    queue_member& m = q->members.upsert(iface, &inserted);
    if (inserted) {
      m.interface.assign(iface);
      if (!added_is_normal) flag(anomaly::unknown_member);
    }
    const bool changed = read_member(m);
    if (inserted || changed) {
      note(entity::queue_member, inserted ? change_kind::added : change_kind::changed, qname,
           iface);
    }
  }

  void shift_positions(queue& q, int from, int delta, std::string_view except) {
    std::vector<std::string> moved;
    q.callers.for_each([&](const std::string& uid, const queue_caller& c) {
      if (c.position >= from && uid != except) moved.push_back(uid);
    });
    for (const auto& uid : moved) {
      if (queue_caller* c = q.callers.find_mutable(uid)) {
        c->position += delta;
        note(entity::queue_caller, change_kind::changed, q.queue, uid);
      }
    }
  }

  void remove_caller(std::string_view qname, std::string_view uid, bool unknown_is_anomaly) {
    queue* q = s.queues.find_mutable(qname);
    const queue_caller* c = q != nullptr ? q->callers.find(uid) : nullptr;
    if (c == nullptr) {
      if (unknown_is_anomaly) flag(anomaly::unknown_caller);
      return;
    }
    const int position = c->position;
    q->callers.erase(uid);
    note(entity::queue_caller, change_kind::removed, qname, uid);
    shift_positions(*q, position + 1, -1, {});
    count_callers(*q);
    if (channel* ch = s.channels.find_mutable(uid); ch != nullptr && ch->queue == qname) {
      ch->queue.clear();
      note(entity::channel, change_kind::changed, uid);
    }
  }

  // Calls mirrors the callers. The Count header of joins and leaves is not used: a join
  // or leave replayed after a sync's list would set an old count.
  void count_callers(queue& q) {
    const int n = static_cast<int>(q.callers.size());
    if (q.calls == n) return;
    q.calls = n;
    note(entity::queue, change_kind::changed, q.queue);
  }

  // Conferences -------------------------------------------------------------------------

  conference* find_conference(bool create) {
    const auto name = e.get_or("Conference");
    if (name.empty()) {
      flag(anomaly::missing_header);
      return nullptr;
    }
    if (conference* k = s.conferences.find_mutable(name)) return k;
    if (!create) return nullptr;
    conference& k = s.conferences.upsert(name);
    k.conference.assign(name);
    note(entity::conference, change_kind::added, name);
    return &k;
  }

  void count_parties(conference& k) {
    const int n = static_cast<int>(k.users.size());
    if (k.parties == n) return;
    k.parties = n;
    note(entity::conference, change_kind::changed, k.conference);
  }

  void leave_conference(std::string_view room, std::string_view uid) {
    const conference* have = s.conferences.find(room);
    if (have == nullptr ||
        !std::binary_search(have->users.begin(), have->users.end(), std::string(uid))) {
      return;
    }
    conference& k = *s.conferences.find_mutable(room);
    k.users.erase(std::lower_bound(k.users.begin(), k.users.end(), uid));
    note(entity::conference, change_kind::changed, k.conference);
    count_parties(k);
  }

  // Agents ------------------------------------------------------------------------------

  agent* find_agent(std::string_view id, bool create) {
    if (id.empty()) {
      flag(anomaly::missing_header);
      return nullptr;
    }
    if (agent* a = s.agents.find_mutable(id)) return a;
    if (!create) return nullptr;
    agent& a = s.agents.upsert(id);
    a.agent.assign(id);
    note(entity::agent, change_kind::added, id);
    return &a;
  }

  // The app_agent_pool agent behind a queue member interface "Agent/1001", if any.
  agent* agent_of_interface() {
    const auto iface = member_interface();
    constexpr std::string_view prefix = "Agent/";
    if (iface.size() <= prefix.size() || !iequals(iface.substr(0, prefix.size()), prefix)) {
      return nullptr;
    }
    return s.agents.find_mutable(iface.substr(prefix.size()));
  }
};

namespace {

using context = reducer::context;
using handler = void (*)(context&);

snapshot_view plain(const context& c) { return read_snapshot(c.e, {}); }

// Channels ------------------------------------------------------------------------------

void on_newchannel(context& c) { c.find_channel(plain(c), lookup::create); }

void on_channel_update(context& c) { c.update_channel(plain(c), lookup::repair); }

void on_newexten(context& c) {
  channel* ch = c.find_channel(plain(c), lookup::repair);
  if (ch == nullptr) return;
  bool changed = set_text(ch->application, c.e, "Application");
  changed |= set_text(ch->application_data, c.e, "AppData");
  if (changed) c.note(entity::channel, change_kind::changed, ch->uniqueid);
}

void on_varset(context& c) {
  const auto v = plain(c);
  if (!v.has(f_uniqueid)) return;  // a global variable
  const auto name = c.e.get_or("Variable");
  const auto& tracked = c.options().variables;
  if (std::find(tracked.begin(), tracked.end(), name) == tracked.end()) {
    c.update_channel(v, lookup::repair);
    return;
  }
  channel* ch = c.find_channel(v, lookup::repair);
  if (ch == nullptr) return;
  const auto value = c.e.get_or("Value");
  for (auto& kv : ch->variables) {
    if (kv.first == name) {
      if (set_view(kv.second, value)) c.note(entity::channel, change_kind::changed, ch->uniqueid);
      return;
    }
  }
  ch->variables.emplace_back(std::string(name), std::string(value));
  c.note(entity::channel, change_kind::changed, ch->uniqueid);
}

void set_hold(context& c, bool on) {
  channel* ch = c.find_channel(plain(c), lookup::repair);
  if (ch == nullptr) return;
  bool changed = ch->on_hold != on;
  ch->on_hold = on;
  changed |= set_view(ch->music_class, on ? c.e.get_or("MusicClass") : std::string_view{});
  if (changed) c.note(entity::channel, change_kind::changed, ch->uniqueid);
}

void on_hold(context& c) { set_hold(c, true); }
void on_unhold(context& c) { set_hold(c, false); }

void on_dial(context& c) {
  // A DialBegin of an originated call has no caller block; the callee's is always there.
  const auto caller = plain(c);
  const auto dest = read_snapshot(c.e, "Dest");
  c.update_channel(caller, lookup::repair);
  c.update_channel(dest, lookup::repair);
  // A dialled channel runs AppDial (AppQueue when a queue rings its member) and no event
  // says so; CoreShowChannels does, and the live model says the same.
  if (!iequals(c.e.event_name(), "DialBegin")) return;
  const channel* d = c.s.channels.find(dest[f_uniqueid]);
  if (d == nullptr || !d->application.empty()) return;
  const channel* from = caller.any() ? c.s.channels.find(caller[f_uniqueid]) : nullptr;
  const bool queue = from != nullptr && iequals(from->application, "Queue");
  channel& m = *c.s.channels.find_mutable(dest[f_uniqueid]);
  m.application = queue ? "AppQueue" : "AppDial";
  m.application_data = "(Outgoing Line)";
  c.note(entity::channel, change_kind::changed, m.uniqueid);
}

void on_hangup(context& c) {
  const auto v = plain(c);
  const auto uid = v[f_uniqueid];
  if (uid.empty()) {
    c.flag(anomaly::missing_header);
    return;
  }
  if (!c.s.channels.contains(uid)) {
    c.flag(anomaly::unknown_channel);
    return;
  }
  c.remove_channel(uid);
}

void on_rename(context& c) {
  const auto uid = c.e.get_or("Uniqueid");
  const auto old_name = c.e.get_or("Channel");
  const auto new_name = c.e.get_or("Newname");
  if (new_name.empty()) {
    c.flag(anomaly::missing_header);
    return;
  }
  std::string id(uid);
  if (id.empty()) {
    // Servers before 12 name the channel only.
    if (const std::string* by_name = c.s.channel_names.find(old_name)) id = *by_name;
  }
  channel* ch = id.empty() ? nullptr : c.s.channels.find_mutable(id);
  if (ch == nullptr) {
    c.flag(anomaly::unknown_channel);
    return;
  }
  if (ch->channel == new_name) return;
  if (const std::string* owner = c.s.channel_names.find(ch->channel);
      owner != nullptr && *owner == id) {
    c.s.channel_names.erase(ch->channel);
  }
  ch->channel.assign(new_name);
  c.s.channel_names.insert_or_assign(ch->channel, id);
  c.caller_renamed(*ch);
  c.note(entity::channel, change_kind::changed, id);
}

void on_transfer_blind(context& c) {
  c.update_channel(read_snapshot(c.e, "Transferer"), lookup::quiet);
  c.update_channel(read_snapshot(c.e, "Transferee"), lookup::quiet);
}

void on_transfer_attended(context& c) {
  for (std::string_view prefix :
       {"OrigTransferer", "SecondTransferer", "TransferTarget", "Transferee"}) {
    c.update_channel(read_snapshot(c.e, prefix), lookup::quiet);
  }
}

void on_local_pair(context& c) {
  c.update_channel(read_snapshot(c.e, "LocalOne"), lookup::quiet);
  c.update_channel(read_snapshot(c.e, "LocalTwo"), lookup::quiet);
}

void on_core_show_channel(context& c) {
  channel* ch = c.find_channel(plain(c), lookup::list);
  if (ch == nullptr) return;
  const std::string uid = ch->uniqueid;
  bool changed = set_text(ch->application, c.e, "Application");
  changed |= set_text(ch->application_data, c.e, "ApplicationData");
  if (const auto d = c.e.get("Duration")) {
    if (const auto secs = parse_duration(*d)) {
      const time_point created = c.now - std::chrono::seconds(*secs);
      if (ch->created != created) {
        ch->created = created;
        changed = true;
      }
    }
  }
  if (changed) c.note(entity::channel, change_kind::changed, uid);
  const std::string bridge_id(c.e.get_or("BridgeId"));
  if (bridge_id.empty()) {
    if (!ch->bridge.empty()) {
      const std::string old = ch->bridge;
      c.leave_bridge(old, uid);
    }
    return;
  }
  bool inserted = false;
  bridge& b = c.s.bridges.upsert(bridge_id, &inserted);
  if (inserted) {
    b.bridge_uniqueid = bridge_id;
    c.note(entity::bridge, change_kind::added, bridge_id);
  }
  if (channel* again = c.s.channels.find_mutable(uid)) c.enter_bridge(bridge_id, *again);
}

// Bridges -------------------------------------------------------------------------------

void on_bridge_create(context& c) { c.read_bridge({}, false); }

void on_bridge_update(context& c) { c.read_bridge({}, true); }

void on_bridge_enter(context& c) {
  bridge* b = c.read_bridge({}, true);
  if (b == nullptr) return;
  const std::string id = b->bridge_uniqueid;
  channel* ch = c.find_channel(plain(c), lookup::repair);
  if (ch != nullptr) c.enter_bridge(id, *ch);
}

void on_bridge_leave(context& c) {
  const auto id = c.e.get_or("BridgeUniqueid");
  const auto v = plain(c);
  if (id.empty() || v[f_uniqueid].empty()) {
    c.flag(anomaly::missing_header);
    return;
  }
  if (!c.s.bridges.contains(id)) c.flag(anomaly::unknown_bridge);
  if (c.find_channel(v, lookup::repair) == nullptr) return;
  c.leave_bridge(id, v[f_uniqueid]);
}

void on_bridge_destroy(context& c) {
  const std::string id(c.e.get_or("BridgeUniqueid"));
  if (id.empty()) {
    c.flag(anomaly::missing_header);
    return;
  }
  const bridge* b = c.s.bridges.find(id);
  if (b == nullptr) {
    c.flag(anomaly::unknown_bridge);
    return;
  }
  const std::vector<std::string> left = b->channels;
  for (const auto& uid : left) c.leave_bridge(id, uid);
  c.s.bridges.erase(id);
  c.note(entity::bridge, change_kind::removed, id);
}

void on_bridge_merge(context& c) {
  bridge* to = c.read_bridge("To", true);
  if (to == nullptr) return;
  const std::string to_id = to->bridge_uniqueid;
  bridge* from = c.read_bridge("From", true);
  if (from == nullptr) return;
  const std::vector<std::string> moving = from->channels;
  for (const auto& uid : moving) {
    if (channel* ch = c.s.channels.find_mutable(uid)) c.enter_bridge(to_id, *ch);
  }
}

// Queues --------------------------------------------------------------------------------

void on_queue_params(context& c) {
  queue* q = c.find_queue(true, false);
  if (q == nullptr) return;
  bool changed = set_text(q->strategy, c.e, "Strategy");
  changed |= set_number(q->max, c.e, "Max");
  changed |= set_number(q->weight, c.e, "Weight");
  changed |= set_number(q->calls, c.e, "Calls");
  changed |= set_number(q->holdtime, c.e, "Holdtime");
  changed |= set_number(q->talktime, c.e, "TalkTime");
  changed |= set_number(q->completed, c.e, "Completed");
  changed |= set_number(q->abandoned, c.e, "Abandoned");
  changed |= set_number(q->service_level, c.e, "ServiceLevel");
  changed |= set_number(q->service_level_perf, c.e, "ServicelevelPerf");
  changed |= set_number(q->service_level_perf2, c.e, "ServicelevelPerf2");
  if (changed) c.note(entity::queue, change_kind::changed, q->queue);
}

void on_queue_member_item(context& c) { c.upsert_member(true); }
void on_member_added(context& c) { c.upsert_member(true); }
void on_member_update(context& c) { c.upsert_member(false); }

void on_member_removed(context& c) {
  if (c.queue_listed()) return;
  queue* q = c.find_queue(false, true);
  if (q == nullptr) return;
  const auto iface = c.member_interface();
  if (!q->members.contains(iface)) {
    c.flag(anomaly::unknown_member);
    return;
  }
  const std::string qname = q->queue;
  q->members.erase(iface);
  c.note(entity::queue_member, change_kind::removed, qname, iface);
}

// QueueCallerJoin / Join, and the QueueEntry list item.
void join_queue(context& c, bool list_item) {
  const auto v = plain(c);
  if (!list_item) c.find_channel(v, lookup::repair);
  if (!list_item && c.queue_listed()) return;
  queue* q = c.find_queue(true, !list_item);
  if (q == nullptr) return;
  const std::string qname = q->queue;
  const auto uid = v[f_uniqueid];
  if (uid.empty()) {
    c.flag(anomaly::missing_header);
    return;
  }
  bool inserted = false;
  queue_caller& caller = q->callers.upsert(uid, &inserted);
  bool changed = inserted;
  if (inserted) {
    caller.uniqueid.assign(uid);
    caller.joined = c.now;
  }
  changed |= set_view(caller.channel, v[f_channel]);
  if (v.has(f_caller_id_num)) changed |= set_view(caller.caller_id_num, v[f_caller_id_num]);
  if (v.has(f_caller_id_name)) changed |= set_view(caller.caller_id_name, v[f_caller_id_name]);
  // A join seen again (it raced a QueueStatus list that already had the caller) leaves
  // the position alone: later joins may have moved it since.
  if (list_item || inserted) changed |= set_number(caller.position, c.e, "Position");
  const int position = caller.position;
  if (list_item) {
    if (const auto wait = c.e.get("Wait")) {
      if (const auto secs = number<long long>(*wait)) {
        const time_point joined = c.now - std::chrono::seconds(*secs);
        changed |= caller.joined != joined;
        caller.joined = joined;
      }
    }
  }
  if (changed) {
    c.note(entity::queue_caller, inserted ? change_kind::added : change_kind::changed, qname, uid);
  }
  if (!list_item && inserted) {
    // Asterisk inserts by priority: those at or behind the new position move back.
    c.shift_positions(*q, position, +1, uid);
  }
  if (inserted) c.count_callers(*q);
  if (channel* ch = c.s.channels.find_mutable(uid); ch != nullptr && ch->queue != qname) {
    ch->queue = qname;
    const std::string linkedid = ch->linkedid;
    c.note(entity::channel, change_kind::changed, uid);
    if (call* k = c.s.calls.find_mutable(linkedid); k != nullptr && k->queue != qname) {
      k->queue = qname;
      c.note(entity::call, change_kind::changed, linkedid);
    }
  }
}

void on_caller_join(context& c) { join_queue(c, false); }
void on_queue_entry(context& c) { join_queue(c, true); }

void on_caller_leave(context& c) {
  const auto v = plain(c);
  c.find_channel(v, lookup::quiet);
  if (c.queue_listed()) return;
  const auto qname = c.e.get_or("Queue");
  const auto uid = v[f_uniqueid];
  if (qname.empty() || uid.empty()) {
    c.flag(anomaly::missing_header);
    return;
  }
  if (!c.s.queues.contains(qname)) {
    c.flag(anomaly::unknown_queue);
    return;
  }
  c.remove_caller(qname, uid, true);
}

void on_caller_abandon(context& c) {
  const auto v = plain(c);
  c.find_channel(v, lookup::quiet);
  queue* q = c.find_queue(false, true);
  if (q == nullptr || c.queue_listed()) return;
  // Counted only while the caller is in the model: an abandon the QueueStatus list already
  // counted finds no caller there (it left before the list was made).
  if (!q->callers.contains(v[f_uniqueid])) return;
  ++q->abandoned;
  c.note(entity::queue, change_kind::changed, q->queue);
}

void on_agent_called(context& c) {
  c.update_channel(plain(c), lookup::quiet);
  c.update_channel(read_snapshot(c.e, "Dest"), lookup::quiet);
}

void set_member_in_call(context& c, std::string_view iface, bool in_call) {
  if (c.queue_listed()) return;
  const auto qname = c.e.get_or("Queue");
  queue* q = c.s.queues.find_mutable(qname);
  queue_member* m = q != nullptr ? q->members.find_mutable(iface) : nullptr;
  if (m == nullptr || m->in_call == in_call) return;
  m->in_call = in_call;
  c.note(entity::queue_member, change_kind::changed, qname, iface);
}

void on_agent_connect(context& c) {
  const auto caller = plain(c);
  c.find_channel(caller, lookup::quiet);
  c.find_channel(read_snapshot(c.e, "Dest"), lookup::quiet);
  const auto iface = c.member_interface();
  if (const channel* ch = c.s.channels.find(caller[f_uniqueid])) {
    const std::string linkedid = ch->linkedid;
    if (call* k = c.s.calls.find_mutable(linkedid); k != nullptr && set_view(k->member, iface)) {
      c.note(entity::call, change_kind::changed, linkedid);
    }
  }
  // Asterisk marks the member in call without a QueueMemberStatus to say so.
  set_member_in_call(c, iface, true);
  if (agent* a = c.agent_of_interface()) {
    bool changed = a->status != agent_status::on_call;
    a->status = agent_status::on_call;
    changed |= set_view(a->talking_to, caller[f_channel]);
    if (changed) c.note(entity::agent, change_kind::changed, a->agent);
  }
}

void on_agent_complete(context& c) {
  c.find_channel(plain(c), lookup::quiet);
  c.find_channel(read_snapshot(c.e, "Dest"), lookup::quiet);
  set_member_in_call(c, c.member_interface(), false);
  if (agent* a = c.agent_of_interface()) {
    bool changed = a->status != agent_status::idle || !a->talking_to.empty();
    a->status = agent_status::idle;
    a->talking_to.clear();
    if (changed) c.note(entity::agent, change_kind::changed, a->agent);
  }
  queue* q = c.find_queue(false, true);
  if (q == nullptr || c.queue_listed()) return;
  ++q->completed;
  c.note(entity::queue, change_kind::changed, q->queue);
  // Asterisk counts the member's call as it sends AgentComplete, and reports the count only
  // with the member's next status change, which may be long in coming (the member's device
  // busy with another call).
  if (queue_member* m = q->members.find_mutable(c.member_interface())) {
    ++m->calls_taken;
    m->last_call =
        std::chrono::duration_cast<std::chrono::seconds>(c.now.time_since_epoch()).count();
    c.note(entity::queue_member, change_kind::changed, q->queue, m->interface);
  }
}

// Agents --------------------------------------------------------------------------------

void on_agents_item(context& c) {
  agent* a = c.find_agent(c.e.get_or("Agent"), true);
  if (a == nullptr) return;
  bool changed = set_text(a->name, c.e, "Name");
  if (const auto st = c.e.get("Status")) {
    const auto parsed = parse_agent_status(*st);
    changed |= parsed != a->status;
    a->status = parsed;
  }
  const auto talking = c.e.get_or("TalkingToChan");
  changed |= set_view(a->talking_to, talking == "n/a" ? std::string_view{} : talking);
  const auto chan = c.e.get_or("Channel");
  changed |= set_view(a->channel, chan == "n/a" ? std::string_view{} : chan);
  if (const auto t = c.e.get("LoggedInTime")) {
    const auto n = number<long long>(*t);
    const std::optional<long long> when = n && *n > 0 ? n : std::nullopt;
    changed |= when != a->logged_in_time;
    a->logged_in_time = when;
  }
  if (changed) c.note(entity::agent, change_kind::changed, a->agent);
}

void on_agent_login(context& c) {
  const auto v = plain(c);
  c.find_channel(v, lookup::quiet);
  agent* a = c.find_agent(c.e.get_or("Agent"), true);
  if (a == nullptr) return;
  bool changed = a->status != agent_status::idle;
  a->status = agent_status::idle;
  changed |= set_view(a->channel, v[f_channel]);
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(c.now.time_since_epoch());
  if (!a->logged_in_time) {
    a->logged_in_time = secs.count();
    changed = true;
  }
  if (changed) c.note(entity::agent, change_kind::changed, a->agent);
}

void on_agent_logoff(context& c) {
  c.find_channel(plain(c), lookup::quiet);
  agent* a = c.find_agent(c.e.get_or("Agent"), true);
  if (a == nullptr) return;
  const bool changed = a->status != agent_status::logged_off || !a->channel.empty() ||
                       !a->talking_to.empty() || a->logged_in_time.has_value();
  a->status = agent_status::logged_off;
  a->channel.clear();
  a->talking_to.clear();
  a->logged_in_time.reset();
  if (changed) c.note(entity::agent, change_kind::changed, a->agent);
}

// Devices and hints ---------------------------------------------------------------------

void on_device_state(context& c) {
  const auto name = c.e.get_or("Device");
  const auto st = parse_device_state(c.e.get_or("State"));
  if (name.empty() || !st) {
    c.flag(anomaly::missing_header);
    return;
  }
  bool inserted = false;
  device& d = c.s.devices.upsert(name, &inserted);
  if (inserted) d.device.assign(name);
  if (!inserted && d.state == *st) return;
  d.state = *st;
  c.note(entity::device, inserted ? change_kind::added : change_kind::changed, name);
}

void on_extension_status(context& c) {
  const auto exten = c.e.get_or("Exten");
  const auto ctx = c.e.get_or("Context");
  if (exten.empty()) {
    c.flag(anomaly::missing_header);
    return;
  }
  const std::string key = extension_key(exten, ctx);
  bool inserted = false;
  extension& x = c.s.extensions.upsert(key, &inserted);
  bool changed = inserted;
  if (inserted) {
    x.exten.assign(exten);
    x.context.assign(ctx);
  }
  changed |= set_text(x.hint, c.e, "Hint");
  changed |= set_number(x.status, c.e, "Status");
  changed |= set_text(x.status_text, c.e, "StatusText");
  if (changed) c.note(entity::extension, inserted ? change_kind::added : change_kind::changed, key);
}

// Parking -------------------------------------------------------------------------------

// ParkedCall (the event and the list item) and ParkedCallSwap: the call is (still) parked.
void on_parked(context& c) {
  const auto v = read_snapshot(c.e, "Parkee");
  c.update_channel(v, lookup::quiet);
  const auto uid = v[f_uniqueid];
  const auto space = number<int>(c.e.get_or("ParkingSpace"));
  if (uid.empty() || !space) {
    c.flag(anomaly::missing_header);
    return;
  }
  const auto lot = c.e.get_or("Parkinglot");
  // A swap puts another channel in the space: the one that was there is not parked now.
  std::vector<std::string> replaced;
  c.s.parked.for_each([&](const std::string& id, const parked_call& p) {
    if (id != uid && p.parking_space == *space && p.parking_lot == lot) replaced.push_back(id);
  });
  for (const auto& id : replaced) {
    c.s.parked.erase(id);
    c.note(entity::parked_call, change_kind::removed, id);
  }
  bool inserted = false;
  parked_call& p = c.s.parked.upsert(uid, &inserted);
  bool changed = inserted;
  if (inserted) {
    p.parkee_uniqueid.assign(uid);
    const auto seconds = [&](std::string_view name) {
      return std::chrono::seconds(number<long long>(c.e.get_or(name)).value_or(0));
    };
    p.parked_at = c.now - seconds("ParkingDuration");
    p.expires = c.now + seconds("ParkingTimeout");
  }
  changed |= set_view(p.parkee_channel, v[f_channel]);
  changed |= set_view(p.parking_lot, lot);
  changed |= set_number(p.parking_space, c.e, "ParkingSpace");
  changed |= set_text(p.parker_dial_string, c.e, "ParkerDialString");
  if (changed)
    c.note(entity::parked_call, inserted ? change_kind::added : change_kind::changed, uid);
}

// UnParkedCall, ParkedCallTimeOut, ParkedCallGiveUp: the space is free again.
void on_unparked(context& c) {
  const auto v = read_snapshot(c.e, "Parkee");
  c.update_channel(v, lookup::quiet);
  c.update_channel(read_snapshot(c.e, "Retriever"), lookup::quiet);
  const auto uid = v[f_uniqueid];
  if (uid.empty()) {
    c.flag(anomaly::missing_header);
    return;
  }
  if (!c.s.parked.contains(uid)) return;  // already gone (a sync's list did not have it)
  c.s.parked.erase(uid);
  c.note(entity::parked_call, change_kind::removed, uid);
}

// Conferences ---------------------------------------------------------------------------

void on_conf_start(context& c) { c.find_conference(true); }

void on_conf_end(context& c) {
  const conference* k = c.find_conference(false);
  if (k == nullptr) return;
  const std::string name = k->conference;
  c.s.conferences.erase(name);
  c.note(entity::conference, change_kind::removed, name);
}

void on_conf_join(context& c) {
  const auto v = plain(c);
  c.find_channel(v, lookup::repair);
  conference* k = c.find_conference(true);
  const auto uid = v[f_uniqueid];
  if (k == nullptr || uid.empty()) return;
  const auto at = std::lower_bound(k->users.begin(), k->users.end(), uid);
  if (at == k->users.end() || *at != uid) {
    k->users.emplace(at, uid);
    c.note(entity::conference, change_kind::changed, k->conference);
  }
  c.count_parties(*k);
}

void on_conf_leave(context& c) {
  const auto v = plain(c);
  c.update_channel(v, lookup::quiet);
  const auto name = c.e.get_or("Conference");
  if (name.empty() || v[f_uniqueid].empty()) {
    c.flag(anomaly::missing_header);
    return;
  }
  c.leave_conference(name, v[f_uniqueid]);
}

void on_conf_room_item(context& c) {
  conference* k = c.find_conference(true);
  if (k == nullptr) return;
  bool changed = set_number(k->parties, c.e, "Parties");
  changed |= set_number(k->marked, c.e, "Marked");
  changed |= set_flag(k->locked, c.e, "Locked");
  changed |= set_flag(k->muted, c.e, "Muted");
  if (changed) c.note(entity::conference, change_kind::changed, k->conference);
}

void set_conf_locked(context& c, bool locked) {
  conference* k = c.find_conference(false);
  if (k == nullptr || k->locked == locked) return;
  k->locked = locked;
  c.note(entity::conference, change_kind::changed, k->conference);
}

void on_conf_lock(context& c) { set_conf_locked(c, true); }
void on_conf_unlock(context& c) { set_conf_locked(c, false); }

// The table: lower-case event names (older names too) to their handler.
struct entry {
  std::string_view name;
  handler fn;
};

constexpr std::array<entry, 77> handlers{{
    {"newchannel", on_newchannel},
    {"newstate", on_channel_update},
    {"newcallerid", on_channel_update},
    {"newconnectedline", on_channel_update},
    {"newaccountcode", on_channel_update},
    {"hanguprequest", on_channel_update},
    {"softhanguprequest", on_channel_update},
    {"musiconholdstart", on_channel_update},
    {"musiconholdstop", on_channel_update},
    {"newexten", on_newexten},
    {"varset", on_varset},
    {"hold", on_hold},
    {"unhold", on_unhold},
    {"dialbegin", on_dial},
    {"dialend", on_dial},
    {"dialstate", on_dial},
    {"hangup", on_hangup},
    {"rename", on_rename},
    {"blindtransfer", on_transfer_blind},
    {"attendedtransfer", on_transfer_attended},
    {"localbridge", on_local_pair},
    {"localoptimizationbegin", on_local_pair},
    {"localoptimizationend", on_local_pair},
    {"coreshowchannel", on_core_show_channel},
    {"bridgecreate", on_bridge_create},
    {"bridgelistitem", on_bridge_create},
    {"bridgevideosourceupdate", on_bridge_update},
    {"bridgeenter", on_bridge_enter},
    {"bridgeleave", on_bridge_leave},
    {"bridgedestroy", on_bridge_destroy},
    {"bridgemerge", on_bridge_merge},
    {"queueparams", on_queue_params},
    {"queuemember", on_queue_member_item},
    {"queuememberadded", on_member_added},
    {"queuememberremoved", on_member_removed},
    {"queuememberpause", on_member_update},
    {"queuememberpaused", on_member_update},
    {"queuememberstatus", on_member_update},
    {"queuememberpenalty", on_member_update},
    {"queuememberringinuse", on_member_update},
    {"queueentry", on_queue_entry},
    {"queuecallerjoin", on_caller_join},
    {"join", on_caller_join},
    {"queuecallerleave", on_caller_leave},
    {"leave", on_caller_leave},
    {"queuecallerabandon", on_caller_abandon},
    {"agentcalled", on_agent_called},
    {"agentringnoanswer", on_agent_called},
    {"agentdump", on_agent_called},
    {"agentconnect", on_agent_connect},
    {"agentcomplete", on_agent_complete},
    {"agents", on_agents_item},
    {"agentlogin", on_agent_login},
    {"agentlogoff", on_agent_logoff},
    {"devicestatechange", on_device_state},
    {"extensionstatus", on_extension_status},
    {"chanspystart", on_channel_update},
    {"chanspystop", on_channel_update},
    {"mixmonitorstart", on_channel_update},
    {"mixmonitorstop", on_channel_update},
    {"agiexecstart", on_channel_update},
    {"agiexecend", on_channel_update},
    {"asyncagistart", on_channel_update},
    {"asyncagiend", on_channel_update},
    {"parkedcall", on_parked},
    {"parkedcallswap", on_parked},
    {"unparkedcall", on_unparked},
    {"parkedcalltimeout", on_unparked},
    {"parkedcallgiveup", on_unparked},
    {"confbridgestart", on_conf_start},
    {"confbridgeend", on_conf_end},
    {"confbridgejoin", on_conf_join},
    {"confbridgeleave", on_conf_leave},
    {"confbridgelistrooms", on_conf_room_item},
    {"confbridgelock", on_conf_lock},
    {"confbridgeunlock", on_conf_unlock},
    {"confbridgelist", on_channel_update},
}};

handler find_handler(std::string_view name) noexcept {
  static const auto table = [] {
    std::unordered_map<std::string_view, handler> t;
    t.reserve(handlers.size() * 2);
    for (const auto& h : handlers) t.emplace(h.name, h.fn);
    return t;
  }();
  std::array<char, 32> lower{};
  if (name.empty() || name.size() > lower.size()) return nullptr;
  for (std::size_t i = 0; i < name.size(); ++i) {
    lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
  }
  const auto it = table.find(std::string_view(lower.data(), name.size()));
  return it == table.end() ? nullptr : it->second;
}

}  // namespace

std::string_view to_string(anomaly a) noexcept {
  switch (a) {
    case anomaly::unknown_channel: return "unknown_channel";
    case anomaly::duplicate_channel: return "duplicate_channel";
    case anomaly::unknown_bridge: return "unknown_bridge";
    case anomaly::unknown_queue: return "unknown_queue";
    case anomaly::unknown_member: return "unknown_member";
    case anomaly::unknown_caller: return "unknown_caller";
    case anomaly::missing_header: return "missing_header";
  }
  return "unknown";
}

reducer::reducer(reducer_options options) : options_(std::move(options)) {}

reducer::reducer(state initial, reducer_options options)
    : state_(std::move(initial)), options_(std::move(options)) {}

bool reducer::follows(std::string_view event_name) noexcept {
  return find_handler(event_name) != nullptr;
}

void reducer::reset(state s) {
  state_ = std::move(s);
  recent_order_.clear();
  state_.recent_calls.for_each([&](const std::string& id, const call& k) {
    recent_order_.emplace_back(k.ended.value_or(time_point{}), id);
  });
  std::sort(recent_order_.begin(), recent_order_.end());
}

void reducer::expire_recent(time_point now) {
  const auto keep = options_.keep_finished_calls;
  const ami::message no_event;
  while (!recent_order_.empty() && recent_order_.front().first + keep <= now) {
    const auto& [ended, id] = recent_order_.front();
    // A call that ended again later (its linkedid reused) has a later entry of its own.
    const call* k = state_.recent_calls.find(id);
    if (k != nullptr && k->ended == ended) {
      state_.recent_calls.erase(id);
      context c{*this, state_, no_event, now};
      c.note(entity::recent_call, change_kind::removed, id);
    }
    recent_order_.pop_front();
  }
}

const std::vector<change>& reducer::expire(time_point now) {
  changes_.clear();
  last_anomalies_.clear();
  expire_recent(now);
  return changes_;
}

const std::vector<change>& reducer::apply(const ami::message& e, time_point now) {
  changes_.clear();
  last_anomalies_.clear();
  if (!recent_order_.empty()) expire_recent(now);
  const handler fn = e.is_event() ? find_handler(e.event_name()) : nullptr;
  if (fn == nullptr) {
    ++ignored_;
    return changes_;
  }
  ++applied_;
  context c{*this, state_, e, now};
  fn(c);
  return changes_;
}

}  // namespace ami::live
