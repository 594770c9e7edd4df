// Shared by the simulated PBX's tests: the field names of messages, the shapes of a
// capture's events, and one action's exchange over a raw_client.
#pragma once

#include "../support/test_data.hpp"
#include "raw_client.hpp"

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ami::test {

using names = std::vector<std::string>;

inline names field_names(const ami::message& m) {
  names out;
  for (const auto& f : m) out.emplace_back(f.name);
  return out;
}

inline std::vector<ami::message> parse_capture(const std::string& file) {
  std::vector<ami::message> out;
  for (auto& o : ami::test::parse_all(ami::test::read_data(file))) {
    if (!o.is_error) out.push_back(o.msg);
  }
  return out;
}

// The field names of the first event of each name in a capture.
inline std::map<std::string, names> event_shapes(const std::vector<ami::message>& msgs) {
  std::map<std::string, names> out;
  for (const auto& m : msgs) {
    if (m.is_event()) out.emplace(std::string(m.event_name()), field_names(m));
  }
  return out;
}

// Sends an action and collects its response plus, for lists, the events up to `until`.
struct exchange {
  ami::message response;
  std::vector<ami::message> events;  // events carrying the ActionID
};

inline exchange run(raw_client& c, const std::string& action, const std::string& id,
                    std::vector<std::pair<std::string, std::string>> fields = {},
                    const std::string& until = "") {
  fields.insert(fields.begin(), {"ActionID", id});
  c.action(action, fields);
  exchange x;
  REQUIRE(c.read_until([&] {
    for (auto it = c.inbox().begin(); it != c.inbox().end();) {
      if (it->action_id() == id ||
          (until == "PeerlistComplete" && it->event_name() == "PeerEntry")) {
        if (it->is_response()) {
          x.response = *it;
        } else if (it->is_event()) {
          x.events.push_back(*it);
        }
        it = c.inbox().erase(it);
      } else {
        ++it;
      }
    }
    if (x.response.empty()) return false;
    if (until.empty()) return true;
    return !x.events.empty() && x.events.back().event_name() == until;
  }));
  return x;
}

}  // namespace ami::test
