// bridge_consumer: reads ami-bridge's JetStream stream with a durable pull consumer and
// sends a Ping through the bridge (docs/bridge.md).
//   bridge_consumer [nats://127.0.0.1:4222] [--pbx NAME] [--durable NAME] [--prefix ami]
#include "bridge_consumer.hpp"

#include <iostream>
#include <string>

int main(int argc, char** argv) {
  ami::examples::bridge_consumer_options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--pbx" && has_value) {
      o.action_pbx = argv[++i];
    } else if (a == "--durable" && has_value) {
      o.durable = argv[++i];
    } else if (a == "--prefix" && has_value) {
      o.prefix = argv[++i];
    } else if (a.rfind("nats://", 0) == 0) {
      o.url = a;
    } else {
      std::cerr << "usage: bridge_consumer [nats://HOST:PORT] [--pbx NAME] [--durable NAME] "
                   "[--prefix ami]\n";
      return 2;
    }
  }
  const int rc = ami::examples::run_bridge_consumer(o, std::cout, std::cerr);
  nats_Close();
  return rc;
}
