// ami-wallboard (tools/wallboard/app.hpp) run in-process against the simulated PBX:
// --snapshot --json checked field by field against the simulator's own model, the text
// board, --demo, --serve with and without a token, and the usage and connection errors.
#include "http_test_client.hpp"
#include "wallboard_support.hpp"

#include "ami/typed/channel_state.hpp"

#include <boost/json.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using ami::test::call_center_options;
using ami::test::queue_caller;
using ami::test::wait_for_channels;
using ami::test::wallboard_program;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

json::object parse_document(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  REQUIRE_MESSAGE(!ec, "not JSON: " << text.substr(0, 200));
  REQUIRE(v.is_object());
  return v.as_object();
}

std::string str(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  REQUIRE_MESSAGE(v != nullptr, "no key " << key);
  REQUIRE_MESSAGE(v->is_string(), key << " is not a string");
  return std::string(v->as_string());
}

std::int64_t num(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  REQUIRE_MESSAGE(v != nullptr, "no key " << key);
  REQUIRE_MESSAGE(v->is_int64(), key << " is not an integer");
  return v->as_int64();
}

bool flag(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  REQUIRE_MESSAGE(v != nullptr, "no key " << key);
  REQUIRE(v->is_bool());
  return v->as_bool();
}

const json::object* find_by(const json::array& a, const char* key, const std::string& value) {
  for (const auto& v : a) {
    const auto& o = v.as_object();
    if (const auto* k = o.if_contains(key);
        k != nullptr && k->is_string() && k->as_string() == value) {
      return &o;
    }
  }
  return nullptr;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_SUITE("ami-wallboard") {
  TEST_CASE("--snapshot --json: the simulator's channels, queues, members and callers") {
    ami::testing::server srv(call_center_options());
    srv.start();
    const std::string first = queue_caller(srv, "5551001");
    const std::string second = queue_caller(srv, "5551002");
    const std::string echo = srv.incoming_call("PJSIP/100", "200");  // echo: stays up
    REQUIRE(wait_for_channels(srv, [&](const auto& channels) {
      const auto* c = ami::test::find_channel(channels, echo);
      return c != nullptr && c->state == 6 && c->application == "Echo";
    }));
    // A call in the parking lot.
    const std::string held = srv.incoming_call("PJSIP/100", "200");
    REQUIRE(wait_for_channels(srv, [&](const auto& channels) {
      const auto* c = ami::test::find_channel(channels, held);
      return c != nullptr && c->state == 6 && c->application == "Echo";
    }));
    const auto space = srv.park(held);
    REQUIRE(space);

    wallboard_program p({"--url", srv.url(), "--snapshot", "--json"});
    REQUIRE(p.wait() == 0);
    const auto lines = p.out();
    REQUIRE(std::count(lines.begin(), lines.end(), '\n') == 1);  // one document
    const json::object doc = parse_document(p.out());

    // Exactly the top-level keys of the format, each an array.
    const std::vector<std::string> keys{"channels", "calls",      "bridges", "queues",     "agents",
                                        "devices",  "extensions", "parked",  "conferences"};
    CHECK(doc.size() == keys.size());
    for (const auto& k : keys) {
      CAPTURE(k);
      REQUIRE(doc.contains(k));
      CHECK(doc.at(k).is_array());
    }

    // Channels: the simulator's, field by field; the state as Asterisk's text.
    const auto server_channels = srv.channels();
    const auto& channels = doc.at("channels").as_array();
    CHECK(channels.size() == server_channels.size());
    for (const auto& sc : server_channels) {
      CAPTURE(sc.name);
      const json::object* c = find_by(channels, "uniqueid", sc.uniqueid);
      REQUIRE(c != nullptr);
      CHECK(str(*c, "channel") == sc.name);
      CHECK(str(*c, "linkedid") == sc.linkedid);
      CHECK(str(*c, "state") ==
            std::string(ami::events::to_string(static_cast<ami::events::channel_state>(sc.state))));
      CHECK(str(*c, "state") == "Up");
      CHECK(str(*c, "context") == sc.context);
      CHECK(str(*c, "exten") == sc.exten);
      CHECK(num(*c, "priority") == sc.priority);
      CHECK(str(*c, "application") == sc.application);
      CHECK(str(*c, "bridge") == sc.bridge);
      CHECK(doc.at("channels").as_array().size() >= 3);
      (void)str(*c, "caller_id_num");
      (void)str(*c, "caller_id_name");
    }
    CHECK(str(*find_by(channels, "channel", first), "caller_id_num") == "5551001");

    // Queues: the simulator's configuration, and the callers waiting in order.
    const auto& queues = doc.at("queues").as_array();
    const auto server_queues = srv.queues();
    CHECK(queues.size() == server_queues.size());
    for (const auto& sq : server_queues) {
      CAPTURE(sq.name);
      const json::object* q = find_by(queues, "queue", sq.name);
      REQUIRE(q != nullptr);
      CHECK(str(*q, "strategy") == sq.strategy);
      for (const char* k : {"calls", "completed", "abandoned", "holdtime", "talktime"}) {
        CAPTURE(k);
        CHECK(num(*q, k) >= 0);
      }
      const auto& members = q->at("members").as_array();
      CHECK(members.size() == sq.members.size());
      for (const auto& sm : sq.members) {
        CAPTURE(sm.interface);
        const json::object* m = find_by(members, "interface", sm.interface);
        REQUIRE(m != nullptr);
        CHECK(str(*m, "name") == sm.name);
        CHECK(num(*m, "penalty") == sm.penalty);
        CHECK(flag(*m, "paused") == sm.paused);
        CHECK(num(*m, "calls_taken") == 0);
        CHECK_FALSE(flag(*m, "in_call"));
        CHECK_FALSE(str(*m, "status").empty());
      }
    }
    const json::object* sales = find_by(queues, "queue", "sales");
    REQUIRE(sales != nullptr);
    CHECK(num(*sales, "calls") == 2);
    const auto& callers = sales->at("callers").as_array();
    REQUIRE(callers.size() == 2);
    const std::vector<std::string> order{first, second};
    for (std::size_t i = 0; i < order.size(); ++i) {
      const auto& c = callers[i].as_object();
      CHECK(str(c, "channel") == order[i]);
      CHECK(num(c, "position") == static_cast<std::int64_t>(i + 1));
      CHECK(str(c, "uniqueid") == ami::test::find_channel(server_channels, order[i])->uniqueid);
      CHECK(num(c, "wait") >= 0);
    }
    CHECK(find_by(*find_by(queues, "queue", "sales")->at("members").if_array(), "interface",
                  "PJSIP/101") != nullptr);
    const json::object* support = find_by(queues, "queue", "support");
    REQUIRE(support != nullptr);
    CHECK(support->at("callers").as_array().empty());

    // Devices and hints have their keys; extension 100's hint is the simulator's.
    for (const auto& d : doc.at("devices").as_array()) {
      (void)str(d.as_object(), "device");
      (void)str(d.as_object(), "state");
    }
    // (The simulator answers neither DeviceStateList nor ExtensionStateList: devices come
    // from its DeviceStateChange events, hints from ExtensionStatus ones.)
    for (const auto& x : doc.at("extensions").as_array()) {
      (void)str(x.as_object(), "exten");
      (void)str(x.as_object(), "context");
      (void)str(x.as_object(), "hint");
      (void)num(x.as_object(), "status");
    }
    // Calls: one per linkedid of the simulator.
    std::set<std::string> linked;
    for (const auto& sc : server_channels) linked.insert(sc.linkedid);
    CHECK(doc.at("calls").as_array().size() == linked.size());
    const auto& parked = doc.at("parked").as_array();
    REQUIRE(parked.size() == 1);
    CHECK(str(parked[0].as_object(), "channel") == held);
    CHECK(num(parked[0].as_object(), "parking_space") == *space);
    CHECK(str(parked[0].as_object(), "uniqueid") ==
          ami::test::find_channel(server_channels, held)->uniqueid);
    CHECK(doc.at("conferences").as_array().empty());
  }

  TEST_CASE("--snapshot: the text board counts the queue's callers and members") {
    ami::testing::server srv(call_center_options());
    srv.start();
    const std::string caller = queue_caller(srv, "5552001");
    wallboard_program p({"--url", srv.url(), "--snapshot"});
    REQUIRE(p.wait() == 0);
    const std::string out = p.out();
    CAPTURE(out);
    CHECK(out.find('\x1b') == std::string::npos);  // plain text when not on a terminal
    std::istringstream in(out);
    std::string line;
    bool saw_queue = false;
    while (std::getline(in, line)) {
      if (line.rfind("sales ", 0) != 0) continue;
      saw_queue = true;
      std::istringstream fields(line);
      std::string name, longest;
      int waiting = -1, avail = -1, busy = -1, paused = -1, answered = -1, abandoned = -1;
      fields >> name >> waiting >> longest >> avail >> busy >> paused >> answered >> abandoned;
      CHECK(waiting == 1);
      CHECK(paused == 1);
      CHECK(avail == 0);
    }
    CHECK(saw_queue);
    CHECK(contains(out, "1. " + caller + " (5552001) waiting"));
    CHECK(contains(out, "PJSIP/100"));
    CHECK(contains(out, "paused (lunch)"));
  }

  TEST_CASE("the live view redraws in place on a terminal, and plain boards when piped") {
    ami::testing::server srv(call_center_options());
    srv.start();
    for (const bool tty : {true, false}) {
      CAPTURE(tty);
      ami::tools::wallboard::run_options run;
      run.tty = tty;
      run.board_gap = 20ms;
      wallboard_program p({"--url", srv.url()}, run);
      REQUIRE(p.url());  // running
      // Synced: the queue is on the board, with nobody waiting yet.
      REQUIRE(p.wait_out([](const std::string& out) {
        return contains(out, "live\n") || contains(out, "live\x1b[K");
      }));
      const std::string number = tty ? "5556001" : "5556002";
      const std::string caller = queue_caller(srv, number);
      const std::string line = "1. " + caller + " (" + number + ") waiting";
      REQUIRE(p.wait_out([&](const std::string& out) { return contains(out, line); }));
      const std::size_t shown = p.out().size();
      REQUIRE(srv.hangup(caller));
      // A later board without the caller.
      REQUIRE(p.wait_out([&](const std::string& out) {
        const std::string later = out.substr(shown);
        const auto start = later.rfind(tty ? "\x1b[H" : "---- ");
        const auto end = later.find(tty ? "\x1b[J" : "CALLS", start);
        return start != std::string::npos && end != std::string::npos &&
               !contains(later.substr(start, end - start), caller) &&
               contains(later.substr(start, end - start), "QUEUES");
      }));
      p.stop();
      REQUIRE(p.wait() == 0);
      const std::string out = p.out();
      CHECK(contains(out, "\x1b[") == tty);  // escape codes only on a terminal
    }
  }

  TEST_CASE("--demo --snapshot --json: the embedded call center has its three queues") {
    ami::tools::wallboard::run_options run;
    run.demo_warmup = 300ms;
    wallboard_program p({"--demo", "--snapshot", "--json"}, run);
    REQUIRE(p.wait() == 0);
    const json::object doc = parse_document(p.out());
    const auto& queues = doc.at("queues").as_array();
    for (const char* q : {"support", "sales", "callcenter"}) {
      CAPTURE(q);
      CHECK(find_by(queues, "queue", q) != nullptr);
    }
    CHECK(find_by(queues, "queue", "sales")->at("members").as_array().size() == 3);
    CHECK_FALSE(doc.at("channels").as_array().empty());  // the demo's first callers
  }

  TEST_CASE("--serve: the page and /api/snapshot, the token, and a clean stop") {
    ami::testing::server srv(call_center_options());
    srv.start();
    const std::string caller = queue_caller(srv, "5553001");
    wallboard_program p({"--url", srv.url(), "--serve", "127.0.0.1:0", "--token", "t0ken"});
    const auto url = p.url();
    REQUIRE(url);
    CHECK(url->rfind("http://127.0.0.1:", 0) == 0);
    const auto port = static_cast<unsigned short>(std::stoi(url->substr(17)));
    const auto page = ami::test::http_request(port, "/");
    REQUIRE(page);
    CHECK(page->status == 200);
    CHECK(ami::test::http_request(port, "/api/snapshot")->status == 401);
    // The document is the --snapshot --json one: once synced it has the caller.
    bool seen = false;
    const auto end = std::chrono::steady_clock::now() + 10s;
    while (!seen && std::chrono::steady_clock::now() < end) {
      ami::test::sse_client stream(port, "/api/events?token=t0ken");
      REQUIRE(stream.status() == 200);
      while (!seen) {
        const auto m = stream.next();
        REQUIRE(m);
        const json::object doc = parse_document(m->second);
        CHECK(doc.size() == 9);
        const json::object* sales = find_by(doc.at("queues").as_array(), "queue", "sales");
        seen = sales != nullptr && find_by(sales->at("callers").as_array(), "channel", caller);
      }
    }
    CHECK(seen);
    const auto snap = ami::test::http_request(port, "/api/snapshot?token=t0ken");
    REQUIRE(snap);
    CHECK(snap->status == 200);
    CHECK(parse_document(snap->body).contains("queues"));
    p.stop();
    CHECK(p.wait() == 0);
    CHECK(contains(p.out(), "serving " + *url));
    CHECK_FALSE(contains(p.out() + p.err(), "t0ken"));
  }

  TEST_CASE("usage and connection errors exit with a clear message") {
    struct bad {
      std::vector<std::string> args;
      int status;
      const char* says;
    };
    ami::testing::server srv;
    srv.start();
    std::string wrong = srv.url();
    wrong.replace(wrong.find("amp111"), 6, "nope42");
    const std::vector<bad> cases{
        {{"--json"}, 1, "--json goes with --snapshot"},
        {{"--serve", "nowhere"}, 1, "--serve wants HOST:PORT"},
        {{"--serve", "127.0.0.1:99999"}, 1, "--serve wants HOST:PORT"},
        {{"--token", "x"}, 1, "--token goes with --serve"},
        {{"--snapshot", "--serve", "127.0.0.1:0"}, 1, "drop --serve"},
        {{"--refresh", "0"}, 1, "--refresh needs"},
        {{"--bogus"}, 1, "unknown option --bogus"},
        {{"--snapshot"}, 1, "no server"},
        {{"--url", wrong, "--snapshot"}, 2, "cannot log in"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.args.front());
      wallboard_program p(c.args);
      REQUIRE(p.wait() == c.status);
      const std::string err = p.err();
      CAPTURE(err);
      CHECK(contains(err, c.says));
      CHECK_FALSE(contains(p.err(), "nope42"));
    }
    wallboard_program help({"--help"});
    REQUIRE(help.wait() == 0);
    CHECK(contains(help.out(), "Usage: ami-wallboard"));
  }
}
