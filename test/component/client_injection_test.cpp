// CR/LF injection is impossible through every way a caller puts text on the wire: generic and
// typed actions (names, keys, values, ActionIDs), Command, Originate, the login fields and the
// connection URL. Each attempt fails with a clear error and the server receives nothing of
// it; the connection stays usable; the secret never shows up in an error.
#include "ami/actions/command.hpp"
#include "ami/actions/hangup.hpp"
#include "ami/actions/setvar.hpp"
#include "client_support.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using ami::test::client_fixture;
using ami::test::done_flag;
using ami::test::result;
using namespace std::chrono_literals;

namespace {

// Line breaks in every form a server might split on, each followed by a smuggled action.
const std::vector<std::string> payloads = {
    "x\r\nAction: Originate\r\nChannel: PJSIP/evil",
    "x\nAction: Originate",
    "x\rAction: Originate",
    "x\r\n\r\nAction: Originate\r\n\r\n",
    "\r\n",
};

// Every action name the server received, in order.
std::vector<std::string> received_names(const ami::testing::server& srv) {
  std::vector<std::string> names;
  for (const auto& m : srv.received()) names.emplace_back(m.head());
  return names;
}

// No received action carries a smuggled Action line or an injected field.
void check_nothing_smuggled(const ami::testing::server& srv) {
  for (const auto& m : srv.received()) {
    CHECK_FALSE(ami::iequals(m.head(), "Originate"));
    CHECK(m.get_all("Action").size() == 1);
    CHECK_FALSE(m.get("Channel").value_or("") == "PJSIP/evil");
  }
}

// The connection still works: a Ping round trip.
void check_usable(client_fixture& f) {
  const auto pong = f.send(ami::action("Ping"));
  CHECK_FALSE(*pong.ec);
  CHECK(f.c.state() == ami::connection_state::logged_in);
}

}  // namespace

TEST_CASE("generic actions: CR or LF in a name, key, value or ActionID is invalid_field") {
  client_fixture f;
  f.connect_ok();
  int attempts = 0;
  for (const auto& p : payloads) {
    CAPTURE(p);
    ami::action in_value("SetVar");
    in_value.set("Variable", "v").set("Value", p);
    ami::action in_key("SetVar");
    in_key.set("Variable", "v").set("Value" + p, "1");
    ami::action in_name("Ping" + p);
    ami::action in_id("Ping");
    in_id.set("ActionID", "id" + p);
    for (auto* a : {&in_value, &in_key, &in_name, &in_id}) {
      const auto r = f.send(*a);
      CHECK(*r.ec == ami::error::invalid_field);
      ++attempts;
    }
  }
  CHECK(attempts == 20);
  check_usable(f);
  CHECK(received_names(f.srv) == std::vector<std::string>{"Login", "Ping"});
  check_nothing_smuggled(f.srv);
}

TEST_CASE("typed actions: CR or LF in a required, optional or extra field is invalid_field") {
  client_fixture f;
  f.connect_ok();
  for (const auto& p : payloads) {
    CAPTURE(p);
    std::vector<ami::actions::hangup> hangups(3);
    hangups[0].channel = "PJSIP/100" + p;
    hangups[1].channel = "PJSIP/100";
    hangups[1].cause = "16" + p;
    hangups[2].channel = "PJSIP/100";
    hangups[2].extra_fields.emplace_back("Extra", p);
    for (const auto& h : hangups) {
      result<ami::response> r;
      f.c.async_send(h, r.handler());
      REQUIRE(f.wait(r));
      CHECK(*r.ec == ami::error::invalid_field);
    }
    ami::actions::setvar sv;
    sv.variable = "v";
    sv.value = p;
    result<ami::response> r;
    f.c.async_send(sv, r.handler());
    REQUIRE(f.wait(r));
    CHECK(*r.ec == ami::error::invalid_field);
  }
  check_usable(f);
  CHECK(received_names(f.srv) == std::vector<std::string>{"Login", "Ping"});
  check_nothing_smuggled(f.srv);
}

TEST_CASE("Command and Originate refuse CR or LF in any part") {
  client_fixture f;
  f.connect_ok();
  for (const auto& p : payloads) {
    CAPTURE(p);
    result<std::vector<std::string>> lines;
    f.c.async_command("core show version" + p, lines.handler());
    REQUIRE(f.wait(lines));
    CHECK(*lines.ec == ami::error::invalid_field);
    CHECK(lines.value.empty());

    ami::actions::command typed;
    typed.command_value = "core show channels" + p;
    result<ami::response> r;
    f.c.async_send(typed, r.handler());
    REQUIRE(f.wait(r));
    CHECK(*r.ec == ami::error::invalid_field);

    std::vector<ami::originate_request> requests(4);
    for (auto& req : requests) {
      req.channel = "Local/100@default";
      req.application = "Echo";
    }
    requests[0].channel += p;
    requests[1].caller_id = "Alice <100>" + p;
    requests[2].variables.emplace_back("A", p);
    requests[3].action_id = "oid" + p;
    for (const auto& req : requests) {
      result<ami::originate_result> o;
      f.c.async_originate(req, o.handler());
      REQUIRE(f.wait(o));
      CHECK(*o.ec == ami::error::invalid_field);
    }
  }
  check_usable(f);
  CHECK(received_names(f.srv) == std::vector<std::string>{"Login", "Ping"});
  check_nothing_smuggled(f.srv);
}

TEST_CASE("login fields: CR or LF in the username, secret or event mask fails the connect") {
  for (const auto auth : {ami::auth_method::plain, ami::auth_method::md5}) {
    for (int field = 0; field < 3; ++field) {
      CAPTURE(field);
      CAPTURE(auth == ami::auth_method::md5);
      client_fixture f;
      f.cfg.auth = auth;
      const std::string smuggled = "\r\nAction: Originate\r\nChannel: PJSIP/evil";
      if (field == 0) f.cfg.username += smuggled;
      if (field == 1) f.cfg.secret = "hunter2-top-secret" + smuggled;
      if (field == 2) f.cfg.events = "on" + smuggled;
      const auto ec = f.connect();
      // With MD5 the secret only enters the key (hex digits): the login itself succeeds or is
      // refused by the server, but nothing is smuggled.
      if (field == 1 && auth == ami::auth_method::md5) {
        CHECK(ec == ami::error::login_failed);
      } else {
        CHECK(ec == ami::error::invalid_field);
        CHECK(f.c.state() == ami::connection_state::disconnected);
      }
      CHECK(f.c.last_error_message().find("hunter2") == std::string::npos);
      CHECK(ec.message().find("hunter2") == std::string::npos);
      // The server saw no Login at all (plain: nothing is written) or only the Challenge and
      // a Login with a key.
      for (const auto& m : f.srv.received()) {
        CHECK(m.get_all("Action").size() == 1);
        CHECK_FALSE(m.get("Secret").has_value());
      }
      check_nothing_smuggled(f.srv);
    }
  }
}

TEST_CASE("connection URLs: encoded or raw CR/LF anywhere is invalid_url, the secret unsaid") {
  const std::vector<std::string> urls = {
      "ami://admin%0D%0AAction:%20Originate:s3cr3t-pw@127.0.0.1",
      "ami://admin:s3cr3t-pw%0D%0AAction:%20Originate@127.0.0.1",
      "ami://admin:s3cr3t-pw@127.0.0.1%0D%0A",
      "ami://admin:s3cr3t-pw@127.0.0.1?events=on%0D%0AAction:%20Originate",
      "ami://admin:s3cr3t-pw@127.0.0.1?events=on%0AAction:%20Originate",
      "ami://admin:s3cr3t-pw@127.0.0.1?events=on%0D",
      "ami://admin:s3cr3t-pw\r\n@127.0.0.1",
      "ami://admin:s3cr3t-pw@127.0.0.1?events=on\nAction: Originate",
      "amis://admin:s3cr3t-pw@127.0.0.1?server_name=pbx%0D%0A",
      "ami://admin:s3cr3t-pw@127.0.0.1?events=on%00",
  };
  for (const auto& url : urls) {
    CAPTURE(url);
    boost::system::error_code ec;
    (void)ami::config::from_url(url, ec);
    CHECK(ec == ami::error::invalid_url);
    try {
      (void)ami::config::from_url(url);
      FAIL("from_url accepted it");
    } catch (const boost::system::system_error& e) {
      CHECK(e.code() == ami::error::invalid_url);
      CHECK(std::string(e.what()).find("s3cr3t") == std::string::npos);
    }
  }
  // A valid URL prints without its secret.
  const auto cfg = ami::config::from_url("ami://admin:s3cr3t-pw@127.0.0.1?events=off");
  CHECK(cfg.secret == "s3cr3t-pw");
  CHECK(cfg.redacted().find("s3cr3t") == std::string::npos);
  CHECK(cfg.redacted().find("***") != std::string::npos);
}
