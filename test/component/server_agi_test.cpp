// AGI on the simulated PBX: AsyncAGI through raw AMI sessions, FastAGI to an acceptor of the
// test, against the shapes and replies of the captures.
#include "../support/test_data.hpp"
#include "ami/testing/server.hpp"
#include "raw_client.hpp"

#include <doctest/doctest.h>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <optional>
#include <sstream>

using namespace std::chrono_literals;
using ami::test::raw_client;
using ami::testing::behaviour;
using ami::testing::server;
using ami::testing::server_options;

namespace {

using names = std::vector<std::string>;
using tcp = boost::asio::ip::tcp;

names field_names(const ami::message& m) {
  names out;
  for (const auto& f : m) out.emplace_back(f.name);
  return out;
}

std::vector<ami::message> capture(const std::string& file) {
  std::vector<ami::message> out;
  for (auto& o : ami::test::parse_all(ami::test::read_data(file))) {
    if (!o.is_error) out.push_back(o.msg);
  }
  return out;
}

std::vector<ami::message> events_named(const std::vector<ami::message>& msgs,
                                       const std::string& name) {
  std::vector<ami::message> out;
  for (const auto& m : msgs) {
    if (m.is_event() && m.event_name() == name) out.push_back(m);
  }
  return out;
}

std::string uri_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The keys of an agi_* environment block ("key: value" lines up to the blank one).
names env_keys(const std::string& env) {
  names out;
  std::istringstream in(env);
  std::string line;
  while (std::getline(in, line) && !line.empty()) out.push_back(line.substr(0, line.find(':')));
  return out;
}

server_options opts(const std::string& version) {
  server_options o;
  o.ami_version = version;
  return o;
}

// Sends an AGI action and returns its Response.
ami::message agi_action(raw_client& c, const std::string& channel, const std::string& command,
                        const std::string& id) {
  c.action(
      "AGI",
      {{"ActionID", "a-" + id}, {"Channel", channel}, {"Command", command}, {"CommandID", id}});
  ami::message r;
  REQUIRE(c.next_response(r));
  return r;
}

// Runs one AsyncAGI command: the decoded Result of its AsyncAGIExec.
std::string agi(raw_client& c, const std::string& channel, const std::string& command,
                const std::string& id) {
  const auto r = agi_action(c, channel, command, id);
  REQUIRE(r.get_or("Response") == "Success");
  CHECK(r.get_or("Message") == "Added AGI command to queue");
  ami::message e;
  while (c.next_event("AsyncAGIExec", e)) {
    if (e.get_or("CommandId") == id) return uri_decode(e.get_or("Result"));
  }
  FAIL("no AsyncAGIExec for " << id);
  return {};
}

// Starts a call into `exten` and returns the AGI channel named by AsyncAGIStart.
std::string async_call(server& s, raw_client& c, const std::string& exten,
                       ami::message* start = nullptr) {
  s.incoming_call("PJSIP/trunk1", exten, "default", "5551234");
  ami::message e;
  REQUIRE(c.next_event("AsyncAGIStart", e));
  if (start) *start = e;
  return std::string(e.get_or("Channel"));
}

ami::testing::extension agi_ext(const std::string& exten, const std::string& url,
                                std::string dtmf = "", int hangup_during = -1) {
  ami::testing::extension x;
  x.exten = exten;
  x.action = behaviour::agi;
  x.argument = url;
  x.dtmf = std::move(dtmf);
  x.hangup_during_command = hangup_during;
  return x;
}

// A FastAGI server of the test: accepts one connection and talks AGI lines.
struct agi_peer {
  boost::asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)};
  tcp::socket sock{io};
  std::string buf;

  unsigned short port() const { return acceptor.local_endpoint().port(); }

  bool accept(std::chrono::milliseconds timeout = 5s) {
    bool ok = false;
    acceptor.async_accept(sock, [&](boost::system::error_code ec) { ok = !ec; });
    finish(timeout, acceptor);
    return ok;
  }
  // The next line without its '\n', or nullopt at EOF or the deadline.
  std::optional<std::string> line(std::chrono::milliseconds timeout = 5s) {
    std::optional<std::string> out;
    boost::asio::async_read_until(sock, boost::asio::dynamic_buffer(buf), '\n',
                                  [&](boost::system::error_code ec, std::size_t n) {
                                    if (ec) return;
                                    out = buf.substr(0, n - 1);
                                    buf.erase(0, n);
                                  });
    finish(timeout, sock);
    return out;
  }
  // The environment block, blank line included.
  std::string env() {
    std::string out;
    for (;;) {
      auto l = line();
      REQUIRE(l);
      out += *l + "\n";
      if (l->empty()) return out;
    }
  }
  std::string command(const std::string& cmd) {
    boost::asio::write(sock, boost::asio::buffer(cmd + "\n"));
    auto l = line();
    REQUIRE(l);
    return *l;
  }

  template <class Io>
  void finish(std::chrono::milliseconds timeout, Io& op) {
    io.restart();
    io.run_for(timeout);
    if (!io.stopped()) {
      op.cancel();
      io.restart();
      io.run();
    }
  }
};

bool has_channel(server& s, const std::string& name) {
  for (const auto& ch : s.channels()) {
    if (ch.name == name) return true;
  }
  return false;
}

// Waits for the Hangup event of a channel.
bool hung_up(raw_client& c, const std::string& channel) {
  ami::message e;
  while (c.next_event("Hangup", e)) {
    if (e.get_or("Channel") == channel) return true;
  }
  return false;
}

}  // namespace

TEST_SUITE("simulated PBX: AGI") {
  TEST_CASE("AsyncAGI replays the captures' session with their shapes and results") {
    for (const auto& run : {std::pair<std::string, std::string>{"13.0.0", "asyncagi.raw"},
                            {"7.0.3", "asyncagi18.raw"}}) {
      const std::string version = run.first;
      const std::string file = run.second;
      CAPTURE(version);
      const auto cap = capture(file);
      server s(opts(version));
      s.start();
      raw_client c;
      REQUIRE(c.connect(s.port()));
      REQUIRE(c.login().get_or("Response") == "Success");
      c.action("Originate", {{"ActionID", "o"},
                             {"Channel", "Local/800@default"},
                             {"Application", "Wait"},
                             {"Data", "20"},
                             {"Async", "true"},
                             {"CallerID", "\"AGI Caller\" <5552000>"}});
      ami::message start;
      REQUIRE(c.next_event("AsyncAGIStart", start));
      const auto cap_start = events_named(cap, "AsyncAGIStart").at(0);
      CHECK(field_names(start) == field_names(cap_start));
      CHECK(start.get_or("Privilege") == "agi,all");
      const std::string chan(start.get_or("Channel"));
      CHECK(chan.rfind("Local/800@default-", 0) == 0);
      CHECK(chan.substr(chan.size() - 2) == ";2");
      const auto env = uri_decode(start.get_or("Env"));
      CHECK(env_keys(env) == env_keys(uri_decode(cap_start.get_or("Env"))));
      CHECK(std::string(start.get_or("Env")).substr(start.get_or("Env").size() - 6) == "%0A%0A");
      CHECK(env.find("agi_request: async\n") == 0);
      CHECK(env.find("agi_channel: " + chan + "\n") != std::string::npos);
      CHECK(env.find("agi_callerid: 5552000\nagi_calleridname: AGI Caller\n") != std::string::npos);
      CHECK(env.find("agi_extension: 800\nagi_priority: 1\n") != std::string::npos);
      CHECK(env.find(version == "7.0.3" ? "agi_version: 18." : "agi_version: GIT-master") !=
            std::string::npos);

      // The commands of the capture, their results as the capture has them.
      const auto cap_exec = events_named(cap, "AsyncAGIExec");
      const names commands{"ANSWER",
                           "GET VARIABLE CALLERID(num)",
                           "SET VARIABLE IVR_DIGITS \"12 34\"",
                           "STREAM FILE beep \"\"",
                           "WAIT FOR DIGIT 100",
                           "NOT A COMMAND",
                           "GET FULL VARIABLE ${IVR_DIGITS}"};
      REQUIRE(cap_exec.size() == 8);
      for (std::size_t i = 0; i < commands.size(); ++i) {
        CAPTURE(commands[i]);
        const auto id = "cmd" + std::to_string(i);
        CHECK(agi(c, chan, commands[i], id) == uri_decode(cap_exec[i].get_or("Result")));
        if (i == 2) CHECK(s.variable(chan, "IVR_DIGITS") == "12 34");
      }
      CHECK(has_channel(s, chan));
      c.action(
          "AGI",
          {{"ActionID", "h"}, {"Channel", chan}, {"Command", "HANGUP"}, {"CommandID", "cmd7"}});
      ami::message exec;
      REQUIRE(c.next_event("AsyncAGIExec", exec));
      CHECK(field_names(exec) == field_names(cap_exec[7]));
      CHECK(exec.get_or("Result") == cap_exec[7].get_or("Result"));
      ami::message end;
      REQUIRE(c.next_event("AsyncAGIEnd", end));
      CHECK(field_names(end) == field_names(events_named(cap, "AsyncAGIEnd").at(0)));
      REQUIRE(hung_up(c, chan));
      CHECK_FALSE(has_channel(s, chan));

      // An AGI action for the channel after it is gone.
      const auto late = agi_action(c, chan, "ANSWER", "late");
      CHECK(late.get_or("Response") == "Error");
      CHECK(late.get_or("Message") == "Channel " + chan + " does not exist.");
    }
  }

  TEST_CASE("AsyncAGI commands and their results") {
    server s(opts("13.0.0"));
    s.start();
    auto x = agi_ext("810", "agi:async", "12#5#9");
    x.agi_args = {"first", "two words"};
    s.add_extension(x);
    raw_client c;
    REQUIRE(c.connect(s.port()));
    c.login();
    ami::message start;
    const auto chan = async_call(s, c, "810", &start);
    const auto env = uri_decode(start.get_or("Env"));
    CHECK(env.find("agi_threadid: ") != std::string::npos);
    CHECK(env.find("\nagi_arg_1: first\nagi_arg_2: two words\n\n") != std::string::npos);

    int n = 0;
    auto run = [&](const std::string& cmd) { return agi(c, chan, cmd, "c" + std::to_string(n++)); };
    CHECK(run("CHANNEL STATUS") == "200 result=4\n");
    CHECK(run("ANSWER") == "200 result=0\n");
    CHECK(run("CHANNEL STATUS") == "200 result=6\n");
    CHECK(run("CHANNEL STATUS PJSIP/nobody-00000000") == "200 result=-1\n");
    CHECK(run("GET DATA beep 1000 4") == "200 result=12\n");
    CHECK(run("WAIT FOR DIGIT 1000") == "200 result=53\n");               // '5'
    CHECK(run("STREAM FILE beep \"\"") == "200 result=0 endpos=3520\n");  // '#' is not an escape
    const auto interrupted = run("STREAM FILE hello-world #");
    CHECK(interrupted.rfind("200 result=35 endpos=", 0) == 0);
    CHECK(run("GET OPTION beep 9 100").rfind("200 result=57 endpos=", 0) == 0);  // '9'
    CHECK(run("GET DATA beep 50 4") == "200 result= (timeout)\n");
    CHECK(run("WAIT FOR DIGIT 50") == "200 result=0\n");
    CHECK(run("GET OPTION beep 9 50") == "200 result=0 endpos=3520\n");
    CHECK(run("SAY DIGITS 123 \"\"") == "200 result=0\n");
    CHECK(run("SAY NUMBER 42 \"\"") == "200 result=0\n");
    CHECK(run("SAY ALPHA abc \"\"") == "200 result=0\n");
    CHECK(run("SAY DATE 1700000000 \"\"") == "200 result=0\n");
    CHECK(run("SAY TIME 1700000000 \"\"") == "200 result=0\n");
    CHECK(run("RECORD FILE /tmp/msg wav # 50").rfind("200 result=0 (timeout) endpos=", 0) == 0);
    CHECK(run("CONTROL STREAM FILE beep \"\"") == "200 result=0 endpos=440\n");
    CHECK(s.variable(chan, "CPLAYBACKSTATUS") == "SUCCESS");
    CHECK(run("SET VARIABLE GREETING \"hello there\"") == "200 result=1\n");
    CHECK(s.variable(chan, "GREETING") == "hello there");
    CHECK(run("GET VARIABLE GREETING") == "200 result=1 (hello there)\n");
    CHECK(run("GET VARIABLE NOT_SET") == "200 result=0\n");
    CHECK(run("GET FULL VARIABLE \"${GREETING}, ${CALLERID(num)}\"") ==
          "200 result=1 (hello there, 5551234)\n");
    CHECK(run("DATABASE PUT cid 5551234 vip") == "200 result=1\n");
    CHECK(run("DATABASE GET cid 5551234") == "200 result=1 (vip)\n");
    CHECK(run("DATABASE DEL cid 5551234") == "200 result=1\n");
    CHECK(run("DATABASE GET cid 5551234") == "200 result=0\n");
    CHECK(run("EXEC NoOp hello") == "200 result=0\n");
    CHECK(run("EXEC Set ROUTE=sales") == "200 result=0\n");
    CHECK(s.variable(chan, "ROUTE") == "sales");
    CHECK(run("EXEC NoSuchApp x") == "200 result=-2\n");
    CHECK(run("SET CONTEXT sales") == "200 result=0\n");
    CHECK(run("SET EXTENSION 2000") == "200 result=0\n");
    CHECK(run("SET PRIORITY 3") == "200 result=0\n");
    CHECK(run("SET CALLERID \"\\\"Boss\\\" <100>\"") == "200 result=1\n");
    CHECK(run("GET VARIABLE CALLERID(name)") == "200 result=1 (Boss)\n");
    CHECK(run("VERBOSE \"a message\" 1") == "200 result=1\n");
    CHECK(run("NOOP") == "200 result=0\n");
    CHECK(run("SET MUSIC on default") == "200 result=0\n");
    CHECK(run("NOT A COMMAND") == "510 Invalid or unknown command\n");
    const auto usage = run("GET VARIABLE");
    CHECK(usage.rfind("520-Invalid command syntax.  Proper usage follows:\n", 0) == 0);
    CHECK(usage.find("GET VARIABLE <variablename>") != std::string::npos);
    CHECK(usage.substr(usage.size() - 25) == "520 End of proper usage.\n");
    CHECK(run("WAIT FOR DIGIT soon").rfind("520-", 0) == 0);
    for (const auto& ch : s.channels()) {
      if (ch.name == chan) CHECK(ch.context == "sales");
    }

    // ASYNCAGI BREAK: back to the dialplan, which ends the call.
    CHECK(run("ASYNCAGI BREAK") == "200 result=0\n");
    ami::message end;
    REQUIRE(c.next_event("AsyncAGIEnd", end));
    CHECK(end.get_or("Channel") == chan);
    REQUIRE(hung_up(c, chan));
  }

  TEST_CASE("AsyncAGI: the caller hangs up in the middle of a command") {
    server s(opts("7.0.3"));
    s.start();
    s.add_extension(agi_ext("811", "agi:async", "", 1));
    raw_client c;
    REQUIRE(c.connect(s.port()));
    c.login();
    const auto chan = async_call(s, c, "811");
    CHECK(agi(c, chan, "ANSWER", "a") == "200 result=0\n");
    const auto r = agi(c, chan, "STREAM FILE hello-world \"\"", "b");
    CHECK(r.rfind("200 result=-1 endpos=", 0) == 0);
    ami::message end;
    REQUIRE(c.next_event("AsyncAGIEnd", end));
    CHECK(end.get_or("Channel") == chan);
    ami::message var;
    REQUIRE(c.next_event("VarSet", var));
    CHECK(var.get_or("Variable") == "AGISTATUS");
    CHECK(var.get_or("Value") == "HANGUP");
    REQUIRE(hung_up(c, chan));
    const auto gone = agi_action(c, chan, "NOOP", "z");
    CHECK(gone.get_or("Message") == "Channel " + chan + " does not exist.");
  }

  TEST_CASE("AsyncAGI: a hangup of the channel while a command waits, and errors") {
    server s(opts("13.0.0"));
    s.start();
    raw_client c;
    REQUIRE(c.connect(s.port()));
    c.login();
    const auto chan = async_call(s, c, "800");
    REQUIRE(agi_action(c, chan, "WAIT FOR DIGIT -1", "w").get_or("Response") == "Success");
    ami::message start;
    REQUIRE(c.next_event("AGIExecStart", start));
    CHECK(s.hangup(chan));
    ami::message exec;
    REQUIRE(c.next_event("AsyncAGIExec", exec));
    CHECK(uri_decode(exec.get_or("Result")) == "200 result=-1\n");
    CHECK(exec.get_or("CommandId") == "w");
    ami::message end;
    REQUIRE(c.next_event("AsyncAGIEnd", end));
    REQUIRE(hung_up(c, chan));

    // A channel that does not run AsyncAGI, and missing headers.
    const auto other = s.incoming_call("PJSIP/trunk1", "200");
    REQUIRE(c.read_until([&] { return has_channel(s, other); }));
    auto r = agi_action(c, other, "ANSWER", "x");
    CHECK(r.get_or("Message") == "Failed to add AGI command to channel " + other + " queue");
    c.action("AGI", {{"ActionID", "m"}, {"Channel", other}});
    REQUIRE(c.next_response(r));
    CHECK(r.get_or("Message") == "Both, Channel and Command are *required*");
  }

  TEST_CASE("FastAGI: the environment and the replies of the capture") {
    for (const auto& run : {std::pair<std::string, std::string>{"13.0.0", "fastagi.agi.raw"},
                            {"7.0.3", "fastagi18.agi.raw"}}) {
      const std::string version = run.first;
      const std::string file = run.second;
      CAPTURE(version);
      agi_peer peer;
      server s(opts(version));
      s.start();
      const auto url = "agi://127.0.0.1:" + std::to_string(peer.port()) + "/ivr";
      s.add_extension(agi_ext("801", url));
      raw_client c;
      REQUIRE(c.connect(s.port()));
      c.login();
      c.action("Originate", {{"ActionID", "o"},
                             {"Channel", "Local/801@default"},
                             {"Application", "Wait"},
                             {"Data", "20"},
                             {"Async", "true"},
                             {"CallerID", "\"FastAGI Caller\" <5553000>"}});
      REQUIRE(peer.accept());
      const auto env = peer.env();
      const auto cap = ami::test::read_data(file);
      const auto cap_env = cap.substr(0, cap.find("\n\n") + 2);
      CHECK(env_keys(env) == env_keys(cap_env));
      CHECK(env.find("agi_network: yes\nagi_network_script: ivr\nagi_request: " + url + "\n") == 0);
      CHECK(env.find("agi_callerid: 5553000\nagi_calleridname: FastAGI Caller\n") !=
            std::string::npos);
      const auto chan_at = env.find("agi_channel: ") + 13;
      const auto chan = env.substr(chan_at, env.find('\n', chan_at) - chan_at);

      std::istringstream replies(cap.substr(cap_env.size()));
      std::istringstream sent(ami::test::read_data(file.substr(0, file.size() - 4) + ".sent.raw"));
      std::string cmd, expected;
      while (std::getline(sent, cmd)) {
        CAPTURE(cmd);
        REQUIRE(std::getline(replies, expected));
        CHECK(peer.command(cmd) == expected);
        if (cmd == "HANGUP") {
          REQUIRE(std::getline(replies, expected));
          CHECK(expected == "HANGUP");
          CHECK(peer.line() == expected);
        }
      }
      CHECK(s.variable(chan, "IVR_DIGITS") == "42");
      // The channel stays until the script closes the connection.
      CHECK(has_channel(s, chan));
      peer.sock.close();
      REQUIRE(hung_up(c, chan));
      CHECK_FALSE(has_channel(s, chan));
    }
  }

  TEST_CASE("FastAGI: arguments, a hangup in the middle of a command, 511 afterwards") {
    agi_peer peer;
    server s(opts("13.0.0"));
    s.start();
    auto x =
        agi_ext("812", "agi://127.0.0.1:" + std::to_string(peer.port()) + "/menu?lang=en", "7", 2);
    x.agi_args = {"alpha", "beta"};
    s.add_extension(x);
    raw_client c;
    REQUIRE(c.connect(s.port()));
    c.login();
    const auto chan = s.incoming_call("PJSIP/trunk1", "812", "default", "5559999");
    REQUIRE(peer.accept());
    const auto env = peer.env();
    CHECK(env.find("agi_network_script: menu?lang=en\n") != std::string::npos);
    CHECK(env.find("agi_channel: " + chan + "\n") != std::string::npos);
    CHECK(env.find("agi_extension: 812\n") != std::string::npos);
    CHECK(env.find("\nagi_arg_1: alpha\nagi_arg_2: beta\n\n") != std::string::npos);
    CHECK(peer.command("ANSWER") == "200 result=0");
    CHECK(peer.command("WAIT FOR DIGIT 1000") == "200 result=55");
    CHECK(peer.command("WAIT FOR DIGIT -1") == "200 result=-1");
    CHECK(peer.line() == "HANGUP");
    CHECK(peer.command("STREAM FILE beep \"\"") ==
          "511 Command Not Permitted on a dead channel or intercept routine");
    CHECK(peer.command("SET VARIABLE AFTER yes") == "200 result=1");
    CHECK(peer.command("GET VARIABLE AFTER") == "200 result=1 (yes)");
    CHECK(peer.command("GET VARIABLE") == "520-Invalid command syntax.  Proper usage follows:");
    std::string body;
    for (auto l = peer.line(); l && *l != "520 End of proper usage."; l = peer.line()) body += *l;
    CHECK(body.find("GET VARIABLE <variablename>") != std::string::npos);
    CHECK(has_channel(s, chan));
    CHECK(s.variable(chan, "AFTER") == "yes");
    peer.sock.close();
    ami::message var;
    bool status = false;
    while (!status && c.next_event("VarSet", var)) {
      status = var.get_or("Variable") == "AGISTATUS" && var.get_or("Channel") == chan;
    }
    REQUIRE(status);
    CHECK(var.get_or("Value") == "HANGUP");
    REQUIRE(hung_up(c, chan));
  }

  TEST_CASE("FastAGI: a refused connection fails the AGI, a script that closes ends it") {
    unsigned short closed_port = 0;
    {
      agi_peer gone;
      closed_port = gone.port();
    }
    server s(opts("13.0.0"));
    s.start();
    s.add_extension(agi_ext("813", "agi://127.0.0.1:" + std::to_string(closed_port) + "/x"));
    raw_client c;
    REQUIRE(c.connect(s.port()));
    c.login();
    const auto chan = s.incoming_call("PJSIP/trunk1", "813");
    ami::message var;
    REQUIRE(c.next_event("VarSet", var));
    CHECK(var.get_or("Variable") == "AGISTATUS");
    CHECK(var.get_or("Value") == "FAILURE");
    REQUIRE(hung_up(c, chan));

    agi_peer peer;
    s.add_extension(agi_ext("814", "agi://127.0.0.1:" + std::to_string(peer.port())));
    const auto chan2 = s.incoming_call("PJSIP/trunk1", "814");
    REQUIRE(peer.accept());
    CHECK(peer.env().find("agi_network_script: \n") != std::string::npos);
    CHECK(peer.command("NOOP") == "200 result=0");
    peer.sock.close();
    REQUIRE(c.next_event("VarSet", var));
    CHECK(var.get_or("Value") == "SUCCESS");
    REQUIRE(hung_up(c, chan2));
  }

  TEST_CASE("the standard dialplan has the captures' AGI extensions") {
    const auto cfg = ami::testing::pbx_config::standard();
    int found = 0;
    for (const auto& x : cfg.extensions) {
      if (x.exten == "800") {
        CHECK(x.action == behaviour::agi);
        CHECK(x.argument == "agi:async");
        ++found;
      }
      if (x.exten == "801") {
        CHECK(x.argument == "agi://127.0.0.1:4574/ivr");
        ++found;
      }
    }
    CHECK(found == 2);
    CHECK(std::string(ami::testing::to_string(behaviour::agi)) == "agi");
  }
}
