// ami-ivr: an IVR over AsyncAGI and FastAGI (see ami_ivr_main.hpp for the program).
#include "ami_ivr_main.hpp"

#include <iostream>
#include <optional>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  ami::tools::ivr::run_options run;
  run.handle_signals = true;
  return ami::tools::ivr::run_ivr(args, std::cout, std::cerr, ami::tools::process_env, run);
}
