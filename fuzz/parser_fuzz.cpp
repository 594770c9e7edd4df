// libFuzzer target for ami::proto::parser.
//
// The input's tail picks the options (side, limits) and the chunk sizes; the rest is the
// byte stream. The stream is parsed twice: fed whole, then in chunks through both
// prepare()/commit() and feed(). Both runs must give the same outcomes (messages and
// errors, in order); every message is read through the whole message API, copied into an
// owning message and checked against invariants. Any difference aborts. A third run on the
// same parser after reset() must match too.
#include "ami/error.hpp"
#include "ami/message.hpp"
#include "ami/proto/parser.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

using ami::proto::parse_status;

[[noreturn]] void fail(const char* what, std::size_t index) {
  std::fprintf(stderr, "ami-fuzz-parser: %s (outcome %zu)\n", what, index);
  std::abort();
}

void check(bool ok, const char* what, std::size_t index) {
  if (!ok) fail(what, index);
}

// One parse outcome: an error or an owning copy of a message.
struct outcome {
  bool is_error = false;
  ami::error ec{};
  ami::message msg;
};

bool same_message(const ami::message& a, const ami::message& b) {
  if (a.kind() != b.kind() || a.size() != b.size() || a.lines() != b.lines()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].value != b[i].value) return false;
  }
  return true;
}

bool has_line_end(std::string_view s) { return s.find('\n') != std::string_view::npos; }

// Reads everything a consumer might read and checks what the parser promises.
void inspect(const ami::message& m, const ami::proto::parser_options& opts, std::size_t index) {
  check(!m.empty(), "empty message", index);
  check(m.size() + m.lines().size() <= opts.limits.max_fields, "more items than max_fields", index);
  std::size_t bytes = 0;
  for (const auto& f : m) {
    check(!has_line_end(f.name) && !has_line_end(f.value), "line end inside a field", index);
    check(f.name.find(':') == std::string_view::npos, "colon inside a field name", index);
    check(f.value.empty() || f.value.back() != '\r', "field value ends in CR", index);
    bytes += f.name.size() + f.value.size();
  }
  for (const auto line : m.lines()) {
    check(!has_line_end(line), "line end inside a line", index);
    check(line.size() <= opts.limits.max_line, "line longer than max_line", index);
    bytes += line.size();
  }
  if (m.kind() != ami::message_kind::banner) {
    check(bytes <= opts.limits.max_message, "message larger than max_message", index);
  }

  switch (m.kind()) {
    case ami::message_kind::banner:
      check(opts.expect_banner && m.size() == 0 && m.lines().size() == 1, "bad banner", index);
      break;
    case ami::message_kind::event:
      check(m.size() != 0 && ami::iequals(m[0].name, "Event"), "event without Event", index);
      check(m.event_name() == m.head(), "event_name differs from head", index);
      break;
    case ami::message_kind::response:
      check(m.size() != 0 && ami::iequals(m[0].name, "Response"), "bad response", index);
      break;
    case ami::message_kind::action:
      check(m.size() != 0 && ami::iequals(m[0].name, "Action"), "bad action", index);
      break;
    case ami::message_kind::text:
      check(m.size() == 0 && !m.lines().empty(), "bad text message", index);
      break;
  }

  // Lookups agree with each other.
  for (const char* key : {"ActionID", "actionid", "Output", "Variable", "Event", ""}) {
    const auto first = m.get(key);
    const auto all = m.get_all(key);
    check(first.has_value() == !all.empty(), "get and get_all disagree", index);
    if (first) check(*first == all.front() && m.get_or(key, "?") == *first, "get", index);
  }
  check(m.action_id() == m.get_or("ActionID"), "action_id", index);
  const auto output = m.output();
  if (m.kind() != ami::message_kind::banner && !m.lines().empty()) {
    check(output == m.lines(), "output() differs from the body lines", index);
  } else {
    check(output == m.get_all("Output"), "output() differs from the Output fields", index);
  }

  // An owning copy holds the same content in its own bytes, and survives moves.
  ami::message copy = m;
  check(copy.owns_bytes() && same_message(copy, m), "bad owning copy", index);
  ami::message moved = std::move(copy);
  check(moved.owns_bytes() && same_message(moved, m), "moved copy differs", index);
}

class run {
 public:
  run(const ami::proto::parser_options& opts, const std::vector<outcome>* reference)
      : opts_(opts), parser_(opts), reference_(reference) {}

  ami::proto::parser& parser() { return parser_; }

  // Starts over on the same parser, after reset().
  void restart() {
    parser_.reset();
    count_ = 0;
  }

  void drain() {
    for (;;) {
      const auto r = parser_.next(msg_);
      if (r.status == parse_status::need_more) return;
      if (r.status == parse_status::error) {
        check(r.ec == ami::error::line_too_long || r.ec == ami::error::too_many_fields ||
                  r.ec == ami::error::message_too_large,
              "unexpected error code", count_);
        record(true, r.ec);
      } else {
        if (reference_ == nullptr) inspect(msg_, opts_, count_);  // the other runs compare
        record(false, {});
      }
    }
  }

  void finish() {
    drain();
    if (const auto e = parser_.finish()) {
      check(*e == ami::error::incomplete_message, "finish() code", count_);
      record(true, *e);
    }
    if (reference_ != nullptr) check(count_ == reference_->size(), "outcome count", count_);
  }

  std::vector<outcome>& outcomes() { return own_; }

 private:
  void record(bool is_error, ami::error ec) {
    if (reference_ == nullptr) {
      outcome o;
      o.is_error = is_error;
      o.ec = ec;
      if (!is_error) o.msg = msg_;
      own_.push_back(std::move(o));
    } else {
      check(count_ < reference_->size(), "more outcomes than fed whole", count_);
      const outcome& want = (*reference_)[count_];
      check(want.is_error == is_error, "message where the whole run had an error", count_);
      if (is_error) {
        check(want.ec == ec, "different error code", count_);
      } else {
        check(same_message(want.msg, msg_), "different message", count_);
      }
    }
    ++count_;
  }

  ami::proto::parser_options opts_;
  ami::proto::parser parser_;
  const std::vector<outcome>* reference_;
  std::vector<outcome> own_;
  ami::message msg_;
  std::size_t count_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  // FuzzedDataProvider takes integers from the end, so a capture used as a seed keeps its
  // beginning (the banner) as the stream.
  const auto flags = in.ConsumeIntegral<std::uint8_t>();
  ami::proto::parser_options opts;
  opts.expect_banner = (flags & 1U) != 0;
  if ((flags & 2U) != 0) {  // small limits, to reach every error path
    opts.limits.max_line = in.ConsumeIntegralInRange<std::size_t>(0, 300);
    opts.limits.max_fields = in.ConsumeIntegralInRange<std::size_t>(1, 40);
    opts.limits.max_message = in.ConsumeIntegralInRange<std::size_t>(1, 3000);
  }
  std::vector<std::size_t> chunks(in.ConsumeIntegralInRange<std::size_t>(1, 8));
  for (auto& c : chunks) c = in.ConsumeIntegralInRange<std::size_t>(1, 4096);
  const std::string stream = in.ConsumeRemainingBytesAsString();

  run whole(opts, nullptr);
  whole.parser().feed(stream);
  whole.finish();

  run split(opts, &whole.outcomes());
  std::size_t pos = 0;
  for (std::size_t i = 0; pos < stream.size(); ++i) {
    const std::size_t n = std::min(chunks[i % chunks.size()], stream.size() - pos);
    if (i % 2 == 0) {
      split.parser().feed(std::string_view(stream).substr(pos, n));
    } else {
      // A socket read that fills less than the space it was given.
      char* dest = split.parser().prepare(n + 64);
      std::memcpy(dest, stream.data() + pos, n);
      split.parser().commit(n);
    }
    pos += n;
    split.drain();
  }
  split.finish();

  // A reset parser is as good as a new one.
  split.restart();
  check(split.parser().buffered() == 0 && !split.parser().server_banner().has_value(),
        "reset() left state", 0);
  split.parser().feed(stream);
  split.finish();
  return 0;
}
