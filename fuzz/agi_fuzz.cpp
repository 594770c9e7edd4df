// libFuzzer target for the AGI layer (ami::agi): line reader, reply reader, environment.
//
// The first byte picks a chunk size; the rest is a FastAGI stream (environment, then
// replies). It is read twice, whole and in chunks; both runs must give the same outcomes.
// Each reply is checked against invariants, each line also goes through parse_reply_line
// and add_environment_line, and the argument formatter's output must never hold CR or LF.
#include "ami/agi/command.hpp"
#include "ami/agi/environment.hpp"
#include "ami/agi/line_reader.hpp"
#include "ami/agi/reply.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "ami-fuzz-agi: %s\n", what);
  std::abort();
}

void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

std::string describe(const ami::agi::reply& r) {
  std::string s = std::to_string(r.code) + "|" + r.result + "|" + r.data.value_or("<none>") + "|" +
                  r.text + "|";
  for (const auto& [k, v] : r.attributes) s += k + "=" + v + ";";
  for (const auto& u : r.usage) s += u + "/";
  return s;
}

std::vector<std::string> run(std::string_view bytes, std::size_t chunk) {
  ami::agi::line_reader lines(512);
  ami::agi::reply_reader replies(16);
  ami::agi::environment env;
  bool in_env = true;
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    const auto n = std::min(chunk, bytes.size() - pos);
    lines.feed(bytes.substr(pos, n));
    pos += n;
    std::string_view line;
    ami::error e{};
    for (;;) {
      const auto st = lines.next(line, e);
      if (st == ami::agi::line_reader::status::need_more) break;
      if (st == ami::agi::line_reader::status::failed) {
        check(e == ami::error::line_too_long, "line reader error");
        out.emplace_back("line_too_long");
        return out;
      }
      check(line.size() <= 512, "line beyond the limit");
      check(line.find('\n') == std::string_view::npos, "LF inside a line");
      if (in_env) {
        if (line.empty()) {
          in_env = false;
          out.push_back("env:" + env.channel + "|" + env.script() + "|" +
                        std::to_string(env.args.size()) + "|" + std::to_string(env.extra.size()));
          continue;
        }
        const auto err = ami::agi::add_environment_line(env, line);
        out.push_back(err ? "env-error" : "env-line");
        check(env.args.size() <= ami::agi::max_arguments, "too many arguments");
        continue;
      }
      ami::agi::reply single;
      if (!ami::agi::parse_reply_line(line, single)) {
        check(single.code >= 0 && single.code <= 999, "code out of range");
        check(single.code == 200 || single.result.empty(), "result on a non-200 reply");
      } else {
        check(single.code == 0, "a refused line left a code");
      }
      ami::agi::reply r;
      const auto st2 = replies.put(line, r, e);
      switch (st2) {
        case ami::agi::reply_reader::status::need_more: break;
        case ami::agi::reply_reader::status::hangup: out.emplace_back("HANGUP"); break;
        case ami::agi::reply_reader::status::failed:
          check(e == ami::error::agi_malformed_reply, "reply reader error");
          out.emplace_back("malformed");
          break;
        case ami::agi::reply_reader::status::reply:
          check(r.usage.size() <= 16, "usage beyond the limit");
          check(r.usage.empty() || r.code == 520, "usage lines on a reply other than 520");
          out.push_back(describe(r));
          break;
      }
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0] % 17;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  if (run(bytes, bytes.size() + 1) != run(bytes, chunk)) fail("chunked run differs");

  // Formatting any text as arguments: refused with CR/LF/NUL, else a single line.
  const auto second = bytes.substr(std::min<std::size_t>(64, bytes.size()), 64);
  ami::agi::command c{"NOOP", {std::string(bytes.substr(0, 64)), std::string(second)}};
  std::string line;
  const auto err = ami::agi::format_command(c, line);
  const bool bad =
      bytes.substr(0, 128).find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
  check(err.has_value() == bad, "formatter accepted CR, LF or NUL");
  if (!err) check(line.find_first_of("\r\n") == std::string::npos, "formatted line breaks");
  return 0;
}
