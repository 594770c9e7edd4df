// The FastAGI server against a peer that writes what Asterisk writes on the socket.
#include "agi_fastagi_support.hpp"

#include "../support/test_data.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using ami::test::event_log;
using ami::test::fake_asterisk;
using ami::test::fastagi_env;
using ami::test::fastagi_fixture;

std::string outcome(const boost::system::error_code& ec, const std::string& what) {
  return (ec ? std::string(ec.message()) : std::string("ok")) + "|" + what;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto lf = text.find('\n', pos);
    out.push_back(text.substr(pos, lf - pos));
    pos = lf + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("FastAGI: the capture's session, commands queued at once, HANGUP and 511") {
  for (const char* name : {"fastagi", "fastagi18"}) {
    CAPTURE(name);
    const auto from_asterisk = ami::test::read_data(std::string(name) + ".agi.raw");
    const auto sent = split_lines(ami::test::read_data(std::string(name) + ".agi.sent.raw"));
    const auto env_end = from_asterisk.find("\n\n") + 2;
    const auto replies = split_lines(from_asterisk.substr(env_end));
    REQUIRE(sent.size() == 7);
    REQUIRE(replies.size() == 8);

    fastagi_fixture f;
    event_log log;
    std::shared_ptr<ami::agi::session> keep;
    f.srv.route("ivr", [&](std::shared_ptr<ami::agi::session> s) {
      keep = s;
      log.add("env|" + s->env().channel + "|" + s->env().callerid);
      auto add = [&log](const char* what) {
        return
            [&log, what](boost::system::error_code ec, const auto&) { log.add(outcome(ec, what)); };
      };
      s->async_exec(ami::agi::answer{}, add("answer"));
      s->async_exec(ami::agi::get_variable{"CALLERID(num)"},
                    [&log](boost::system::error_code ec, const ami::agi::value_result& r) {
                      log.add(outcome(ec, r.value.value_or("<none>")));
                    });
      s->async_exec(ami::agi::set_variable{"IVR_DIGITS", "42"}, add("set"));
      s->async_exec(ami::agi::stream_file{"beep", "", {}},
                    [&log](boost::system::error_code ec, const ami::agi::playback_result& r) {
                      log.add(outcome(ec, std::to_string(r.endpos.value_or(-1))));
                    });
      s->async_exec(ami::agi::command{"NOT A COMMAND", {}}, add("invalid"));
      s->async_exec(ami::agi::hangup{}, add("hangup"));
      s->async_exec(ami::agi::answer{}, add("dead"));
    });
    f.start();

    fake_asterisk peer;
    REQUIRE(peer.connect(f.srv.port()));
    REQUIRE(peer.write(from_asterisk.substr(0, env_end)));
    std::size_t reply = 0;
    for (const auto& expected : sent) {
      const auto line = peer.read_line();
      REQUIRE(line);
      CHECK(*line == expected);  // byte for byte what the capture's server sent
      std::string answer = replies[reply++] + "\n";
      if (reply == 6) answer += replies[reply++] + "\n";  // 200 result=1, then HANGUP
      REQUIRE(peer.write(answer));
    }
    REQUIRE(log.wait_for(8));
    const auto got = log.get();
    CHECK(got[0].find("|Local/801@default-") != std::string::npos);
    CHECK(got[0].find("|5553000") != std::string::npos);
    CHECK(got[1] == "ok|answer");
    CHECK(got[2] == "ok|5553000");
    CHECK(got[3] == "ok|set");
    CHECK(got[4] == "ok|3520");
    CHECK(got[5] == outcome(ami::error::agi_invalid_command, "invalid"));
    CHECK(got[6] == "ok|hangup");
    CHECK(got[7] == outcome(ami::error::dead_channel, "dead"));
    CHECK(keep->hung_up());
    CHECK(f.srv.stats().sessions == 1);
    keep->close();
    CHECK(peer.closed());
  }
}

TEST_CASE("FastAGI: routing by script path, the * route, unrouted connections closed") {
  fastagi_fixture f;
  event_log log;
  f.srv.route("sales/queue", [&](std::shared_ptr<ami::agi::session> s) {
    log.add("sales|" + s->env().script());
    s->close();
  });
  f.start();
  {
    fake_asterisk peer;
    REQUIRE(peer.connect(f.srv.port()));
    REQUIRE(peer.write(fastagi_env("sales/queue", "PJSIP/1-1")));
    CHECK(peer.closed());
  }
  {
    fake_asterisk peer;
    REQUIRE(peer.connect(f.srv.port()));
    REQUIRE(peer.write(fastagi_env("nothing", "PJSIP/1-2")));
    CHECK(peer.closed());
  }
  REQUIRE(log.wait_for(1));
  CHECK(log.get()[0] == "sales|sales/queue");
  CHECK(f.srv.stats().unrouted == 1);

  fastagi_fixture g;
  g.srv.route("*", [&](std::shared_ptr<ami::agi::session> s) {
    log.add("any|" + s->env().script() + "|" + s->env().args.at(0));
    s->close();
  });
  g.start();
  fake_asterisk peer;
  REQUIRE(peer.connect(g.srv.port()));
  REQUIRE(peer.write(fastagi_env("whatever", "PJSIP/1-3", "agi_arg_1: x y\n")));
  CHECK(peer.closed());
  REQUIRE(log.wait_for(2));
  CHECK(log.get()[1] == "any|whatever|x y");
}

TEST_CASE("FastAGI: the socket closing completes the command in flight and the queue") {
  fastagi_fixture f;
  event_log log;
  f.srv.route("ivr", [&](std::shared_ptr<ami::agi::session> s) {
    for (int i = 0; i < 3; ++i) {
      s->async_exec(ami::agi::get_data{"menu", 5000ms, 4},
                    [&log](boost::system::error_code ec, const ami::agi::digits_result&) {
                      log.add(outcome(ec, "data"));
                    });
    }
  });
  f.start();
  fake_asterisk peer;
  REQUIRE(peer.connect(f.srv.port()));
  REQUIRE(peer.write(fastagi_env("ivr", "PJSIP/1-1")));
  const auto line = peer.read_line();
  REQUIRE(line);
  CHECK(*line == "GET DATA menu 5000 4");
  peer.close();
  REQUIRE(log.wait_for(3));
  for (const auto& l : log.get()) CHECK(l == outcome(ami::error::agi_session_ended, "data"));
}

TEST_CASE("FastAGI: a stalled peer times out, during the environment and after a command") {
  auto o = fastagi_fixture::make_options();
  o.environment_timeout = 200ms;
  o.reply_timeout = 200ms;
  fastagi_fixture f(o);
  event_log log;
  f.srv.route("ivr", [&](std::shared_ptr<ami::agi::session> s) {
    s->async_exec(ami::agi::answer{}, [&log](boost::system::error_code ec, const auto&) {
      log.add(outcome(ec, "answer"));
    });
    s->async_exec(ami::agi::noop{}, [&log](boost::system::error_code ec, const auto&) {
      log.add(outcome(ec, "noop"));
    });
  });
  f.start();
  {
    fake_asterisk peer;
    REQUIRE(peer.connect(f.srv.port()));
    REQUIRE(peer.write("agi_network: yes\nagi_channel: x\n"));  // never ends the block
    CHECK(peer.closed());
  }
  fake_asterisk peer;
  REQUIRE(peer.connect(f.srv.port()));
  REQUIRE(peer.write(fastagi_env("ivr", "PJSIP/1-1")));
  REQUIRE(peer.read_line() == std::optional<std::string>("ANSWER"));
  CHECK(peer.closed());  // no reply: the server gives up
  REQUIRE(log.wait_for(2));
  CHECK(log.get()[0] == outcome(ami::error::agi_timeout, "answer"));
  CHECK(log.get()[1] == outcome(ami::error::agi_timeout, "noop"));
  CHECK(f.srv.stats().bad_environment == 1);
}

TEST_CASE("FastAGI: malformed environments, long lines and malformed replies") {
  auto o = fastagi_fixture::make_options();
  o.max_line = 64;
  fastagi_fixture f(o);
  event_log log;
  f.srv.route("*", [&](std::shared_ptr<ami::agi::session> s) {
    for (const char* what : {"first", "second"}) {
      s->async_exec(ami::agi::noop{what}, [&log, what](boost::system::error_code ec, const auto&) {
        log.add(outcome(ec, what));
      });
    }
  });
  f.start();
  const std::vector<std::string> bad_environments = {
      "no colon here\n\n", "agi_arg_0: x\n\n", "agi_channel: " + std::string(100, 'x') + "\n\n"};
  for (const auto& bad : bad_environments) {
    fake_asterisk peer;
    REQUIRE(peer.connect(f.srv.port()));
    REQUIRE(peer.write(bad));
    CHECK(peer.closed());
  }
  CHECK(f.srv.stats().bad_environment == 3);
  CHECK(f.srv.stats().sessions == 0);

  fake_asterisk peer;
  REQUIRE(peer.connect(f.srv.port()));
  REQUIRE(peer.write(fastagi_env("x", "PJSIP/1-1")));
  REQUIRE(peer.read_line() == std::optional<std::string>("NOOP first"));
  REQUIRE(peer.write("200 oops\n"));
  REQUIRE(peer.read_line() == std::optional<std::string>("NOOP second"));
  REQUIRE(
      peer.write("520-Invalid command syntax.  Proper usage follows:\n usage\n"
                 "520 End of proper usage.\n"));
  REQUIRE(log.wait_for(2));
  CHECK(log.get()[0] == outcome(ami::error::agi_malformed_reply, "first"));
  CHECK(log.get()[1] == outcome(ami::error::agi_usage, "second"));
  REQUIRE(peer.write(std::string(100, 'y') + "\n"));  // beyond max_line: the server closes
  CHECK(peer.closed());
}

TEST_CASE("FastAGI: max_sessions refuses further connections at accept") {
  auto o = fastagi_fixture::make_options();
  o.max_sessions = 2;
  fastagi_fixture f(o);
  event_log log;
  f.srv.route("*", [&](std::shared_ptr<ami::agi::session> s) { log.add(s->channel()); });
  f.start();
  fake_asterisk a;
  fake_asterisk b;
  fake_asterisk c;
  REQUIRE(a.connect(f.srv.port()));
  REQUIRE(a.write(fastagi_env("x", "A")));
  REQUIRE(b.connect(f.srv.port()));
  REQUIRE(b.write(fastagi_env("x", "B")));
  REQUIRE(log.wait_for(2));
  REQUIRE(c.connect(f.srv.port()));
  CHECK(c.closed());
  CHECK(f.srv.stats().refused == 1);
  CHECK(f.srv.session_count() == 2);
  a.close();
  b.close();
}

TEST_CASE("FastAGI: 100 concurrent sessions") {
  fastagi_fixture f;
  event_log log;
  f.srv.route("ivr", [&](std::shared_ptr<ami::agi::session> s) {
    s->async_exec(ami::agi::set_variable{"IVR_DIGITS", s->channel()},
                  [&, s](boost::system::error_code ec, const ami::agi::status_result& r) {
                    log.add(ec ? "failed" : std::to_string(r.result));
                    s->close();
                  });
  });
  f.start();
  std::vector<std::unique_ptr<fake_asterisk>> peers;
  for (int i = 0; i < 100; ++i) {
    peers.push_back(std::make_unique<fake_asterisk>());
    REQUIRE(peers.back()->connect(f.srv.port()));
    REQUIRE(peers.back()->write(fastagi_env("ivr", "PJSIP/" + std::to_string(i))));
  }
  int i = 0;
  for (auto& p : peers) {
    const auto line = p->read_line();
    REQUIRE(line);
    CHECK(*line == "SET VARIABLE IVR_DIGITS PJSIP/" + std::to_string(i++));
    REQUIRE(p->write("200 result=1\n"));
  }
  REQUIRE(log.wait_for(100));
  for (const auto& l : log.get()) CHECK(l == "1");
  for (auto& p : peers) CHECK(p->closed());
  CHECK(f.srv.stats().sessions == 100);
}

TEST_CASE("FastAGI: stop() closes every connection and completes what is pending") {
  fastagi_fixture f;
  event_log log;
  f.srv.route("*", [&](std::shared_ptr<ami::agi::session> s) {
    log.add("session");
    for (int i = 0; i < 2; ++i) {
      s->async_exec(ami::agi::wait_for_digit{},
                    [&log](boost::system::error_code ec, const ami::agi::digit_result&) {
                      log.add(outcome(ec, "wait"));
                    });
    }
  });
  f.start();
  fake_asterisk peer;
  REQUIRE(peer.connect(f.srv.port()));
  REQUIRE(peer.write(fastagi_env("x", "PJSIP/1-1")));
  REQUIRE(peer.read_line() == std::optional<std::string>("WAIT FOR DIGIT -1"));
  CHECK(f.srv.session_count() == 1);
  f.srv.stop();
  CHECK(peer.closed());
  REQUIRE(log.wait_for(3));
  CHECK(log.get()[1] == outcome(ami::error::agi_session_ended, "wait"));
  CHECK(log.get()[2] == outcome(ami::error::agi_session_ended, "wait"));
  fake_asterisk late;
  CHECK_FALSE(late.connect(f.srv.port()));  // the listener is closed
}
