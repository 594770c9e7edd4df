// The call center of `ami-wallboard --demo`: a simulated PBX with three queues and traffic
// that keeps them moving. Callers arrive in `support` and `sales` and wait, are answered by
// an agent or give up; agents are paused and unpaused; the simulator's load generator runs a
// busy `callcenter` queue beside them.
#pragma once

#include "ami/client.hpp"
#include "ami/testing/pbx.hpp"
#include "ami/testing/server.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace ami::tools::wallboard {

// The standard set-up (pbx_config::standard) with seconds of one real second, plus queue
// `sales` (agent phones PJSIP/201 to 203, extension 710) beside `support` (extension 700).
ami::testing::pbx_config demo_pbx_config();

class demo_traffic {
 public:
  // Works on `ex`; sends its QueuePause actions through `c`, which must be connected to
  // `pbx` (both must outlive it).
  demo_traffic(const boost::asio::any_io_executor& ex, ami::testing::server& pbx, ami::client& c,
               std::uint32_t seed = std::random_device{}());

  // Starts the load generator at `events_per_second` (0: none) and places a few callers at
  // once, so that a first snapshot already has some waiting; then one step per `period`.
  void start(double events_per_second, std::chrono::milliseconds period);
  void stop();

  std::size_t calls_placed() const noexcept { return placed_; }

 private:
  struct caller {
    std::string channel;
    std::chrono::steady_clock::time_point leaves;  // hangs up then, answered or not
  };

  void step();
  void place_call();
  void schedule();

  ami::testing::server& pbx_;
  ami::client& client_;
  boost::asio::steady_timer timer_;
  std::mt19937 rng_;
  std::chrono::milliseconds period_{1000};
  std::vector<caller> callers_;
  std::size_t placed_ = 0;
  std::uint64_t steps_ = 0;
  bool running_ = false;
};

}  // namespace ami::tools::wallboard
