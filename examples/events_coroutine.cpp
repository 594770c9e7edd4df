// events_coroutine [--url URL] [COUNT [PATTERN [SECONDS]]]
//   prints COUNT events (default 10) whose name matches PATTERN (default "*"), waiting at
//   most SECONDS (default 60).
#include "events_coroutine.hpp"
#include "example_url.hpp"

#include <cstdlib>
#include <iostream>

int main(int argc, char** argv) {
  const auto cl =
      ami_examples::parse_command_line(argc, argv, "[--url URL] [COUNT [PATTERN [SECONDS]]]");
  if (!cl) return 2;
  ami_examples::event_watch watch;
  if (cl->args.size() > 0) watch.count = std::atoi(cl->args[0].c_str());
  if (cl->args.size() > 1) watch.pattern = cl->args[1];
  if (cl->args.size() > 2) watch.wait = std::chrono::seconds(std::atoi(cl->args[2].c_str()));
  if (watch.count <= 0 || watch.wait.count() <= 0) {
    std::cerr << "COUNT and SECONDS must be positive numbers\n";
    return 2;
  }
  return ami_examples::run_events_coroutine(cl->url, watch, std::cout);
}
