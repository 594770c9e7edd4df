// AsyncAGI over ami::client against a scripted server that answers the AGI action and
// sends AsyncAGIStart / AsyncAGIExec / AsyncAGIEnd in Asterisk's form.
#include "agi_async_support.hpp"
#include "client_support.hpp"

#include "ami/agi/async_agi.hpp"
#include "ami/url.hpp"

#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using ami::test::client_fixture;
using ami::test::end_agi;
using ami::test::result;
using ami::test::run_until;
using ami::test::scripted_agi;
using ami::test::start_agi;

std::shared_ptr<ami::agi::session> accept(client_fixture& f, ami::agi::async_agi& agi,
                                          const std::string& channel) {
  result<std::shared_ptr<ami::agi::session>> r;
  agi.async_accept(r.handler());
  start_agi(f.srv, channel);
  REQUIRE(f.wait(r));
  REQUIRE_FALSE(*r.ec);
  REQUIRE(r.value);
  return r.value;
}

template <class C>
result<typename C::result_type> exec(client_fixture& f, ami::agi::session& s, const C& c) {
  result<typename C::result_type> r;
  s.async_exec(c, r.handler());
  REQUIRE(f.wait(r));
  return r;
}

const std::string chan = "Local/800@default-0000002f;2";

}  // namespace

TEST_CASE("AsyncAGI: a session gets the environment and runs typed commands") {
  client_fixture f;
  scripted_agi script(f.srv);
  script.replies = {
      {"GET VARIABLE CALLERID(num)", "200 result=1 (5552000)\n"},
      {"SET VARIABLE IVR_DIGITS \"12 34\"", "200 result=1\n"},
      {"STREAM FILE beep \"\"", "200 result=0 endpos=3520\n"},
      {"GET DATA prompt 3000 4", "200 result=42 (timeout)\n"},
      {"WAIT FOR DIGIT 100", "200 result=53\n"},
      {"NOT A COMMAND", "510 Invalid or unknown command\n"},
      {"STREAM FILE",
       "520-Invalid command syntax.  Proper usage follows:\n"
       " Usage: STREAM FILE <filename> <escape_digits> [sample offset]\n"
       "520 End of proper usage.\n"},
      {"GET FULL VARIABLE ${IVR_DIGITS}", "200 result=1 (12 34)\n"},
      {"CHANNEL STATUS", "200 result=6\n"},
      {"DATABASE GET cid 5552000", "200 result=1 (Alice)\n"},
  };
  f.connect_ok();
  ami::agi::async_agi agi(f.c);
  const auto s = accept(f, agi, chan);
  CHECK(s->channel() == chan);
  CHECK(s->env().request == "async");
  CHECK(s->env().callerid == "5552000");
  CHECK(agi.session_count() == 1);

  CHECK(exec(f, *s, ami::agi::answer{}).value.ok());
  CHECK(exec(f, *s, ami::agi::get_variable{"CALLERID(num)"}).value.value == "5552000");
  CHECK(exec(f, *s, ami::agi::set_variable{"IVR_DIGITS", "12 34"}).value.result == 1);
  const auto play = exec(f, *s, ami::agi::stream_file{"beep", "", {}});
  CHECK_FALSE(*play.ec);
  CHECK(play.value.endpos == 3520);
  const auto data = exec(f, *s, ami::agi::get_data{"prompt", 3000ms, 4});
  CHECK(data.value.digits == "42");
  CHECK(data.value.timed_out);
  CHECK(exec(f, *s, ami::agi::wait_for_digit{100ms}).value.digit == '5');
  const auto bad = exec(f, *s, ami::agi::command{"NOT A COMMAND", {}});
  CHECK(*bad.ec == ami::error::agi_invalid_command);
  CHECK(bad.value.code == 510);
  const auto usage = exec(f, *s, ami::agi::command{"STREAM FILE", {}});
  CHECK(*usage.ec == ami::error::agi_usage);
  REQUIRE(usage.value.usage.size() == 1);
  CHECK(usage.value.usage[0].find("Usage: STREAM FILE") != std::string::npos);
  CHECK(exec(f, *s, ami::agi::get_full_variable{"${IVR_DIGITS}", ""}).value.value == "12 34");
  CHECK(exec(f, *s, ami::agi::channel_status{}).value.state == 6);
  CHECK(exec(f, *s, ami::agi::database_get{"cid", "5552000"}).value.value == "Alice");
  const auto invalid = exec(f, *s, ami::agi::set_variable{"X", "a\nb"});
  CHECK(*invalid.ec == ami::error::agi_invalid_argument);

  const auto sent = script.sent();
  REQUIRE(sent.size() == 11);
  CHECK(sent[0] == "ANSWER");
  CHECK(sent[2] == "SET VARIABLE IVR_DIGITS \"12 34\"");
  std::set<std::string> ids(script.ids.begin(), script.ids.end());
  CHECK(ids.size() == sent.size());  // every CommandID unique
  for (const auto& m : f.srv.received()) {
    if (m.get("Action") == std::string_view("AGI")) CHECK(m.get("Channel") == chan);
  }
}

TEST_CASE("AsyncAGI: the CommandID spelling and an unencoded Result are read too") {
  client_fixture f;
  scripted_agi script(f.srv, "CommandID");
  script.raw_result = true;
  script.replies = {{"NOOP", "200 result=0"}};
  f.connect_ok();
  ami::agi::async_agi agi(f.c);
  const auto s = accept(f, agi, chan);
  const auto r = exec(f, *s, ami::agi::noop{});
  CHECK_FALSE(*r.ec);
  CHECK(r.value.raw.code == 200);
}

TEST_CASE("AsyncAGI: commands of a session go out one at a time and a Hangup ends them all") {
  client_fixture f;
  scripted_agi script(f.srv);
  script.replies = {{"STREAM FILE long \"\"", "hold"}};
  f.connect_ok();
  ami::agi::async_agi agi(f.c);
  const auto s = accept(f, agi, chan);
  result<ami::agi::playback_result> a;
  result<ami::agi::status_result> b;
  result<ami::agi::value_result> c;
  s->async_exec(ami::agi::stream_file{"long", "", {}}, a.handler());
  s->async_exec(ami::agi::answer{}, b.handler());
  s->async_exec(ami::agi::get_variable{"X"}, c.handler());
  // The handler records a command once it ran, after the server counted the action.
  REQUIRE(run_until(f.io, [&] { return script.sent().size() == 1; }));
  ami::test::run_ready(f.io);
  CHECK_FALSE(f.srv.wait_for_actions("AGI", 2, 0ms));  // the others wait for the first reply
  CHECK(s->pending() == 3);
  CHECK_FALSE(a.done());
  f.srv.push_event(
      {{"Event", "Hangup"}, {"Privilege", "call,all"}, {"Channel", chan}, {"Cause", "16"}});
  REQUIRE(f.wait(a));
  REQUIRE(f.wait(b));
  REQUIRE(f.wait(c));
  CHECK(*a.ec == ami::error::dead_channel);
  CHECK(*b.ec == ami::error::dead_channel);
  CHECK(*c.ec == ami::error::dead_channel);
  CHECK(s->hung_up());
  CHECK(s->ended());
  CHECK(agi.session_count() == 0);
  const auto late = exec(f, *s, ami::agi::answer{});
  CHECK(*late.ec == ami::error::dead_channel);
  CHECK(script.sent().size() == 1);
}

TEST_CASE("AsyncAGI: AsyncAGIEnd completes the command in flight and later ones") {
  client_fixture f;
  scripted_agi script(f.srv);
  script.replies = {{"WAIT FOR DIGIT -1", "hold"}};
  f.connect_ok();
  ami::agi::async_agi agi(f.c);
  const auto s = accept(f, agi, chan);
  result<ami::agi::digit_result> a;
  s->async_exec(ami::agi::wait_for_digit{}, a.handler());
  REQUIRE(f.server_got("AGI", 1));
  end_agi(f.srv, chan, "AsyncAGIEnd");
  REQUIRE(f.wait(a));
  CHECK(*a.ec == ami::error::agi_session_ended);
  CHECK_FALSE(s->hung_up());
  CHECK(*exec(f, *s, ami::agi::noop{}).ec == ami::error::agi_session_ended);
  // Asterisk reports the hangup after the AGI ended: the ended session still learns it.
  f.srv.push_event(
      {{"Event", "Hangup"}, {"Privilege", "call,all"}, {"Channel", chan}, {"Cause", "16"}});
  CHECK(run_until(f.io, [&] { return s->hung_up(); }));
}

TEST_CASE("AsyncAGI: a dropped AMI connection completes pending and queued commands") {
  client_fixture f;
  scripted_agi script(f.srv);
  script.replies = {{"GET DATA menu", "hold"}};
  f.connect_ok();
  ami::agi::async_agi agi(f.c);
  const auto s1 = accept(f, agi, chan);
  const auto s2 = accept(f, agi, "Local/800@default-00000030;2");
  std::vector<result<ami::agi::digits_result>> r(4);
  for (auto& x : r) s1->async_exec(ami::agi::get_data{"menu", {}, {}}, x.handler());
  result<ami::agi::status_result> other;
  s2->async_exec(ami::agi::answer{}, other.handler());
  REQUIRE(f.wait(other));
  REQUIRE(f.server_got("AGI", 2));
  f.srv.close_sessions();
  for (auto& x : r) {
    REQUIRE(f.wait(x));
    CHECK(*x.ec == ami::error::connection_lost);
  }
  CHECK(s2->ended());
  CHECK(*exec(f, *s2, ami::agi::noop{}).ec == ami::error::connection_lost);
}

TEST_CASE("AsyncAGI: an AGI action refused for a gone channel ends the session") {
  client_fixture f;
  scripted_agi script(f.srv);
  script.gone.insert(chan);
  f.connect_ok();
  ami::agi::async_agi agi(f.c);
  const auto s = accept(f, agi, chan);
  result<ami::agi::status_result> a;
  result<ami::agi::status_result> b;
  s->async_exec(ami::agi::answer{}, a.handler());
  s->async_exec(ami::agi::answer{}, b.handler());
  REQUIRE(f.wait(a));
  REQUIRE(f.wait(b));
  CHECK(*a.ec == ami::error::dead_channel);
  CHECK(*b.ec == ami::error::dead_channel);
  CHECK(agi.session_count() == 0);
}

TEST_CASE("AsyncAGI: a malformed Result fails that command only") {
  client_fixture f;
  scripted_agi script(f.srv);
  script.replies = {{"NOOP bad", "garbage\n"}, {"NOOP worse", "raw:%zz"}};
  f.connect_ok();
  ami::agi::async_agi agi(f.c);
  const auto s = accept(f, agi, chan);
  CHECK(*exec(f, *s, ami::agi::noop{"bad"}).ec == ami::error::agi_malformed_reply);
  CHECK(*exec(f, *s, ami::agi::noop{"worse"}).ec == ami::error::agi_malformed_reply);
  CHECK_FALSE(*exec(f, *s, ami::agi::noop{}).ec);
}

TEST_CASE("AsyncAGI: a malformed Env still gives a session for the channel") {
  client_fixture f;
  scripted_agi script(f.srv);
  f.connect_ok();
  ami::agi::async_agi agi(f.c);
  result<std::shared_ptr<ami::agi::session>> r;
  agi.async_accept(r.handler());
  start_agi(f.srv, chan, "agi_request: async\nthis line has no colon\n\n");
  REQUIRE(f.wait(r));
  REQUIRE(r.value);
  CHECK(r.value->channel() == chan);
  CHECK(r.value->env().request == "async");
  CHECK_FALSE(*exec(f, *r.value, ami::agi::answer{}).ec);
}

TEST_CASE("AsyncAGI: the on_session signal, async_break and events of other channels") {
  client_fixture f;
  scripted_agi script(f.srv);
  f.connect_ok();
  ami::agi::async_agi agi(f.c);
  std::vector<std::shared_ptr<ami::agi::session>> got;
  auto sub = agi.on_session([&](std::shared_ptr<ami::agi::session> s) { got.push_back(s); });
  start_agi(f.srv, chan);
  REQUIRE(run_until(f.io, [&] { return got.size() == 1; }));
  // Events for another channel, and a stray AsyncAGIExec, change nothing.
  f.srv.push_event({{"Event", "Hangup"}, {"Channel", "PJSIP/100-1"}});
  f.srv.push_event({{"Event", "AsyncAGIExec"},
                    {"Channel", chan},
                    {"Result", "200%20result%3D0"},
                    {"CommandId", "nobody"}});
  got[0]->close();
  REQUIRE(run_until(f.io, [&] { return !script.sent().empty(); }));
  CHECK(script.sent() == std::vector<std::string>{"ASYNCAGI BREAK"});
  end_agi(f.srv, chan, "AsyncAGIEnd");
  REQUIRE(run_until(f.io, [&] { return got[0]->ended(); }));
  CHECK(agi.session_count() == 0);
}

TEST_CASE("AsyncAGI: 100 concurrent sessions each run their commands") {
  client_fixture f;
  scripted_agi script(f.srv);
  f.connect_ok();
  ami::agi::async_agi agi(f.c);
  std::vector<std::shared_ptr<ami::agi::session>> sessions;
  auto sub = agi.on_session([&](std::shared_ptr<ami::agi::session> s) { sessions.push_back(s); });
  for (int i = 0; i < 100; ++i) start_agi(f.srv, "Local/800@default-" + std::to_string(i) + ";2");
  REQUIRE(run_until(f.io, [&] { return sessions.size() == 100; }));
  CHECK(agi.session_count() == 100);
  int done = 0;
  int failed = 0;
  for (auto& s : sessions) {
    for (int k = 0; k < 3; ++k) {
      s->async_exec(ami::agi::set_variable{"K", std::to_string(k)},
                    [&](boost::system::error_code ec, const ami::agi::status_result&) {
                      ++done;
                      if (ec) ++failed;
                    });
    }
  }
  REQUIRE(run_until(
      f.io, [&] { return done == 300; }, 20s));
  CHECK(failed == 0);
  CHECK(script.sent().size() == 300);
}

TEST_CASE("AsyncAGI: destroying the acceptor aborts waiting accepts and open sessions") {
  client_fixture f;
  scripted_agi script(f.srv);
  script.replies = {{"ANSWER", "hold"}};
  f.connect_ok();
  result<std::shared_ptr<ami::agi::session>> waiting;
  std::shared_ptr<ami::agi::session> s;
  result<ami::agi::status_result> pending;
  {
    ami::agi::async_agi agi(f.c);
    s = accept(f, agi, chan);
    s->async_exec(ami::agi::answer{}, pending.handler());
    REQUIRE(f.server_got("AGI", 1));
    agi.async_accept(waiting.handler());
  }
  REQUIRE(f.wait(waiting));
  CHECK(*waiting.ec == boost::asio::error::operation_aborted);
  REQUIRE(f.wait(pending));
  CHECK(*pending.ec == boost::asio::error::operation_aborted);
}
