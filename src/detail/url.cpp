#include "ami/url.hpp"

#include "ami/error.hpp"
#include "ami/message.hpp"

#include <charconv>

namespace ami {
namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool has_forbidden(std::string_view s) noexcept {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

bool decode_part(std::string_view in, std::string& out) {
  out.clear();
  return percent_decode(in, out) && !has_forbidden(out);
}

}  // namespace

bool percent_decode(std::string_view in, std::string& out) {
  out.reserve(out.size() + in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = hex_value(in[i + 1]);
    const int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

std::string percent_encode(std::string_view in) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size());
  for (const char c : in) {
    const auto u = static_cast<unsigned char>(c);
    const bool plain = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') ||
                       u == '-' || u == '.' || u == '_' || u == '~';
    if (plain) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(digits[u >> 4]);
      out.push_back(digits[u & 15]);
    }
  }
  return out;
}

std::optional<url> parse_url(std::string_view text, boost::system::error_code& ec) {
  ec = error::invalid_url;
  if (has_forbidden(text)) return std::nullopt;
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  url u;
  const auto scheme = text.substr(0, sep);
  if (iequals(scheme, "ami")) {
    u.scheme = "ami";
  } else if (iequals(scheme, "amis")) {
    u.scheme = "amis";
  } else {
    return std::nullopt;
  }
  auto rest = text.substr(sep + 3);
  if (rest.find('#') != std::string_view::npos) return std::nullopt;
  std::string_view query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    if (slash + 1 != rest.size()) return std::nullopt;  // no path beyond a trailing '/'
    rest = rest.substr(0, slash);
  }
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const auto userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto colon = userinfo.find(':');
    if (!decode_part(userinfo.substr(0, colon), u.username)) return std::nullopt;
    if (colon != std::string_view::npos && !decode_part(userinfo.substr(colon + 1), u.secret)) {
      return std::nullopt;
    }
  }
  std::string_view host;
  std::string_view port;
  bool has_port = false;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = rest.substr(1, close - 1);
    const auto after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
      has_port = true;
    }
  } else {
    const auto colon = rest.find(':');
    host = rest.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = rest.substr(colon + 1);
      has_port = true;
      if (port.find(':') != std::string_view::npos) return std::nullopt;
    }
  }
  if (!decode_part(host, u.host) || u.host.empty()) return std::nullopt;
  for (const char c : u.host) {
    if (c == ' ' || c == '/' || c == '@' || c == '?') return std::nullopt;
  }
  if (has_port) {
    unsigned value = 0;
    const auto* end = port.data() + port.size();
    const auto r = std::from_chars(port.data(), end, value);
    if (port.empty() || r.ec != std::errc{} || r.ptr != end || value == 0 || value > 65535) {
      return std::nullopt;
    }
    u.port = static_cast<std::uint16_t>(value);
  }
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    std::string key;
    std::string value;
    if (!decode_part(item.substr(0, eq), key) || key.empty()) return std::nullopt;
    if (eq != std::string_view::npos && !decode_part(item.substr(eq + 1), value)) {
      return std::nullopt;
    }
    u.query.emplace_back(std::move(key), std::move(value));
  }
  ec = {};
  return u;
}

}  // namespace ami
