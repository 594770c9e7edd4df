// core_show_channels [--url URL]
#include "core_show_channels.hpp"
#include "example_url.hpp"

#include <iostream>

int main(int argc, char** argv) {
  const auto cl = ami_examples::parse_command_line(argc, argv, "[--url URL]");
  if (!cl) return 2;
  return ami_examples::run_core_show_channels(cl->url, std::cout);
}
