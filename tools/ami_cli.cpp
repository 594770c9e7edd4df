// ami-cli: one AMI action from the command line (see ami_cli_main.hpp for the program).
#include "ami_cli_main.hpp"

#include <iostream>
#include <optional>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  return ami::tools::cli::run_cli(args, std::cout, std::cerr, ami::tools::process_env);
}
