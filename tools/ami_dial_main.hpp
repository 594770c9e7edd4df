// ami-dial: click-to-dial. Rings an agent's phone and, once the agent answers, sends the
// call to a number (Originate with Async: true), following the call's events to show how
// it goes. The whole program is run_dial(), so that tests can run it in-process with their
// own streams and environment.
#pragma once

#include "args.hpp"
#include "demo_pbx.hpp"
#include "json.hpp"
#include "tls_options.hpp"

#include "ami/client.hpp"
#include "ami/config.hpp"
#include "ami/error.hpp"
#include "ami/message.hpp"
#include "ami/originate.hpp"
#include "ami/testing/pbx.hpp"
#include "ami/testing/server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/signals2/connection.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ami::tools::dial {

constexpr int exit_answered = 0;
constexpr int exit_other = 1;       // usage error, no OriginateResponse in time, interrupted
constexpr int exit_connection = 2;  // cannot connect or log in, or the connection was lost
constexpr int exit_busy = 3;
constexpr int exit_no_answer = 4;
constexpr int exit_failed = 5;  // congestion, failure (no such extension), Originate refused

constexpr const char* usage_text =
    "Usage: ami-dial [OPTIONS] --from AGENT_CHANNEL --to NUMBER\n"
    "\n"
    "Click-to-dial: rings the agent's phone (AGENT_CHANNEL, e.g. PJSIP/100) and, once the\n"
    "agent answers, sends the call to NUMBER in the dialplan (Originate with Async: true,\n"
    "Context/Exten = the number, Priority 1). Progress comes from the call's events\n"
    "(Newchannel, Newstate, DialBegin/DialEnd, BridgeEnter, Hangup); the outcome from the\n"
    "OriginateResponse event.\n"
    "\n"
    "Options:\n"
    "  --url URL          ami://user:secret@host:port[?auth=md5&...] (default: $AMI_URL;\n"
    "                     a URL without a secret takes $AMI_SECRET)\n"
    "  --from CHANNEL     the agent's channel, called first\n"
    "  --to NUMBER        the number (extension) the answered call is sent to\n"
    "  --context CTX      dialplan context of the number (default: default)\n"
    "  --caller-id TEXT   caller ID shown on the agent's phone, e.g. \"Sales <100>\"\n"
    "  --var K=V          a channel variable (repeatable)\n"
    "  --timeout S        how long the agent's phone may ring, in seconds (default 30)\n"
    "  --follow S         after the answer, how long to wait for the bridge (default 2;\n"
    "                     longer while the number rings; 0 stops at the answer)\n"
    "  --tls-ca FILE      CA certificates (PEM) that verify an amis:// server (default:\n"
    "                     the system's trust store)\n"
    "  --tls-cert FILE    client certificate (PEM), for servers that require one\n"
    "  --tls-key FILE     its private key (PEM; default: read from the --tls-cert file)\n"
    "  --tls-insecure     do not verify the server's certificate (warns; for tests only)\n"
    "  --json             print the outcome as one JSON object instead of text\n"
    "  --demo             dial on an embedded simulated PBX (default --from PJSIP/100\n"
    "                     --to 200; phone 101 is busy, 102 does not answer, 103 is congested)\n"
    "  -h, --help         print this help\n"
    "\n"
    "Exit status: 0 answered, 1 usage error or anything else, 2 connection or login error,\n"
    "3 busy, 4 no answer, 5 congestion or failure (no such extension, Originate refused).\n"
    "The secret is never printed.\n";

// Looks an environment variable up (std::getenv in the program, a map in tests).

struct run_options {
  // Stops on SIGINT and SIGTERM. The program sets it; in-process tests leave it off.
  bool handle_signals = false;
};

// The PBX of --demo, also written out as ami-sim's configuration by scripts/demo: phones
// PJSIP/100 (answers), 101 (busy), 102 (never answers), 103 (congestion) and 200 (answers);
// extension 200 rings phone 200 and bridges the two; 300 is an echo test.
inline ami::testing::pbx_config demo_pbx() {
  using ami::testing::behaviour;
  const auto phone = [](std::string name, behaviour b, std::string description) {
    ami::testing::endpoint e;
    e.name = std::move(name);
    e.answer = b;
    e.description = std::move(description);
    return e;
  };
  ami::testing::pbx_config p;
  p.endpoints = {phone("100", behaviour::answer, "Agent desk 100"),
                 phone("101", behaviour::busy, "Agent desk 101 (busy)"),
                 phone("102", behaviour::no_answer, "Agent desk 102 (away)"),
                 phone("103", behaviour::congestion, "Agent desk 103 (congested)"),
                 phone("200", behaviour::answer, "Sales desk 200")};
  ami::testing::extension sales;
  sales.exten = "200";
  sales.action = behaviour::dial;
  sales.argument = "PJSIP/200";
  sales.hint = "PJSIP/200";
  ami::testing::extension echo;
  echo.exten = "300";
  echo.action = behaviour::echo;
  p.extensions = {sales, echo};
  p.time_unit = std::chrono::milliseconds(1000);  // simulated seconds are real ones
  p.step = std::chrono::milliseconds(150);        // slow enough to see the call progress
  return p;
}

namespace detail {

struct options {
  std::optional<std::string> url;
  tls_options tls;
  std::string from, to, context = "default", caller_id;
  std::vector<std::pair<std::string, std::string>> vars;
  double timeout_seconds = 30;
  double follow_seconds = 2;
  bool json = false;
  bool demo = false;
  bool help = false;
};

// Parses the command line; on a usage error returns its one-line text.
inline std::optional<std::string> parse_args(const std::vector<std::string>& args, options& o) {
  const auto usage_error = parse_command_line(args, o.help, [&](arg_cursor& a) {
    const std::string& arg = a.arg();
    std::string& value = a.value;
    std::optional<std::string>& problem = a.problem;
    const auto option = [&a](std::string_view name) { return a.option(name); };
    if (arg == "--json") {
      o.json = true;
    } else if (arg == "--demo") {
      o.demo = true;
    } else if (parse_tls_option(args, a.i, o.tls, problem)) {
    } else if (option("--url")) {
      o.url = value;
    } else if (option("--from")) {
      o.from = value;
    } else if (option("--to")) {
      o.to = value;
    } else if (option("--context")) {
      o.context = value;
    } else if (option("--caller-id")) {
      o.caller_id = value;
    } else if (option("--var")) {
      const auto eq = value.find('=');
      if (!problem && (eq == std::string::npos || eq == 0)) {
        problem = "--var wants NAME=VALUE, not '" + value + "'";
      } else if (!problem) {
        o.vars.emplace_back(value.substr(0, eq), value.substr(eq + 1));
      }
    } else if (option("--timeout")) {
      if (!problem && !parse_seconds(value, o.timeout_seconds)) {
        problem = "--timeout needs a positive number of seconds";
      }
    } else if (option("--follow")) {
      if (!problem && !parse_seconds(value, o.follow_seconds, true)) {
        problem = "--follow needs a number of seconds (0 or more)";
      }
    } else {
      return false;
    }
    return true;
  });
  if (usage_error || o.help) return usage_error;
  if (o.demo && o.url) return std::string("--demo dials on its own PBX: drop --url");
  if (o.demo && o.tls.any()) return std::string("--demo dials on its own PBX: drop --tls-*");
  if (o.demo) {
    if (o.from.empty()) o.from = "PJSIP/100";
    if (o.to.empty()) o.to = "200";
  }
  if (o.from.empty()) return std::string("--from is required (the agent's channel)");
  if (o.to.empty()) return std::string("--to is required (the number to call)");
  if (o.context.empty()) return std::string("--context needs a value");
  return std::nullopt;
}

// The config from the URL (--url, else AMI_URL), the secret from AMI_SECRET if the URL has
// none.
inline std::optional<std::string> make_config(const options& o, const env_lookup& env,
                                              config& cfg) {
  if (auto problem =
          config_from_url(o.url, env, "no server: give --url, set AMI_URL, or use --demo", cfg)) {
    return problem;
  }
  return std::nullopt;
}

inline std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

inline double seconds_between(std::chrono::steady_clock::time_point a,
                              std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Follows one click-to-dial call through its events. The agent's channel is recognised by
// its name (the Originate's channel plus "-suffix") on Newchannel, then by name or
// Uniqueid; the second leg and the bridge by the agent's channel, Uniqueid and Linkedid.
class call_tracker {
 public:
  using say_fn = std::function<void(const std::string&)>;

  call_tracker(std::string from, std::string number, say_fn say)
      : prefix_(std::move(from) + "-"), number_(std::move(number)), say_(std::move(say)) {}

  void handle(const event& e) {
    const std::string_view name = e.name();
    const std::string_view channel = e.get_or("Channel");
    const std::string_view uid = e.get_or("Uniqueid");
    if (iequals(name, "Newchannel")) {
      if (agent_.empty() && channel.substr(0, prefix_.size()) == prefix_) {
        agent_ = std::string(channel);
        agent_uid_ = std::string(uid);
        linkedid_ = std::string(e.get_or("Linkedid", uid));
        say_("dialing " + agent_);
      }
      return;
    }
    if (agent_.empty()) return;
    const bool mine = is_agent(channel, uid);
    const bool mine_as_dest = is_agent(e.get_or("DestChannel"), e.get_or("DestUniqueid"));
    if (iequals(name, "Newstate") && mine) {
      const std::string_view state = e.get_or("ChannelState");
      const std::string_view desc = e.get_or("ChannelStateDesc");
      if ((state == "5" || iequals(desc, "Ringing")) && !ringing_) {
        ringing_ = true;
        say_("ringing " + agent_);
      } else if ((state == "6" || iequals(desc, "Up")) && !answered_) {
        answered_ = true;
        say_("answered " + agent_);
      }
    } else if (iequals(name, "DialBegin") && mine) {
      number_channel_ = std::string(e.get_or("DestChannel"));
      number_dialing_ = true;
      say_("calling " + number_ + (number_channel_.empty() ? "" : " (" + number_channel_ + ")"));
    } else if (iequals(name, "DialEnd") && mine) {
      number_dialing_ = false;
      const std::string status(e.get_or("DialStatus"));
      if (iequals(status, "ANSWER")) {
        say_(number_ + " answered");
      } else {
        number_failed_ = true;
        say_(number_ + ": " + (status.empty() ? std::string("no answer") : status));
      }
    } else if (iequals(name, "DialEnd") && mine_as_dest) {
      const std::string status(e.get_or("DialStatus"));
      if (!iequals(status, "ANSWER")) say_(agent_ + ": " + status);
    } else if (iequals(name, "Newexten") && mine && (answered_ || ringing_)) {
      const std::string_view app = e.get_or("Application");
      if (app.substr(0, 7) == "AppDial") return;  // the outgoing leg's placeholder
      std::string where = std::string(e.get_or("Exten")) + "@" + std::string(e.get_or("Context"));
      std::string step = std::string(app) + "(" + std::string(e.get_or("AppData")) + ")";
      if (step == last_step_ && where == last_where_) return;
      last_step_ = step;
      last_where_ = where;
      say_("dialplan " + where + ": " + step);
    } else if (iequals(name, "BridgeEnter")) {
      // The call's channels share the agent's Linkedid, also after a Local channel was
      // optimised away and the agent's phone took its place in the bridge.
      const std::string bridge(e.get_or("BridgeUniqueid"));
      auto& members = bridges_[bridge];
      members.insert(std::string(channel));
      if (mine || (!linkedid_.empty() && e.get_or("Linkedid") == linkedid_)) {
        our_bridges_.insert(bridge);
      }
      if (!bridged_ && our_bridges_.count(bridge) != 0 && members.size() >= 2) {
        for (const auto& m : members) {
          if (m != agent_) peer_ = m;
        }
        bridged_ = true;
        say_("bridged " + agent_ + " <-> " + peer_);
      }
    } else if (iequals(name, "BridgeLeave")) {
      bridges_[std::string(e.get_or("BridgeUniqueid"))].erase(std::string(channel));
    } else if (iequals(name, "Hangup") && mine) {
      hung_up_ = true;
      std::string why(e.get_or("Cause-txt"));
      const std::string cause(e.get_or("Cause"));
      hangup_cause_ = std::atoi(cause.c_str());
      if (why.empty()) {
        why = "cause " + cause;
      } else if (!cause.empty()) {
        why += " (cause " + cause + ")";
      }
      say_("hung up " + agent_ + ": " + why);
    }
  }

  // Nothing more to wait for: bridged, the agent hung up, or the number failed.
  bool settled() const noexcept { return bridged_ || hung_up_ || number_failed_; }
  // The agent answered and the number is being called.
  bool number_dialing() const noexcept { return number_dialing_; }
  bool bridged() const noexcept { return bridged_; }
  const std::string& peer() const noexcept { return peer_; }
  // The answered agent was hung up because the number does not exist in the dialplan
  // (cause 1, unallocated number, or 3, no route), before any bridge.
  bool number_unknown() const noexcept {
    return hung_up_ && !bridged_ && (hangup_cause_ == 1 || hangup_cause_ == 3);
  }

 private:
  bool is_agent(std::string_view channel, std::string_view uid) const {
    return (!channel.empty() && channel == agent_) || (!uid.empty() && uid == agent_uid_);
  }

  std::string prefix_;
  std::string number_;
  say_fn say_;
  std::string agent_, agent_uid_, linkedid_;
  std::string number_channel_;
  std::string peer_;
  std::map<std::string, std::set<std::string>> bridges_;  // bridge id -> channels in it
  std::set<std::string> our_bridges_;                     // bridges the call's channels entered
  std::string last_step_, last_where_;
  bool ringing_ = false;
  bool answered_ = false;
  bool number_dialing_ = false;
  bool number_failed_ = false;
  bool bridged_ = false;
  bool hung_up_ = false;
  int hangup_cause_ = 0;
};

inline int exit_code_of(originate_outcome o) noexcept {
  switch (o) {
    case originate_outcome::answered: return exit_answered;
    case originate_outcome::busy: return exit_busy;
    case originate_outcome::no_answer: return exit_no_answer;
    case originate_outcome::congestion:
    case originate_outcome::failure: return exit_failed;
  }
  return exit_other;
}

// What the run ended with, printed as text or JSON.
struct outcome_report {
  std::string outcome;  // answered, busy, no_answer, congestion, failure, refused, timeout,
                        // interrupted, error
  std::optional<int> reason;
  std::string response;  // OriginateResponse's Response
  std::string channel, uniqueid;
  std::string message;  // the server's Message (refused) or the error's text
  std::optional<double> seconds;
  bool bridged = false;
  std::string peer;
};

inline void print_json(std::ostream& out, const options& o, const outcome_report& r) {
  boost::json::object doc;
  doc["outcome"] = json_string(r.outcome);
  doc["reason"] = r.reason ? boost::json::value(*r.reason) : nullptr;
  if (!r.response.empty()) doc["response"] = json_string(r.response);
  doc["from"] = json_string(o.from);
  doc["to"] = json_string(o.to);
  doc["context"] = json_string(o.context);
  if (!r.channel.empty()) doc["channel"] = json_string(r.channel);
  if (!r.uniqueid.empty()) doc["uniqueid"] = json_string(r.uniqueid);
  if (!r.message.empty()) doc["message"] = json_string(r.message);
  doc["bridged"] = r.bridged;
  if (!r.peer.empty()) doc["peer"] = json_string(r.peer);
  if (r.seconds) doc["seconds"] = json_rounded(*r.seconds, 3);
  out << json_text(doc) << std::endl;
}

inline void print_text(std::ostream& out, const outcome_report& r) {
  out << "outcome: ";
  if (r.outcome == "answered") {
    out << "answered";
    if (r.seconds) out << " in " << fixed(*r.seconds, 2) << " s";
    out << ": " << r.channel;
    if (!r.uniqueid.empty()) out << " (Uniqueid " << r.uniqueid << ")";
    if (r.bridged) out << ", bridged with " << r.peer;
  } else if (r.reason) {
    std::string what = r.outcome;
    if (what == "no_answer") what = "no answer";
    if (what == "failure") what = "failed";
    out << what << ": " << r.channel << " (Reason " << *r.reason;
    if (!r.message.empty()) {
      out << ", " << r.message;
    } else if (*r.reason == 0) {
      out << ", no such channel or extension";
    } else if (*r.reason == 1) {
      out << ", hung up before the answer";
    }
    out << ")";
    if (r.seconds) out << " after " << fixed(*r.seconds, 2) << " s";
  } else {
    out << r.outcome;
    if (!r.message.empty()) out << ": " << r.message;
  }
  out << std::endl;
}

}  // namespace detail

// The program: args are argv[1..]. Prints progress and the outcome to `out` (only the JSON
// object with --json), problems to `err`.
inline int run_dial(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                    const env_lookup& env, const run_options& run = {}) {
  detail::options o;
  if (const auto problem = detail::parse_args(args, o)) {
    err << "ami-dial: " << *problem << " (ami-dial --help for usage)\n";
    return exit_other;
  }
  if (o.help) {
    out << usage_text;
    return exit_answered;
  }

  // --demo: the simulated PBX runs on its own thread for the length of the call.
  std::optional<ami::testing::server> demo;
  config cfg;
  if (o.demo) {
    if (!start_demo_pbx(demo, demo_pbx(), err, "ami-dial")) return exit_connection;
    cfg = config::from_url(demo->url());
  } else if (const auto problem = detail::make_config(o, env, cfg)) {
    err << "ami-dial: " << *problem << '\n';
    return exit_other;
  } else if (const auto tls_problem = apply_tls_options(o.tls, cfg, err, "ami-dial")) {
    err << "ami-dial: " << *tls_problem << '\n';
    return exit_other;
  }
  // The OriginateResponse and the progress are events, whatever the URL asked for.
  cfg.events = "on";

  originate_request req;
  req.channel = o.from;
  req.context = o.context;
  req.exten = o.to;
  req.priority = "1";
  req.caller_id = o.caller_id;
  req.variables = o.vars;
  req.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(o.timeout_seconds * 1000));

  using clock = std::chrono::steady_clock;
  boost::asio::io_context io;
  client c{io};
  clock::time_point sent = clock::now();
  const auto say = [&](const std::string& text) {
    if (o.json) return;
    out << "  " << detail::fixed(detail::seconds_between(sent, clock::now()), 3) << "s  " << text
        << std::endl;
  };
  detail::call_tracker tracker(o.from, o.to, say);

  std::optional<boost::system::error_code> connect_ec;
  std::optional<std::pair<boost::system::error_code, originate_result>> call;
  clock::time_point answered_at{};
  bool finished = false;
  bool following = false;
  bool extended = false;
  bool interrupted = false;
  boost::asio::steady_timer follow_timer(io);
  std::optional<boost::asio::signal_set> signals;

  const auto finish = [&] {
    if (finished) return;
    finished = true;
    follow_timer.cancel();
    if (signals) signals->cancel();
    c.close();
  };
  const auto follow_for = [&](std::chrono::milliseconds d) {
    follow_timer.expires_after(d);
    follow_timer.async_wait([&](boost::system::error_code ec) {
      if (!ec) finish();  // a re-arm cancels the previous wait
    });
  };
  const auto ms = [](double seconds) {
    return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
  };

  boost::signals2::scoped_connection events = c.on_event([&](const event& e) {
    if (finished) return;
    tracker.handle(e);
    if (!following) return;
    if (tracker.settled()) {
      finish();
    } else if (tracker.number_dialing() && !extended) {
      // The number rings: wait for its answer as long as the agent's phone could ring.
      extended = true;
      follow_for(ms(o.timeout_seconds + o.follow_seconds));
    }
  });

  if (!o.json) {
    out << "ami-dial: " << o.from << " -> " << o.to << '@' << o.context << " via " << cfg.redacted()
        << (o.demo ? " (demo PBX)" : "") << std::endl;
  }
  c.async_connect(cfg, [&](boost::system::error_code ec) {
    connect_ec = ec;
    if (ec) {
      finish();
      return;
    }
    sent = clock::now();
    say("originate " + o.from + ", then " + o.to + "@" + o.context);
    c.async_originate(req, [&](boost::system::error_code call_ec, originate_result r) {
      if (finished) return;
      answered_at = clock::now();
      call.emplace(call_ec, std::move(r));
      if (!call_ec && o.follow_seconds > 0 && !tracker.settled()) {
        following = true;
        follow_for(
            ms(tracker.number_dialing() ? o.timeout_seconds + o.follow_seconds : o.follow_seconds));
        extended = tracker.number_dialing();
        return;
      }
      finish();
    });
  });
  if (run.handle_signals) {
    signals.emplace(io, SIGINT, SIGTERM);
    signals->async_wait([&](boost::system::error_code ec, int) {
      if (ec || finished) return;
      interrupted = true;
      say("interrupted (the call goes on in the PBX)");
      finish();
    });
  }
  io.run();

  detail::outcome_report report;
  int status = exit_other;
  if (interrupted && !call) {
    report.outcome = "interrupted";
  } else if (!connect_ec || *connect_ec) {
    report.outcome = "error";
    report.message = "cannot log in to " + cfg.redacted() + ": " +
                     (connect_ec ? connect_ec->message() : std::string("no answer"));
    if (const std::string why = c.last_error_message(); !why.empty()) {
      report.message += " (" + why + ")";
    }
    err << "ami-dial: " << report.message << '\n';
    status = exit_connection;
  } else if (!call) {
    report.outcome = "error";
    report.message = "the call was abandoned";
  } else {
    const boost::system::error_code ec = call->first;
    const originate_result& r = call->second;
    if (!ec || ec == error::originate_failed) {
      report.outcome = ami::to_string(r.outcome);
      report.reason = r.reason;
      if (const event* ev = r.event()) report.response = std::string(ev->get_or("Response"));
      report.channel = r.channel;
      report.uniqueid = r.uniqueid;
      report.seconds = detail::seconds_between(sent, answered_at);
      report.bridged = tracker.bridged();
      report.peer = tracker.peer();
      status = detail::exit_code_of(r.outcome);
      if (r.outcome == originate_outcome::answered && tracker.number_unknown()) {
        // Servers that do not check the number before the Originate (the simulator, some
        // Asterisk versions) answer the agent, then hang up: the call failed all the same.
        report.outcome = ami::to_string(originate_outcome::failure);
        report.message = "no such extension: " + o.to + "@" + o.context;
        status = exit_failed;
      }
    } else if (ec == error::action_failed) {
      // The server would not place the call ("Extension does not exist.", "Permission
      // denied", ...): the call failed before it started.
      report.outcome = "refused";
      report.message = std::string(r.response.message_text());
      err << "ami-dial: Originate refused: " << report.message << '\n';
      status = exit_failed;
    } else if (ec == error::action_timeout) {
      report.outcome = "timeout";
      report.message = "no OriginateResponse in time";
      err << "ami-dial: " << report.message << '\n';
    } else {
      report.outcome = "error";
      report.message = ec.message();
      err << "ami-dial: " << ec.message() << '\n';
      if (ec == error::connection_lost) status = exit_connection;
    }
  }
  if (o.json) {
    detail::print_json(out, o, report);
  } else {
    detail::print_text(out, report);
  }
  return status;
}

}  // namespace ami::tools::dial
