// ami-events: a live monitor of an Asterisk Manager Interface server's events, as compact
// lines, JSON lines or per-second rates. The whole program is run_events(), so that tests can
// run it in-process with their own streams and environment.
#pragma once

#include "args.hpp"
#include "clock_text.hpp"
#include "demo_pbx.hpp"
#include "json.hpp"
#include "tls_options.hpp"

#include "ami/client.hpp"
#include "ami/config.hpp"
#include "ami/connection_state.hpp"
#include "ami/detail/glob.hpp"
#include "ami/error.hpp"
#include "ami/message.hpp"
#include "ami/testing/pbx.hpp"
#include "ami/testing/server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/signals2/connection.hpp>
#include <boost/system/error_code.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ami::tools::events {

constexpr int exit_ok = 0;
constexpr int exit_other = 1;       // usage error
constexpr int exit_connection = 2;  // cannot connect or log in

constexpr const char* usage_text =
    "Usage: ami-events [OPTIONS]\n"
    "\n"
    "Prints the events of an Asterisk Manager Interface server as they arrive: one line per\n"
    "event (local time, name, a few key headers) or one JSON object per line. Connection\n"
    "state changes go to standard error; a lost connection is re-established after a random\n"
    "backoff (by default at most 0.25 s, doubling up to 30 s; the URL options reconnect\n"
    "and reconnect_max set it). Stops after --count events, after --duration seconds, or on\n"
    "SIGINT or SIGTERM.\n"
    "\n"
    "Options:\n"
    "  --url URL          ami://user:secret@host:port[?events=call,agent&...]\n"
    "                     (default: $AMI_URL; a URL without a secret takes $AMI_SECRET)\n"
    "  --filter GLOB      only events whose name matches (case-insensitive, * and ?;\n"
    "                     repeatable or comma-separated: any may match)\n"
    "  --where KEY=GLOB   only events with a header KEY whose value matches (repeatable:\n"
    "                     all must match)\n"
    "  --tls-ca FILE      CA certificates (PEM) that verify an amis:// server (default:\n"
    "                     the system's trust store)\n"
    "  --tls-cert FILE    client certificate (PEM), for servers that require one\n"
    "  --tls-key FILE     its private key (PEM; default: read from the --tls-cert file)\n"
    "  --tls-insecure     do not verify the server's certificate (warns; for tests only)\n"
    "  --json             one JSON object per event:\n"
    "                     {\"time\":\"...Z\",\"event\":\"Hangup\",\"headers\":{\"Channel\":...}}\n"
    "                     (a repeated header becomes an array of its values)\n"
    "  --count N          stop after N events (after filtering)\n"
    "  --duration S       stop S seconds after logging in\n"
    "  --stats            instead of the events, one line per second with the rate by\n"
    "                     event name, and a summary at the end\n"
    "  --demo             watch an embedded simulated PBX with call-center traffic\n"
    "                     (about 50 events per second)\n"
    "  -h, --help         print this help\n"
    "\n"
    "Exit status: 0 when stopped by --count, --duration or a signal, 1 on a usage error,\n"
    "2 when the connection or the login fails (the secret is never printed).\n";

// Looks an environment variable up (std::getenv in the program, a map in tests).

struct run_options {
  // Stops on SIGINT and SIGTERM. The program sets it; in-process tests leave it off.
  bool handle_signals = false;
  // Events per second the --demo PBX generates.
  double demo_rate = 50;
};

namespace detail {

struct options {
  std::optional<std::string> url;
  tls_options tls;
  std::vector<std::string> filters;
  std::vector<std::pair<std::string, std::string>> wheres;
  std::optional<std::uint64_t> count;
  std::optional<double> duration;
  bool json = false;
  bool stats = false;
  bool demo = false;
  bool help = false;
};

inline bool parse_count(const std::string& s, std::uint64_t& out) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 18) {
    return false;
  }
  out = std::stoull(s);
  return out > 0;
}

// Parses the command line; on a usage error returns its one-line text.
inline std::optional<std::string> parse_args(const std::vector<std::string>& args, options& o) {
  const auto usage_error = parse_command_line(args, o.help, [&](arg_cursor& a) {
    const std::string& arg = a.arg();
    std::string& value = a.value;
    std::optional<std::string>& problem = a.problem;
    const auto option = [&a](std::string_view name) { return a.option(name); };
    if (arg == "--json") {
      o.json = true;
    } else if (arg == "--stats") {
      o.stats = true;
    } else if (arg == "--demo") {
      o.demo = true;
    } else if (parse_tls_option(args, a.i, o.tls, problem)) {
    } else if (option("--url")) {
      o.url = value;
    } else if (option("--filter")) {
      std::size_t start = 0;
      while (!problem && start <= value.size()) {
        const auto comma = std::min(value.find(',', start), value.size());
        if (comma > start) o.filters.push_back(value.substr(start, comma - start));
        start = comma + 1;
      }
      if (!problem && o.filters.empty()) problem = "--filter needs an event name or pattern";
    } else if (option("--where")) {
      const auto eq = value.find('=');
      if (!problem && (eq == std::string::npos || eq == 0)) {
        problem = "--where wants KEY=GLOB, not '" + value + "'";
      } else if (!problem) {
        o.wheres.emplace_back(value.substr(0, eq), value.substr(eq + 1));
      }
    } else if (option("--count")) {
      std::uint64_t n = 0;
      if (!problem && !parse_count(value, n)) problem = "--count needs a positive number";
      o.count = n;
    } else if (option("--duration")) {
      double d = 0;
      if (!problem && !parse_seconds(value, d, false, 31 * 86400.0)) {
        problem = "--duration needs a positive number of seconds";
      }
      o.duration = d;
    } else {
      return false;
    }
    return true;
  });
  if (usage_error || o.help) return usage_error;
  if (o.demo && o.url) return std::string("--demo watches its own PBX: drop --url");
  if (o.demo && o.tls.any()) return std::string("--demo watches its own PBX: drop --tls-*");
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
  // A monitor without events would print nothing; a class list from the URL is kept.
  if (iequals(cfg.events, "off")) cfg.events = "on";
  return std::nullopt;
}

inline bool selected(const options& o, const event& e) {
  if (!o.filters.empty()) {
    const std::string_view name = e.name();
    const bool any = std::any_of(o.filters.begin(), o.filters.end(), [&](const std::string& f) {
      return ami::detail::glob_match(f, name);
    });
    if (!any) return false;
  }
  for (const auto& [key, pattern] : o.wheres) {
    bool any = false;
    for (const std::string_view v : e.get_all(key)) {
      if (ami::detail::glob_match(pattern, v)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

inline std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// The headers a compact line shows, in this order, when the event has them.
constexpr std::string_view key_headers[] = {
    "Channel",        "DestChannel", "ChannelStateDesc", "CallerIDNum",
    "Exten",          "Application", "DialStatus",       "Queue",
    "MemberName",     "Interface",   "Status",           "Cause-txt",
    "UserEvent",      "Response",    "Reason",           "Variable",
    "Value",          "Peer",        "PeerStatus",       "Device",
    "State",          "Mailbox",     "Position",         "Count",
    "BridgeUniqueid", "Uptime",      "Message"};
constexpr std::size_t max_key_headers = 6;

inline bool shown_value(std::string_view v) { return !v.empty() && v != "<unknown>"; }

inline void append_value(std::string& line, std::string_view v) {
  if (v.find_first_of(" \t\"") == std::string_view::npos) {
    line.append(v);
    return;
  }
  line.push_back('"');
  for (const char ch : v) {
    if (ch == '"' || ch == '\\') line.push_back('\\');
    line.push_back(ch);
  }
  line.push_back('"');
}

// "14:03:07.250 Newchannel         Channel=PJSIP/100-00000001 ChannelStateDesc=Ring ...".
inline std::string compact_line(const event& e, std::chrono::system_clock::time_point t) {
  std::string line = local_time(t);
  line.push_back(' ');
  const std::string_view name = e.name();
  line.append(name);
  if (name.size() < 20) line.append(20 - name.size(), ' ');
  std::size_t shown = 0;
  for (const std::string_view key : key_headers) {
    if (shown == max_key_headers) break;
    const auto v = e.get(key);
    if (!v || !shown_value(*v)) continue;
    line.push_back(' ');
    line.append(key);
    line.push_back('=');
    append_value(line, *v);
    ++shown;
  }
  if (shown == 0) {
    // No well-known header: the first few, whatever they are.
    for (std::size_t i = 1; i < e.size() && shown < 4; ++i) {
      const field& f = e[i];
      if (iequals(f.name, "Privilege") || !shown_value(f.value)) continue;
      line.push_back(' ');
      line.append(f.name);
      line.push_back('=');
      append_value(line, f.value);
      ++shown;
    }
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

// {"time":"...","event":"Name","headers":{"Key":"value","Repeated":["a","b"]}}: headers in
// the order of their first appearance, the Event header left out (it is "event").
inline std::string json_line(const event& e, std::chrono::system_clock::time_point t) {
  const bool event_first = e.size() > 0 && iequals(e[0].name, "Event");
  auto headers = headers_object(e, {}, event_first ? 1 : 0);
  boost::json::object doc;
  doc["time"] = utc_time(t);
  doc["event"] = json_string(e.name());
  doc["headers"] = std::move(headers);
  return json_text(doc);
}

// Counts events by name, per second and in total.
class rate_stats {
 public:
  void add(std::string_view name) {
    ++second_[std::string(name)];
    ++second_total_;
    ++total_[std::string(name)];
    ++grand_total_;
  }

  // One line for the second that just ended, then starts the next.
  void print_second(std::ostream& out, bool json, std::chrono::system_clock::time_point t) {
    const auto ranked = by_count(second_);
    std::string line;
    if (json) {
      boost::json::object doc;
      doc["time"] = utc_time(t);
      doc["events"] = second_total_;
      doc["by_name"] = counts_object(ranked);
      line = json_text(doc);
    } else {
      // The busiest names only, to keep one line per second; the summary has them all.
      line = local_time(t).substr(0, 8) + "  " + std::to_string(second_total_) + " events/s";
      const std::size_t shown = std::min(ranked.size(), max_names_per_second);
      for (std::size_t i = 0; i < shown; ++i) {
        line += "  " + ranked[i].first + "=" + std::to_string(ranked[i].second);
      }
      if (ranked.size() > shown) line += "  +" + std::to_string(ranked.size() - shown) + " more";
    }
    out << line << std::endl;
    second_.clear();
    second_total_ = 0;
  }

  void print_summary(std::ostream& out, bool json, double seconds) const {
    const auto ranked = by_count(total_);
    const double rate = seconds > 0 ? static_cast<double>(grand_total_) / seconds : 0.0;
    if (json) {
      boost::json::object doc;
      doc["summary"] = true;
      doc["events"] = grand_total_;
      doc["by_name"] = counts_object(ranked);
      doc["seconds"] = json_rounded(seconds, 3);
      doc["rate"] = json_rounded(rate, 2);
      out << json_text(doc) << std::endl;
      return;
    }
    out << "summary: " << grand_total_ << " events in " << fixed(seconds, 2) << " s ("
        << fixed(rate, 1) << "/s)\n";
    std::size_t width = 0;
    for (const auto& entry : ranked) width = std::max(width, entry.first.size());
    for (const auto& [name, n] : ranked) {
      const double r = seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
      out << "  " << name << std::string(width - name.size() + 2, ' ') << n << "  (" << fixed(r, 1)
          << "/s)\n";
    }
    out.flush();
  }

 private:
  using counts = std::map<std::string, std::uint64_t>;

  // Names in their ranked order (a JSON object keeps the order it was built in).
  static boost::json::object counts_object(
      const std::vector<std::pair<std::string, std::uint64_t>>& ranked) {
    boost::json::object o;
    for (const auto& [name, n] : ranked) o[json_string(name)] = n;
    return o;
  }

  // Most frequent first, then by name.
  static std::vector<std::pair<std::string, std::uint64_t>> by_count(const counts& c) {
    std::vector<std::pair<std::string, std::uint64_t>> v(c.begin(), c.end());
    std::stable_sort(v.begin(), v.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    return v;
  }

  static constexpr std::size_t max_names_per_second = 8;

  counts second_, total_;
  std::uint64_t second_total_ = 0;
  std::uint64_t grand_total_ = 0;
};

}  // namespace detail

// The program: args are argv[1..]. Prints events (or rates) to `out`, connection state
// changes and problems to `err`.
inline int run_events(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                      const env_lookup& env, const run_options& run = {}) {
  detail::options o;
  if (const auto problem = detail::parse_args(args, o)) {
    err << "ami-events: " << *problem << " (ami-events --help for usage)\n";
    return exit_other;
  }
  if (o.help) {
    out << usage_text;
    return exit_ok;
  }
  const auto note = [&err](const std::string& text) {
    err << "ami-events: " << local_time(std::chrono::system_clock::now()) << ' ' << text
        << std::endl;
  };

  // --demo: the simulated PBX runs on its own thread, generating call-center traffic.
  std::optional<ami::testing::server> demo;
  config cfg;
  if (o.demo) {
    auto pbx = ami::testing::pbx_config::standard();
    pbx.time_unit = std::chrono::milliseconds(1000);  // calls last a few real seconds
    pbx.step = std::chrono::milliseconds(20);
    if (!start_demo_pbx(demo, std::move(pbx), err, "ami-events")) return exit_connection;
    demo->start_load(run.demo_rate);
    cfg = config::from_url(demo->url());
    note("demo PBX generating about " + detail::fixed(run.demo_rate, 0) + " events/s");
  } else if (const auto problem = detail::make_config(o, env, cfg)) {
    err << "ami-events: " << *problem << '\n';
    return exit_other;
  } else if (const auto tls_problem = apply_tls_options(o.tls, cfg, err, "ami-events")) {
    err << "ami-events: " << *tls_problem << '\n';
    return exit_other;
  }

  using clock = std::chrono::steady_clock;
  boost::asio::io_context io;
  client c{io};
  boost::asio::steady_timer duration_timer(io);
  boost::asio::steady_timer tick_timer(io);
  std::optional<boost::asio::signal_set> signals;
  detail::rate_stats rates;

  bool stopping = false;
  bool ever_logged_in = false;  // a later loss reconnects; a first failure ends the run
  int status = exit_ok;
  std::uint64_t seen = 0;
  clock::time_point started = clock::now();
  std::uint64_t ticks = 0;

  const auto stop = [&](int code) {
    if (stopping) return;
    stopping = true;
    status = code;
    duration_timer.cancel();
    tick_timer.cancel();
    if (signals) signals->cancel();
    c.close();
  };
  const auto cannot_log_in = [&](const boost::system::error_code& ec) {
    std::string why = "cannot log in to " + cfg.redacted() + ": " + ec.message();
    if (const std::string m = c.last_error_message(); !m.empty()) why += " (" + m + ")";
    err << "ami-events: " << why << '\n';
    stop(exit_connection);
  };

  std::function<void()> tick;
  tick = [&] {
    tick_timer.expires_at(started + std::chrono::seconds(++ticks));
    tick_timer.async_wait([&](boost::system::error_code ec) {
      if (ec || stopping) return;
      rates.print_second(out, o.json, std::chrono::system_clock::now());
      tick();
    });
  };
  const auto first_login = [&] {
    ever_logged_in = true;
    started = clock::now();
    if (o.duration) {
      duration_timer.expires_after(
          std::chrono::milliseconds(static_cast<std::int64_t>(*o.duration * 1000)));
      duration_timer.async_wait([&](boost::system::error_code tec) {
        if (!tec) stop(exit_ok);
      });
    }
    if (o.stats) tick();
  };

  boost::signals2::scoped_connection states =
      c.on_state([&](connection_state s, const boost::system::error_code& ec) {
        std::string text = to_string(s);
        for (char& ch : text) {
          if (ch == '_') ch = ' ';  // "logged in"
        }
        if (s == connection_state::connecting) text += " to " + cfg.redacted();
        if (s == connection_state::disconnected && ec && !stopping) text += ": " + ec.message();
        note(text);
      });
  // async_run keeps the session up; the monitor only decides that a first failure is final.
  boost::signals2::scoped_connection transitions = c.on_transition([&](const state_transition& t) {
    if (stopping) return;
    if (t.state == connection_state::logged_in && !ever_logged_in) first_login();
    if (t.state != connection_state::backing_off) return;
    if (!ever_logged_in) {
      cannot_log_in(t.reason);
      return;
    }
    note("reconnecting in " + detail::fixed(static_cast<double>(t.delay.count()) / 1000.0, 2) +
         " s");
  });
  boost::signals2::scoped_connection events = c.on_event([&](const event& e) {
    if (stopping || !detail::selected(o, e)) return;
    ++seen;
    const auto now = std::chrono::system_clock::now();
    if (o.stats) {
      rates.add(e.name());
    } else {
      out << (o.json ? detail::json_line(e, now) : detail::compact_line(e, now)) << std::endl;
    }
    if (o.count && seen >= *o.count) stop(exit_ok);
  });

  c.async_run(cfg, [&](boost::system::error_code ec) {
    // Ends by itself only when the server refuses the login (or reconnecting is off).
    if (!stopping) cannot_log_in(ec);
  });
  if (run.handle_signals) {
    signals.emplace(io, SIGINT, SIGTERM);
    signals->async_wait([&](boost::system::error_code ec, int sig) {
      if (ec) return;
      note(sig == SIGINT ? "interrupted" : "terminated");
      stop(exit_ok);
    });
  }
  io.run();

  if (o.stats && status == exit_ok && ever_logged_in) {
    rates.print_summary(out, o.json, std::chrono::duration<double>(clock::now() - started).count());
  }
  return status;
}

}  // namespace ami::tools::events
