// ami-cli: sends one action to an Asterisk Manager Interface server and prints the answer.
// The whole program is run_cli(), so that tests can run it in-process with their own
// streams and environment.
#pragma once

#include "args.hpp"
#include "json.hpp"
#include "tls_options.hpp"

#include "ami/action.hpp"
#include "ami/client.hpp"
#include "ami/config.hpp"
#include "ami/error.hpp"
#include "ami/message.hpp"
#include "ami/response.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ami::tools::cli {

constexpr int exit_success = 0;  // the server answered Success (or Follows, Goodbye)
constexpr int exit_error = 1;    // the server answered Error, or a list ended incomplete
constexpr int exit_failure = 2;  // usage error, or no answer: connection, login, timeout

constexpr const char* usage_text =
    "Usage: ami-cli [OPTIONS] ACTION [Key=Value ...]\n"
    "\n"
    "Logs in to an Asterisk Manager Interface server, sends one action and prints the\n"
    "answer: the response and, for list actions (CoreShowChannels, QueueStatus, ...), every\n"
    "list event including the closing ...Complete one. Each Key=Value becomes one field of\n"
    "the action, split at the first '=' (Variable=a=1 sends 'Variable: a=1'); a key may be\n"
    "repeated. For Action Command the output lines are printed as they are.\n"
    "\n"
    "Options:\n"
    "  --url URL        ami://user:secret@host:port[?auth=md5&...] (default: $AMI_URL)\n"
    "  --host HOST      server address (default 127.0.0.1, or the URL's)\n"
    "  --port PORT      server port (default 5038, or the URL's)\n"
    "  --user NAME      manager account (or the URL's user name)\n"
    "  --secret SECRET  its secret (else the URL's, else $AMI_SECRET)\n"
    "  --auth md5|plain log in with an MD5 challenge instead of the plain secret\n"
    "  --json           print one JSON object per message:\n"
    "                     {\"kind\":\"response\",\"fields\":[[\"Response\",\"Success\"],...]}\n"
    "                   (Command answers add \"output\":[lines], raw text \"lines\":[...])\n"
    "  --timeout SEC    connect, login and answer timeout in seconds (default 10)\n"
    "  --tls-ca FILE    CA certificates (PEM) that verify the server (amis://; default: the\n"
    "                   system's trust store). Without a URL, any --tls-* option means TLS\n"
    "                   (port 5039 unless --port)\n"
    "  --tls-cert FILE  client certificate (PEM), for servers that require one\n"
    "  --tls-key FILE   its private key (PEM; default: read from the --tls-cert file)\n"
    "  --tls-insecure   do not verify the server's certificate (warns; for tests only)\n"
    "  -h, --help       print this help\n"
    "\n"
    "Without --json each message is a block of 'Key: Value' lines, keys aligned, blocks\n"
    "separated by an empty line. The session logs in with 'Events: off'.\n"
    "\n"
    "Exit status: 0 when the server answered Success, 1 when it answered Error (or a list\n"
    "ended incomplete), 2 on a usage error or when no answer came: connection, TLS\n"
    "certificate verification, login or timeout failure (one line on standard error; the\n"
    "secret is never printed).\n";

// Looks an environment variable up (std::getenv in the program, a map in tests).

namespace detail {

struct options {
  std::optional<std::string> url, host, user, secret;
  std::optional<std::uint16_t> port;
  std::optional<auth_method> auth;
  tls_options tls;
  bool json = false;
  bool help = false;
  double timeout_seconds = 10;
  std::string action_name;
  std::vector<std::pair<std::string, std::string>> fields;
};

inline bool parse_port(std::string_view s, std::uint16_t& out) {
  unsigned value = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), value);
  if (r.ec != std::errc{} || r.ptr != s.data() + s.size() || value == 0 || value > 65535) {
    return false;
  }
  out = static_cast<std::uint16_t>(value);
  return true;
}

// Parses the command line; on a usage error returns its one-line text.
inline std::optional<std::string> parse_args(const std::vector<std::string>& args, options& o) {
  std::size_t i = 0;
  // "--name VALUE" or "--name=VALUE".
  const auto value_of = [&](const std::string& arg, const char* name,
                            std::optional<std::string>& value) -> std::optional<std::string> {
    const std::string eq = std::string(name) + "=";
    if (arg.compare(0, eq.size(), eq) == 0) {
      value = arg.substr(eq.size());
      return std::nullopt;
    }
    if (i + 1 >= args.size()) return std::string(name) + " needs a value";
    value = args[++i];
    return std::nullopt;
  };
  const auto is_option = [](const std::string& arg, const char* name) {
    const std::size_t n = std::string_view(name).size();
    return arg.compare(0, n, name) == 0 && (arg.size() == n || arg[n] == '=');
  };

  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    std::optional<std::string> value;
    std::optional<std::string> problem;
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "-h" || arg == "--help") {
      o.help = true;
      return std::nullopt;
    } else if (arg == "--json") {
      o.json = true;
    } else if (parse_tls_option(args, i, o.tls, problem)) {
    } else if (is_option(arg, "--url")) {
      problem = value_of(arg, "--url", o.url);
    } else if (is_option(arg, "--host")) {
      problem = value_of(arg, "--host", o.host);
      if (!problem && o.host->empty()) problem = "--host needs a value";
    } else if (is_option(arg, "--user")) {
      problem = value_of(arg, "--user", o.user);
    } else if (is_option(arg, "--secret")) {
      problem = value_of(arg, "--secret", o.secret);
    } else if (is_option(arg, "--port")) {
      problem = value_of(arg, "--port", value);
      std::uint16_t port = 0;
      if (!problem && !parse_port(*value, port)) problem = "--port needs a number from 1 to 65535";
      o.port = port;
    } else if (is_option(arg, "--auth")) {
      problem = value_of(arg, "--auth", value);
      if (!problem) {
        if (*value == "md5") {
          o.auth = auth_method::md5;
        } else if (*value == "plain") {
          o.auth = auth_method::plain;
        } else {
          problem = "--auth is md5 or plain";
        }
      }
    } else if (is_option(arg, "--timeout")) {
      problem = value_of(arg, "--timeout", value);
      if (!problem && !parse_seconds(*value, o.timeout_seconds)) {
        problem = "--timeout needs a positive number of seconds";
      }
    } else if (arg.size() > 1 && arg[0] == '-') {
      problem = "unknown option " + arg;
    } else {
      break;  // the action
    }
    if (problem) return problem;
  }

  if (i >= args.size()) return std::string("no action given");
  o.action_name = args[i++];
  if (o.action_name.empty() || o.action_name.find('=') != std::string::npos) {
    return "'" + o.action_name + "' is not an action name";
  }
  for (; i < args.size(); ++i) {
    const std::string& kv = args[i];
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return "'" + kv + "' is not Key=Value";
    }
    o.fields.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return std::nullopt;
}

// The config from the URL (--url, else AMI_URL), then the options, then AMI_SECRET.
inline std::optional<std::string> make_config(const options& o, const env_lookup& env, config& cfg,
                                              std::ostream& err) {
  std::optional<std::string> url = o.url;
  if (!url) url = env("AMI_URL");
  const bool from_url = url && !url->empty();
  if (from_url) {
    boost::system::error_code ec;
    cfg = config::from_url(*url, ec);
    // The URL is not repeated: it may hold the secret.
    if (ec) return std::string("the URL (") + (o.url ? "--url" : "AMI_URL") + ") is not valid";
  } else {
    cfg.host = "127.0.0.1";
  }
  if (o.host) cfg.host = *o.host;
  if (o.port) cfg.port = *o.port;
  if (o.user) cfg.username = *o.user;
  if (o.secret) cfg.secret = *o.secret;
  if (cfg.secret.empty()) {
    if (auto s = env("AMI_SECRET")) cfg.secret = *s;
  }
  if (o.auth) cfg.auth = *o.auth;
  if (!from_url && o.tls.any() && !o.port) cfg.port = 5039;
  if (auto problem = apply_tls_options(o.tls, cfg, err, "ami-cli", !from_url)) return problem;
  if (cfg.username.empty()) return std::string("no user name (--user, or a URL with one)");
  cfg.events = "off";
  const auto t = std::chrono::milliseconds(static_cast<std::int64_t>(o.timeout_seconds * 1000));
  cfg.connect_timeout = cfg.login_timeout = cfg.action_timeout =
      std::max(t, std::chrono::milliseconds(1));
  return std::nullopt;
}

// "Key: Value" lines with the keys right-aligned, so that the values line up.
inline void print_text(std::ostream& out, const message& m) {
  std::size_t width = 0;
  for (const field& f : m) width = std::max(width, f.name.size());
  for (const field& f : m) {
    out << std::string(width - f.name.size(), ' ') << f.name << ": " << f.value << '\n';
  }
  for (const std::string_view line : m.lines()) out << line << '\n';
}

inline void print_json(std::ostream& out, const message& m,
                       const std::vector<std::string>* output) {
  boost::json::object doc;
  doc["kind"] = ami::to_string(m.kind());
  boost::json::array fields;
  for (const field& f : m) {
    fields.push_back(boost::json::array{json_string(f.name), json_string(f.value)});
  }
  doc["fields"] = std::move(fields);
  if (output != nullptr) {
    doc["output"] = json_strings(*output);
  } else if (!m.lines().empty()) {
    doc["lines"] = json_strings(m.lines());
  }
  out << json_text(doc) << '\n';
}

inline void print_answer(std::ostream& out, const options& o, const response& r) {
  const bool command = iequals(o.action_name, "Command");
  const std::vector<std::string> output = command ? r.output() : std::vector<std::string>{};
  if (o.json) {
    print_json(out, r.msg(), command ? &output : nullptr);
    for (const event& e : r.events()) print_json(out, e, nullptr);
    if (const event* end = r.complete()) print_json(out, *end, nullptr);
    return;
  }
  if (command && !output.empty()) {
    for (const auto& l : output) out << l << '\n';
    return;
  }
  print_text(out, r.msg());
  for (const event& e : r.events()) {
    out << '\n';
    print_text(out, e);
  }
  if (const event* end = r.complete()) {
    out << '\n';
    print_text(out, *end);
  }
}

}  // namespace detail

// The program: args are argv[1..]. Prints the answer to `out`, problems to `err`.
inline int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                   const env_lookup& env) {
  detail::options o;
  if (const auto problem = detail::parse_args(args, o)) {
    err << "ami-cli: " << *problem << " (ami-cli --help for usage)\n";
    return exit_failure;
  }
  if (o.help) {
    out << usage_text;
    return exit_success;
  }
  config cfg;
  if (const auto problem = detail::make_config(o, env, cfg, err)) {
    err << "ami-cli: " << *problem << '\n';
    return exit_failure;
  }
  action a(o.action_name);
  for (const auto& [k, v] : o.fields) a.add(k, v);

  boost::asio::io_context io;
  client c{io};
  std::optional<boost::system::error_code> connect_ec;
  std::optional<boost::system::error_code> send_ec;
  response answer;

  c.async_connect(cfg, [&](boost::system::error_code ec) {
    connect_ec = ec;
    if (ec) return;
    c.async_send(std::move(a), [&](boost::system::error_code ec2, response r) {
      send_ec = ec2;
      answer = std::move(r);
      // Logoff: the server answers Goodbye and closes; the io_context then runs dry.
      c.async_logoff([&c](boost::system::error_code) { c.close(); });
    });
  });
  io.run();

  if (!connect_ec || *connect_ec) {
    err << "ami-cli: cannot log in to " << cfg.redacted() << ": "
        << (connect_ec ? connect_ec->message() : std::string("no answer"));
    if (const std::string why = c.last_error_message(); !why.empty()) err << " (" << why << ')';
    err << '\n';
    return exit_failure;
  }
  const boost::system::error_code ec = send_ec.value_or(make_error_code(error::connection_lost));
  if (ec && ec != error::action_failed && ec != error::list_incomplete) {
    err << "ami-cli: " << o.action_name << ": " << ec.message() << '\n';
    return exit_failure;
  }
  detail::print_answer(out, o, answer);
  if (ec == error::list_incomplete) {
    err << "ami-cli: " << o.action_name << ": " << ec.message() << '\n';
    return exit_error;
  }
  if (ec || !answer.ok()) {
    if (!o.json) {
      err << "ami-cli: " << o.action_name << ": " << answer.status();
      if (!answer.message_text().empty()) err << ": " << answer.message_text();
      err << '\n';
    }
    return exit_error;
  }
  return exit_success;
}

}  // namespace ami::tools::cli
