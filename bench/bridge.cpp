// ami-bench-bridge: events per second from many PBX connections through one ami-bridge into a
// file-backed JetStream stream and out to a consumer, against a plain cnats JetStream
// publisher of messages of the same size and headers, measured in the same run.
//
//   ami-bench-bridge [--pbxs N] [--events-per-pbx M] [--rounds K]
//
// nats-server (-js, store in a temporary directory) and the simulated PBX run as child
// processes; the bridge and the consumer run in this process. Each PBX of the bridge is a
// connection to the simulated PBX under its own name; "blast M" makes the simulated PBX send
// M UserEvents to every session, so the bridge publishes N * M events.
//
// Each round has two phases. "bridge": a consumer (push, DeliverNew, no acks) is created on
// the events' subjects, the blast starts, and the phase ends when the consumer counted N * M
// events; every PBX's events must have arrived with their sequence numbers 1..M in order.
// "baseline": the same consumer on another subject, and one cnats publisher sends N * M
// messages of the size the bridge's events had, with the same headers, pipelined with
// js_PublishMsgAsync (the window the bridge uses) until js_PublishAsyncComplete; the phase
// ends when the consumer counted them all. Figures: events per wall second of each phase,
// their ratio, the process's CPU per event (bridge, simulated-PBX traffic included; the
// consumer's own share is in both phases), the bridge's io thread CPU per event, and the
// memory per PBX once all are logged in (VmRSS and malloc, before and after adding them).
#include "connection_memory.hpp"
#include "pbx_child.hpp"
#include "process_stats.hpp"

#include "bridge/bridge.hpp"
#include "nats_server.hpp"

#include <nats/nats.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <fcntl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace {

using steady = std::chrono::steady_clock;
constexpr const char* program = "ami-bench-bridge";

[[noreturn]] void fail(const std::string& what) { ami_bench::pbx_failure(program, what); }

struct options {
  std::size_t pbxs = 100;
  int events_per_pbx = 1000;
  int rounds = 3;
};

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The simulated PBX's commands: "logins N" (answers once N sessions logged in), "blast M"
// (M UserEvents to every session; answers "blasted").
[[noreturn]] void pbx_child(int commands, int replies) {
  ami::testing::server_options opts;
  opts.security_events = false;
  ami::testing::server srv(opts);
  ami_bench::serve_commands(srv, commands, replies, [&srv](const char* line, FILE* out) {
    const std::string_view cmd(line);
    if (cmd.compare(0, 7, "logins ") == 0) {
      const bool ok =
          srv.wait_for_logins(std::strtoull(line + 7, nullptr, 10), std::chrono::seconds(60));
      std::fprintf(out, "%s\n", ok ? "logins ok" : "logins missing");
    } else if (cmd.compare(0, 6, "blast ") == 0) {
      const int m = std::atoi(line + 6);
      for (int i = 1; i <= m; ++i) {
        srv.push_event({{"Event", "UserEvent"},
                        {"Privilege", "user,all"},
                        {"UserEvent", "Bench"},
                        {"Channel", "PJSIP/bench-00000001"},
                        {"Uniqueid", "1700000000.1"},
                        {"Seq", std::to_string(i)}});
      }
      std::fprintf(out, "blasted\n");
    }
  });
}

// Counts the messages of a subject filter on its own thread until `target`.
class counter {
 public:
  counter(jsCtx* js, const std::string& filter, std::size_t target) : target_(target) {
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = "AMI";
    so.Config.DeliverPolicy = js_DeliverNew;
    so.Config.AckPolicy = js_AckNone;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    if (js_SubscribeSync(&sub_, js, filter.c_str(), nullptr, &so, &jerr) != NATS_OK) {
      fail("cannot subscribe to the stream");
    }
    thread_ = std::thread([this] { run(); });
  }
  ~counter() {
    if (thread_.joinable()) thread_.join();
    natsSubscription_Destroy(sub_);
  }

  // Waits for the count; the moment the last one arrived.
  steady::time_point wait() {
    if (thread_.joinable()) thread_.join();
    if (count_ != target_)
      fail("the consumer got " + std::to_string(count_) + " of " + std::to_string(target_) +
           " messages");
    if (out_of_order_ != 0) fail("events out of order: " + std::to_string(out_of_order_));
    return last_;
  }

  std::size_t payload_size() const { return payload_; }

 private:
  void run() {
    std::map<std::string, std::uint64_t> seq;
    while (count_ < target_) {
      natsMsg* m = nullptr;
      if (natsSubscription_NextMsg(&m, sub_, 30000) != NATS_OK) return;
      if (payload_ == 0) payload_ = static_cast<std::size_t>(natsMsg_GetDataLength(m));
      const char* pbx = nullptr;
      const char* s = nullptr;
      if (natsMsgHeader_Get(m, "Ami-Pbx", &pbx) == NATS_OK &&
          natsMsgHeader_Get(m, "Ami-Seq", &s) == NATS_OK) {
        // Each PBX's first message sets where its numbering stands (its login's FullyBooted
        // came before the consumer); from there, every next one is the one after.
        const auto now = std::strtoull(s, nullptr, 10);
        auto [it, first] = seq.emplace(pbx, now);
        if (!first && now != it->second + 1) ++out_of_order_;
        it->second = now;
      }
      natsMsg_Destroy(m);
      ++count_;
    }
    last_ = steady::now();
  }

  natsSubscription* sub_ = nullptr;
  std::size_t target_;
  std::size_t count_ = 0;
  std::size_t payload_ = 0;
  std::size_t out_of_order_ = 0;
  steady::time_point last_{};
  std::thread thread_;
};

struct phase {
  double rate = 0;     // events per wall second
  double cpu_per = 0;  // process CPU microseconds per event
  double io_per = 0;   // bridge io thread CPU microseconds per event
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 != 0 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--pbxs") {
      o.pbxs = std::strtoull(argv[i + 1], nullptr, 10);
    } else if (a == "--events-per-pbx") {
      o.events_per_pbx = std::atoi(argv[i + 1]);
    } else if (a == "--rounds") {
      o.rounds = std::atoi(argv[i + 1]);
    } else {
      fail("unknown option " + a);
    }
  }
  // Children first, before this process has threads.
  auto pbx = ami_bench::spawn_pbx(program, pbx_child);
  // nats-server must not inherit the pipes to the simulated PBX (it would never see EOF).
  ::fcntl(pbx.commands, F_SETFD, FD_CLOEXEC);
  ::fcntl(pbx.replies, F_SETFD, FD_CLOEXEC);
  ami::test::nats_server nats;

  ami::bridge::bridge_config cfg;
  cfg.nats.servers = {nats.url()};
  cfg.stream.storage = ami::bridge::storage_kind::file;
  const auto url = "ami://admin:amp111@127.0.0.1:" + std::to_string(pbx.port) + "?keepalive=0";
  for (std::size_t i = 0; i < o.pbxs; ++i) {
    std::string name = std::to_string(i);
    ami::bridge::pbx_config p;
    p.name = "p" + std::string(name.size() < 4 ? 4 - name.size() : 0, '0') + name;
    p.ami = ami::config::from_url(url);
    p.ami.action_timeout = std::chrono::seconds(60);
    cfg.pbxs.push_back(std::move(p));
  }

  const auto before = ami_bench::measure();
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  ami::bridge::bridge b(io, cfg, [](std::string_view line) {
    if (line.find("NATS") != std::string_view::npos)
      std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
  });
  if (auto bad = b.start()) fail(*bad);
  std::thread runner([&] { io.run(); });
  const auto io_cpu_now = [&] {
    std::promise<double> p;
    auto f = p.get_future();
    boost::asio::post(io, [&p] { p.set_value(thread_cpu_seconds()); });
    return f.get();
  };
  ami_bench::send_command(pbx, "logins " + std::to_string(o.pbxs));
  if (ami_bench::read_line(pbx.replies) != "logins ok") fail("not every PBX logged in");
  const auto after = ami_bench::measure();

  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.PublishAsync.MaxPending = static_cast<std::int64_t>(cfg.window);
  if (natsConnection_ConnectTo(&nc, nats.url().c_str()) != NATS_OK ||
      natsConnection_JetStream(&js, nc, &jo) != NATS_OK) {
    fail("the baseline cannot connect");
  }

  const std::size_t total = o.pbxs * static_cast<std::size_t>(o.events_per_pbx);
  std::vector<double> bridge_rate, base_rate, bridge_cpu, base_cpu, io_cpu_per, ratios;
  std::size_t payload = 0;
  for (int round = 1; round <= o.rounds; ++round) {
    phase br;
    {
      counter c(js, "ami.*.event.UserEvent", total);
      const double cpu0 = ami_bench::cpu_seconds();
      const double io0 = io_cpu_now();
      const auto t0 = steady::now();
      ami_bench::send_command(pbx, "blast " + std::to_string(o.events_per_pbx));
      const auto t1 = c.wait();
      const double secs = std::chrono::duration<double>(t1 - t0).count();
      br.rate = static_cast<double>(total) / secs;
      br.cpu_per = (ami_bench::cpu_seconds() - cpu0) * 1e6 / static_cast<double>(total);
      br.io_per = (io_cpu_now() - io0) * 1e6 / static_cast<double>(total);
      if (ami_bench::read_line(pbx.replies) != "blasted") fail("the blast did not end");
      payload = c.payload_size();
    }
    phase base;
    {
      counter c(js, "ami.base.event.>", total);
      const std::string body(payload, 'x');
      const double cpu0 = ami_bench::cpu_seconds();
      const auto t0 = steady::now();
      for (std::size_t i = 1; i <= total; ++i) {
        natsMsg* m = nullptr;
        natsMsg_Create(&m, "ami.base.event.UserEvent", nullptr, body.data(),
                       static_cast<int>(body.size()));
        const std::string id = "base/" + std::to_string(round) + "/" + std::to_string(i);
        const std::string seq = std::to_string(i);
        natsMsgHeader_Set(m, "Nats-Msg-Id", id.c_str());
        natsMsgHeader_Set(m, "Ami-Pbx", "base");
        natsMsgHeader_Set(m, "Ami-Kind", "event");
        natsMsgHeader_Set(m, "Ami-Bridge", "baseline");
        natsMsgHeader_Set(m, "Ami-Session", "baseline.1");
        natsMsgHeader_Set(m, "Ami-Seq", seq.c_str());
        if (js_PublishMsgAsync(js, &m, nullptr) != NATS_OK) fail("baseline publish failed");
        if (m != nullptr) natsMsg_Destroy(m);
      }
      jsPubOptions po;
      jsPubOptions_Init(&po);
      po.MaxWait = 60000;
      js_PublishAsyncComplete(js, &po);
      const auto t1 = c.wait();
      const double secs = std::chrono::duration<double>(t1 - t0).count();
      base.rate = static_cast<double>(total) / secs;
      base.cpu_per = (ami_bench::cpu_seconds() - cpu0) * 1e6 / static_cast<double>(total);
    }
    std::printf(
        "round %d: bridge %.0f events/s (%.1f us CPU/event, io thread %.1f us), baseline %.0f "
        "msgs/s (%.1f us CPU/msg), ratio %.2f, payload %zu bytes\n",
        round, br.rate, br.cpu_per, br.io_per, base.rate, base.cpu_per, br.rate / base.rate,
        payload);
    std::fflush(stdout);
    bridge_rate.push_back(br.rate);
    base_rate.push_back(base.rate);
    bridge_cpu.push_back(br.cpu_per);
    base_cpu.push_back(base.cpu_per);
    io_cpu_per.push_back(br.io_per);
    ratios.push_back(br.rate / base.rate);
  }
  const auto per = [&](long long from, long long to) {
    return static_cast<double>(to - from) / static_cast<double>(o.pbxs);
  };
  std::printf("memory: rss_per_pbx=%.0f heap_per_pbx=%.0f bytes (%zu PBXs)\n",
              per(before.rss, after.rss), per(before.heap, after.heap), o.pbxs);
  std::printf(
      "median: bridge=%.0f baseline=%.0f ratio=%.2f bridge_cpu_us=%.1f baseline_cpu_us=%.1f "
      "io_cpu_us=%.1f events=%zu\n",
      median(bridge_rate), median(base_rate), median(ratios), median(bridge_cpu), median(base_cpu),
      median(io_cpu_per), total);

  jsCtx_Destroy(js);
  natsConnection_Close(nc);
  natsConnection_Destroy(nc);
  bool drained = false;
  std::promise<void> stopped;
  boost::asio::post(io, [&] {
    b.async_stop(std::chrono::seconds(5), [&](bool ok) {
      drained = ok;
      stopped.set_value();
    });
  });
  stopped.get_future().wait();
  guard.reset();
  io.stop();
  runner.join();
  ami_bench::stop_pbx(pbx);
  return 0;
}
