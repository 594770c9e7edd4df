// ami-bench-soak: a long run of one ami::client under async_run against the simulated PBX's
// load generator, with the server ending each session after a fixed number of events, so the
// client reconnects all along. Checks, session by session, that the client received exactly
// the events the server sent, and samples the client's memory at every session boundary.
//
//   ami-bench-soak [--events N] [--per-session M] [--rate R] [--max-seconds T]
//                  [--print-samples]
//
// The simulated PBX (ami::testing::server) runs in a child process forked at start, before
// this process creates any thread, so the memory read here is the client's alone. It runs
// the load generator at R events per second and ends each session once M events were queued
// to it (server::close_after_events: it writes all of them, then FIN, then waits for the
// client to close). The client (reconnect_initial 1 ms, keepalive as configured by default)
// counts the events of each session in an on_event slot: the count starts at 0 on each
// logged_in transition and is recorded on the disconnected one. After N / M sessions the
// client closes, the load stops, and the child reports its per-session counts
// (server::finished_sessions()); they are compared with the client's, in order.
//
// What the comparison covers: events the load generator produces while no session is
// logged in (between a close and the next login) go to no one, and events past a session's
// limit are not sent to it; neither is counted on either side. Counted on both sides: every
// event queued to the session, including the login's FullyBooted and SuccessfulAuth.
//
// Prints key=value lines: sessions, events, events_per_sec, equal (yes/no, mismatches
// listed), reconnect gaps, and rss / heap (first, median, last, max of the samples taken at
// every session end). Exit status 1 on any mismatch or failure.
#include "pbx_child.hpp"
#include "process_stats.hpp"

#include "ami/client.hpp"
#include "ami/testing/server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using ami_bench::cpu_seconds;
using ami_bench::pbx_process;
using ami_bench::read_line;
using ami_bench::status_bytes;
using steady = std::chrono::steady_clock;

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: ami-bench-soak [--events N] [--per-session M] [--rate EVENTS_PER_SECOND]\n"
               "                      [--max-seconds T] [--print-samples]\n");
  std::exit(2);
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "ami-bench-soak: %s\n", what.c_str());
  std::exit(1);
}

// ---- the simulated PBX in a child process

// Commands, one line each: "load R" (starts the load generator; answers "ok"), "stop"
// (stops it; answers "stopped G", the events generated since start), "sessions N" (waits up
// to 30 s until N logged-in sessions have ended; answers one "session ID EVENTS LOGGED_IN
// FLUSHED BY_CLIENT" line per ended session, then "end"), "rss" (answers "rss BYTES").
// The child exits at EOF.
[[noreturn]] void pbx_child(int commands, int replies, std::uint64_t per_session) {
  ami::testing::server srv;
  srv.record_sessions(true);
  srv.close_after_events(per_session);
  ami_bench::serve_commands(srv, commands, replies, [&srv](const char* line, FILE* out) {
    const std::string_view cmd(line);
    if (cmd.compare(0, 5, "load ") == 0) {
      srv.start_load(std::atof(line + 5));
      std::fprintf(out, "ok\n");
    } else if (cmd.compare(0, 4, "stop") == 0) {
      srv.stop_load();
      std::fprintf(out, "stopped %llu\n", static_cast<unsigned long long>(srv.events_generated()));
    } else if (cmd.compare(0, 9, "sessions ") == 0) {
      const auto want = std::strtoull(line + 9, nullptr, 10);
      const auto give_up = steady::now() + std::chrono::seconds(30);
      std::vector<ami::testing::session_record> all;
      for (std::size_t have = 0;;) {
        all = srv.finished_sessions();
        const auto logged = static_cast<std::uint64_t>(
            std::count_if(all.begin(), all.end(), [](const auto& r) { return r.logged_in; }));
        if (logged >= want || steady::now() > give_up) break;
        have = all.size();
        srv.wait_for_finished_sessions(have + 1, std::chrono::milliseconds(100));
      }
      for (const auto& r : all) {
        std::fprintf(out, "session %llu %llu %d %d %d\n", static_cast<unsigned long long>(r.id),
                     static_cast<unsigned long long>(r.events), r.logged_in ? 1 : 0,
                     r.flushed ? 1 : 0, r.by_client ? 1 : 0);
      }
      std::fprintf(out, "end\n");
    }
  });
}

// Sends a command and returns the first line of the answer.
std::string ask(const pbx_process& p, const std::string& cmd) {
  ami_bench::send_command(p, cmd);
  return read_line(p.replies);
}

// ---- figures

struct sample {
  long long rss = 0;
  long long heap = 0;
  double login_ms = 0;  // since the run started
  double end_ms = 0;
};

template <class T>
T median_of(std::vector<T> v) {
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

void print_series(const char* name, const std::vector<long long>& v) {
  if (v.empty() || v.front() < 0) {
    std::printf("%s unavailable\n", name);
    return;
  }
  const auto max = *std::max_element(v.begin(), v.end());
  std::printf("%s_kib first=%lld median=%lld last=%lld max=%lld last_minus_first=%lld\n", name,
              v.front() / 1024, median_of(v) / 1024, v.back() / 1024, max / 1024,
              (v.back() - v.front()) / 1024);
}

struct options {
  std::uint64_t events = 10'000'000;
  std::uint64_t per_session = 100'000;
  double rate = 80'000;  // sustained by the simulator on the 2-core test machine (bench/README.md)
  long max_seconds = 1800;
  bool print_samples = false;
};

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--print-samples") {
      o.print_samples = true;
      continue;
    }
    if (i + 1 >= argc) usage();
    const char* v = argv[++i];
    if (a == "--events") {
      o.events = std::strtoull(v, nullptr, 10);
    } else if (a == "--per-session") {
      o.per_session = std::strtoull(v, nullptr, 10);
    } else if (a == "--rate") {
      o.rate = std::atof(v);
    } else if (a == "--max-seconds") {
      o.max_seconds = std::strtol(v, nullptr, 10);
    } else {
      usage();
    }
  }
  if (o.per_session == 0 || o.events < o.per_session || o.rate <= 0 || o.max_seconds <= 0) {
    usage();
  }
  const std::uint64_t sessions = o.events / o.per_session;

  // Before any thread exists here: the child starts clean.
  const pbx_process pbx = ami_bench::spawn_pbx(
      "ami-bench-soak", [per_session = o.per_session](int commands, int replies) {
        pbx_child(commands, replies, per_session);
      });
  std::printf(
      "pbx simulated in child process %d on port %u (its memory is not part of the figures), "
      "load %.0f events/s, sessions closed after %llu events\n",
      static_cast<int>(pbx.pid), static_cast<unsigned>(pbx.port), o.rate,
      static_cast<unsigned long long>(o.per_session));
  std::fflush(stdout);

  // Everything the benchmark itself keeps is allocated up front, so the heap figures are the
  // client's.
  std::vector<std::uint64_t> counts;  // the client's count of each session, in order
  std::vector<sample> samples;        // at each session end
  std::vector<double> gaps_ms;        // from each disconnect to the next login
  std::vector<std::pair<std::string, std::uint64_t>> reasons;  // why sessions ended, tallied
  counts.reserve(sessions + 1);
  samples.reserve(sessions + 1);
  gaps_ms.reserve(sessions + 1);
  reasons.reserve(16);

  boost::asio::io_context io;
  ami::client client{io};
  ami::config cfg;
  cfg.host = "127.0.0.1";
  cfg.port = pbx.port;
  cfg.username = "admin";
  cfg.secret = "amp111";
  cfg.reconnect_initial = std::chrono::milliseconds(1);

  std::uint64_t count = 0;
  std::uint64_t total = 0;
  std::uint64_t between = 0;  // events outside a session: must stay 0
  std::uint64_t name_bytes = 0;
  bool in_session = false;
  bool finished = false;
  int status = 0;
  steady::time_point first_event{}, end_time{}, down_at{}, login_at{};
  const auto started = steady::now();
  const auto ms_since_start = [&](steady::time_point t) {
    return std::chrono::duration<double, std::milli>(t - started).count();
  };
  double cpu_first = 0, cpu_end = 0;
  boost::asio::steady_timer watchdog{io, std::chrono::seconds(o.max_seconds)};

  auto events = client.on_event([&](const ami::event& e) {
    if (total == 0) {
      first_event = steady::now();
      cpu_first = cpu_seconds();
    }
    ++total;
    name_bytes += e.name().size();  // touch each event, as a real slot would
    if (in_session) {
      ++count;
    } else {
      ++between;
    }
  });
  auto states = client.on_transition([&](const ami::state_transition& t) {
    if (finished) return;
    if (t.state == ami::connection_state::logged_in) {
      if (down_at != steady::time_point{}) {
        gaps_ms.push_back(
            std::chrono::duration<double, std::milli>(steady::now() - down_at).count());
      }
      count = 0;
      in_session = true;
      login_at = steady::now();
    } else if (t.state == ami::connection_state::disconnected && in_session) {
      in_session = false;
      down_at = steady::now();
      counts.push_back(count);
      samples.push_back({status_bytes("VmRSS"), ami_bench::read_malloc_usage().in_use,
                         ms_since_start(login_at), ms_since_start(down_at)});
      const auto why = t.reason ? t.reason.message() : std::string("(no error)");
      const auto it = std::find_if(reasons.begin(), reasons.end(),
                                   [&](const auto& r) { return r.first == why; });
      if (it != reasons.end()) {
        ++it->second;
      } else {
        reasons.emplace_back(why, 1);
      }
      if (counts.size() == sessions) {
        end_time = steady::now();
        cpu_end = cpu_seconds();
        finished = true;
        watchdog.cancel();
        client.close();
      }
    }
  });

  if (ask(pbx, "load " + std::to_string(o.rate)) != "ok") die("the load did not start");
  client.async_run(cfg, [&](boost::system::error_code ec) {
    if (!finished) {
      std::fprintf(stderr, "ami-bench-soak: the run ended early: %s\n", ec.message().c_str());
      status = 1;
      watchdog.cancel();
    }
  });
  watchdog.async_wait([&](boost::system::error_code ec) {
    if (ec) return;
    std::fprintf(stderr, "ami-bench-soak: gave up after %ld s: %zu of %llu sessions done\n",
                 o.max_seconds, counts.size(), static_cast<unsigned long long>(sessions));
    status = 1;
    client.close();
  });
  io.run();

  const auto stopped = ask(pbx, "stop");
  const auto generated = std::strtoull(stopped.c_str() + 8, nullptr, 10);
  const auto child_rss = ask(pbx, "rss");

  // The server's records, in the order the sessions ended (one client: also accept order).
  std::vector<ami::testing::session_record> server;
  std::uint64_t server_other = 0;  // records of connections that never logged in
  for (std::string line = ask(pbx, "sessions " + std::to_string(counts.size())); line != "end";
       line = read_line(pbx.replies)) {
    if (line.empty()) die("the simulated PBX went away");
    unsigned long long id = 0, ev = 0;
    int logged = 0, flushed = 0, by_client = 0;
    if (std::sscanf(line.c_str(), "session %llu %llu %d %d %d", &id, &ev, &logged, &flushed,
                    &by_client) != 5) {
      die("unexpected answer from the simulated PBX: " + line);
    }
    if (logged == 0) {
      ++server_other;
      continue;
    }
    server.push_back({id, ev, true, flushed != 0, by_client != 0});
  }
  ami_bench::stop_pbx(pbx);

  // Session by session.
  std::uint64_t mismatches = 0, unflushed = 0, short_sessions = 0, client_total = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    client_total += counts[i];
    if (i >= server.size()) {
      std::printf("mismatch session=%zu client=%llu server=(no record)\n", i + 1,
                  static_cast<unsigned long long>(counts[i]));
      ++mismatches;
      continue;
    }
    const auto& r = server[i];
    if (counts[i] != r.events) {
      std::printf("mismatch session=%zu server_id=%llu client=%llu server=%llu\n", i + 1,
                  static_cast<unsigned long long>(r.id), static_cast<unsigned long long>(counts[i]),
                  static_cast<unsigned long long>(r.events));
      ++mismatches;
    }
    if (!r.flushed) ++unflushed;
    if (r.events != o.per_session || r.by_client) ++short_sessions;
  }
  const double seconds = std::chrono::duration<double>(end_time - first_event).count();
  const double cpu = cpu_end - cpu_first;
  const bool equal = mismatches == 0 && counts.size() == sessions && between == 0;
  if (status != 0 || !finished) {
    std::printf("result incomplete: %zu of %llu sessions\n", counts.size(),
                static_cast<unsigned long long>(sessions));
  }
  std::printf("sessions=%zu server_sessions_logged_in=%zu server_connections_without_login=%llu\n",
              counts.size(), server.size(), static_cast<unsigned long long>(server_other));
  std::printf(
      "events=%llu events_in_sessions=%llu events_between_sessions=%llu generated_by_pbx=%llu "
      "name_bytes=%llu\n",
      static_cast<unsigned long long>(total), static_cast<unsigned long long>(client_total),
      static_cast<unsigned long long>(between), static_cast<unsigned long long>(generated),
      static_cast<unsigned long long>(name_bytes));
  std::printf("seconds=%.3f events_per_sec=%.0f cpu_seconds=%.3f events_per_cpu_sec=%.0f\n",
              seconds, seconds > 0 ? static_cast<double>(total) / seconds : 0.0, cpu,
              cpu > 0 ? static_cast<double>(total) / cpu : 0.0);
  std::printf("equal=%s mismatches=%llu sessions_not_at_limit=%llu sessions_not_flushed=%llu\n",
              equal ? "yes" : "no", static_cast<unsigned long long>(mismatches),
              static_cast<unsigned long long>(short_sessions),
              static_cast<unsigned long long>(unflushed));
  for (const auto& [why, n] : reasons) {
    std::printf("sessions_ended_by=\"%s\" count=%llu\n", why.c_str(),
                static_cast<unsigned long long>(n));
  }
  if (!gaps_ms.empty()) {
    std::printf("reconnect_ms median=%.2f max=%.2f (disconnect to next login)\n",
                median_of(gaps_ms), *std::max_element(gaps_ms.begin(), gaps_ms.end()));
  }
  std::vector<long long> rss, heap;
  for (const auto& s : samples) {
    rss.push_back(s.rss);
    heap.push_back(s.heap);
  }
  print_series("rss", rss);
  print_series("heap", heap);
  std::printf(
      "peak_rss_kib=%ld pbx_process_rss_kib=%lld (separate process, not part of the above)\n",
      ami_bench::peak_rss_kib(), std::atoll(child_rss.c_str() + 4) / 1024);
  const auto stats = client.stats();
  std::printf("client_stats unmatched=%llu late=%llu parse_errors=%llu slow_slots=%llu\n",
              static_cast<unsigned long long>(stats.unmatched),
              static_cast<unsigned long long>(stats.late),
              static_cast<unsigned long long>(stats.parse_errors),
              static_cast<unsigned long long>(stats.slow_slots));
  if (o.print_samples) {
    for (std::size_t i = 0; i < samples.size(); ++i) {
      std::printf("sample session=%zu login_ms=%.1f end_ms=%.1f rss_kib=%lld heap_bytes=%lld\n",
                  i + 1, samples[i].login_ms, samples[i].end_ms, samples[i].rss / 1024,
                  samples[i].heap);
    }
  }
  return status == 0 && equal && finished ? 0 : 1;
}
