// ami-ivr: an IVR over AGI. For each call it answers, plays a prompt, reads up to four
// digits, says them back, sets the channel variable IVR_DIGITS and hangs up (or returns the
// call to the dialplan with --continue). It serves AsyncAGI over an AMI connection (--url,
// AMI_URL) and FastAGI (--fastagi HOST:PORT), or both; --demo serves an embedded simulated
// PBX and calls it. The whole program is run_ivr(), so that tests can run it in-process with
// their own streams and environment.
#pragma once

#include "args.hpp"
#include "demo_pbx.hpp"
#include "json.hpp"

#include "ami/agi/async_agi.hpp"
#include "ami/agi/commands.hpp"
#include "ami/agi/fastagi_server.hpp"
#include "ami/agi/session.hpp"
#include "ami/client.hpp"
#include "ami/config.hpp"
#include "ami/error.hpp"
#include "ami/testing/server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace ami::tools::ivr {

constexpr int exit_ok = 0;
constexpr int exit_usage = 1;       // usage error, interrupted before --count sessions
constexpr int exit_connection = 2;  // cannot connect, log in or listen; the AMI link was lost

constexpr const char* usage_text =
    "Usage: ami-ivr [OPTIONS]\n"
    "\n"
    "An IVR over AGI: for each call, answers, plays a prompt, reads up to four digits, says\n"
    "them back, sets the channel variable IVR_DIGITS and hangs up (or, with --continue,\n"
    "returns the call to the dialplan).\n"
    "\n"
    "  AsyncAGI:  dialplan AGI(agi:async), served over the AMI connection (--url)\n"
    "  FastAGI:   dialplan AGI(agi://HOST:PORT/ivr) (any script path), served by --fastagi\n"
    "\n"
    "Options:\n"
    "  --url URL            ami://user:secret@host:port (default: $AMI_URL) for AsyncAGI\n"
    "  --fastagi HOST:PORT  serve FastAGI there (FastAGI has no TLS: keep it on loopback or\n"
    "                       a trusted network)\n"
    "  --prompt FILE        the prompt (default: enter-ext-of-person)\n"
    "  --timeout S          how long to wait for digits, in seconds (default 5)\n"
    "  --continue           return the call to the dialplan instead of hanging up\n"
    "  --count N            exit after N finished sessions\n"
    "  --json               one JSON line per finished session: channel, transport, each\n"
    "                       command with its result code and result, digits, how it ended\n"
    "                       (hangup, continue, failed: result=-1, or an error name)\n"
    "  --demo               serve an embedded simulated PBX (loopback, free port) and call it:\n"
    "                       AsyncAGI, or FastAGI with --fastagi (e.g. 127.0.0.1:0); exits\n"
    "                       after --count calls (default 3)\n"
    "  -h, --help           print this help\n"
    "\n"
    "Exit status: 0 done (--count sessions, or stopped by SIGINT/SIGTERM after them), 1 usage\n"
    "error, 2 cannot connect, log in or listen, or the AMI connection was lost.\n";

struct run_options {
  bool handle_signals = false;  // the program sets it; in-process tests leave it off
  // Called once everything listens (FastAGI port known), before any session.
  std::function<void(unsigned short fastagi_port)> ready;
};

// One finished session, as --json prints it.
struct call_record {
  struct step {
    std::string command;
    int code = 0;
    std::string result;
    std::string error;  // empty when the command succeeded
  };
  std::string channel;
  std::string transport;  // "asyncagi" or "fastagi"
  std::vector<step> steps;
  std::string digits;
  // "hangup", "continue", "failed" (a command answered result=-1, usually the caller hung
  // up), or the error that ended it ("dead_channel", ...).
  std::string end;
};

inline std::string error_text(const boost::system::error_code& ec) {
  if (ec.category() == ami::error_category())
    return error_name(static_cast<ami::error>(ec.value()));
  return ec.message();
}

inline std::string to_json(const call_record& r) {
  boost::json::object doc;
  doc["channel"] = json_string(r.channel);
  doc["transport"] = json_string(r.transport);
  boost::json::array commands;
  for (const auto& s : r.steps) {
    boost::json::object step;
    step["command"] = json_string(s.command);
    step["code"] = s.code;
    step["result"] = json_string(s.result);
    if (!s.error.empty()) step["error"] = json_string(s.error);
    commands.push_back(std::move(step));
  }
  doc["commands"] = std::move(commands);
  doc["digits"] = json_string(r.digits);
  doc["end"] = json_string(r.end);
  return json_text(doc);
}

inline std::string to_text(const call_record& r) {
  std::string out = r.transport + " " + r.channel + ": digits '" + r.digits + "', " + r.end;
  for (const auto& s : r.steps) {
    out += "\n  " + s.command + " -> " + std::to_string(s.code) + " " + s.result;
    if (!s.error.empty()) out += " (" + s.error + ")";
  }
  return out;
}

// The callers of --demo, in turn: one presses four digits, one ends shorter input with '#',
// one hangs up while the IVR waits for digits (the session ends with dead_channel).
struct demo_caller {
  std::string from;
  std::string exten;
  std::string dtmf;
  int hangup_during_command = -1;  // pbx.hpp: extension::hangup_during_command
};

inline const std::vector<demo_caller>& demo_callers() {
  static const std::vector<demo_caller> callers = {{"PJSIP/100", "7001", "1234", -1},
                                                   {"PJSIP/101", "7002", "42#", -1},
                                                   {"PJSIP/102", "7003", "", 2}};
  return callers;
}

// The PBX of --demo: phones 100-102, each dialling an extension that runs AGI `agi_target`
// ("agi:async" or "agi://HOST:PORT/ivr") with that caller's digits.
inline ami::testing::pbx_config demo_pbx(const std::string& agi_target) {
  ami::testing::pbx_config p;
  for (const auto& c : demo_callers()) {
    ami::testing::endpoint e;
    e.name = c.from.substr(c.from.find('/') + 1);
    e.description = "Caller " + e.name;
    p.endpoints.push_back(std::move(e));
    ami::testing::extension x;
    x.exten = c.exten;
    x.action = ami::testing::behaviour::agi;
    x.argument = agi_target;
    x.dtmf = c.dtmf;
    x.hangup_during_command = c.hangup_during_command;
    p.extensions.push_back(std::move(x));
  }
  return p;
}

inline std::string describe(const demo_caller& c) {
  std::string out = "demo: " + c.from + " calls " + c.exten;
  if (c.hangup_during_command >= 0) return out + " and hangs up while the IVR waits for digits";
  return out + (c.dtmf.empty() ? ", presses nothing" : ", presses " + c.dtmf);
}

struct ivr_settings {
  std::string prompt = "enter-ext-of-person";
  std::chrono::milliseconds timeout{5000};
  bool keep_call = false;  // --continue
};

// The dialogue of one call. Each step's outcome is recorded; the first failure ends it.
class ivr_call : public std::enable_shared_from_this<ivr_call> {
 public:
  using done_fn = std::function<void(const call_record&)>;

  static void start(std::shared_ptr<agi::session> s, std::string transport, ivr_settings cfg,
                    done_fn done) {
    auto call = std::shared_ptr<ivr_call>(
        new ivr_call(std::move(s), std::move(transport), std::move(cfg), std::move(done)));
    call->run();
  }

 private:
  ivr_call(std::shared_ptr<agi::session> s, std::string transport, ivr_settings cfg, done_fn done)
      : session_(std::move(s)), cfg_(std::move(cfg)), done_(std::move(done)) {
    record_.channel = session_->channel();
    record_.transport = std::move(transport);
  }

  void run() {
    step(agi::answer{}, [this](const agi::status_result&) {
      step(agi::stream_file{"beep", "", {}}, [this](const agi::playback_result&) {
        step(agi::get_data{cfg_.prompt, cfg_.timeout, 4}, [this](const agi::digits_result& d) {
          record_.digits = d.digits;
          say_back();
        });
      });
    });
  }

  void say_back() {
    const auto store = [this] {
      step(agi::set_variable{"IVR_DIGITS", record_.digits},
           [this](const agi::status_result&) { leave(); });
    };
    if (record_.digits.empty()) {
      store();
      return;
    }
    step(agi::say_digits{record_.digits, ""}, [store](const agi::digit_result&) { store(); });
  }

  void leave() {
    if (!cfg_.keep_call) {
      step(agi::hangup{}, [this](const agi::status_result&) { finish("hangup"); });
    } else if (record_.transport == "asyncagi") {
      step(agi::async_break{}, [this](const agi::status_result&) { finish("continue"); });
    } else {
      session_->close();  // FastAGI: closing the socket continues the dialplan
      finish("continue");
    }
  }

  template <class C, class Next>
  void step(const C& cmd, Next next) {
    std::string line;
    (void)agi::format_command(cmd.to_command(), line);
    session_->async_exec(cmd, [self = shared_from_this(), line = std::move(line), next](
                                  const boost::system::error_code& ec, const auto& result) {
      const agi::reply& raw = result.raw;
      // result=-1: the command failed on the channel, usually because the caller hung up.
      const std::string problem = ec ? error_text(ec) : failed(result) ? "failed" : "";
      self->record_.steps.push_back({line, raw.code, raw.result, problem});
      if (!problem.empty()) {
        self->finish(problem);
        return;
      }
      next(result);
    });
  }

  template <class R>
  static bool failed(const R& r) {
    if constexpr (std::is_same_v<R, agi::status_result>) {
      return !r.ok();
    } else {
      return r.failed;
    }
  }

  void finish(std::string how) {
    record_.end = std::move(how);
    if (record_.transport == "fastagi") session_->close();
    done_(record_);
  }

  std::shared_ptr<agi::session> session_;
  ivr_settings cfg_;
  done_fn done_;
  call_record record_;
};

namespace detail {

struct options {
  std::optional<std::string> url;
  std::optional<std::string> fastagi;
  ivr_settings ivr;
  std::optional<std::uint64_t> count;
  bool json = false;
  bool demo = false;
  bool help = false;
};

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
    } else if (arg == "--continue") {
      o.ivr.keep_call = true;
    } else if (option("--url")) {
      o.url = value;
    } else if (option("--fastagi")) {
      o.fastagi = value;
    } else if (option("--prompt")) {
      if (!problem && value.empty()) problem = "--prompt needs a file name";
      o.ivr.prompt = value;
    } else if (option("--timeout")) {
      double s = 0;
      if (!problem && !parse_seconds(value, s, false, 3600)) {
        problem = "--timeout needs a positive number of seconds";
      }
      o.ivr.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000));
    } else if (option("--count")) {
      if (!problem &&
          (value.empty() || value.find_first_not_of("0123456789") != std::string::npos ||
           value.size() > 9 || std::stoull(value) == 0)) {
        problem = "--count needs a positive whole number";
      }
      if (!problem) o.count = std::stoull(value);
    } else {
      return false;
    }
    return true;
  });
  if (usage_error || o.help) return usage_error;
  if (o.demo && o.url) return std::string("--demo serves its own PBX: drop --url");
  if (o.demo && !o.count) o.count = 3;
  return std::nullopt;
}

// "HOST:PORT" ("[::1]:4573" for IPv6).
inline bool parse_listen(const std::string& s, std::string& host, unsigned short& port) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= s.size()) return false;
  host = s.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const auto digits = s.substr(colon + 1);
  if (digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos)
    return false;
  const auto v = std::stoul(digits);
  if (v > 65535) return false;
  port = static_cast<unsigned short>(v);
  return true;
}

}  // namespace detail

// The program: args are argv[1..]. Prints one line (or JSON object) per finished session.
inline int run_ivr(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                   const env_lookup& env, const run_options& run = {}) {
  detail::options o;
  if (const auto problem = detail::parse_args(args, o)) {
    err << "ami-ivr: " << *problem << " (ami-ivr --help for usage)\n";
    return exit_usage;
  }
  if (o.help) {
    out << usage_text;
    return exit_ok;
  }
  // --demo: the simulated PBX runs on its own thread; AsyncAGI reaches it over AMI, FastAGI
  // has it connect to our listener (so it starts once the port is known).
  std::optional<ami::testing::server> demo;
  const auto start_demo = [&](const std::string& agi_target) {
    return start_demo_pbx(demo, demo_pbx(agi_target), err, "ami-ivr");
  };
  if (o.demo && !o.fastagi) {
    if (!start_demo("agi:async")) return exit_connection;
    o.url = demo->url();
  }
  // AsyncAGI over --url or AMI_URL, unless only FastAGI was asked for.
  config cfg;
  const bool async_agi = o.url || !o.fastagi;
  if (async_agi) {
    if (auto problem = config_from_url(
            o.url, env, "nothing to serve: give --url (or AMI_URL) and/or --fastagi HOST:PORT",
            cfg)) {
      err << "ami-ivr: " << *problem << '\n';
      return exit_usage;
    }
    cfg.events = "on";
  }
  std::string host;
  unsigned short port = 0;
  if (o.fastagi && !detail::parse_listen(*o.fastagi, host, port)) {
    err << "ami-ivr: --fastagi wants HOST:PORT, not '" << *o.fastagi << "'\n";
    return exit_usage;
  }
  boost::system::error_code address_ec;
  if (o.demo && o.fastagi && !boost::asio::ip::make_address_v4(host, address_ec).is_loopback()) {
    err << "ami-ivr: --demo serves FastAGI on loopback: give --fastagi 127.0.0.1:PORT (0 picks "
           "a free port)\n";
    return exit_usage;
  }

  boost::asio::io_context io;
  client c{io};
  std::optional<agi::async_agi> async;
  std::optional<agi::fastagi_server> fast;
  std::uint64_t finished = 0;
  int status = exit_ok;
  std::optional<boost::asio::signal_set> signals;
  bool stopping = false;
  std::size_t demo_calls = 0;
  boost::asio::steady_timer demo_deadline(io);

  const auto stop = [&] {
    stopping = true;
    demo_deadline.cancel();
    if (signals) signals->cancel();
    if (fast) fast->stop();
    async.reset();
    c.close();
    io.stop();
  };
  // --demo: the next caller's call; each must be served within the deadline.
  const auto demo_call = [&] {
    const auto& caller = demo_callers()[demo_calls++ % demo_callers().size()];
    if (!o.json) out << describe(caller) << std::endl;
    demo->incoming_call(caller.from, caller.exten);
    demo_deadline.expires_after(std::chrono::seconds(30) + o.ivr.timeout);
    demo_deadline.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;  // cancelled: served, or stopping
      err << "ami-ivr: the demo call was not served\n";
      status = exit_connection;
      stop();
    });
  };
  // Handlers of both transports run on this one thread (io.run below).
  const auto done = [&](const call_record& r) {
    out << (o.json ? to_json(r) : to_text(r)) << std::endl;
    if (o.count && ++finished >= *o.count) {
      stop();
    } else if (demo && !stopping) {
      demo_call();
    }
  };
  const auto ready = [&](unsigned short fastagi_port) {
    if (run.ready) run.ready(fastagi_port);
    if (demo) demo_call();
  };
  const auto serve = [&](const char* transport) {
    return [&, transport](std::shared_ptr<agi::session> s) {
      ivr_call::start(std::move(s), transport, o.ivr, done);
    };
  };

  if (o.fastagi) {
    agi::fastagi_options fo;
    fo.address = host;
    fo.port = port;
    fast.emplace(io.get_executor(), fo);
    fast->route("*", serve("fastagi"));
    try {
      fast->start();
    } catch (const std::exception& e) {
      err << "ami-ivr: cannot listen on " << *o.fastagi << ": " << e.what() << '\n';
      return exit_connection;
    }
    if (o.demo && !start_demo("agi://" + host + ':' + std::to_string(fast->port()) + "/ivr")) {
      return exit_connection;
    }
  }
  bool connected = !async_agi;
  if (async_agi) {
    async.emplace(c);
    async->on_session(serve("asyncagi"));
    c.async_connect(cfg, [&](const boost::system::error_code& ec) {
      if (ec) {
        err << "ami-ivr: cannot connect: " << ec.message() << '\n';
        status = exit_connection;
        stop();
        return;
      }
      connected = true;
      ready(fast ? fast->port() : 0);
    });
    c.on_state([&](connection_state s, const boost::system::error_code& ec) {
      if (s == connection_state::disconnected && connected && !stopping) {
        err << "ami-ivr: the AMI connection was lost: " << ec.message() << '\n';
        status = exit_connection;
        stop();
      }
    });
  } else {
    ready(fast->port());
  }
  if (run.handle_signals) {
    signals.emplace(io, SIGINT, SIGTERM);
    signals->async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      if (o.count && finished < *o.count) status = exit_usage;
      stop();
    });
  }
  io.run();
  return status;
}

}  // namespace ami::tools::ivr
