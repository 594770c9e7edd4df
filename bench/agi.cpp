// ami-bench-agi: AsyncAGI commands per second through one ami::client, against the
// simulated PBX (ami::testing::server answering `Action: AGI` with Success and an
// AsyncAGIExec, as Asterisk does), with Ping round trips in the same run as the baseline.
// W sessions (or W Pings) are in flight at once; each session runs its commands one after
// the other, as AGI requires. Each figure is the median over R repetitions.
//
//   ami-bench-agi [--commands N] [--window W] [--reps R]
//
// Prints: agi    window=W commands=N median_per_sec=X
//         ping   window=W pings=N median_per_sec=Y
//         ratio  agi/ping=Z
#include "ami/agi/async_agi.hpp"
#include "ami/client.hpp"
#include "ami/testing/server.hpp"
#include "ami/url.hpp"

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Runs `start` and the io_context until `finished()`; the rate of `n` operations.
double rate(boost::asio::io_context& io, std::uint64_t n, const std::function<void()>& start,
            const std::function<bool()>& finished) {
  const auto t0 = clock_type::now();
  start();
  while (!finished()) io.run_one();
  const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
  return static_cast<double>(n) / s;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t commands = 20000;
  std::uint64_t window = 1;
  int reps = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view a = argv[i];
    if (a == "--commands") {
      commands = std::strtoull(argv[i + 1], nullptr, 10);
    } else if (a == "--window") {
      window = std::max<std::uint64_t>(1, std::strtoull(argv[i + 1], nullptr, 10));
    } else if (a == "--reps") {
      reps = std::max(1, std::atoi(argv[i + 1]));
    } else {
      std::fprintf(stderr, "usage: ami-bench-agi [--commands N] [--window W] [--reps R]\n");
      return 2;
    }
  }

  ami::testing::server srv;
  srv.on_action("AGI", [](ami::testing::session& s, const ami::message& a) {
    s.respond(a, {{"Response", "Success"}, {"Message", "Added AGI command to queue"}});
    s.send({{"Event", "AsyncAGIExec"},
            {"Privilege", "agi,all"},
            {"Channel", std::string(a.get("Channel").value_or(""))},
            {"Result", "200%20result%3D0%0A"},
            {"CommandId", std::string(a.get("CommandID").value_or(""))}});
    return true;
  });
  srv.start();

  boost::asio::io_context io;
  ami::client c{io};
  bool connected = false;
  c.async_connect(ami::config::from_url(srv.url()), [&](boost::system::error_code ec) {
    if (ec) {
      std::fprintf(stderr, "connect: %s\n", ec.message().c_str());
      std::exit(1);
    }
    connected = true;
  });
  while (!connected) io.run_one();

  ami::agi::async_agi agi(c);
  std::vector<std::shared_ptr<ami::agi::session>> sessions;
  agi.on_session([&](std::shared_ptr<ami::agi::session> s) { sessions.push_back(std::move(s)); });
  for (std::uint64_t i = 0; i < window; ++i) {
    const auto chan = "Local/800@default-" + std::to_string(i) + ";2";
    srv.push_event(
        {{"Event", "AsyncAGIStart"},
         {"Privilege", "agi,all"},
         {"Channel", chan},
         {"Env", ami::percent_encode("agi_request: async\nagi_channel: " + chan + "\n\n")}});
  }
  while (sessions.size() < window) io.run_one();

  std::vector<double> agi_rates;
  std::vector<double> ping_rates;
  for (int r = 0; r < reps; ++r) {
    std::uint64_t done = 0;
    std::uint64_t issued = 0;
    std::function<void(std::size_t)> next_cmd = [&](std::size_t k) {
      if (issued >= commands) return;
      ++issued;
      sessions[k]->async_exec(ami::agi::noop{},
                              [&, k](boost::system::error_code ec, const ami::agi::status_result&) {
                                if (ec) std::exit(1);
                                ++done;
                                next_cmd(k);
                              });
    };
    agi_rates.push_back(rate(
        io, commands,
        [&] {
          for (std::size_t k = 0; k < window; ++k) next_cmd(k);
        },
        [&] { return done == commands; }));

    done = 0;
    issued = 0;
    std::function<void()> next_ping = [&] {
      if (issued >= commands) return;
      ++issued;
      c.async_send(ami::action("Ping"), [&](boost::system::error_code ec, const ami::response&) {
        if (ec) std::exit(1);
        ++done;
        next_ping();
      });
    };
    ping_rates.push_back(rate(
        io, commands,
        [&] {
          for (std::uint64_t k = 0; k < window; ++k) next_ping();
        },
        [&] { return done == commands; }));
  }
  const double a = median(agi_rates);
  const double p = median(ping_rates);
  std::printf("agi    window=%llu commands=%llu median_per_sec=%.0f\n",
              static_cast<unsigned long long>(window), static_cast<unsigned long long>(commands),
              a);
  std::printf("ping   window=%llu pings=%llu median_per_sec=%.0f\n",
              static_cast<unsigned long long>(window), static_cast<unsigned long long>(commands),
              p);
  std::printf("ratio  agi/ping=%.2f\n", a / p);
  c.close();
  return 0;
}
