// The simulated PBX behind the built-in actions (internal).
#pragma once

#include "server_state.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ami::testing::detail {

// Output lines of a CLI command, or nullopt for an unknown command.
std::optional<std::vector<std::string>> cli_command(server_state& st, const std::string& command);
// Runs a PBX action; nullopt when the action is not one the simulator knows.
std::optional<outcome> sim_action(server_state& st, connection& c, const ami::message& action);
// Permission denied plus the RequestNotAllowed security event.
outcome deny(server_state& st, connection& c, const ami::message& action);

void send_security_event(server_state& st, connection& c, std::string_view name, field_list extra);
std::string random_digits();
std::string now_iso8601();
// "\"Name\" <number>" into its parts; false when there is no <number>.
bool split_callerid(const std::string& v, std::string& name, std::string& num);
// The Asterisk release that speaks this AMI version, for "core show version".
std::string asterisk_release(const ami::proto::version& v);

}  // namespace ami::testing::detail
