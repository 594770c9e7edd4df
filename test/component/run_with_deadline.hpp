// Runs a blocking program function (an example's run function, ami-cli's run_cli) on its
// own thread and waits for it with a deadline, so that a hang fails the test instead of the
// whole suite. The function writes to streams owned by the shared state, which outlives a
// thread that missed its deadline.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <thread>

namespace ami::test {

struct program_run {
  std::optional<int> status;  // empty when the deadline passed
  std::string out;
  std::string err;
};

inline program_run run_with_deadline(std::function<int(std::ostream& out, std::ostream& err)> f,
                                     std::chrono::milliseconds deadline) {
  struct state {
    std::ostringstream out, err;
    std::promise<int> done;
  };
  auto st = std::make_shared<state>();
  auto finished = st->done.get_future();
  std::thread([st, f = std::move(f)] {
    int status = -1;
    try {
      status = f(st->out, st->err);
    } catch (...) {
      status = -2;
    }
    st->done.set_value(status);
  }).detach();
  program_run r;
  if (finished.wait_for(deadline) != std::future_status::ready) return r;
  r.status = finished.get();
  r.out = st->out.str();
  r.err = st->err.str();
  return r;
}

}  // namespace ami::test
