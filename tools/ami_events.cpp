// ami-events: a live event monitor (see ami_events_main.hpp for the program).
#include "ami_events_main.hpp"

#include <iostream>
#include <optional>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  ami::tools::events::run_options run;
  run.handle_signals = true;
  return ami::tools::events::run_events(args, std::cout, std::cerr, ami::tools::process_env, run);
}
