// The agi_* environment Asterisk sends when an AGI session starts: "agi_request: async"
// lines ending with an empty line (FastAGI writes them on the socket; AsyncAGIStart carries
// them URL-encoded in its Env header).
#pragma once

#include "ami/error.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ami::agi {

struct environment {
  std::string request;   // agi_request: "async", "agi://127.0.0.1:4574/ivr?x=1", a script
  std::string channel;   // agi_channel
  std::string language;  // agi_language
  std::string type;      // agi_type: the channel technology
  std::string uniqueid;  // agi_uniqueid
  std::string version;   // agi_version: Asterisk's version
  std::string callerid;  // agi_callerid
  std::string calleridname;
  std::string callingpres;
  std::string callingani2;
  std::string callington;
  std::string callingtns;
  std::string dnid;
  std::string rdnis;
  std::string context;    // agi_context
  std::string extension;  // agi_extension
  std::string priority;   // agi_priority
  std::string enhanced;   // agi_enhanced
  std::string accountcode;
  std::string threadid;
  std::string network;            // agi_network: "yes" for FastAGI
  std::string network_script;     // agi_network_script: the URL's path without the leading '/'
  std::vector<std::string> args;  // agi_arg_1 .. agi_arg_N
  // Every other key, in arrival order.
  std::vector<std::pair<std::string, std::string>> extra;

  // The value of any key, known or not ("agi_channel", "agi_arg_2", "agi_custom").
  std::optional<std::string_view> get(std::string_view key) const;
  // The script path FastAGI routes by: agi_network_script, else the path of an agi://
  // request (without the query), else the request itself.
  std::string script() const;
};

// Adds one "key: value" line. error::agi_malformed_environment for a line without ": "
// (or ':' at its end), an empty key, or an agi_arg_N with N outside 1..max_arguments.
std::optional<error> add_environment_line(environment& env, std::string_view line);

// Parses a whole block: lines separated by LF (CR LF accepted), up to the first empty line
// (which must be there, unless the block ends after its last line). `max_lines` bounds it.
std::optional<error> parse_environment(std::string_view block, environment& env,
                                       std::size_t max_lines = 512);

}  // namespace ami::agi
