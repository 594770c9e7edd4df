// A session driven by hand for the state-machine tests: the test's clock, config and
// completions, plus the steps every such test takes (feed a message, answer an action, take
// what the session wrote, submit an action).
#pragma once

#include "ami/detail/session.hpp"
#include "routing_support.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace ami::test {

struct session_harness {
  detail::session s;
  detail::clock::time_point now = detail::clock::time_point{} + std::chrono::hours(1);
  ami::config cfg;
  std::vector<detail::state_change> seen;  // every transition, in order

  explicit session_harness(const std::string& action_id_prefix) {
    cfg.host = "pbx";
    cfg.username = "admin";
    cfg.secret = "amp111";
    cfg.action_id_prefix = action_id_prefix;
  }
  virtual ~session_harness() = default;
  session_harness(const session_harness&) = delete;
  session_harness& operator=(const session_harness&) = delete;

  // Completes what the session finished and records its transitions, as the client would.
  void settle() {
    complete_all(s.finished());
    for (const auto& c : s.state_changes()) seen.push_back(c);
    s.state_changes().clear();
  }

  std::vector<connection_state> states() const {
    std::vector<connection_state> out;
    for (const auto& c : seen) out.push_back(c.state);
    return out;
  }

  std::vector<message> take_actions() {
    std::string out;
    s.take_output(out);
    return wire_all(out);
  }

  // One message from the server. Virtual: the run's tests also report the read to the
  // keepalive first.
  virtual detail::delivery feed(const std::string& text) {
    const auto m = wire(text, true);
    const auto d = s.on_message(m);
    settle();
    return d;
  }

  // The server's answer to `to` (an action the session wrote).
  void answer(const message& to, const std::string& fields = "",
              const std::string& head = "Success") {
    feed("Response: " + head + "\r\nActionID: " + std::string(to.action_id()) + "\r\n" + fields +
         "\r\n");
  }

  std::uint64_t submit(record& r, action a = action("Ping"), send_options o = {}) {
    const auto n = s.reserve_id();
    s.submit(n, a, detail::answer_kind::response, o, op(r), now);
    settle();
    return n;
  }
};

}  // namespace ami::test
