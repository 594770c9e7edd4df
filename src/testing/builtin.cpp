// Built-in actions of the simulated Asterisk: login, challenge, ping, events, command...
#include "ami/proto/md5.hpp"
#include "server_state.hpp"
#include "sim_actions.hpp"

#include <boost/asio/steady_timer.hpp>

#include <cctype>
#include <cstdio>
#include <ctime>
#include <random>

namespace ami::testing::detail {

namespace {

struct class_name {
  std::string_view name;
  std::uint32_t bit;
};

constexpr class_name class_names[] = {
    {"system", priv::system},
    {"call", priv::call},
    {"log", priv::log},
    {"verbose", priv::verbose},
    {"command", priv::command},
    {"agent", priv::agent},
    {"user", priv::user},
    {"config", priv::config},
    {"dtmf", priv::dtmf},
    {"reporting", priv::reporting},
    {"cdr", priv::cdr},
    {"dialplan", priv::dialplan},
    {"originate", priv::originate},
    {"agi", priv::agi},
    {"cc", priv::cc},
    {"aoc", priv::aoc},
    {"test", priv::test},
    {"security", priv::security},
    {"message", priv::message},
};

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool is_true(std::string_view v) noexcept {
  return iequals(v, "on") || iequals(v, "yes") || iequals(v, "true") || iequals(v, "y") ||
         iequals(v, "t") || v == "1";
}

bool is_false(std::string_view v) noexcept {
  return iequals(v, "off") || iequals(v, "no") || iequals(v, "false") || iequals(v, "n") ||
         iequals(v, "f") || v == "0";
}

std::uint32_t class_list(std::string_view list, bool all_counts) noexcept {
  std::uint32_t bits = 0;
  while (!list.empty()) {
    const auto comma = list.find(',');
    const auto item = trim(list.substr(0, comma));
    if (iequals(item, "all")) {
      if (all_counts) bits = priv::all;
    } else {
      for (const auto& c : class_names) {
        if (iequals(item, c.name)) bits |= c.bit;
      }
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return bits;
}

std::mt19937& rng() {
  thread_local std::mt19937 gen{std::random_device{}()};
  return gen;
}

std::string iso_now() {
  const auto now = std::chrono::system_clock::now();
  const auto t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+0000", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

std::string session_id_text(const connection& c) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx",
                static_cast<unsigned long long>(0x7f4958000000ULL + c.id_ * 0x1a0ULL));
  return buf;
}

void security_event(server_state& st, connection& c, std::string_view name, field_list extra) {
  if (!st.opts_.security_events || st.version_.major < 2) return;
  const auto tv = iso_now();
  field_list f{{"Event", std::string(name)},
               {"Privilege", "security,all"},
               {"EventTV", tv},
               {"Severity", iequals(name, "SuccessfulAuth") ? "Informational" : "Error"},
               {"Service", "AMI"},
               {"EventVersion", "1"},
               {"AccountID", c.username_},
               {"SessionID", session_id_text(c)},
               {"LocalAddress", c.local_endpoint_},
               {"RemoteAddress", c.remote_endpoint_}};
  for (auto& e : extra) f.push_back(std::move(e));
  f.emplace_back("SessionTV", tv);
  st.broadcast(f);
}

// --- Login and friends ------------------------------------------------------------------

void finish_login_failure(connection& c, const ami::message& action) {
  c.respond_now(action, {{"Response", "Error"}, {"Message", "Authentication failed"}});
  c.close_after_flush();
}

outcome do_login(server_state& st, connection& c, const ami::message& a) {
  if (c.logged_in_) {
    c.respond_now(a, {{"Response", "Success"}, {"Message", "Already authenticated"}});
    return outcome::done;
  }
  const auto name = a.get_or("Username");
  const user* u = st.find_user(name);
  bool ok = false;
  if (u) {
    if (iequals(a.get_or("AuthType"), "md5")) {
      ok = !c.challenge_.empty() &&
           iequals(a.get_or("Key"), ami::proto::md5_login_key(c.challenge_, u->secret));
    } else {
      ok = a.get_or("Secret") == u->secret;
    }
  }
  if (!ok) {
    if (st.opts_.login_failure_delay.count() <= 0) {
      finish_login_failure(c, a);
      return outcome::done;
    }
    auto timer = std::make_shared<asio::steady_timer>(st.io_, st.opts_.login_failure_delay);
    timer->async_wait(
        [timer, self = c.shared_from_this(), action = a](boost::system::error_code ec) {
          if (ec || self->closed()) return;
          finish_login_failure(*self, action);
          self->resume();
        });
    return outcome::pending;
  }
  {
    std::lock_guard<std::mutex> lock(c.name_mutex_);
    c.username_ = u->username;
  }
  c.read_perm_ = class_list(u->read, true);
  c.write_perm_ = class_list(u->write, true);
  if (auto ev = a.get("Events")) c.event_mask_ = parse_event_mask(*ev);
  c.logged_in_ = true;
  std::string out = serialize_fields(
      with_action_id(a, {{"Response", "Success"}, {"Message", "Authentication accepted"}}));
  const bool booted = st.version_.major >= 2 && (c.event_mask_ & priv::system) != 0 &&
                      (c.read_perm_ & priv::system) != 0;
  if (booted) {
    const auto up = std::to_string(st.uptime_seconds());
    append_fields(out, {{"Event", "FullyBooted"},
                        {"Privilege", "system,all"},
                        {"Uptime", up},
                        {"LastReload", up},
                        {"Status", "Fully Booted"}});
  }
  c.write(std::move(out));
  if (booted) c.event_queued();  // FullyBooted counts as one of the session's events
  st.on_login(c);
  security_event(st, c, "SuccessfulAuth", {{"UsingPassword", "0"}});
  return outcome::done;
}

outcome do_challenge(server_state&, connection& c, const ami::message& a) {
  if (!iequals(a.get_or("AuthType"), "md5")) {
    c.respond_now(a, {{"Response", "Error"}, {"Message", "Must specify AuthType"}});
    return outcome::done;
  }
  if (c.challenge_.empty()) {
    std::uniform_int_distribution<long> dist(100000000L, 999999999L);
    c.challenge_ = std::to_string(dist(rng()));
  }
  c.respond_now(a, {{"Response", "Success"}, {"Challenge", c.challenge_}});
  return outcome::done;
}

outcome do_logoff(server_state&, connection& c, const ami::message& a) {
  c.respond_now(a, {{"Response", "Goodbye"}, {"Message", "Thanks for all the fish."}});
  c.close_after_flush();
  return outcome::done;
}

outcome do_ping(server_state&, connection& c, const ami::message& a) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
  char ts[48];
  std::snprintf(ts, sizeof ts, "%lld.%06lld", static_cast<long long>(us / 1000000),
                static_cast<long long>(us % 1000000));
  c.respond_now(a, {{"Response", "Success"}, {"Ping", "Pong"}, {"Timestamp", ts}});
  return outcome::done;
}

outcome do_events(server_state&, connection& c, const ami::message& a) {
  c.event_mask_ = parse_event_mask(a.get_or("EventMask"));
  c.respond_now(a, {{"Response", "Success"}, {"Events", c.event_mask_ != 0 ? "On" : "Off"}});
  return outcome::done;
}

outcome do_command(server_state& st, connection& c, const ami::message& a) {
  const auto cmd = std::string(trim(a.get_or("Command")));
  auto lines = cli_command(st, cmd);
  const bool known = lines.has_value();
  if (!known) {
    lines = std::vector<std::string>{"No such command '" + cmd + "' (type 'core show help " + cmd +
                                     "' for other possible commands)"};
  }
  if (st.version_ < ami::proto::version{2, 8, 0}) {
    // Asterisk <= 13: raw text with bare LF line ends and an end marker; the ActionID
    // comes after Privilege.
    std::string out = "Response: Follows\r\nPrivilege: Command\r\n";
    if (auto id = a.get("ActionID")) {
      out.append("ActionID: ").append(*id).append("\r\n");
    }
    for (const auto& l : *lines) out.append(l).append("\n");
    out.append("--END COMMAND--\r\n\r\n");
    c.write(std::move(out));
    return outcome::done;
  }
  field_list f{{"Response", known ? "Success" : "Error"}, {"Message", "Command output follows"}};
  for (auto& l : *lines) f.emplace_back("Output", std::move(l));
  c.respond_now(a, std::move(f));
  return outcome::done;
}

}  // namespace

std::uint32_t parse_privileges(std::string_view list) noexcept { return class_list(list, true); }

std::uint32_t parse_event_mask(std::string_view value) noexcept {
  value = trim(value);
  if (value.empty() || is_true(value)) return value.empty() ? 0 : priv::all;
  if (is_false(value)) return 0;
  bool digits = true;
  for (char ch : value) digits = digits && std::isdigit(static_cast<unsigned char>(ch));
  if (digits) {
    std::uint32_t n = 0;
    for (char ch : value) n = n * 10U + static_cast<std::uint32_t>(ch - '0');
    return n;
  }
  return class_list(value, true);
}

std::uint32_t event_category(std::string_view privilege) noexcept {
  return class_list(privilege, false);
}

std::string random_digits() {
  std::uniform_int_distribution<long> dist(100000000L, 999999999L);
  return std::to_string(dist(rng()));
}

std::string now_iso8601() { return iso_now(); }

void send_security_event(server_state& st, connection& c, std::string_view name, field_list extra) {
  security_event(st, c, name, std::move(extra));
}

std::string asterisk_release(const ami::proto::version& v) {
  using ami::proto::version;
  if (v >= version{13, 0, 0}) return "GIT-master-sim";
  if (v >= version{11, 0, 0}) return "22.1.0";
  if (v >= version{9, 0, 0}) return "20.11.0";
  if (v >= version{7, 0, 0}) return "18.26.0";
  if (v >= version{5, 0, 0}) return "16.30.0";
  if (v >= version{2, 8, 0}) return "14.7.8";
  if (v >= version{2, 5, 0}) return "13.38.3";
  if (v >= version{1, 3, 0}) return "11.25.3";
  if (v >= version{1, 1, 0}) return "1.8.32.3";
  return "1.4.44";
}

outcome server_state::builtin(connection& c, const ami::message& action) {
  const auto name = action.get("Action");
  if (!name || trim(*name).empty()) {
    c.respond_now(action, {{"Response", "Error"}, {"Message", "Missing action in request"}});
    return outcome::done;
  }
  const auto n = trim(*name);
  if (iequals(n, "Login")) return do_login(*this, c, action);
  if (iequals(n, "Challenge")) return do_challenge(*this, c, action);
  if (iequals(n, "Logoff")) return do_logoff(*this, c, action);
  if (!c.logged_in_) {
    c.respond_now(action, {{"Response", "Error"}, {"Message", "Permission denied"}});
    return outcome::done;
  }
  if (iequals(n, "Ping")) return do_ping(*this, c, action);
  if (iequals(n, "Events")) return do_events(*this, c, action);
  if (iequals(n, "Command")) {
    if ((c.write_perm_ & priv::command) == 0) return deny(*this, c, action);
    return do_command(*this, c, action);
  }
  if (auto r = sim_action(*this, c, action)) return *r;
  c.respond_now(action,
                {{"Response", "Error"},
                 {"Message", "Invalid/unknown command: " + std::string(n) +
                                 ". Use Action: ListCommands to show available commands."}});
  return outcome::done;
}

outcome deny(server_state& st, connection& c, const ami::message& action) {
  c.respond_now(action, {{"Response", "Error"}, {"Message", "Permission denied"}});
  send_security_event(st, c, "RequestNotAllowed",
                      {{"RequestType", "Action: " + std::string(action.get_or("Action"))}});
  return outcome::done;
}

}  // namespace ami::testing::detail
