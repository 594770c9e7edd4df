// The embedded simulated PBX of the tools' --demo.
#pragma once

#include "ami/testing/server.hpp"

#include <exception>
#include <optional>
#include <ostream>
#include <utility>

namespace ami::tools {

// Starts the PBX on loopback, on a free port, in `demo`. False, with a message on `err`,
// when it cannot listen.
inline bool start_demo_pbx(std::optional<ami::testing::server>& demo, ami::testing::pbx_config pbx,
                           std::ostream& err, const char* tool) {
  ami::testing::server_options so;
  so.pbx = std::move(pbx);
  demo.emplace(so);
  try {
    demo->start();
  } catch (const std::exception& e) {
    err << tool << ": cannot start the demo PBX: " << e.what() << '\n';
    return false;
  }
  return true;
}

}  // namespace ami::tools
