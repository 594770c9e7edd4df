// ami-cli (tools/ami_cli_main.hpp) run in-process against the simulated PBX.
#include "../../tools/ami_cli_main.hpp"
#include "run_with_deadline.hpp"

#include "ami/testing/server.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

using env_map = std::map<std::string, std::string>;

ami::test::program_run cli(std::vector<std::string> args, env_map env = {}) {
  auto r = ami::test::run_with_deadline(
      [args = std::move(args), env = std::move(env)](std::ostream& out, std::ostream& err) {
        return ami::tools::cli::run_cli(args, out, err,
                                        [&env](const char* name) -> std::optional<std::string> {
                                          const auto it = env.find(name);
                                          if (it == env.end()) return std::nullopt;
                                          return it->second;
                                        });
      },
      20s);
  REQUIRE_MESSAGE(r.status, "ami-cli did not finish");
  return r;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

// A strict little JSON reader, enough to check that each output line is one valid JSON
// value and to look at its structure.
struct json {
  enum class type { null, boolean, number, string, array, object } t = type::null;
  std::string text;  // string value, or the number's digits
  bool flag = false;
  std::vector<json> items;
  std::vector<std::pair<std::string, json>> members;

  const json* member(std::string_view name) const {
    for (const auto& [k, v] : members) {
      if (k == name) return &v;
    }
    return nullptr;
  }
};

class json_reader {
 public:
  explicit json_reader(std::string_view s) : s_(s) {}

  // The whole input as one value, or nothing when it is not exactly valid JSON.
  std::optional<json> parse() {
    json v;
    if (!value(v)) return std::nullopt;
    skip_ws();
    if (i_ != s_.size()) return std::nullopt;
    return v;
  }

 private:
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  bool eat(char c) {
    skip_ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }
  bool value(json& v) {
    skip_ws();
    if (i_ >= s_.size()) return false;
    const char c = s_[i_];
    if (c == '{') return object(v);
    if (c == '[') return array(v);
    if (c == '"') {
      v.t = json::type::string;
      return string(v.text);
    }
    if (literal("true") || literal("false")) {
      v.t = json::type::boolean;
      v.flag = s_[i_ - 1] == 'e' && s_[i_ - 2] == 'u';
      return true;
    }
    if (literal("null")) return true;
    return number(v);
  }
  bool number(json& v) {
    const std::size_t start = i_;
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    const std::size_t digits = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    if (i_ == digits) return false;
    v.t = json::type::number;
    v.text = std::string(s_.substr(start, i_ - start));
    return true;
  }
  bool string(std::string& out) {
    if (!eat('"')) return false;
    while (i_ < s_.size()) {
      const auto c = static_cast<unsigned char>(s_[i_++]);
      if (c == '"') return true;
      if (c < 0x20) return false;  // raw control characters are not allowed
      if (c != '\\') {
        out.push_back(static_cast<char>(c));
        continue;
      }
      if (i_ >= s_.size()) return false;
      const char e = s_[i_++];
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          if (i_ + 4 > s_.size()) return false;
          unsigned code = 0;
          for (int k = 0; k < 4; ++k) {
            const char h = s_[i_++];
            code <<= 4;
            if (h >= '0' && h <= '9')
              code |= static_cast<unsigned>(h - '0');
            else if (h >= 'a' && h <= 'f')
              code |= static_cast<unsigned>(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F')
              code |= static_cast<unsigned>(h - 'A' + 10);
            else
              return false;
          }
          out.push_back(static_cast<char>(code & 0xFF));  // the tools only escape bytes
          break;
        }
        default: return false;
      }
    }
    return false;
  }
  bool array(json& v) {
    v.t = json::type::array;
    eat('[');
    if (eat(']')) return true;
    do {
      json item;
      if (!value(item)) return false;
      v.items.push_back(std::move(item));
    } while (eat(','));
    return eat(']');
  }
  bool object(json& v) {
    v.t = json::type::object;
    eat('{');
    if (eat('}')) return true;
    do {
      std::string key;
      skip_ws();
      if (!string(key) || !eat(':')) return false;
      json item;
      if (!value(item)) return false;
      v.members.emplace_back(std::move(key), std::move(item));
    } while (eat(','));
    return eat('}');
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

// Checks the shape {"kind":K,"fields":[[k,v],...]} and returns the fields.
std::vector<std::pair<std::string, std::string>> fields_of(const json& msg, std::string& kind) {
  std::vector<std::pair<std::string, std::string>> out;
  REQUIRE(msg.t == json::type::object);
  const json* k = msg.member("kind");
  const json* f = msg.member("fields");
  REQUIRE(k != nullptr);
  REQUIRE(f != nullptr);
  REQUIRE(k->t == json::type::string);
  REQUIRE(f->t == json::type::array);
  kind = k->text;
  for (const json& pair : f->items) {
    REQUIRE(pair.t == json::type::array);
    REQUIRE(pair.items.size() == 2);
    REQUIRE(pair.items[0].t == json::type::string);
    REQUIRE(pair.items[1].t == json::type::string);
    out.emplace_back(pair.items[0].text, pair.items[1].text);
  }
  return out;
}

struct cli_fixture {
  cli_fixture() { srv.start(); }
  std::string url() const { return srv.url(); }
  // The common options: the server's URL and a short timeout.
  std::vector<std::string> args(std::vector<std::string> rest) const {
    std::vector<std::string> a{"--url", url(), "--timeout", "5"};
    a.insert(a.end(), rest.begin(), rest.end());
    return a;
  }
  ami::testing::server srv;
};

}  // namespace

TEST_SUITE("ami-cli") {
  TEST_CASE("Ping: aligned Key: Value lines, exit 0") {
    cli_fixture f;
    const auto r = cli(f.args({"Ping"}));
    CHECK(*r.status == ami::tools::cli::exit_success);
    CHECK(r.err.empty());
    const auto lines = split_lines(r.out);
    REQUIRE(lines.size() >= 3);
    CHECK(lines[0] == " Response: Success");  // keys right-aligned to the longest, Timestamp
    CHECK(contains(r.out, "\n     Ping: Pong\n"));
    CHECK(contains(r.out, "Timestamp: "));
    CHECK(f.srv.wait_for_action("Logoff", 5s));
  }

  TEST_CASE("an unknown action is an Error response: printed, exit 1") {
    cli_fixture f;
    const auto r = cli(f.args({"NoSuchAction"}));
    CHECK(*r.status == ami::tools::cli::exit_error);
    CHECK(contains(r.out, "Response: Error"));
    CHECK(contains(r.out, "Message: Invalid/unknown command: NoSuchAction"));
    CHECK(contains(r.err, "ami-cli: NoSuchAction: Error: Invalid/unknown command"));
  }

  TEST_CASE("a refused login exits 2 with one line on stderr and never the secret") {
    cli_fixture f;
    const std::string secret = "Very-Secret-42";
    const std::string port = std::to_string(f.srv.port());

    SUBCASE("secret in the URL") {
      const auto r =
          cli({"--url", "ami://admin:" + secret + "@127.0.0.1:" + port, "--timeout", "5", "Ping"});
      CHECK(*r.status == ami::tools::cli::exit_failure);
      CHECK(r.out.empty());
      CHECK(split_lines(r.err).size() == 1);
      CHECK(contains(r.err, "cannot log in to ami://admin:***@127.0.0.1:" + port));
      CHECK(contains(r.err, "Authentication failed"));
      CHECK_FALSE(contains(r.err, secret));
    }
    SUBCASE("secret from --secret") {
      const auto r = cli({"--host", "127.0.0.1", "--port", port, "--user", "admin", "--secret",
                          secret, "--timeout", "5", "Ping"});
      CHECK(*r.status == ami::tools::cli::exit_failure);
      CHECK(contains(r.err, "ami://admin:***@127.0.0.1:" + port));
      CHECK_FALSE(contains(r.err, secret));
    }
    SUBCASE("secret from AMI_SECRET") {
      const auto r = cli({"--timeout", "5", "Ping"},
                         {{"AMI_URL", "ami://admin@127.0.0.1:" + port}, {"AMI_SECRET", secret}});
      CHECK(*r.status == ami::tools::cli::exit_failure);
      CHECK_FALSE(contains(r.err, secret));
    }
  }

  TEST_CASE("the connection settings come from AMI_URL and AMI_SECRET, or the options") {
    cli_fixture f;
    const std::string port = std::to_string(f.srv.port());
    SUBCASE("environment") {
      const auto r = cli({"--timeout", "5", "Ping"},
                         {{"AMI_URL", "ami://admin@127.0.0.1:" + port}, {"AMI_SECRET", "amp111"}});
      CHECK(*r.status == 0);
      CHECK(contains(r.out, "Ping: Pong"));
    }
    SUBCASE("options override the URL") {
      const auto r = cli({"--url", "ami://nobody:x@127.0.0.1:1", "--port", port, "--user", "admin",
                          "--secret", "amp111", "--timeout", "5", "Ping"});
      CHECK(*r.status == 0);
    }
    SUBCASE("MD5 login") {
      const auto r = cli(f.args({"--auth", "md5", "Ping"}));
      CHECK(*r.status == 0);
      bool challenged = false;
      for (const auto& m : f.srv.received()) {
        challenged = challenged || ami::iequals(m.get_or("Action"), "Challenge");
      }
      CHECK(challenged);
    }
    SUBCASE("nothing listening") {
      std::string dead_port;
      {
        ami::testing::server other;
        other.start();
        dead_port = std::to_string(other.port());
      }
      const auto r =
          cli({"--url", "ami://admin:amp111@127.0.0.1:" + dead_port, "--timeout", "5", "Ping"});
      CHECK(*r.status == ami::tools::cli::exit_failure);
      CHECK(contains(r.err, "cannot log in to ami://admin:***@127.0.0.1:" + dead_port));
    }
  }

  TEST_CASE("Key=Value splits at the first '=' and repeated keys are all sent") {
    cli_fixture f;
    f.srv.on_action("Setvar", [](ami::testing::session& s, const ami::message& a) {
      s.respond(a, {{"Response", "Success"}, {"Message", "Variable Set"}});
      return true;
    });
    const auto r =
        cli(f.args({"Setvar", "Variable=a=1", "Variable=b=2", "Value=", "ActionID=cli-7"}));
    CHECK(*r.status == 0);
    CHECK(contains(r.out, "ActionID: cli-7"));
    std::optional<ami::message> sent;
    for (const auto& m : f.srv.received()) {
      if (ami::iequals(m.get_or("Action"), "Setvar")) sent = m;
    }
    REQUIRE(sent);
    CHECK(sent->get_all("Variable") == std::vector<std::string_view>{"a=1", "b=2"});
    CHECK(sent->get("Value") == std::string_view{});
    CHECK(sent->action_id() == "cli-7");
  }

  TEST_CASE("a list action prints the response, every item and the Complete event") {
    cli_fixture f;
    SUBCASE("QueueStatus") {
      const auto r = cli(f.args({"QueueStatus"}));
      CHECK(*r.status == 0);
      CHECK(contains(r.out, "EventList: start"));
      CHECK(contains(r.out, "Event: QueueParams"));
      CHECK(contains(r.out, "Event: QueueMember"));
      CHECK(contains(r.out, "Event: QueueStatusComplete"));
      // Blocks are separated by one empty line: response, QueueParams, QueueMember, Complete.
      std::size_t blank = 0;
      for (const auto& l : split_lines(r.out)) blank += l.empty() ? 1U : 0U;
      CHECK(blank == 3);
    }
    SUBCASE("CoreShowChannels with two calls") {
      const auto a = f.srv.incoming_call("PJSIP/trunk1", "200");
      const auto b = f.srv.incoming_call("PJSIP/trunk1", "200");
      const auto r = cli(f.args({"CoreShowChannels"}));
      CHECK(*r.status == 0);
      CHECK(contains(r.out, "Channel: " + a + "\n"));
      CHECK(contains(r.out, "Channel: " + b + "\n"));
      CHECK(contains(r.out, "Event: CoreShowChannelsComplete"));
      CHECK(contains(r.out, "ListItems: 2"));
    }
  }

  TEST_CASE("--json prints one valid JSON object per message") {
    cli_fixture f;
    const auto r = cli(f.args({"--json", "QueueStatus"}));
    CHECK(*r.status == 0);
    const auto lines = split_lines(r.out);
    REQUIRE(lines.size() == 4);
    std::vector<std::string> kinds, heads;
    for (const auto& line : lines) {
      const auto v = json_reader(line).parse();
      REQUIRE_MESSAGE(v, "not valid JSON: " << line);
      std::string kind;
      const auto fields = fields_of(*v, kind);
      REQUIRE_FALSE(fields.empty());
      kinds.push_back(kind);
      heads.push_back(fields[0].first + "=" + fields[0].second);
    }
    CHECK(kinds == std::vector<std::string>{"response", "event", "event", "event"});
    CHECK(heads == std::vector<std::string>{"Response=Success", "Event=QueueParams",
                                            "Event=QueueMember", "Event=QueueStatusComplete"});

    SUBCASE("values that need escaping") {
      f.srv.on_action("Odd", [](ami::testing::session& s, const ami::message& a) {
        s.respond(
            a, {{"Response", "Success"}, {"Quote", "say \"hi\" \\ \t tab"}, {"Bytes", "\xff\x01"}});
        return true;
      });
      const auto odd = cli(f.args({"--json", "Odd"}));
      CHECK(*odd.status == 0);
      const auto v = json_reader(split_lines(odd.out).at(0)).parse();
      REQUIRE(v);
      std::string kind;
      const auto fields = fields_of(*v, kind);
      bool quote = false, bytes = false;
      for (const auto& [k, val] : fields) {
        quote = quote || (k == "Quote" && val == "say \"hi\" \\ \t tab");
        // A byte that is not UTF-8 stands for the code point of its value: 0xff is U+00FF,
        // which reads back as its UTF-8 form.
        bytes = bytes || (k == "Bytes" && val == "\xc3\xbf\x01");
      }
      CHECK(quote);
      CHECK(bytes);
    }
    SUBCASE("an Error response is still JSON, exit 1") {
      const auto e = cli(f.args({"--json", "NoSuchAction"}));
      CHECK(*e.status == 1);
      const auto v = json_reader(split_lines(e.out).at(0)).parse();
      REQUIRE(v);
      std::string kind;
      CHECK(fields_of(*v, kind).at(0).second == "Error");
    }
  }

  TEST_CASE("Command output lines are printed as they are, in both server formats") {
    ami::testing::server_options old_server;
    old_server.ami_version = "1.3.0";  // Asterisk 11: Response: Follows and --END COMMAND--
    for (const auto& opts : {ami::testing::server_options{}, old_server}) {
      CAPTURE(opts.ami_version);
      ami::testing::server srv(opts);
      srv.start();
      const std::vector<std::string> base{"--url", srv.url(), "--timeout", "5"};

      auto args = base;
      args.insert(args.end(), {"Command", "Command=core show version"});
      const auto r = cli(args);
      CHECK(*r.status == 0);
      const auto lines = split_lines(r.out);
      REQUIRE(lines.size() == 1);
      CHECK(lines[0].rfind("Asterisk ", 0) == 0);
      CHECK(contains(lines[0], " built by ami @ sim"));

      args = base;
      args.insert(args.end(), {"--json", "Command", "Command=core show channels"});
      const auto j = cli(args);
      CHECK(*j.status == 0);
      const auto v = json_reader(split_lines(j.out).at(0)).parse();
      REQUIRE(v);
      const json* output = v->member("output");
      REQUIRE(output != nullptr);
      REQUIRE(output->items.size() == 3);  // header, "0 active channels", "0 active calls"
      CHECK(output->items[1].text == "0 active channels");
    }
  }

  TEST_CASE("usage errors exit 2 and --help exits 0") {
    using ami::tools::cli::exit_failure;
    const auto check_usage = [](std::vector<std::string> args, const std::string& why) {
      CAPTURE(why);
      const auto r = cli(std::move(args));
      CHECK(*r.status == exit_failure);
      CHECK(r.out.empty());
      CHECK(contains(r.err, why));
    };
    check_usage({}, "no action given");
    check_usage({"--url", "ami://admin:x@h", "Ping", "NoEquals"}, "'NoEquals' is not Key=Value");
    check_usage({"--url", "ami://admin:x@h", "Ping", "=value"}, "'=value' is not Key=Value");
    check_usage({"--port", "70000", "Ping"}, "--port needs a number from 1 to 65535");
    check_usage({"--timeout", "-1", "Ping"}, "--timeout needs a positive number");
    check_usage({"--auth", "sha1", "Ping"}, "--auth is md5 or plain");
    check_usage({"--frobnicate", "Ping"}, "unknown option --frobnicate");
    check_usage({"--url"}, "--url needs a value");
    check_usage({"--url", "http://admin:Hidden-1@h", "Ping"}, "the URL (--url) is not valid");
    check_usage({"--host", "127.0.0.1", "Ping"}, "no user name");
    {
      const auto r = cli({"--url", "http://admin:Hidden-1@h", "Ping"});
      CHECK_FALSE(contains(r.err, "Hidden-1"));
    }
    const auto help = cli({"--help"});
    CHECK(*help.status == 0);
    CHECK(contains(help.out, "Usage: ami-cli"));
    CHECK(contains(help.out, "Exit status"));
  }

}  // TEST_SUITE
