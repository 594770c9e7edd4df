// fleet_monitor [--url URL] [NAME=URL ...]: watches every PBX given (or the one of --url,
// named "pbx") until Ctrl-C, then prints a summary.
#include "fleet_monitor.hpp"
#include "example_url.hpp"

#include <iostream>

int main(int argc, char** argv) {
  const auto cl = ami_examples::parse_command_line(argc, argv, "[--url URL] [NAME=URL ...]");
  if (!cl) return 2;
  std::vector<ami_examples::named_pbx> pbxs;
  for (const auto& arg : cl->args) {
    auto p = ami_examples::parse_named_pbx(arg);
    if (!p) {
      std::cerr << "expected NAME=URL, got " << arg << '\n';
      return 2;
    }
    pbxs.push_back(std::move(*p));
  }
  if (pbxs.empty()) pbxs.push_back({"pbx", cl->url});
  return ami_examples::run_fleet_monitor(pbxs, 0, std::cout);
}
