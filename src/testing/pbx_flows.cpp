// Call-center flows of the simulated PBX: holds, renames, transfers, parking, ConfBridge
// rooms, app_agent_pool agents, queue members and hints, and the list actions that report
// them, with the event sequences and field sets of Asterisk's modules.
#include "pbx_model.hpp"
#include "sim_actions.hpp"

#include <algorithm>

namespace ami::testing::detail {

namespace {

const char* yes_no(bool b) { return b ? "Yes" : "No"; }

// Asterisk's extension state for a hint's device state, with its text.
std::pair<int, std::string> hint_state(const std::string& device_state) {
  if (device_state == "NOT_INUSE") return {0, "Idle"};
  if (device_state == "INUSE") return {1, "InUse"};
  if (device_state == "BUSY") return {2, "Busy"};
  if (device_state == "RINGING") return {8, "Ringing"};
  if (device_state == "ONHOLD") return {16, "Hold"};
  return {4, "Unavailable"};
}

std::string key_of(const extension& x) { return x.exten + "@" + x.context; }

}  // namespace

// ---------------------------------------------------------------------------------------
// Holds and renames

bool pbx_model::hold(const std::string& channel, const std::string& music_class, bool on) {
  auto c = find(channel);
  if (!c || c->gone || c->on_hold == on) return false;
  count(*c, -1);
  c->on_hold = on;
  count(*c, 1);
  auto f = chan_event(on ? "Hold" : "Unhold", *c);
  if (on && !music_class.empty()) f.emplace_back("MusicClass", music_class);
  emit(std::move(f));
  // The bridge plays music on hold to the other party.
  if (auto p = c->peer.lock(); p && !p->gone) {
    auto m = chan_event(on ? "MusicOnHoldStart" : "MusicOnHoldStop", *p);
    if (on) m.emplace_back("Class", music_class.empty() ? "default" : music_class);
    emit(std::move(m));
  }
  device_changed(c->device);
  return true;
}

bool pbx_model::rename(const std::string& channel, const std::string& new_name) {
  auto c = find(channel);
  if (!c || c->gone || new_name.empty() || find(new_name)) return false;
  emit({{"Event", "Rename"},
        {"Privilege", "call,all"},
        {"Channel", c->name},
        {"Newname", new_name},
        {"Uniqueid", c->uniqueid}});
  chans_.remove(c);
  c->name = new_name;
  chans_.add(c);
  return true;
}

// ---------------------------------------------------------------------------------------
// Transfers

bool pbx_model::blind_transfer(const std::string& transferer, const std::string& exten,
                               const std::string& context) {
  auto t = find(transferer);
  if (!t || t->gone || t->bridge.empty()) return false;
  auto x = t->peer.lock();
  const auto it = bridges_.find(t->bridge);
  if (!x || x->gone || it == bridges_.end() || !find_extension(context, exten)) return false;
  field_list f{{"Event", "BlindTransfer"}, {"Privilege", "call,all"}, {"Result", "Success"}};
  snapshot(f, *t, "Transferer");
  snapshot(f, *x, "Transferee");
  bridge_fields(f, it->second);
  f.emplace_back("IsExternal", "Yes");
  f.emplace_back("Context", context);
  f.emplace_back("Extension", exten);
  emit(std::move(f));
  // The transferee leaves for the new extension; the transferer's phone hangs up.
  unpeer(*t);
  leave_bridge(*x);
  hangup_chan(t, 16);
  after(x, cfg_.step, [this, context, exten](const std::shared_ptr<chan>& self) {
    run_extension(self, context, exten);
  });
  return true;
}

bool pbx_model::attended_transfer(const std::string& first_leg, const std::string& second_leg) {
  auto t1 = find(first_leg);
  auto t2 = find(second_leg);
  if (!t1 || !t2 || t1 == t2 || t1->gone || t2->gone) return false;
  auto transferee = t1->peer.lock();
  auto target = t2->peer.lock();
  const auto b1 = bridges_.find(t1->bridge);
  const auto b2 = bridges_.find(t2->bridge);
  if (!transferee || !target || b1 == bridges_.end() || b2 == bridges_.end()) return false;
  // The event describes the legs and bridges as they were when the transfer began.
  field_list f{{"Event", "AttendedTransfer"}, {"Privilege", "call,all"}, {"Result", "Success"}};
  snapshot(f, *t1, "OrigTransferer");
  {
    field_list b;
    bridge_fields(b, b1->second);
    for (auto& [k, v] : b) f.emplace_back("Orig" + k, v);
  }
  snapshot(f, *t2, "SecondTransferer");
  {
    field_list b;
    bridge_fields(b, b2->second);
    for (auto& [k, v] : b) f.emplace_back("Second" + k, v);
  }
  snapshot(f, *transferee, "Transferee");
  snapshot(f, *target, "TransferTarget");
  f.emplace_back("IsExternal", "Yes");
  f.emplace_back("DestType", "Bridge");
  f.emplace_back("DestBridgeUniqueid", b2->second.id);
  unpeer(*t1);
  unpeer(*t2);
  // The transferee takes the second transferer's place in the consultation bridge.
  bridge_state& dest = b2->second;
  leave_bridge(*t2);
  enter_bridge(dest, transferee);
  transferee->peer = target;
  target->peer = transferee;
  emit(std::move(f));
  hangup_chan(t1, 16);
  hangup_chan(t2, 16);
  return true;
}

// ---------------------------------------------------------------------------------------
// Parking (res_parking, lot "default")

field_list pbx_model::parked_fields(const char* event, const park_state& p,
                                    const chan* retriever) const {
  field_list f{{"Event", event}, {"Privilege", "call,all"}};
  if (auto c = p.parkee.lock()) snapshot(f, *c, "Parkee");
  if (retriever) snapshot(f, *retriever, "Retriever");
  f.emplace_back("ParkerDialString", p.parker);
  f.emplace_back("Parkinglot", "default");
  f.emplace_back("ParkingSpace", std::to_string(p.space));
  // The lot's timeout is in simulated seconds; the events count real ones.
  const auto total = std::chrono::duration_cast<std::chrono::seconds>(units(p.timeout)).count();
  f.emplace_back("ParkingTimeout",
                 std::to_string(std::max(0L, static_cast<long>(total) - seconds_since(p.at))));
  f.emplace_back("ParkingDuration", std::to_string(seconds_since(p.at)));
  return f;
}

std::optional<int> pbx_model::park(const std::string& channel, int timeout) {
  auto c = find(channel);
  if (!c || c->gone || c->parked_space != 0 || !c->conference.empty()) return std::nullopt;
  int space = 0;
  for (int s = cfg_.parking_first_space; s < cfg_.parking_first_space + cfg_.parking_spaces; ++s) {
    if (parked_.count(s) == 0) {
      space = s;
      break;
    }
  }
  if (space == 0) return std::nullopt;
  auto parker = c->peer.lock();
  unpeer(*c);
  auto& p = parked_[space];
  p.space = space;
  p.parkee = c;
  p.parker = parker ? parker->device : c->device;
  p.timeout = timeout > 0 ? timeout : cfg_.parking_timeout;
  p.at = std::chrono::steady_clock::now();
  c->parked_space = space;
  leave_bridge(*c);
  emit(parked_fields("ParkedCall", p, nullptr));
  // One holding bridge per lot, made when its first call arrives.
  bridge_state* lot = nullptr;
  for (auto& [id, b] : bridges_) {
    if (b.type == "parking") lot = &b;
  }
  if (!lot) lot = &new_bridge("parking", "holding_bridge", "Parking", "default");
  enter_bridge(*lot, c);
  if (parker) hangup_chan(parker, 16);
  p.timer = std::make_unique<asio::steady_timer>(st_.io_, units(p.timeout));
  p.timer->async_wait([this, space](boost::system::error_code ec) {
    if (ec) return;
    const auto it = parked_.find(space);
    if (it == parked_.end()) return;
    auto parkee = it->second.parkee.lock();
    park_leave(space, "ParkedCallTimeOut", nullptr);
    // comebacktoorigin without a reachable parker: the call ends.
    if (parkee) hangup_chan(parkee, 16);
  });
  return space;
}

void pbx_model::park_leave(int space, const char* event, const chan* retriever) {
  const auto it = parked_.find(space);
  if (it == parked_.end()) return;
  auto parkee = it->second.parkee.lock();
  emit(parked_fields(event, it->second, retriever));
  if (it->second.timer) it->second.timer->cancel();
  parked_.erase(it);
  if (parkee) {
    parkee->parked_space = 0;
    leave_bridge(*parkee);
  }
}

std::string pbx_model::pickup_parked(int space, const std::string& from) {
  const auto it = parked_.find(space);
  if (it == parked_.end()) return {};
  auto parkee = it->second.parkee.lock();
  if (!parkee || parkee->gone) return {};
  auto r = new_channel(from, hex8(chan_seq_++), 4, "default", std::to_string(space), "");
  device_changed(from);
  newexten(*r, std::to_string(space), 1, "Park", "");
  r->answered = std::chrono::steady_clock::now();
  set_state(*r, 6);
  park_leave(space, "UnParkedCall", r.get());
  bridge_two(r, parkee);
  return r->name;
}

std::vector<parked_info> pbx_model::parked() const {
  std::vector<parked_info> out;
  for (const auto& [space, p] : parked_) {
    auto c = p.parkee.lock();
    if (c) out.push_back({space, c->name, c->uniqueid, p.parker});
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// ConfBridge

void pbx_model::conf_join(const std::shared_ptr<chan>& c, const std::string& room) {
  auto& conf = confs_[room];
  if (conf.name.empty()) {
    conf.name = room;
    auto& b = new_bridge("base", "softmix", "ConfBridge", room);
    conf.bridge = b.id;
    field_list f{{"Event", "ConfbridgeStart"}, {"Privilege", "call,all"}, {"Conference", room}};
    bridge_fields(f, b);
    emit(std::move(f));
  }
  auto& b = bridges_.at(conf.bridge);
  c->conference = room;
  c->conf_joined = std::chrono::steady_clock::now();
  conf.users.push_back(c);
  enter_bridge(b, c);
  field_list f{{"Event", "ConfbridgeJoin"}, {"Privilege", "call,all"}, {"Conference", room}};
  bridge_fields(f, b);
  snapshot(f, *c);
  f.emplace_back("Admin", "No");
  f.emplace_back("Muted", "No");
  emit(std::move(f));
}

void pbx_model::conf_leave(chan& c) {
  const auto it = confs_.find(c.conference);
  c.conference.clear();
  if (it == confs_.end()) return;
  auto& conf = it->second;
  conf.users.erase(std::remove_if(conf.users.begin(), conf.users.end(),
                                  [&](const std::weak_ptr<chan>& w) {
                                    auto p = w.lock();
                                    return !p || p.get() == &c;
                                  }),
                   conf.users.end());
  const auto b = bridges_.find(conf.bridge);
  if (b != bridges_.end()) {
    field_list f{
        {"Event", "ConfbridgeLeave"}, {"Privilege", "call,all"}, {"Conference", conf.name}};
    bridge_fields(f, b->second);
    snapshot(f, c);
    f.emplace_back("Admin", "No");
    emit(std::move(f));
  }
  if (!conf.users.empty()) {
    leave_bridge(c);
    return;
  }
  // The last user out ends the conference before its bridge goes.
  if (b != bridges_.end()) {
    field_list f{{"Event", "ConfbridgeEnd"}, {"Privilege", "call,all"}, {"Conference", conf.name}};
    bridge_fields(f, b->second);
    emit(std::move(f));
  }
  confs_.erase(it);
  leave_bridge(c);
}

std::vector<conference_info> pbx_model::conferences() const {
  std::vector<conference_info> out;
  for (const auto& [name, conf] : confs_) {
    conference_info info{name, conf.bridge, {}};
    for (const auto& w : conf.users) {
      if (auto c = w.lock()) info.channels.push_back(c->name);
    }
    out.push_back(std::move(info));
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// app_agent_pool

void pbx_model::add_agent(agent a) {
  auto& s = agents_[a.id];
  s.cfg = std::move(a);
}

std::string pbx_model::agent_login(const std::string& id, const std::string& device) {
  const auto it = agents_.find(id);
  if (it == agents_.end() || !it->second.logged.expired()) return {};
  auto c = new_channel(device, hex8(chan_seq_++), 4, "agents", "login", "");
  device_changed(device);
  newexten(*c, "login", 1, "AgentLogin", id);
  answer(c);
  c->agent = id;
  it->second.logged = c;
  it->second.login_start = epoch_seconds();
  auto f = chan_event("AgentLogin", *c, "agent,all");
  f.emplace_back("Agent", id);
  emit(std::move(f));
  return c->name;
}

bool pbx_model::agent_logoff(const std::string& id) {
  const auto it = agents_.find(id);
  if (it == agents_.end()) return false;
  auto c = it->second.logged.lock();
  if (!c || c->gone) return false;
  hangup_chan(c, 16);  // AgentLogoff, then the login channel ends
  return true;
}

// ---------------------------------------------------------------------------------------
// Queue members

std::string pbx_model::member_add(const std::string& queue, queue_member m,
                                  const std::function<void()>& done) {
  auto* q = find_queue(queue);
  if (!q) return "Unable to add interface to queue: No such queue";
  if (q->member_index.count(m.interface) != 0) return "Unable to add interface: Already there";
  member_state ms;
  ms.cfg = std::move(m);
  if (ms.cfg.name.empty()) ms.cfg.name = ms.cfg.interface;
  if (!ms.cfg.paused) ms.cfg.paused_reason.clear();
  ms.login_time = epoch_seconds();
  q->members.push_back(std::move(ms));
  q->reindex();
  if (done) done();
  emit(member_fields("QueueMemberAdded", *q, q->members.back(), true));
  queue_distribute(*q);
  return {};
}

std::string pbx_model::member_remove(const std::string& queue, const std::string& interface,
                                     const std::function<void()>& done) {
  auto* q = find_queue(queue);
  if (!q) return "Unable to remove interface from queue: No such queue";
  const auto it = q->member_index.find(interface);
  if (it == q->member_index.end()) return "Unable to remove interface: Not there";
  const member_state m = q->members[it->second];
  q->members.erase(q->members.begin() + static_cast<std::ptrdiff_t>(it->second));
  q->reindex();
  if (done) done();
  emit(member_fields("QueueMemberRemoved", *q, m, true));
  return {};
}

std::string pbx_model::member_pause(const std::string& queue, const std::string& interface,
                                    bool paused, const std::string& reason,
                                    const std::function<void()>& done) {
  std::vector<queue_state*> hit;
  for (auto& q : queues_) {
    if (!queue.empty() && q.cfg.name != queue) continue;
    if (q.member_index.count(interface) != 0) hit.push_back(&q);
  }
  if (hit.empty()) return "Interface not found";
  const long now = epoch_seconds();
  for (auto* q : hit) {
    auto& m = q->members[q->member_index.at(interface)];
    m.cfg.paused = paused;
    m.cfg.paused_reason = paused ? reason : "";
    m.last_pause = now;
  }
  if (done) done();
  for (auto* q : hit) {
    emit(member_fields("QueueMemberPause", *q, q->members[q->member_index.at(interface)], true));
    if (!paused) queue_distribute(*q);
  }
  return {};
}

bool pbx_model::set_endpoint_online(const std::string& device, bool online) {
  const auto* e = find_endpoint(device);
  if (!e) return false;
  endpoint copy = *e;
  if (copy.online == online) return true;
  copy.online = online;
  add_endpoint(copy);
  device_changed(copy.technology + "/" + copy.name);
  if (online) {
    for (auto& q : queues_) queue_distribute(q);
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// Hints

void pbx_model::hints_changed(const std::string& device) {
  for (const auto& x : cfg_.extensions) {
    if (x.hint != device) continue;
    auto now = hint_state(device_state(device));
    auto& last = hint_states_[key_of(x)];
    if (last == now) continue;
    last = now;
    emit({{"Event", "ExtensionStatus"},
          {"Privilege", "call,all"},
          {"Exten", x.exten},
          {"Context", x.context},
          {"Hint", x.hint},
          {"Status", std::to_string(now.first)},
          {"StatusText", now.second}});
  }
}

// ---------------------------------------------------------------------------------------
// Load generator

void pbx_model::load_flow(const std::shared_ptr<chan>& caller, const std::shared_ptr<chan>& agent) {
  const int talk = caller->talk_units;
  const auto hang_up = [this](const std::shared_ptr<chan>& s) { hangup_chan(s, 16); };
  const int pick = std::uniform_int_distribution<int>(0, 99)(rng_);
  const std::weak_ptr<chan> weak_agent = agent;
  if (pick < 60) {
    after(caller, units(talk), hang_up);
  } else if (pick < 75) {
    // The agent holds the caller for a moment.
    after(caller, units(talk / 2.0), [this, weak_agent, talk, hang_up](const auto& c) {
      if (auto a = weak_agent.lock()) hold(a->name, "default", true);
      after(c, units(1), [this, weak_agent, talk, hang_up](const auto& c2) {
        if (auto a = weak_agent.lock()) hold(a->name, {}, false);
        after(c2, units(talk / 2.0), hang_up);
      });
    });
  } else if (pick < 85) {
    after(caller, units(1), [this, weak_agent](const auto& c) {
      auto a = weak_agent.lock();
      if (!a || !blind_transfer(a->name, "8100", "from-pstn")) hangup_chan(c, 16);
    });
  } else if (pick < 95) {
    // Parked by the agent; the operator picks it up, or it times out.
    after(caller, units(1), [this, talk](const auto& c) {
      const auto space = park(c->name, 3);
      if (!space) {
        hangup_chan(c, 16);
        return;
      }
      if (talk % 2 == 0) return;  // left to time out
      after(c, units(1), [this, space](const auto&) {
        const auto r = find(pickup_parked(*space, "PJSIP/operator"));
        if (r) after(r, units(1), [this](const auto& x) { hangup_chan(x, 16); });
      });
    });
  } else {
    // The agent consults the supervisor, then transfers the caller there.
    after(caller, units(1), [this, weak_agent, talk, hang_up](const auto& c) {
      auto a = weak_agent.lock();
      if (!a || a->gone) return hangup_chan(c, 16);
      hold(a->name, "default", true);
      const std::string second = incoming_call(a->device, "8200", "agents", "");
      after(c, units(1), [this, weak_agent, second, talk, hang_up](const auto& c2) {
        auto a2 = weak_agent.lock();
        const auto t2 = find(second);
        if (a2 && t2 && !t2->bridge.empty() && attended_transfer(a2->name, second)) {
          after(c2, units(talk), hang_up);
          return;
        }
        if (t2) hangup_chan(t2, 16);
        hangup_chan(c2, 16);
      });
    });
  }
}

void pbx_model::load_members() {
  auto* q = find_queue("callcenter");
  if (!q || q->members.empty()) return;
  // About one member change and one agent login or logoff per second at 1000 events/s.
  std::uniform_real_distribution<double> chance(0.0, 1.0);
  const double per_tick = load_rate_ / 1000.0 * 0.01;
  if (chance(rng_) < per_tick) {
    const auto i = std::uniform_int_distribution<std::size_t>(0, q->members.size() - 1)(rng_);
    const auto& m = q->members[i];
    std::size_t paused = 0;
    for (const auto& x : q->members) paused += x.cfg.paused ? 1U : 0U;
    if (m.cfg.paused || paused * 10 < q->members.size()) {
      member_pause(q->cfg.name, m.cfg.interface, !m.cfg.paused, m.cfg.paused ? "" : "break");
    }
  }
  if (!agents_.empty() && chance(rng_) < per_tick) {
    auto it = agents_.begin();
    std::advance(it, std::uniform_int_distribution<std::size_t>(0, agents_.size() - 1)(rng_));
    if (it->second.logged.expired()) {
      agent_login(it->first, "PJSIP/desk" + it->first);
    } else {
      agent_logoff(it->first);
    }
  }
}

// ---------------------------------------------------------------------------------------
// List actions

std::optional<outcome> pbx_model::flow_action(connection& c, const ami::message& a,
                                              const std::string& n) {
  const auto id = a.get("ActionID");
  const auto error = [&](const std::string& message) {
    c.respond_now(a, {{"Response", "Error"}, {"Message", message}});
    return outcome::done;
  };
  // Items that put the ActionID second, as most lists do.
  const auto item = [&](const std::string& event) {
    field_list f{{"Event", event}};
    if (id) f.emplace_back("ActionID", std::string(*id));
    return f;
  };
  if (n == "BridgeList" || n == "BridgeInfo") {
    const std::string type(a.get_or("BridgeType"));
    if (n == "BridgeInfo") {
      const std::string bid(a.get_or("BridgeUniqueid"));
      if (bid.empty()) return error("BridgeUniqueid must be provided");
      const auto it = bridges_.find(bid);
      if (it == bridges_.end()) return error("Bridge not found");
      list_start(c, a, "Bridge channel listing will follow");
      std::size_t items = 0;
      for (const auto& w : it->second.members) {
        auto ch = w.lock();
        if (!ch || ch->bridge != bid) continue;
        field_list f{{"Event", "BridgeInfoChannel"}};
        snapshot(f, *ch);
        if (id) f.emplace_back("ActionID", std::string(*id));
        c.write_fields(f);
        ++items;
      }
      // The bridge's own fields follow the list's closing headers.
      auto done = item("BridgeInfoComplete");
      done.emplace_back("EventList", "Complete");
      done.emplace_back("ListItems", std::to_string(items));
      bridge_fields(done, it->second);
      c.write_fields(done);
      return outcome::done;
    }
    list_start(c, a, "Bridge listing will follow");
    std::size_t items = 0;
    for (const auto& [bid, b] : bridges_) {
      if (!type.empty() && b.type != type) continue;
      auto f = item("BridgeListItem");
      bridge_fields(f, b);
      c.write_fields(f);
      ++items;
    }
    list_complete(c, a, "BridgeListComplete", items);
    return outcome::done;
  }
  if (n == "DeviceStateList") {
    std::map<std::string, std::string> devices;
    for (const auto& e : cfg_.endpoints) {
      const std::string dev = e.technology + "/" + e.name;
      devices[dev] = device_state(dev);
    }
    for (const auto& [dev, last] : device_states_) devices[dev] = device_state(dev);
    list_start(c, a, "Device State Changes will follow");
    for (const auto& [dev, state] : devices) {
      auto f = item("DeviceStateChange");
      f.emplace_back("Device", dev);
      f.emplace_back("State", state);
      c.write_fields(f);
    }
    list_complete(c, a, "DeviceStateListComplete", devices.size());
    return outcome::done;
  }
  if (n == "ExtensionStateList") {
    std::vector<const extension*> hints;
    for (const auto& x : cfg_.extensions) {
      if (!x.hint.empty()) hints.push_back(&x);
    }
    // Newer servers answer an empty list with an error (the master capture); 18 lists none.
    if (hints.empty() && st_.version_ >= ami::proto::version{10, 0, 0}) {
      return error("No dialplan hints are available");
    }
    list_start(c, a, "Extension Statuses will follow");
    for (const auto* x : hints) {
      const auto [status, text] = hint_state(device_state(x->hint));
      auto f = item("ExtensionStatus");
      f.emplace_back("Exten", x->exten);
      f.emplace_back("Context", x->context);
      f.emplace_back("Hint", x->hint);
      f.emplace_back("Status", std::to_string(status));
      f.emplace_back("StatusText", text);
      c.write_fields(f);
    }
    list_complete(c, a, "ExtensionStateListComplete", hints.size());
    return outcome::done;
  }
  if (n == "Agents") {
    list_start(c, a, "Agents will follow");
    for (const auto& [aid, ag] : agents_) {
      field_list f{{"Event", "Agents"}, {"Agent", aid}, {"Name", ag.cfg.name}};
      auto logged = ag.logged.lock();
      if (logged && !logged->gone) {
        f.emplace_back("Status", "AGENT_IDLE");
        f.emplace_back("LoggedInTime", std::to_string(ag.login_start));
        snapshot(f, *logged);
      } else {
        f.emplace_back("Status", "AGENT_LOGGEDOFF");
      }
      if (id) f.emplace_back("ActionID", std::string(*id));
      c.write_fields(f);
    }
    list_complete(c, a, "AgentsComplete", agents_.size());
    return outcome::done;
  }
  if (n == "AgentLogoff") {
    const std::string agent_id(a.get_or("Agent"));
    if (agent_id.empty()) return error("No agent specified");
    const auto it = agents_.find(agent_id);
    auto logged = it == agents_.end() ? nullptr : it->second.logged.lock();
    if (!logged) return error("No such agent");
    c.respond_now(a, {{"Response", "Success"}, {"Message", "Agent logged out"}});
    agent_logoff(agent_id);
    return outcome::done;
  }
  if (n == "ParkedCalls") {
    const std::string lot(a.get_or("ParkingLot"));
    if (!lot.empty() && lot != "default") return error("Requested parking lot could not be found.");
    list_start(c, a, "Parked calls will follow");
    std::size_t items = 0;
    for (const auto& [space, p] : parked_) {
      if (p.parkee.expired()) continue;
      auto f = parked_fields("ParkedCall", p, nullptr);
      f.erase(f.begin() + 1);  // list items carry no Privilege
      if (id) f.emplace_back("ActionID", std::string(*id));
      c.write_fields(f);
      ++items;
    }
    field_list done{{"Event", "ParkedCallsComplete"}};
    if (id) done.emplace_back("ActionID", std::string(*id));
    done.emplace_back("EventList", "Complete");
    done.emplace_back("ListItems", std::to_string(items));
    done.emplace_back("Total", std::to_string(items));
    c.write_fields(done);
    return outcome::done;
  }
  if (n == "Park") {
    const std::string ch(a.get_or("Channel"));
    if (ch.empty()) return error("Channel not specified");
    auto target = find(ch);
    if (!target) return error("Channel does not exist: " + ch);
    const int timeout = std::atoi(std::string(a.get_or("Timeout", "0")).c_str()) / 1000;
    if (target->parked_space != 0 || !target->conference.empty() ||
        parked_.size() >= static_cast<std::size_t>(cfg_.parking_spaces)) {
      return error("Park failed");
    }
    // The answer first: the parking events follow it.
    c.respond_now(a, {{"Response", "Success"}, {"Message", "Park successful"}});
    park(ch, timeout);
    return outcome::done;
  }
  if (n == "ConfbridgeListRooms") {
    if (confs_.empty()) return error("No active conferences.");
    list_start(c, a, "Confbridge conferences will follow");
    for (const auto& [name, conf] : confs_) {
      auto f = item("ConfbridgeListRooms");
      f.emplace_back("Conference", name);
      f.emplace_back("Parties", std::to_string(conf.users.size()));
      f.emplace_back("Marked", "0");
      f.emplace_back("Locked", yes_no(conf.locked));
      f.emplace_back("Muted", yes_no(conf.muted));
      c.write_fields(f);
    }
    list_complete(c, a, "ConfbridgeListRoomsComplete", confs_.size());
    return outcome::done;
  }
  if (n == "ConfbridgeList") {
    const std::string room(a.get_or("Conference"));
    if (room.empty()) return error("No Conference name provided.");
    if (confs_.empty()) return error("No active conferences.");
    const auto it = confs_.find(room);
    if (it == confs_.end()) return error("No Conference by that name found.");
    list_start(c, a, "Confbridge user list will follow");
    std::size_t items = 0;
    for (const auto& w : it->second.users) {
      auto u = w.lock();
      if (!u) continue;
      auto f = item("ConfbridgeList");
      f.emplace_back("Conference", room);
      for (const char* k : {"Admin", "MarkedUser", "WaitMarked", "EndMarked", "EndMarkedAny",
                            "Waiting", "Muted", "Talking"}) {
        f.emplace_back(k, "No");
      }
      f.emplace_back("AnsweredTime", std::to_string(seconds_since(u->answered)));
      snapshot(f, *u);
      c.write_fields(f);
      ++items;
    }
    list_complete(c, a, "ConfbridgeListComplete", items);
    return outcome::done;
  }
  return std::nullopt;
}

}  // namespace ami::testing::detail
