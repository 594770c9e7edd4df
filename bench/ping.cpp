// ami-bench-ping: round trips through ami::client. Sequential Pings (send one, wait for its
// response) give the latency; pipelined Pings (W in flight until M are answered) the
// throughput. Logs in with Events: off, so the server sends nothing else.
//
//   ami-bench-ping --host H --port P --pings-seq N --pings-pipe M --window W
//
// Prints: ping_seq n=N p50_us=X p99_us=Y
//         ping_pipe n=M window=W seconds=S pings_per_sec=R cpu_us_per_ping=C
#include "process_stats.hpp"

#include "ami/client.hpp"

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using ami_bench::cpu_seconds;
using clock_type = std::chrono::steady_clock;

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: ami-bench-ping --host H --port P --pings-seq N --pings-pipe M --window W\n");
  std::exit(2);
}

double percentile_us(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  ami::config cfg;
  cfg.host = "127.0.0.1";
  cfg.username = "admin";
  cfg.secret = "bench";
  cfg.events = "off";
  std::uint64_t seq_n = 0, pipe_n = 0, window = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) usage();
    if (a == "--host") {
      cfg.host = argv[++i];
    } else if (a == "--port") {
      cfg.port = static_cast<std::uint16_t>(std::strtoul(argv[++i], nullptr, 10));
    } else if (a == "--pings-seq") {
      seq_n = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--pings-pipe") {
      pipe_n = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--window") {
      window = std::strtoull(argv[++i], nullptr, 10);
    } else {
      usage();
    }
  }
  if (window == 0) usage();

  boost::asio::io_context io;
  ami::client client{io};
  int status = 0;
  const std::uint64_t warmup = std::max<std::uint64_t>(100, seq_n / 100);
  std::vector<double> latencies;
  latencies.reserve(seq_n);
  std::uint64_t sent = 0, answered = 0;
  clock_type::time_point pipe_start, pipe_end;
  double cpu_start = 0, cpu_end = 0;

  const auto failed = [&](const char* what, boost::system::error_code ec) {
    std::fprintf(stderr, "ami-bench-ping: %s: %s\n", what, ec.message().c_str());
    status = 1;
    client.close();
  };

  std::function<void()> pipelined_one = [&] {
    ++sent;
    client.async_send(ami::action("Ping"), [&](boost::system::error_code ec, ami::response) {
      if (ec) return failed("pipelined Ping", ec);
      if (++answered == pipe_n) {
        pipe_end = clock_type::now();
        cpu_end = cpu_seconds();
        client.close();
        return;
      }
      if (sent < pipe_n) pipelined_one();
    });
  };
  const auto start_pipelined = [&] {
    if (pipe_n == 0) {
      client.close();
      return;
    }
    pipe_start = clock_type::now();
    cpu_start = cpu_seconds();
    while (sent < std::min(window, pipe_n)) pipelined_one();
  };

  std::uint64_t seq_done = 0;
  std::function<void()> sequential_one = [&] {
    if (seq_done == seq_n + warmup || seq_n == 0) {
      start_pipelined();
      return;
    }
    const auto t0 = clock_type::now();
    client.async_send(ami::action("Ping"), [&, t0](boost::system::error_code ec, ami::response) {
      if (ec) return failed("Ping", ec);
      const auto dt = std::chrono::duration<double, std::micro>(clock_type::now() - t0).count();
      if (++seq_done > warmup) latencies.push_back(dt);
      sequential_one();
    });
  };

  client.async_connect(cfg, [&](boost::system::error_code ec) {
    if (ec) return failed("connect", ec);
    sequential_one();
  });
  io.run();
  if (status != 0) return status;

  if (seq_n > 0) {
    const double p50 = percentile_us(latencies, 0.50);
    const double p99 = percentile_us(latencies, 0.99);
    std::printf("ping_seq n=%llu p50_us=%.1f p99_us=%.1f\n",
                static_cast<unsigned long long>(latencies.size()), p50, p99);
  }
  if (pipe_n > 0) {
    const double seconds = std::chrono::duration<double>(pipe_end - pipe_start).count();
    std::printf(
        "ping_pipe n=%llu window=%llu seconds=%.4f pings_per_sec=%.0f cpu_us_per_ping=%.2f\n",
        static_cast<unsigned long long>(answered), static_cast<unsigned long long>(window), seconds,
        static_cast<double>(answered) / seconds,
        (cpu_end - cpu_start) * 1e6 / static_cast<double>(answered));
  }
  return 0;
}
