// Helpers for the tests of the pure session logic: messages from wire text and operations
// that record their completion.
#pragma once

#include "ami/detail/operation.hpp"
#include "ami/message.hpp"
#include "ami/proto/parser.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <string_view>
#include <vector>

namespace ami::test {

// Parses wire text holding exactly one message (CRLF may be written as "\n"); the result
// owns its bytes.
inline message wire(std::string_view text, bool expect_banner = false) {
  proto::parser_options o;
  o.expect_banner = expect_banner;
  proto::parser p(o);
  p.feed(text);
  message m;
  const auto r = p.next(m);
  REQUIRE(r.status == proto::parse_status::message);
  message owned = m;
  message extra;
  REQUIRE(p.next(extra).status == proto::parse_status::need_more);
  return owned;
}

// Parses wire text holding any number of messages.
inline std::vector<message> wire_all(std::string_view text, bool expect_banner = false) {
  proto::parser_options o;
  o.expect_banner = expect_banner;
  proto::parser p(o);
  p.feed(text);
  std::vector<message> out;
  message m;
  while (p.next(m).status == proto::parse_status::message) out.push_back(m);
  return out;
}

struct record {
  int completions = 0;
  boost::system::error_code ec;
  response resp;
  bool done() const { return completions != 0; }
};

class recording_op final : public detail::operation {
 public:
  explicit recording_op(record& r) : r_(r) {}
  void complete(const boost::system::error_code& ec, response resp) override {
    ++r_.completions;
    r_.ec = ec;
    r_.resp = std::move(resp);
  }

 private:
  record& r_;
};

inline detail::operation_ptr op(record& r) { return std::make_unique<recording_op>(r); }

// Completes what a routing call finished (as the client would).
inline void complete_all(std::vector<detail::finished_op>& done) {
  for (auto& f : done) {
    if (f.op) f.op->complete(f.ec, std::move(f.resp));
  }
  done.clear();
}

}  // namespace ami::test
