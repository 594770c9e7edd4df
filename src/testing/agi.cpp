// AGI on the simulated PBX: AsyncAGI over AMI and FastAGI to a script's server, with a
// channel model behind the commands (answer, timed playback, scripted DTMF, variables).
#include "pbx_model.hpp"
#include "sim_actions.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <deque>

namespace ami::testing::detail {

struct agi_line {
  std::string text;
  std::string id;  // AsyncAGI CommandID ("" for FastAGI)
};

struct agi_run;

struct agi_state {
  bool async = true;
  std::string request;  // "async" or the FastAGI URL
  std::string script;   // FastAGI: the path after HOST:PORT/
  std::vector<std::string> args;
  std::string dtmf;  // digits the caller has yet to press
  int hangup_at = -1;
  int executed = 0;
  bool running = false;      // a command runs
  bool dead = false;         // the channel is hung up: only dead-safe commands run
  bool ended = false;        // the AGI returned
  bool broke = false;        // ASYNCAGI BREAK: back to the dialplan after this command
  bool connected = false;    // FastAGI: the socket is up
  bool eof = false;          // FastAGI: the script closed its side
  bool hangup_sent = false;  // FastAGI: the HANGUP line was written
  int cause = 16;
  std::deque<agi_line> queue;
  std::unique_ptr<asio::steady_timer> timer;  // the running command's wait
  // Ends the running command as a hangup ends it.
  std::function<void()> on_hangup;
  std::shared_ptr<agi_run> current;  // the running command
  std::unique_ptr<tcp::socket> socket;
  std::string inbuf;
  std::deque<std::string> outq;
  std::string writing;
  bool write_busy = false;
};

void stop_agi(agi_state& a) {
  a.ended = true;
  a.on_hangup = nullptr;
  a.current.reset();
  if (a.timer) a.timer->cancel();
  if (a.socket) {
    boost::system::error_code ignored;
    a.socket->close(ignored);
  }
}

namespace {

constexpr long samples_per_second = 8000;

// Asterisk's ast_uri_http encoding: letters, digits and -_.!~*'() stay, the rest is %XX.
std::string uri_encode(const std::string& s) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (std::isalnum(u) || std::string_view("-_.!~*'()").find(ch) != std::string_view::npos) {
      out += ch;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

// An AGI command line into arguments as Asterisk splits it: blanks separate, double quotes
// group (and "" is an empty argument), a backslash takes the next character literally.
std::vector<std::string> split_args(const std::string& line) {
  std::vector<std::string> out;
  bool in_arg = false;
  bool quoted = false;
  bool escaped = false;
  auto begin_arg = [&] {
    if (!in_arg) {
      out.emplace_back();
      in_arg = true;
    }
  };
  for (const char ch : line) {
    if (!escaped && ch == '\\') {
      escaped = true;
      begin_arg();
      continue;
    }
    if (!escaped && ch == '"') {
      quoted = !quoted;
      begin_arg();
      continue;
    }
    if (!escaped && !quoted && (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')) {
      in_arg = false;
      continue;
    }
    begin_arg();
    out.back() += ch;
    escaped = false;
  }
  return out;
}

struct agi_command {
  const char* name;                // lower case words
  bool dead_ok;                    // runs on a hung-up channel
  std::size_t min_args, max_args;  // argc, command words included
  const char* usage;
};

constexpr std::size_t no_limit = 1000;

constexpr agi_command agi_commands[] = {
    {"answer", false, 1, no_limit,
     " Usage: ANSWER\n  Answers the channel if it is not in answer state."},
    {"asyncagi break", true, 2, no_limit,
     " Usage: ASYNCAGI BREAK\n  Returns the channel to the dialplan (Async AGI only)."},
    {"channel status", false, 2, 3,
     " Usage: CHANNEL STATUS [<channelname>]\n  Returns the state of the given channel."},
    {"control stream file", false, 5, 10,
     " Usage: CONTROL STREAM FILE <filename> <escape digits> [<skipms> <ffchar> <rewchr> "
     "<pausechr> <offsetms>]\n  Plays a file the caller can stop, fast forward, rewind and "
     "pause."},
    {"database del", true, 4, 4,
     " Usage: DATABASE DEL <family> <key>\n  Deletes an entry of the Asterisk database."},
    {"database deltree", true, 3, 4,
     " Usage: DATABASE DELTREE <family> [<keytree>]\n  Deletes a family or a keytree of the "
     "Asterisk database."},
    {"database get", true, 4, 4,
     " Usage: DATABASE GET <family> <key>\n  Retrieves an entry of the Asterisk database."},
    {"database put", true, 5, 5,
     " Usage: DATABASE PUT <family> <key> <value>\n  Adds or updates an entry of the Asterisk "
     "database."},
    {"exec", true, 2, no_limit,
     " Usage: EXEC <application> <options>\n  Executes an application with the given options."},
    {"get data", false, 3, 5,
     " Usage: GET DATA <file to be streamed> [<timeout>] [<maxdigits>]\n  Plays a prompt and "
     "collects DTMF digits."},
    {"get full variable", true, 4, 5,
     " Usage: GET FULL VARIABLE <variablename> [<channel name>]\n  Evaluates an expression "
     "with variables and functions."},
    {"get option", false, 4, 5,
     " Usage: GET OPTION <filename> <escape_digits> [<timeout>]\n  Plays a file and waits for "
     "one of the escape digits."},
    {"get variable", true, 3, 3,
     " Usage: GET VARIABLE <variablename>\n  Returns the value of a channel variable."},
    {"hangup", false, 1, 2, " Usage: HANGUP [<channelname>]\n  Hangs up a channel."},
    {"noop", true, 1, no_limit, " Usage: NOOP\n  Does nothing."},
    {"record file", false, 6, no_limit,
     " Usage: RECORD FILE <filename> <format> <escape digits> <timeout> [<offset samples>] "
     "[BEEP] [s=<silence>]\n  Records to a file until a digit, the timeout or silence."},
    {"say alpha", false, 4, 4,
     " Usage: SAY ALPHA <number> <escape digits>\n  Says a string character by character."},
    {"say date", false, 4, 4,
     " Usage: SAY DATE <date> <escape digits>\n  Says a date given in seconds since the "
     "epoch."},
    {"say digits", false, 4, 4,
     " Usage: SAY DIGITS <number> <escape digits>\n  Says a number digit by digit."},
    {"say number", false, 4, 5,
     " Usage: SAY NUMBER <number> <escape digits> [<gender>]\n  Says a number."},
    {"say time", false, 4, 4,
     " Usage: SAY TIME <time> <escape digits>\n  Says a time given in seconds since the "
     "epoch."},
    {"set callerid", false, 3, 3, " Usage: SET CALLERID <number>\n  Changes the caller ID."},
    {"set context", false, 3, 3,
     " Usage: SET CONTEXT <desired context>\n  Sets the context to continue in."},
    {"set extension", false, 3, 3,
     " Usage: SET EXTENSION <new extension>\n  Sets the extension to continue in."},
    {"set music", false, 3, 4,
     " Usage: SET MUSIC <on|off> [<class>]\n  Turns music on hold on or off."},
    {"set priority", false, 3, 3,
     " Usage: SET PRIORITY <priority>\n  Sets the priority to continue at."},
    {"set variable", true, 4, 4,
     " Usage: SET VARIABLE <variablename> <value>\n  Sets a channel variable."},
    {"stream file", false, 4, 5,
     " Usage: STREAM FILE <filename> <escape digits> [<sample offset>]\n  Plays a file the "
     "caller can interrupt with an escape digit."},
    {"verbose", true, 2, 3,
     " Usage: VERBOSE <message> <level>\n  Logs a message to the verbose output."},
    {"wait for digit", false, 4, 4,
     " Usage: WAIT FOR DIGIT <timeout>\n  Waits up to <timeout> milliseconds for a digit "
     "(-1: for ever)."},
};

// The command whose words start the line (the longest match), or null.
const agi_command* find_command(const std::vector<std::string>& args) {
  const agi_command* best = nullptr;
  std::size_t best_words = 0;
  for (const auto& cmd : agi_commands) {
    std::vector<std::string> words;
    std::string w;
    for (const char* p = cmd.name;; ++p) {
      if (*p == ' ' || *p == '\0') {
        words.push_back(w);
        w.clear();
        if (*p == '\0') break;
      } else {
        w += *p;
      }
    }
    if (words.size() > args.size() || words.size() <= best_words) continue;
    bool match = true;
    for (std::size_t i = 0; i < words.size() && match; ++i) match = iequals(words[i], args[i]);
    if (match) {
      best = &cmd;
      best_words = words.size();
    }
  }
  return best;
}

bool to_long(const std::string& s, long& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtol(s.c_str(), &end, 10);
  return end && *end == '\0';
}

// How long a sound file plays, in samples: "beep" as Asterisk's, the rest two seconds.
long file_samples(const std::string& file) {
  return file == "beep" ? 3520 : 2 * samples_per_second;
}

const char* network_prefix = "agi://";

}  // namespace

// One AGI command while it runs: its arguments, its reply and its timed waits.
struct agi_run {
  pbx_model& pbx;
  std::shared_ptr<chan> c;
  std::shared_ptr<agi_state> a;
  std::vector<std::string> args;
  std::string line, id, cmdid;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  static void start(pbx_model& pbx, const std::shared_ptr<chan>& c, const agi_line& l);
  void dispatch(const agi_command& cmd);
  void finish(int code, const char* result, const std::string& text);
  void ok(const std::string& text) { finish(200, "Success", text); }
  void failed(const std::string& text) { finish(-1, "Failure", text); }
  // Waits d on the channel, then runs fn; a hangup meanwhile gives `on_hangup` instead.
  void wait(std::chrono::milliseconds d, std::function<void()> fn, std::function<void()> on_hangup);
  long samples_since_start() const;
  // The next scripted digit when it is among `accept` ("" accepts none, "*" any).
  char digit_for(const std::string& accept) const;
  void play(const std::string& file, long offset, const std::string& escape, bool control);
  void say(std::size_t items, const std::string& escape);
  void get_data();
  void get_option();
  void wait_for_digit();
  void record_file();
  void exec_app();
  std::string value(const std::string& name) const;
  std::string expand(const std::string& expr) const;
};

void agi_run::start(pbx_model& pbx, const std::shared_ptr<chan>& c, const agi_line& l) {
  auto r = std::make_shared<agi_run>(agi_run{pbx, c, c->agi, split_args(l.text), l.text, l.id,
                                             std::to_string(pbx.rng_() % 2000000000U)});
  c->agi->current = r;
  auto& a = *r->a;
  const int index = a.executed++;
  {
    auto f = pbx.chan_event("AGIExecStart", *c, "agi,all");
    f.emplace_back("CommandId", r->cmdid);
    f.emplace_back("Command", l.text);
    pbx.emit(std::move(f));
  }
  a.running = true;
  if (index == a.hangup_at) {
    // The caller hangs up while this command runs.
    std::weak_ptr<chan> weak = c;
    asio::post(pbx.st_.io_, [&pbx, weak] {
      auto ch = weak.lock();
      if (ch && !ch->gone && ch->agi) pbx.agi_caller_hangup(ch, 16);
    });
  }
  const auto* cmd = find_command(r->args);
  if (!cmd) {
    r->finish(510, "Invalid or unknown command", "510 Invalid or unknown command\n");
  } else if (a.dead && !cmd->dead_ok) {
    r->finish(511, "Command Not Permitted on a dead channel or intercept routine",
              "511 Command Not Permitted on a dead channel or intercept routine\n");
  } else if (r->args.size() < cmd->min_args || r->args.size() > cmd->max_args) {
    r->finish(520, "Usage",
              std::string("520-Invalid command syntax.  Proper usage follows:\n") + cmd->usage +
                  "\n520 End of proper usage.\n");
  } else {
    r->dispatch(*cmd);
  }
}

void agi_run::finish(int code, const char* result, const std::string& text) {
  if (a->current.get() != this) return;
  auto keep = std::move(a->current);
  a->running = false;
  a->on_hangup = nullptr;
  if (a->timer) a->timer->cancel();
  auto f = pbx.chan_event("AGIExecEnd", *c, "agi,all");
  f.emplace_back("CommandId", cmdid);
  f.emplace_back("Command", line);
  f.emplace_back("ResultCode", std::to_string(code));
  f.emplace_back("Result", result);
  pbx.emit(std::move(f));
  pbx.agi_reply(c, id, text);
  std::weak_ptr<chan> weak = c;
  auto& model = pbx;
  asio::post(pbx.st_.io_, [&model, weak] {
    if (auto ch = weak.lock(); ch && ch->agi) model.agi_pump(ch);
  });
}

void agi_run::wait(std::chrono::milliseconds d, std::function<void()> fn,
                   std::function<void()> on_hangup) {
  if (!a->timer) a->timer = std::make_unique<asio::steady_timer>(pbx.st_.io_);
  a->on_hangup = std::move(on_hangup);
  a->timer->expires_after(d);
  std::weak_ptr<agi_run> weak = a->current;
  a->timer->async_wait([weak, fn = std::move(fn)](boost::system::error_code ec) {
    auto r = weak.lock();
    if (ec || !r || !r->a->running || r->a->ended) return;
    r->a->on_hangup = nullptr;
    fn();
  });
}

long agi_run::samples_since_start() const {
  const auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
  const double unit = std::chrono::duration<double>(pbx.cfg_.time_unit).count();
  return static_cast<long>(elapsed.count() / unit * samples_per_second);
}

char agi_run::digit_for(const std::string& accept) const {
  if (a->dtmf.empty()) return 0;
  const char d = a->dtmf.front();
  if (accept == "*" || accept.find(d) != std::string::npos) return d;
  return 0;
}

void agi_run::dispatch(const agi_command& cmd) {
  const std::string name = cmd.name;
  auto& ch = *c;
  if (name == "answer") {
    if (ch.state == 6) return ok("200 result=0\n");
    // Answering takes one step of call progress; a hangup meanwhile fails it.
    wait(
        pbx.cfg_.step,
        [this] {
          pbx.answer(c);
          ok("200 result=0\n");
        },
        [this] { failed("200 result=-1\n"); });
    return;
  }
  if (name == "asyncagi break") {
    if (a->async) a->broke = true;
    return ok("200 result=0\n");
  }
  if (name == "hangup") {
    if (args.size() == 2 && args[1] != ch.name) {
      auto other = pbx.find(args[1]);
      if (!other) return ok("200 result=-1\n");
      pbx.hangup_chan(other, 16);
      return ok("200 result=1\n");
    }
    auto f = pbx.chan_event("SoftHangupRequest", ch);
    f.emplace_back("Cause", "32");
    pbx.emit(std::move(f));
    a->dead = true;
    return ok("200 result=1\n");
  }
  if (name == "stream file" || name == "control stream file") {
    long offset = 0;
    if (name == "stream file" && args.size() == 5) to_long(args[4], offset);
    if (name == "control stream file" && args.size() == 10 && to_long(args[9], offset)) {
      offset *= samples_per_second / 1000;  // offsetms
    }
    return play(args[name == "stream file" ? 2 : 3], offset, args[name == "stream file" ? 3 : 4],
                name == "control stream file");
  }
  if (name == "get data") return get_data();
  if (name == "get option") return get_option();
  if (name == "wait for digit") return wait_for_digit();
  if (name == "record file") return record_file();
  if (name == "exec") return exec_app();
  if (name.rfind("say ", 0) == 0) {
    const std::string& what = args[2];
    long n = 0;
    if ((name == "say number" || name == "say date" || name == "say time") && !to_long(what, n)) {
      return finish(520, "Usage",
                    std::string("520-Invalid command syntax.  Proper usage follows:\n") +
                        cmd.usage + "\n520 End of proper usage.\n");
    }
    std::size_t items = what.size();
    if (name == "say date" || name == "say time") items = 3;
    return say(items, args[3]);
  }
  if (name == "set variable") {
    pbx.set_var(ch, args[2], args[3], true);
    return ok("200 result=1\n");
  }
  if (name == "get variable") {
    const auto v = value(args[2]);
    bool known = !v.empty();
    if (!known) {
      for (const auto& kv : ch.vars) known = known || kv.first == args[2];
    }
    return ok(known ? "200 result=1 (" + v + ")\n" : "200 result=0\n");
  }
  if (name == "get full variable") {
    auto target = c;
    if (args.size() == 5) target = pbx.find(args[4]);
    if (!target) return ok("200 result=0\n");
    agi_run other = *this;
    other.c = target;
    return ok("200 result=1 (" + other.expand(args[3]) + ")\n");
  }
  if (name == "set context") {
    ch.context = args[2];
    return ok("200 result=0\n");
  }
  if (name == "set extension") {
    ch.exten = args[2];
    return ok("200 result=0\n");
  }
  if (name == "set priority") {
    long p = 0;
    if (!to_long(args[2], p)) return ok("200 result=-1\n");
    ch.priority = static_cast<int>(p);
    return ok("200 result=0\n");
  }
  if (name == "set callerid") {
    std::string cid_name, cid_num;
    if (split_callerid(args[2], cid_name, cid_num)) {
      ch.cid_num = cid_num;
      if (!cid_name.empty()) ch.cid_name = cid_name;
    } else {
      ch.cid_num = args[2];
    }
    return ok("200 result=1\n");
  }
  if (name == "channel status") {
    auto target = args.size() == 3 ? pbx.find(args[2]) : c;
    if (!target) return ok("200 result=-1\n");
    return ok("200 result=" + std::to_string(target->state) + "\n");
  }
  if (name == "database get") {
    const auto it = pbx.astdb_.find(args[2] + "/" + args[3]);
    return ok(it == pbx.astdb_.end() ? "200 result=0\n" : "200 result=1 (" + it->second + ")\n");
  }
  if (name == "database put") {
    pbx.astdb_[args[2] + "/" + args[3]] = args[4];
    return ok("200 result=1\n");
  }
  if (name == "database del") {
    return ok(pbx.astdb_.erase(args[2] + "/" + args[3]) > 0 ? "200 result=1\n" : "200 result=0\n");
  }
  if (name == "database deltree") {
    const std::string prefix = args[2] + "/" + (args.size() == 4 ? args[3] + "/" : "");
    std::size_t n = 0;
    for (auto it = pbx.astdb_.begin(); it != pbx.astdb_.end();) {
      if (it->first.rfind(prefix, 0) == 0) {
        it = pbx.astdb_.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return ok(n > 0 ? "200 result=1\n" : "200 result=0\n");
  }
  if (name == "verbose") return ok("200 result=1\n");
  if (name == "noop") return ok("200 result=0\n");
  if (name == "set music") {
    if (!iequals(args[2], "on") && !iequals(args[2], "off")) return ok("200 result=-1\n");
    return ok("200 result=0\n");
  }
  ok("200 result=0\n");
}

void agi_run::play(const std::string& file, long offset, const std::string& escape, bool control) {
  const long total = file_samples(file);
  offset = std::clamp(offset, 0L, total);
  const auto unit = pbx.cfg_.time_unit;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(unit * (total - offset) /
                                                                          samples_per_second);
  auto report = [this, control, offset, total](int result, long pos, const char* status) {
    pos = std::clamp(offset + pos, 0L, total);
    if (control) {
      pbx.set_var(*c, "CPLAYBACKSTATUS", status, true);
      pbx.set_var(*c, "CPLAYBACKOFFSET", std::to_string(pos / 8), true);
      return std::string("200 result=") + std::to_string(result) +
             " endpos=" + std::to_string(pos / 8) + "\n";
    }
    pbx.set_var(*c, "PLAYBACKSTATUS", "SUCCESS", true);
    return std::string("200 result=") + std::to_string(result) + " endpos=" + std::to_string(pos) +
           "\n";
  };
  auto on_hangup = [this, report] { failed(report(-1, samples_since_start(), "ERROR")); };
  if (const char d = digit_for(escape)) {
    const auto at = std::min<std::chrono::milliseconds>(pbx.cfg_.step, left);
    wait(
        at,
        [this, d, report] {
          a->dtmf.erase(0, 1);
          ok(report(d, samples_since_start(), "USERSTOPPED"));
        },
        on_hangup);
    return;
  }
  wait(
      left, [this, report, total, offset] { ok(report(0, total - offset, "SUCCESS")); }, on_hangup);
}

void agi_run::say(std::size_t items, const std::string& escape) {
  const auto length = pbx.units(0.5 * static_cast<double>(std::max<std::size_t>(items, 1)));
  auto on_hangup = [this] { failed("200 result=-1\n"); };
  if (const char d = digit_for(escape)) {
    wait(
        std::min<std::chrono::milliseconds>(pbx.cfg_.step, length),
        [this, d] {
          a->dtmf.erase(0, 1);
          ok("200 result=" + std::to_string(static_cast<int>(d)) + "\n");
        },
        on_hangup);
    return;
  }
  wait(
      length, [this] { ok("200 result=0\n"); }, on_hangup);
}

void agi_run::get_data() {
  long timeout_ms = 5000;
  long max = 1024;
  if (args.size() >= 4 && (!to_long(args[3], timeout_ms) || timeout_ms <= 0)) timeout_ms = 5000;
  if (args.size() >= 5 && (!to_long(args[4], max) || max <= 0)) max = 1024;
  // The caller presses the scripted digits one step apart; '#' ends the input.
  std::string digits;
  bool ended = false;
  std::size_t used = 0;
  while (used < a->dtmf.size() && static_cast<long>(digits.size()) < max) {
    const char d = a->dtmf[used++];
    if (d == '#') {
      ended = true;
      break;
    }
    digits += d;
  }
  const bool complete = ended || static_cast<long>(digits.size()) >= max;
  auto d = pbx.cfg_.step * static_cast<long>(std::max<std::size_t>(used, 1));
  if (!complete) d += pbx.units(static_cast<double>(timeout_ms) / 1000.0);
  wait(
      d,
      [this, used, digits, complete] {
        a->dtmf.erase(0, used);
        ok("200 result=" + digits + (complete ? "\n" : " (timeout)\n"));
      },
      [this] { failed("200 result=-1\n"); });
}

void agi_run::get_option() {
  const long total = file_samples(args[2]);
  long timeout_ms = 5000;
  if (args.size() == 5 && (!to_long(args[4], timeout_ms) || timeout_ms < 0)) timeout_ms = 5000;
  const auto play_time = std::chrono::duration_cast<std::chrono::milliseconds>(
      pbx.cfg_.time_unit * total / samples_per_second);
  auto on_hangup = [this, total] {
    failed("200 result=-1 endpos=" + std::to_string(std::min(samples_since_start(), total)) + "\n");
  };
  if (const char d = digit_for(args[3])) {
    wait(
        std::min<std::chrono::milliseconds>(pbx.cfg_.step, play_time),
        [this, d, total] {
          a->dtmf.erase(0, 1);
          ok("200 result=" + std::to_string(static_cast<int>(d)) +
             " endpos=" + std::to_string(std::min(samples_since_start(), total)) + "\n");
        },
        on_hangup);
    return;
  }
  wait(
      play_time + pbx.units(static_cast<double>(timeout_ms) / 1000.0),
      [this, total] { ok("200 result=0 endpos=" + std::to_string(total) + "\n"); }, on_hangup);
}

void agi_run::wait_for_digit() {
  long timeout_ms = 0;
  if (!to_long(args[3], timeout_ms)) {
    const auto* cmd = find_command(args);
    return finish(520, "Usage",
                  std::string("520-Invalid command syntax.  Proper usage follows:\n") + cmd->usage +
                      "\n520 End of proper usage.\n");
  }
  auto on_hangup = [this] { failed("200 result=-1\n"); };
  if (!a->dtmf.empty()) {
    wait(
        pbx.cfg_.step,
        [this] {
          const char d = a->dtmf.front();
          a->dtmf.erase(0, 1);
          ok("200 result=" + std::to_string(static_cast<int>(d)) + "\n");
        },
        on_hangup);
    return;
  }
  if (timeout_ms < 0) {
    // No digit will come: only a hangup ends the wait.
    a->on_hangup = on_hangup;
    return;
  }
  wait(
      pbx.units(static_cast<double>(timeout_ms) / 1000.0), [this] { ok("200 result=0\n"); },
      on_hangup);
}

void agi_run::record_file() {
  long timeout_ms = -1;
  if (!to_long(args[5], timeout_ms)) timeout_ms = -1;
  auto pos = [this] { return std::to_string(samples_since_start()); };
  auto on_hangup = [this, pos] { failed("200 result=-1 (hangup) endpos=" + pos() + "\n"); };
  if (const char d = digit_for(args[4])) {
    wait(
        pbx.cfg_.step,
        [this, d, pos] {
          a->dtmf.erase(0, 1);
          ok("200 result=" + std::to_string(static_cast<int>(d)) + " (dtmf) endpos=" + pos() +
             "\n");
        },
        on_hangup);
    return;
  }
  if (timeout_ms < 0) {
    a->on_hangup = on_hangup;
    return;
  }
  wait(
      pbx.units(static_cast<double>(timeout_ms) / 1000.0),
      [this, pos] { ok("200 result=0 (timeout) endpos=" + pos() + "\n"); }, on_hangup);
}

void agi_run::exec_app() {
  const std::string& app = args[1];
  std::string data;
  for (std::size_t i = 2; i < args.size(); ++i) {
    if (i > 2) data += ",";
    data += args[i];
  }
  auto on_hangup = [this] { failed("200 result=-1\n"); };
  if (iequals(app, "NoOp") || iequals(app, "Verbose") || iequals(app, "Log")) {
    return ok("200 result=0\n");
  }
  if (iequals(app, "Set")) {
    const auto eq = data.find('=');
    if (eq != std::string::npos) pbx.set_var(*c, data.substr(0, eq), data.substr(eq + 1), true);
    return ok("200 result=0\n");
  }
  if (iequals(app, "Answer")) {
    pbx.answer(c);
    return ok("200 result=0\n");
  }
  if (iequals(app, "Hangup")) {
    a->dead = true;
    return failed("200 result=-1\n");
  }
  if (iequals(app, "Wait")) {
    double secs = 0;
    try {
      secs = std::stod(data);
    } catch (const std::exception&) {
      secs = 0;
    }
    wait(
        pbx.units(secs), [this] { ok("200 result=0\n"); }, on_hangup);
    return;
  }
  if (iequals(app, "Playback")) {
    wait(
        pbx.units(static_cast<double>(file_samples(data)) / samples_per_second),
        [this] {
          pbx.set_var(*c, "PLAYBACKSTATUS", "SUCCESS", true);
          ok("200 result=0\n");
        },
        on_hangup);
    return;
  }
  ok("200 result=-2\n");
}

// A variable or one of the functions IVRs read (CALLERID, CHANNEL, ...).
std::string agi_run::value(const std::string& name) const {
  const auto& ch = *c;
  auto known = [](const std::string& v) { return v == "<unknown>" ? std::string() : v; };
  if (iequals(name, "CALLERID(num)")) return known(ch.cid_num);
  if (iequals(name, "CALLERID(name)")) return known(ch.cid_name);
  if (iequals(name, "CALLERID(all)")) {
    return "\"" + known(ch.cid_name) + "\" <" + known(ch.cid_num) + ">";
  }
  if (name == "CHANNEL" || iequals(name, "CHANNEL(name)")) return ch.name;
  if (name == "UNIQUEID" || iequals(name, "CHANNEL(uniqueid)")) return ch.uniqueid;
  if (name == "CONTEXT") return ch.context;
  if (name == "EXTEN") return ch.exten;
  if (name == "PRIORITY") return std::to_string(ch.priority);
  if (iequals(name, "CHANNEL(language)")) return ch.language;
  for (const auto& [k, v] : ch.vars) {
    if (k == name) return v;
  }
  for (const auto& [k, v] : pbx.globals_) {
    if (k == name) return v;
  }
  return "";
}

// ${NAME} substitutions in an expression (GET FULL VARIABLE).
std::string agi_run::expand(const std::string& expr) const {
  std::string out;
  std::size_t i = 0;
  while (i < expr.size()) {
    if (expr.compare(i, 2, "${") == 0) {
      int depth = 1;
      std::size_t j = i + 2;
      while (j < expr.size() && depth > 0) {
        if (expr[j] == '{') ++depth;
        if (expr[j] == '}') --depth;
        if (depth > 0) ++j;
      }
      out += value(expand(expr.substr(i + 2, j - i - 2)));
      i = j + 1;
    } else {
      out += expr[i++];
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// The AGI's life: start, commands in order, the caller hanging up, the end.

std::string pbx_model::agi_env(const chan& c, const agi_state& a) const {
  auto unknown = [](const std::string& v) { return v == "<unknown>" ? std::string("unknown") : v; };
  std::string env;
  auto line = [&env](const std::string& k, const std::string& v) {
    env += k;
    env += ": ";
    env += v;
    env += '\n';
  };
  if (!a.async) {
    line("agi_network", "yes");
    line("agi_network_script", a.script);
  }
  line("agi_request", a.request);
  line("agi_channel", c.name);
  line("agi_language", c.language);
  line("agi_type", c.tech);
  line("agi_uniqueid", c.uniqueid);
  line("agi_version", asterisk_release(st_.version_));
  line("agi_callerid", unknown(c.cid_num));
  line("agi_calleridname", unknown(c.cid_name));
  line("agi_callingpres", "0");
  line("agi_callingani2", "0");
  line("agi_callington", "0");
  line("agi_callingtns", "0");
  line("agi_dnid", "unknown");
  line("agi_rdnis", "unknown");
  line("agi_context", c.context);
  line("agi_extension", c.exten);
  line("agi_priority", std::to_string(c.priority));
  line("agi_enhanced", "0.0");
  line("agi_accountcode", c.account);
  line("agi_threadid",
       std::to_string(140000000000000ULL + (std::hash<std::string>{}(c.name) % 1000000000ULL)));
  for (std::size_t i = 0; i < a.args.size(); ++i) {
    line("agi_arg_" + std::to_string(i + 1), a.args[i]);
  }
  env += '\n';
  return env;
}

void pbx_model::agi_start(const std::shared_ptr<chan>& c, const extension& x) {
  auto a = std::make_shared<agi_state>();
  a->args = x.agi_args;
  a->dtmf = x.dtmf;
  a->hangup_at = x.hangup_during_command;
  std::string data = x.argument;
  for (const auto& arg : x.agi_args) data += "," + arg;
  newexten(*c, x.exten, 1, "AGI", data);
  c->agi = a;
  if (x.argument == "agi:async") {
    a->request = "async";
    auto f = chan_event("AsyncAGIStart", *c, "agi,all");
    f.emplace_back("Env", uri_encode(agi_env(*c, *a)));
    emit(std::move(f));
    return;
  }
  a->async = false;
  a->request = x.argument;
  // agi://HOST[:PORT][/script]
  std::string rest = x.argument.rfind(network_prefix, 0) == 0
                         ? x.argument.substr(std::string_view(network_prefix).size())
                         : std::string();
  const auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  a->script = slash == std::string::npos ? std::string() : rest.substr(slash + 1);
  std::string host = hostport;
  long port = 4573;
  if (const auto colon = hostport.rfind(':'); colon != std::string::npos) {
    host = hostport.substr(0, colon);
    if (!to_long(hostport.substr(colon + 1), port) || port <= 0 || port > 65535) host.clear();
  }
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (host.empty() || ec) {
    agi_end(c, "FAILURE", false);
    return;
  }
  a->socket = std::make_unique<tcp::socket>(st_.io_);
  std::weak_ptr<chan> weak = c;
  a->socket->async_connect(tcp::endpoint(addr, static_cast<unsigned short>(port)),
                           [this, weak, a](boost::system::error_code err) {
                             auto ch = weak.lock();
                             if (a->ended || !ch || ch->agi != a) return;
                             if (err) {
                               // Asterisk gives up on the script and goes on in the dialplan.
                               agi_end(ch, a->dead ? "HANGUP" : "FAILURE", a->dead);
                               return;
                             }
                             a->connected = true;
                             agi_connected(ch);
                           });
}

void pbx_model::agi_connected(const std::shared_ptr<chan>& c) {
  auto a = c->agi;
  agi_write(a, agi_env(*c, *a));
  if (a->dead) {
    a->hangup_sent = true;
    agi_write(a, "HANGUP\n");
  }
  agi_read(c);
}

void pbx_model::agi_read(const std::shared_ptr<chan>& c) {
  auto a = c->agi;
  std::weak_ptr<chan> weak = c;
  // Asterisk reads lines of at most 2 KiB; a longer one ends the script.
  asio::async_read_until(*a->socket, asio::dynamic_buffer(a->inbuf, 2048), '\n',
                         [this, weak, a](boost::system::error_code ec, std::size_t n) {
                           auto ch = weak.lock();
                           if (a->ended || !ch || ch->agi != a) return;
                           if (ec) {
                             a->eof = true;
                             agi_pump(ch);
                             return;
                           }
                           std::string line = a->inbuf.substr(0, n - 1);
                           a->inbuf.erase(0, n);
                           if (!line.empty() && line.back() == '\r') line.pop_back();
                           a->queue.push_back({std::move(line), ""});
                           agi_pump(ch);
                           agi_read(ch);
                         });
}

namespace {

// Writes the queued lines one after another; a failed write drops the rest (the script is
// gone, and the read side sees it).
void flush(const std::shared_ptr<agi_state>& a) {
  if (a->write_busy || a->outq.empty() || a->ended || !a->socket) return;
  a->write_busy = true;
  a->writing = std::move(a->outq.front());
  a->outq.pop_front();
  asio::async_write(*a->socket, asio::buffer(a->writing),
                    [a](boost::system::error_code ec, std::size_t) {
                      a->write_busy = false;
                      if (ec) {
                        a->outq.clear();
                        return;
                      }
                      flush(a);
                    });
}

}  // namespace

void pbx_model::agi_write(const std::shared_ptr<agi_state>& a, std::string bytes) {
  if (!a->socket || a->ended) return;
  a->outq.push_back(std::move(bytes));
  flush(a);
}

void pbx_model::agi_reply(const std::shared_ptr<chan>& c, const std::string& id,
                          const std::string& text) {
  auto a = c->agi;
  if (!a) return;
  if (!a->async) {
    agi_write(a, text);
    return;
  }
  auto f = chan_event("AsyncAGIExec", *c, "agi,all");
  f.emplace_back("Result", uri_encode(text));
  if (!id.empty()) f.emplace_back("CommandId", id);
  emit(std::move(f));
}

void pbx_model::agi_pump(const std::shared_ptr<chan>& c) {
  auto a = c->agi;
  if (!a || a->ended || a->running) return;
  if (a->broke) {
    agi_end(c, "SUCCESS", false);
    return;
  }
  if (a->async && a->dead) {
    // AsyncAGI stops at a hangup; queued commands are dropped.
    agi_end(c, "HANGUP", true);
    return;
  }
  if (!a->async && a->dead && !a->hangup_sent && a->connected) {
    a->hangup_sent = true;
    agi_write(a, "HANGUP\n");
  }
  if (a->queue.empty()) {
    if (!a->async && a->eof) agi_end(c, a->dead ? "HANGUP" : "SUCCESS", a->dead);
    return;
  }
  const auto next = std::move(a->queue.front());
  a->queue.pop_front();
  agi_run::start(*this, c, next);
}

void pbx_model::agi_caller_hangup(const std::shared_ptr<chan>& c, int cause) {
  auto a = c->agi;
  if (a->dead) return;  // noticed already; the AGI ends the call
  a->dead = true;
  a->cause = cause;
  if (!a->async && !a->connected) {
    agi_end(c, "HANGUP", true);
    return;
  }
  if (a->running && a->on_hangup) {
    auto end_command = std::move(a->on_hangup);
    a->on_hangup = nullptr;
    end_command();
    return;  // finishing the command goes on with the AGI
  }
  std::weak_ptr<chan> weak = c;
  asio::post(st_.io_, [this, weak] {
    if (auto ch = weak.lock(); ch && ch->agi) agi_pump(ch);
  });
}

void pbx_model::agi_end(const std::shared_ptr<chan>& c, const char* status, bool hang_up) {
  auto a = c->agi;
  if (!a || a->ended) return;
  if (a->async) emit(chan_event("AsyncAGIEnd", *c, "agi,all"));
  stop_agi(*a);
  c->agi.reset();
  set_var(*c, "AGISTATUS", status, true);
  if (hang_up) {
    hangup_chan(c, a->cause);
    return;
  }
  // Back in the dialplan, which has no further priority: the call ends.
  after(c, cfg_.step, [this](const std::shared_ptr<chan>& self) { hangup_chan(self, 16); });
}

outcome pbx_model::agi_action(connection& conn, const ami::message& m) {
  const std::string channel(m.get_or("Channel"));
  const std::string command(m.get_or("Command"));
  auto error = [&](std::string message) {
    conn.respond_now(m, {{"Response", "Error"}, {"Message", std::move(message)}});
    return outcome::done;
  };
  if (channel.empty() || command.empty()) return error("Both, Channel and Command are *required*");
  auto c = find(channel);
  if (!c) return error("Channel " + channel + " does not exist.");
  if (!c->agi || !c->agi->async || c->agi->ended || c->agi->dead) {
    return error("Failed to add AGI command to channel " + c->name + " queue");
  }
  c->agi->queue.push_back({command, std::string(m.get_or("CommandID"))});
  conn.respond_now(m, {{"Response", "Success"}, {"Message", "Added AGI command to queue"}});
  std::weak_ptr<chan> weak = c;
  asio::post(st_.io_, [this, weak] {
    if (auto ch = weak.lock(); ch && ch->agi) agi_pump(ch);
  });
  return outcome::done;
}

}  // namespace ami::testing::detail
