#include "ami/agi/reply.hpp"

#include <charconv>

namespace ami::agi {
namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

bool is_space(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim_left(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  return s;
}

// "200", "510", ...: three digits followed by the end, a space or (first 520 line) '-'.
bool parse_code(std::string_view line, int& code) noexcept {
  if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2])) {
    return false;
  }
  if (line.size() > 3 && line[3] != ' ' && line[3] != '-') return false;
  code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  return true;
}

// "key=value key2=value2": every token must hold '=' with a non-empty key.
bool parse_attributes(std::string_view s, reply& out) {
  s = trim_left(s);
  while (!s.empty()) {
    std::size_t end = 0;
    while (end < s.size() && !is_space(s[end])) ++end;
    const auto token = s.substr(0, end);
    const auto eq = token.find('=');
    if (eq == std::string_view::npos || eq == 0) return false;
    out.attributes.emplace_back(token.substr(0, eq), token.substr(eq + 1));
    s = trim_left(s.substr(end));
  }
  return true;
}

// The part after "200 ": result=VALUE [(data)] [key=value ...].
bool parse_success(std::string_view s, reply& out) {
  s = trim_left(s);
  constexpr std::string_view prefix = "result=";
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  std::size_t end = 0;
  while (end < s.size() && !is_space(s[end])) ++end;
  out.result = std::string(s.substr(0, end));
  s = trim_left(s.substr(end));
  if (!s.empty() && s.front() == '(') {
    // The data may hold spaces and parentheses of its own: it ends at the last ')'.
    const auto close = s.rfind(')');
    if (close == std::string_view::npos) return false;
    out.data = std::string(s.substr(1, close - 1));
    s = s.substr(close + 1);
    if (!s.empty() && !is_space(s.front())) return false;
  }
  return parse_attributes(s, out);
}

}  // namespace

long long reply::result_value(long long fallback) const noexcept {
  long long v = 0;
  const auto* first = result.data();
  const auto* last = result.data() + result.size();
  const auto [ptr, ec] = std::from_chars(first, last, v);
  if (ec != std::errc{} || ptr != last || first == last) return fallback;
  return v;
}

std::optional<std::string_view> reply::attribute(std::string_view key) const noexcept {
  for (const auto& [k, v] : attributes) {
    if (k == key) return std::string_view(v);
  }
  return std::nullopt;
}

std::optional<error> reply::failure() const noexcept {
  switch (code) {
    case 200: return std::nullopt;
    case 510: return error::agi_invalid_command;
    case 511: return error::dead_channel;
    case 520: return error::agi_usage;
    default: return error::agi_malformed_reply;
  }
}

std::optional<error> parse_reply_line(std::string_view line, reply& out) {
  out = reply{};
  int code = 0;
  if (!parse_code(line, code) || (line.size() > 3 && line[3] == '-')) {
    return error::agi_malformed_reply;
  }
  out.code = code;
  const auto rest = line.size() > 3 ? line.substr(4) : std::string_view{};
  if (code == 200) {
    if (!parse_success(rest, out)) {
      out = reply{};
      return error::agi_malformed_reply;
    }
    return std::nullopt;
  }
  out.text = std::string(rest);
  return std::nullopt;
}

reply_reader::status reply_reader::put(std::string_view line, reply& out, error& err) {
  if (in_usage_) {
    int code = 0;
    if (parse_code(line, code) && code == 520 && line.size() > 3 && line[3] == ' ') {
      in_usage_ = false;
      out = std::move(pending_);
      pending_ = reply{};
      return status::reply;
    }
    if (pending_.usage.size() >= max_usage_lines_) {
      reset();
      err = error::agi_malformed_reply;
      return status::failed;
    }
    pending_.usage.emplace_back(line);
    return status::need_more;
  }
  if (line == "HANGUP") return status::hangup;
  int code = 0;
  if (parse_code(line, code) && code == 520 && line.size() > 3 && line[3] == '-') {
    in_usage_ = true;
    pending_ = reply{};
    pending_.code = 520;
    pending_.text = std::string(line.substr(4));
    return status::need_more;
  }
  if (const auto e = parse_reply_line(line, out)) {
    err = *e;
    return status::failed;
  }
  return status::reply;
}

void reply_reader::reset() noexcept {
  in_usage_ = false;
  pending_ = reply{};
}

}  // namespace ami::agi
