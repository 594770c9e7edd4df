// ami-dial: click-to-dial from the command line (see ami_dial_main.hpp for the program).
#include "ami_dial_main.hpp"

#include <iostream>
#include <optional>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  ami::tools::dial::run_options run;
  run.handle_signals = true;
  return ami::tools::dial::run_dial(args, std::cout, std::cerr, ami::tools::process_env, run);
}
