// ami-wallboard: the program, as a function that tests run in-process with their own streams
// and environment (tools/ami_wallboard.cpp is its main).
#pragma once

#include "../args.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace ami::tools::wallboard {

constexpr int exit_ok = 0;
constexpr int exit_usage = 1;       // usage error
constexpr int exit_connection = 2;  // cannot connect, log in or serve

struct run_options {
  // Stops on SIGINT and SIGTERM. The program sets it; in-process tests leave it off.
  bool handle_signals = false;
  // The output is a terminal: the live view is redrawn in place (ANSI) rather than printed
  // as plain lines.
  bool tty = false;
  // The shortest time between two boards of the live view (unset: 250 ms on a terminal,
  // 1 s piped).
  std::optional<std::chrono::milliseconds> board_gap;
  // Events per second of the --demo PBX's load generator (the `callcenter` queue).
  double demo_rate = 20;
  // The pace of the --demo callers (one step places a caller or not, hangs up due ones).
  std::chrono::milliseconds demo_period{700};
  // --demo --snapshot: how long the call center runs before the wallboard connects, so that
  // the snapshot shows callers waiting and calls up rather than calls just ringing in.
  std::chrono::milliseconds demo_warmup{3000};
  // Called once the program runs (with --serve, once the server listens), with the page's
  // URL (empty without --serve; no token in it) and a function that ends the program as a
  // signal would. The function may be called from any thread, also after run_wallboard()
  // returned (it then does nothing).
  std::function<void(const std::string& url, std::function<void()> stop)> on_running;
};

// args are argv[1..]. The view, snapshot or server notes go to `out`; connection states and
// problems to `err`.
int run_wallboard(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                  const env_lookup& env, const run_options& run = {});

extern const char* const usage_text;

}  // namespace ami::tools::wallboard
