// ami-bench-live-pbx: ami::live::pbx attached to a client against the simulated PBX (in this
// process, on its own thread).
//
//   ami-bench-live-pbx [--channels N] [--events N] [--runs R]
//
// 1. Sync: the PBX holds N channels (incoming calls into the echo test); each run logs in a
//    client with a pbx attached and times the login-to-sync-finished interval (lists sent,
//    answered, merged, published).
// 2. Event rate: the ring of bench/blaster_events.hpp repeated to --events events, pushed by
//    the server as one write; a client counts them in an on_event slot, from the first to the
//    last. Runs alternate between the raw client and the same client with a synced pbx
//    attached (its own slots plus snapshot publishing), so both see the same machine load.
//
// Prints the median of each and the ratio live / raw.
#include "blaster_events.hpp"

#include "ami/client.hpp"
#include "ami/live/pbx.hpp"
#include "ami/testing/server.hpp"

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

using steady = std::chrono::steady_clock;

bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
               std::chrono::seconds limit = std::chrono::seconds(120)) {
  const auto end = steady::now() + limit;
  io.restart();
  while (!done()) {
    if (steady::now() >= end) return false;
    io.run_one_for(std::chrono::milliseconds(50));
  }
  return true;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "ami-bench-live-pbx: %s\n", what);
  std::exit(1);
}

ami::config config_of(const ami::testing::server& srv) {
  ami::config cfg = ami::config::from_url(srv.url());
  cfg.action_timeout = std::chrono::seconds(60);
  return cfg;
}

// Seconds from login to the end of the first sync.
double sync_once(const ami::testing::server& srv, std::size_t channels) {
  boost::asio::io_context io;
  ami::client c{io};
  ami::live::pbx live{c};
  std::optional<steady::time_point> started;
  std::optional<steady::time_point> finished;
  auto s1 = live.on_sync_started([&] { started = steady::now(); });
  auto s2 = live.on_sync_finished([&](const ami::live::sync_report&) { finished = steady::now(); });
  bool connected = false;
  c.async_connect(config_of(srv), [&](boost::system::error_code ec) {
    if (ec) fail("cannot connect");
    connected = true;
  });
  if (!run_until(io, [&] { return connected && finished.has_value(); })) fail("sync timed out");
  if (live.snapshot()->channels.size() != channels) fail("the sync missed channels");
  c.close();
  return std::chrono::duration<double>(*finished - *started).count();
}

// Events per second the client's slot received, with or without a pbx attached.
double event_rate(ami::testing::server& srv, const std::string& stream, std::size_t events,
                  bool attached) {
  boost::asio::io_context io;
  ami::client c{io};
  std::unique_ptr<ami::live::pbx> live;
  if (attached) live = std::make_unique<ami::live::pbx>(c);
  std::size_t seen = 0;
  steady::time_point first{};
  steady::time_point last{};
  auto sub = c.on_event([&](const ami::event& e) {
    if (e.name() == "FullyBooted" || e.name() == "SuccessfulAuth") return;
    if (seen++ == 0) first = steady::now();
    last = steady::now();
  });
  bool connected = false;
  c.async_connect(config_of(srv), [&](boost::system::error_code ec) {
    if (ec) fail("cannot connect");
    connected = true;
  });
  if (!run_until(io, [&] { return connected && (!live || live->synced()); })) {
    fail("no session");
  }
  seen = 0;
  srv.push_raw(stream);
  if (!run_until(io, [&] { return seen >= events; })) fail("events missing");
  if (live && live->stats().events_applied < events) fail("the pbx missed events");
  c.close();
  return static_cast<double>(events - 1) / std::chrono::duration<double>(last - first).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t channels = 10000;
  std::size_t events = 200000;
  int runs = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string opt = argv[i];
    const long long v = std::atoll(argv[i + 1]);
    if (v <= 0) fail("options take positive numbers");
    if (opt == "--channels") {
      channels = static_cast<std::size_t>(v);
    } else if (opt == "--events") {
      events = static_cast<std::size_t>(v);
    } else if (opt == "--runs") {
      runs = static_cast<int>(v);
    } else {
      fail("usage: ami-bench-live-pbx [--channels N] [--events N] [--runs R]");
    }
  }

  ami::testing::server srv;
  srv.start();
  for (std::size_t i = 0; i < channels; ++i) {
    srv.incoming_call("PJSIP/trunk1", "200", "default", std::to_string(1000 + i));
  }
  if (srv.channels().size() != channels) fail("the simulator did not keep every call");
  std::vector<double> syncs;
  for (int r = 0; r < runs; ++r) syncs.push_back(sync_once(srv, channels));
  std::printf("sync channels=%zu median_ms=%.1f min_ms=%.1f\n", channels, median(syncs) * 1e3,
              *std::min_element(syncs.begin(), syncs.end()) * 1e3);

  // The event rate on an idle PBX: its channels would only add their own events.
  for (const auto& ch : srv.channels()) srv.hangup(ch.name);
  const auto ring = ami_bench::build_ring();
  std::string stream;
  const std::size_t per_ring = ring.ends.size();
  const std::size_t rings = (events + per_ring - 1) / per_ring;
  stream.reserve(ring.bytes.size() * rings);
  for (std::size_t i = 0; i < rings; ++i) stream += ring.bytes;
  events = rings * per_ring;

  std::vector<double> raw;
  std::vector<double> live;
  for (int r = 0; r < runs; ++r) {
    raw.push_back(event_rate(srv, stream, events, false));
    live.push_back(event_rate(srv, stream, events, true));
  }
  const double raw_median = median(raw);
  const double live_median = median(live);
  std::printf("events=%zu raw_median_per_sec=%.0f live_median_per_sec=%.0f ratio=%.2f\n", events,
              raw_median, live_median, live_median / raw_median);
  return 0;
}
