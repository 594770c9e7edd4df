// For the wallboard's tests: a simulated PBX with a queue whose callers wait (no member can
// take them), and ami-wallboard (tools/wallboard/app.hpp) run in-process on its own thread.
#pragma once

#include "../../tools/wallboard/app.hpp"

#include "ami/testing/pbx.hpp"
#include "ami/testing/server.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ami::test {

// The standard set-up plus queue `sales` (extension 710): member PJSIP/101, whose phone is
// offline, at penalty 2, and PJSIP/100, paused for lunch. Callers stay in it until they
// hang up.
inline ami::testing::server_options call_center_options() {
  auto pbx = ami::testing::pbx_config::standard();
  ami::testing::queue sales;
  sales.name = "sales";
  sales.strategy = "leastrecent";
  ami::testing::queue_member offline;
  offline.interface = "PJSIP/101";
  offline.name = "Bob";
  offline.penalty = 2;
  ami::testing::queue_member paused;
  paused.interface = "PJSIP/100";
  paused.name = "Alice";
  paused.paused = true;
  paused.paused_reason = "lunch";
  sales.members = {offline, paused};
  pbx.queues.push_back(sales);
  ami::testing::extension x;
  x.exten = "710";
  x.action = ami::testing::behaviour::queue;
  x.argument = "sales";
  pbx.extensions.push_back(x);
  ami::testing::server_options o;
  o.pbx = pbx;
  return o;
}

// Waits until the simulator's channels are as the predicate wants; false at the deadline.
// The simulator has no signal for this: each look is a round trip to its thread.
inline bool wait_for_channels(
    const ami::testing::server& srv,
    const std::function<bool(const std::vector<ami::testing::channel_info>&)>& pred,
    std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!pred(srv.channels())) {
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::yield();
  }
  return true;
}

inline const ami::testing::channel_info* find_channel(
    const std::vector<ami::testing::channel_info>& v, const std::string& name) {
  for (const auto& c : v) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

// A caller into `sales`; returns once the simulator has it waiting in the queue.
inline std::string queue_caller(ami::testing::server& srv, const std::string& number) {
  const std::string name = srv.incoming_call("PJSIP/trunk1", "710", "default", number);
  REQUIRE(wait_for_channels(srv, [&](const auto& channels) {
    const auto* c = find_channel(channels, name);
    return c != nullptr && c->application == "Queue" && c->state == 6;
  }));
  return name;
}

// A stream buffer that other threads may read while the program writes to it, and wait on.
class shared_text : public std::streambuf {
 public:
  std::string text() const {
    std::lock_guard<std::mutex> lock(m_);
    return text_;
  }
  // Waits until the text so far satisfies pred; false at the deadline.
  bool wait(const std::function<bool(const std::string&)>& pred,
            std::chrono::milliseconds deadline) {
    std::unique_lock<std::mutex> lock(m_);
    return cv_.wait_for(lock, deadline, [&] { return pred(text_); });
  }

 protected:
  int_type overflow(int_type ch) override {
    if (ch == traits_type::eof()) return traits_type::not_eof(ch);
    const char c = traits_type::to_char_type(ch);
    xsputn(&c, 1);
    return ch;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::lock_guard<std::mutex> lock(m_);
    text_.append(s, static_cast<std::size_t>(n));
    cv_.notify_all();
    return n;
  }

 private:
  mutable std::mutex m_;
  std::condition_variable cv_;
  std::string text_;
};

// ami-wallboard on its own thread. The streams live in shared state, so that a run which
// misses its deadline cannot outlive them; with --serve, the page's URL and the stop
// function arrive through on_running.
class wallboard_program {
 public:
  explicit wallboard_program(std::vector<std::string> args,
                             ami::tools::wallboard::run_options run = {})
      : st_(std::make_shared<state>()) {
    finished_ = st_->done.get_future();
    run.on_running = [st = st_](const std::string& url, std::function<void()> stop) {
      std::lock_guard<std::mutex> lock(st->m);
      st->url = url;
      st->stop = std::move(stop);
      st->running = true;
      st->cv.notify_all();
    };
    std::thread([st = st_, args = std::move(args), run] {
      int status = -1;
      try {
        status = ami::tools::wallboard::run_wallboard(
            args, st->out, st->err, [](const char*) -> std::optional<std::string> { return {}; },
            run);
      } catch (...) {
        status = -2;
      }
      {
        std::lock_guard<std::mutex> lock(st->m);
        st->ended = true;
        st->cv.notify_all();
      }
      st->done.set_value(status);
    }).detach();
  }
  ~wallboard_program() { stop(); }
  wallboard_program(const wallboard_program&) = delete;
  wallboard_program& operator=(const wallboard_program&) = delete;

  // The page's URL (empty without --serve) once running; nullopt when the program ended
  // first or the deadline passed.
  std::optional<std::string> url(std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(st_->m);
    st_->cv.wait_for(lock, deadline, [&] { return st_->running || st_->ended; });
    if (!st_->running) return std::nullopt;
    return st_->url;
  }
  void stop() {
    std::function<void()> s;
    {
      std::lock_guard<std::mutex> lock(st_->m);
      s = st_->stop;
    }
    if (s) s();
  }
  // The exit status, or nothing when the deadline passed.
  std::optional<int> wait(std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
    if (finished_.wait_for(deadline) != std::future_status::ready) return std::nullopt;
    if (!status_) status_ = finished_.get();
    return status_;
  }
  // The output so far (any time), and a wait for it to say something.
  std::string out() const { return st_->out_text.text(); }
  bool wait_out(const std::function<bool(const std::string&)>& pred,
                std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    return st_->out_text.wait(pred, deadline);
  }
  // Only once wait() returned a status.
  std::string err() const { return st_->err.str(); }

 private:
  struct state {
    shared_text out_text;
    std::ostream out{&out_text};
    std::ostringstream err;
    std::promise<int> done;
    std::mutex m;
    std::condition_variable cv;
    std::string url;
    std::function<void()> stop;
    bool ended = false;
    bool running = false;
  };
  std::shared_ptr<state> st_;
  std::future<int> finished_;
  std::optional<int> status_;
};

}  // namespace ami::test
