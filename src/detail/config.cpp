#include "ami/config.hpp"

#include "ami/error.hpp"
#include "ami/message.hpp"
#include "ami/url.hpp"

#include <boost/system/system_error.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace ami {
namespace {

bool parse_seconds(const std::string& v, std::chrono::milliseconds& out) {
  if (v.empty()) return false;
  for (const char c : v) {
    if ((c < '0' || c > '9') && c != '.') return false;
  }
  char* end = nullptr;
  const double s = std::strtod(v.c_str(), &end);
  if (end != v.c_str() + v.size() || !std::isfinite(s) || s < 0 || s > 1e9) return false;
  out = std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(s * 1000.0)));
  return true;
}

// A plain decimal factor >= 1 ("2", "1.5").
bool parse_factor(const std::string& v, double& out) {
  if (v.empty() || v.find_first_not_of("0123456789.") != std::string::npos) return false;
  char* end = nullptr;
  const double f = std::strtod(v.c_str(), &end);
  if (end != v.c_str() + v.size() || !std::isfinite(f) || f < 1 || f > 1e6) return false;
  out = f;
  return true;
}

bool parse_size(const std::string& v, std::size_t& out) {
  const auto* end = v.data() + v.size();
  const auto r = std::from_chars(v.data(), end, out);
  return !v.empty() && r.ec == std::errc{} && r.ptr == end;
}

bool parse_flag(const std::string& v, bool& out) {
  if (v == "1" || iequals(v, "true") || iequals(v, "yes")) {
    out = true;
  } else if (v == "0" || iequals(v, "false") || iequals(v, "no")) {
    out = false;
  } else {
    return false;
  }
  return true;
}

// A query value for redacted(): percent-encoded, but '/' and ':' stay readable (paths).
std::string query_value(std::string_view v) {
  std::string out;
  std::size_t from = 0;
  while (from <= v.size()) {
    const auto at = v.find_first_of("/:", from);
    out += percent_encode(v.substr(from, at == std::string_view::npos ? v.npos : at - from));
    if (at == std::string_view::npos) break;
    out += v[at];
    from = at + 1;
  }
  return out;
}

void append_seconds(std::string& s, std::chrono::milliseconds ms) {
  const auto n = ms.count();
  s += std::to_string(n / 1000);
  if (n % 1000 != 0) {
    auto frac = std::to_string(1000 + n % 1000).substr(1);
    while (frac.back() == '0') frac.pop_back();
    s += "." + frac;
  }
}

}  // namespace

config config::from_url(std::string_view text, boost::system::error_code& ec) {
  auto parsed = parse_url(text, ec);
  if (!parsed) return {};
  ec = error::invalid_url;
  config c;
  c.tls = parsed->scheme == "amis";
  c.port = parsed->port ? *parsed->port : static_cast<std::uint16_t>(c.tls ? 5039 : 5038);
  c.host = std::move(parsed->host);
  c.username = std::move(parsed->username);
  c.secret = std::move(parsed->secret);
  // TLS file paths and names: amis:// only, never empty.
  const auto tls_value = [&c](std::string& field, std::string& value) {
    if (!c.tls || value.empty()) return false;
    field = std::move(value);
    return true;
  };
  for (auto& [key, value] : parsed->query) {
    if (iequals(key, "ca")) {
      if (!tls_value(c.tls_ca_file, value)) return {};
    } else if (iequals(key, "cert")) {
      if (!tls_value(c.tls_cert_file, value)) return {};
    } else if (iequals(key, "key")) {
      if (!tls_value(c.tls_key_file, value)) return {};
    } else if (iequals(key, "server_name")) {
      if (!tls_value(c.tls_server_name, value)) return {};
    } else if (iequals(key, "insecure")) {
      if (!c.tls || !parse_flag(value, c.tls_insecure)) return {};
    } else if (iequals(key, "events")) {
      if (value.empty()) return {};
      c.events = std::move(value);
    } else if (iequals(key, "auth")) {
      if (iequals(value, "md5")) {
        c.auth = auth_method::md5;
      } else if (iequals(value, "plain")) {
        c.auth = auth_method::plain;
      } else {
        return {};
      }
    } else if (iequals(key, "timeout")) {
      std::chrono::milliseconds t{};
      if (!parse_seconds(value, t)) return {};
      c.connect_timeout = c.login_timeout = c.action_timeout = t;
    } else if (iequals(key, "connect_timeout")) {
      if (!parse_seconds(value, c.connect_timeout)) return {};
    } else if (iequals(key, "login_timeout")) {
      if (!parse_seconds(value, c.login_timeout)) return {};
    } else if (iequals(key, "action_timeout")) {
      if (!parse_seconds(value, c.action_timeout)) return {};
    } else if (iequals(key, "max_in_flight")) {
      if (!parse_size(value, c.max_in_flight)) return {};
    } else if (iequals(key, "max_queued")) {
      if (!parse_size(value, c.max_queued)) return {};
    } else if (iequals(key, "reconnect")) {
      if (!parse_seconds(value, c.reconnect_initial)) return {};
    } else if (iequals(key, "reconnect_max")) {
      if (!parse_seconds(value, c.reconnect_max)) return {};
    } else if (iequals(key, "reconnect_multiplier")) {
      if (!parse_factor(value, c.reconnect_multiplier)) return {};
    } else if (iequals(key, "login_failure")) {
      if (iequals(value, "stop")) {
        c.login_failure = login_failure_policy::stop;
      } else if (iequals(value, "retry")) {
        c.login_failure = login_failure_policy::retry;
      } else {
        return {};
      }
    } else if (iequals(key, "keepalive")) {
      if (!parse_seconds(value, c.keepalive_interval)) return {};
    } else {
      return {};
    }
  }
  if (!c.tls_key_file.empty() && c.tls_cert_file.empty()) return {};  // a key for what?
  ec = {};
  return c;
}

config config::from_url(std::string_view text) {
  boost::system::error_code ec;
  auto c = from_url(text, ec);
  if (ec) throw boost::system::system_error(ec, "ami::config::from_url");
  return c;
}

std::string config::redacted() const {
  const config defaults;
  std::string s = tls ? "amis://" : "ami://";
  if (!username.empty() || !secret.empty()) {
    s += percent_encode(username);
    if (!secret.empty()) s += ":***";
    s += '@';
  }
  if (host.find(':') != std::string::npos) {
    s += '[' + host + ']';
  } else {
    s += percent_encode(host);
  }
  s += ':' + std::to_string(port);
  std::string query;
  auto add = [&query](const char* key, const std::string& value) {
    query += query.empty() ? '?' : '&';
    query += key;
    query += '=';
    query += value;
  };
  auto add_seconds = [&](const char* key, std::chrono::milliseconds v,
                         std::chrono::milliseconds def) {
    if (v == def) return;
    std::string t;
    append_seconds(t, v);
    add(key, t);
  };
  if (events != defaults.events) add("events", percent_encode(events));
  if (auth == auth_method::md5) add("auth", "md5");
  add_seconds("connect_timeout", connect_timeout, defaults.connect_timeout);
  add_seconds("login_timeout", login_timeout, defaults.login_timeout);
  add_seconds("action_timeout", action_timeout, defaults.action_timeout);
  if (max_in_flight != defaults.max_in_flight) add("max_in_flight", std::to_string(max_in_flight));
  if (max_queued != defaults.max_queued) add("max_queued", std::to_string(max_queued));
  add_seconds("reconnect", reconnect_initial, defaults.reconnect_initial);
  add_seconds("reconnect_max", reconnect_max, defaults.reconnect_max);
  if (reconnect_multiplier != defaults.reconnect_multiplier) {
    char factor[32];
    std::snprintf(factor, sizeof factor, "%g", reconnect_multiplier);
    add("reconnect_multiplier", factor);
  }
  if (login_failure == login_failure_policy::retry) add("login_failure", "retry");
  add_seconds("keepalive", keepalive_interval, defaults.keepalive_interval);
  if (tls) {
    if (!tls_ca_file.empty()) add("ca", query_value(tls_ca_file));
    if (!tls_cert_file.empty()) add("cert", query_value(tls_cert_file));
    if (!tls_key_file.empty()) add("key", query_value(tls_key_file));
    if (tls_insecure) add("insecure", "1");
    if (!tls_server_name.empty()) add("server_name", query_value(tls_server_name));
  }
  return s + query;
}

}  // namespace ami
