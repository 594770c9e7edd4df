// agi_digits [--url ami://user:secret@host:port]
#include "agi_digits.hpp"
#include "example_url.hpp"

#include <iostream>

int main(int argc, char** argv) {
  const auto cl = ami_examples::parse_command_line(argc, argv, "[--url URL]");
  if (!cl) return 2;
  return ami_examples::run_agi_digits(cl->url, std::cout);
}
