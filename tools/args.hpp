// Command-line pieces the tools share: "--name VALUE" / "--name=VALUE" options, durations
// in seconds, and the server from --url / AMI_URL / AMI_SECRET.
#pragma once

#include "ami/config.hpp"

#include <boost/system/error_code.hpp>

#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ami::tools {

// Whether args[i] is the option `name`, as "--name VALUE" (i moves to the value) or
// "--name=VALUE". A missing value sets `problem`.
inline bool read_option(const std::vector<std::string>& args, std::size_t& i, std::string_view name,
                        std::string& value, std::optional<std::string>& problem) {
  const std::string& arg = args[i];
  if (arg.compare(0, name.size(), name) != 0) return false;
  if (arg.size() == name.size()) {
    if (i + 1 >= args.size()) {
      problem = std::string(name) + " needs a value";
    } else {
      value = args[++i];
    }
    return true;
  }
  if (arg[name.size()] != '=') return false;
  value = arg.substr(name.size() + 1);
  return true;
}

// One argument of a command line, as parse_command_line hands it over.
struct arg_cursor {
  const std::vector<std::string>& args;
  std::size_t& i;                      // where the argument is (option() moves it to the value)
  std::string value;                   // the value of the option option() matched
  std::optional<std::string> problem;  // a usage error

  const std::string& arg() const { return args[i]; }
  bool option(std::string_view name) { return read_option(args, i, name, value, problem); }
};

// The loop of every tool's command line: -h or --help sets `help` and ends it; any other
// argument goes to `each(arg_cursor&)`, which returns false for one it does not know. Returns
// the first usage error, unknown options and stray arguments included.
template <class Each>
std::optional<std::string> parse_command_line(const std::vector<std::string>& args, bool& help,
                                              Each&& each) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      help = true;
      return std::nullopt;
    }
    arg_cursor a{args, i, {}, {}};
    if (!each(a) && !a.problem) {
      a.problem = arg.size() > 1 && arg[0] == '-' ? "unknown option " + arg
                                                  : "unexpected argument '" + arg + "'";
    }
    if (a.problem) return a.problem;
  }
  return std::nullopt;
}

// A number of seconds, finite, above 0 (or 0 itself when `zero_ok`) and at most `max`.
inline bool parse_seconds(const std::string& s, double& out, bool zero_ok = false,
                          double max = 86400) {
  if (s.empty()) return false;
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    return false;
  }
  if (used != s.size() || !std::isfinite(v) || v < 0 || (v == 0 && !zero_ok) || v > max) {
    return false;
  }
  out = v;
  return true;
}

// Reads the environment: the programs pass process_env, in-process tests their own lookup.
using env_lookup = std::function<std::optional<std::string>(const char* name)>;

inline std::optional<std::string> process_env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

// The server from the URL of --url (`url_option`), else AMI_URL, with the secret from
// AMI_SECRET when the URL has none. A problem comes back as a message that never repeats the
// URL (it may hold the secret); `missing` is the one for no URL at all.
inline std::optional<std::string> config_from_url(const std::optional<std::string>& url_option,
                                                  const env_lookup& env, std::string_view missing,
                                                  config& cfg) {
  std::optional<std::string> url = url_option;
  if (!url) url = env("AMI_URL");
  if (!url || url->empty()) return std::string(missing);
  boost::system::error_code ec;
  cfg = config::from_url(*url, ec);
  if (ec) return std::string("the URL (") + (url_option ? "--url" : "AMI_URL") + ") is not valid";
  if (cfg.secret.empty()) {
    if (auto s = env("AMI_SECRET")) cfg.secret = *s;
  }
  if (cfg.username.empty()) return std::string("the URL has no user name");
  return std::nullopt;
}

}  // namespace ami::tools
