// Parses a login exchange and builds an action with the installed library.
#include <ami/action.hpp>
#include <ami/proto/md5.hpp>
#include <ami/proto/parser.hpp>
#include <ami/proto/serializer.hpp>

#include <cstdio>
#include <string>

int main() {
  ami::proto::parser p;
  p.feed(
      "Asterisk Call Manager/13.0.0\r\nResponse: Success\r\nActionID: 1\r\n"
      "Message: Authentication accepted\r\n\r\n");
  ami::message m;
  int messages = 0;
  while (p.next(m).status == ami::proto::parse_status::message) ++messages;
  const auto& banner = p.server_banner();
  if (messages != 2 || !banner || !banner->protocol || banner->protocol->major != 13) {
    std::puts("parse failed");
    return 1;
  }
  std::string wire;
  if (ami::proto::serialize(ami::action{"Ping"}, "p-1", wire)) {
    std::puts("serialize failed");
    return 1;
  }
  if (ami::proto::md5_hex("abc") != "900150983cd24fb0d6963f7d28e17f72") {
    std::puts("md5 failed");
    return 1;
  }
  std::printf("ami package ok: %d messages, %zu bytes serialized\n", messages, wire.size());
  return 0;
}
