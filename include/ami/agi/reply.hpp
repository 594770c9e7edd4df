// AGI replies: "200 result=1 (value) endpos=3520", "510 Invalid or unknown command",
// "511 Command Not Permitted on a dead channel or intercept routine", and 520 with its usage
// body ("520-Invalid command syntax.  Proper usage follows:" ... "520 End of proper usage.").
// The reply_reader assembles them from lines and recognises the "HANGUP" notification that
// FastAGI sends when the caller hangs up.
#pragma once

#include "ami/error.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ami::agi {

struct reply {
  int code = 0;                     // 200, 510, 511, 520 (any three digits are accepted)
  std::string result;               // the text after "result=" (a number, or GET DATA's digits)
  std::optional<std::string> data;  // the parenthesised part, without the parentheses
  std::vector<std::pair<std::string, std::string>> attributes;  // endpos=3520, in order
  std::string text;                // what follows the code on a non-200 line
  std::vector<std::string> usage;  // 520: the lines between the first and the last

  // result as an integer; `fallback` when it is not one.
  long long result_value(long long fallback = 0) const noexcept;
  std::optional<std::string_view> attribute(std::string_view key) const noexcept;
  // The reply's error: none for 200, agi_invalid_command (510), dead_channel (511),
  // agi_usage (520), agi_malformed_reply for any other code.
  std::optional<error> failure() const noexcept;
};

// Parses one complete single-line reply ("200 ...", "510 ...", a final "520 ..."). Returns
// error::agi_malformed_reply for anything else (a 200 without result=, no code, ...).
std::optional<error> parse_reply_line(std::string_view line, reply& out);

// Assembles replies from lines (without their line ends).
class reply_reader {
 public:
  enum class status {
    need_more,  // the line was part of a multi-line reply
    reply,      // `out` holds a complete reply
    hangup,     // the line was the HANGUP notification
    failed,     // `err` says why; the reader is ready for the next reply
  };

  // `max_usage_lines` bounds a 520 body.
  explicit reply_reader(std::size_t max_usage_lines = 256) : max_usage_lines_(max_usage_lines) {}

  status put(std::string_view line, reply& out, error& err);
  void reset() noexcept;

 private:
  std::size_t max_usage_lines_;
  bool in_usage_ = false;
  reply pending_;
};

}  // namespace ami::agi
