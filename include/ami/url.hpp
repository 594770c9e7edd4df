// Connection URLs: "ami://user:secret@host:port?key=value&...", percent-encoded.
#pragma once

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ami {

// The parts of a connection URL, percent-decoded.
struct url {
  std::string scheme;    // "ami" or "amis" (lower case)
  std::string username;  // may be empty
  std::string secret;    // may be empty
  std::string host;      // a name, an IPv4 address or an IPv6 address (without brackets)
  std::optional<std::uint16_t> port;
  std::vector<std::pair<std::string, std::string>> query;  // in URL order
};

// Parses a connection URL. On failure returns nothing and sets `ec` to error::invalid_url:
// an unknown scheme, a missing host, a bad port, a bad percent escape, or CR, LF or NUL in
// any part (encoded or not). Never throws.
std::optional<url> parse_url(std::string_view text, boost::system::error_code& ec);

// Decodes %XX escapes (no '+' for space); false on a truncated or non-hex escape.
bool percent_decode(std::string_view in, std::string& out);

// Escapes everything except unreserved characters (A-Z a-z 0-9 - . _ ~).
std::string percent_encode(std::string_view in);

}  // namespace ami
