// The ami-bridge program as a function: options, configuration, the bridge on an
// io_context, SIGTERM/SIGINT to drain and stop. tools/ami_bridge.cpp only calls run().
#pragma once

#include "config.hpp"

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace ami::bridge {

struct options {
  bridge_config cfg;
  bool check = false;  // validate and exit
  bool help = false;
};

// Reads the command line (without the program's name). The problem, if any.
std::optional<std::string> parse_options(const std::vector<std::string>& args,
                                         const env_lookup& env, options& out);

extern const char* const usage;

// The whole program: 0 on success (also after SIGTERM drained or not), 1 on a bad
// configuration, 2 when NATS or the stream cannot be set up.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
        const env_lookup& env);

}  // namespace ami::bridge
