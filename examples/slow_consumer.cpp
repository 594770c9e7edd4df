// slow_consumer [--url URL] [COUNT [WORK_MS [CAPACITY [PATTERN]]]]
//   hands the events matching PATTERN (default "*") to a store that spends WORK_MS (default
//   20) on each, through a queue of CAPACITY events (default 100), until COUNT events
//   (default 1000) arrived or 60 s passed; then prints the dispatcher's counters.
#include "slow_consumer.hpp"
#include "example_url.hpp"

#include <cstdlib>
#include <iostream>

int main(int argc, char** argv) {
  const auto cl = ami_examples::parse_command_line(
      argc, argv, "[--url URL] [COUNT [WORK_MS [CAPACITY [PATTERN]]]]");
  if (!cl) return 2;
  ami_examples::slow_consumer_options o;
  if (cl->args.size() > 0) o.count = std::atoi(cl->args[0].c_str());
  if (cl->args.size() > 1) o.work = std::chrono::milliseconds(std::atoi(cl->args[1].c_str()));
  if (cl->args.size() > 2) o.capacity = static_cast<std::size_t>(std::atol(cl->args[2].c_str()));
  if (cl->args.size() > 3) o.pattern = cl->args[3];
  if (o.count <= 0 || o.work.count() < 0 || o.capacity == 0) {
    std::cerr << "COUNT and CAPACITY must be positive numbers, WORK_MS not negative\n";
    return 2;
  }
  return ami_examples::run_slow_consumer(cl->url, o, std::cout);
}
