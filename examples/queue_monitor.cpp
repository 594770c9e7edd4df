// queue_monitor [--url URL]: prints the queue board on every change until interrupted.
#include "queue_monitor.hpp"
#include "example_url.hpp"

#include <iostream>

int main(int argc, char** argv) {
  const auto cl = ami_examples::parse_command_line(argc, argv, "[--url URL]");
  if (!cl) return 2;
  return ami_examples::run_queue_monitor(cl->url, std::cout);
}
