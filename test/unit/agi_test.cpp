// The sans-I/O AGI layer: command formatting against Asterisk's argument splitting, reply
// and environment parsing, the line reader at every split point, the captures.
#include "../support/test_data.hpp"

#include "ami/agi/commands.hpp"
#include "ami/agi/environment.hpp"
#include "ami/agi/line_reader.hpp"
#include "ami/agi/reply.hpp"
#include "ami/url.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

namespace {

using ami::agi::reply;

// Splits a command line the way res_agi.c's parse_args does: blanks separate words, double
// quotes group (and start a word, even an empty one), a backslash makes the next character
// literal.
std::vector<std::string> asterisk_split(std::string_view s) {
  std::vector<std::string> words;
  bool quoted = false;
  bool escaped = false;
  bool blank = true;
  for (const char ch : s) {
    if (ch == '"' && !escaped) {
      quoted = !quoted;
      if (quoted && blank) {
        words.emplace_back();
        blank = false;
      }
      continue;
    }
    if ((ch == ' ' || ch == '\t') && !quoted && !escaped) {
      blank = true;
      continue;
    }
    if (ch == '\\' && !escaped) {
      escaped = true;
      continue;
    }
    if (blank) {
      words.emplace_back();
      blank = false;
    }
    words.back() += ch;
    escaped = false;
  }
  return words;
}

std::string format(const ami::agi::command& c) {
  std::string out;
  REQUIRE_FALSE(ami::agi::format_command(c, out).has_value());
  return out;
}

reply parse(std::string_view line) {
  reply r;
  const auto e = ami::agi::parse_reply_line(line, r);
  REQUIRE_FALSE(e.has_value());
  return r;
}

// Lines of a stream fed in two parts split at `at`, then byte by byte: both must equal
// the lines of the whole.
std::vector<std::string> lines_of(std::string_view bytes, const std::vector<std::size_t>& cuts) {
  ami::agi::line_reader rd;
  std::vector<std::string> out;
  std::size_t from = 0;
  auto drain = [&] {
    std::string_view line;
    ami::error e{};
    while (rd.next(line, e) == ami::agi::line_reader::status::line) out.emplace_back(line);
  };
  for (const auto cut : cuts) {
    rd.feed(bytes.substr(from, cut - from));
    drain();
    from = cut;
  }
  rd.feed(bytes.substr(from));
  drain();
  return out;
}

// The Result header's lines of every AsyncAGIExec in a capture, URL-decoded.
std::vector<std::string> async_results(const std::string& capture) {
  const auto text = ami::test::read_data(capture);
  std::vector<std::string> out;
  std::size_t pos = 0;
  while ((pos = text.find("Event: AsyncAGIExec\r\n", pos)) != std::string::npos) {
    const auto r = text.find("\r\nResult: ", pos);
    const auto end = text.find("\r\n", r + 2);
    std::string decoded;
    REQUIRE(ami::percent_decode(std::string_view(text).substr(r + 10, end - r - 10), decoded));
    out.push_back(decoded);
    pos = end;
  }
  return out;
}

}  // namespace

TEST_CASE("AGI arguments survive Asterisk's argument splitting") {
  const std::vector<std::vector<std::string>> cases = {
      {"beep", ""}, {"IVR_DIGITS", "12 34"},   {"a\"b", "back\\slash", "tab\there"},
      {"", "", ""}, {"\"", "\\", "\\\"", " "}, {"${CALLERID(num)}", "x=1,y=2"},
  };
  for (const auto& args : cases) {
    const auto line = format({"SET VARIABLE", args});
    CAPTURE(line);
    auto words = asterisk_split(line);
    REQUIRE(words.size() == args.size() + 2);
    CHECK(words[0] == "SET");
    CHECK(words[1] == "VARIABLE");
    CHECK(std::vector<std::string>(words.begin() + 2, words.end()) == args);
  }
  CHECK(format({"STREAM FILE", {"beep", ""}}) == "STREAM FILE beep \"\"");
  CHECK(format({"SET VARIABLE", {"IVR_DIGITS", "12 34"}}) == "SET VARIABLE IVR_DIGITS \"12 34\"");
  CHECK(format({"VERBOSE", {"say \"hi\""}}) == "VERBOSE \"say \\\"hi\\\"\"");
  CHECK(format({"NOOP", {"a\\b"}}) == "NOOP a\\\\b");
}

TEST_CASE("CR, LF and NUL in a command are refused") {
  std::string out;
  using ami::agi::format_command;
  CHECK(format_command({"NOOP", {"a\nb"}}, out) == ami::error::agi_invalid_argument);
  CHECK(format_command({"NOOP", {"a\rb"}}, out) == ami::error::agi_invalid_argument);
  CHECK(format_command({"NOOP", {std::string("a\0b", 3)}}, out) ==
        ami::error::agi_invalid_argument);
  CHECK(format_command({"NO\nOP", {}}, out) == ami::error::agi_invalid_argument);
  CHECK(format_command({"", {}}, out) == ami::error::agi_invalid_argument);
  CHECK(format_command({"NOOP", std::vector<std::string>(ami::agi::max_arguments + 1, "x")}, out) ==
        ami::error::agi_invalid_argument);
  CHECK(ami::make_error_code(ami::error::agi_invalid_argument).message().find("CR") !=
        std::string::npos);
}

TEST_CASE("200 replies: result, data with spaces and parentheses, attributes") {
  auto r = parse("200 result=0");
  CHECK(r.code == 200);
  CHECK(r.result == "0");
  CHECK(r.result_value() == 0);
  CHECK_FALSE(r.data);
  CHECK_FALSE(r.failure());

  r = parse("200 result=1 (12 34)");
  CHECK(r.result_value() == 1);
  CHECK(r.data == "12 34");

  r = parse("200 result=0 endpos=3520");
  REQUIRE(r.attribute("endpos"));
  CHECK(*r.attribute("endpos") == "3520");
  CHECK_FALSE(r.attribute("other"));

  r = parse("200 result=35 (dtmf) endpos=16000");
  CHECK(r.result_value() == 35);
  CHECK(r.data == "dtmf");
  CHECK(r.attributes.size() == 1);

  r = parse("200 result=1 (f(x) = (y)) endpos=1");
  CHECK(r.data == "f(x) = (y)");
  CHECK(r.attribute("endpos") == "1");

  r = parse("200 result=12#");
  CHECK(r.result == "12#");
  CHECK(r.result_value(-7) == -7);

  r = parse("200 result=-1");
  CHECK(r.result_value() == -1);

  r = parse("200 result=1 ()");
  CHECK(r.data == "");
}

TEST_CASE("510, 511 and single-line 520 replies keep their text and map to errors") {
  auto r = parse("510 Invalid or unknown command");
  CHECK(r.code == 510);
  CHECK(r.text == "Invalid or unknown command");
  CHECK(r.failure() == ami::error::agi_invalid_command);
  r = parse("511 Command Not Permitted on a dead channel or intercept routine");
  CHECK(r.failure() == ami::error::dead_channel);
  r = parse("520 Invalid command syntax.  Proper usage not available.");
  CHECK(r.failure() == ami::error::agi_usage);
  r = parse("404");
  CHECK(r.failure() == ami::error::agi_malformed_reply);
}

TEST_CASE("malformed reply lines are refused") {
  for (const char* line :
       {"", "HANGUP", "20 result=1", "2000 result=1", "200", "200 ok", "200 result=1 (unclosed",
        "200 result=1 (x)y", "200 result=1 =v", "200 result=1 junk", "abc", "520-first line"}) {
    CAPTURE(line);
    reply r;
    CHECK(ami::agi::parse_reply_line(line, r) == ami::error::agi_malformed_reply);
    CHECK(r.code == 0);
  }
}

TEST_CASE("the reply reader assembles 520 usage bodies and reports HANGUP") {
  ami::agi::reply_reader rd;
  reply r;
  ami::error e{};
  using st = ami::agi::reply_reader::status;
  CHECK(rd.put("520-Invalid command syntax.  Proper usage follows:", r, e) == st::need_more);
  CHECK(rd.put(" Usage: STREAM FILE <filename> <escape_digits> [sample offset]", r, e) ==
        st::need_more);
  CHECK(rd.put("", r, e) == st::need_more);
  CHECK(rd.put("520 End of proper usage.", r, e) == st::reply);
  CHECK(r.code == 520);
  CHECK(r.text == "Invalid command syntax.  Proper usage follows:");
  REQUIRE(r.usage.size() == 2);
  CHECK(r.usage[0].find("STREAM FILE") != std::string::npos);
  CHECK(r.failure() == ami::error::agi_usage);

  CHECK(rd.put("HANGUP", r, e) == st::hangup);
  CHECK(rd.put("200 result=1", r, e) == st::reply);
  CHECK(r.result == "1");
  CHECK(rd.put("garbage", r, e) == st::failed);
  CHECK(e == ami::error::agi_malformed_reply);
  CHECK(rd.put("200 result=0", r, e) == st::reply);

  ami::agi::reply_reader small(2);
  CHECK(small.put("520-x", r, e) == st::need_more);
  CHECK(small.put("a", r, e) == st::need_more);
  CHECK(small.put("b", r, e) == st::need_more);
  CHECK(small.put("c", r, e) == st::failed);
  CHECK(small.put("200 result=0", r, e) == st::reply);
}

TEST_CASE("the line reader gives the same lines at every split point and byte by byte") {
  for (const char* name : {"fastagi.agi.raw", "fastagi18.agi.raw", "fastagi.agi.sent.raw"}) {
    CAPTURE(name);
    const auto bytes = ami::test::read_data(name);
    const auto whole = lines_of(bytes, {});
    REQUIRE(whole.size() > 5);
    for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
      if (lines_of(bytes, {cut}) != whole) FAIL("split at " << cut);
    }
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < bytes.size(); ++i) every.push_back(i);
    CHECK(lines_of(bytes, every) == whole);
  }
  CHECK(lines_of("a\r\nb\nc", {}) == std::vector<std::string>{"a", "b"});
  CHECK(lines_of("\n\r\n", {}) == std::vector<std::string>{"", ""});
}

TEST_CASE("the line reader refuses a line beyond its limit and stays failed") {
  ami::agi::line_reader rd(8);
  std::string_view line;
  ami::error e{};
  using st = ami::agi::line_reader::status;
  rd.feed("12345678\n");
  CHECK(rd.next(line, e) == st::line);
  CHECK(line == "12345678");
  rd.feed("123456789");
  CHECK(rd.next(line, e) == st::failed);
  CHECK(e == ami::error::line_too_long);
  rd.feed("\n");
  CHECK(rd.next(line, e) == st::failed);
  rd.reset();
  rd.feed("ok\n");
  CHECK(rd.next(line, e) == st::line);
  CHECK(line == "ok");
  CHECK(rd.next(line, e) == st::need_more);
  CHECK(rd.buffered() == 0);
}

TEST_CASE("the FastAGI captures: environment, then every reply") {
  for (const char* name : {"fastagi.agi.raw", "fastagi18.agi.raw"}) {
    CAPTURE(name);
    const auto lines = lines_of(ami::test::read_data(name), {});
    ami::agi::environment env;
    std::size_t i = 0;
    for (; i < lines.size() && !lines[i].empty(); ++i) {
      REQUIRE_FALSE(ami::agi::add_environment_line(env, lines[i]).has_value());
    }
    CHECK(env.network == "yes");
    CHECK(env.network_script == "ivr");
    CHECK(env.script() == "ivr");
    CHECK(env.request == "agi://127.0.0.1:4574/ivr");
    CHECK(env.channel.rfind("Local/801@default-", 0) == 0);
    CHECK(env.callerid == "5553000");
    CHECK(env.calleridname == "FastAGI Caller");
    CHECK(env.extension == "801");
    CHECK(env.accountcode.empty());
    CHECK(env.get("agi_threadid") == env.threadid);

    ami::agi::reply_reader rd;
    std::vector<reply> replies;
    int hangups = 0;
    for (++i; i < lines.size(); ++i) {
      reply r;
      ami::error e{};
      const auto s = rd.put(lines[i], r, e);
      REQUIRE(s != ami::agi::reply_reader::status::failed);
      if (s == ami::agi::reply_reader::status::hangup) ++hangups;
      if (s == ami::agi::reply_reader::status::reply) replies.push_back(r);
    }
    CHECK(hangups == 1);
    REQUIRE(replies.size() == 7);
    CHECK(ami::agi::answer::parse(replies[0]).ok());
    CHECK(ami::agi::get_variable::parse(replies[1]).value == "5553000");
    CHECK(ami::agi::set_variable::parse(replies[2]).result == 1);
    const auto play = ami::agi::stream_file::parse(replies[3]);
    CHECK_FALSE(play.digit);
    CHECK(play.endpos == 3520);
    CHECK(replies[4].failure() == ami::error::agi_invalid_command);
    CHECK(ami::agi::hangup::parse(replies[5]).result == 1);
    CHECK(replies[6].failure() == ami::error::dead_channel);
  }
}

TEST_CASE("the AsyncAGI captures: the Env block and every Result") {
  for (const char* name : {"asyncagi.raw", "asyncagi18.raw"}) {
    CAPTURE(name);
    const auto text = ami::test::read_data(name);
    const auto at = text.find("\r\nEnv: ");
    REQUIRE(at != std::string::npos);
    const auto end = text.find("\r\n", at + 2);
    std::string block;
    REQUIRE(ami::percent_decode(std::string_view(text).substr(at + 7, end - at - 7), block));
    ami::agi::environment env;
    REQUIRE_FALSE(ami::agi::parse_environment(block, env).has_value());
    CHECK(env.request == "async");
    CHECK(env.channel.rfind("Local/800@default-", 0) == 0);
    CHECK(env.channel.back() == '2');
    CHECK(env.calleridname == "AGI Caller");
    CHECK(env.script() == "async");
    CHECK(env.extra.empty());

    const auto results = async_results(name);
    REQUIRE(results.size() == 8);
    std::vector<reply> replies;
    for (const auto& r : results) {
      REQUIRE(r.back() == '\n');
      replies.push_back(parse(std::string_view(r).substr(0, r.size() - 1)));
    }
    CHECK(ami::agi::get_variable::parse(replies[1]).value == "5552000");
    CHECK(ami::agi::stream_file::parse(replies[3]).endpos == 3520);
    CHECK_FALSE(ami::agi::wait_for_digit::parse(replies[4]).digit);
    CHECK(replies[5].code == 510);
    CHECK(ami::agi::get_full_variable::parse(replies[6]).value == "12 34");
  }
}

TEST_CASE("environment: arguments, unknown keys, malformed lines") {
  ami::agi::environment env;
  REQUIRE_FALSE(
      ami::agi::parse_environment("agi_request: agi://10.0.0.1:4573/sales/queue?x=1&y=2\n"
                                  "agi_arg_2: second\r\nagi_arg_1: first arg\nagi_custom: kept\n"
                                  "agi_empty:\n\nagi_after: ignored\n",
                                  env)
          .has_value());
  CHECK(env.script() == "sales/queue");
  CHECK(env.args == std::vector<std::string>{"first arg", "second"});
  REQUIRE(env.extra.size() == 2);
  CHECK(env.extra[0].first == "agi_custom");
  CHECK(env.get("agi_custom") == "kept");
  CHECK(env.get("agi_empty") == "");
  CHECK(env.get("agi_arg_2") == "second");
  CHECK_FALSE(env.get("agi_arg_3"));
  CHECK_FALSE(env.get("agi_after"));

  for (const char* bad : {"no colon\n\n", ": value\n\n", "agi_arg_0: x\n\n", "agi_arg_x: y\n\n",
                          "agi_arg_999: z\n\n"}) {
    CAPTURE(bad);
    CHECK(ami::agi::parse_environment(bad, env) == ami::error::agi_malformed_environment);
  }
  CHECK(ami::agi::parse_environment("a: 1\nb: 2\nc: 3\n\n", env, 2) ==
        ami::error::agi_malformed_environment);
  env.request = "agi://host";
  CHECK(env.script().empty());
  env.request = "/usr/lib/script.sh";
  CHECK(env.script() == "/usr/lib/script.sh");
}

TEST_CASE("typed commands format their arguments") {
  using namespace ami::agi;
  using namespace std::chrono_literals;
  CHECK(format(answer{}.to_command()) == "ANSWER");
  CHECK(format(hangup{}.to_command()) == "HANGUP");
  CHECK(format(hangup{"PJSIP/100-1"}.to_command()) == "HANGUP PJSIP/100-1");
  CHECK(format(stream_file{"beep", "", {}}.to_command()) == "STREAM FILE beep \"\"");
  CHECK(format(stream_file{"welcome", "#", 800}.to_command()) == "STREAM FILE welcome # 800");
  control_stream_file csf{"menu", "12", {}, {}, {}, {}, {}};
  CHECK(format(csf.to_command()) == "CONTROL STREAM FILE menu 12");
  csf.pause_digit = "5";
  CHECK(format(csf.to_command()) == "CONTROL STREAM FILE menu 12 3000 # * 5");
  csf.offset_ms = 100;
  CHECK(format(csf.to_command()) == "CONTROL STREAM FILE menu 12 3000 # * 5 100");
  CHECK(format(get_data{"prompt", {}, {}}.to_command()) == "GET DATA prompt");
  CHECK(format(get_data{"prompt", 5000ms, 4}.to_command()) == "GET DATA prompt 5000 4");
  CHECK(format(get_option{"menu", "123", 2000ms}.to_command()) == "GET OPTION menu 123 2000");
  CHECK(format(wait_for_digit{}.to_command()) == "WAIT FOR DIGIT -1");
  CHECK(format(say_digits{"1234", "#"}.to_command()) == "SAY DIGITS 1234 #");
  CHECK(format(say_number{42, "", "f"}.to_command()) == "SAY NUMBER 42 \"\" f");
  CHECK(format(say_alpha{"ab c", ""}.to_command()) == "SAY ALPHA \"ab c\" \"\"");
  CHECK(format(say_date{1700000000, "#"}.to_command()) == "SAY DATE 1700000000 #");
  CHECK(format(say_time{60, ""}.to_command()) == "SAY TIME 60 \"\"");
  record_file rec;
  rec.file = "/tmp/msg";
  rec.timeout = 10000ms;
  rec.beep = true;
  rec.silence_seconds = 3;
  CHECK(format(rec.to_command()) == "RECORD FILE /tmp/msg wav # 10000 BEEP s=3");
  CHECK(format(set_variable{"A", "b c"}.to_command()) == "SET VARIABLE A \"b c\"");
  CHECK(format(get_variable{"A"}.to_command()) == "GET VARIABLE A");
  CHECK(format(get_full_variable{"${A}", ""}.to_command()) == "GET FULL VARIABLE ${A}");
  CHECK(format(get_full_variable{"${A}", "SIP/x"}.to_command()) == "GET FULL VARIABLE ${A} SIP/x");
  CHECK(format(exec{"Dial", "PJSIP/100,30"}.to_command()) == "EXEC Dial PJSIP/100,30");
  CHECK(format(exec{"Playback", "hello world"}.to_command()) == "EXEC Playback \"hello world\"");
  CHECK(format(set_context{"sales"}.to_command()) == "SET CONTEXT sales");
  CHECK(format(set_extension{"100"}.to_command()) == "SET EXTENSION 100");
  CHECK(format(set_priority{"1"}.to_command()) == "SET PRIORITY 1");
  CHECK(format(set_callerid{"\"Bob\" <100>"}.to_command()) == "SET CALLERID \"\\\"Bob\\\" <100>\"");
  CHECK(format(channel_status{}.to_command()) == "CHANNEL STATUS");
  CHECK(format(database_get{"cid", "100"}.to_command()) == "DATABASE GET cid 100");
  CHECK(format(database_put{"cid", "100", "Bob"}.to_command()) == "DATABASE PUT cid 100 Bob");
  CHECK(format(database_del{"cid", "100"}.to_command()) == "DATABASE DEL cid 100");
  CHECK(format(verbose{"hello there", 3}.to_command()) == "VERBOSE \"hello there\" 3");
  CHECK(format(noop{}.to_command()) == "NOOP");
  CHECK(format(set_music{true, ""}.to_command()) == "SET MUSIC ON");
  CHECK(format(set_music{false, "jazz"}.to_command()) == "SET MUSIC OFF jazz");
  CHECK(format(async_break{}.to_command()) == "ASYNCAGI BREAK");
}

TEST_CASE("typed results read digits, timeouts, offsets and values") {
  using namespace ami::agi;
  auto d = get_data::parse(parse("200 result=1234 (timeout)"));
  CHECK(d.digits == "1234");
  CHECK(d.timed_out);
  CHECK_FALSE(d.failed);
  d = get_data::parse(parse("200 result=42"));
  CHECK(d.digits == "42");
  CHECK_FALSE(d.timed_out);
  d = get_data::parse(parse("200 result=-1"));
  CHECK(d.failed);
  CHECK(d.digits.empty());
  d = get_data::parse(parse("200 result= (timeout)"));
  CHECK(d.digits.empty());
  CHECK(d.timed_out);

  auto w = wait_for_digit::parse(parse("200 result=53"));
  CHECK(w.digit == '5');
  w = wait_for_digit::parse(parse("200 result=0"));
  CHECK_FALSE(w.digit);
  CHECK_FALSE(w.failed);
  w = say_digits::parse(parse("200 result=-1"));
  CHECK(w.failed);

  auto p = get_option::parse(parse("200 result=35 endpos=8000"));
  CHECK(p.digit == '#');
  CHECK(p.endpos == 8000);
  p = stream_file::parse(parse("200 result=-1 endpos=0"));
  CHECK(p.failed);

  auto rec = record_file::parse(parse("200 result=35 (dtmf) endpos=16000"));
  CHECK(rec.digit == '#');
  CHECK(rec.reason == "dtmf");
  CHECK(rec.endpos == 16000);
  rec = record_file::parse(parse("200 result=0 (timeout) endpos=80000"));
  CHECK_FALSE(rec.digit);
  CHECK(rec.reason == "timeout");

  CHECK_FALSE(get_variable::parse(parse("200 result=0")).value);
  CHECK(database_get::parse(parse("200 result=1 (Bob Smith)")).value == "Bob Smith");
  CHECK(database_get::parse(parse("200 result=1 ()")).value == "");
  CHECK(channel_status::parse(parse("200 result=6")).state == 6);
  CHECK(exec::parse(parse("200 result=-2")).result == -2);
  CHECK_FALSE(answer::parse(parse("200 result=-1")).ok());
  CHECK(noop::parse(parse("200 result=0")).raw.code == 200);
}
