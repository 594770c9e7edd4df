// ami-bridge: many PBXs into NATS JetStream (docs/bridge.md). The program is
// ami::bridge::run() in tools/bridge/program.cpp, which the bridge tests reach too.
#include "bridge/program.hpp"

#include <nats/nats.h>

#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const int rc = ami::bridge::run(args, std::cout, std::cerr, ami::bridge::process_env);
  nats_CloseAndWait(2000);  // cnats's threads and global state, so leak checkers see none
  return rc;
}
