// The bridge's pure parts: the JSON formats, the outbox, the configuration and options.
#include "bridge/codec.hpp"
#include "bridge/config.hpp"
#include "bridge/outbox.hpp"
#include "bridge/program.hpp"

#include "ami/proto/parser.hpp"

#include <doctest/doctest.h>
#include <boost/json.hpp>

#include <fstream>
#include <map>
#include <sstream>

namespace json = boost::json;
using namespace ami::bridge;

namespace {

ami::message parse_one(std::string_view bytes) {
  ami::proto::parser p;
  p.feed(bytes);
  ami::message m;
  REQUIRE(p.next(m).status == ami::proto::parse_status::message);
  return ami::message(m);  // an owning copy: the parser goes
}

env_lookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

outbound event_msg(std::uint64_t seq) {
  outbound m;
  m.kind = outbound_kind::event;
  m.subject = "ami.p.event.X";
  m.seq = seq;
  m.session = "s";
  m.msg_id = "p/s/" + std::to_string(seq);
  return m;
}

outbound control_msg(outbound_kind k, const std::string& id) {
  outbound m;
  m.kind = k;
  m.msg_id = id;
  return m;
}

std::vector<std::string> drain_ids(outbox& b) {
  std::vector<std::string> ids;
  while (const auto* m = b.next()) {
    ids.push_back(m->msg_id);
    b.sent();
  }
  return ids;
}

}  // namespace

TEST_SUITE("bridge logic") {
  TEST_CASE("an event as JSON: headers in wire order, repeated ones as arrays") {
    const auto m = parse_one(
        "Event: VarSet\r\nChannel: PJSIP/1\r\nVariable: a=1\r\nUniqueid: 9\r\nVariable: b=2\r\n"
        "Variable: c=3\r\n\r\n");
    const auto v = json::parse(event_json(m)).as_object();
    REQUIRE(v.size() == 4);
    auto it = v.begin();
    CHECK(it->key() == "Event");
    CHECK((++it)->key() == "Channel");
    CHECK((++it)->key() == "Variable");
    CHECK((++it)->key() == "Uniqueid");
    CHECK(v.at("Variable") == json::array{"a=1", "b=2", "c=3"});
    CHECK(v.at("Uniqueid") == "9");
  }

  TEST_CASE("bytes that are not UTF-8 still make valid JSON, each byte kept") {
    const auto m = parse_one("Event: X\r\nName: caf\xe9 \xc3\xa9t\xc3\xa9\r\n\r\n");
    const auto s = event_json(m);
    boost::system::error_code ec;
    const auto v = json::parse(s, ec);
    REQUIRE_FALSE(ec);
    CHECK(v.at("Name") == "caf\xc3\xa9 \xc3\xa9t\xc3\xa9");
  }

  TEST_CASE("a request: fields in order, arrays repeated, numbers and booleans as text") {
    const auto r = parse_request(
        R"({"Action":"Originate","Channel":"PJSIP/1","Variable":["a=1","b=2"],"Timeout":30000,"Async":true})");
    REQUIRE_FALSE(r.problem);
    CHECK(r.action.name() == "Originate");
    const auto& f = r.action.fields();
    REQUIRE(f.size() == 5);
    CHECK(f[0].first == "Channel");
    CHECK(f[1] == std::pair<std::string, std::string>{"Variable", "a=1"});
    CHECK(f[2] == std::pair<std::string, std::string>{"Variable", "b=2"});
    CHECK(f[3].second == "30000");
    CHECK(f[4].second == "true");
  }

  TEST_CASE("bad requests: malformed, not an object, no Action, nested, null, CR or LF") {
    for (const char* body :
         {R"({"Action":)", R"([1,2])", R"("Ping")", R"({})", R"({"Channel":"x"})",
          R"({"Action":""})", R"({"Action":7})", R"({"Action":"Ping","X":{"a":1}})",
          R"({"Action":"Ping","X":null})", R"({"Action":"Ping","X":[["a"]]})",
          R"({"Action":"Ping\r\nAction: Originate"})", R"({"Action":"Ping","X":"a\nb"})",
          R"({"Action":"Ping","X\r":"a"})", R"({"Action":"Ping","":"a"})",
          R"({"Action":"Ping","action":"Logoff"})", R"({"Action":"Ping","V":["ok","a\rb"]})"}) {
      CAPTURE(body);
      const auto r = parse_request(body);
      CHECK(r.problem);
    }
  }

  TEST_CASE("replies: a response with its list, errors with the answer") {
    ami::response r(parse_one("Response: Success\r\nActionID: 1\r\nEventList: start\r\n\r\n"));
    r.add_event(parse_one("Event: CoreShowChannel\r\nChannel: A\r\n\r\n"));
    r.set_complete(parse_one("Event: CoreShowChannelsComplete\r\nListItems: 1\r\n\r\n"));
    const auto v = json::parse(response_json(r)).as_object();
    CHECK(v.at("response").at("Response") == "Success");
    const auto& events = v.at("events").as_array();
    REQUIRE(events.size() == 2);
    CHECK(events[0].at("Channel") == "A");
    CHECK(events[1].at("Event") == "CoreShowChannelsComplete");

    ami::response e(parse_one("Response: Error\r\nMessage: Permission denied\r\n\r\n"));
    const auto err =
        json::parse(error_json(request_error::action_failed, "Permission denied", &e)).as_object();
    CHECK(err.at("error") == "action_failed");
    CHECK(err.at("message") == "Permission denied");
    CHECK(err.at("response").at("Response") == "Error");
    CHECK_FALSE(
        json::parse(error_json(request_error::timeout, "late")).as_object().contains("response"));

    CHECK(classify(ami::error::action_timeout) == request_error::timeout);
    CHECK(classify(ami::error::not_connected) == request_error::not_connected);
    CHECK(classify(ami::error::connection_lost) == request_error::not_connected);
    CHECK(classify(ami::error::action_failed) == request_error::action_failed);
    CHECK(classify(ami::error::invalid_field) == request_error::bad_request);
  }

  TEST_CASE("outbox: in order, acknowledged in any order, sent again from the oldest") {
    outbox b(10);
    for (std::uint64_t i = 1; i <= 5; ++i) b.push_event(event_msg(i));
    CHECK(drain_ids(b) == std::vector<std::string>{"p/s/1", "p/s/2", "p/s/3", "p/s/4", "p/s/5"});
    CHECK(b.in_flight() == 5);
    CHECK(b.acknowledged("p/s/1"));
    CHECK(b.acknowledged("p/s/3"));  // out of order: kept until 2 is in
    CHECK(b.size() == 4);
    CHECK_FALSE(b.acknowledged("p/s/1"));  // a late repeat
    CHECK(b.failed("p/s/4"));
    // Again from the oldest unacknowledged, skipping 3 (stored).
    CHECK(drain_ids(b) == std::vector<std::string>{"p/s/2", "p/s/4", "p/s/5"});
    CHECK_FALSE(b.failed("p/s/3"));
    CHECK(b.acknowledged("p/s/2"));
    CHECK(b.size() == 2);  // 3 went with 2
    CHECK(b.acknowledged("p/s/4"));
    CHECK(b.acknowledged("p/s/5"));
    CHECK(b.empty());
    CHECK(b.events() == 0);
    CHECK(b.next() == nullptr);
  }

  TEST_CASE("outbox: capacity counts events, state messages coalesce, drops make runs") {
    outbox b(2);
    b.push_control(control_msg(outbound_kind::state, "c1"));
    b.push_control(control_msg(outbound_kind::state, "c2"));  // replaces c1, unsent
    b.push_event(event_msg(1));
    b.push_event(event_msg(2));
    CHECK_FALSE(b.has_room());
    b.push_control(control_msg(outbound_kind::gap, "g1"));
    b.push_control(control_msg(outbound_kind::state, "c3"));
    b.push_control(control_msg(outbound_kind::state, "c4"));
    CHECK(b.size() == 5);
    b.note_dropped("s", 3);
    b.note_dropped("s", 4);
    CHECK(b.dropped_total() == 2);
    const auto run = b.take_dropped();
    REQUIRE(run);
    CHECK(run->first_seq == 3);
    CHECK(run->last_seq == 4);
    CHECK(run->count == 2);
    CHECK_FALSE(b.take_dropped());
    CHECK(drain_ids(b) == std::vector<std::string>{"c2", "p/s/1", "p/s/2", "g1", "c4"});
    // A state after one already sent is not merged into it.
    b.push_control(control_msg(outbound_kind::state, "c5"));
    CHECK(b.size() == 6);
    b.rewind();
    CHECK(b.in_flight() == 0);
    CHECK(b.clear() == 6);
    CHECK(b.has_room());
  }

  TEST_CASE("the example configuration file reads, with its secrets from the environment") {
    std::ifstream in(AMI_BRIDGE_EXAMPLE);
    REQUIRE(in);
    std::ostringstream text;
    text << in.rdbuf();
    bridge_config cfg;
    const auto env = env_of({{"PARIS_AMI_SECRET", "s3cret"}, {"NATS_PASSWORD", "np"}});
    REQUIRE_FALSE(parse_config(text.str(), env, cfg));
    REQUIRE(cfg.pbxs.size() == 2);
    CHECK(cfg.pbxs[0].name == "paris");
    CHECK(cfg.pbxs[0].ami.secret == "s3cret");
    CHECK(cfg.pbxs[0].events == std::vector<std::string>{"Newchannel", "Hangup", "Queue*"});
    CHECK(cfg.nats.password == "np");
    CHECK(cfg.nats.servers.size() == 2);
    CHECK(cfg.stream.storage == storage_kind::file);
    CHECK(cfg.overflow == overflow_policy::resync);
    // Without the variables the file is refused, naming the variable, never a secret.
    bridge_config none;
    const auto bad = parse_config(text.str(), env_of({}), none);
    REQUIRE(bad);
    CHECK(bad->find("is not set") != std::string::npos);
  }

  TEST_CASE("configuration errors are reported, never with a secret") {
    const auto env = env_of({});
    const auto problem = [&](const std::string& doc) {
      bridge_config cfg;
      return parse_config(doc, env, cfg).value_or("");
    };
    const std::string pbx = R"("pbxs":[{"name":"a","url":"ami://u:topsecret@h"}])";
    const std::string nats = R"("nats":{"servers":["nats://127.0.0.1:4222"]})";
    CHECK(problem("{").find("not valid JSON") != std::string::npos);
    CHECK(problem("[]").find("JSON object") != std::string::npos);
    CHECK(problem("{" + pbx + "}").find("no NATS server") != std::string::npos);
    CHECK(problem("{" + nats + "}").find("no PBX") != std::string::npos);
    CHECK(problem("{" + pbx + "," + nats + R"(,"bufer":{}})").find("unknown key") !=
          std::string::npos);
    CHECK(problem("{" + pbx + "," + nats + R"(,"buffer":{"events":0}})").find("buffer.events") !=
          std::string::npos);
    CHECK(problem("{" + pbx + "," + nats + R"(,"buffer":{"overflow":"later"}})")
              .find("resync, drop") != std::string::npos);
    CHECK(problem(R"({"pbxs":[{"name":"a.b","url":"ami://u:topsecret@h"}],)" + nats + "}")
              .find("letters") != std::string::npos);
    CHECK(
        problem(
            R"({"pbxs":[{"name":"a","url":"ami://u:topsecret@h"},{"name":"a","url":"ami://u:topsecret@h"}],)" +
            nats + "}")
            .find("twice") != std::string::npos);
    const auto bad_url =
        problem(R"({"pbxs":[{"name":"a","url":"http://u:topsecret@h"}],)" + nats + "}");
    CHECK(bad_url.find("not a valid") != std::string::npos);
    CHECK(bad_url.find("topsecret") == std::string::npos);
    const auto bad_nats = problem("{" + pbx + R"(,"nats":{"servers":["http://u:natssecret@h"]}})");
    CHECK(bad_nats.find("must be a nats://") != std::string::npos);
    CHECK(bad_nats.find("natssecret") == std::string::npos);
    CHECK(
        problem("{" + pbx + "," + nats + R"(,"stream":{"storage":"tape"}})").find("file, memory") !=
        std::string::npos);
  }

  TEST_CASE("the short command line and --check") {
    options o;
    const auto env = env_of({{"AMI_SECRET_EAST_1", "e1"}});
    REQUIRE_FALSE(parse_options(
        {"--nats", "nats://127.0.0.1:4222", "--pbx", "east-1=ami://admin@127.0.0.1:5038",
         "--pbx=west=ami://a:b@h", "--prefix", "pbx"},
        env, o));
    REQUIRE(o.cfg.pbxs.size() == 2);
    CHECK(o.cfg.pbxs[0].ami.secret == "e1");
    CHECK(o.cfg.pbxs[1].ami.secret == "b");
    CHECK(o.cfg.prefix == "pbx");
    options bad;
    CHECK(parse_options({"--pbx", "nourl"}, env, bad));
    CHECK(parse_options({"--bogus"}, env, bad));
    CHECK(parse_options({"--nats", "nats://h:1"}, env, bad).value_or("").find("no PBX") !=
          std::string::npos);

    std::ostringstream out, err;
    CHECK(run({"--config", AMI_BRIDGE_EXAMPLE, "--check"}, out, err,
              env_of({{"PARIS_AMI_SECRET", "x"}, {"NATS_PASSWORD", "y"}})) == 0);
    CHECK(out.str().find("configuration OK: 2 PBXs") != std::string::npos);
    std::ostringstream out2, err2;
    CHECK(run({"--config", "/nonexistent/bridge.json", "--check"}, out2, err2, env) == 1);
    CHECK(err2.str().find("cannot read") != std::string::npos);
  }
}
