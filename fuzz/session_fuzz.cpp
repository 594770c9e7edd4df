// libFuzzer target for ami::detail::session, the sans-I/O connection state machine.
//
// The input is a small program. Its first two bytes pick the configuration (plain or MD5
// login, in-flight and queue limits, timeouts, parser limits); every following byte is an
// opcode, some with operands: start, transport up, server bytes (taken from the input and fed
// to a proto::parser at a fuzzed split point), answers built for an action the session wrote
// (Success, Error, EventLists, OriginateResponse, both Command formats, raw text, Goodbye),
// submit (Ping, lists, Originate, Command, Queues, any name), abandon, cancel_all, logoff,
// time passing with expire(), transport closed and close. The harness drives the session the
// way the client's Asio layer does (complete finished operations, honour close requests, take
// the output, read state changes) and aborts when an invariant breaks:
//   - every operation completes exactly once, and is never dropped uncompleted;
//   - after close(), cancel_all(), a transport that closed for good, or an abandon() of a
//     pending operation, the operations concerned are complete;
//   - an operation with a deadline is complete once expire() passed it, and next_deadline()
//     never lies beyond a pending deadline;
//   - state changes follow the documented transitions and end in state();
//   - the output is well-formed actions with unique ActionIDs, written only after the
//     banner, and holds the secret only inside a plain Login, marked sensitive;
//   - the routing table stays within what was submitted and the configured limits.
//
// When bit 7 of the first byte is set, two more configuration bytes pick async_run's policy
// (reconnect_initial, reconnect_max, reconnect_multiplier, login_failure, keepalive_interval,
// a clamped jitter; the jitter's seed is fixed), and opcodes 16..31 are added: run, submit
// with send_options (retry, wait_for_session) and restorable Filter and Events, the outcome
// of a requested connect (up, refused, timed out, unusable), a server that logs in or answers
// every action of the connection, an answer to a recent action, abandoning the run,
// drop_session, time by keepalive intervals or to just before the next deadline. Reads
// report bytes_received as the client does. More invariants:
//   - a run completes exactly once: {} only after a logoff, operation_aborted only after a
//     close, cancel_all or abandon of it, another error only when reconnecting is off, the
//     login failure policy stops, or the transport is unusable; run_active() until then;
//   - a retry-marked action never completes with connection_lost while the run goes on;
//   - on each connection nothing but the session's Challenge and Login is written before the
//     login succeeded; the Login carries the last successful Events' EventMask; the Filters
//     restored are the successful ones, in order, before any user action;
//   - backing_off: delay <= max_delay <= max(reconnect_max, reconnect_initial), max_delay
//     never shrinks within a streak, attempt counts the streak, the next attempt starts at
//     the delay's end, not before, and always with a connect request;
//   - an attempt never outlives its connect or login timeout; a logged-in session sends its
//     keepalive Ping after one idle interval, at most one per idle period, and is dropped
//     after two;
//   - queued actions stay within max_queued plus the retry-marked ones put back and the
//     Filters being restored.
#include "ami/action.hpp"
#include "ami/config.hpp"
#include "ami/connection_state.hpp"
#include "ami/detail/operation.hpp"
#include "ami/detail/router.hpp"
#include "ami/detail/session.hpp"
#include "ami/error.hpp"
#include "ami/message.hpp"
#include "ami/proto/parser.hpp"
#include "ami/response.hpp"
#include "ami/send_options.hpp"

#include <boost/asio/error.hpp>
#include <boost/system/errc.hpp>
#include <boost/system/error_code.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using ami::connection_state;
using ami::detail::answer_kind;
using ami::detail::clock;
using namespace std::chrono_literals;

constexpr std::string_view the_secret = "Zq9SecretKp7";
constexpr std::string_view the_prefix = "fz-";

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "ami-fuzz-session: invariant broken: %s\n", what);
  std::abort();
}

void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

bool known(connection_state s) {
  return s == connection_state::disconnected || s == connection_state::connecting ||
         s == connection_state::connected || s == connection_state::logging_in ||
         s == connection_state::logged_in || s == connection_state::closing ||
         s == connection_state::backing_off;
}

// The transitions of the diagrams in session.hpp. States added later are not judged.
bool legal(connection_state from, connection_state to) {
  if (!known(from) || !known(to)) return true;
  if (to == connection_state::disconnected) return from != connection_state::disconnected;
  if (to == connection_state::backing_off) return from == connection_state::disconnected;
  if (to == connection_state::connecting) {
    return from == connection_state::disconnected || from == connection_state::backing_off;
  }
  if (to == connection_state::connected) return from == connection_state::connecting;
  if (to == connection_state::logging_in) return from == connection_state::connected;
  if (to == connection_state::logged_in) return from == connection_state::logging_in;
  if (to == connection_state::closing) return from == connection_state::logged_in;
  return false;
}

// The bytes may carry text after the banner: the output is only legal once logging in.
bool may_write(connection_state s) {
  return !known(s) || s == connection_state::logging_in || s == connection_state::logged_in ||
         s == connection_state::closing;
}

// An ActionID the session assigns: the prefix, then a counter without a leading zero.
bool own_form(std::string_view id) {
  if (id.substr(0, the_prefix.size()) != the_prefix) return false;
  const auto digits = id.substr(the_prefix.size());
  return !digits.empty() && digits.front() != '0' &&
         digits.find_first_not_of("0123456789") == std::string_view::npos;
}

enum class op_kind : std::uint8_t { connect, action, logoff, run };

struct op_record {
  std::uint64_t n = 0;
  op_kind kind = op_kind::action;
  int completions = 0;
  std::optional<clock::time_point> deadline;  // known for explicit timeouts only
  bool retry = false;
  boost::system::error_code ec;     // of the completion
  std::optional<ami::action> kept;  // a Filter or Events: restored once it succeeded
};

// Every operation handed to the session, and an index of the pending ones (the checks run
// after every call, so they must not walk all records).
struct tracker {
  std::vector<op_record> records;
  std::size_t pending = 0;
  std::set<std::pair<clock::time_point, std::size_t>> deadlines;  // of pending operations
  std::set<std::size_t> logoffs;                                  // pending logoffs
  std::vector<std::size_t> just_done;  // completed since the harness last looked
};

class tracked_op final : public ami::detail::operation {
 public:
  tracked_op(tracker& t, std::size_t index) : t_(t), index_(index) {}
  tracked_op(const tracked_op&) = delete;
  tracked_op& operator=(const tracked_op&) = delete;
  ~tracked_op() override {
    if (t_.records[index_].completions == 0) fail("an operation was destroyed without completing");
  }

  void complete(const boost::system::error_code& ec, ami::response r) override {
    auto& rec = t_.records[index_];
    check(rec.completions == 0, "an operation completed twice");
    ++rec.completions;
    --t_.pending;
    rec.ec = ec;
    t_.just_done.push_back(index_);
    if (rec.deadline) t_.deadlines.erase({*rec.deadline, index_});
    if (rec.kind == op_kind::logoff) t_.logoffs.erase(index_);
    if (!ec) check(r.ok() || r.empty(), "success with an Error response");
    // Read what a handler reads.
    for (const auto& e : r.events()) check(e.is_event(), "a list item that is not an event");
    if (const auto* end = r.complete()) check(end->is_event(), "a list end that is not an event");
    const auto lines = r.output();
    check(lines.size() <= r.msg().size() + r.msg().lines().size(), "output() invents lines");
    (void)r.message_text();
  }

 private:
  tracker& t_;
  std::size_t index_;
};

struct written_action {
  std::string name;
  std::string id;
  std::size_t conn = 0;  // the connection it was written on
  bool own = false;      // the session's own (Challenge, Login, keepalive Ping, restore)
};

// What the harness knows of the current connection (transport) and its writes.
struct connection_track {
  bool logged_in = false;           // the login succeeded on it
  bool user_written = false;        // a user action was written on it
  std::vector<ami::action> expect;  // the Filters to restore, from the login on
  std::size_t restored = 0;         // of them written so far
  std::size_t pings = 0;            // keepalive Pings written on it
};

const boost::system::error_code unusable =
    boost::system::errc::make_error_code(boost::system::errc::no_such_file_or_directory);

class harness {
 public:
  harness(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  void run() {
    configure();
    while (pos_ < size_) step();
    // The end of the program: a local close must leave nothing behind.
    run_abort_ = true;
    s_.close(boost::asio::error::operation_aborted);
    settle();
    after_final_close();
  }

 private:
  // ---- reading the program

  std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : std::uint8_t{0}; }

  std::string_view take(std::size_t n) {
    n = std::min(n, size_ - pos_);
    const std::string_view v(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return v;
  }

  // A short fuzzed string (length byte, then bytes) that never holds the secret.
  std::string short_text() {
    std::string v(take(byte() % 24U));
    if (v.find(the_secret) != std::string::npos) v.clear();
    return v;
  }

  void configure() {
    const auto flags = byte();
    const auto timing = byte();
    cfg_.host = "pbx.invalid";
    cfg_.username = "fuzzer";
    cfg_.secret = std::string(the_secret);
    cfg_.auth = (flags & 1U) != 0 ? ami::auth_method::md5 : ami::auth_method::plain;
    cfg_.events = (flags & 2U) != 0 ? "off" : "on";
    cfg_.max_in_flight = (flags & 4U) != 0 ? std::size_t{1} + ((flags >> 4U) & 1U) : 0U;
    cfg_.max_queued = (flags & 8U) != 0 ? std::size_t{3} : std::size_t{10000};
    if ((flags & 32U) != 0) {  // small limits: parse errors are skipped, as the client does
      cfg_.parser_limits.max_line = 120;
      cfg_.parser_limits.max_fields = 12;
      cfg_.parser_limits.max_message = 600;
    }
    const bool no_phase_timeouts = (flags & 64U) != 0;
    cfg_.connect_timeout = no_phase_timeouts ? 0ms : 1000ms;
    cfg_.login_timeout = no_phase_timeouts ? 0ms : 2000ms;
    cfg_.action_timeout = std::chrono::milliseconds((timing & 15U) * 250U);
    cfg_.action_id_prefix = std::string(the_prefix);
    s_.seed(0x5eed);  // reproducible backoff delays
    extended_ = (flags & 128U) != 0;
    if (!extended_) return;
    using ms = std::chrono::milliseconds;
    const auto r0 = byte();
    const auto r1 = byte();
    static constexpr ms::rep initial[] = {0, 1, 10, 50, 100, 250, 1000, 5000};
    static constexpr ms::rep max[] = {0, 5, 100, 400, 1000, 30000, 60000, 200};
    constexpr double nan = std::numeric_limits<double>::quiet_NaN();
    constexpr double inf = std::numeric_limits<double>::infinity();
    static constexpr double factors[] = {0.5, 1.0, 1.5, 2.0, 3.0, nan, inf, 1e9};
    static constexpr ms::rep keepalive[] = {0, 0, 50, 200, 1000, 5000, 30000, 7};
    cfg_.reconnect_initial = ms(initial[r0 & 7U]);
    cfg_.reconnect_max = ms(max[(r0 >> 3U) & 7U]);
    cfg_.reconnect_multiplier = factors[r1 & 7U];
    cfg_.login_failure =
        (r1 & 8U) != 0 ? ami::login_failure_policy::retry : ami::login_failure_policy::stop;
    cfg_.keepalive_interval = ms(keepalive[(r1 >> 4U) & 7U]);
    // A jitter outside [0, max_delay] is clamped by the session.
    if ((r1 & 128U) != 0) {
      s_.set_jitter([](ms cap) { return cap + ms(5); });
    } else if ((r0 & 64U) != 0) {
      s_.set_jitter([](ms) { return ms(-5); });
    }
  }

  void step() {
    const auto code = byte() % (extended_ ? 32U : 16U);
    if (trace_) {
      std::fprintf(stderr, "[%zu] op %u in %s, %zu pending\n", pos_ - 1, code,
                   ami::to_string(s_.state()), pending());
    }
    switch (code) {
      case 0: start(); break;
      case 1: connected(); break;
      case 2: banner(); break;
      case 3: feed_chunk(); break;
      case 4: feed_rest(); break;
      case 5:
      case 14: submit(); break;
      case 6:
      case 15: respond(); break;
      case 7: abandon(); break;
      case 8: cancel_all(); break;
      case 9: logoff(); break;
      case 10: advance(); break;
      case 11: jump_to_deadline(); break;
      case 12: transport_closed(); break;
      case 13: local_close(); break;
      case 16:
      case 31: start_run(); break;
      case 17:
      case 26:
      case 27: submit(true); break;
      case 18:
      case 30: connect_outcome(); break;
      case 19:
      case 28: log_in(); break;
      case 20:
      case 29: answer_all(); break;
      case 21: respond(true); break;
      case 22: abandon_run(); break;
      case 23: drop_session(); break;
      case 24: advance_keepalive(); break;
      default: near_deadline(); break;
    }
  }

  // ---- client calls

  ami::detail::operation_ptr new_op(std::uint64_t n, op_kind kind,
                                    std::optional<clock::time_point> deadline = {}) {
    mine_.insert(n);
    const auto index = records_.size();
    index_of_[n] = index;
    op_record rec;
    rec.n = n;
    rec.kind = kind;
    rec.deadline = deadline;
    records_.push_back(std::move(rec));
    ++ops_.pending;
    if (deadline) ops_.deadlines.insert({*deadline, index});
    if (kind == op_kind::logoff) ops_.logoffs.insert(index);
    return std::make_unique<tracked_op>(ops_, index);
  }

  void start() {
    const auto n = s_.reserve_id();
    ++starts_;
    const bool idle = s_.state() == connection_state::disconnected;
    const auto index = records_.size();
    connect_ns_.insert(n);  // numbers the login's first action
    if (idle) begin_new();
    s_.start(cfg_, n, new_op(n, op_kind::connect), now_);
    if (idle && s_.state() == connection_state::connecting) {
      connect_index_ = index;
      phase_deadline_ = after(cfg_.connect_timeout);
    }
    settle();  // opens the transport the session asks for
    if (!idle) check(records_[index].completions == 1, "start() while busy did not fail at once");
  }

  void connected() {
    if (!open_ || up_) return;  // the client reports a connect only for its live transport
    const bool connecting = s_.state() == connection_state::connecting;
    s_.transport_connected(now_);
    up_ = true;
    if (connecting) {
      phase_deadline_ = after(cfg_.login_timeout);
      attempt_deadline_ = after(cfg_.login_timeout);
      read_at(now_);
    }
    settle();
  }

  // A run (or a connect) starts afresh: no Filters or event mask of an earlier one.
  void begin_new() {
    filters_ok_.clear();
    mask_.reset();
    streak_ = 0;
    last_max_ = std::chrono::milliseconds(0);
  }

  void start_run() {
    const auto n = s_.reserve_id();
    ++starts_;
    const bool idle = s_.state() == connection_state::disconnected && !s_.run_active();
    const auto index = records_.size();
    if (idle) {
      begin_new();
      run_index_ = index;
      run_logoff_ = false;
      run_abort_ = false;
    }
    s_.run(cfg_, n, new_op(n, op_kind::run), now_);
    settle();
    if (!idle) {
      const auto& rec = records_[index];
      check(rec.completions == 1, "run() while busy did not fail at once");
      check(rec.ec == boost::asio::error::in_progress ||
                rec.ec == boost::asio::error::already_connected,
            "run() while busy failed with another error");
    }
  }

  // How the transport the session asked for turns out.
  void connect_outcome() {
    if (!open_ || up_) return;
    switch (byte() % 5U) {
      case 0:
      case 1: connected(); return;
      case 2:
      case 3:
        drop_transport();
        s_.transport_closed((pos_ & 1U) != 0 ? boost::asio::error::connection_refused
                                             : boost::asio::error::timed_out,
                            now_);
        settle();
        return;
      default:
        drop_transport();
        s_.transport_unusable(unusable);
        settle();
        return;
    }
  }

  // A server that accepts (or, now and then, refuses) the login of the current connection.
  void log_in() {
    const auto verdict = byte();
    for (int i = 0; i < 3; ++i) {
      const auto st = s_.state();
      if (st == connection_state::connected) {
        deliver("Asterisk Call Manager/13.0.0\r\n", 255);
        continue;
      }
      if (st != connection_state::logging_in) return;
      const written_action* last = nullptr;
      for (auto it = written_.rbegin(); it != written_.rend() && it->conn == conn_id_; ++it) {
        if (it->own && (ami::iequals(it->name, "Login") || ami::iequals(it->name, "Challenge"))) {
          last = &*it;
          break;
        }
      }
      if (last == nullptr) return;
      std::string out = "Response: Success\r\nActionID: " + last->id + "\r\n";
      if (ami::iequals(last->name, "Challenge")) {
        out += "Challenge: 840123571\r\n\r\n";
      } else if ((verdict & 7U) == 0) {
        out = "Response: Error\r\nActionID: " + last->id +
              "\r\nMessage: Authentication failed\r\n\r\n";
      } else {
        out += "Message: Authentication accepted\r\n\r\n";
      }
      deliver(out, verdict);
    }
  }

  // A server that answers Success to every action written on the current connection.
  void answer_all() {
    std::string out;
    std::size_t count = 0;
    for (auto it = written_.rbegin(); it != written_.rend() && it->conn == conn_id_; ++it) {
      if (ami::iequals(it->name, "Logoff") || ami::iequals(it->name, "Login") ||
          ami::iequals(it->name, "Challenge")) {
        continue;
      }
      out.insert(0, "Response: Success\r\nActionID: " + it->id + "\r\n\r\n");
      if (++count == 32) break;
    }
    if (!out.empty()) deliver(out, byte());
  }

  void abandon_run() {
    if (run_index_ >= records_.size() || records_[run_index_].completions != 0) return;
    run_abort_ = true;
    const auto index = run_index_;
    s_.abandon(records_[index].n, boost::asio::error::operation_aborted);
    settle();
    check(records_[index].completions == 1, "abandon() of the run left it pending");
  }

  void drop_session() {
    s_.drop_session(ami::error::slow_consumer);
    settle();
  }

  void advance_keepalive() {
    const auto quarters = byte() % 9U;
    const auto unit = cfg_.keepalive_interval.count() > 0 ? cfg_.keepalive_interval
                                                          : std::chrono::milliseconds(100);
    now_ += unit * quarters / 4;
    expire();
  }

  // Just before the next deadline: nothing due later may fire yet.
  void near_deadline() {
    if (const auto d = s_.next_deadline()) now_ = std::max(now_, *d - std::chrono::milliseconds(1));
    expire();
  }

  void banner() {
    static constexpr std::string_view banners[] = {
        "Asterisk Call Manager/13.0.0\r\n", "Asterisk Call Manager/2.5.0\r\n",
        "Asterisk Call Manager/1.0\n", "Asterisk Call Manager/7.0.3\r\n"};
    deliver(banners[byte() % 4U], byte());
  }

  void feed_chunk() {
    const std::size_t len = byte();
    const auto split = byte();
    deliver(take(len), split);
  }

  // The rest of the input is server bytes (seeds made from captures), in fixed-size reads.
  void feed_rest() {
    const std::size_t chunk = (std::size_t{byte()} + 1U) * 16U;
    while (pos_ < size_) deliver(take(chunk), 255);
  }

  // extended: a third byte of send_options, and Filter and Events among the actions.
  void submit(bool extended = false) {
    const auto kind = byte();
    const auto flags = byte();
    const auto options = extended ? byte() : std::uint8_t{0};
    ami::action a;
    answer_kind answer = answer_kind::response;
    switch (kind % (extended ? 13U : 10U)) {
      case 0: a = ami::action("Ping"); break;
      case 1: a = ami::action("CoreShowChannels"); break;
      case 2: a = ami::action("QueueStatus"); break;
      case 3:
        a = ami::action("Originate");
        a.set("Channel", "PJSIP/100");
        a.set("Exten", "200");
        a.set("Async", "true");
        a.set("Timeout", std::to_string(byte() * 40U));
        answer = answer_kind::originate;
        break;
      case 4:
        a = ami::action("Command");
        a.set("Command", "core show version");
        break;
      case 5: a = ami::action("Queues"); break;
      case 6:
        a = ami::action("Queues");
        answer = answer_kind::raw_text;
        break;
      case 7: a = ami::action("IAXpeers"); break;
      case 8: a = ami::action("Status"); break;
      case 10: {
        static constexpr const char* filters[] = {"Event: Newchannel", "!Event: VarSet",
                                                  "Channel: PJSIP/.*", "Event: Hangup"};
        a = ami::action("Filter");
        a.set("Operation", "Add");
        a.set("Filter", filters[(options >> 4U) & 3U]);
        break;
      }
      case 11: {
        static constexpr const char* masks[] = {"on", "off", "call,system", "agent"};
        a = ami::action("Events");
        a.set("EventMask", masks[(options >> 4U) & 3U]);
        break;
      }
      case 12: a = ami::action("Ping"); break;
      default: {
        auto name = short_text();
        a = ami::action(name.empty() ? std::string("UserEvent") : name);
        break;
      }
    }
    if ((flags & 1U) != 0) {
      // Never in the session's own form: config::action_id_prefix forbids that collision.
      static constexpr const char* ids[] = {"c1", "c2", "dup", "fz-01"};
      a.set("ActionID", ids[(flags >> 1U) & 3U]);
    }
    if ((flags & 8U) != 0) a.set("Variable", short_text());  // may hold CR or LF
    std::optional<std::chrono::milliseconds> timeout;
    std::optional<clock::time_point> deadline;
    switch ((flags >> 4U) & 3U) {
      case 0: break;  // the configured default (not tracked: Originate adds its ring time)
      case 1: timeout = 0ms; break;
      default:
        timeout = std::chrono::milliseconds((std::size_t{byte()} + 1U) * 20U);
        deadline = now_ + *timeout;
        break;
    }
    if ((flags & 64U) != 0 && answer == answer_kind::response) answer = answer_kind::raw_text;
    ami::send_options opts;
    opts.timeout = timeout;
    opts.retry = (options & 1U) != 0;
    opts.wait_for_session = (options & 2U) == 0;
    const auto n = s_.reserve_id();
    ++submits_;
    const auto index = records_.size();
    const auto before = s_.state();
    auto op = new_op(n, op_kind::action, deadline);
    records_[index].retry = opts.retry;
    if (ami::iequals(a.name(), "Filter") || ami::iequals(a.name(), "Events")) {
      records_[index].kept = a;
      records_[index].kept->erase("ActionID");  // restored under a new one
    }
    if (opts.retry) ++retry_pending_;
    s_.submit(n, a, answer, opts, std::move(op), now_);
    settle();
    if (before == connection_state::disconnected || before == connection_state::closing) {
      check(records_[index].completions == 1, "submit() while not connected did not fail");
    }
    if (before != connection_state::logged_in && !opts.wait_for_session) {
      check(records_[index].completions == 1, "submit() without a session did not fail at once");
    }
  }

  void logoff() {
    const auto n = s_.reserve_id();
    ++logoffs_;
    const auto index = records_.size();
    const bool logged_in = s_.state() == connection_state::logged_in;
    if (s_.run_active()) run_logoff_ = true;
    s_.logoff(n, new_op(n, op_kind::logoff), now_);
    if (logged_in) logoff_deadline_ = after(cfg_.action_timeout);
    settle();
    if (!logged_in) check(records_[index].completions == 1, "logoff() when not logged in");
  }

  void abandon() {
    if (records_.empty()) return;
    const auto pick = byte();
    if (pick == 255) {  // a number nobody uses
      s_.abandon(1000000 + pos_, boost::asio::error::operation_aborted);
      settle();
      return;
    }
    const auto index = pick % records_.size();
    const bool pending = records_[index].completions == 0;
    if (pending && index == run_index_) run_abort_ = true;
    s_.abandon(records_[index].n, boost::asio::error::operation_aborted);
    settle();
    if (pending) check(records_[index].completions == 1, "abandon() left its operation pending");
  }

  void cancel_all() {
    run_abort_ = true;
    s_.cancel_all(boost::asio::error::operation_aborted);
    settle();
    check(pending() == 0, "cancel_all() left an operation pending");
  }

  void advance() {
    const auto b = byte();
    now_ += b >= 250 ? std::chrono::milliseconds(60s) : std::chrono::milliseconds(b * 25U);
    expire();
  }

  void jump_to_deadline() {
    if (const auto d = s_.next_deadline()) now_ = std::max(now_, *d);
    expire();
  }

  void expire() {
    fresh_backoff_ = false;
    s_.expire(now_);
    settle();
    if (!ops_.deadlines.empty() && ops_.deadlines.begin()->first <= now_) {
      fail("an action outlived its deadline");
    }
    if (connect_index_ < records_.size()) {
      const auto& connect = records_[connect_index_];
      if (connect.completions == 0 && phase_deadline_ && *phase_deadline_ <= now_) {
        fail("a connect outlived its connect or login timeout");
      }
    }
    if (logoff_deadline_ && *logoff_deadline_ <= now_ && !ops_.logoffs.empty()) {
      fail("a logoff outlived its timeout");
    }
    const auto st = s_.state();
    if (attempt_deadline_ && *attempt_deadline_ <= now_ &&
        (st == connection_state::connecting || st == connection_state::connected ||
         st == connection_state::logging_in)) {
      fail("an attempt outlived its connect or login timeout");
    }
    // A backoff drawn during this call (a zero delay) ends at the client's next timer.
    if (st == connection_state::backing_off && backoff_until_ <= now_ && !fresh_backoff_) {
      fail("backing_off outlived its delay");
    }
    const auto ka = cfg_.keepalive_interval;
    if (st == connection_state::logged_in && ka.count() > 0) {
      const auto idle = now_ - last_read_;
      check(idle < 2 * ka, "a silent session outlived two keepalive intervals");
      if (idle >= ka && cfg_.max_in_flight == 0) {
        check(conn_.pings > 0, "no keepalive Ping after an idle interval");
      }
    }
  }

  void transport_closed() {
    static const boost::system::error_code reasons[] = {
        boost::asio::error::eof, boost::asio::error::connection_refused,
        boost::asio::error::connection_reset, boost::system::error_code{}};
    const auto ec = reasons[byte() % 4U];
    // The run leaves the transport alone while it backs off; the client reports nothing.
    drop_transport();
    s_.transport_closed(ec);
    settle();
    if (s_.state() == connection_state::disconnected) after_close("transport_closed()");
  }

  void local_close() {
    run_abort_ = true;
    s_.close(boost::asio::error::operation_aborted);
    settle();
    after_close("close()");
  }

  // ---- server bytes

  // Feeds bytes in two reads split at `split`, then hands every complete message to the
  // session as client_core::on_read does.
  void deliver(std::string_view bytes, std::uint8_t split) {
    if (!parser_ || !up_) return;  // nothing is read without a live, connected transport
    const std::size_t cut = bytes.empty() ? 0 : split % (bytes.size() + 1);
    const std::string_view parts[] = {bytes.substr(0, cut), bytes.substr(cut)};
    for (std::size_t i = 0; i < 2; ++i) {
      if (!parser_) return;
      if (!parts[i].empty()) {  // one read: the keepalive's idle time starts again
        s_.bytes_received(now_);
        read_at(now_);
      }
      if ((i == 0) == ((split & 128U) != 0)) {
        parser_->feed(parts[i]);
      } else {
        char* dest = parser_->prepare(parts[i].size() + 32);
        if (!parts[i].empty()) std::memcpy(dest, parts[i].data(), parts[i].size());
        parser_->commit(parts[i].size());
      }
      drain();
    }
  }

  void drain() {
    while (parser_) {
      const auto r = parser_->next(inbound_);
      if (r.status == ami::proto::parse_status::need_more) {
        s_.end_of_input();
        settle();
        return;
      }
      if (r.status == ami::proto::parse_status::error) continue;  // counted and skipped
      const auto d = s_.on_message(inbound_);
      check(d == ami::detail::delivery::none || inbound_.is_event(),
            "a delivery for something that is not an event");
      settle();
    }
  }

  // An answer from the server to an action the session wrote.
  // recent: one of the last few actions written.
  void respond(bool recent = false) {
    if (written_.empty()) return;
    const auto span = recent ? std::min<std::size_t>(8, written_.size()) : written_.size();
    // A copy: deliver() appends.
    const written_action w = written_[written_.size() - span + byte() % span];
    const auto form = byte();
    const auto count = std::size_t{byte()} % 6U;
    const std::string& id = w.id;
    std::string out;
    const auto item = [&](const std::string& name, const std::string& extra) {
      out += "Event: " + name + "\r\nActionID: " + id + "\r\n" + extra + "\r\n";
    };
    std::string item_name = "CoreShowChannel";
    std::string end_name = "CoreShowChannelsComplete";
    if (ami::iequals(w.name, "QueueStatus")) {
      item_name = "QueueMember";
      end_name = "QueueStatusComplete";
    } else if (ami::iequals(w.name, "IAXpeers")) {
      item_name = "PeerEntry";
      end_name = "PeerlistComplete";
    } else if (ami::iequals(w.name, "Status")) {
      item_name = "Status";
      end_name = "StatusComplete";
    }
    switch (form % 14U) {
      case 0:
        if (ami::iequals(w.name, "Challenge")) {
          out = "Response: Success\r\nActionID: " + id + "\r\nChallenge: 840123571\r\n\r\n";
        } else if (ami::iequals(w.name, "Logoff")) {
          out = "Response: Goodbye\r\nActionID: " + id +
                "\r\nMessage: Thanks for all the fish.\r\n\r\n";
        } else {
          out = "Response: Success\r\nActionID: " + id +
                "\r\nMessage: Authentication accepted\r\n" + "Ping: Pong\r\n\r\n";
        }
        break;
      case 1:
        out = "Response: Error\r\nActionID: " + id + "\r\nMessage: Permission denied\r\n\r\n";
        break;
      case 2:
      case 3:
        out = "Response: Success\r\nActionID: " + id +
              "\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\n";
        for (std::size_t i = 0; i < count; ++i)
          item(item_name, "Channel: PJSIP/10" + std::to_string(i) + "\r\n");
        if (form % 14U == 2) {
          item(end_name, "EventList: Complete\r\nListItems: " +
                             std::to_string(count + ((form >> 7U) & 1U)) + "\r\n");
        }
        break;
      case 4:
        for (std::size_t i = 0; i < count; ++i) item(item_name, "");
        item(end_name, "EventList: Complete\r\nListItems: " + std::to_string(count) + "\r\n");
        break;
      case 5:
        item("OriginateResponse", std::string("Response: ") +
                                      ((form & 128U) != 0 ? "Failure" : "Success") +
                                      "\r\nChannel: PJSIP/100-0000001\r\nReason: 4\r\n");
        break;
      case 6:
        out = "Response: Follows\r\nPrivilege: Command\r\nActionID: " + id +
              "\r\nAsterisk 13.38.3 built by root\n--END COMMAND--\r\n\r\n";
        break;
      case 7:
        out = "Response: Success\r\nActionID: " + id +
              "\r\nMessage: Command output follows\r\nOutput: Asterisk 20.5.0\r\nOutput: \r\n\r\n";
        break;
      case 8:
        out = "default has 0 calls (max unlimited) in 'ringall' strategy\r\n   No Members\r\n";
        if (count > 2) out += "\r\nsupport has 1 calls\r\n";
        out += "\r\n";
        break;
      case 9:
        out = "Response: Goodbye\r\nActionID: " + id +
              "\r\nMessage: Thanks for all the fish.\r\n\r\n";
        break;
      case 10: out = "Response: Success\r\nMessage: no ActionID\r\n\r\n"; break;
      case 11: item(end_name, "EventList: Cancelled\r\n"); break;
      case 12:  // list items that carry no ActionID, as IAXpeers on old servers sends them
        for (std::size_t i = 0; i <= count; ++i) {
          out += "Event: " + item_name + "\r\nObjectName: peer" + std::to_string(i) + "\r\n\r\n";
        }
        break;
      default:
        out = "Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n";
        break;
    }
    deliver(out, byte());
  }

  // ---- what the client does after each call (client_core::drive), and the checks

  void settle() {
    auto& finished = s_.finished();
    completing_.swap(finished);
    for (auto& f : completing_) {
      check(f.op != nullptr, "a finished entry without an operation");
      if (trace_) std::fprintf(stderr, "  completed: %s\n", f.ec.message().c_str());
      f.op->complete(f.ec, std::move(f.resp));
    }
    completing_.clear();
    after_completions();

    const auto state = s_.state();
    if (s_.take_close_request()) {
      check(!known(state) || state == connection_state::disconnected ||
                state == connection_state::connecting || state == connection_state::backing_off,
            "a close request while the session still uses its transport");
      drop_transport();
    }

    bool began = false;
    for (const auto& c : s_.state_changes()) {
      if (trace_) {
        std::fprintf(stderr, "  -> %s %s delay %lld/%lld attempt %u\n", ami::to_string(c.state),
                     c.ec.message().c_str(), static_cast<long long>(c.delay.count()),
                     static_cast<long long>(c.max_delay.count()), c.attempt);
      }
      check(c.state != state_, "a state change to the same state");
      check(legal(state_, c.state), "an illegal state transition");
      on_change(c);
      began = began || c.state == connection_state::connecting;
      state_ = c.state;
    }
    s_.state_changes().clear();
    check(state_ == state, "the last state change is not state()");
    check(state != connection_state::backing_off || s_.run_active(), "backing off without a run");
    check(
        s_.run_active() == (run_index_ < records_.size() && records_[run_index_].completions == 0),
        "run_active() disagrees with the run's operation");

    if (s_.take_connect_request()) {
      check(state == connection_state::connecting, "a connect request outside connecting");
      open_transport();
    } else {
      check(!began, "an attempt began without a connect request");
    }

    std::string out;
    const bool sensitive = s_.take_output(out);
    check_output(out, sensitive, state);

    const auto& r = s_.routes();
    const auto restoring = conn_.expect.size() - conn_.restored;
    check(r.size() <= submits_ + 2 * starts_ + logoffs_ + internal_written_ + restoring,
          "the routing table outgrew what was submitted");
    check(r.queued() <= cfg_.max_queued + retry_pending_ + restoring,
          "more queued actions than max_queued, retries and restores");
    check(r.in_flight() <= r.size() && r.queued() <= r.size() && r.open_lists() <= r.size(),
          "routing counters exceed the table");
    if (cfg_.max_in_flight != 0 && state == connection_state::logged_in) {
      check(r.in_flight() <= cfg_.max_in_flight, "more actions in flight than max_in_flight");
    }
    check(s_.last_error_message().find(the_secret) == std::string::npos,
          "the secret in last_error_message()");

    // Nothing pending may be out of the timer's sight.
    if (!ops_.deadlines.empty()) {
      const auto next = s_.next_deadline();
      check(next && *next <= ops_.deadlines.begin()->first,
            "next_deadline() misses a pending deadline");
    }
    if (state == connection_state::backing_off) {
      const auto next = s_.next_deadline();
      check(next && *next <= backoff_until_, "next_deadline() misses the end of the backoff");
    }
  }

  // The operations completed by the last call, in order.
  void after_completions() {
    for (const auto index : ops_.just_done) {
      const auto& rec = records_[index];
      if (rec.retry) --retry_pending_;
      if (rec.kind == op_kind::run && index == run_index_) run_ended(rec.ec);
      if (rec.retry && rec.ec == ami::error::connection_lost) {
        check(!s_.run_active(), "a retry-marked action lost while the run goes on");
      }
      if (!rec.ec && rec.kept) {  // the session restores it on the next connections
        if (ami::iequals(rec.kept->name(), "Filter")) {
          filters_ok_.push_back(*rec.kept);
        } else if (const auto* mask = rec.kept->get("EventMask")) {
          mask_ = *mask;
        }
      }
    }
    ops_.just_done.clear();
  }

  void run_ended(const boost::system::error_code& ec) {
    if (trace_) std::fprintf(stderr, "  run ended: %s\n", ec.message().c_str());
    if (!ec) {
      check(run_logoff_, "the run succeeded without a logoff");
    } else if (ec == boost::asio::error::operation_aborted) {
      check(run_abort_, "the run aborted without a close, cancel or abandon");
    } else {
      const bool documented =
          ec == ami::error::connection_lost || ec == ami::error::login_failed ||
          ec == ami::error::connect_timeout || ec == ami::error::login_timeout ||
          ec == ami::error::keepalive_timeout || ec == ami::error::unexpected_message ||
          ec == ami::error::slow_consumer || ec == unusable || ec == boost::asio::error::eof ||
          ec == boost::asio::error::connection_refused ||
          ec == boost::asio::error::connection_reset || ec == boost::asio::error::timed_out;
      check(documented, "the run ended with an undocumented error");
      const bool final =
          cfg_.reconnect_initial.count() <= 0 || ec == unusable ||
          (ec == ami::error::login_failed && cfg_.login_failure == ami::login_failure_policy::stop);
      check(final, "the run ended with an error although it should reconnect");
    }
  }

  void on_change(const ami::detail::state_change& c) {
    using ms = std::chrono::milliseconds;
    switch (c.state) {
      case connection_state::backing_off: {
        check(static_cast<bool>(c.ec), "backing_off without a reason");
        check(c.delay >= ms(0) && c.delay <= c.max_delay, "a backoff delay outside [0, max]");
        check(c.max_delay <= std::max(cfg_.reconnect_max, cfg_.reconnect_initial),
              "a backoff bound above reconnect_max");
        check(c.max_delay >= last_max_, "the backoff bound shrank within a streak");
        ++streak_;
        check(c.attempt == streak_, "backing_off does not count the attempts");
        last_max_ = c.max_delay;
        backoff_until_ = now_ + c.delay;
        fresh_backoff_ = true;
        attempt_deadline_.reset();
        break;
      }
      case connection_state::connecting:
        if (state_ == connection_state::backing_off) {
          check(now_ >= backoff_until_, "an attempt began before the backoff ended");
        }
        check(c.attempt == streak_, "connecting does not carry its attempt");
        break;
      case connection_state::logged_in:
        streak_ = 0;
        last_max_ = ms(0);
        attempt_deadline_.reset();
        conn_.logged_in = true;
        conn_.expect = filters_ok_;
        read_at(now_);
        break;
      case connection_state::disconnected:
      case connection_state::closing: attempt_deadline_.reset(); break;
      default: break;
    }
  }

  // A new transport and a new parser, as client_core::open_connection makes them.
  void open_transport() {
    ami::proto::parser_options po;
    po.limits = cfg_.parser_limits;
    po.expect_banner = true;
    parser_.emplace(po);
    open_ = true;
    up_ = false;
    ++conn_id_;
    conn_ = connection_track{};
    attempt_deadline_ = after(cfg_.connect_timeout);
  }

  void read_at(clock::time_point t) {
    last_read_ = t;
    pings_idle_ = 0;
  }

  void check_output(const std::string& out, bool sensitive, connection_state state) {
    if (out.empty()) return;
    if (trace_) std::fprintf(stderr, "  wrote %zu bytes:\n%s", out.size(), out.c_str());
    check(may_write(state), "output before the banner or while disconnected");
    auto& p = out_parser_;
    p.reset();
    p.feed(out);
    auto& m = written_msg_;
    std::size_t allowed = 0;
    for (;;) {
      const auto r = p.next(m);
      if (r.status == ami::proto::parse_status::need_more) break;
      check(r.status == ami::proto::parse_status::message, "output the parser rejects");
      check(m.kind() == ami::message_kind::action, "output that is not an action");
      const auto id = m.action_id();
      check(!id.empty(), "an action written without ActionID");
      const std::string ids(id);
      bool own = false;  // written by the session on its own behalf
      if (own_form(ids)) {
        const auto n = std::strtoull(ids.c_str() + the_prefix.size(), nullptr, 10);
        const auto [at, first] = own_ids_.emplace(ids, conn_id_);
        if (!first) {  // a retry-marked action, written again on a new connection
          const auto rec = index_of_.find(n);
          check(at->second != conn_id_ && rec != index_of_.end() && records_[rec->second].retry &&
                    records_[rec->second].completions == 0,
                "an ActionID written twice");
          at->second = conn_id_;
        }
        // The session's own numbers (an MD5 Login, a keepalive Ping) widen the bound below.
        if (mine_.count(n) == 0) ++internal_written_;
        own = mine_.count(n) == 0 || connect_ns_.count(n) != 0;  // start()'s n numbers a login
      }
      check_order(m, own);
      // A user may send an action named Login too; the session's own carries the secret
      // or the key derived from it.
      const bool login = ami::iequals(m.head(), "Login");
      if (login && (m.has("Secret") || m.has("Key"))) {
        check(sensitive, "a Login not marked sensitive");
      }
      if (m.get("Secret") == the_secret) {
        check(
            login && cfg_.auth == ami::auth_method::plain && state == connection_state::logging_in,
            "the secret outside a plain Login while logging in");
        ++allowed;
      }
      if (written_.size() >= 4096) written_.erase(written_.begin(), written_.begin() + 2048);
      written_.push_back({std::string(m.head()), ids, conn_id_, own});
    }
    check(!p.finish(), "output ends inside a message");
    std::size_t found = 0;
    for (auto at = out.find(the_secret); at != std::string::npos;
         at = out.find(the_secret, at + 1)) {
      ++found;
    }
    check(found <= allowed, "the secret in the output");
  }

  // What a connection may write, and in which order.
  void check_order(const ami::message& m, bool own) {
    const auto head = m.head();
    if (!conn_.logged_in) {
      check(own && (ami::iequals(head, "Challenge") || ami::iequals(head, "Login")),
            "an action written before the login succeeded");
      if (ami::iequals(head, "Login")) {
        check(m.get_or("Events") == (mask_ ? std::string_view(*mask_) : cfg_.events),
              "the Login does not restore the last successful event mask");
      }
      return;
    }
    if (own && ami::iequals(head, "Filter")) {
      check(!conn_.user_written, "a Filter restored after a user action");
      check(conn_.restored < conn_.expect.size(), "a Filter restored that never succeeded");
      const auto& f = conn_.expect[conn_.restored++];
      check(m.size() == f.fields().size() + 2, "a restored Filter lost or gained fields");
      for (const auto* key : {"Filter", "Operation"}) {
        const auto* want = f.get(key);
        check(m.get(key) == (want ? std::optional<std::string_view>(*want) : std::nullopt),
              "a restored Filter differs from the one that succeeded");
      }
    } else if (own && ami::iequals(head, "Ping")) {
      ++conn_.pings;
      check(++pings_idle_ <= 1, "two keepalive Pings in one idle period");
    } else if (!own && !ami::iequals(head, "Logoff")) {
      check(conn_.restored == conn_.expect.size(), "a user action before the Filters restored");
      conn_.user_written = true;
    }
  }

  std::size_t pending() const { return ops_.pending; }

  void after_close(const char* what) {
    if (pending() != 0) {
      std::fprintf(stderr, "after %s:\n", what);
      fail("an operation still pending after the connection ended");
    }
    check(s_.routes().empty(), "routes left after the connection ended");
    check(s_.output().empty(), "output left after the connection ended");
  }

  void after_final_close() {
    check(s_.state() == connection_state::disconnected, "close() did not disconnect");
    after_close("the final close()");
    check(s_.finished().empty() && s_.state_changes().empty(), "outputs left after close()");
  }

  void drop_transport() {
    open_ = false;
    up_ = false;
    parser_.reset();
  }

  std::optional<clock::time_point> after(std::chrono::milliseconds d) const {
    if (d.count() <= 0) return std::nullopt;
    return now_ + d;
  }

  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
  // AMI_FUZZ_TRACE=1 prints each step and the output (to replay a finding).
  bool trace_ = std::getenv("AMI_FUZZ_TRACE") != nullptr;

  // Declared before the session: operations it still holds look their records up.
  tracker ops_;
  std::vector<op_record>& records_ = ops_.records;
  ami::config cfg_;
  ami::detail::session s_;
  clock::time_point now_ = clock::time_point{} + 1h;
  std::vector<ami::detail::finished_op> completing_;
  std::vector<written_action> written_;
  std::map<std::string, std::size_t> own_ids_;     // and the connection that wrote them last
  std::map<std::uint64_t, std::size_t> index_of_;  // records by number
  std::set<std::uint64_t> mine_;                   // the numbers the harness reserved
  std::size_t internal_written_ = 0;
  connection_state state_ = connection_state::disconnected;

  std::optional<ami::proto::parser> parser_;
  ami::message inbound_;
  // Reads back what the session wrote.
  ami::proto::parser out_parser_{ami::proto::parser_options{{}, false}};
  ami::message written_msg_;
  bool open_ = false;  // the client holds a transport for this attempt
  bool up_ = false;    // and it is connected (reads run)
  std::size_t connect_index_ = static_cast<std::size_t>(-1);
  std::optional<clock::time_point> phase_deadline_;
  std::optional<clock::time_point> logoff_deadline_;

  std::size_t starts_ = 0;
  std::size_t submits_ = 0;
  std::size_t logoffs_ = 0;

  // The run mode (extended programs).
  bool extended_ = false;
  std::set<std::uint64_t> connect_ns_;  // start()'s numbers: the login's first ActionID
  std::size_t run_index_ = static_cast<std::size_t>(-1);
  bool run_logoff_ = false;  // a logoff was asked for during the run
  bool run_abort_ = false;   // a close, cancel_all or abandon of the run was asked for
  std::size_t retry_pending_ = 0;
  std::vector<ami::action> filters_ok_;  // successful Filters since the run or connect began
  std::optional<std::string> mask_;      // the last successful Events' EventMask
  unsigned streak_ = 0;                  // backoffs since the run began or last logged in
  std::chrono::milliseconds last_max_{0};
  clock::time_point backoff_until_{};
  bool fresh_backoff_ = false;
  std::optional<clock::time_point> attempt_deadline_;  // connect or login timeout
  std::size_t conn_id_ = 0;
  connection_track conn_;
  clock::time_point last_read_{};  // as the session counts it for the keepalive
  std::size_t pings_idle_ = 0;     // keepalive Pings since then
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  harness h(data, size);
  h.run();
  return 0;
}
