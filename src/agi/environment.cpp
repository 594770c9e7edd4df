#include "ami/agi/environment.hpp"

#include "ami/agi/command.hpp"

#include <charconv>

namespace ami::agi {
namespace {

struct known_key {
  std::string_view key;
  std::string environment::*member;
};

constexpr known_key known_keys[] = {
    {"agi_request", &environment::request},
    {"agi_channel", &environment::channel},
    {"agi_language", &environment::language},
    {"agi_type", &environment::type},
    {"agi_uniqueid", &environment::uniqueid},
    {"agi_version", &environment::version},
    {"agi_callerid", &environment::callerid},
    {"agi_calleridname", &environment::calleridname},
    {"agi_callingpres", &environment::callingpres},
    {"agi_callingani2", &environment::callingani2},
    {"agi_callington", &environment::callington},
    {"agi_callingtns", &environment::callingtns},
    {"agi_dnid", &environment::dnid},
    {"agi_rdnis", &environment::rdnis},
    {"agi_context", &environment::context},
    {"agi_extension", &environment::extension},
    {"agi_priority", &environment::priority},
    {"agi_enhanced", &environment::enhanced},
    {"agi_accountcode", &environment::accountcode},
    {"agi_threadid", &environment::threadid},
    {"agi_network", &environment::network},
    {"agi_network_script", &environment::network_script},
};

constexpr std::string_view arg_prefix = "agi_arg_";

// The N of "agi_arg_N", or 0.
std::size_t arg_index(std::string_view key) noexcept {
  if (key.substr(0, arg_prefix.size()) != arg_prefix) return 0;
  const auto digits = key.substr(arg_prefix.size());
  std::size_t n = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc{} || ptr != digits.data() + digits.size() || digits.empty()) return 0;
  return n == 0 ? max_arguments + 1 : n;
}

}  // namespace

std::optional<std::string_view> environment::get(std::string_view key) const {
  for (const auto& k : known_keys) {
    if (k.key == key) return std::string_view(this->*k.member);
  }
  if (const auto n = arg_index(key); n >= 1 && n <= args.size())
    return std::string_view(args[n - 1]);
  for (const auto& [k, v] : extra) {
    if (k == key) return std::string_view(v);
  }
  return std::nullopt;
}

std::string environment::script() const {
  if (!network_script.empty()) return network_script;
  std::string_view r = request;
  const auto scheme = r.find("://");
  if (scheme == std::string_view::npos) return std::string(r);
  r.remove_prefix(scheme + 3);
  const auto slash = r.find('/');
  if (slash == std::string_view::npos) return {};
  r.remove_prefix(slash + 1);
  return std::string(r.substr(0, r.find('?')));
}

std::optional<error> add_environment_line(environment& env, std::string_view line) {
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return error::agi_malformed_environment;
  const auto key = line.substr(0, colon);
  auto value = line.substr(colon + 1);
  // Asterisk writes "key: value"; an empty value leaves "key: " (or "key:").
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  for (const auto& k : known_keys) {
    if (k.key == key) {
      env.*k.member = std::string(value);
      return std::nullopt;
    }
  }
  if (key.substr(0, arg_prefix.size()) == arg_prefix) {
    const auto n = arg_index(key);
    if (n == 0 || n > max_arguments) return error::agi_malformed_environment;
    if (env.args.size() < n) env.args.resize(n);
    env.args[n - 1] = std::string(value);
    return std::nullopt;
  }
  env.extra.emplace_back(key, value);
  return std::nullopt;
}

std::optional<error> parse_environment(std::string_view block, environment& env,
                                       std::size_t max_lines) {
  env = environment{};
  std::size_t lines = 0;
  while (!block.empty()) {
    const auto lf = block.find('\n');
    auto line = block.substr(0, lf);
    block = lf == std::string_view::npos ? std::string_view{} : block.substr(lf + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) return std::nullopt;
    if (++lines > max_lines) return error::agi_malformed_environment;
    if (const auto e = add_environment_line(env, line)) return e;
  }
  return std::nullopt;
}

}  // namespace ami::agi
