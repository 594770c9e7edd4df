// Every typed AGI command over FastAGI: the line on the wire, the reply Asterisk writes and
// the typed result; then a hangup while each command runs, on FastAGI (HANGUP line, the
// command's -1 result, 511 afterwards) and on AsyncAGI (a Hangup event).
#include "agi_async_support.hpp"
#include "agi_fastagi_support.hpp"
#include "client_support.hpp"

#include "ami/agi/async_agi.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
namespace agi = ami::agi;

// One command: how to issue it (reporting a summary of its result), its wire line, the
// reply to give, and the summary expected.
struct case_t {
  std::function<void(agi::session&, std::function<void(std::string)>)> issue;
  std::string line;
  std::string reply;
  std::string expect;
};

template <class C, class F>
case_t make(C cmd, std::string line, std::string reply, std::string expect, F summary) {
  case_t c;
  c.issue = [cmd, summary](agi::session& s, std::function<void(std::string)> report) {
    s.async_exec(cmd, [report, summary](boost::system::error_code ec,
                                        const typename C::result_type& r) {
      report(ec ? std::string(ami::error_name(static_cast<ami::error>(ec.value()))) : summary(r));
    });
  };
  c.line = std::move(line);
  c.reply = std::move(reply);
  c.expect = std::move(expect);
  return c;
}

std::string digit(const std::optional<char>& d) { return d ? std::string(1, *d) : "-"; }

std::vector<case_t> all_commands() {
  const auto status = [](const agi::status_result& r) { return std::to_string(r.result); };
  const auto digit_r = [](const agi::digit_result& r) {
    return digit(r.digit) + (r.failed ? " failed" : "");
  };
  const auto play = [](const agi::playback_result& r) {
    return digit(r.digit) + " " + std::to_string(r.endpos.value_or(-1));
  };
  const auto value = [](const agi::value_result& r) { return r.value.value_or("<unset>"); };
  return {
      make(agi::answer{}, "ANSWER", "200 result=0", "0", status),
      make(agi::stream_file{"welcome", "#", {}}, "STREAM FILE welcome #",
           "200 result=35 endpos=8000", "# 8000", play),
      make(agi::control_stream_file{"menu", "12", 1000, "6", "4", "5", {}},
           "CONTROL STREAM FILE menu 12 1000 6 4 5", "200 result=0 endpos=16000", "- 16000", play),
      make(agi::get_data{"prompt", 2000ms, 4}, "GET DATA prompt 2000 4", "200 result=12 (timeout)",
           "12 timeout",
           [](const agi::digits_result& r) { return r.digits + (r.timed_out ? " timeout" : ""); }),
      make(agi::get_option{"menu", "123", 3000ms}, "GET OPTION menu 123 3000",
           "200 result=50 endpos=400", "2 400", play),
      make(agi::wait_for_digit{1500ms}, "WAIT FOR DIGIT 1500", "200 result=0", "-", digit_r),
      make(agi::say_digits{"123", "#"}, "SAY DIGITS 123 #", "200 result=0", "-", digit_r),
      make(agi::say_number{1234, "", ""}, "SAY NUMBER 1234 \"\"", "200 result=35", "#", digit_r),
      make(agi::say_alpha{"abc", ""}, "SAY ALPHA abc \"\"", "200 result=0", "-", digit_r),
      make(agi::say_date{86400, ""}, "SAY DATE 86400 \"\"", "200 result=0", "-", digit_r),
      make(agi::say_time{3600, ""}, "SAY TIME 3600 \"\"", "200 result=0", "-", digit_r),
      make(agi::record_file{"msg", "wav", "#", 5000ms, {}, true, 2},
           "RECORD FILE msg wav # 5000 BEEP s=2", "200 result=35 (dtmf) endpos=12000",
           "# dtmf 12000",
           [](const agi::record_result& r) {
             return digit(r.digit) + " " + r.reason + " " + std::to_string(r.endpos.value_or(-1));
           }),
      make(agi::set_variable{"V", "a b"}, "SET VARIABLE V \"a b\"", "200 result=1", "1", status),
      make(agi::get_variable{"V"}, "GET VARIABLE V", "200 result=1 (a b)", "a b", value),
      make(agi::get_variable{"NONE"}, "GET VARIABLE NONE", "200 result=0", "<unset>", value),
      make(agi::get_full_variable{"${V}-${EXTEN}", ""}, "GET FULL VARIABLE ${V}-${EXTEN}",
           "200 result=1 (a b-801)", "a b-801", value),
      make(agi::exec{"Playback", "tt-monkeys"}, "EXEC Playback tt-monkeys", "200 result=0", "0",
           [](const agi::exec_result& r) { return std::to_string(r.result); }),
      make(agi::set_context{"sales"}, "SET CONTEXT sales", "200 result=0", "0", status),
      make(agi::set_extension{"100"}, "SET EXTENSION 100", "200 result=0", "0", status),
      make(agi::set_priority{"2"}, "SET PRIORITY 2", "200 result=0", "0", status),
      make(agi::set_callerid{"5551234"}, "SET CALLERID 5551234", "200 result=1", "1", status),
      make(agi::channel_status{}, "CHANNEL STATUS", "200 result=6", "6",
           [](const agi::channel_status_result& r) { return std::to_string(r.state); }),
      make(agi::database_put{"cid", "100", "Bob"}, "DATABASE PUT cid 100 Bob", "200 result=1", "1",
           status),
      make(agi::database_get{"cid", "100"}, "DATABASE GET cid 100", "200 result=1 (Bob)", "Bob",
           value),
      make(agi::database_del{"cid", "100"}, "DATABASE DEL cid 100", "200 result=1", "1", status),
      make(agi::verbose{"hello", 2}, "VERBOSE hello 2", "200 result=1", "1", status),
      make(agi::noop{}, "NOOP", "200 result=0", "0", status),
      make(agi::set_music{true, "default"}, "SET MUSIC ON default", "200 result=0", "0", status),
      make(agi::hangup{}, "HANGUP", "200 result=1", "1", status),
  };
}

}  // namespace

TEST_CASE("AGI commands: every typed command's line, reply and result over FastAGI") {
  const auto cases = all_commands();
  ami::test::fastagi_fixture f;
  ami::test::event_log log;
  f.srv.route("*", [&](std::shared_ptr<agi::session> s) {
    for (std::size_t i = 0; i < cases.size(); ++i) {
      cases[i].issue(*s, [&log, i](std::string r) { log.add(std::to_string(i) + ":" + r); });
    }
  });
  f.start();
  ami::test::fake_asterisk peer;
  REQUIRE(peer.connect(f.srv.port()));
  REQUIRE(peer.write(ami::test::fastagi_env("all", "PJSIP/1-1")));
  for (const auto& c : cases) {
    const auto line = peer.read_line();
    REQUIRE(line);
    CHECK(*line == c.line);
    REQUIRE(peer.write(c.reply + "\n"));
  }
  REQUIRE(log.wait_for(cases.size()));
  const auto got = log.get();
  for (std::size_t i = 0; i < cases.size(); ++i) {
    CAPTURE(cases[i].line);
    CHECK(got[i] == std::to_string(i) + ":" + cases[i].expect);
  }
}

TEST_CASE("AGI commands: the caller hangs up while each command runs, over FastAGI") {
  const auto cases = all_commands();
  for (const auto& c : cases) {
    CAPTURE(c.line);
    ami::test::fastagi_fixture f;
    ami::test::event_log log;
    std::shared_ptr<agi::session> keep;
    f.srv.route("*", [&](std::shared_ptr<agi::session> s) {
      keep = s;
      c.issue(*s, [&log](std::string r) { log.add(r); });
      s->async_exec(agi::noop{}, [&log](boost::system::error_code ec, const agi::status_result&) {
        log.add(ec ? ami::error_name(static_cast<ami::error>(ec.value())) : "ok");
      });
    });
    f.start();
    ami::test::fake_asterisk peer;
    REQUIRE(peer.connect(f.srv.port()));
    REQUIRE(peer.write(ami::test::fastagi_env("x", "PJSIP/1-1")));
    REQUIRE(peer.read_line() == std::optional<std::string>(c.line));
    // What Asterisk writes when the caller hangs up during a command: HANGUP, the command's
    // reply (-1), and 511 for the next one.
    REQUIRE(peer.write("HANGUP\n200 result=-1\n"));
    REQUIRE(peer.read_line() == std::optional<std::string>("NOOP"));
    REQUIRE(peer.write("511 Command Not Permitted on a dead channel or intercept routine\n"));
    REQUIRE(log.wait_for(2));
    CHECK(log.get()[1] == "dead_channel");
    CHECK(keep->hung_up());
  }
}

TEST_CASE("AGI commands: a Hangup event while each command runs, over AsyncAGI") {
  const auto cases = all_commands();
  ami::test::client_fixture f;
  ami::test::scripted_agi script(f.srv);
  for (const auto& c : cases) script.replies[c.line] = "hold";
  f.connect_ok();
  agi::async_agi acceptor(f.c);
  int n = 0;
  for (const auto& c : cases) {
    CAPTURE(c.line);
    const auto chan = "Local/800@default-" + std::to_string(++n) + ";2";
    ami::test::result<std::shared_ptr<agi::session>> accepted;
    acceptor.async_accept(accepted.handler());
    ami::test::start_agi(f.srv, chan);
    REQUIRE(f.wait(accepted));
    std::optional<std::string> got;
    c.issue(*accepted.value, [&got](std::string r) { got = std::move(r); });
    REQUIRE(f.server_got("AGI", static_cast<std::size_t>(n)));
    f.srv.push_event({{"Event", "Hangup"}, {"Privilege", "call,all"}, {"Channel", chan}});
    REQUIRE(ami::test::run_until(f.io, [&] { return got.has_value(); }));
    CHECK(*got == "dead_channel");
  }
}
