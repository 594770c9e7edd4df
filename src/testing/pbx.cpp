// The simulated PBX: channels, dialplan behaviours, bridges, queues and their events.
#include "pbx_model.hpp"
#include "sim_actions.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

namespace ami::testing::detail {

const char* channel_state_text(int s) {
  switch (s) {
    case 0: return "Down";
    case 1: return "Rsrvd";
    case 2: return "OffHook";
    case 3: return "Dialing";
    case 4: return "Ring";
    case 5: return "Ringing";
    case 6: return "Up";
    case 7: return "Busy";
    default: return "Unknown";
  }
}

long epoch_seconds() {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count());
}

std::string hex8(std::uint64_t n) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08llx", static_cast<unsigned long long>(n));
  return buf;
}

long seconds_since(std::chrono::steady_clock::time_point t) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - t)
          .count());
}

namespace {

const char* cause_text(int cause) {
  switch (cause) {
    case 1: return "Unallocated (unassigned) number";
    case 16: return "Normal Clearing";
    case 17: return "User busy";
    case 19: return "No answer";
    case 34: return "Circuit/channel congestion";
    default: return "Unknown";
  }
}

const char* dial_status(call_result r) {
  switch (r) {
    case call_result::answered: return "ANSWER";
    case call_result::busy: return "BUSY";
    case call_result::no_answer: return "NOANSWER";
    case call_result::congestion: return "CONGESTION";
    case call_result::failed: return "CHANUNAVAIL";
  }
  return "CHANUNAVAIL";
}

int cause_of(call_result r) {
  switch (r) {
    case call_result::busy: return 17;
    case call_result::no_answer: return 19;
    case call_result::congestion: return 34;
    default: return 16;
  }
}

std::string wall_time(std::chrono::system_clock::time_point tp) {
  const auto t = std::chrono::system_clock::to_time_t(tp);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

// "Local/100@default" -> exten 100, context default ("Local/100@default/n" too).
bool split_local(const std::string& device, std::string& exten, std::string& context) {
  if (device.rfind("Local/", 0) != 0) return false;
  auto rest = device.substr(6);
  const auto slash = rest.find('/');
  if (slash != std::string::npos) rest.resize(slash);
  const auto at = rest.find('@');
  exten = rest.substr(0, at);
  context = at == std::string::npos ? "default" : rest.substr(at + 1);
  return !exten.empty();
}

// "pjsip/100" and "PJSIP/100" name the same device.
std::string device_key(const std::string& device) {
  std::string key = device;
  const auto slash = key.find('/');
  for (std::size_t i = 0; i < slash && i < key.size(); ++i) {
    key[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(key[i])));
  }
  return key;
}

std::string tech_of(const std::string& device) { return device.substr(0, device.find('/')); }

}  // namespace

const char* to_string(behaviour b) noexcept;

// Moves a callback out, leaving the slot empty (so it runs at most once).
std::function<void(call_result)> take(std::function<void(call_result)>& slot) {
  std::function<void(call_result)> out;
  out.swap(slot);
  return out;
}

// ---------------------------------------------------------------------------------------
// Set-up

pbx_model::pbx_model(server_state& st, pbx_config cfg)
    : st_(st), cfg_(std::move(cfg)), rng_(std::random_device{}()) {
  uid_base_ = epoch_seconds();
  index_endpoints();
  for (auto& q : cfg_.queues) add_queue(q);
  for (auto& m : cfg_.mailboxes) set_mailbox(m);
  for (auto& a : cfg_.agents) add_agent(a);
}

pbx_model::~pbx_model() = default;

void pbx_model::shutdown() {
  stop_load();
  for (auto& c : chans_) {
    // A ringing channel and its dial state point at each other: break that here.
    c->on_result = nullptr;
    c->gone = true;
    if (c->agi) stop_agi(*c->agi);
    c->agi.reset();
    if (c->timer) c->timer->cancel();
    if (c->deadline) c->deadline->cancel();
  }
  for (auto& [space, p] : parked_) {
    if (p.timer) p.timer->cancel();
  }
  parked_.clear();
  confs_.clear();
  chans_.clear();
  bridges_.clear();
  device_counts_.clear();
  for (auto& q : queues_) q.callers.clear();
}

void pbx_model::add_endpoint(endpoint e) {
  const auto key = device_key(e.technology + "/" + e.name);
  if (const auto it = endpoint_index_.find(key); it != endpoint_index_.end()) {
    cfg_.endpoints[it->second] = std::move(e);
    return;
  }
  cfg_.endpoints.push_back(std::move(e));
  endpoint_index_[key] = cfg_.endpoints.size() - 1;
}

void pbx_model::add_extension(extension x) {
  for (auto& e : cfg_.extensions) {
    if (e.context == x.context && e.exten == x.exten) {
      e = std::move(x);
      return;
    }
  }
  cfg_.extensions.push_back(std::move(x));
}

void pbx_model::add_queue(queue q) {
  queue_state s;
  s.cfg = q;
  for (auto& m : q.members) {
    member_state ms;
    ms.cfg = m;
    if (ms.cfg.name.empty()) ms.cfg.name = ms.cfg.interface;
    ms.login_time = epoch_seconds();
    s.members.push_back(std::move(ms));
  }
  s.reindex();
  for (auto& existing : queues_) {
    if (existing.cfg.name == q.name) {
      existing = std::move(s);
      return;
    }
  }
  queues_.push_back(std::move(s));
}

void pbx_model::set_mailbox(mailbox m) {
  for (auto& x : mailboxes_) {
    if (x.cfg.id == m.id) {
      x.cfg = std::move(m);
      return;
    }
  }
  mailboxes_.push_back({std::move(m)});
}

std::vector<channel_info> pbx_model::channels() const {
  std::vector<channel_info> out;
  for (const auto& c : chans_) {
    out.push_back({c->name, c->uniqueid, c->linkedid, c->state, c->context, c->exten, c->priority,
                   c->app, c->data, c->bridge, c->on_hold});
  }
  return out;
}

std::vector<queue> pbx_model::queues() const {
  std::vector<queue> out;
  for (const auto& q : queues_) {
    queue cfg = q.cfg;
    cfg.members.clear();
    for (const auto& m : q.members) cfg.members.push_back(m.cfg);
    out.push_back(std::move(cfg));
  }
  return out;
}

std::optional<std::string> pbx_model::variable(const std::string& channel,
                                               const std::string& name) const {
  const auto& vars = channel.empty() ? globals_ : [&]() -> const auto& {
    static const std::vector<std::pair<std::string, std::string>> none;
    auto c = find(channel);
    return c ? c->vars : none;
  }
  ();
  for (const auto& [k, v] : vars) {
    if (k == name) return v;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// Events and channels

void pbx_model::emit(field_list f) {
  ++events_sent_;
  st_.broadcast(f);
}

void pbx_model::snapshot(field_list& f, const chan& c, const std::string& p) {
  f.emplace_back(p + "Channel", c.name);
  f.emplace_back(p + "ChannelState", std::to_string(c.state));
  f.emplace_back(p + "ChannelStateDesc", channel_state_text(c.state));
  f.emplace_back(p + "CallerIDNum", c.cid_num);
  f.emplace_back(p + "CallerIDName", c.cid_name);
  f.emplace_back(p + "ConnectedLineNum", c.con_num);
  f.emplace_back(p + "ConnectedLineName", c.con_name);
  f.emplace_back(p + "Language", c.language);
  f.emplace_back(p + "AccountCode", c.account);
  f.emplace_back(p + "Context", c.context);
  f.emplace_back(p + "Exten", c.exten);
  f.emplace_back(p + "Priority", std::to_string(c.priority));
  f.emplace_back(p + "Uniqueid", c.uniqueid);
  f.emplace_back(p + "Linkedid", c.linkedid);
}

field_list pbx_model::chan_event(const std::string& name, const chan& c, const char* privilege) {
  field_list f{{"Event", name}, {"Privilege", privilege}};
  snapshot(f, c);
  return f;
}

std::shared_ptr<chan> pbx_model::find(const std::string& name) const { return chans_.find(name); }

std::chrono::milliseconds pbx_model::units(double n) const {
  return std::chrono::milliseconds(
      static_cast<long long>(n * static_cast<double>(cfg_.time_unit.count())));
}

std::shared_ptr<chan> pbx_model::new_channel(const std::string& device, const std::string& suffix,
                                             int state, const std::string& context,
                                             const std::string& exten, const std::string& linkedid,
                                             const std::string& caller_num) {
  auto c = std::make_shared<chan>();
  if (!caller_num.empty()) c->cid_num = c->cid_name = caller_num;
  c->name = device + "-" + suffix;
  c->device = device;
  c->tech = tech_of(device);
  c->uniqueid = std::to_string(uid_base_) + "." + std::to_string(uid_seq_++);
  c->linkedid = linkedid.empty() ? c->uniqueid : linkedid;
  c->state = state;
  c->context = context;
  c->exten = exten;
  count(*c, 1);
  c->created = std::chrono::steady_clock::now();
  c->created_wall = std::chrono::system_clock::now();
  chans_.add(c);
  emit(chan_event("Newchannel", *c));
  return c;
}

std::pair<std::shared_ptr<chan>, std::shared_ptr<chan>> pbx_model::new_local(
    const std::string& exten, const std::string& context) {
  const std::string device = "Local/" + exten + "@" + context;
  const std::string seq = hex8(chan_seq_++);
  auto one = new_channel(device, seq + ";1", 0, context, exten, "");
  auto two = new_channel(device, seq + ";2", 4, context, exten, one->linkedid);
  one->local_peer = two;
  two->local_peer = one;
  return {one, two};
}

void pbx_model::set_state(chan& c, int state) {
  if (c.state == state || c.gone) return;
  count(c, -1);
  c.state = state;
  count(c, 1);
  emit(chan_event("Newstate", c));
  device_changed(c.device);
}

void pbx_model::newexten(chan& c, const std::string& exten, int priority, const std::string& app,
                         const std::string& data) {
  c.exten = exten;
  c.priority = priority;
  c.app = app;
  c.data = data;
  auto f = chan_event("Newexten", c, "dialplan,all");
  f.emplace_back("Extension", exten);
  f.emplace_back("Application", app);
  f.emplace_back("AppData", data);
  emit(std::move(f));
}

void pbx_model::answer(const std::shared_ptr<chan>& c) {
  if (c->gone || c->state == 6) return;
  c->answered = std::chrono::steady_clock::now();
  if (auto cb = take(c->on_result)) cb(call_result::answered);
  if (c->gone) return;
  set_state(*c, 6);
}

void pbx_model::after(const std::shared_ptr<chan>& c, std::chrono::milliseconds d,
                      std::function<void(const std::shared_ptr<chan>&)> fn) {
  if (c->gone) return;
  if (!c->timer) c->timer = std::make_unique<asio::steady_timer>(st_.io_);
  c->timer->expires_after(d);
  std::weak_ptr<chan> weak = c;
  c->timer->async_wait([weak, fn = std::move(fn)](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->gone) return;
    fn(self);
  });
}

void pbx_model::set_var(chan& c, const std::string& name, const std::string& value, bool event) {
  bool found = false;
  for (auto& [k, v] : c.vars) {
    if (k == name) {
      v = value;
      found = true;
    }
  }
  if (!found) c.vars.emplace_back(name, value);
  if (event) {
    auto f = chan_event("VarSet", c, "dialplan,all");
    f.emplace_back("Variable", name);
    f.emplace_back("Value", value);
    emit(std::move(f));
  }
}

void pbx_model::index_endpoints() {
  endpoint_index_.clear();
  for (std::size_t i = 0; i < cfg_.endpoints.size(); ++i) {
    const auto& e = cfg_.endpoints[i];
    endpoint_index_[device_key(e.technology + "/" + e.name)] = i;
  }
}

void pbx_model::count(const chan& c, int delta) {
  auto& d = device_counts_[c.device];
  (c.state == 6 ? d.up : d.other) += delta;
  if (c.on_hold) d.held += delta;
}

const endpoint* pbx_model::find_endpoint(const std::string& device) const {
  const auto it = endpoint_index_.find(device_key(device));
  return it == endpoint_index_.end() ? nullptr : &cfg_.endpoints[it->second];
}

std::string pbx_model::device_state(const std::string& device) const {
  if (const auto it = device_counts_.find(device); it != device_counts_.end()) {
    if (it->second.held > 0) return "ONHOLD";
    if (it->second.up > 0) return "INUSE";
    if (it->second.other > 0) return "RINGING";
  }
  if (device.rfind("Local/", 0) == 0) return "NOT_INUSE";
  const auto* e = find_endpoint(device);
  if (!e) return "INVALID";
  return e->online ? "NOT_INUSE" : "UNAVAILABLE";
}

int pbx_model::member_status(const member_state& m) const {
  const auto s = device_state(m.cfg.interface);
  if (s == "INUSE") return 2;
  if (s == "RINGING") return 6;
  if (s == "UNAVAILABLE") return 5;
  if (s == "INVALID") return 4;
  if (s == "ONHOLD") return 8;
  return 1;
}

field_list pbx_model::member_fields(const char* event, const queue_state& q, const member_state& m,
                                    bool ringinuse) const {
  field_list f{{"Event", event},
               {"Privilege", "agent,all"},
               {"Queue", q.cfg.name},
               {"MemberName", m.cfg.name},
               {"Interface", m.cfg.interface},
               {"StateInterface", m.cfg.interface},
               {"Membership", m.cfg.membership},
               {"Penalty", std::to_string(m.cfg.penalty)},
               {"CallsTaken", std::to_string(m.calls_taken)},
               {"LastCall", std::to_string(m.last_call)},
               {"LastPause", std::to_string(m.last_pause)},
               {"LoginTime", std::to_string(m.login_time)},
               {"InCall", m.in_call ? "1" : "0"},
               {"Status", std::to_string(member_status(m))},
               {"Paused", m.cfg.paused ? "1" : "0"},
               {"PausedReason", m.cfg.paused_reason}};
  if (ringinuse) f.emplace_back("Ringinuse", "1");
  f.emplace_back("Wrapuptime", "0");
  return f;
}

void pbx_model::device_changed(const std::string& device) {
  // Asterisk reports device states from another thread, after the channel events that
  // caused them: defer to the end of the current step.
  asio::post(st_.io_, [this, device] {
    const auto now = device_state(device);
    auto& last = device_states_[device];
    if (last == now) return;
    last = now;
    emit({{"Event", "DeviceStateChange"},
          {"Privilege", "call,all"},
          {"Device", device},
          {"State", now}});
    for (auto& q : queues_) {
      if (const auto it = q.member_index.find(device); it != q.member_index.end()) {
        emit(member_fields("QueueMemberStatus", q, q.members[it->second], true));
      }
    }
    hints_changed(device);
  });
}

void pbx_model::hangup_chan(const std::shared_ptr<chan>& c, int cause) {
  if (c->gone) return;
  if (c->agi) {
    // The AGI notices the hangup and ends the call once its script is done.
    agi_caller_hangup(c, cause);
    return;
  }
  c->gone = true;
  count(*c, -1);
  if (c->load && load_calls_live_ > 0) --load_calls_live_;
  if (c->timer) c->timer->cancel();
  if (c->deadline) c->deadline->cancel();
  if (auto cb = take(c->on_result)) {
    cb(call_result::failed);
  }
  // A waiting queue caller abandons, even while a member's phone rings for it.
  if (!c->queue.empty()) {
    if (auto* q = find_queue(c->queue)) {
      const bool waiting = std::any_of(q->callers.begin(), q->callers.end(),
                                       [&](const auto& w) { return w.lock() == c; });
      if (waiting) queue_leave(*q, *c, true);
    }
  }
  if (!c->conference.empty()) conf_leave(*c);
  if (c->parked_space != 0) park_leave(c->parked_space, "ParkedCallGiveUp", nullptr);
  if (!c->agent.empty()) {
    if (const auto it = agents_.find(c->agent); it != agents_.end()) {
      auto f = chan_event("AgentLogoff", *c, "agent,all");
      f.emplace_back("Agent", c->agent);
      f.emplace_back("Logintime", std::to_string(epoch_seconds() - it->second.login_start));
      emit(std::move(f));
      it->second.logged.reset();
    }
    c->agent.clear();
  }
  // A connected queue call completes.
  std::shared_ptr<chan> agent = !c->member_interface.empty() ? c : nullptr;
  if (!agent) {
    auto p = c->peer.lock();
    if (p && !p->member_interface.empty()) agent = p;
  }
  if (agent && agent->state == 6) {
    auto caller = agent->queue_caller.lock();
    if (auto* q = find_queue(agent->queue); q && caller) {
      for (auto& m : q->members) {
        if (m.cfg.interface != agent->member_interface) continue;
        const long talk = seconds_since(agent->answered);
        field_list f{{"Event", "AgentComplete"}, {"Privilege", "agent,all"}};
        snapshot(f, *caller);
        snapshot(f, *agent, "Dest");
        f.emplace_back("Queue", q->cfg.name);
        f.emplace_back("Interface", m.cfg.interface);
        f.emplace_back("MemberName", m.cfg.name);
        f.emplace_back("HoldTime", std::to_string(seconds_since(caller->queue_join)));
        f.emplace_back("TalkTime", std::to_string(talk));
        f.emplace_back("Reason", c == agent ? "agent" : "caller");
        emit(std::move(f));
        m.in_call = false;
        ++m.calls_taken;
        m.last_call = epoch_seconds();
        ++q->completed;
        q->talktime = talk;
      }
    }
    agent->member_interface.clear();
  }
  leave_bridge(*c);
  auto f = chan_event("Hangup", *c);
  f.emplace_back("Cause", std::to_string(cause));
  f.emplace_back("Cause-txt", cause_text(cause));
  emit(std::move(f));
  const auto now = std::chrono::system_clock::now();
  const bool was_answered = c->answered.time_since_epoch().count() != 0;
  const auto dur = std::chrono::duration_cast<std::chrono::seconds>(now - c->created_wall).count();
  const auto billable = was_answered ? std::chrono::duration_cast<std::chrono::seconds>(
                                           std::chrono::steady_clock::now() - c->answered)
                                           .count()
                                     : 0;
  emit({{"Event", "Cdr"},
        {"Privilege", "cdr,all"},
        {"AccountCode", c->account},
        {"Source", c->cid_num == "<unknown>" ? "" : c->cid_num},
        {"Destination", c->exten},
        {"DestinationContext", c->context},
        {"CallerID", "\"" + (c->cid_name == "<unknown>" ? std::string() : c->cid_name) + "\" <" +
                         (c->cid_num == "<unknown>" ? std::string() : c->cid_num) + ">"},
        {"Channel", c->name},
        {"DestinationChannel", ""},
        {"LastApplication", c->app},
        {"LastData", c->data},
        {"StartTime", wall_time(c->created_wall)},
        {"AnswerTime", was_answered ? wall_time(c->created_wall) : ""},
        {"EndTime", wall_time(now)},
        {"Duration", std::to_string(dur)},
        {"BillableSeconds", std::to_string(billable)},
        {"Disposition", was_answered ? "ANSWERED" : (cause == 17 ? "BUSY" : "NO ANSWER")},
        {"AMAFlags", "DOCUMENTATION"},
        {"UniqueID", c->uniqueid},
        {"UserField", ""}});
  chans_.remove(c);
  device_changed(c->device);
  if (auto p = c->local_peer.lock()) hangup_chan(p, cause);
  if (auto p = c->peer.lock()) hangup_chan(p, 16);
  for (auto& q : queues_) queue_distribute(q);
}

// ---------------------------------------------------------------------------------------
// Bridges

void pbx_model::bridge_fields(field_list& f, const bridge_state& b) const {
  std::size_t n = 0;
  for (const auto& w : b.members) {
    if (auto m = w.lock(); m && m->bridge == b.id) ++n;
  }
  f.emplace_back("BridgeUniqueid", b.id);
  f.emplace_back("BridgeType", b.type);
  f.emplace_back("BridgeTechnology", b.technology);
  f.emplace_back("BridgeCreator", b.creator);
  f.emplace_back("BridgeName", b.name);
  f.emplace_back("BridgeNumChannels", std::to_string(n));
  f.emplace_back("BridgeVideoSourceMode", "none");
}

bridge_state& pbx_model::new_bridge(const std::string& type, const std::string& technology,
                                    const std::string& creator, const std::string& name) {
  char id[40];
  const auto n = bridge_seq_++;
  std::snprintf(id, sizeof id, "%08llx-0000-4000-8000-%012llx",
                static_cast<unsigned long long>(uid_base_), static_cast<unsigned long long>(n));
  auto& br = bridges_[id];
  br.id = id;
  br.type = type;
  br.technology = technology;
  br.creator = creator;
  br.name = name;
  field_list f{{"Event", "BridgeCreate"}, {"Privilege", "call,all"}};
  bridge_fields(f, br);
  emit(std::move(f));
  return br;
}

void pbx_model::enter_bridge(bridge_state& b, const std::shared_ptr<chan>& c) {
  leave_bridge(*c);
  c->bridge = b.id;
  b.members.erase(std::remove_if(b.members.begin(), b.members.end(),
                                 [](const std::weak_ptr<chan>& w) { return w.expired(); }),
                  b.members.end());
  b.members.push_back(c);
  field_list e{{"Event", "BridgeEnter"}, {"Privilege", "call,all"}};
  bridge_fields(e, b);
  snapshot(e, *c);
  emit(std::move(e));
}

void pbx_model::bridge_two(const std::shared_ptr<chan>& a, const std::shared_ptr<chan>& b) {
  auto& br = new_bridge("basic", "simple_bridge", "<unknown>", "<unknown>");
  enter_bridge(br, a);
  enter_bridge(br, b);
  a->peer = b;
  b->peer = a;
}

void pbx_model::unpeer(chan& c) {
  if (auto p = c.peer.lock()) p->peer.reset();
  c.peer.reset();
}

void pbx_model::leave_bridge(chan& c) {
  if (c.bridge.empty()) return;
  auto it = bridges_.find(c.bridge);
  c.bridge.clear();
  if (it == bridges_.end()) return;
  field_list f{{"Event", "BridgeLeave"}, {"Privilege", "call,all"}};
  bridge_fields(f, it->second);
  snapshot(f, c);
  emit(std::move(f));
  std::size_t left = 0;
  for (const auto& w : it->second.members) {
    if (auto m = w.lock(); m && m->bridge == it->first) ++left;
  }
  if (left == 0) {
    field_list d{{"Event", "BridgeDestroy"}, {"Privilege", "call,all"}};
    bridge_fields(d, it->second);
    emit(std::move(d));
    bridges_.erase(it);
  }
}

// ---------------------------------------------------------------------------------------
// Dialplan

const extension* pbx_model::find_extension(const std::string& context,
                                           const std::string& exten) const {
  for (const auto& x : cfg_.extensions) {
    if (x.context == context && x.exten == exten) return &x;
  }
  return nullptr;
}

void pbx_model::run_application(const std::shared_ptr<chan>& c, const std::string& app,
                                const std::string& data) {
  c->app = app;
  c->data = data;
  if (iequals(app, "Wait")) {
    double secs = 0;
    try {
      secs = std::stod(data);
    } catch (...) {
      secs = 0;
    }
    after(c, units(secs), [this](const std::shared_ptr<chan>& self) { hangup_chan(self, 16); });
  } else if (iequals(app, "Hangup")) {
    after(c, cfg_.step, [this](const std::shared_ptr<chan>& self) { hangup_chan(self, 16); });
  } else if (iequals(app, "Playback")) {
    after(c, units(1), [this](const std::shared_ptr<chan>& self) { hangup_chan(self, 16); });
  }
  // Echo, MusicOnHold, Park and the rest: until hung up.
}

void pbx_model::run_extension(const std::shared_ptr<chan>& c, const std::string& context,
                              const std::string& exten) {
  c->context = context;
  const extension* x = find_extension(context, exten);
  if (!x) {
    c->exten = exten;
    hangup_chan(c, 1);
    return;
  }
  const auto behave = x->action;
  const auto arg = x->argument;
  const int duration = x->duration;
  auto fail = [this, c, exten](const char* app, call_result r) {
    newexten(*c, exten, 1, app, "");
    after(c, cfg_.step, [this, r](const std::shared_ptr<chan>& self) {
      if (auto cb = take(self->on_result)) {
        cb(r);
      }
      hangup_chan(self, cause_of(r));
    });
  };
  switch (behave) {
    case behaviour::busy: fail("Busy", call_result::busy); return;
    case behaviour::congestion: fail("Congestion", call_result::congestion); return;
    case behaviour::no_answer:
      newexten(*c, exten, 1, "Ringing", "");
      set_state(*c, 5);
      return;
    case behaviour::agi: agi_start(c, *x); return;
    case behaviour::dial: {
      newexten(*c, exten, 1, "Dial", arg + ",30");
      dial(c, arg, units(30), [this, c](call_result r, const std::shared_ptr<chan>& callee) {
        if (c->gone) return;
        if (r == call_result::answered && callee && !callee->gone) {
          answer(c);
          bridge_two(c, callee);
        } else {
          hangup_chan(c, cause_of(r));
        }
      });
      return;
    }
    default: break;
  }
  newexten(*c, exten, 1, "Answer", "");
  answer(c);
  if (c->gone) return;
  // The next priority runs once the answer has propagated.
  after(c, cfg_.step, [this, behave, arg, duration, exten](const std::shared_ptr<chan>& self) {
    switch (behave) {
      case behaviour::echo: newexten(*self, exten, 2, "Echo", ""); break;
      case behaviour::user_event: {
        newexten(*self, exten, 2, "UserEvent", arg);
        auto f = chan_event("UserEvent", *self, "user,all");
        f.emplace_back("UserEvent", arg);
        emit(std::move(f));
        after(self, cfg_.step, [this, exten](const std::shared_ptr<chan>& s) {
          newexten(*s, exten, 3, "Hangup", "");
          hangup_chan(s, 16);
        });
        break;
      }
      case behaviour::playback:
        newexten(*self, exten, 2, "Playback", arg);
        after(self, units(duration > 0 ? duration : 1),
              [this](const std::shared_ptr<chan>& s) { hangup_chan(s, 16); });
        break;
      case behaviour::queue:
        newexten(*self, exten, 2, "Queue", arg);
        queue_join(self, arg);
        break;
      case behaviour::conference:
        newexten(*self, exten, 2, "ConfBridge", arg);
        conf_join(self, arg);
        if (self->load) {
          after(self, units(self->talk_units),
                [this](const std::shared_ptr<chan>& s) { hangup_chan(s, 16); });
        }
        break;
      default:
        newexten(*self, exten, 2, "Wait", std::to_string(duration));
        if (duration > 0) {
          after(self, units(duration),
                [this](const std::shared_ptr<chan>& s) { hangup_chan(s, 16); });
        }
        break;
    }
  });
}

std::shared_ptr<chan> pbx_model::dial(
    const std::shared_ptr<chan>& caller, const std::string& device,
    std::chrono::milliseconds timeout,
    std::function<void(call_result, const std::shared_ptr<chan>&)> done,
    const std::function<void(const chan&)>& announce) {
  struct dial_state {
    bool finished = false;
    std::shared_ptr<chan> dest;
    std::unique_ptr<asio::steady_timer> timer;
    std::function<void(call_result, const std::shared_ptr<chan>&)> done;
  };
  auto ds = std::make_shared<dial_state>();
  ds->done = std::move(done);
  auto& io = st_.io_;
  auto report = [this, ds, caller, &io](call_result r) {
    if (ds->finished) return;
    ds->finished = true;
    if (ds->timer) ds->timer->cancel();
    auto dest = ds->dest;
    if (dest && !dest->gone) {
      if (r == call_result::answered) set_state(*dest, 6);
      field_list f{{"Event", "DialEnd"}, {"Privilege", "call,all"}};
      if (caller && !caller->gone) snapshot(f, *caller);
      snapshot(f, *dest, "Dest");
      f.emplace_back("DialStatus", dial_status(r));
      emit(std::move(f));
      if (r != call_result::answered) {
        dest->on_result = nullptr;
        hangup_chan(dest, cause_of(r));
      }
    }
    // The dialler learns the outcome after the events of this step.
    asio::post(io, [ds, r] { ds->done(r, ds->dest); });
  };

  std::string exten, context;
  std::shared_ptr<chan> dest;
  const std::string linked = caller ? caller->linkedid : std::string();
  if (split_local(device, exten, context)) {
    if (!find_extension(context, exten)) {
      asio::post(io, [ds] { ds->done(call_result::failed, nullptr); });
      return nullptr;
    }
    auto [one, two] = new_local(exten, context);
    if (!linked.empty()) one->linkedid = two->linkedid = linked;
    {
      auto f = chan_event("Newexten", *one, "dialplan,all");
      f.emplace_back("Extension", exten);
      f.emplace_back("Application", "AppDial2");
      f.emplace_back("AppData", "(Outgoing Line)");
      one->app = "AppDial2";
      one->data = "(Outgoing Line)";
      emit(std::move(f));
    }
    field_list lb{{"Event", "LocalBridge"}, {"Privilege", "call,all"}};
    snapshot(lb, *one, "LocalOne");
    snapshot(lb, *two, "LocalTwo");
    lb.emplace_back("Context", context);
    lb.emplace_back("Exten", exten);
    lb.emplace_back("LocalOptimization", "Yes");
    emit(std::move(lb));
    dest = one;
    // The far half reports to the near half, which the dialler waits on.
    std::weak_ptr<chan> weak_one = one;
    two->on_result = [this, weak_one, report](call_result r) {
      auto near = weak_one.lock();
      if (!near || near->gone) return;
      if (r == call_result::answered) {
        near->answered = std::chrono::steady_clock::now();
        set_state(*near, 6);
      }
      report(r);
    };
    after(two, cfg_.step, [this, exten, context](const std::shared_ptr<chan>& far) {
      run_extension(far, context, exten);
    });
  } else {
    const endpoint* ep = find_endpoint(device);
    if (!ep || !ep->online) {
      asio::post(io, [ds] { ds->done(call_result::failed, nullptr); });
      return nullptr;
    }
    const auto behave = ep->answer;
    dest = new_channel(device, hex8(chan_seq_++), 0, ep->context, "s", linked);
    dest->app = caller && caller->app == "Queue" ? "AppQueue" : "AppDial";
    dest->data = "(Outgoing Line)";
    dest->on_result = report;
    after(dest, cfg_.step, [this, behave](const std::shared_ptr<chan>& d) {
      if (behave == behaviour::busy || behave == behaviour::congestion) {
        if (auto cb = take(d->on_result)) {
          cb(behave == behaviour::busy ? call_result::busy : call_result::congestion);
        }
        return;
      }
      set_state(*d, 5);
      if (behave == behaviour::no_answer) return;
      after(d, cfg_.step * 3, [this](const std::shared_ptr<chan>& x) { answer(x); });
    });
  }
  ds->dest = dest;
  if (announce) announce(*dest);
  {
    field_list f{{"Event", "DialBegin"}, {"Privilege", "call,all"}};
    if (caller) snapshot(f, *caller);
    snapshot(f, *dest, "Dest");
    f.emplace_back("DialString", device.rfind("Local/", 0) == 0
                                     ? exten + "@" + context
                                     : device.substr(device.find('/') + 1));
    emit(std::move(f));
  }
  ds->timer = std::make_unique<asio::steady_timer>(io, timeout);
  ds->timer->async_wait([report](boost::system::error_code ec) {
    if (!ec) report(call_result::no_answer);
  });
  return dest;
}

// ---------------------------------------------------------------------------------------
// Queues

queue_state* pbx_model::find_queue(const std::string& name) {
  for (auto& q : queues_) {
    if (q.cfg.name == name) return &q;
  }
  return nullptr;
}

void pbx_model::queue_join(const std::shared_ptr<chan>& c, const std::string& name) {
  auto* q = find_queue(name);
  if (!q) {
    hangup_chan(c, 16);
    return;
  }
  c->queue = name;
  c->queue_join = std::chrono::steady_clock::now();
  q->callers.push_back(c);
  auto f = chan_event("QueueCallerJoin", *c, "agent,all");
  f.emplace_back("Queue", name);
  f.emplace_back("Position", std::to_string(q->callers.size()));
  f.emplace_back("Count", std::to_string(q->callers.size()));
  emit(std::move(f));
  queue_distribute(*q);
}

void pbx_model::queue_leave(queue_state& q, const chan& c, bool abandoned) {
  std::size_t pos = 0;
  for (std::size_t i = 0; i < q.callers.size(); ++i) {
    if (q.callers[i].lock().get() == &c) pos = i + 1;
  }
  q.callers.erase(std::remove_if(q.callers.begin(), q.callers.end(),
                                 [&](const auto& w) {
                                   auto p = w.lock();
                                   return !p || p.get() == &c;
                                 }),
                  q.callers.end());
  if (abandoned) {
    ++q.abandoned;
    auto a = chan_event("QueueCallerAbandon", c, "agent,all");
    a.emplace_back("Queue", q.cfg.name);
    a.emplace_back("Position", std::to_string(pos));
    a.emplace_back("OriginalPosition", std::to_string(pos));
    a.emplace_back("HoldTime", std::to_string(seconds_since(c.queue_join)));
    emit(std::move(a));
  }
  auto f = chan_event("QueueCallerLeave", c, "agent,all");
  f.emplace_back("Queue", q.cfg.name);
  f.emplace_back("Position", std::to_string(pos));
  f.emplace_back("Count", std::to_string(q.callers.size()));
  emit(std::move(f));
}

void pbx_model::queue_distribute(queue_state& q) {
  for (std::size_t i = 0; i < q.callers.size(); ++i) {
    auto caller = q.callers[i].lock();
    if (!caller || caller->gone || !caller->member_interface.empty()) continue;
    member_state* pick = nullptr;
    for (auto& m : q.members) {
      if (!m.cfg.paused && !m.in_call && !m.ringing && member_status(m) == 1) {
        pick = &m;
        break;
      }
    }
    if (!pick) return;
    // Rung, not yet in call: Asterisk sets InCall only once the member answers.
    pick->ringing = true;
    // While an agent rings, the caller's member_interface marks it as offered.
    caller->member_interface = pick->cfg.interface;
    const std::string qname = q.cfg.name;
    const std::string iface = pick->cfg.interface;
    const std::string mname = pick->cfg.name;
    const auto ring_start = std::chrono::steady_clock::now();
    dial(
        caller, iface, units(15),
        [this, caller, qname, iface, mname, ring_start](call_result r,
                                                        const std::shared_ptr<chan>& leg) {
          auto* qs = find_queue(qname);
          if (!qs) return;
          member_state* m = nullptr;
          for (auto& x : qs->members) {
            if (x.cfg.interface == iface) m = &x;
          }
          caller->member_interface.clear();
          if (m) m->ringing = false;
          // The member's leg may have hung up between its answer and this report.
          if (r != call_result::answered || !leg || leg->gone || caller->gone) {
            if (leg && !leg->gone) hangup_chan(leg, 16);
            if (!caller->gone) {
              after(caller, units(1), [this, qname](const std::shared_ptr<chan>&) {
                if (auto* q2 = find_queue(qname)) queue_distribute(*q2);
              });
            }
            return;
          }
          if (m) m->in_call = true;
          qs->holdtime = seconds_since(caller->queue_join);
          queue_leave(*qs, *caller, false);
          field_list f{{"Event", "AgentConnect"}, {"Privilege", "agent,all"}};
          snapshot(f, *caller);
          snapshot(f, *leg, "Dest");
          f.emplace_back("Queue", qname);
          f.emplace_back("Interface", iface);
          f.emplace_back("MemberName", mname);
          f.emplace_back("HoldTime", std::to_string(seconds_since(caller->queue_join)));
          f.emplace_back("RingTime", std::to_string(seconds_since(ring_start)));
          emit(std::move(f));
          leg->member_interface = iface;
          leg->queue = qname;
          leg->queue_caller = caller;
          bridge_two(caller, leg);
          if (caller->load) load_flow(caller, leg);
        },
        // app_queue announces the member's ring before the dial starts.
        [&](const chan& dest) {
          field_list f{{"Event", "AgentCalled"}, {"Privilege", "agent,all"}};
          snapshot(f, *caller);
          snapshot(f, dest, "Dest");
          f.emplace_back("Queue", qname);
          f.emplace_back("Interface", iface);
          f.emplace_back("MemberName", mname);
          emit(std::move(f));
        });
  }
}

// ---------------------------------------------------------------------------------------
// Calls started by tests and the load generator

std::string pbx_model::incoming_call(const std::string& from, const std::string& exten,
                                     const std::string& context, const std::string& caller_num) {
  // The caller id is the phone's, in the Newchannel already.
  auto c = new_channel(from, hex8(chan_seq_++), 4, context, exten, "", caller_num);
  device_changed(from);
  after(c, cfg_.step, [this, context, exten](const std::shared_ptr<chan>& self) {
    run_extension(self, context, exten);
  });
  return c->name;
}

bool pbx_model::hangup(const std::string& channel, int cause) {
  auto c = find(channel);
  if (!c) return false;
  hangup_chan(c, cause);
  return true;
}

void pbx_model::start_load(double events_per_second) {
  stop_load();
  if (events_per_second <= 0) return;
  load_rate_ = events_per_second;
  // About 26 events per call (both legs, queue, bridge, CDRs).
  const double calls_per_second = events_per_second / 26.0;
  const double talk_seconds = 2.5 * static_cast<double>(cfg_.time_unit.count()) / 1000.0;
  const auto agents =
      static_cast<int>(std::min(2000.0, calls_per_second * (talk_seconds + 0.05) * 1.5 + 4.0));
  if (!find_queue("callcenter")) {
    queue q;
    q.name = "callcenter";
    q.strategy = "rrmemory";
    for (int i = 1; i <= agents; ++i) {
      char name[16];
      std::snprintf(name, sizeof name, "agent%04d", i);
      endpoint e;
      e.name = name;
      e.context = "agents";
      e.description = std::string("Agent ") + name;
      add_endpoint(e);
      queue_member m;
      m.interface = "PJSIP/" + std::string(name);
      m.name = "Agent " + std::string(name);
      q.members.push_back(m);
    }
    add_queue(q);
  }
  if (!find_endpoint("PJSIP/carrier")) {
    endpoint e;
    e.name = "carrier";
    e.context = "from-pstn";
    e.address = "127.0.0.2";
    e.port = 5060;
    e.description = "PSTN carrier";
    add_endpoint(e);
  }
  add_extension({"8000", "from-pstn", behaviour::queue, "callcenter", 0, ""});
  // Where load calls go besides the queue: an announcement (blind transfers), a conference
  // room, and a supervisor an agent consults before an attended transfer.
  add_extension({"8100", "from-pstn", behaviour::playback, "queue-thankyou", 1, ""});
  add_extension({"8300", "from-pstn", behaviour::conference, "standup", 0, ""});
  add_extension({"8200", "agents", behaviour::dial, "PJSIP/supervisor", 0, ""});
  for (const char* name : {"supervisor", "operator"}) {
    if (find_endpoint(std::string("PJSIP/") + name)) continue;
    endpoint e;
    e.name = name;
    e.context = "agents";
    e.description = name;
    add_endpoint(e);
  }
  for (int i = 1; i <= 4; ++i) {
    const std::string id = std::to_string(1000 + i);
    if (agents_.count(id) == 0) add_agent({id, "Agent " + id});
  }
  load_started_ = std::chrono::steady_clock::now();
  load_calls_started_ = 0;
  load_ticked_ = false;
  // Calls last about 2.5 units of talk plus ringing; allow twice the expected concurrency.
  const double call_seconds =
      talk_seconds + 10.0 * static_cast<double>(cfg_.step.count()) / 1000.0 + 0.02;
  load_calls_cap_ = static_cast<std::size_t>(calls_per_second * call_seconds * 2.0) + 8;
  load_timer_ = std::make_unique<asio::steady_timer>(st_.io_);
  load_tick();
}

void pbx_model::stop_load() {
  if (load_timer_) load_timer_->cancel();
  load_timer_.reset();
  load_rate_ = 0;
}

void pbx_model::load_tick() {
  if (!load_timer_ || load_rate_ <= 0) return;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_started_).count();
  const double due = load_rate_ / 26.0 * elapsed;
  std::uniform_int_distribution<int> talk(1, 4);
  std::uniform_int_distribution<int> digits(2000000, 9999999);
  // When the server falls behind (a slow machine, a debugger), the backlog is dropped
  // rather than replayed in a burst that would only make it worse.
  const double burst = load_rate_ / 26.0 * 0.05 + 1.0;
  if (due - load_calls_started_ > burst) load_calls_started_ = due - burst;
  // A tick that runs late means the server thread is saturated: starting more calls would
  // only lengthen its queue of timers and starve the sockets, so skip this tick's calls.
  const auto now = std::chrono::steady_clock::now();
  if (load_ticked_ && now - load_timer_->expiry() > std::chrono::milliseconds(20)) {
    load_calls_started_ = due;
  }
  load_ticked_ = true;
  while (load_calls_started_ < due) {
    load_calls_started_ += 1;
    if (load_calls_live_ >= load_calls_cap_) continue;
    const auto num = "555" + std::to_string(digits(rng_));
    // One call in twenty joins the conference room instead of the queue.
    const bool conference = std::uniform_int_distribution<int>(0, 19)(rng_) == 0;
    const auto name =
        incoming_call("PJSIP/carrier", conference ? "8300" : "8000", "from-pstn", num);
    if (auto c = find(name)) {
      c->load = true;
      c->talk_units = talk(rng_);
      ++load_calls_live_;
    }
  }
  load_members();
  load_timer_->expires_after(std::chrono::milliseconds(10));
  load_timer_->async_wait([this](boost::system::error_code ec) {
    if (!ec) load_tick();
  });
}

// ---------------------------------------------------------------------------------------
// Configuration defaults

const char* to_string(behaviour b) noexcept {
  switch (b) {
    case behaviour::answer: return "answer";
    case behaviour::echo: return "echo";
    case behaviour::busy: return "busy";
    case behaviour::no_answer: return "no_answer";
    case behaviour::congestion: return "congestion";
    case behaviour::user_event: return "user_event";
    case behaviour::playback: return "playback";
    case behaviour::queue: return "queue";
    case behaviour::dial: return "dial";
    case behaviour::agi: return "agi";
    case behaviour::conference: return "conference";
  }
  return "answer";
}

}  // namespace ami::testing::detail

namespace ami::testing {

const char* to_string(behaviour b) noexcept { return detail::to_string(b); }

pbx_config pbx_config::standard(bool sip) {
  pbx_config c;
  const std::string tech = sip ? "SIP" : "PJSIP";
  c.extensions = {
      {"100", "default", behaviour::answer, "", 20, tech + "/100"},
      {"200", "default", behaviour::echo, "", 0, ""},
      {"300", "default", behaviour::user_event, "TestEvent", 0, ""},
      {"400", "default", behaviour::busy, "", 0, ""},
      {"500", "default", behaviour::no_answer, "", 0, ""},
      {"501", "default", behaviour::congestion, "", 0, ""},
      {"600", "default", behaviour::playback, "hello-world", 2, ""},
      {"700", "default", behaviour::queue, "support", 0, ""},
      {"800", "default", behaviour::agi, "agi:async", 0, ""},
      {"801", "default", behaviour::agi, "agi://127.0.0.1:4574/ivr", 0, ""},
  };
  endpoint e100;
  e100.technology = tech;
  e100.name = "100";
  endpoint e101 = e100;
  e101.name = "101";
  e101.online = false;
  endpoint trunk = e100;
  trunk.name = "trunk1";
  trunk.address = "127.0.0.1";
  trunk.port = 5099;
  // Phone 100 is not registered in the captures' set-up: calls to it fail.
  e100.online = false;
  c.endpoints = {e100, e101, trunk};
  if (sip) {
    endpoint iax;
    iax.technology = "IAX2";
    iax.name = "iaxpeer1";
    c.endpoints.push_back(iax);
  }
  queue support;
  support.name = "support";
  queue_member local;
  local.interface = local.name = "Local/100@default";
  support.members.push_back(local);
  c.queues = {support};
  c.mailboxes = {{"1234@default", 0, 0, 0}};
  return c;
}

}  // namespace ami::testing
