// What the bridge tests share: a JetStream reader of the bridge's stream (cnats), the
// bridge run on its own io thread, simulated PBXs, and deadlines on every wait.
#pragma once

#include "nats_server.hpp"

#include "ami/testing/server.hpp"
#include "bridge/bridge.hpp"
#include "bridge/config.hpp"

#include <nats/nats.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace ami::test {

using namespace std::chrono_literals;

// One message of the stream, with the bridge's headers.
struct stored {
  std::string subject;
  std::string kind;  // event, state, gap
  std::string pbx;
  std::string session;
  std::string bridge;
  std::uint64_t seq = 0;
  boost::json::object body;
};

// An ephemeral push consumer of the whole stream from its first message.
class stream_reader {
 public:
  explicit stream_reader(const std::string& url, const std::string& stream = "AMI",
                         const std::string& filter = "ami.>") {
    REQUIRE(natsConnection_ConnectTo(&nc_, url.c_str()) == NATS_OK);
    REQUIRE(natsConnection_JetStream(&js_, nc_, nullptr) == NATS_OK);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream.c_str();
    so.Config.DeliverPolicy = js_DeliverAll;
    so.Config.AckPolicy = js_AckNone;
    // The bridge creates the stream: a reader started with it waits for it (deadline 10 s).
    const auto until = std::chrono::steady_clock::now() + 10s;
    for (;;) {
      jsErrCode jerr = static_cast<jsErrCode>(0);
      if (js_SubscribeSync(&sub_, js_, filter.c_str(), nullptr, &so, &jerr) == NATS_OK) break;
      REQUIRE(std::chrono::steady_clock::now() < until);
      // Each try is a round trip to the server; nothing else to wait on.
      natsConnection_FlushTimeout(nc_, 1000);
    }
  }
  ~stream_reader() {
    // Unsubscribed and closed first: cnats frees the messages still queued for the reader.
    if (sub_ != nullptr) natsSubscription_Unsubscribe(sub_);
    if (nc_ != nullptr) natsConnection_Close(nc_);
    if (sub_ != nullptr) natsSubscription_Destroy(sub_);
    if (js_ != nullptr) jsCtx_Destroy(js_);
    if (nc_ != nullptr) natsConnection_Destroy(nc_);
  }
  stream_reader(const stream_reader&) = delete;
  stream_reader& operator=(const stream_reader&) = delete;

  // The next message, or nothing once `timeout` passed.
  std::optional<stored> next(std::chrono::milliseconds timeout) {
    natsMsg* m = nullptr;
    if (natsSubscription_NextMsg(&m, sub_, timeout.count()) != NATS_OK) return std::nullopt;
    stored s;
    s.subject = natsMsg_GetSubject(m);
    s.kind = header(m, "Ami-Kind");
    s.pbx = header(m, "Ami-Pbx");
    s.session = header(m, "Ami-Session");
    s.bridge = header(m, "Ami-Bridge");
    const std::string seq = header(m, "Ami-Seq");
    s.seq = seq.empty() ? 0 : std::stoull(seq);
    boost::system::error_code ec;
    auto v = boost::json::parse(
        std::string_view(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m))),
        ec);
    natsMsg_Destroy(m);
    if (!ec && v.is_object()) s.body = v.get_object();
    all.push_back(s);
    return s;
  }

  // Reads until `done()` holds (true) or the deadline passed (false).
  bool read_until(const std::function<bool()>& done, std::chrono::milliseconds deadline = 10s) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (!done()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      next(std::min<std::chrono::milliseconds>(left, 100ms));
    }
    return true;
  }

  // The UserEvents of a PBX in stream order: their "Seq" header (the simulator's numbering).
  std::vector<int> user_seqs(const std::string& pbx) const {
    std::vector<int> out;
    for (const auto& s : all) {
      if (s.pbx != pbx || s.kind != "event") continue;
      if (auto* v = s.body.if_contains("Seq"); v != nullptr && v->is_string()) {
        out.push_back(std::stoi(std::string(v->get_string())));
      }
    }
    return out;
  }

  std::size_t count(const std::string& pbx, const std::string& kind) const {
    std::size_t n = 0;
    for (const auto& s : all) n += (s.pbx == pbx && s.kind == kind) ? 1U : 0U;
    return n;
  }

  // The stream's messages so far, in order.
  std::vector<stored> all;

 private:
  static std::string header(natsMsg* m, const char* key) {
    const char* v = nullptr;
    if (natsMsgHeader_Get(m, key, &v) != NATS_OK || v == nullptr) return {};
    return v;
  }

  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
  natsSubscription* sub_ = nullptr;
};

// A NATS request with a deadline; the reply parsed.
inline std::optional<boost::json::object> request(const std::string& url,
                                                  const std::string& subject,
                                                  const std::string& body,
                                                  std::chrono::milliseconds timeout = 5s) {
  natsConnection* nc = nullptr;
  if (natsConnection_ConnectTo(&nc, url.c_str()) != NATS_OK) return std::nullopt;
  natsMsg* reply = nullptr;
  const natsStatus s = natsConnection_Request(&reply, nc, subject.c_str(), body.data(),
                                              static_cast<int>(body.size()), timeout.count());
  std::optional<boost::json::object> out;
  if (s == NATS_OK) {
    boost::system::error_code ec;
    auto v =
        boost::json::parse(std::string_view(natsMsg_GetData(reply),
                                            static_cast<std::size_t>(natsMsg_GetDataLength(reply))),
                           ec);
    if (!ec && v.is_object()) out = v.get_object();
    natsMsg_Destroy(reply);
  }
  natsConnection_Close(nc);
  natsConnection_Destroy(nc);
  return out;
}

inline std::string text(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// A bridge on its own io thread; its log lines kept (under a lock) for the assertions.
class bridge_runner {
 public:
  explicit bridge_runner(bridge::bridge_config cfg) : cfg_(std::move(cfg)) {}
  ~bridge_runner() {
    if (b_) crash();
  }

  std::optional<std::string> start() {
    b_ = std::make_unique<bridge::bridge>(io_, cfg_, [this](std::string_view line) {
      const std::lock_guard<std::mutex> lock(mutex_);
      log_.emplace_back(line);
    });
    if (auto bad = b_->start(5s)) {
      b_.reset();
      return bad;
    }
    thread_ = std::thread([this] { io_.run(); });
    return std::nullopt;
  }

  bool start_ok() {
    auto problem = start();
    if (problem) MESSAGE("bridge start: " << *problem);
    return !problem;
  }

  bridge::bridge& get() { return *b_; }

  // async_stop on the io thread; true when it completed (drained or not) within 10 s.
  bool stop(std::chrono::milliseconds drain = 2s, bool* drained = nullptr) {
    auto done = std::make_shared<std::promise<bool>>();
    auto f = done->get_future();
    boost::asio::post(io_, [this, drain, done] {
      b_->async_stop(drain, [done](bool ok) { done->set_value(ok); });
    });
    const bool finished = f.wait_for(10s) == std::future_status::ready;
    if (finished && drained != nullptr) *drained = f.get();
    finish();
    return finished;
  }

  // As a crash: abort() on the io thread, nothing flushed, leases left to lapse.
  void crash() {
    auto done = std::make_shared<std::promise<void>>();
    auto f = done->get_future();
    boost::asio::post(io_, [this, done] {
      b_->abort();
      done->set_value();
    });
    f.wait_for(10s);
    finish();
  }

  std::string log_text() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    std::string out;
    for (const auto& l : log_) out += l + "\n";
    return out;
  }

  bool logged(const std::string& part) const {
    const std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& l : log_) {
      if (l.find(part) != std::string::npos) return true;
    }
    return false;
  }

 private:
  void finish() {
    guard_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
    b_.reset();
  }

  bridge::bridge_config cfg_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_ =
      boost::asio::make_work_guard(io_);
  std::unique_ptr<bridge::bridge> b_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<std::string> log_;
};

// Waits for `pred` with a deadline (the state it reads is thread-safe).
inline bool eventually(const std::function<bool()>& pred,
                       std::chrono::milliseconds deadline = 10s) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  std::mutex m;
  std::condition_variable cv;
  std::unique_lock<std::mutex> lock(m);
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    // Nothing notifies: the wait only paces the re-checks of state owned by other threads.
    cv.wait_for(lock, 5ms);
  }
  return true;
}

// A configuration for `servers` simulated PBXs (pbx0, pbx1, ...) publishing UserEvents.
inline bridge::bridge_config bridge_cfg(
    const nats_server& nats, const std::vector<std::unique_ptr<ami::testing::server>>& pbxs) {
  bridge::bridge_config cfg;
  cfg.nats.servers = {nats.url()};
  cfg.window = 256;
  cfg.ack_timeout = 500ms;
  cfg.lease_ttl = 600ms;
  cfg.drain_timeout = 2s;
  for (std::size_t i = 0; i < pbxs.size(); ++i) {
    bridge::pbx_config p;
    p.name = "pbx" + std::to_string(i);
    p.ami = ami::config::from_url(pbxs[i]->url());
    p.ami.reconnect_initial = 10ms;
    p.ami.reconnect_max = 100ms;
    p.ami.keepalive_interval = 0ms;
    p.ami.action_timeout = 2s;
    p.events = {"UserEvent"};
    cfg.pbxs.push_back(std::move(p));
  }
  return cfg;
}

inline std::vector<std::unique_ptr<ami::testing::server>> start_pbxs(std::size_t n) {
  std::vector<std::unique_ptr<ami::testing::server>> out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(std::make_unique<ami::testing::server>());
    out.back()->start();
  }
  return out;
}

inline void push_user_events(ami::testing::server& s, int from, int count) {
  for (int i = from; i < from + count; ++i) {
    s.push_event({{"Event", "UserEvent"}, {"UserEvent", "Bridge"}, {"Seq", std::to_string(i)}});
  }
}

inline std::vector<int> iota(int from, int count) {
  std::vector<int> v;
  for (int i = from; i < from + count; ++i) v.push_back(i);
  return v;
}

}  // namespace ami::test
