// The PBX's AMI actions and CLI commands, answered the way Asterisk answers them.
#include "pbx_model.hpp"
#include "sim_actions.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace ami::testing::detail {

namespace {

// Privileges an action needs (from Asterisk's registrations); 0 = none beyond login.
struct action_info {
  const char* name;
  std::uint32_t need;
  const char* synopsis;
};

constexpr std::uint32_t P_SYS = priv::system, P_CALL = priv::call, P_REP = priv::reporting,
                        P_AGENT = priv::agent, P_USER = priv::user, P_ORIG = priv::originate,
                        P_CMD = priv::command;

constexpr action_info action_table[] = {
    {"AGI", priv::agi, "Add an AGI command to the queue of a channel in Async AGI."},
    {"AbsoluteTimeout", P_SYS | P_CALL, "Hang up a channel after a number of seconds."},
    {"Challenge", 0, "Ask for an MD5 login challenge."},
    {"ChangeMonitor", P_CALL, "Rename the recording of a monitored channel."},
    {"Command", P_CMD, "Run a CLI command."},
    {"CoreShowChannels", P_SYS | P_REP, "List the active channels."},
    {"Events", 0, "Choose which event classes this session receives."},
    {"ExtensionState", P_CALL | P_REP, "Report the state of an extension's hint."},
    {"Filter", P_SYS, "Add an event filter to this session."},
    {"Getvar", P_CALL | P_REP, "Read a channel or global variable."},
    {"AgentLogoff", P_AGENT, "Log an agent off."},
    {"Agents", P_AGENT, "List the agents and their status."},
    {"BridgeInfo", P_CALL | P_REP, "Show one bridge and its channels."},
    {"BridgeList", P_CALL | P_REP, "List the bridges."},
    {"ConfbridgeList", P_REP, "List the users of a conference."},
    {"ConfbridgeListRooms", P_REP, "List the active conferences."},
    {"DeviceStateList", P_CALL | P_REP, "List the device states."},
    {"ExtensionStateList", P_CALL | P_REP, "List the extension (hint) states."},
    {"Hangup", P_SYS | P_CALL, "Hang up a channel."},
    {"IAXpeers", P_SYS | P_REP, "List the IAX2 peers."},
    {"ListCommands", 0, "List the actions this server knows."},
    {"Login", 0, "Log in."},
    {"Logoff", 0, "Log off and close the connection."},
    {"MailboxCount", P_CALL | P_REP, "Count a mailbox's messages."},
    {"MailboxStatus", P_CALL | P_REP, "Tell whether a mailbox has new messages."},
    {"MixMonitor", P_SYS, "Start a mixed recording of a channel."},
    {"Monitor", P_CALL, "Start recording a channel."},
    {"Originate", P_ORIG, "Place a call."},
    {"Park", P_CALL, "Park a channel."},
    {"ParkedCalls", P_CALL, "List the parked calls."},
    {"PJSIPShowEndpoints", P_SYS, "List the PJSIP endpoints."},
    {"Ping", 0, "Check that the connection is alive."},
    {"PlayDTMF", P_CALL, "Send a DTMF digit on a channel."},
    {"QueueAdd", P_AGENT, "Add a member to a queue."},
    {"QueuePause", P_AGENT, "Pause or unpause a queue member."},
    {"QueueRemove", P_AGENT, "Remove a member from a queue."},
    {"QueueStatus", 0, "List queues, their members and callers."},
    {"QueueSummary", 0, "Summarise the queues."},
    {"Queues", 0, "Show the queues as CLI text."},
    {"Redirect", P_CALL, "Send a channel (and optionally a second one) elsewhere."},
    {"SIPpeers", P_SYS | P_REP, "List the SIP peers."},
    {"SIPshowpeer", P_SYS | P_REP, "Show one SIP peer."},
    {"Setvar", P_CALL, "Set a channel or global variable."},
    {"Status", P_SYS | P_CALL | P_REP, "List channel status."},
    {"StopMixMonitor", P_SYS | P_CALL, "Stop a mixed recording."},
    {"StopMonitor", P_CALL, "Stop recording a channel."},
    {"UserEvent", P_USER, "Send a user-defined event to every session."},
};

std::string priv_text(std::uint32_t need) {
  if (need == 0) return "<none>";
  static const std::pair<std::uint32_t, const char*> names[] = {
      {priv::system, "system"},       {priv::call, "call"},       {priv::agent, "agent"},
      {priv::user, "user"},           {priv::command, "command"}, {priv::reporting, "reporting"},
      {priv::originate, "originate"}, {priv::agi, "agi"}};
  std::string out;
  for (const auto& [bit, name] : names) {
    if (need & bit) out.append(name).append(",");
  }
  return out + "all";
}

const action_info* find_action(std::string_view name) {
  for (const auto& a : action_table) {
    if (iequals(a.name, name)) return &a;
  }
  return nullptr;
}

}  // namespace

bool split_callerid(const std::string& v, std::string& name, std::string& num) {
  const auto lt = v.find('<');
  const auto gt = v.find('>');
  if (lt == std::string::npos || gt == std::string::npos || gt < lt) return false;
  num = v.substr(lt + 1, gt - lt - 1);
  name = v.substr(0, lt);
  while (!name.empty() && name.back() == ' ') name.pop_back();
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
    name = name.substr(1, name.size() - 2);
  }
  return true;
}

namespace {

bool is_true(std::string_view v) {
  return iequals(v, "true") || iequals(v, "yes") || iequals(v, "on") || iequals(v, "y") ||
         iequals(v, "t") || v == "1";
}

std::string lower_text(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

const char* state_text(int s) {
  switch (s) {
    case 0: return "Down";
    case 4: return "Ring";
    case 5: return "Ringing";
    case 6: return "Up";
    default: return "Unknown";
  }
}

std::string duration_text(std::chrono::steady_clock::duration d) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>((s / 60) % 60), static_cast<long long>(s % 60));
  return buf;
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() > width) s.resize(width);
  s.append(width - s.size(), ' ');
  return s;
}

// The Asterisk 18 "sip show peers" row layout.
std::string sip_row(const std::string& name, const std::string& host, const std::string& dyn,
                    const std::string& forcerport, const std::string& comedia,
                    const std::string& acl, const std::string& port, const std::string& status,
                    const std::string& description) {
  return pad(name, 25) + " " + pad(host, 39) + " " + pad(dyn, 3) + " " + pad(forcerport, 10) + " " +
         pad(comedia, 10) + " " + pad(acl, 3) + " " + pad(port, 8) + " " + pad(status, 11) + " " +
         pad(description, 32) + " ";
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Helpers

bool pbx_model::allowed(connection& c, std::uint32_t need) const {
  return need == 0 || (c.write_perm_ & need) != 0;
}

void pbx_model::list_start(connection& c, const ami::message& a, const std::string& what) {
  field_list f{{"Response", "Success"}};
  if (st_.version_ >= ami::proto::version{2, 7, 0}) f.emplace_back("EventList", "start");
  f.emplace_back("Message", what);
  c.respond_now(a, std::move(f));
}

void pbx_model::list_complete(connection& c, const ami::message& a, const std::string& event,
                              std::size_t items, bool with_items_too) {
  const bool modern = st_.version_ >= ami::proto::version{2, 7, 0};
  field_list f{{"Event", event}};
  if (auto id = a.get("ActionID")) f.emplace_back("ActionID", std::string(*id));
  if (modern || event != "QueueStatusComplete") f.emplace_back("EventList", "Complete");
  if (modern || event == "CoreShowChannelsComplete" || event == "PeerlistComplete") {
    if (!(event == "StatusComplete" && !modern)) f.emplace_back("ListItems", std::to_string(items));
  }
  if (with_items_too) f.emplace_back("Items", std::to_string(items));
  c.write_fields(f);
}

// ---------------------------------------------------------------------------------------
// CLI

std::optional<std::vector<std::string>> pbx_model::cli(const std::string& command) {
  std::string cmd;
  for (char ch : command) {
    if (ch == ' ' && (cmd.empty() || cmd.back() == ' ')) continue;
    cmd += ch;
  }
  while (!cmd.empty() && cmd.back() == ' ') cmd.pop_back();
  const auto lc = lower_text(cmd);
  if (lc == "core show version") {
    return std::vector<std::string>{"Asterisk " + asterisk_release(st_.version_) +
                                    " built by ami @ sim on a x86_64 running Linux on "
                                    "2026-01-01 00:00:00 UTC"};
  }
  if (lc == "core show channels") {
    std::vector<std::string> out{pad("Channel", 20) + " " + pad("Location", 25) + " " +
                                 pad("State", 7) + " Application(Data)"};
    std::size_t calls = 0;
    for (const auto& c : chans_) {
      out.push_back(pad(c->name, 20) + " " +
                    pad(c->exten + "@" + c->context + ":" + std::to_string(c->priority), 25) + " " +
                    pad(state_text(c->state), 7) + " " + c->app + "(" + c->data + ")");
      if (c->state == 6 && c->name.find(";2") == std::string::npos) ++calls;
    }
    out.push_back(std::to_string(chans_.size()) + " active channel" +
                  (chans_.size() == 1 ? "" : "s"));
    out.push_back(std::to_string(calls / 2 + calls % 2) + " active call" +
                  (calls / 2 + calls % 2 == 1 ? "" : "s"));
    return out;
  }
  if (lc == "sip show peers" && st_.version_ < ami::proto::version{10, 0, 0}) {
    std::vector<std::string> out{sip_row("Name/username", "Host", "Dyn", "Forcerport", "Comedia",
                                         "ACL", "Port", "Status", "Description")};
    int online = 0, offline = 0, total = 0;
    for (const auto& e : cfg_.endpoints) {
      if (e.technology != "SIP") continue;
      ++total;
      const bool dynamic = e.address.empty();
      (dynamic ? offline : online)++;
      out.push_back(sip_row(e.name, dynamic ? "(Unspecified)" : e.address, dynamic ? " D " : "",
                            "Auto (No)", "No", "", std::to_string(e.port), "Unmonitored",
                            e.description));
    }
    out.push_back(std::to_string(total) + " sip peers [Monitored: 0 online, 0 offline " +
                  "Unmonitored: " + std::to_string(online) + " online, " + std::to_string(offline) +
                  " offline]");
    return out;
  }
  if (lc == "queue show" || lc == "queues show") {
    std::vector<std::string> out;
    for (const auto& q : queues_) {
      out.push_back(q.cfg.name + " has " + std::to_string(q.callers.size()) + " calls (max " +
                    (q.cfg.max > 0 ? std::to_string(q.cfg.max) : "unlimited") + ") in '" +
                    q.cfg.strategy + "' strategy (" + std::to_string(q.holdtime) + "s holdtime, " +
                    std::to_string(q.talktime) + "s talktime), W:" + std::to_string(q.cfg.weight) +
                    ", C:" + std::to_string(q.completed) + ", A:" + std::to_string(q.abandoned) +
                    ", SL:0.0%, SL2:0.0% within 0s");
      if (q.members.empty()) {
        out.push_back("   No Members");
      } else {
        out.push_back("   Members: ");
        for (const auto& m : q.members) {
          static const char* const names[] = {"Unknown", "Not in use",  "In use", "Busy",
                                              "Invalid", "Unavailable", "Ringing"};
          const int st = member_status(m);
          std::string line = "      " + m.cfg.name;
          if (m.cfg.name != m.cfg.interface) line += " (" + m.cfg.interface + ")";
          line += " (ringinuse enabled)";
          if (m.cfg.paused) line += " (paused)";
          line += std::string(" (") + names[st >= 0 && st <= 6 ? st : 0] + ")";
          line += m.calls_taken == 0 ? " has taken no calls yet"
                                     : " has taken " + std::to_string(m.calls_taken) + " calls";
          out.push_back(line);
        }
      }
      if (q.callers.empty()) {
        out.push_back("   No Callers");
      } else {
        out.push_back("   Callers: ");
        int pos = 1;
        for (const auto& w : q.callers) {
          if (auto c = w.lock()) {
            const auto wait = std::chrono::duration_cast<std::chrono::seconds>(
                                  std::chrono::steady_clock::now() - c->queue_join)
                                  .count();
            char buf[32];
            std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(wait / 60),
                          static_cast<long long>(wait % 60));
            out.push_back("      " + std::to_string(pos++) + ". " + c->name + " (wait: " + buf +
                          ", prio: 0)");
          }
        }
      }
      out.push_back("");
    }
    if (out.empty()) out.push_back("No queues.");
    return out;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// Originate

struct originate_op {
  std::weak_ptr<connection> conn;
  ami::message action;
  bool async = false;
  std::string channel;
  std::string app, data, context, exten;
  int priority = 1;
  std::string cid_num = "<unknown>", cid_name = "<unknown>";
  std::vector<std::pair<std::string, std::string>> vars;
};

outcome pbx_model::originate(connection& c, const ami::message& a) {
  auto op = std::make_shared<originate_op>();
  op->channel = std::string(a.get_or("Channel"));
  if (op->channel.empty()) {
    c.respond_now(a, {{"Response", "Error"}, {"Message", "Channel not specified"}});
    return outcome::done;
  }
  op->conn = std::static_pointer_cast<connection>(c.shared_from_this());
  op->action = a;
  op->async = is_true(a.get_or("Async"));
  op->app = std::string(a.get_or("Application"));
  op->data = std::string(a.get_or("Data"));
  op->context = std::string(a.get_or("Context", "default"));
  if (op->context.empty()) op->context = "default";
  op->exten = std::string(a.get_or("Exten"));
  const auto prio = a.get_or("Priority", "1");
  op->priority = std::max(1, std::atoi(std::string(prio).c_str()));
  if (op->app.empty() && op->exten.empty()) {
    c.respond_now(a, {{"Response", "Error"}, {"Message", "Exten not specified"}});
    return outcome::done;
  }
  if (auto cid = a.get("CallerID")) {
    const std::string v(*cid);
    std::string name, num;
    if (split_callerid(v, name, num)) {
      op->cid_num = num;
      op->cid_name = name.empty() ? "<unknown>" : name;
    } else if (!v.empty()) {
      op->cid_num = op->cid_name = v;
    }
  }
  for (const auto v : a.get_all("Variable")) {
    const std::string kv(v);
    const auto eq = kv.find('=');
    if (eq != std::string::npos) op->vars.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  long timeout_ms = 30000;
  if (auto t = a.get("Timeout")) {
    const long v = std::atol(std::string(*t).c_str());
    if (v > 0) timeout_ms = v;
  }
  const auto timeout = units(static_cast<double>(timeout_ms) / 1000.0);

  if (op->async) {
    c.respond_now(a, {{"Response", "Success"}, {"Message", "Originate successfully queued"}});
  }
  auto finish = [this, op](call_result r, const std::shared_ptr<chan>& leg) {
    const bool ok = r == call_result::answered && leg && !leg->gone;
    if (ok) {
      leg->cid_num = op->cid_num;
      leg->cid_name = op->cid_name;
      for (const auto& [k, v] : op->vars) set_var(*leg, k, v, false);
    }
    if (op->async) {
      field_list f{{"Event", "OriginateResponse"}, {"Privilege", "call,all"}};
      if (auto id = op->action.get("ActionID")) f.emplace_back("ActionID", std::string(*id));
      f.emplace_back("Response", ok ? "Success" : "Failure");
      f.emplace_back("Channel", ok ? leg->name : op->channel);
      if (op->app.empty()) {
        f.emplace_back("Context", op->context);
        f.emplace_back("Exten", op->exten);
      } else {
        f.emplace_back("Application", op->app);
        f.emplace_back("Data", op->data);
      }
      f.emplace_back("Reason", std::to_string(static_cast<int>(r)));
      f.emplace_back("Uniqueid", leg ? leg->uniqueid : "<null>");
      f.emplace_back("CallerIDNum", op->cid_num);
      f.emplace_back("CallerIDName", op->cid_name);
      emit(std::move(f));
    } else if (auto conn = op->conn.lock(); conn && !conn->closed()) {
      if (ok) {
        conn->respond_now(op->action,
                          {{"Response", "Success"}, {"Message", "Originate successfully queued"}});
      } else {
        conn->respond_now(op->action, {{"Response", "Error"}, {"Message", "Originate failed"}});
      }
      conn->resume();
    }
    if (!ok) return;
    if (!op->app.empty()) {
      run_application(leg, op->app, op->data);
    } else {
      after(leg, cfg_.step, [this, op](const std::shared_ptr<chan>& self) {
        run_extension(self, op->context, op->exten);
      });
    }
  };
  // The call starts after the response is on its way, as Asterisk's originate thread does.
  asio::post(st_.io_, [this, op, timeout, finish] {
    auto leg = dial(nullptr, op->channel, timeout, finish);
    // Both halves of a Local channel carry the caller ID before the dialplan runs (AGI
    // reports it in agi_callerid).
    if (!leg || leg->tech != "Local" || op->cid_num == "<unknown>") return;
    for (const auto& half : {leg, leg->local_peer.lock()}) {
      if (!half) continue;
      half->cid_num = op->cid_num;
      half->cid_name = op->cid_name;
    }
  });
  return op->async ? outcome::done : outcome::pending;
}

// ---------------------------------------------------------------------------------------
// Actions

std::optional<outcome> pbx_model::action(connection& c, const ami::message& a) {
  const auto name = a.get_or("Action");
  const auto* info = find_action(name);
  if (!info) return std::nullopt;
  const auto& v = st_.version_;
  using ami::proto::version;
  const std::string n = info->name;
  const bool chan_sip_era = v < version{10, 0, 0};
  if ((n == "SIPpeers" || n == "SIPshowpeer" || n == "Monitor" || n == "StopMonitor" ||
       n == "ChangeMonitor") &&
      !chan_sip_era) {
    return std::nullopt;
  }
  if (n == "Queues" && v >= version{4, 0, 0}) return std::nullopt;
  if (n == "PJSIPShowEndpoints" && v < version{2, 0, 0}) return std::nullopt;
  if (!allowed(c, info->need)) return deny(st_, c, a);

  auto ok = [&](std::string message) {
    c.respond_now(a, {{"Response", "Success"}, {"Message", std::move(message)}});
    return outcome::done;
  };
  auto error = [&](std::string message) {
    c.respond_now(a, {{"Response", "Error"}, {"Message", std::move(message)}});
    return outcome::done;
  };
  const std::string channel(a.get_or("Channel"));

  if (n == "ListCommands") {
    std::vector<const action_info*> list;
    for (const auto& x : action_table) {
      const std::string xn = x.name;
      if ((xn == "SIPpeers" || xn == "SIPshowpeer" || xn == "Monitor" || xn == "StopMonitor" ||
           xn == "ChangeMonitor") &&
          !chan_sip_era) {
        continue;
      }
      if (xn == "Queues" && v >= version{4, 0, 0}) continue;
      list.push_back(&x);
    }
    std::sort(list.begin(), list.end(), [](const action_info* x, const action_info* y) {
      return lower_text(x->name) < lower_text(y->name);
    });
    field_list f{{"Response", "Success"}};
    for (const auto* x : list) {
      f.emplace_back(x->name, std::string(x->synopsis) + "  (Priv: " + priv_text(x->need) + ")");
    }
    c.respond_now(a, std::move(f));
    return outcome::done;
  }
  if (n == "Originate") return originate(c, a);
  if (n == "AGI") return agi_action(c, a);
  if (n == "Hangup") {
    if (channel.empty()) return error("No channel specified");
    auto ch = find(channel);
    if (!ch) return error("No such channel");
    int cause = 16;
    if (auto cs = a.get("Cause")) cause = std::atoi(std::string(*cs).c_str());
    ok("Channel Hungup");
    field_list f = chan_event("SoftHangupRequest", *ch);
    f.emplace_back("Cause", std::to_string(cause));
    emit(std::move(f));
    hangup_chan(ch, cause);
    return outcome::done;
  }
  if (n == "Redirect") {
    if (channel.empty()) return error("Channel not specified");
    const std::string exten(a.get_or("Exten"));
    const std::string context(a.get_or("Context", "default"));
    auto ch = find(channel);
    if (!ch) return error("Channel does not exist: " + channel);
    if (exten.empty() || !find_extension(context, exten)) return error("Extension does not exist.");
    std::shared_ptr<chan> extra;
    if (auto ec = a.get("ExtraChannel"); ec && !ec->empty()) {
      extra = find(std::string(*ec));
      if (!extra) return error("ExtraChannel does not exist: " + std::string(*ec));
    }
    ok(extra ? "Dual Redirect successful" : "Redirect successful");
    for (const auto& target : {ch, extra}) {
      if (!target) continue;
      const std::string ctx =
          target == extra ? std::string(a.get_or("ExtraContext", context)) : context;
      const std::string ext = target == extra ? std::string(a.get_or("ExtraExten", exten)) : exten;
      auto peer = target->peer.lock();
      target->peer.reset();
      if (peer) peer->peer.reset();
      leave_bridge(*target);
      if (peer && peer != ch && peer != extra) hangup_chan(peer, 16);
      after(target, cfg_.step,
            [this, ctx, ext](const std::shared_ptr<chan>& self) { run_extension(self, ctx, ext); });
    }
    return outcome::done;
  }
  if (n == "Setvar") {
    const std::string var(a.get_or("Variable"));
    if (var.empty()) return error("No variable specified");
    const std::string value(a.get_or("Value"));
    if (channel.empty()) {
      bool found = false;
      for (auto& [k, val] : globals_) {
        if (k == var) {
          val = value;
          found = true;
        }
      }
      if (!found) globals_.emplace_back(var, value);
      return ok("Variable Set");
    }
    auto ch = find(channel);
    if (!ch) return error("No such channel");
    ok("Variable Set");
    set_var(*ch, var, value, true);
    return outcome::done;
  }
  if (n == "Getvar") {
    const std::string var(a.get_or("Variable"));
    if (var.empty()) return error("No variable specified");
    std::string value;
    if (!channel.empty()) {
      auto ch = find(channel);
      if (!ch) return error("No such channel");
      if (var == "CALLERID(num)")
        value = ch->cid_num;
      else if (var == "CALLERID(name)")
        value = ch->cid_name;
      else if (var == "CHANNEL(state)")
        value = state_text(ch->state);
      else if (auto x = variable(channel, var))
        value = *x;
    } else if (auto x = variable("", var)) {
      value = *x;
    }
    c.respond_now(a, {{"Response", "Success"}, {"Variable", var}, {"Value", value}});
    return outcome::done;
  }
  if (n == "ExtensionState") {
    const std::string exten(a.get_or("Exten"));
    const std::string context(a.get_or("Context", "default"));
    const auto* x = find_extension(context, exten);
    std::string hint = x ? x->hint : std::string();
    int status = -1;
    std::string text = "Unknown";
    if (!hint.empty()) {
      const auto s = device_state(hint);
      if (s == "NOT_INUSE")
        status = 0, text = "Idle";
      else if (s == "INUSE")
        status = 1, text = "InUse";
      else if (s == "RINGING")
        status = 8, text = "Ringing";
      else
        status = 4, text = "Unavailable";
    }
    c.respond_now(a, {{"Response", "Success"},
                      {"Message", "Extension Status"},
                      {"Exten", exten},
                      {"Context", context},
                      {"Hint", hint},
                      {"Status", std::to_string(status)},
                      {"StatusText", text}});
    return outcome::done;
  }
  if (n == "MailboxStatus" || n == "MailboxCount") {
    const std::string box(a.get_or("Mailbox"));
    if (box.empty()) return error("Mailbox not specified");
    mailbox m{box, 0, 0, 0};
    for (const auto& x : mailboxes_) {
      if (x.cfg.id == box) m = x.cfg;
    }
    if (n == "MailboxStatus") {
      c.respond_now(a, {{"Response", "Success"},
                        {"Message", "Mailbox Status"},
                        {"Mailbox", box},
                        {"Waiting", m.new_messages > 0 ? "1" : "0"}});
    } else {
      c.respond_now(a, {{"Response", "Success"},
                        {"Message", "Mailbox Message Count"},
                        {"Mailbox", box},
                        {"UrgMessages", std::to_string(m.urgent_messages)},
                        {"NewMessages", std::to_string(m.new_messages)},
                        {"OldMessages", std::to_string(m.old_messages)}});
    }
    return outcome::done;
  }
  if (n == "AbsoluteTimeout") {
    auto ch = find(channel);
    if (!ch) return error("No such channel");
    const double secs = std::atof(std::string(a.get_or("Timeout", "0")).c_str());
    if (!ch->deadline) ch->deadline = std::make_unique<asio::steady_timer>(st_.io_);
    ch->deadline->cancel();
    if (secs > 0) {
      ch->deadline->expires_after(units(secs));
      std::weak_ptr<chan> weak = ch;
      ch->deadline->async_wait([this, weak](boost::system::error_code ec) {
        auto self = weak.lock();
        if (!ec && self && !self->gone) hangup_chan(self, 16);
      });
    }
    return ok("Timeout Set");
  }
  if (n == "PlayDTMF") {
    const std::string digit(a.get_or("Digit"));
    auto ch = find(channel);
    if (!ch) return error("Channel '" + channel + "' not found");
    if (digit.empty()) return error("No digit specified");
    const std::string duration(a.get_or("Duration", "250"));
    ok("DTMF successfully queued");
    auto b = chan_event("DTMFBegin", *ch, "dtmf,all");
    b.emplace_back("Digit", digit.substr(0, 1));
    b.emplace_back("Direction", "Sent");
    emit(std::move(b));
    auto e = chan_event("DTMFEnd", *ch, "dtmf,all");
    e.emplace_back("Digit", digit.substr(0, 1));
    e.emplace_back("DurationMs", duration);
    e.emplace_back("Direction", "Sent");
    emit(std::move(e));
    return outcome::done;
  }
  if (n == "Monitor" || n == "ChangeMonitor" || n == "StopMonitor") {
    if (channel.empty()) return error("No channel specified");
    auto ch = find(channel);
    if (!ch) return error("No such channel");
    if (n == "Monitor") {
      if (ch->monitored) return error("Could not start monitoring channel");
      ch->monitored = true;
      ok("Started monitoring channel");
      emit(chan_event("MonitorStart", *ch));
    } else if (n == "ChangeMonitor") {
      if (!ch->monitored) return error("Could not change monitored filename of channel");
      ok("Changed monitor filename");
    } else {
      if (!ch->monitored) return error("Could not stop monitoring channel");
      ch->monitored = false;
      ok("Stopped monitoring channel");
      emit(chan_event("MonitorStop", *ch));
    }
    return outcome::done;
  }
  if (n == "MixMonitor" || n == "StopMixMonitor") {
    if (channel.empty()) return error("No channel specified");
    auto ch = find(channel);
    if (!ch) return error("No such channel");
    if (n == "MixMonitor") {
      ch->mixmonitor = true;
      char id[32];
      std::snprintf(id, sizeof id, "0x%llx",
                    static_cast<unsigned long long>(0x7f3a10000000ULL + chan_seq_ * 0x40ULL));
      c.respond_now(a, {{"Response", "Success"}, {"MixMonitorID", id}});
      emit(chan_event("MixMonitorStart", *ch));
    } else {
      if (!ch->mixmonitor) return error("Could not stop MixMonitor");
      ch->mixmonitor = false;
      c.respond_now(a, {{"Response", "Success"}});
      emit(chan_event("MixMonitorStop", *ch));
    }
    return outcome::done;
  }
  if (n == "UserEvent") {
    const std::string ue(a.get_or("UserEvent"));
    if (ue.empty()) return error("Missing UserEvent");
    ok("Event Sent");
    field_list f{{"Event", "UserEvent"}, {"Privilege", "user,all"}, {"UserEvent", ue}};
    for (const auto& fld : a) {
      if (iequals(fld.name, "Action") || iequals(fld.name, "ActionID") ||
          iequals(fld.name, "UserEvent")) {
        continue;
      }
      f.emplace_back(std::string(fld.name), std::string(fld.value));
    }
    emit(std::move(f));
    return outcome::done;
  }
  if (n == "Filter") {
    const auto op = a.get_or("Operation", "Add");
    if (!iequals(op, "Add")) return error("Unknown operation");
    std::string expr(a.get_or("Filter"));
    if (expr.empty()) return error("Filter empty");
    const bool exclude = expr.front() == '!';
    if (exclude) expr.erase(0, 1);
    try {
      c.filters_.emplace_back(exclude, std::regex(expr, std::regex::extended));
    } catch (const std::regex_error&) {
      return error("Filter Not Added");
    }
    return ok("Filter Added Successfully");
  }
  if (n == "CoreShowChannels") {
    list_start(c, a, "Channels will follow");
    const auto now = std::chrono::steady_clock::now();
    for (const auto& ch : chans_) {
      field_list f{{"Event", "CoreShowChannel"}};
      if (auto id = a.get("ActionID")) f.emplace_back("ActionID", std::string(*id));
      snapshot(f, *ch);
      f.emplace_back("BridgeId", ch->bridge);
      f.emplace_back("Application", ch->app);
      f.emplace_back("ApplicationData", ch->data);
      f.emplace_back("Duration", duration_text(now - ch->created));
      c.write_fields(f);
    }
    list_complete(c, a, "CoreShowChannelsComplete", chans_.size());
    return outcome::done;
  }
  if (n == "Status") {
    std::vector<std::shared_ptr<chan>> list;
    if (!channel.empty()) {
      auto ch = find(channel);
      if (!ch) return error("No such channel");
      list.push_back(ch);
    } else {
      for (const auto& ch : chans_) list.insert(list.begin(), ch);
    }
    list_start(c, a, "Channel status will follow");
    const auto now = std::chrono::steady_clock::now();
    for (const auto& ch : list) {
      field_list f{{"Event", "Status"}, {"Privilege", "Call"}};
      snapshot(f, *ch);
      f.emplace_back("Type", ch->tech);
      f.emplace_back("DNID", "");
      f.emplace_back("EffectiveConnectedLineNum", ch->con_num);
      f.emplace_back("EffectiveConnectedLineName", ch->con_name);
      long to_hangup = 0;
      if (ch->deadline && ch->deadline->expiry() > now) {
        to_hangup = static_cast<long>(
            std::chrono::duration_cast<std::chrono::seconds>(ch->deadline->expiry() - now).count());
      }
      f.emplace_back("TimeToHangup", std::to_string(to_hangup));
      f.emplace_back("BridgeID", ch->bridge);
      f.emplace_back("Application", ch->app);
      f.emplace_back("Data", ch->data);
      f.emplace_back("Nativeformats", ch->tech == "Local" ? "(slin)" : "(ulaw)");
      f.emplace_back("Readformat", ch->tech == "Local" ? "slin" : "ulaw");
      f.emplace_back("Readtrans", "");
      f.emplace_back("Writeformat", ch->tech == "Local" ? "slin" : "ulaw");
      f.emplace_back("Writetrans", "");
      f.emplace_back("Callgroup", "0");
      f.emplace_back("Pickupgroup", "0");
      f.emplace_back(
          "Seconds",
          std::to_string(
              std::chrono::duration_cast<std::chrono::seconds>(now - ch->created).count()));
      if (auto id = a.get("ActionID")) f.emplace_back("ActionID", std::string(*id));
      c.write_fields(f);
    }
    list_complete(c, a, "StatusComplete", list.size(), true);
    return outcome::done;
  }
  if (n == "QueueStatus") {
    const std::string qfilter(a.get_or("Queue"));
    const std::string mfilter(a.get_or("Member"));
    list_start(c, a, "Queue status will follow");
    std::size_t items = 0;
    const auto id = a.get("ActionID");
    for (const auto& q : queues_) {
      if (!qfilter.empty() && q.cfg.name != qfilter) continue;
      field_list p{{"Event", "QueueParams"},
                   {"Queue", q.cfg.name},
                   {"Max", std::to_string(q.cfg.max)},
                   {"Strategy", q.cfg.strategy},
                   {"Calls", std::to_string(q.callers.size())},
                   {"Holdtime", std::to_string(q.holdtime)},
                   {"TalkTime", std::to_string(q.talktime)},
                   {"Completed", std::to_string(q.completed)},
                   {"Abandoned", std::to_string(q.abandoned)},
                   {"ServiceLevel", "0"},
                   {"ServicelevelPerf", "0.0"},
                   {"ServicelevelPerf2", "0.0"},
                   {"Weight", std::to_string(q.cfg.weight)}};
      if (id) p.emplace_back("ActionID", std::string(*id));
      c.write_fields(p);
      ++items;
      for (const auto& m : q.members) {
        if (!mfilter.empty() && m.cfg.interface != mfilter && m.cfg.name != mfilter) continue;
        field_list f{{"Event", "QueueMember"},
                     {"Queue", q.cfg.name},
                     {"Name", m.cfg.name},
                     {"Location", m.cfg.interface},
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
                     {"PausedReason", m.cfg.paused_reason},
                     {"Wrapuptime", "0"}};
        if (id) f.emplace_back("ActionID", std::string(*id));
        c.write_fields(f);
        ++items;
      }
      int pos = 1;
      for (const auto& w : q.callers) {
        auto ch = w.lock();
        if (!ch) continue;
        field_list e{{"Event", "QueueEntry"},
                     {"Queue", q.cfg.name},
                     {"Position", std::to_string(pos++)},
                     {"Channel", ch->name},
                     {"Uniqueid", ch->uniqueid},
                     {"CallerIDNum", ch->cid_num},
                     {"CallerIDName", ch->cid_name},
                     {"ConnectedLineNum", ch->con_num},
                     {"ConnectedLineName", ch->con_name},
                     {"Wait", std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                                 std::chrono::steady_clock::now() - ch->queue_join)
                                                 .count())},
                     {"Priority", "0"}};
        if (id) e.emplace_back("ActionID", std::string(*id));
        c.write_fields(e);
        ++items;
      }
    }
    list_complete(c, a, "QueueStatusComplete", items);
    return outcome::done;
  }
  if (n == "QueueSummary") {
    const std::string qfilter(a.get_or("Queue"));
    list_start(c, a, "Queue summary will follow");
    std::size_t items = 0;
    for (const auto& q : queues_) {
      if (!qfilter.empty() && q.cfg.name != qfilter) continue;
      int logged = 0, available = 0;
      for (const auto& m : q.members) {
        const int s = member_status(m);
        if (s != 5 && s != 4) ++logged;
        if (s == 1 && !m.cfg.paused) ++available;
      }
      long longest = 0;
      for (const auto& w : q.callers) {
        if (auto ch = w.lock())
          longest = std::max<long>(
              longest, static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(
                                             std::chrono::steady_clock::now() - ch->queue_join)
                                             .count()));
      }
      field_list f{{"Event", "QueueSummary"},
                   {"Queue", q.cfg.name},
                   {"LoggedIn", std::to_string(logged)},
                   {"Available", std::to_string(available)},
                   {"Callers", std::to_string(q.callers.size())},
                   {"HoldTime", std::to_string(q.holdtime)},
                   {"TalkTime", std::to_string(q.talktime)},
                   {"LongestHoldTime", std::to_string(longest)}};
      if (auto id = a.get("ActionID")) f.emplace_back("ActionID", std::string(*id));
      c.write_fields(f);
      ++items;
    }
    list_complete(c, a, "QueueSummaryComplete", items);
    return outcome::done;
  }
  if (n == "QueueAdd" || n == "QueueRemove" || n == "QueuePause") {
    const std::string qname(a.get_or("Queue"));
    const std::string iface(a.get_or("Interface"));
    std::string failure;
    if (n == "QueuePause") {
      if (iface.empty()) return error("Need 'Interface' parameter.");
      const auto paused_text = a.get("Paused");
      if (!paused_text) return error("Need 'Paused' parameter.");
      const bool paused = is_true(*paused_text);
      // The answer goes before the events, as Asterisk's does.
      failure = member_pause(qname, iface, paused, std::string(a.get_or("Reason")), [&] {
        ok(paused ? "Interface paused successfully" : "Interface unpaused successfully");
      });
    } else if (qname.empty()) {
      return error("'Queue' not specified.");
    } else if (iface.empty()) {
      return error("'Interface' not specified.");
    } else if (n == "QueueAdd") {
      queue_member m;
      m.interface = iface;
      m.name = std::string(a.get_or("MemberName", iface));
      m.penalty = std::atoi(std::string(a.get_or("Penalty", "0")).c_str());
      m.paused = is_true(a.get_or("Paused"));
      m.paused_reason = std::string(a.get_or("Reason"));
      m.membership = "dynamic";
      failure = member_add(qname, std::move(m), [&] { ok("Added interface to queue"); });
    } else {
      failure = member_remove(qname, iface, [&] { ok("Removed interface from queue"); });
    }
    if (!failure.empty()) return error(failure);
    return outcome::done;
  }
  if (auto r = flow_action(c, a, n)) return r;
  if (n == "Queues") {
    // Asterisk <= 14 writes the CLI text itself: no Response, no ActionID.
    std::string out;
    const auto lines = cli("queue show");
    for (const auto& line : *lines) {
      out.append(line).append("\r\n");
    }
    out.append("\r\n");
    c.write(std::move(out));
    return outcome::done;
  }
  if (n == "SIPpeers" || n == "IAXpeers") {
    const bool sip = n == "SIPpeers";
    list_start(c, a, "Peer status list will follow");
    std::size_t items = 0;
    for (const auto& e : cfg_.endpoints) {
      if (e.technology != (sip ? "SIP" : "IAX2")) continue;
      const bool dynamic = e.address.empty();
      field_list f{{"Event", "PeerEntry"}};
      // chan_iax2 leaves the ActionID out of its PeerEntry items.
      if (auto id = a.get("ActionID"); id && sip) f.emplace_back("ActionID", std::string(*id));
      f.emplace_back("Channeltype", sip ? "SIP" : "IAX2");
      f.emplace_back("ObjectName", e.name);
      f.emplace_back("ChanObjectType", "peer");
      if (sip) {
        f.emplace_back("IPaddress", dynamic ? "-none-" : e.address);
        f.emplace_back("IPport", std::to_string(e.port));
        f.emplace_back("Dynamic", dynamic ? "yes" : "no");
        f.emplace_back("AutoForcerport", "yes");
        f.emplace_back("Forcerport", "no");
        f.emplace_back("AutoComedia", "no");
        f.emplace_back("Comedia", "no");
        f.emplace_back("VideoSupport", "no");
        f.emplace_back("TextSupport", "no");
        f.emplace_back("ACL", "no");
        f.emplace_back("Status", "Unmonitored");
        f.emplace_back("RealtimeDevice", "no");
        f.emplace_back("Description", e.description);
        f.emplace_back("Accountcode", "");
      } else {
        f.emplace_back("IPaddress", dynamic ? "(null)" : e.address);
        f.emplace_back("IPport", dynamic ? "(null)" : std::to_string(e.port));
        f.emplace_back("Dynamic", dynamic ? "yes" : "no");
        f.emplace_back("Trunk", "no");
        f.emplace_back("Encryption", "no");
        f.emplace_back("Status", "Unmonitored");
        f.emplace_back("Description", e.description);
      }
      c.write_fields(f);
      ++items;
    }
    list_complete(c, a, "PeerlistComplete", items);
    return outcome::done;
  }
  if (n == "SIPshowpeer") {
    const std::string peer(a.get_or("Peer"));
    if (peer.empty()) return error("Peer: <name> missing.");
    const endpoint* e = nullptr;
    for (const auto& x : cfg_.endpoints) {
      if (x.technology == "SIP" && x.name == peer) e = &x;
    }
    if (!e) return error("Peer " + peer + " not found.");
    const bool dynamic = e->address.empty();
    c.respond_now(a, {{"Response", "Success"},
                      {"Channeltype", "SIP"},
                      {"ObjectName", e->name},
                      {"ChanObjectType", "peer"},
                      {"SecretExist", "Y"},
                      {"RemoteSecretExist", "N"},
                      {"MD5SecretExist", "N"},
                      {"Context", e->context},
                      {"Language", ""},
                      {"ToneZone", "<Not set>"},
                      {"AMAflags", "Unknown"},
                      {"CID-CallingPres", "Presentation Allowed, Not Screened"},
                      {"Callgroup", ""},
                      {"Pickupgroup", ""},
                      {"Named Callgroup", ""},
                      {"Named Pickupgroup", ""},
                      {"MOHSuggest", ""},
                      {"VoiceMailbox", ""},
                      {"TransferMode", "open"},
                      {"LastMsgsSent", "0"},
                      {"Maxforwards", "0"},
                      {"Call-limit", "0"},
                      {"Busy-level", "0"},
                      {"MaxCallBR", "384 kbps"},
                      {"Dynamic", dynamic ? "Y" : "N"},
                      {"Callerid", "\"\" <>"},
                      {"RegExpire", "-1 seconds"},
                      {"SIP-AuthInsecure", "no"},
                      {"SIP-Forcerport", "a"},
                      {"SIP-Comedia", "N"},
                      {"ACL", "N"},
                      {"SIP-CanReinvite", "Y"},
                      {"SIP-DirectMedia", "Y"},
                      {"SIP-PromiscRedir", "N"},
                      {"SIP-UserPhone", "N"},
                      {"SIP-VideoSupport", "N"},
                      {"SIP-TextSupport", "N"},
                      {"SIP-T.38Support", "N"},
                      {"SIP-T.38EC", "Unknown"},
                      {"SIP-T.38MaxDtgrm", "4294967295"},
                      {"SIP-Sess-Timers", "Accept"},
                      {"SIP-Sess-Refresh", "uas"},
                      {"SIP-Sess-Expires", "1800"},
                      {"SIP-Sess-Min", "90"},
                      {"SIP-RTP-Engine", "asterisk"},
                      {"SIP-Encryption", "N"},
                      {"SIP-RTCP-Mux", "N"},
                      {"SIP-DTMFmode", "rfc2833"},
                      {"ToHost", ""},
                      {"Address-IP", dynamic ? "(null)" : e->address},
                      {"Address-Port", std::to_string(e->port)},
                      {"Default-addr-IP", "(null)"},
                      {"Default-addr-port", "0"},
                      {"Default-Username", ""},
                      {"Codecs", "(ulaw|gsm)"},
                      {"Status", "Unmonitored"},
                      {"SIP-Useragent", ""},
                      {"Reg-Contact", ""},
                      {"QualifyFreq", "60000 ms"},
                      {"Parkinglot", ""},
                      {"SIP-Use-Reason-Header", "N"},
                      {"Description", e->description}});
    return outcome::done;
  }
  if (n == "PJSIPShowEndpoints") {
    std::vector<const endpoint*> list;
    for (const auto& e : cfg_.endpoints) {
      if (e.technology == "PJSIP") list.push_back(&e);
    }
    if (list.empty()) return error("No endpoints found");
    list_start(c, a, "A listing of Endpoints follows, presented as EndpointList events");
    for (const auto* e : list) {
      const std::string dev = "PJSIP/" + e->name;
      const auto s = device_state(dev);
      std::size_t active = 0;
      for (const auto& ch : chans_) active += ch->device == dev ? 1U : 0U;
      field_list f{{"Event", "EndpointList"}};
      if (auto id = a.get("ActionID")) f.emplace_back("ActionID", std::string(*id));
      f.emplace_back("ObjectType", "endpoint");
      f.emplace_back("ObjectName", e->name);
      f.emplace_back("Transport", "transport-udp");
      f.emplace_back("Aor", e->name);
      f.emplace_back("Auths", e->name);
      f.emplace_back("OutboundAuths", "");
      f.emplace_back("DeviceState", s == "NOT_INUSE" ? "Not in use"
                                    : s == "INUSE"   ? "In use"
                                    : s == "RINGING" ? "Ringing"
                                                     : "Unavailable");
      f.emplace_back("ActiveChannels", std::to_string(active));
      f.emplace_back("Contacts", e->online
                                     ? e->name + "/sip:" + e->name + "@" +
                                           (e->address.empty() ? "127.0.0.1" : e->address) + ":" +
                                           std::to_string(e->port ? e->port : 5060) + ","
                                     : "");
      c.write_fields(f);
    }
    list_complete(c, a, "EndpointListComplete", list.size());
    return outcome::done;
  }
  return std::nullopt;
}

}  // namespace ami::testing::detail
