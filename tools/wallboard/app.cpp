#include "app.hpp"

#include "../clock_text.hpp"
#include "../demo_pbx.hpp"
#include "../tls_options.hpp"
#include "board.hpp"
#include "demo.hpp"
#include "snapshot.hpp"
#include "web_server.hpp"

#include "ami/client.hpp"
#include "ami/config.hpp"
#include "ami/connection_state.hpp"
#include "ami/live/pbx.hpp"
#include "ami/message.hpp"
#include "ami/testing/server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/signals2/connection.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <csignal>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

namespace ami::tools::wallboard {

const char* const usage_text =
    "Usage: ami-wallboard [OPTIONS]\n"
    "\n"
    "A real-time wallboard of an Asterisk PBX: per queue the callers waiting and the longest\n"
    "wait, the members available, busy and paused, calls answered and abandoned and the\n"
    "service level; then the agents and the active calls. It syncs the PBX's live state on\n"
    "login (and after each reconnect) and follows its events from then on. On a terminal the\n"
    "view is redrawn in place; piped, a new board is printed when something changed (at most\n"
    "once a second).\n"
    "\n"
    "Options:\n"
    "  --url URL          ami://user:secret@host:port (default: $AMI_URL; a URL without a\n"
    "                     secret takes $AMI_SECRET)\n"
    "  --tls-ca FILE      CA certificates (PEM) that verify an amis:// server\n"
    "  --tls-cert FILE    client certificate (PEM), for servers that require one\n"
    "  --tls-key FILE     its private key (PEM; default: read from the --tls-cert file)\n"
    "  --tls-insecure     do not verify the server's certificate (warns; for tests only)\n"
    "  --snapshot         print one board once the state is synced, then exit\n"
    "  --json             with --snapshot: one JSON document instead (keys channels, calls,\n"
    "                     bridges, queues, agents, devices, extensions, parked, conferences)\n"
    "  --serve HOST:PORT  serve the web wallboard (a page, GET /api/snapshot, and the event\n"
    "                     stream GET /api/events); HOST defaults to 127.0.0.1, PORT 0 picks\n"
    "                     a free one. Prints the page's URL.\n"
    "  --token TOKEN      with --serve: the API answers only requests with ?token=TOKEN or\n"
    "                     'Authorization: Bearer TOKEN' (default: $AMI_WALLBOARD_TOKEN)\n"
    "  --refresh S        re-list the queues every S seconds (default 10), for the statistics\n"
    "                     Asterisk sends no event for (hold time, service level)\n"
    "  --demo             watch an embedded simulated call center instead of a PBX\n"
    "  -h, --help         print this help\n"
    "\n"
    "Exit status: 0 after --snapshot or when stopped by SIGINT or SIGTERM, 1 on a usage\n"
    "error, 2 when the connection or the login fails (the secret is never printed) or the\n"
    "server cannot listen.\n";

namespace {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

struct options {
  std::optional<std::string> url;
  tls_options tls;
  bool snapshot = false;
  bool json = false;
  bool demo = false;
  bool help = false;
  std::optional<std::string> serve;
  std::string serve_host = "127.0.0.1";
  unsigned short serve_port = 0;
  std::optional<std::string> token;
  double refresh = 10;
};

// "HOST:PORT", "[V6]:PORT", ":PORT" or "PORT"; false when it is none of these.
bool parse_listen(const std::string& s, std::string& host, unsigned short& port) {
  std::string h = "127.0.0.1";
  std::string p = s;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') return false;
    h = s.substr(1, close - 1);
    p = s.substr(close + 2);
  } else if (const auto colon = s.rfind(':'); colon != std::string::npos) {
    if (colon > 0) h = s.substr(0, colon);
    p = s.substr(colon + 1);
  }
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  const unsigned long n = std::stoul(p);
  if (n > 65535) return false;
  boost::system::error_code ec;
  asio::ip::make_address(h, ec);
  if (ec) return false;
  host = h;
  port = static_cast<unsigned short>(n);
  return true;
}

std::optional<std::string> parse_args(const std::vector<std::string>& args, options& o,
                                      const env_lookup& env) {
  const auto usage_error = parse_command_line(args, o.help, [&](arg_cursor& a) {
    const std::string& arg = a.arg();
    std::string& value = a.value;
    std::optional<std::string>& problem = a.problem;
    const auto option = [&a](std::string_view name) { return a.option(name); };
    if (arg == "--snapshot") {
      o.snapshot = true;
    } else if (arg == "--json") {
      o.json = true;
    } else if (arg == "--demo") {
      o.demo = true;
    } else if (parse_tls_option(args, a.i, o.tls, problem)) {
    } else if (option("--url")) {
      o.url = value;
    } else if (option("--serve")) {
      if (!problem && !parse_listen(value, o.serve_host, o.serve_port)) {
        problem = "--serve wants HOST:PORT (an IP address and a port), not '" + value + "'";
      }
      o.serve = value;
    } else if (option("--token")) {
      if (!problem && value.empty()) problem = "--token needs a value";
      o.token = value;
    } else if (option("--refresh")) {
      if (!problem && !parse_seconds(value, o.refresh, false, 3600)) {
        problem = "--refresh needs a number of seconds (at most 3600)";
      }
    } else {
      return false;
    }
    return true;
  });
  if (usage_error || o.help) return usage_error;
  if (o.json && !o.snapshot) return std::string("--json goes with --snapshot");
  if (o.snapshot && o.serve) return std::string("--snapshot prints and exits: drop --serve");
  if (o.token && !o.serve) return std::string("--token goes with --serve");
  if (o.demo && o.url) return std::string("--demo watches its own PBX: drop --url");
  if (o.demo && o.tls.any()) return std::string("--demo watches its own PBX: drop --tls-*");
  if (o.serve && !o.token) {
    if (auto t = env("AMI_WALLBOARD_TOKEN"); t && !t->empty()) o.token = *t;
  }
  return std::nullopt;
}

bool is_loopback(const std::string& host) {
  boost::system::error_code ec;
  const auto a = asio::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

// The stop function handed to on_running: it reaches the io_context only while it exists.
struct remote_stop {
  std::mutex m;
  asio::io_context* io = nullptr;
  std::function<void()> stop;

  void operator()() {
    std::lock_guard<std::mutex> lock(m);
    if (io != nullptr) asio::post(*io, stop);
  }
  void detach() {
    std::lock_guard<std::mutex> lock(m);
    io = nullptr;
  }
};

}  // namespace

int run_wallboard(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                  const env_lookup& env, const run_options& run) {
  options o;
  if (const auto problem = parse_args(args, o, env)) {
    err << "ami-wallboard: " << *problem << " (ami-wallboard --help for usage)\n";
    return exit_usage;
  }
  if (o.help) {
    out << usage_text;
    return exit_ok;
  }
  const bool live_view = !o.snapshot && !o.serve;
  const bool redraw = live_view && run.tty;
  const auto note = [&](const std::string& text) {
    if (redraw) return;  // the board's header line shows the state instead
    err << "ami-wallboard: " << local_time(std::chrono::system_clock::now()) << ' ' << text
        << std::endl;
  };

  std::optional<ami::testing::server> demo;
  config cfg;
  if (o.demo) {
    if (!start_demo_pbx(demo, demo_pbx_config(), err, "ami-wallboard")) return exit_connection;
    cfg = config::from_url(demo->url());
  } else if (const auto problem = config_from_url(
                 o.url, env, "no server: give --url, set AMI_URL, or use --demo", cfg)) {
    err << "ami-wallboard: " << *problem << '\n';
    return exit_usage;
  } else if (const auto tls_problem = apply_tls_options(o.tls, cfg, err, "ami-wallboard")) {
    err << "ami-wallboard: " << *tls_problem << '\n';
    return exit_usage;
  }
  // The live state follows events: a URL that turns them off would freeze it.
  if (iequals(cfg.events, "off")) cfg.events = "on";

  asio::io_context io;
  client c{io};
  ami::live::pbx pbx{c};
  std::optional<demo_traffic> traffic;
  std::optional<web_server> web;
  asio::steady_timer draw_timer(io);
  asio::steady_timer tick_timer(io);
  asio::steady_timer refresh_timer(io);
  std::optional<asio::signal_set> signals;
  auto stopper = std::make_shared<remote_stop>();

  bool stopping = false;
  bool ever_logged_in = false;
  bool refreshing = false;  // the refresh loop runs
  bool draw_due = false;
  int status = exit_ok;
  steady::time_point last_draw{};
  std::string link_text = "connecting";

  const auto stop = [&](int code) {
    if (stopping) return;
    stopping = true;
    status = code;
    draw_timer.cancel();
    tick_timer.cancel();
    refresh_timer.cancel();
    if (signals) signals->cancel();
    if (web) web->stop();
    if (traffic) traffic->stop();
    c.close();
  };

  const auto draw = [&] {
    draw_due = false;
    last_draw = steady::now();
    const auto now = std::chrono::system_clock::now();
    board_options bo;
    bo.ansi = redraw;
    std::string header = "ami-wallboard  " + cfg.redacted() + "  " + local_time(now).substr(0, 8) +
                         "  " + (pbx.synced() ? std::string("live") : link_text);
    const std::string board = render_board(*pbx.snapshot(), now, bo);
    if (redraw) {
      out << "\x1b[H" << header << "\x1b[K\n\x1b[K\n" << board << "\x1b[J" << std::flush;
    } else {
      out << "---- " << header << '\n' << board << std::flush;
    }
  };
  // Boards follow changes, at most one per gap (a terminal redraws more often).
  const auto gap = run.board_gap.value_or(redraw ? std::chrono::milliseconds(250)
                                                 : std::chrono::milliseconds(1000));
  const auto request_draw = [&] {
    if (!live_view || stopping || draw_due) return;
    draw_due = true;
    draw_timer.expires_at(std::max(steady::now(), last_draw + gap));
    draw_timer.async_wait([&](boost::system::error_code ec) {
      if (!ec && !stopping) draw();
    });
  };
  const auto changed = [&] {
    if (web) web->publish();
    request_draw();
  };

  // On a terminal the clocks (waits, talk times) move every second even when nothing else
  // does.
  std::function<void()> tick = [&] {
    tick_timer.expires_after(std::chrono::seconds(1));
    tick_timer.async_wait([&](boost::system::error_code ec) {
      if (ec || stopping) return;
      request_draw();
      tick();
    });
  };
  std::function<void()> schedule_refresh = [&] {
    refresh_timer.expires_after(
        std::chrono::milliseconds(static_cast<std::int64_t>(o.refresh * 1000)));
    refresh_timer.async_wait([&](boost::system::error_code ec) {
      if (ec || stopping) return;
      pbx.async_refresh(ami::live::list_kind::queues,
                        [&](boost::system::error_code rec, const ami::live::sync_report& r) {
                          if (stopping) return;
                          if (!rec && !r.changes.empty()) changed();
                          schedule_refresh();
                        });
    });
  };

  boost::signals2::scoped_connection states =
      c.on_state([&](connection_state s, const boost::system::error_code& ec) {
        std::string text = to_string(s);
        for (char& ch : text) {
          if (ch == '_') ch = ' ';
        }
        link_text = text;
        if (s == connection_state::connecting) text += " to " + cfg.redacted();
        if (s == connection_state::disconnected && ec && !stopping) text += ": " + ec.message();
        note(text);
        request_draw();
        if (web) web->publish();
      });
  // A first login that fails ends the program; later losses reconnect.
  const auto session_failed = [&](const boost::system::error_code& ec) {
    err << "ami-wallboard: " << (ever_logged_in ? "the session with " : "cannot log in to ")
        << cfg.redacted() << ": " << ec.message();
    if (const std::string m = c.last_error_message(); !m.empty()) err << " (" << m << ")";
    err << '\n';
    stop(exit_connection);
  };
  boost::signals2::scoped_connection transitions = c.on_transition([&](const state_transition& t) {
    if (stopping) return;
    if (t.state == connection_state::logged_in) ever_logged_in = true;
    if (t.state == connection_state::backing_off && !ever_logged_in) session_failed(t.reason);
  });
  boost::signals2::scoped_connection synced =
      pbx.on_sync_finished([&](const ami::live::sync_report& r) {
        if (stopping) return;
        if (o.snapshot) {
          const auto now = std::chrono::system_clock::now();
          if (o.json) {
            out << snapshot_text(*pbx.snapshot(), now) << std::endl;
          } else {
            out << render_board(*pbx.snapshot(), now) << std::flush;
          }
          stop(exit_ok);
          return;
        }
        note("synced: " + std::to_string(r.changes.size()) + " change(s)");
        changed();
        if (!refreshing) {
          refreshing = true;
          schedule_refresh();
        }
      });
  boost::signals2::scoped_connection applied =
      pbx.on_event_applied([&](const ami::event&, const std::vector<ami::live::change>& changes) {
        if (!changes.empty() && !stopping) changed();
      });

  std::string serve_url;
  if (o.serve) {
    web_options wo;
    wo.address = o.serve_host;
    wo.port = o.serve_port;
    if (o.token) wo.token = *o.token;
    web.emplace(io.get_executor(), wo, [&pbx] {
      return snapshot_text(*pbx.snapshot(), std::chrono::system_clock::now());
    });
    asio::ip::tcp::endpoint bound;
    try {
      bound = web->start();
    } catch (const boost::system::system_error& e) {
      err << "ami-wallboard: cannot listen on " << *o.serve << ": " << e.code().message() << '\n';
      return exit_connection;
    }
    const std::string host = bound.address().is_v6() ? "[" + bound.address().to_string() + "]"
                                                     : bound.address().to_string();
    serve_url = "http://" + host + ":" + std::to_string(bound.port()) + "/";
    const std::string& url = serve_url;
    if (!is_loopback(o.serve_host) && !o.token) {
      err << "ami-wallboard: warning: serving beyond loopback without --token: anyone who "
             "reaches "
          << url << " sees the PBX's calls\n";
    }
    out << "ami-wallboard: serving " << url
        << (o.token ? " (the API needs the token: open " + url + "?token=...)" : std::string())
        << std::endl;
  }
  if (o.demo) {
    traffic.emplace(io.get_executor(), *demo, c);
    traffic->start(run.demo_rate, run.demo_period);
    note("demo call center: queues support, sales and callcenter");
  }
  if (redraw) {
    out << "\x1b[2J";
    tick();
  }
  const auto connect = [&] {
    c.async_run(cfg, [&](boost::system::error_code ec) {
      // Ends by itself only when the server refuses the login (or reconnecting is off).
      if (!stopping) session_failed(ec);
    });
  };
  if (o.demo && o.snapshot && run.demo_warmup.count() > 0) {
    draw_timer.expires_after(run.demo_warmup);
    draw_timer.async_wait([&](boost::system::error_code ec) {
      if (!ec && !stopping) connect();
    });
  } else {
    connect();
  }
  if (run.handle_signals) {
    signals.emplace(io, SIGINT, SIGTERM);
    signals->async_wait([&](boost::system::error_code ec, int sig) {
      if (ec) return;
      note(sig == SIGINT ? "interrupted" : "terminated");
      stop(exit_ok);
    });
  }
  if (run.on_running) {
    {
      std::lock_guard<std::mutex> lock(stopper->m);
      stopper->io = &io;
      stopper->stop = [&stop] { stop(exit_ok); };
    }
    run.on_running(serve_url, [stopper] { (*stopper)(); });
  }
  io.run();
  stopper->detach();
  return status;
}

}  // namespace ami::tools::wallboard
