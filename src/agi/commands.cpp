#include "ami/agi/commands.hpp"

#include <charconv>
#include <utility>

namespace ami::agi {
namespace {

std::string num(long long v) { return std::to_string(v); }

std::optional<long long> to_number(std::string_view s) {
  long long v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// result=ASCII code of a digit: 0 none, -1 failure.
std::optional<char> digit_of(long long result) {
  if (result <= 0 || result > 127) return std::nullopt;
  return static_cast<char>(result);
}

std::optional<long long> endpos_of(const reply& r) {
  if (const auto e = r.attribute("endpos")) return to_number(*e);
  return std::nullopt;
}

status_result status_of(reply r) {
  status_result out;
  out.result = r.result_value(-1);
  out.raw = std::move(r);
  return out;
}

digit_result digit_of_reply(reply r) {
  digit_result out;
  const auto v = r.result_value(-1);
  out.failed = v < 0;
  out.digit = digit_of(v);
  out.raw = std::move(r);
  return out;
}

playback_result playback_of(reply r) {
  playback_result out;
  const auto v = r.result_value(-1);
  out.failed = v < 0;
  out.digit = digit_of(v);
  out.endpos = endpos_of(r);
  out.raw = std::move(r);
  return out;
}

// result=1 (value) when set; result=0 when not.
value_result value_of(reply r) {
  value_result out;
  if (r.result_value(0) == 1) out.value = r.data.value_or(std::string{});
  out.raw = std::move(r);
  return out;
}

command make(const char* name, std::vector<std::string> args = {}) {
  return command{name, std::move(args)};
}

}  // namespace

command answer::to_command() const { return make("ANSWER"); }
status_result answer::parse(reply r) { return status_of(std::move(r)); }

command hangup::to_command() const {
  return channel.empty() ? make("HANGUP") : make("HANGUP", {channel});
}
status_result hangup::parse(reply r) { return status_of(std::move(r)); }

command stream_file::to_command() const {
  auto c = make("STREAM FILE", {file, escape_digits});
  if (offset) c.args.push_back(num(*offset));
  return c;
}
playback_result stream_file::parse(reply r) { return playback_of(std::move(r)); }

command control_stream_file::to_command() const {
  auto c = make("CONTROL STREAM FILE", {file, escape_digits});
  // Positional: an argument given forces the ones before it.
  const bool off = offset_ms.has_value();
  const bool pause = off || !pause_digit.empty();
  const bool rew = pause || !rewind_digit.empty();
  const bool fwd = rew || !forward_digit.empty();
  const bool skip = fwd || skip_ms.has_value();
  if (skip) c.args.push_back(num(skip_ms.value_or(3000)));
  if (fwd) c.args.push_back(forward_digit.empty() ? "#" : forward_digit);
  if (rew) c.args.push_back(rewind_digit.empty() ? "*" : rewind_digit);
  if (pause) c.args.push_back(pause_digit);
  if (off) c.args.push_back(num(*offset_ms));
  return c;
}
playback_result control_stream_file::parse(reply r) { return playback_of(std::move(r)); }

command get_data::to_command() const {
  auto c = make("GET DATA", {file});
  if (timeout || max_digits) c.args.push_back(num(timeout ? timeout->count() : 0));
  if (max_digits) c.args.push_back(num(*max_digits));
  return c;
}
digits_result get_data::parse(reply r) {
  digits_result out;
  out.failed = r.result == "-1";
  if (!out.failed) out.digits = r.result;
  out.timed_out = r.data && *r.data == "timeout";
  out.raw = std::move(r);
  return out;
}

command get_option::to_command() const {
  auto c = make("GET OPTION", {file, escape_digits});
  if (timeout) c.args.push_back(num(timeout->count()));
  return c;
}
playback_result get_option::parse(reply r) { return playback_of(std::move(r)); }

command wait_for_digit::to_command() const {
  return make("WAIT FOR DIGIT", {num(timeout.count())});
}
digit_result wait_for_digit::parse(reply r) { return digit_of_reply(std::move(r)); }

command say_digits::to_command() const { return make("SAY DIGITS", {digits, escape_digits}); }
digit_result say_digits::parse(reply r) { return digit_of_reply(std::move(r)); }

command say_number::to_command() const {
  auto c = make("SAY NUMBER", {num(number), escape_digits});
  if (!gender.empty()) c.args.push_back(gender);
  return c;
}
digit_result say_number::parse(reply r) { return digit_of_reply(std::move(r)); }

command say_alpha::to_command() const { return make("SAY ALPHA", {text, escape_digits}); }
digit_result say_alpha::parse(reply r) { return digit_of_reply(std::move(r)); }

command say_date::to_command() const { return make("SAY DATE", {num(seconds), escape_digits}); }
digit_result say_date::parse(reply r) { return digit_of_reply(std::move(r)); }

command say_time::to_command() const { return make("SAY TIME", {num(seconds), escape_digits}); }
digit_result say_time::parse(reply r) { return digit_of_reply(std::move(r)); }

command record_file::to_command() const {
  auto c = make("RECORD FILE", {file, format, escape_digits, num(timeout.count())});
  if (offset) c.args.push_back(num(*offset));
  if (beep) c.args.emplace_back("BEEP");
  if (silence_seconds) c.args.push_back("s=" + num(*silence_seconds));
  return c;
}
record_result record_file::parse(reply r) {
  record_result out;
  const auto v = r.result_value(-1);
  out.failed = v < 0;
  out.digit = digit_of(v);
  out.reason = r.data.value_or(std::string{});
  out.endpos = endpos_of(r);
  out.raw = std::move(r);
  return out;
}

command set_variable::to_command() const { return make("SET VARIABLE", {name, value}); }
status_result set_variable::parse(reply r) { return status_of(std::move(r)); }

command get_variable::to_command() const { return make("GET VARIABLE", {name}); }
value_result get_variable::parse(reply r) { return value_of(std::move(r)); }

command get_full_variable::to_command() const {
  auto c = make("GET FULL VARIABLE", {expression});
  if (!channel.empty()) c.args.push_back(channel);
  return c;
}
value_result get_full_variable::parse(reply r) { return value_of(std::move(r)); }

command exec::to_command() const {
  auto c = make("EXEC", {application});
  if (!options.empty()) c.args.push_back(options);
  return c;
}
exec_result exec::parse(reply r) {
  exec_result out;
  out.result = r.result_value(-1);
  out.raw = std::move(r);
  return out;
}

command set_context::to_command() const { return make("SET CONTEXT", {context}); }
status_result set_context::parse(reply r) { return status_of(std::move(r)); }

command set_extension::to_command() const { return make("SET EXTENSION", {extension}); }
status_result set_extension::parse(reply r) { return status_of(std::move(r)); }

command set_priority::to_command() const { return make("SET PRIORITY", {priority}); }
status_result set_priority::parse(reply r) { return status_of(std::move(r)); }

command set_callerid::to_command() const { return make("SET CALLERID", {callerid}); }
status_result set_callerid::parse(reply r) { return status_of(std::move(r)); }

command channel_status::to_command() const {
  return channel.empty() ? make("CHANNEL STATUS") : make("CHANNEL STATUS", {channel});
}
channel_status_result channel_status::parse(reply r) {
  channel_status_result out;
  out.state = static_cast<int>(r.result_value(-1));
  out.raw = std::move(r);
  return out;
}

command database_get::to_command() const { return make("DATABASE GET", {family, key}); }
value_result database_get::parse(reply r) { return value_of(std::move(r)); }

command database_put::to_command() const { return make("DATABASE PUT", {family, key, value}); }
status_result database_put::parse(reply r) { return status_of(std::move(r)); }

command database_del::to_command() const { return make("DATABASE DEL", {family, key}); }
status_result database_del::parse(reply r) { return status_of(std::move(r)); }

command verbose::to_command() const { return make("VERBOSE", {message, num(level)}); }
status_result verbose::parse(reply r) { return status_of(std::move(r)); }

command noop::to_command() const { return text.empty() ? make("NOOP") : make("NOOP", {text}); }
status_result noop::parse(reply r) { return status_of(std::move(r)); }

command set_music::to_command() const {
  auto c = make("SET MUSIC", {on ? "ON" : "OFF"});
  if (!music_class.empty()) c.args.push_back(music_class);
  return c;
}
status_result set_music::parse(reply r) { return status_of(std::move(r)); }

command async_break::to_command() const { return make("ASYNCAGI BREAK"); }
status_result async_break::parse(reply r) { return status_of(std::move(r)); }

}  // namespace ami::agi
