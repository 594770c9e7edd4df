// The command line shared by the examples: `--url URL`, else the AMI_URL environment
// variable, else a server on this machine with the account of the simulated PBX.
#pragma once

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace ami_examples {

inline constexpr const char* default_url = "ami://admin:amp111@127.0.0.1:5038";

struct command_line {
  std::string url;
  std::vector<std::string> args;  // the positional arguments, in order
};

// Returns nothing (after printing `usage` to stderr) on --help or a bad option.
inline std::optional<command_line> parse_command_line(int argc, char** argv, const char* usage) {
  command_line cl;
  const char* env = std::getenv("AMI_URL");
  cl.url = env != nullptr && *env != '\0' ? env : default_url;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--url" && i + 1 < argc) {
      cl.url = argv[++i];
    } else if (arg.rfind("--url=", 0) == 0) {
      cl.url = arg.substr(6);
    } else if (!arg.empty() && arg[0] == '-') {
      std::cerr << "usage: " << argv[0] << ' ' << usage << '\n'
                << "  --url URL  the server, e.g. " << default_url << " (or set AMI_URL)\n";
      return std::nullopt;
    } else {
      cl.args.push_back(arg);
    }
  }
  return cl;
}

}  // namespace ami_examples
