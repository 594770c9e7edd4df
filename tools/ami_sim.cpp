// ami-sim: a simulated Asterisk PBX speaking AMI, for demos and manual testing.
//
//   ami-sim [--listen 127.0.0.1:5038] [--config sim.json] [--version 13.0.0]
//           [--events-per-second N] [--time-unit-ms 1000]
//           [--tls-cert FILE --tls-key FILE [--tls-listen 127.0.0.1:5039] [--tls-client-ca FILE]]
//
// Logs each connection and action to stderr; stops on SIGINT or SIGTERM.
#include "ami/proto/banner.hpp"
#include "ami/testing/server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <mutex>
#include <stdexcept>
#include <string>

namespace json = boost::json;
using ami::testing::behaviour;

namespace {

constexpr const char* usage =
    "usage: ami-sim [--listen HOST:PORT] [--config FILE.json] [--version AMI_VERSION]\n"
    "               [--events-per-second N] [--time-unit-ms MS]\n"
    "               [--tls-cert FILE --tls-key FILE [--tls-listen HOST:PORT]\n"
    "                [--tls-client-ca FILE]]\n"
    "\n"
    "A simulated Asterisk manager interface. Without --config it has the user admin/amp111\n"
    "(all privileges), extensions 100 (answer), 200 (echo), 300 (UserEvent), 400 (busy),\n"
    "500 (no answer), 501 (congestion), 600 (playback), 700 (queue support), 800\n"
    "(AGI(agi:async): AsyncAGI through the AGI action) and 801 (FastAGI to\n"
    "agi://127.0.0.1:4574/ivr).\n"
    "--events-per-second N generates call-center traffic at about N events per second.\n"
    "--listen defaults to 127.0.0.1:5038 (port 0 picks a free one).\n"
    "--version is the AMI version of the banner: 13.0.0 (Asterisk master), 9.0.0 (20),\n"
    "7.0.3 (18, with chan_sip and IAX2 peers), 2.5.0 (13, legacy Command output).\n"
    "--config takes JSON: see tools/ami-sim.example.json for every key. An extension with\n"
    "\"action\": \"agi\" runs AGI: \"argument\" is agi:async or agi://HOST:PORT/script,\n"
    "\"agi_args\" its arguments, \"dtmf\" the digits the caller presses, and\n"
    "\"hangup_during_command\" the 0-based index of the command the caller hangs up in.\n"
    "--tls-cert and --tls-key (PEM: certificate chain, private key) add a TLS listener for\n"
    "amis:// clients on --tls-listen (default 127.0.0.1:5039), next to the plain one;\n"
    "--tls-client-ca makes it require client certificates issued by that CA.\n";

std::string str(const json::object& o, const char* key, std::string fallback = {}) {
  if (const auto* v = o.if_contains(key)) {
    if (v->is_string()) return std::string(v->as_string());
    throw std::runtime_error(std::string("\"") + key + "\" must be a string");
  }
  return fallback;
}

// "HOST:PORT" (port 0 picks a free one).
void parse_listen(const std::string& option, const std::string& v, std::string& host,
                  unsigned short& port) {
  const auto colon = v.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error(option + " wants HOST:PORT");
  host = v.substr(0, colon);
  const long p = std::stol(v.substr(colon + 1));
  if (p < 0 || p > 65535) throw std::runtime_error("bad port in " + option);
  port = static_cast<unsigned short>(p);
}

long num(const json::object& o, const char* key, long fallback) {
  if (const auto* v = o.if_contains(key)) {
    if (v->is_int64()) return static_cast<long>(v->as_int64());
    if (v->is_uint64()) return static_cast<long>(v->as_uint64());
    throw std::runtime_error(std::string("\"") + key + "\" must be an integer");
  }
  return fallback;
}

bool flag(const json::object& o, const char* key, bool fallback) {
  if (const auto* v = o.if_contains(key)) {
    if (v->is_bool()) return v->as_bool();
    throw std::runtime_error(std::string("\"") + key + "\" must be true or false");
  }
  return fallback;
}

behaviour parse_behaviour(const std::string& s) {
  static const behaviour all[] = {
      behaviour::answer,     behaviour::echo,       behaviour::busy,      behaviour::no_answer,
      behaviour::congestion, behaviour::user_event, behaviour::playback,  behaviour::queue,
      behaviour::dial,       behaviour::agi,        behaviour::conference};
  for (auto b : all) {
    if (s == ami::testing::to_string(b)) return b;
  }
  throw std::runtime_error("unknown behaviour \"" + s + "\"");
}

const json::array& array_of(const json::object& o, const char* key) {
  static const json::array empty;
  if (const auto* v = o.if_contains(key)) {
    if (v->is_array()) return v->as_array();
    throw std::runtime_error(std::string("\"") + key + "\" must be an array");
  }
  return empty;
}

const json::object& object_of(const json::value& v, const char* what) {
  if (!v.is_object()) throw std::runtime_error(std::string(what) + " entries must be objects");
  return v.as_object();
}

// Reads a JSON configuration into `opts` (see README of the tool in --help).
void load_config(const std::string& path, ami::testing::server_options& opts) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  boost::system::error_code ec;
  const auto doc = json::parse(text, ec);
  if (ec) throw std::runtime_error(path + ": " + ec.message());
  if (!doc.is_object()) throw std::runtime_error(path + ": the top level must be an object");
  const auto& root = doc.as_object();

  opts.ami_version = str(root, "version", opts.ami_version);
  const bool sip = ami::proto::parse_version(opts.ami_version).value_or(ami::proto::version{}) <
                   ami::proto::version{9, 0, 0};
  ami::testing::pbx_config pbx;
  if (flag(root, "standard", true)) pbx = ami::testing::pbx_config::standard(sip);
  pbx.time_unit = std::chrono::milliseconds(num(root, "time_unit_ms", 1000));
  pbx.step = std::chrono::milliseconds(num(root, "step_ms", 20));

  if (root.contains("users")) opts.users.clear();
  for (const auto& v : array_of(root, "users")) {
    const auto& o = object_of(v, "users");
    opts.users.push_back(
        {str(o, "username"), str(o, "secret"), str(o, "read", "all"), str(o, "write", "all")});
  }
  for (const auto& v : array_of(root, "endpoints")) {
    const auto& o = object_of(v, "endpoints");
    ami::testing::endpoint e;
    e.technology = str(o, "technology", "PJSIP");
    e.name = str(o, "name");
    e.context = str(o, "context", "default");
    e.online = flag(o, "online", true);
    e.answer = parse_behaviour(str(o, "answer", "answer"));
    e.address = str(o, "address");
    e.port = static_cast<unsigned short>(num(o, "port", 0));
    e.description = str(o, "description");
    pbx.endpoints.push_back(e);
  }
  for (const auto& v : array_of(root, "extensions")) {
    const auto& o = object_of(v, "extensions");
    ami::testing::extension x;
    x.exten = str(o, "exten");
    x.context = str(o, "context", "default");
    x.action = parse_behaviour(str(o, "action", "answer"));
    x.argument = str(o, "argument");
    x.duration = static_cast<int>(num(o, "duration", 20));
    x.hint = str(o, "hint");
    for (const auto& arg : array_of(o, "agi_args")) {
      if (!arg.is_string()) throw std::runtime_error("\"agi_args\" must hold strings");
      x.agi_args.emplace_back(arg.as_string());
    }
    x.dtmf = str(o, "dtmf");
    x.hangup_during_command = static_cast<int>(num(o, "hangup_during_command", -1));
    pbx.extensions.push_back(x);
  }
  for (const auto& v : array_of(root, "queues")) {
    const auto& o = object_of(v, "queues");
    ami::testing::queue q;
    q.name = str(o, "name");
    q.strategy = str(o, "strategy", "ringall");
    for (const auto& mv : array_of(o, "members")) {
      const auto& m = object_of(mv, "members");
      ami::testing::queue_member qm;
      qm.interface = str(m, "interface");
      qm.name = str(m, "name", qm.interface);
      qm.penalty = static_cast<int>(num(m, "penalty", 0));
      qm.paused = flag(m, "paused", false);
      q.members.push_back(qm);
    }
    pbx.queues.push_back(q);
  }
  for (const auto& v : array_of(root, "mailboxes")) {
    const auto& o = object_of(v, "mailboxes");
    pbx.mailboxes.push_back({str(o, "id"), static_cast<int>(num(o, "new", 0)),
                             static_cast<int>(num(o, "old", 0)),
                             static_cast<int>(num(o, "urgent", 0))});
  }
  opts.pbx = pbx;
}

std::string clock_text() {
  const auto now = std::chrono::system_clock::now();
  const auto t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms));
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  ami::testing::server_options opts;
  opts.port = 5038;
  std::string config;
  std::string version;
  double rate = 0;
  long time_unit_ms = -1;
  ami::testing::server_tls tls;
  tls.separate_listener = true;
  tls.port = 5039;  // Asterisk's tlsbindport
  bool tls_listen = false;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::runtime_error(arg + " needs a value");
        return argv[++i];
      };
      if (arg == "--help" || arg == "-h") {
        std::cout << usage;
        return 0;
      } else if (arg == "--listen") {
        parse_listen(arg, value(), opts.address, opts.port);
      } else if (arg == "--tls-cert") {
        tls.cert_chain_file = value();
      } else if (arg == "--tls-key") {
        tls.key_file = value();
      } else if (arg == "--tls-client-ca") {
        tls.client_ca_file = value();
      } else if (arg == "--tls-listen") {
        parse_listen(arg, value(), tls.address, tls.port);
        tls_listen = true;
      } else if (arg == "--config") {
        config = value();
      } else if (arg == "--version") {
        version = value();
      } else if (arg == "--events-per-second") {
        rate = std::stod(value());
        if (rate < 0) throw std::runtime_error("--events-per-second must be >= 0");
      } else if (arg == "--time-unit-ms") {
        time_unit_ms = std::stol(value());
        if (time_unit_ms <= 0) throw std::runtime_error("--time-unit-ms must be > 0");
      } else {
        throw std::runtime_error("unknown argument " + arg);
      }
    }
    if (tls.cert_chain_file.empty() != tls.key_file.empty()) {
      throw std::runtime_error("--tls-cert and --tls-key go together");
    }
    if (tls.cert_chain_file.empty() && (tls_listen || !tls.client_ca_file.empty())) {
      throw std::runtime_error("TLS needs --tls-cert and --tls-key");
    }
    if (!tls.cert_chain_file.empty()) opts.tls = tls;
    if (!version.empty()) opts.ami_version = version;
    if (!config.empty()) {
      load_config(config, opts);
      if (!version.empty()) opts.ami_version = version;
    } else {
      auto pbx = ami::testing::pbx_config::standard(
          ami::proto::parse_version(opts.ami_version).value_or(ami::proto::version{}) <
          ami::proto::version{9, 0, 0});
      pbx.time_unit = std::chrono::milliseconds(1000);
      pbx.step = std::chrono::milliseconds(20);
      opts.pbx = pbx;
    }
    if (time_unit_ms > 0) opts.pbx->time_unit = std::chrono::milliseconds(time_unit_ms);
  } catch (const std::exception& e) {
    std::cerr << "ami-sim: " << e.what() << "\n" << usage;
    return 2;
  }

  // A real Asterisk makes a failed login wait; so does the simulator.
  opts.login_failure_delay = std::chrono::milliseconds(1000);
  ami::testing::server srv(opts);
  std::mutex log_mutex;
  srv.set_log([&log_mutex](const std::string& line) {
    std::lock_guard<std::mutex> lock(log_mutex);
    std::cerr << clock_text() << " " << line << "\n";
  });
  try {
    srv.start();
  } catch (const std::exception& e) {
    std::cerr << "ami-sim: cannot listen on " << opts.address << ":" << opts.port;
    if (opts.tls) std::cerr << " and " << opts.tls->address << ":" << opts.tls->port << " (TLS)";
    std::cerr << ": " << e.what() << "\n";
    return 1;
  }
  // The default demo account's secret is printed on purpose: it is public.
  const std::string where = opts.users.empty()
                                ? "ami://" + srv.address() + ":" + std::to_string(srv.port())
                                : srv.url(opts.users.front().username);
  std::cout << "ami-sim " << opts.ami_version << " listening: " << where << std::endl;
  if (opts.tls) {
    const std::string tls_where =
        opts.users.empty() ? "amis://" + opts.tls->address + ":" + std::to_string(srv.tls_port())
                           : srv.tls_url(opts.users.front().username);
    std::cout << "ami-sim " << opts.ami_version << " listening (TLS): " << tls_where << std::endl;
  }
  if (rate > 0) {
    srv.start_load(rate);
    std::cerr << clock_text() << " generating about " << rate << " events per second\n";
  }

  boost::asio::io_context io;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    std::cerr << clock_text() << " signal " << sig << ", stopping\n";
  });
  io.run();
  srv.stop();
  std::cerr << clock_text() << " stopped after " << srv.events_generated() << " generated events\n";
  return 0;
}
