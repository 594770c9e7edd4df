// The simulated PBX: CLI commands and PBX actions.
#include "sim_actions.hpp"

namespace ami::testing::detail {

std::optional<std::vector<std::string>> cli_command(server_state& st, const std::string& command) {
  if (command == "core show version") {
    return std::vector<std::string>{"Asterisk " + asterisk_release(st.version_) +
                                    " built by ami @ sim on a x86_64 running Linux on "
                                    "2026-01-01 00:00:00 UTC"};
  }
  return std::nullopt;
}

std::optional<outcome> sim_action(server_state&, connection&, const ami::message&) {
  return std::nullopt;
}

}  // namespace ami::testing::detail
