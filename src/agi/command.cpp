#include "ami/agi/command.hpp"

namespace ami::agi {
namespace {

bool forbidden(std::string_view s) noexcept {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

}  // namespace

void append_argument(std::string& out, std::string_view arg) {
  const bool quote = arg.empty() || arg.find_first_of(" \t") != std::string_view::npos;
  if (quote) out += '"';
  for (const char ch : arg) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  if (quote) out += '"';
}

std::optional<error> format_command(const command& c, std::string& out) {
  if (c.name.empty() || forbidden(c.name) || c.args.size() > max_arguments) {
    return error::agi_invalid_argument;
  }
  out.clear();
  out += c.name;
  for (const auto& a : c.args) {
    if (forbidden(a)) return error::agi_invalid_argument;
    out += ' ';
    append_argument(out, a);
  }
  return std::nullopt;
}

}  // namespace ami::agi
