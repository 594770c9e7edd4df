// ami-bridge: many PBXs into NATS JetStream (docs/bridge.md). The program is
// ami::bridge::run() in tools/bridge/program.cpp, which the bridge tests reach too.
#include "bridge/program.hpp"

#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  return ami::bridge::run(args, std::cout, std::cerr, ami::bridge::process_env);
}
