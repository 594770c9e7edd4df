// Helpers shared by the tests: reading capture files and parsing byte streams.
#pragma once

#include "ami/message.hpp"
#include "ami/proto/parser.hpp"

#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace ami::test {

inline std::string data_path(const std::string& name) {
  return std::string(AMI_TEST_DATA_DIR) + "/" + name;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::string read_data(const std::string& name) { return read_file(data_path(name)); }

// The capture files of test/data (server side, then client side).
inline const std::vector<std::string>& server_captures() {
  static const std::vector<std::string> names{"session1.raw", "session18.raw",
                                              "errors_badlogin.raw", "errors_permission.raw"};
  return names;
}
inline const std::vector<std::string>& client_captures() {
  static const std::vector<std::string> names{"session1.sent.raw", "session18.sent.raw",
                                              "errors_badlogin.sent.raw",
                                              "errors_permission.sent.raw"};
  return names;
}

// One parse outcome, owned, comparable: a message or an error.
struct outcome {
  bool is_error = false;
  ami::error ec{};
  ami::message msg;

  friend bool operator==(const outcome& a, const outcome& b) {
    if (a.is_error != b.is_error || a.ec != b.ec || a.msg.kind() != b.msg.kind()) return false;
    if (a.msg.size() != b.msg.size() || a.msg.lines() != b.msg.lines()) return false;
    for (std::size_t i = 0; i < a.msg.size(); ++i) {
      if (a.msg[i].name != b.msg[i].name || a.msg[i].value != b.msg[i].value) return false;
    }
    return true;
  }
};

inline std::string describe(const outcome& o) {
  std::ostringstream os;
  if (o.is_error) {
    os << "error " << ami::error_name(o.ec);
    return os.str();
  }
  os << ami::to_string(o.msg.kind()) << " {";
  for (const auto& f : o.msg) os << f.name << "=" << f.value << ";";
  for (const auto& l : o.msg.lines()) os << "|" << l;
  os << "}";
  return os.str();
}

// Drains every available outcome from the parser.
inline void drain(ami::proto::parser& p, std::vector<outcome>& out) {
  ami::message m;
  for (;;) {
    const auto r = p.next(m);
    if (r.status == ami::proto::parse_status::need_more) return;
    if (r.status == ami::proto::parse_status::error) {
      out.push_back({true, r.ec, {}});
    } else {
      out.push_back({false, {}, m});  // copying makes it owning
    }
  }
}

// Parses `bytes` fed in chunks of the given sizes (the last chunk size repeats).
inline std::vector<outcome> parse_chunks(std::string_view bytes,
                                         const std::vector<std::size_t>& sizes,
                                         ami::proto::parser_options opts = {}) {
  ami::proto::parser p(opts);
  std::vector<outcome> out;
  std::size_t pos = 0;
  std::size_t i = 0;
  while (pos < bytes.size()) {
    const std::size_t n = std::min(sizes[std::min(i, sizes.size() - 1)], bytes.size() - pos);
    p.feed(bytes.substr(pos, n));
    pos += n;
    ++i;
    drain(p, out);
  }
  drain(p, out);
  if (auto e = p.finish()) out.push_back({true, *e, {}});
  return out;
}

// Whether `bytes` fed in chunks parses to exactly `want`, compared on the views as they come
// (no copies), so that tests parsing the same bytes thousands of times stay cheap.
inline bool parses_to(std::string_view bytes, const std::vector<std::size_t>& sizes,
                      const std::vector<outcome>& want, ami::proto::parser_options opts = {}) {
  ami::proto::parser p(opts);
  ami::message m;
  std::size_t i = 0;
  auto same = [&](const outcome& o) {
    if (o.is_error || o.msg.kind() != m.kind() || o.msg.size() != m.size() ||
        o.msg.lines() != m.lines()) {
      return false;
    }
    for (std::size_t k = 0; k < m.size(); ++k) {
      if (o.msg[k].name != m[k].name || o.msg[k].value != m[k].value) return false;
    }
    return true;
  };
  auto pull = [&] {
    for (;;) {
      const auto r = p.next(m);
      if (r.status == ami::proto::parse_status::need_more) return true;
      if (i >= want.size()) return false;
      const outcome& o = want[i++];
      const bool ok =
          r.status == ami::proto::parse_status::error ? (o.is_error && o.ec == r.ec) : same(o);
      if (!ok) return false;
    }
  };
  std::size_t pos = 0;
  for (std::size_t c = 0; pos < bytes.size(); ++c) {
    const std::size_t n = std::min(sizes[std::min(c, sizes.size() - 1)], bytes.size() - pos);
    p.feed(bytes.substr(pos, n));
    pos += n;
    if (!pull()) return false;
  }
  if (auto e = p.finish()) {
    if (i >= want.size() || !want[i].is_error || want[i].ec != *e) return false;
    ++i;
  }
  return i == want.size();
}

inline std::vector<outcome> parse_all(std::string_view bytes,
                                      ami::proto::parser_options opts = {}) {
  return parse_chunks(bytes, {bytes.size() == 0 ? 1 : bytes.size()}, opts);
}

}  // namespace ami::test
