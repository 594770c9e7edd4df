// async_originate: Async Originate completed by its OriginateResponse, for each outcome.
#include "client_support.hpp"

using namespace std::chrono_literals;
using ami::originate_outcome;
using ami::test::client_fixture;
using ami::test::result;

namespace {

// Channel "Local/<reason>@test": the scripted OriginateResponse carries that Reason;
// "Local/refuse@test" is refused outright, "Local/silent@test" never gets an event.
void script_originate(ami::testing::server& srv) {
  srv.on_action("Originate", [](ami::testing::session& s, const ami::message& a) {
    const std::string channel(a.get_or("Channel"));
    if (channel == "Local/refuse@test") {
      s.respond(a, {{"Response", "Error"}, {"Message", "Originate failed"}});
      return true;
    }
    s.respond(a, {{"Response", "Success"}, {"Message", "Originate successfully queued"}});
    if (channel == "Local/silent@test") return true;
    s.send({{"Event", "Newchannel"}, {"Privilege", "call,all"}, {"Channel", channel + "-1;1"}});
    const std::string reason = channel.substr(6, channel.find('@') - 6);
    s.respond(a, {{"Event", "OriginateResponse"},
                  {"Privilege", "call,all"},
                  {"Response", reason == "4" ? "Success" : "Failure"},
                  {"Channel", channel},
                  {"Context", "default"},
                  {"Exten", "100"},
                  {"Reason", reason},
                  {"Uniqueid", reason == "4" ? "1795662580.0" : "<null>"}});
    return true;
  });
}

}  // namespace

TEST_SUITE("client") {
  TEST_CASE("async_originate reports each outcome with its Reason") {
    client_fixture f;
    script_originate(f.srv);
    f.connect_ok();
    struct expectation {
      int reason;
      originate_outcome outcome;
    };
    for (const auto& e :
         {expectation{4, originate_outcome::answered}, expectation{5, originate_outcome::busy},
          expectation{3, originate_outcome::no_answer},
          expectation{8, originate_outcome::congestion}, expectation{0, originate_outcome::failure},
          expectation{1, originate_outcome::failure}}) {
      CAPTURE(e.reason);
      ami::originate_request req;
      req.channel = "Local/" + std::to_string(e.reason) + "@test";
      req.application = "Wait";
      req.data = "5";
      result<ami::originate_result> r;
      f.c.async_originate(req, r.handler());
      REQUIRE(f.wait(r));
      CHECK(r.value.outcome == e.outcome);
      CHECK(r.value.reason == e.reason);
      CHECK(r.value.channel == req.channel);
      REQUIRE(r.value.event() != nullptr);
      CHECK(r.value.event()->name() == "OriginateResponse");
      CHECK(r.value.response.message_text() == "Originate successfully queued");
      if (e.outcome == originate_outcome::answered) {
        CHECK_FALSE(*r.ec);
        CHECK(r.value.uniqueid == "1795662580.0");
      } else {
        CHECK(*r.ec == ami::error::originate_failed);
      }
    }
    const auto got = f.srv.received();
    CHECK(got.back().get("Async") == "true");
  }

  TEST_CASE("async_originate: refused, timed out, and with a caller ActionID") {
    client_fixture f;
    script_originate(f.srv);
    f.connect_ok();
    ami::action refuse("Originate");
    refuse.add("Channel", "Local/refuse@test");
    result<ami::originate_result> r1;
    f.c.async_originate(refuse, r1.handler());
    REQUIRE(f.wait(r1));
    CHECK(*r1.ec == ami::error::action_failed);
    CHECK(r1.value.response.message_text() == "Originate failed");
    CHECK(r1.value.event() == nullptr);

    ami::originate_request silent;
    silent.channel = "Local/silent@test";
    silent.exten = "100";
    silent.context = "default";
    result<ami::originate_result> r2;
    f.c.async_originate(silent, 150ms, r2.handler());
    REQUIRE(f.wait(r2));
    CHECK(*r2.ec == ami::error::action_timeout);

    ami::originate_request mine;
    mine.channel = "Local/4@test";
    mine.application = "Wait";
    mine.action_id = "o1";
    result<ami::originate_result> r3;
    f.c.async_originate(mine, r3.handler());
    REQUIRE(f.wait(r3));
    CHECK_FALSE(*r3.ec);
    CHECK(r3.value.response.action_id() == "o1");
  }

  TEST_CASE("an Originate sent with async_send leaves OriginateResponse to on_event") {
    client_fixture f;
    script_originate(f.srv);
    f.connect_ok();
    std::optional<std::string> reason;
    auto sub = f.c.on_event("OriginateResponse",
                            [&](const ami::event& e) { reason = std::string(e.get_or("Reason")); });
    ami::action a("Originate");
    a.add("Channel", "Local/5@test").add("Async", "true");
    auto r = f.send(a);
    CHECK_FALSE(*r.ec);
    REQUIRE(ami::test::run_until(f.io, [&] { return reason.has_value(); }));
    CHECK(*reason == "5");
  }

}  // TEST_SUITE
