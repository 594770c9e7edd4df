// A small streaming JSON writer for the command-line tools: appends to a std::string, puts
// the commas itself, and always produces valid JSON text whatever bytes it is given.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

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

// Appends `s` as a JSON string, quotes included. Well-formed UTF-8 is copied as is; '"',
// '\\' and control characters are escaped (controls as \u00XX); a byte that is not part of
// well-formed UTF-8 is written as \u00XX with the byte's value, so nothing is lost and the
// output stays valid JSON.
inline void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t i = 0;
  while (i < s.size()) {
    // Copy the longest run that needs no escaping in one go.
    std::size_t j = i;
    while (j < s.size()) {
      const auto c = static_cast<unsigned char>(s[j]);
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
      ++j;
    }
    out.append(s.data() + i, j - i);
    i = j;
    if (i == s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (c < 0x20) {
      out.append("\\u00");
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xF]);
      ++i;
    } else if (const std::size_t n = utf8_sequence_length(s.substr(i)); n != 0) {
      out.append(s.data() + i, n);
      i += n;
    } else {
      out.append("\\u00");
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xF]);
      ++i;
    }
  }
  out.push_back('"');
}

// Writes nested objects and arrays value by value. Keys go through key() inside an object;
// the writer inserts ',' and ':' where they belong. It does not check that calls are
// balanced: that is the caller's job.
class json_writer {
 public:
  explicit json_writer(std::string& out) : out_(out) {}

  std::string& buffer() noexcept { return out_; }

  json_writer& begin_object() { return open('{'); }
  json_writer& end_object() { return close('}'); }
  json_writer& begin_array() { return open('['); }
  json_writer& end_array() { return close(']'); }

  json_writer& key(std::string_view k) {
    separate();
    append_json_string(out_, k);
    out_.push_back(':');
    after_key_ = true;
    return *this;
  }

  json_writer& value(std::string_view s) {
    separate();
    append_json_string(out_, s);
    return *this;
  }
  json_writer& value(const char* s) { return value(std::string_view(s)); }
  json_writer& value(bool b) {
    separate();
    out_.append(b ? "true" : "false");
    return *this;
  }
  template <typename T,
            typename = std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>>
  json_writer& value(T n) {
    separate();
    char digits[24];
    const auto r = std::to_chars(digits, digits + sizeof digits, n);
    out_.append(digits, static_cast<std::size_t>(r.ptr - digits));
    return *this;
  }
  json_writer& null() {
    separate();
    out_.append("null");
    return *this;
  }

  // Shorthands for a member of the current object.
  template <typename T>
  json_writer& member(std::string_view k, const T& v) {
    return key(k).value(v);
  }

 private:
  json_writer& open(char c) {
    separate();
    out_.push_back(c);
    has_items_.push_back(false);
    return *this;
  }
  json_writer& close(char c) {
    out_.push_back(c);
    if (!has_items_.empty()) has_items_.pop_back();
    return *this;
  }
  // Before a key or a value: a comma unless it is the first item or follows its key.
  void separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (has_items_.empty()) return;
    if (has_items_.back()) out_.push_back(',');
    has_items_.back() = true;
  }

  std::string& out_;
  std::vector<bool> has_items_;  // one entry per open object or array
  bool after_key_ = false;
};

}  // namespace ami::tools
