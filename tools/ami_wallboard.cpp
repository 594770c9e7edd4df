// ami-wallboard: a real-time wallboard of the PBX's queues, agents and calls, in the terminal
// or on a web page (see tools/wallboard/app.hpp for the program).
#include "wallboard/app.hpp"

#include <iostream>
#include <string>
#include <vector>

#include <unistd.h>

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  ami::tools::wallboard::run_options run;
  run.handle_signals = true;
  run.tty = ::isatty(STDOUT_FILENO) == 1;
  return ami::tools::wallboard::run_wallboard(args, std::cout, std::cerr, ami::tools::process_env,
                                              run);
}
