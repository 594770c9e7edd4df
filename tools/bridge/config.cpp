#include "config.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>

namespace ami::bridge {

namespace json = boost::json;

std::optional<std::string> process_env(std::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

bool is_subject_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  return std::none_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return c == '.' || c == '*' || c == '>' || u <= 0x20 || u == 0x7f;
  });
}

const char* to_string(overflow_policy p) noexcept {
  return p == overflow_policy::drop ? "drop" : "resync";
}

namespace {

// Reading one object: every key must be known, so that a typo is an error rather than a
// setting silently ignored.
class reader {
 public:
  reader(const json::object& o, std::string where) : o_(o), where_(std::move(where)) {}

  std::optional<std::string> problem;

  const json::value* find(std::string_view key) {
    seen_.insert(std::string(key));
    auto it = o_.find(key);
    return it == o_.end() ? nullptr : &it->value();
  }

  void text(std::string_view key, std::string& out) {
    if (const auto* v = find(key)) {
      if (!v->is_string()) return fail(key, "a string");
      out = std::string(v->get_string());
    }
  }

  // A secret given inline (`key`) or by the name of an environment variable (`key_env`).
  void secret(std::string_view key, const env_lookup& env, std::string& out) {
    text(key, out);
    std::string var;
    const std::string env_key = std::string(key) + "_env";
    text(env_key, var);
    if (var.empty()) return;
    if (auto value = env(var)) {
      out = *value;
    } else {
      set_problem(where_ + "." + env_key + ": the environment variable " + var + " is not set");
    }
  }

  template <class Int>
  void integer(std::string_view key, Int& out, std::int64_t min, std::int64_t max) {
    if (const auto* v = find(key)) {
      const auto n = v->if_int64();
      if (!n || *n < min || *n > max) {
        return fail(key, "an integer from " + std::to_string(min) + " to " + std::to_string(max));
      }
      out = static_cast<Int>(*n);
    }
  }

  void millis(std::string_view key, std::chrono::milliseconds& out, std::int64_t min) {
    std::int64_t n = out.count();
    integer(key, n, min, std::int64_t{86400000} * 365);
    out = std::chrono::milliseconds(n);
  }

  void boolean(std::string_view key, bool& out) {
    if (const auto* v = find(key)) {
      if (!v->is_bool()) return fail(key, "true or false");
      out = v->get_bool();
    }
  }

  template <class Enum, std::size_t N>
  void choice(std::string_view key, Enum& out, const std::pair<const char*, Enum> (&names)[N]) {
    std::string s;
    text(key, s);
    if (s.empty()) return;
    for (const auto& [name, value] : names) {
      if (s == name) {
        out = value;
        return;
      }
    }
    std::string all;
    for (const auto& n : names) all += (all.empty() ? "" : ", ") + std::string(n.first);
    fail(key, "one of " + all);
  }

  const json::object* object(std::string_view key) {
    const auto* v = find(key);
    if (v == nullptr) return nullptr;
    if (!v->is_object()) {
      fail(key, "an object");
      return nullptr;
    }
    return &v->get_object();
  }

  const json::array* array(std::string_view key) {
    const auto* v = find(key);
    if (v == nullptr) return nullptr;
    if (!v->is_array()) {
      fail(key, "an array");
      return nullptr;
    }
    return &v->get_array();
  }

  void strings(std::string_view key, std::vector<std::string>& out) {
    const auto* a = array(key);
    if (a == nullptr) return;
    out.clear();
    for (const auto& v : *a) {
      if (!v.is_string()) return fail(key, "an array of strings");
      out.emplace_back(v.get_string());
    }
  }

  // Unknown keys, once every known one was looked up.
  std::optional<std::string> finish() {
    if (problem) return problem;
    for (const auto& kv : o_) {
      if (seen_.count(std::string(kv.key())) == 0) {
        return where_ + ": unknown key \"" + std::string(kv.key()) + "\"";
      }
    }
    return std::nullopt;
  }

  const std::string& where() const { return where_; }

  void set_problem(std::string p) {
    if (!problem) problem = std::move(p);
  }

 private:
  void fail(std::string_view key, const std::string& what) {
    set_problem(where_ + "." + std::string(key) + " must be " + what);
  }

  const json::object& o_;
  std::string where_;
  std::set<std::string> seen_;
};

std::optional<std::string> read_pbx(const json::value& v, std::size_t i, const env_lookup& env,
                                    bridge_config& out) {
  const std::string where = "pbxs[" + std::to_string(i) + "]";
  if (!v.is_object()) return where + " must be an object";
  reader r(v.get_object(), where);
  pbx_config p;
  std::string url;
  std::string secret;
  r.text("name", p.name);
  r.text("url", url);
  r.secret("secret", env, secret);
  r.strings("events", p.events);
  if (auto bad = r.finish()) return bad;
  if (url.empty()) return where + ".url is missing";
  boost::system::error_code ec;
  p.ami = ami::config::from_url(url, ec);
  // Never repeat the URL: it may hold the secret.
  if (ec) return where + ".url is not a valid ami:// URL";
  if (!secret.empty()) p.ami.secret = secret;
  out.pbxs.push_back(std::move(p));
  return std::nullopt;
}

std::optional<std::string> read_nats(const json::object& o, const env_lookup& env, nats_config& n) {
  reader r(o, "nats");
  r.strings("servers", n.servers);
  r.text("user", n.user);
  r.secret("password", env, n.password);
  r.secret("token", env, n.token);
  r.text("credentials", n.credentials_file);
  r.text("nkey_seed_file", n.nkey_seed_file);
  r.text("name", n.name);
  if (const auto* tls = r.object("tls")) {
    reader t(*tls, "nats.tls");
    n.tls = true;
    t.boolean("enabled", n.tls);
    t.text("ca", n.ca_file);
    if (auto bad = t.finish()) return bad;
  }
  return r.finish();
}

constexpr std::pair<const char*, retention_policy> retention_names[] = {
    {"limits", retention_policy::limits},
    {"interest", retention_policy::interest},
    {"workqueue", retention_policy::workqueue}};
constexpr std::pair<const char*, storage_kind> storage_names[] = {{"file", storage_kind::file},
                                                                  {"memory", storage_kind::memory}};
constexpr std::pair<const char*, overflow_policy> overflow_names[] = {
    {"resync", overflow_policy::resync}, {"drop", overflow_policy::drop}};

std::optional<std::string> read_stream(const json::object& o, stream_config& s) {
  reader r(o, "stream");
  r.text("name", s.name);
  r.choice("retention", s.retention, retention_names);
  r.choice("storage", s.storage, storage_names);
  r.integer("replicas", s.replicas, 1, 5);
  std::int64_t age = s.max_age.count();
  r.integer("max_age_s", age, 0, std::int64_t{86400} * 3650);
  s.max_age = std::chrono::seconds(age);
  r.integer("max_bytes", s.max_bytes, -1, INT64_MAX);
  r.millis("duplicate_window_ms", s.duplicate_window, 100);
  return r.finish();
}

}  // namespace

std::optional<std::string> parse_config(std::string_view text, const env_lookup& env,
                                        bridge_config& out) {
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec) return "the configuration is not valid JSON: " + ec.message();
  if (!doc.is_object()) return "the configuration must be a JSON object";
  reader r(doc.get_object(), "config");
  if (const auto* pbxs = r.array("pbxs")) {
    for (std::size_t i = 0; i < pbxs->size(); ++i) {
      if (auto bad = read_pbx((*pbxs)[i], i, env, out)) return bad;
    }
  }
  if (const auto* n = r.object("nats")) {
    if (auto bad = read_nats(*n, env, out.nats)) return bad;
  }
  r.text("prefix", out.prefix);
  if (const auto* s = r.object("stream")) {
    if (auto bad = read_stream(*s, out.stream)) return bad;
  }
  if (const auto* p = r.object("publish")) {
    reader pr(*p, "publish");
    pr.integer("window", out.window, 1, 1000000);
    pr.millis("ack_timeout_ms", out.ack_timeout, 10);
    if (auto bad = pr.finish()) return bad;
  }
  if (const auto* b = r.object("buffer")) {
    reader br(*b, "buffer");
    br.integer("events", out.buffer, 1, 100000000);
    br.choice("overflow", out.overflow, overflow_names);
    if (auto bad = br.finish()) return bad;
  }
  if (const auto* l = r.object("lease")) {
    reader lr(*l, "lease");
    lr.text("bucket", out.lease_bucket);
    lr.millis("ttl_ms", out.lease_ttl, 300);
    lr.text("bridge_id", out.bridge_id);
    if (auto bad = lr.finish()) return bad;
  }
  r.millis("drain_timeout_ms", out.drain_timeout, 0);
  if (auto bad = r.finish()) return bad;
  return validate(out);
}

std::optional<std::string> add_pbx_option(std::string_view spec, const env_lookup& env,
                                          bridge_config& out) {
  const auto eq = spec.find('=');
  if (eq == std::string_view::npos || eq == 0) return "--pbx needs NAME=ami://user:secret@host";
  pbx_config p;
  p.name = std::string(spec.substr(0, eq));
  boost::system::error_code ec;
  p.ami = ami::config::from_url(spec.substr(eq + 1), ec);
  if (ec) return "--pbx " + p.name + ": not a valid ami:// URL";
  if (p.ami.secret.empty()) {
    // AMI_SECRET_<NAME> (upper case), then AMI_SECRET.
    std::string var = "AMI_SECRET_";
    for (char c : p.name) {
      const auto u = static_cast<unsigned char>(c);
      var += std::isalnum(u) != 0 ? static_cast<char>(std::toupper(u)) : '_';
    }
    if (auto s = env(var)) {
      p.ami.secret = *s;
    } else if (auto any = env("AMI_SECRET")) {
      p.ami.secret = *any;
    }
  }
  out.pbxs.push_back(std::move(p));
  return std::nullopt;
}

std::optional<std::string> validate(const bridge_config& cfg) {
  if (cfg.pbxs.empty()) return "no PBX configured";
  if (cfg.nats.servers.empty()) return "no NATS server configured";
  std::set<std::string> names;
  for (const auto& p : cfg.pbxs) {
    // A subject token and a key of the lease bucket: letters, digits, '-' and '_'.
    const bool plain = !p.name.empty() && std::all_of(p.name.begin(), p.name.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
    });
    if (!plain) {
      return "PBX name \"" + p.name + "\" must be letters, digits, '-' and '_'";
    }
    if (!names.insert(p.name).second) return "PBX name \"" + p.name + "\" appears twice";
    for (const auto& g : p.events) {
      if (g.empty()) return "PBX " + p.name + ": an empty event filter";
    }
  }
  if (!is_subject_token(cfg.prefix)) return "the prefix must be one subject token";
  if (!is_subject_token(cfg.stream.name)) return "the stream name must be one subject token";
  if (!is_subject_token(cfg.lease_bucket)) return "the lease bucket must be one subject token";
  for (std::size_t i = 0; i < cfg.nats.servers.size(); ++i) {
    const auto& s = cfg.nats.servers[i];
    // Not repeated: a server URL may hold a password.
    if (s.rfind("nats://", 0) != 0 && s.rfind("tls://", 0) != 0) {
      return "NATS server " + std::to_string(i + 1) + " must be a nats:// or tls:// URL";
    }
  }
  if (!cfg.nats.token.empty() && !cfg.nats.user.empty()) {
    return "nats: give a user and password or a token, not both";
  }
  return std::nullopt;
}

}  // namespace ami::bridge
