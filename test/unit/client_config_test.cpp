// Connection URLs, config::from_url and redacted(), and the small value types of the client.
#include "ami/config.hpp"
#include "ami/connection_state.hpp"
#include "ami/detail/glob.hpp"
#include "ami/originate.hpp"
#include "ami/response.hpp"
#include "ami/url.hpp"
#include "routing_support.hpp"

#include <boost/system/system_error.hpp>

using namespace std::chrono_literals;

TEST_CASE("from_url: user, secret, host, port and query") {
  boost::system::error_code ec;
  const auto c = ami::config::from_url(
      "ami://admin:s%3Acr%40t@pbx.example:5040?events=off&auth=md5&timeout=5", ec);
  REQUIRE_FALSE(ec);
  CHECK(c.username == "admin");
  CHECK(c.secret == "s:cr@t");
  CHECK(c.host == "pbx.example");
  CHECK(c.port == 5040);
  CHECK(c.events == "off");
  CHECK(c.auth == ami::auth_method::md5);
  CHECK(c.connect_timeout == 5s);
  CHECK(c.login_timeout == 5s);
  CHECK(c.action_timeout == 5s);
  CHECK_FALSE(c.tls);
}

TEST_CASE("from_url: defaults, amis, IPv6, fractional timeouts, limits") {
  boost::system::error_code ec;
  auto c = ami::config::from_url("ami://u@h", ec);
  REQUIRE_FALSE(ec);
  CHECK(c.port == 5038);
  CHECK(c.secret.empty());
  CHECK(c.events == "on");
  CHECK(c.auth == ami::auth_method::plain);
  c = ami::config::from_url("AMIS://u:p@[::1]/?action_timeout=0.25&max_in_flight=1", ec);
  REQUIRE_FALSE(ec);
  CHECK(c.tls);
  CHECK(c.port == 5039);
  CHECK(c.host == "::1");
  CHECK(c.action_timeout == 250ms);
  CHECK(c.connect_timeout == 10s);
  CHECK(c.max_in_flight == 1);
  c = ami::config::from_url("ami://u@[fe80::1]:6000?events=call%2Csystem&max_queued=7", ec);
  REQUIRE_FALSE(ec);
  CHECK(c.port == 6000);
  CHECK(c.events == "call,system");
  CHECK(c.max_queued == 7);
}

TEST_CASE("from_url rejects what it cannot use, with invalid_url") {
  for (const char* bad : {"",
                          "pbx:5038",
                          "http://u@h",
                          "ami://",
                          "ami://u@",
                          "ami://u@h:0",
                          "ami://u@h:65536",
                          "ami://u@h:50x",
                          "ami://u@h:",
                          "ami://u@h:1:2",
                          "ami://u@[::1",
                          "ami://u@[::1]x",
                          "ami://u@h/path",
                          "ami://u@h#frag",
                          "ami://u%0D@h",
                          "ami://u:p%0A@h",
                          "ami://u:p%00@h",
                          "ami://u@h?events=on%0d%0aAction:%20Logoff",
                          "ami://u@h?unknown=1",
                          "ami://u@h?auth=sha",
                          "ami://u@h?timeout=-1",
                          "ami://u@h?timeout=x",
                          "ami://u@h?timeout=",
                          "ami://u@h?events=",
                          "ami://u@h?max_in_flight=-1",
                          "ami://u%zz@h",
                          "ami://u%4@h",
                          "ami://u@h\r\n",
                          "ami://u@h x"}) {
    CAPTURE(bad);
    boost::system::error_code ec;
    ami::config::from_url(bad, ec);
    CHECK(ec == ami::error::invalid_url);
  }
}

TEST_CASE("the throwing from_url never puts the secret in its message") {
  try {
    ami::config::from_url("ami://admin:topsecret@h?bogus=1");
    FAIL("no exception");
  } catch (const boost::system::system_error& e) {
    CHECK(e.code() == ami::error::invalid_url);
    CHECK(std::string(e.what()).find("topsecret") == std::string::npos);
  }
  CHECK_NOTHROW(ami::config::from_url("ami://admin:topsecret@h"));
}

TEST_CASE("redacted() shows the URL with *** for the secret, and parses back") {
  ami::config c;
  c.host = "pbx";
  c.username = "ad min";
  c.secret = "topsecret";
  c.auth = ami::auth_method::md5;
  c.events = "off";
  c.action_timeout = 1500ms;
  const auto r = c.redacted();
  CHECK(r == "ami://ad%20min:***@pbx:5038?events=off&auth=md5&action_timeout=1.5");
  CHECK(r.find("topsecret") == std::string::npos);
  boost::system::error_code ec;
  const auto back = ami::config::from_url(r, ec);
  REQUIRE_FALSE(ec);
  CHECK(back.username == "ad min");
  CHECK(back.action_timeout == 1500ms);
  ami::config v6;
  v6.host = "::1";
  v6.tls = true;
  v6.port = 5039;
  CHECK(v6.redacted() == "amis://[::1]:5039");
}

TEST_CASE("percent encoding round trip") {
  const std::string all = "a b/c?d&e=f%g:h@i~j-k_l.m\x01\xff";
  std::string back;
  REQUIRE(ami::percent_decode(ami::percent_encode(all), back));
  CHECK(back == all);
  CHECK(ami::percent_encode("Az09-._~") == "Az09-._~");
}

TEST_CASE("glob matching is case-insensitive with * and ?") {
  using ami::detail::glob_match;
  CHECK(glob_match("Queue*", "QueueMemberStatus"));
  CHECK(glob_match("queue*", "QUEUE"));
  CHECK(glob_match("*Complete", "StatusComplete"));
  CHECK(glob_match("Agent?Login", "AgentXLogin"));
  CHECK(glob_match("*", ""));
  CHECK(glob_match("a*b*c", "aXXbYYc"));
  CHECK_FALSE(glob_match("Queue*", "Hangup"));
  CHECK_FALSE(glob_match("Agent?Login", "AgentLogin"));
  CHECK_FALSE(glob_match("a*b", "a"));
  CHECK(glob_match(std::string(60, '*') + "x", std::string(5000, 'a') + "x"));
  CHECK_FALSE(glob_match("*a*a*a*a*b", std::string(2000, 'a')));
  CHECK(ami::detail::is_glob("Queue*"));
  CHECK_FALSE(ami::detail::is_glob("Hangup"));
}

TEST_CASE("originate outcomes from Response and Reason") {
  using ami::originate_outcome;
  CHECK(ami::classify_originate("Success", 4) == originate_outcome::answered);
  CHECK(ami::classify_originate("Failure", 5) == originate_outcome::busy);
  CHECK(ami::classify_originate("Failure", 3) == originate_outcome::no_answer);
  CHECK(ami::classify_originate("Failure", 8) == originate_outcome::congestion);
  CHECK(ami::classify_originate("Failure", 0) == originate_outcome::failure);
  CHECK(ami::classify_originate("Failure", 1) == originate_outcome::failure);
  CHECK(std::string(ami::to_string(originate_outcome::no_answer)) == "no_answer");

  ami::response r(ami::test::wire("Response: Success\nMessage: Originate successfully queued\n\n"));
  r.set_complete(
      ami::test::wire("Event: OriginateResponse\nResponse: Failure\nChannel: Local/1\nReason: "
                      "5\nUniqueid: u1\n\n"));
  const auto res = ami::make_originate_result(std::move(r));
  CHECK(res.outcome == originate_outcome::busy);
  CHECK(res.reason == 5);
  CHECK(res.channel == "Local/1");
  CHECK(res.uniqueid == "u1");
  REQUIRE(res.event() != nullptr);
  CHECK(res.response.message_text() == "Originate successfully queued");
}

TEST_CASE("originate_request builds an Async Originate") {
  ami::originate_request req;
  req.channel = "Local/100@default";
  req.context = "default";
  req.exten = "200";
  req.timeout = 15s;
  req.caller_id = "Bob <100>";
  req.variables = {{"A", "1"}, {"B", "2"}};
  req.action_id = "o1";
  const auto a = req.to_action();
  CHECK(a.name() == "Originate");
  REQUIRE(a.get("Priority") != nullptr);
  CHECK(*a.get("Priority") == "1");
  CHECK(*a.get("Timeout") == "15000");
  CHECK(*a.get("Async") == "true");
  CHECK(a.action_id() == "o1");
  int vars = 0;
  for (const auto& f : a.fields()) vars += f.first == "Variable" ? 1 : 0;
  CHECK(vars == 2);
  CHECK(a.get("Application") == nullptr);
}

TEST_CASE("response: status, ok, output in both formats, owned bytes") {
  ami::response legacy(
      ami::test::wire("Response: Follows\nPrivilege: Command\nActionID: 1\nline one\nline "
                      "two\n--END COMMAND--\n\n"));
  CHECK(legacy.status() == "Follows");
  CHECK(legacy.ok());
  CHECK(legacy.output() == std::vector<std::string>{"line one", "line two"});
  ami::response modern(ami::test::wire(
      "Response: Success\nMessage: Command output follows\nOutput: a\nOutput: b\n\n"));
  CHECK(modern.output() == std::vector<std::string>{"a", "b"});
  ami::response err(ami::test::wire("Response: Error\nMessage: no\n\n"));
  CHECK_FALSE(err.ok());
  CHECK(err.message_text() == "no");
  CHECK_FALSE(ami::response{}.ok());
  CHECK(ami::response{}.empty());
  CHECK(std::string(ami::to_string(ami::connection_state::logging_in)) == "logging_in");
}
