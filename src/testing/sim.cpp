// Entry points from the built-in action dispatcher into the simulated PBX.
#include "pbx_model.hpp"
#include "sim_actions.hpp"

namespace ami::testing::detail {

std::optional<std::vector<std::string>> cli_command(server_state& st, const std::string& command) {
  return st.pbx_->cli(command);
}

std::optional<outcome> sim_action(server_state& st, connection& c, const ami::message& action) {
  return st.pbx_->action(c, action);
}

}  // namespace ami::testing::detail
