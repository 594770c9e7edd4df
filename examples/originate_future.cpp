// originate_future [--url URL] [CHANNEL [EXTEN [CONTEXT]]]
//   e.g. originate_future --url ami://admin:secret@pbx PJSIP/100 200 default
//   (defaults: Local/100@default 200 default)
#include "originate_future.hpp"
#include "example_url.hpp"

#include <iostream>

int main(int argc, char** argv) {
  const auto cl =
      ami_examples::parse_command_line(argc, argv, "[--url URL] [CHANNEL [EXTEN [CONTEXT]]]");
  if (!cl) return 2;
  ami_examples::call_target target;
  if (cl->args.size() > 0) target.channel = cl->args[0];
  if (cl->args.size() > 1) target.exten = cl->args[1];
  if (cl->args.size() > 2) target.context = cl->args[2];
  return ami_examples::run_originate_future(cl->url, target, std::cout);
}
