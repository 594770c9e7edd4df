// ami-cli: one AMI action from the command line (see ami_cli_main.hpp for the program).
#include "ami_cli_main.hpp"

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  return ami::tools::cli::run_cli(args, std::cout, std::cerr,
                                  [](const char* name) -> std::optional<std::string> {
                                    const char* value = std::getenv(name);
                                    if (value == nullptr) return std::nullopt;
                                    return std::string(value);
                                  });
}
