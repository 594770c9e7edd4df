// JSON for the command-line tools, on Boost.JSON. AMI fields are bytes, not always UTF-8,
// while JSON text must be: json_string() turns any bytes into a valid string value.
#pragma once

#include "ami/message.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/storage_ptr.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>

namespace ami::tools {

// Length of the well-formed UTF-8 sequence at the start of `s` (1 to 4), or 0 when `s`
// does not start with one (stray continuation byte, overlong form, surrogate, beyond
// U+10FFFF, or cut short).
inline std::size_t utf8_sequence_length(std::string_view s) noexcept {
  if (s.empty()) return 0;
  const auto byte = [&s](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b0 = byte(0);
  if (b0 < 0x80) return 1;
  std::size_t len = 0;
  unsigned char lo = 0x80;  // allowed range of the second byte, to exclude overlong forms,
  unsigned char hi = 0xBF;  // surrogates and code points above U+10FFFF
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (s.size() < len) return 0;
  if (byte(1) < lo || byte(1) > hi) return 0;
  for (std::size_t i = 2; i < len; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return len;
}

// `s` as a JSON string value (in `sp`'s storage). Well-formed UTF-8 is kept as is; a byte
// that is not part of it stands for the code point of the same number (U+0080 to U+00FF, as
// in Latin-1), so nothing is lost and the serialized text stays valid JSON. (Boost.JSON copies
// the bytes of a string verbatim, so invalid UTF-8 must not reach it.)
inline boost::json::string json_string(std::string_view s, boost::json::storage_ptr sp = {}) {
  const bool ascii =
      std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) return boost::json::string(s, std::move(sp));  // the common case, one copy
  boost::json::string out(std::move(sp));
  out.reserve(s.size() + 8);
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t n = utf8_sequence_length(s.substr(i));
    if (n != 0) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    ++i;
  }
  return out;
}

// The fields of an AMI message as an object: name -> value as sent, a name that repeats ->
// an array of its values in wire order (at the place of its first appearance). `skip` leading
// fields are left out (ami-events puts the Event header elsewhere).
inline boost::json::object headers_object(const ami::message& m, boost::json::storage_ptr sp = {},
                                          std::size_t skip = 0) {
  boost::json::object o(std::move(sp));
  o.reserve(m.size());
  for (std::size_t i = skip; i < m.size(); ++i) {
    const field& f = m[i];
    boost::json::string key = json_string(f.name, o.storage());
    const auto it = o.find(key);
    if (it == o.end()) {
      o.emplace(std::move(key), json_string(f.value, o.storage()));
      continue;
    }
    boost::json::value& v = it->value();
    if (!v.is_array()) {
      boost::json::array a(o.storage());
      a.emplace_back(std::move(v));
      v = std::move(a);
    }
    v.get_array().emplace_back(json_string(f.value, o.storage()));
  }
  return o;
}

// An array of json_string() values.
template <class Range>
boost::json::array json_strings(const Range& items) {
  boost::json::array a;
  for (const auto& s : items) a.emplace_back(json_string(s));
  return a;
}

// A measurement rounded to `decimals` places, which is all the tools claim of it.
inline double json_rounded(double v, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(v * scale) / scale;
}

// One line of JSON text (no newline).
inline std::string json_text(const boost::json::value& v) { return boost::json::serialize(v); }

}  // namespace ami::tools
