// The client's actions against the simulated PBX: pipelining, errors, lists, Command,
// typed actions, ActionIDs.
#include "client_support.hpp"

#include <algorithm>
#include <memory>
#include <mutex>
#include <random>

using namespace std::chrono_literals;
using ami::test::client_fixture;
using ami::test::result;
using ami::testing::field_list;

namespace {

// A typed action as the generated catalogue makes them (see ami/typed.hpp).
struct mailbox_count {
  static constexpr std::string_view action_name = "MailboxCount";
  std::string mailbox;
  std::optional<ami::error> to_action(ami::action& out) const {
    if (mailbox.empty()) return ami::error::missing_field;
    out.set_name(std::string(action_name));
    out.set("Mailbox", mailbox);
    return std::nullopt;
  }
};
static_assert(ami::is_typed_action_v<mailbox_count>);

}  // namespace

TEST_SUITE("client") {
  TEST_CASE("1,000 pipelined actions answered out of order each get their own answer") {
    client_fixture f;
    constexpr int count = 1000;
    struct held {
      std::shared_ptr<ami::testing::session> s;
      ami::message action;
    };
    auto mutex = std::make_shared<std::mutex>();
    auto pending = std::make_shared<std::vector<held>>();
    f.srv.on_action("Ping", [=](ami::testing::session& s, const ami::message& a) {
      std::lock_guard<std::mutex> lock(*mutex);
      pending->push_back({s.shared(), a});
      if (pending->size() == count) {
        std::shuffle(pending->begin(), pending->end(), std::mt19937(7));
        for (auto& p : *pending) {
          p.s->respond(p.action,
                       {{"Response", "Success"}, {"Seq", std::string(p.action.get_or("Seq"))}});
        }
        pending->clear();
      }
      return true;
    });
    f.connect_ok();
    std::vector<result<ami::response>> results(count);
    for (int i = 0; i < count; ++i) {
      ami::action a("Ping");
      a.add("Seq", std::to_string(i));
      f.c.async_send(std::move(a), results[static_cast<std::size_t>(i)].handler());
    }
    REQUIRE(ami::test::run_until(f.io, [&] {
      return std::all_of(results.begin(), results.end(), [](const auto& r) { return r.done(); });
    }));
    int wrong = 0;
    for (int i = 0; i < count; ++i) {
      const auto& r = results[static_cast<std::size_t>(i)];
      if (*r.ec || r.value.get("Seq") != std::to_string(i)) ++wrong;
    }
    CHECK(wrong == 0);
    CHECK(f.c.stats().unmatched == 0);
  }

  TEST_CASE("Response: Error completes with action_failed and the response") {
    client_fixture f;
    f.connect_ok();
    auto r = f.send(ami::action("NoSuchAction"));
    CHECK(*r.ec == ami::error::action_failed);
    CHECK_FALSE(r.value.ok());
    CHECK(r.value.message_text().find("Invalid/unknown command") != std::string_view::npos);
    CHECK(f.c.state() == ami::connection_state::logged_in);
    CHECK_FALSE(*f.send(ami::action("Ping")).ec);
  }

  TEST_CASE("a caller-supplied ActionID is kept and correlated") {
    client_fixture f;
    f.connect_ok();
    ami::action a("Ping");
    a.set("ActionID", "my-own-id");
    auto r = f.send(a);
    CHECK_FALSE(*r.ec);
    CHECK(r.value.action_id() == "my-own-id");
    const auto got = f.srv.received();
    REQUIRE_FALSE(got.empty());
    CHECK(got.back().action_id() == "my-own-id");
  }

  TEST_CASE("fields Asterisk would misread fail before anything is sent") {
    client_fixture f;
    f.connect_ok();
    f.srv.clear_received();
    ami::action a("Ping");
    a.add("X", "a\r\nAction: Logoff");
    CHECK(*f.send(a).ec == ami::error::invalid_field);
    ami::action b("Ping");
    b.add("Long", std::string(2000, 'x'));
    CHECK(*f.send(b).ec == ami::error::field_too_long);
    CHECK_FALSE(*f.send(ami::action("Ping")).ec);
    const auto got = f.srv.received();
    REQUIRE(got.size() == 1);  // only the good Ping
    CHECK(f.c.state() == ami::connection_state::logged_in);
  }

  TEST_CASE("typed actions: to_action() fills the action; its error is the operation's") {
    client_fixture f;
    f.connect_ok();
    result<ami::response> ok;
    f.c.async_send(mailbox_count{"1234@default"}, ok.handler());
    REQUIRE(f.wait(ok));
    const auto got = f.srv.received();
    REQUIRE_FALSE(got.empty());
    CHECK(got.back().get("Action") == "MailboxCount");
    CHECK(got.back().get("Mailbox") == "1234@default");
    result<ami::response> bad;
    f.c.async_send(mailbox_count{}, ami::send_options{}, bad.handler());
    REQUIRE(f.wait(bad));
    CHECK(*bad.ec == ami::error::missing_field);
  }

  TEST_CASE("Command output in both formats") {
    for (const char* version : {"2.5.0", "13.0.0"}) {
      CAPTURE(version);
      ami::testing::server_options o;
      o.ami_version = version;
      client_fixture f(o);
      f.connect_ok();
      result<std::vector<std::string>> r;
      f.c.async_command("core show version", r.handler());
      REQUIRE(f.wait(r));
      CHECK_FALSE(*r.ec);
      REQUIRE(r.value.size() == 1);
      CHECK(r.value[0].rfind("Asterisk ", 0) == 0);
      // The response form gives the same lines.
      ami::action a("Command");
      a.add("Command", "core show version");
      auto full = f.send(a);
      CHECK(full.value.output() == r.value);
      CHECK(full.value.status() == (std::string(version) == "2.5.0" ? "Follows" : "Success"));
    }
  }

  TEST_CASE("a failed Command completes with action_failed and its output") {
    client_fixture f;  // 13.0.0: Response: Error with Output lines
    f.connect_ok();
    result<std::vector<std::string>> r;
    f.c.async_command("no such thing", r.handler());
    REQUIRE(f.wait(r));
    CHECK(*r.ec == ami::error::action_failed);
    REQUIRE(r.value.size() == 1);
    CHECK(r.value[0].find("No such command") != std::string::npos);
  }

  TEST_CASE("an EventList of 10,000 items interleaved with events and a second list") {
    client_fixture f;
    constexpr int big_items = 10000;
    constexpr int small_items = 50;
    constexpr int noise = 200;
    auto big = std::make_shared<std::optional<ami::message>>();
    auto mutex = std::make_shared<std::mutex>();
    f.srv.on_action("BigList", [=](ami::testing::session&, const ami::message& a) {
      std::lock_guard<std::mutex> lock(*mutex);
      *big = a;  // answered together with SmallList
      return true;
    });
    f.srv.on_action("SmallList", [=](ami::testing::session& s, const ami::message& small) {
      std::lock_guard<std::mutex> lock(*mutex);
      REQUIRE(big->has_value());
      const std::string bid(big->value().action_id());
      const std::string sid(small.action_id());
      std::string out = "Response: Success\r\nActionID: " + bid +
                        "\r\nEventList: start\r\nMessage: Big will follow\r\n\r\n"
                        "Response: Success\r\nActionID: " +
                        sid + "\r\nEventList: Start\r\nMessage: Small will follow\r\n\r\n";
      int small_sent = 0;
      for (int i = 0; i < big_items; ++i) {
        out +=
            "Event: BigItem\r\nActionID: " + bid + "\r\nIndex: " + std::to_string(i) + "\r\n\r\n";
        if (i % (big_items / noise) == 0) {
          out += "Event: Newstate\r\nPrivilege: call,all\r\nChannel: SIP/" + std::to_string(i) +
                 "\r\n\r\n";
        }
        if (i % (big_items / small_items) == 7) {
          out += "Event: SmallItem\r\nActionID: " + sid +
                 "\r\nIndex: " + std::to_string(small_sent++) + "\r\n\r\n";
        }
      }
      out += "Event: SmallListComplete\r\nActionID: " + sid +
             "\r\nEventList: Complete\r\nListItems: " + std::to_string(small_sent) + "\r\n\r\n";
      out += "Event: BigListComplete\r\nActionID: " + bid +
             "\r\nEventList: Complete\r\nListItems: " + std::to_string(big_items) + "\r\n\r\n";
      s.send_raw(std::move(out));
      return true;
    });
    f.connect_ok();
    int newstate = 0;
    int listed = 0;
    auto a = f.c.on_event("Newstate", [&](const ami::event&) { ++newstate; });
    auto b = f.c.on_list_item([&](const ami::event&) { ++listed; });
    result<ami::response> rb, rs;
    f.c.async_send(ami::action("BigList"), rb.handler());
    f.c.async_send(ami::action("SmallList"), rs.handler());
    REQUIRE(ami::test::run_until(f.io, [&] { return rb.done() && rs.done(); }));
    CHECK_FALSE(*rb.ec);
    CHECK_FALSE(*rs.ec);
    REQUIRE(rb.value.events().size() == big_items);
    REQUIRE(rs.value.events().size() == small_items);
    bool ordered = true;
    for (int i = 0; i < big_items; ++i) {
      ordered = ordered &&
                rb.value.events()[static_cast<std::size_t>(i)].get("Index") == std::to_string(i);
    }
    CHECK(ordered);
    CHECK(rs.value.events().back().get("Index") == std::to_string(small_items - 1));
    REQUIRE(rb.value.complete() != nullptr);
    CHECK(rb.value.complete()->name() == "BigListComplete");
    CHECK(newstate == noise);
    CHECK(listed == big_items + small_items + 2);
  }

  TEST_CASE("max_in_flight = 1 holds each action until the previous one is answered") {
    client_fixture f;
    f.cfg.max_in_flight = 1;
    auto held = std::make_shared<std::shared_ptr<ami::testing::session>>();
    auto action = std::make_shared<ami::message>();
    auto mutex = std::make_shared<std::mutex>();
    f.srv.on_action("Hold", [=](ami::testing::session& s, const ami::message& a) {
      std::lock_guard<std::mutex> lock(*mutex);
      *held = s.shared();
      *action = a;
      return true;
    });
    f.connect_ok();
    f.srv.clear_received();
    result<ami::response> first, second;
    f.c.async_send(ami::action("Hold"), first.handler());
    f.c.async_send(ami::action("Ping"), second.handler());
    REQUIRE(ami::test::run_until(f.io, [&] {
      std::lock_guard<std::mutex> lock(*mutex);
      return *held != nullptr;  // the server recorded Hold and its handler ran
    }));
    // A short bounded window in which a wrongly pipelined Ping would arrive.
    ami::test::run_until(
        f.io, [] { return false; }, 200ms);
    CHECK_FALSE(f.srv.wait_for_action("Ping", 0ms));
    CHECK_FALSE(second.done());
    {
      std::lock_guard<std::mutex> lock(*mutex);
      (*held)->respond(*action, {{"Response", "Success"}});
    }
    REQUIRE(ami::test::run_until(f.io, [&] { return first.done() && second.done(); }));
    CHECK_FALSE(*first.ec);
    CHECK_FALSE(*second.ec);
    const auto got = f.srv.received();
    REQUIRE(got.size() == 2);
    CHECK(got[1].get("Action") == "Ping");
  }

}  // TEST_SUITE
