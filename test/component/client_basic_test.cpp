// The client against the simulated PBX: login, actions, events, logoff.
#include "client_support.hpp"

using namespace std::chrono_literals;
using ami::test::client_fixture;
using ami::test::done_flag;
using ami::test::result;

TEST_SUITE("client") {

TEST_CASE("plain login, then Ping") {
  client_fixture f;
  std::vector<ami::connection_state> states;
  auto sub = f.c.on_state([&](ami::connection_state s, const boost::system::error_code&) {
    states.push_back(s);
  });
  f.connect_ok();
  CHECK(states == std::vector<ami::connection_state>{
                      ami::connection_state::connecting, ami::connection_state::connected,
                      ami::connection_state::logging_in, ami::connection_state::logged_in});
  REQUIRE(f.c.banner());
  CHECK(f.c.banner()->text == "Asterisk Call Manager/13.0.0");
  CHECK(f.c.ami_version() == ami::proto::version{13, 0, 0});
  auto r = f.send(ami::action("Ping"));
  CHECK_FALSE(*r.ec);
  CHECK(r.value.ok());
  CHECK(r.value.get("Ping") == "Pong");
  CHECK(r.value.action_id().substr(0, 3) == "ami");
}

}  // TEST_SUITE
