// ami-bridge: many PBXs (an ami::fleet) into NATS JetStream. docs/bridge.md describes the
// subjects, the message format, the delivery guarantees and the lease.
//
//   boost::asio::io_context io;
//   ami::bridge::bridge b{io, cfg, [](std::string_view line) { std::clog << line << '\n'; }};
//   if (auto problem = b.start()) ...;
//   io.run();   // by one thread: the bridge's state lives on it
//
// Threads: the io_context is run by one thread; cnats callbacks are posted onto it. stats(),
// owned() and id() may be called from any thread.
#pragma once

#include "config.hpp"

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ami::bridge {

struct bridge_stats {
  std::uint64_t events = 0;        // events taken from the PBXs
  std::uint64_t published = 0;     // publish attempts (first sends and repeats)
  std::uint64_t acknowledged = 0;  // messages JetStream stored
  std::uint64_t repeated = 0;      // sends again after a failure or a reconnect
  std::uint64_t dropped = 0;       // events dropped on a full buffer (overflow drop)
  std::uint64_t resyncs = 0;       // AMI sessions closed on a full buffer (overflow resync)
  std::uint64_t gaps = 0;          // gap markers queued
  std::uint64_t actions = 0;       // action requests answered
  std::uint64_t bad_requests = 0;  // of those, answered bad_request
  std::uint64_t buffered = 0;      // messages waiting now (all PBXs)
  std::uint64_t takeovers = 0;     // PBXs this bridge took over from another owner
};

using log_sink = std::function<void(std::string_view line)>;

class bridge {
 public:
  bridge(boost::asio::io_context& io, bridge_config cfg, log_sink log);
  ~bridge();
  bridge(const bridge&) = delete;
  bridge& operator=(const bridge&) = delete;

  // Connects to NATS (waiting for it up to `connect_wait`), creates the stream and the
  // lease bucket when missing, and starts competing for the PBXs' leases. The problem, if
  // any (nothing is left running then).
  std::optional<std::string> start(
      std::chrono::milliseconds connect_wait = std::chrono::seconds(10));

  // Stops taking events and answering actions, sends what is buffered for up to `deadline`,
  // releases the leases (another bridge takes over at once) and closes NATS; then
  // done(drained) runs on the io_context. Call on the io_context's thread or before run().
  void async_stop(std::chrono::milliseconds deadline, std::function<void(bool drained)> done);

  // Stops at once as a crashed process would: nothing is flushed, leases are left to lapse.
  void abort();

  bridge_stats stats() const;
  // The PBXs this bridge owns now, sorted.
  std::vector<std::string> owned() const;
  const std::string& id() const noexcept;

  class impl;

 private:
  std::shared_ptr<impl> impl_;
};

// The subjects of the stream for a prefix: events, state messages and gap markers (never
// the action subjects, which are requests).
std::vector<std::string> stream_subjects(const std::string& prefix);

}  // namespace ami::bridge
