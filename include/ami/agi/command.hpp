// An AGI command as a name and arguments, and its wire form: the line Asterisk's argument
// splitter (res_agi.c parse_args) reads back into exactly these arguments.
#pragma once

#include "ami/error.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ami::agi {

struct reply;

// A generic command: "GET VARIABLE" with {"CALLERID(num)"}. Its result is the reply itself.
struct command {
  std::string name;  // the command words, written verbatim ("STREAM FILE")
  std::vector<std::string> args;

  using result_type = reply;
  command to_command() const { return *this; }
};

// Appends one argument, quoted when it is empty or holds a space or a tab, with every
// backslash and double quote escaped by a backslash. CR, LF and NUL are not checked here.
void append_argument(std::string& out, std::string_view arg);

// Writes the command line (without the newline) into `out`. Returns
// error::agi_invalid_argument when the name is empty or the name or an argument holds CR,
// LF or NUL; `out` is then unspecified and nothing must be sent.
std::optional<error> format_command(const command& c, std::string& out);

// The limit of Asterisk's argument table (MAX_ARGS 128, the name's words included).
inline constexpr std::size_t max_arguments = 126;

}  // namespace ami::agi
