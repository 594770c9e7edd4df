// The library's AGI against the simulated PBX: AsyncAGI (ami::client + async_agi) and the
// FastAGI server, with calls into AGI extensions of ami::testing::server. Each test runs for
// the field sets of an Asterisk 16 (AMI 7.0.3, chan_sip) and an Asterisk 21 (AMI 13.0.0) set-up.
#include "agi_fastagi_support.hpp"
#include "client_support.hpp"

#include "ami/agi/async_agi.hpp"
#include "ami/agi/commands.hpp"
#include "ami/agi/fastagi_server.hpp"
#include "ami/testing/server.hpp"

#include <doctest/doctest.h>

#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using ami::test::client_fixture;
using ami::test::result;
using ami::test::run_until;
using session_ptr = std::shared_ptr<ami::agi::session>;

const std::vector<std::string> versions = {"7.0.3", "13.0.0"};

ami::testing::server_options sim(const std::string& version) {
  ami::testing::server_options o;
  o.ami_version = version;
  o.pbx = ami::testing::pbx_config::standard(version == "7.0.3");
  o.pbx->time_unit = 10ms;  // one simulated second: keeps prompts and timeouts short
  return o;
}

ami::testing::extension agi_ext(const std::string& exten, const std::string& target,
                                std::string dtmf = "", int hangup_during = -1) {
  ami::testing::extension x;
  x.exten = exten;
  x.action = ami::testing::behaviour::agi;
  x.argument = target;
  x.dtmf = std::move(dtmf);
  x.hangup_during_command = hangup_during;
  return x;
}

// AsyncAGI: the client and async_agi run on the test thread (f.wait runs the io_context).
struct async_sim {
  explicit async_sim(const std::string& version) : f(sim(version)) { f.connect_ok(); }

  // A call from `from` into `exten`, and the session AsyncAGIStart made for it.
  session_ptr call(const std::string& exten, const std::string& from = "PJSIP/trunk1") {
    result<session_ptr> r;
    agi.async_accept(r.handler());
    const auto chan = f.srv.incoming_call(from, exten, "default", "5551234");
    REQUIRE(f.wait(r));
    REQUIRE_FALSE(*r.ec);
    REQUIRE(r.value);
    CHECK(r.value->channel() == chan);
    return r.value;
  }

  template <class C>
  result<typename C::result_type> exec(ami::agi::session& s, const C& c) {
    result<typename C::result_type> r;
    s.async_exec(c, r.handler());
    REQUIRE_MESSAGE(f.wait(r), "no reply to " << c.to_command().name);
    return r;
  }

  client_fixture f;
  ami::agi::async_agi agi{f.c};
};

// FastAGI: the server runs on its own thread; sessions are handed to the test thread.
struct fastagi_sim {
  explicit fastagi_sim(const std::string& version) : srv(sim(version)) {
    fast.srv.route("ivr", [this](session_ptr s) {
      const std::lock_guard<std::mutex> lock(mutex);
      sessions.push_back(s);
      if (waiting && sessions.size() >= wanted) waiting->set_value();
    });
    fast.start();
    srv.start();
    target = "agi://127.0.0.1:" + std::to_string(fast.srv.port()) + "/ivr";
  }

  // Waits (bounded) until n sessions arrived.
  std::vector<session_ptr> wait_sessions(std::size_t n) {
    std::future<void> ready;
    {
      const std::lock_guard<std::mutex> lock(mutex);
      if (sessions.size() < n) {
        waiting.emplace();
        wanted = n;
        ready = waiting->get_future();
      }
    }
    if (ready.valid()) REQUIRE(ready.wait_for(10s) == std::future_status::ready);
    const std::lock_guard<std::mutex> lock(mutex);
    return sessions;
  }

  session_ptr call(const std::string& exten) {
    const std::size_t before = [&] {
      const std::lock_guard<std::mutex> lock(mutex);
      return sessions.size();
    }();
    const auto chan = srv.incoming_call("PJSIP/trunk1", exten, "default", "5551234");
    auto s = wait_sessions(before + 1).back();
    CHECK(s->channel() == chan);
    return s;
  }

  // Issues a command; the future completes with its handler's arguments.
  template <class C>
  static std::future<std::pair<boost::system::error_code, typename C::result_type>> issue(
      ami::agi::session& s, const C& c) {
    using outcome = std::pair<boost::system::error_code, typename C::result_type>;
    auto p = std::make_shared<std::promise<outcome>>();
    auto f = p->get_future();
    s.async_exec(c, [p](const boost::system::error_code& ec, typename C::result_type r) {
      p->set_value({ec, std::move(r)});
    });
    return f;
  }
  template <class C>
  static std::pair<boost::system::error_code, typename C::result_type> exec(ami::agi::session& s,
                                                                            const C& c) {
    auto f = issue(s, c);
    REQUIRE_MESSAGE(f.wait_for(10s) == std::future_status::ready,
                    "no reply to " << c.to_command().name);
    return f.get();
  }

  ami::test::fastagi_fixture fast;  // destroyed after the PBX, which connects to it
  ami::testing::server srv;
  std::string target;
  std::mutex mutex;
  std::vector<session_ptr> sessions;
  std::optional<std::promise<void>> waiting;
  std::size_t wanted = 0;
};

}  // namespace

TEST_CASE("AGI on the simulator: AsyncAGI runs typed commands on a call") {
  for (const auto& version : versions) {
    CAPTURE(version);
    async_sim t(version);
    t.f.srv.add_extension(agi_ext("850", "agi:async", "5123#"));
    const auto s = t.call("850");
    CHECK(s->env().request == "async");
    CHECK(s->env().extension == "850");
    CHECK(s->env().callerid == "5551234");

    const auto answered = t.exec(*s, ami::agi::answer{});
    CHECK_FALSE(*answered.ec);
    CHECK(answered.value.ok());
    const auto play = t.exec(*s, ami::agi::stream_file{"beep", "59", {}});
    CHECK_FALSE(*play.ec);
    CHECK(play.value.digit == '5');  // the caller's first digit interrupts the prompt
    const auto data = t.exec(*s, ami::agi::get_data{"enter-ext-of-person", 2000ms, 4});
    CHECK_FALSE(*data.ec);
    CHECK(data.value.digits == "123");  // '#' ends the input
    CHECK_FALSE(data.value.timed_out);

    CHECK(t.exec(*s, ami::agi::set_variable{"IVR_DIGITS", "123"}).value.result == 1);
    CHECK(t.f.srv.variable(s->channel(), "IVR_DIGITS") == "123");
    CHECK(t.exec(*s, ami::agi::get_variable{"IVR_DIGITS"}).value.value == "123");
    CHECK_FALSE(t.exec(*s, ami::agi::get_variable{"NOT_SET"}).value.value);

    CHECK(t.exec(*s, ami::agi::database_put{"ivr", "5551234", "123"}).value.result == 1);
    CHECK(t.exec(*s, ami::agi::database_get{"ivr", "5551234"}).value.value == "123");
    CHECK_FALSE(t.exec(*s, ami::agi::database_get{"ivr", "nobody"}).value.value);

    const auto ran = t.exec(*s, ami::agi::exec{"Set", "FROM_EXEC=yes"});
    CHECK_FALSE(*ran.ec);
    CHECK(ran.value.result == 0);
    CHECK(t.f.srv.variable(s->channel(), "FROM_EXEC") == "yes");
    CHECK(*t.exec(*s, ami::agi::command{"NOT A COMMAND", {}}).ec ==
          ami::error::agi_invalid_command);

    // ASYNCAGI BREAK: the call leaves AGI for the dialplan; the session is over.
    CHECK_FALSE(*t.exec(*s, ami::agi::async_break{}).ec);
    CHECK(*t.exec(*s, ami::agi::answer{}).ec == ami::error::agi_session_ended);
  }
}

TEST_CASE("AGI on the simulator: a caller hanging up during an AsyncAGI command") {
  for (const auto& version : versions) {
    CAPTURE(version);
    async_sim t(version);
    t.f.srv.add_extension(agi_ext("851", "agi:async", "", 1));
    const auto s = t.call("851");
    result<ami::agi::status_result> answered;
    result<ami::agi::playback_result> play;
    result<ami::agi::status_result> set;
    result<ami::agi::digits_result> data;
    s->async_exec(ami::agi::answer{}, answered.handler());
    s->async_exec(ami::agi::stream_file{"demo-congrats", "", {}}, play.handler());  // hung up
    s->async_exec(ami::agi::set_variable{"X", "1"}, set.handler());
    s->async_exec(ami::agi::get_data{"prompt", 1000ms, 4}, data.handler());
    REQUIRE(t.f.wait(data));
    REQUIRE(t.f.wait(set));
    REQUIRE(t.f.wait(play));
    CHECK_FALSE(*answered.ec);
    // The command in flight gets Asterisk's reply to it (result=-1, the channel gone)...
    CHECK(play.value.raw.code == 200);
    CHECK(play.value.raw.result == "-1");
    CHECK(play.value.failed);
    // ...then AsyncAGIEnd ends the session: the queued commands and later ones complete.
    CHECK(*set.ec == ami::error::agi_session_ended);
    CHECK(*data.ec == ami::error::agi_session_ended);
    CHECK(*t.exec(*s, ami::agi::answer{}).ec == ami::error::agi_session_ended);
    CHECK(t.agi.session_count() == 0);
    CHECK_FALSE(t.f.srv.variable(s->channel(), "X"));
    // The Hangup event follows AsyncAGIEnd.
    CHECK(run_until(t.f.io, [&] { return s->hung_up(); }));
  }
}

TEST_CASE("AGI on the simulator: several AsyncAGI sessions at once") {
  async_sim t("13.0.0");
  const std::map<std::string, std::string> digits = {
      {"861", "11#"}, {"862", "22#"}, {"863", "33#"}};
  for (const auto& [exten, dtmf] : digits) t.f.srv.add_extension(agi_ext(exten, "agi:async", dtmf));
  std::vector<session_ptr> sessions;
  for (const auto& [exten, dtmf] : digits) sessions.push_back(t.call(exten));
  // Every session's GET DATA at once: each reads its own caller's digits.
  std::vector<result<ami::agi::digits_result>> reads(sessions.size());
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    sessions[i]->async_exec(ami::agi::get_data{"prompt", 1000ms, 4}, reads[i].handler());
  }
  std::size_t i = 0;
  for (const auto& entry : digits) {
    // Not a structured binding: CAPTURE's lambda cannot capture one in C++17 (clang).
    const std::string& exten = entry.first;
    const std::string& dtmf = entry.second;
    CAPTURE(exten);
    REQUIRE(t.f.wait(reads[i]));
    CHECK_FALSE(*reads[i].ec);
    CHECK(reads[i].value.digits == dtmf.substr(0, 2));
    CHECK(sessions[i]->env().extension == exten);
    ++i;
  }
  CHECK(t.agi.session_count() == 3);
}

TEST_CASE("AGI on the simulator: FastAGI runs typed commands on a call") {
  for (const auto& version : versions) {
    CAPTURE(version);
    fastagi_sim t(version);
    t.srv.add_extension(agi_ext("852", t.target, "7456#"));
    const auto s = t.call("852");
    CHECK(s->env().network == "yes");
    CHECK(s->env().network_script == "ivr");
    CHECK(s->env().callerid == "5551234");

    CHECK(t.exec(*s, ami::agi::answer{}).second.ok());
    const auto play = t.exec(*s, ami::agi::stream_file{"beep", "#7", {}});
    CHECK_FALSE(play.first);
    CHECK(play.second.digit == '7');
    const auto data = t.exec(*s, ami::agi::get_data{"enter-ext-of-person", 2000ms, 2});
    CHECK_FALSE(data.first);
    CHECK(data.second.digits == "45");  // max_digits ends the input
    CHECK(t.exec(*s, ami::agi::set_variable{"IVR_DIGITS", "45"}).second.result == 1);
    CHECK(t.srv.variable(s->channel(), "IVR_DIGITS") == "45");
    CHECK(t.exec(*s, ami::agi::get_variable{"IVR_DIGITS"}).second.value == "45");
    CHECK(t.exec(*s, ami::agi::database_put{"ivr", "fast", "45"}).second.result == 1);
    CHECK(t.exec(*s, ami::agi::database_get{"ivr", "fast"}).second.value == "45");
    CHECK_FALSE(t.exec(*s, ami::agi::exec{"Set", "FROM_EXEC=fast"}).first);
    CHECK(t.srv.variable(s->channel(), "FROM_EXEC") == "fast");

    // Closing the connection returns the call to the dialplan; the session is over.
    s->close();
    CHECK(t.exec(*s, ami::agi::answer{}).first == ami::error::agi_session_ended);
  }
}

TEST_CASE("AGI on the simulator: a caller hanging up during a FastAGI command") {
  for (const auto& version : versions) {
    CAPTURE(version);
    fastagi_sim t(version);
    t.srv.add_extension(agi_ext("853", t.target, "", 1));
    const auto s = t.call("853");
    auto answered = fastagi_sim::issue(*s, ami::agi::answer{});
    auto play = fastagi_sim::issue(*s, ami::agi::stream_file{"demo-congrats", "", {}});
    auto set = fastagi_sim::issue(*s, ami::agi::set_variable{"X", "1"});
    auto data = fastagi_sim::issue(*s, ami::agi::get_data{"prompt", 1000ms, 4});
    REQUIRE(data.wait_for(10s) == std::future_status::ready);
    REQUIRE(answered.wait_for(0s) == std::future_status::ready);
    REQUIRE(play.wait_for(0s) == std::future_status::ready);
    REQUIRE(set.wait_for(0s) == std::future_status::ready);
    CHECK_FALSE(answered.get().first);
    const auto played = play.get();
    CHECK(played.second.raw.result == "-1");  // Asterisk's reply to the command in flight
    CHECK(played.second.failed);
    CHECK(s->hung_up());  // the HANGUP line
    // After HANGUP, a command that needs no channel still runs; one that needs it gets 511.
    CHECK_FALSE(set.get().first);
    const auto read = data.get();
    CHECK(read.first == ami::error::dead_channel);
    CHECK(read.second.raw.code == 511);
    s->close();
  }
}

TEST_CASE("AGI on the simulator: several FastAGI sessions at once") {
  fastagi_sim t("13.0.0");
  const std::vector<std::pair<std::string, std::string>> calls = {
      {"871", "1#"}, {"872", "2#"}, {"873", "3#"}, {"874", "4#"}};
  for (const auto& [exten, dtmf] : calls) t.srv.add_extension(agi_ext(exten, t.target, dtmf));
  for (const auto& [exten, dtmf] : calls) t.srv.incoming_call("PJSIP/trunk1", exten);
  const auto sessions = t.wait_sessions(calls.size());
  REQUIRE(sessions.size() == calls.size());
  std::vector<std::future<std::pair<boost::system::error_code, ami::agi::digits_result>>> reads;
  for (const auto& s : sessions) {
    reads.push_back(fastagi_sim::issue(*s, ami::agi::get_data{"prompt", 1000ms, 4}));
  }
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    REQUIRE(reads[i].wait_for(10s) == std::future_status::ready);
    const auto r = reads[i].get();
    CHECK_FALSE(r.first);
    // Sessions arrive in any order: each reads the digit of its own extension.
    CHECK(r.second.digits == sessions[i]->env().extension.substr(2));
    sessions[i]->close();
  }
}
