#include "ami/proto/serializer.hpp"

#include "ami/message.hpp"

namespace ami::proto {
namespace {

constexpr std::size_t line_overhead = 4;  // ": " and "\r\n"

// A plain loop: find_first_of with a two-character set calls memchr once per character,
// which made this check the largest cost of sending a short action.
bool has_line_break(std::string_view s) noexcept {
  for (const char c : s) {
    if (c == '\r' || c == '\n') return true;
  }
  return false;
}

bool has_break_or_colon(std::string_view s) noexcept {
  for (const char c : s) {
    if (c == '\r' || c == '\n' || c == ':') return true;
  }
  return false;
}

void append_line(std::string& out, std::string_view key, std::string_view value) {
  out.append(key);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

}  // namespace

std::optional<error> check_field(std::string_view key, std::string_view value) noexcept {
  if (key.empty() || has_break_or_colon(key) || has_line_break(value)) {
    return error::invalid_field;
  }
  if (key.size() + value.size() + line_overhead > max_outbound_line) return error::field_too_long;
  return std::nullopt;
}

writer& writer::field(std::string_view key, std::string_view value) {
  if (error_) return *this;
  if (auto e = check_field(key, value)) {
    error_ = e;
    return *this;
  }
  append_line(out_, key, value);
  return *this;
}

std::optional<error> writer::finish() {
  if (error_) {
    out_.resize(start_);
    return error_;
  }
  out_.append("\r\n");
  return std::nullopt;
}

std::optional<error> serialize(const action& a, std::string_view action_id, std::string& out) {
  const bool own_id = !a.action_id().empty();
  if (a.name().empty() || (!own_id && action_id.empty())) return error::missing_field;
  for (const auto& f : a.fields()) {
    if (iequals(f.first, "Action")) return error::invalid_field;  // a second Action header
  }
  writer w(out);
  w.field("Action", a.name());
  for (const auto& [key, value] : a.fields()) {
    // An empty ActionID field would be sent ahead of the assigned one, and Asterisk reads
    // the first: the assigned id takes its place instead.
    if (!own_id && iequals(key, "ActionID")) continue;
    w.field(key, value);
  }
  if (!own_id) w.field("ActionID", action_id);
  return w.finish();
}

}  // namespace ami::proto
