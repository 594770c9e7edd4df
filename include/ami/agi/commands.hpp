// Typed AGI commands. Each has to_command() (its name and arguments) and a result_type
// built by parse() from a 200 reply; the reply itself stays readable as `raw`. A session's
// async_exec(cmd, token) completes with void(error_code, C::result_type).
#pragma once

#include "ami/agi/command.hpp"
#include "ami/agi/reply.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace ami::agi {

// ---- results

// The result=N of commands that only succeed or fail (-1, usually a hangup).
struct status_result {
  long long result = 0;
  reply raw;
  bool ok() const noexcept { return result >= 0; }
};

// A digit the caller pressed (or nothing), for WAIT FOR DIGIT and the SAY commands.
struct digit_result {
  std::optional<char> digit;  // result=ASCII code of the digit, 0 for none
  bool failed = false;        // result=-1
  reply raw;
};

// Playback: STREAM FILE, CONTROL STREAM FILE, GET OPTION.
struct playback_result {
  std::optional<char> digit;        // the digit that interrupted playback
  std::optional<long long> endpos;  // the sample offset where playback stopped
  bool failed = false;              // result=-1 (hung up, or the file could not be played)
  reply raw;
};

// GET DATA: the digits collected, and whether the wait timed out before max_digits.
struct digits_result {
  std::string digits;
  bool timed_out = false;
  bool failed = false;  // result=-1
  reply raw;
};

// GET VARIABLE, GET FULL VARIABLE, DATABASE GET: the value, when there is one.
struct value_result {
  std::optional<std::string> value;
  reply raw;
};

// RECORD FILE.
struct record_result {
  std::optional<char> digit;        // the escape digit that ended the recording
  std::string reason;               // the parenthesised word: "dtmf", "timeout", "hangup", ...
  std::optional<long long> endpos;  // samples written
  bool failed = false;
  reply raw;
};

// CHANNEL STATUS: 0 down and available ... 6 up, 7 busy.
struct channel_status_result {
  int state = -1;  // -1: no such channel
  reply raw;
};

// EXEC: the application's return value (-2: no such application).
struct exec_result {
  long long result = 0;
  reply raw;
};

// ---- commands

// "Digits" arguments: the keys that interrupt a prompt (e.g. "#", "0123456789*#").
struct answer {
  using result_type = status_result;
  command to_command() const;
  static result_type parse(reply r);
};

struct hangup {
  std::string channel;  // empty: this channel
  using result_type = status_result;
  command to_command() const;
  static result_type parse(reply r);
};

struct stream_file {
  std::string file;
  std::string escape_digits;
  std::optional<long long> offset;  // samples
  using result_type = playback_result;
  command to_command() const;
  static result_type parse(reply r);
};

struct control_stream_file {
  std::string file;
  std::string escape_digits;
  std::optional<long long> skip_ms;
  std::string forward_digit;  // each optional, but a later one needs the earlier ones
  std::string rewind_digit;
  std::string pause_digit;
  std::optional<long long> offset_ms;
  using result_type = playback_result;
  command to_command() const;
  static result_type parse(reply r);
};

struct get_data {
  std::string file;
  std::optional<std::chrono::milliseconds> timeout;
  std::optional<int> max_digits;  // needs timeout
  using result_type = digits_result;
  command to_command() const;
  static result_type parse(reply r);
};

struct get_option {
  std::string file;
  std::string escape_digits;
  std::optional<std::chrono::milliseconds> timeout;
  using result_type = playback_result;
  command to_command() const;
  static result_type parse(reply r);
};

struct wait_for_digit {
  std::chrono::milliseconds timeout{-1};  // -1: forever
  using result_type = digit_result;
  command to_command() const;
  static result_type parse(reply r);
};

struct say_digits {
  std::string digits;
  std::string escape_digits;
  using result_type = digit_result;
  command to_command() const;
  static result_type parse(reply r);
};

struct say_number {
  long long number = 0;
  std::string escape_digits;
  std::string gender;  // optional: "f", "m", "c", "n"
  using result_type = digit_result;
  command to_command() const;
  static result_type parse(reply r);
};

struct say_alpha {
  std::string text;
  std::string escape_digits;
  using result_type = digit_result;
  command to_command() const;
  static result_type parse(reply r);
};

struct say_date {
  std::int64_t seconds = 0;  // since the epoch
  std::string escape_digits;
  using result_type = digit_result;
  command to_command() const;
  static result_type parse(reply r);
};

struct say_time {
  std::int64_t seconds = 0;  // since the epoch
  std::string escape_digits;
  using result_type = digit_result;
  command to_command() const;
  static result_type parse(reply r);
};

struct record_file {
  std::string file;
  std::string format = "wav";
  std::string escape_digits = "#";
  std::chrono::milliseconds timeout{-1};  // -1: no limit
  std::optional<long long> offset;        // samples
  bool beep = false;
  std::optional<int> silence_seconds;  // stop after this much silence
  using result_type = record_result;
  command to_command() const;
  static result_type parse(reply r);
};

struct set_variable {
  std::string name;
  std::string value;
  using result_type = status_result;
  command to_command() const;
  static result_type parse(reply r);
};

struct get_variable {
  std::string name;
  using result_type = value_result;
  command to_command() const;
  static result_type parse(reply r);
};

struct get_full_variable {
  std::string expression;  // "${CALLERID(num)}-${EXTEN}"
  std::string channel;     // empty: this channel
  using result_type = value_result;
  command to_command() const;
  static result_type parse(reply r);
};

struct exec {
  std::string application;
  std::string options;  // passed as one argument, e.g. "PJSIP/100,30"
  using result_type = exec_result;
  command to_command() const;
  static result_type parse(reply r);
};

struct set_context {
  std::string context;
  using result_type = status_result;
  command to_command() const;
  static result_type parse(reply r);
};

struct set_extension {
  std::string extension;
  using result_type = status_result;
  command to_command() const;
  static result_type parse(reply r);
};

struct set_priority {
  std::string priority;  // a number or a label
  using result_type = status_result;
  command to_command() const;
  static result_type parse(reply r);
};

struct set_callerid {
  std::string callerid;  // "\"Name\" <5551234>" or a number
  using result_type = status_result;
  command to_command() const;
  static result_type parse(reply r);
};

struct channel_status {
  std::string channel;  // empty: this channel
  using result_type = channel_status_result;
  command to_command() const;
  static result_type parse(reply r);
};

struct database_get {
  std::string family;
  std::string key;
  using result_type = value_result;
  command to_command() const;
  static result_type parse(reply r);
};

struct database_put {
  std::string family;
  std::string key;
  std::string value;
  using result_type = status_result;  // result=1 stored, 0 failed
  command to_command() const;
  static result_type parse(reply r);
};

struct database_del {
  std::string family;
  std::string key;
  using result_type = status_result;  // result=1 deleted, 0 not found
  command to_command() const;
  static result_type parse(reply r);
};

struct verbose {
  std::string message;
  int level = 1;
  using result_type = status_result;
  command to_command() const;
  static result_type parse(reply r);
};

struct noop {
  std::string text;
  using result_type = status_result;
  command to_command() const;
  static result_type parse(reply r);
};

struct set_music {
  bool on = true;
  std::string music_class;  // empty: the default class
  using result_type = status_result;
  command to_command() const;
  static result_type parse(reply r);
};

// "ASYNCAGI BREAK": AsyncAGI only, returns the channel to the dialplan.
struct async_break {
  using result_type = status_result;
  command to_command() const;
  static result_type parse(reply r);
};

}  // namespace ami::agi
