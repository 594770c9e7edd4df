// The web wallboard in a real browser: headless Chromium (Debian's chromium, started here on
// loopback and stopped by its pid) loads the page that ami-wallboard --serve serves for the
// simulated PBX; through the DevTools protocol (a WebSocket) the test waits for the DOM to
// show a queue caller the simulator adds, keeps a screenshot, and waits for the caller to
// disappear once it hangs up.
#include "../support/temp_dir.hpp"
#include "http_test_client.hpp"
#include "wallboard_support.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json.hpp>

#include <doctest/doctest.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

using namespace std::chrono_literals;
namespace json = boost::json;
namespace beast = boost::beast;

namespace {

constexpr const char* chromium_path = "/usr/bin/chromium";

// Chromium, headless, in its own process group (so that its helper processes go with it),
// with a fresh profile directory; its DevTools endpoint read from its standard error.
class chromium {
 public:
  explicit chromium(const std::string& url) {
    profile_ = ami::test::make_temp_dir("ami-wallboard-chromium");
    int pipe_fds[2];
    REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    std::vector<std::string> args{chromium_path,
                                  "--headless",
                                  "--no-sandbox",  // the tests may run as root
                                  "--disable-gpu",
                                  "--no-first-run",
                                  "--no-default-browser-check",
                                  "--disable-extensions",
                                  "--disable-background-networking",
                                  "--disable-component-update",
                                  "--disable-sync",
                                  "--metrics-recording-only",
                                  "--password-store=basic",
                                  "--use-mock-keychain",
                                  "--window-size=1280,900",
                                  "--remote-debugging-address=127.0.0.1",
                                  "--remote-debugging-port=0",
                                  "--user-data-dir=" + profile_,
                                  url};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, chromium_path, &actions, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(pipe_fds[1]);
    stderr_fd_ = pipe_fds[0];
    REQUIRE_MESSAGE(rc == 0,
                    "cannot start " << chromium_path << " (scripts/bootstrap installs it)");
  }
  ~chromium() { stop(); }
  chromium(const chromium&) = delete;
  chromium& operator=(const chromium&) = delete;

  // "ws://127.0.0.1:PORT/devtools/browser/ID", read from the line Chromium prints on
  // standard error; nullopt when it exits or the deadline passes first.
  std::optional<std::string> devtools_url(std::chrono::milliseconds deadline) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    const std::string marker = "DevTools listening on ";
    for (;;) {
      const auto at = log_.find(marker);
      if (at != std::string::npos) {
        const auto nl = log_.find('\n', at);
        if (nl != std::string::npos)
          return log_.substr(at + marker.size(), nl - at - marker.size());
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{stderr_fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const auto n = ::read(stderr_fd_, buf, sizeof buf);
      if (n <= 0) return std::nullopt;  // it exited
      log_.append(buf, static_cast<std::size_t>(n));
    }
  }
  const std::string& log() const noexcept { return log_; }

  // SIGTERM to its process group, SIGKILL when it has not exited 5 s later.
  void stop() {
    if (pid_ > 0) {
      ::kill(-pid_, SIGTERM);
      auto reaped = std::async(std::launch::async, [pid = pid_] {
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
      });
      if (reaped.wait_for(5s) != std::future_status::ready) ::kill(-pid_, SIGKILL);
      reaped.wait();
      ::kill(-pid_, SIGKILL);  // helpers that outlived the browser
      pid_ = -1;
    }
    if (stderr_fd_ >= 0) {
      ::close(stderr_fd_);
      stderr_fd_ = -1;
    }
    if (!profile_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(profile_, ignored);
      profile_.clear();
    }
  }

 private:
  pid_t pid_ = -1;
  int stderr_fd_ = -1;
  std::string profile_;
  std::string log_;
};

// A DevTools protocol session with the browser (flattened: commands to a page carry its
// sessionId), every command bounded by a deadline.
class devtools {
 public:
  explicit devtools(const std::string& ws_url) : ws_(io_) {
    // ws://HOST:PORT/PATH
    const auto host_at = ws_url.find("//") + 2;
    const auto path_at = ws_url.find('/', host_at);
    const std::string hostport = ws_url.substr(host_at, path_at - host_at);
    const auto colon = hostport.rfind(':');
    const auto port = static_cast<unsigned short>(std::stoi(hostport.substr(colon + 1)));
    bool done = false;
    bool ok = false;
    beast::get_lowest_layer(ws_).expires_after(5s);
    beast::get_lowest_layer(ws_).async_connect(
        boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port),
        [&](beast::error_code ec) {
          if (ec) {
            done = true;
            return;
          }
          ws_.async_handshake(hostport, ws_url.substr(path_at), [&](beast::error_code hec) {
            ok = !hec;
            done = true;
          });
        });
    REQUIRE(ami::test::run_io_until(io_, done, 6s));
    REQUIRE_MESSAGE(ok, "no DevTools WebSocket at " << ws_url);
    beast::get_lowest_layer(ws_).expires_never();
    ws_.read_message_max(64 * 1024 * 1024);  // screenshots
  }

  // Sends a command and returns its "result"; fails the test on an error or at the deadline.
  json::object call(const std::string& method, json::object params, const std::string& session,
                    std::chrono::milliseconds deadline = 5s) {
    json::object answer = exchange(method, std::move(params), session, deadline);
    REQUIRE_MESSAGE(!answer.contains("error"), method << " failed: " << json::serialize(answer));
    return answer.at("result").as_object();
  }

  // Sends a command and returns the whole answer (with "result" or "error"); fails the test
  // at the deadline.
  json::object exchange(const std::string& method, json::object params, const std::string& session,
                        std::chrono::milliseconds deadline = 5s) {
    const auto id = ++last_id_;
    json::object msg{{"id", id}, {"method", method}, {"params", std::move(params)}};
    if (!session.empty()) msg["sessionId"] = session;
    const std::string text = json::serialize(msg);
    bool done = false;
    bool ok = false;
    beast::get_lowest_layer(ws_).expires_after(deadline);
    ws_.async_write(boost::asio::buffer(text), [&](beast::error_code ec, std::size_t) {
      ok = !ec;
      done = true;
    });
    REQUIRE(ami::test::run_io_until(io_, done, deadline + 1s));
    REQUIRE(ok);
    // Answers come in order; events (none enabled) and other answers are skipped.
    for (;;) {
      buffer_.consume(buffer_.size());
      done = false;
      ok = false;
      ws_.async_read(buffer_, [&](beast::error_code ec, std::size_t) {
        ok = !ec;
        done = true;
      });
      REQUIRE_MESSAGE(ami::test::run_io_until(io_, done, deadline + 1s),
                      method << ": no answer in time");
      REQUIRE_MESSAGE(ok, method << ": the DevTools connection failed");
      json::value v = json::parse(beast::buffers_to_string(buffer_.data()));
      auto& o = v.as_object();
      const auto* got = o.if_contains("id");
      if (got == nullptr || got->to_number<std::int64_t>() != id) continue;
      beast::get_lowest_layer(ws_).expires_never();
      return std::move(o);
    }
  }

 private:
  boost::asio::io_context io_;
  beast::websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  std::int64_t last_id_ = 0;
};

// Decodes standard base64 (DevTools sends screenshots so).
std::string base64_decode(std::string_view in) {
  std::string out;
  unsigned value = 0;
  int bits = -8;
  for (const char ch : in) {
    int d = -1;
    if (ch >= 'A' && ch <= 'Z') d = ch - 'A';
    if (ch >= 'a' && ch <= 'z') d = ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') d = ch - '0' + 52;
    if (ch == '+') d = 62;
    if (ch == '/') d = 63;
    if (d < 0) continue;  // padding, line breaks
    value = (value << 6) | static_cast<unsigned>(d);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((value >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

// A JavaScript promise that resolves once the page shows (or no longer shows) a caller with
// this channel name: a MutationObserver, so nothing polls. Rejects after `ms`.
std::string wait_for_caller_js(const std::string& channel, bool present, int ms) {
  const std::string name = json::serialize(json::value(channel));
  return "new Promise((resolve, reject) => {"
         "  const want = " +
         std::string(present ? "true" : "false") +
         ";"
         "  const has = () => [...document.querySelectorAll('.caller')]"
         "    .some((e) => e.dataset.channel === " +
         name +
         ");"
         "  if (has() === want) { resolve(true); return; }"
         "  const obs = new MutationObserver(() => {"
         "    if (has() === want) { obs.disconnect(); resolve(true); } });"
         "  obs.observe(document.documentElement, {childList: true, subtree: true});"
         "  setTimeout(() => { obs.disconnect(); reject(new Error('timeout')); }, " +
         std::to_string(ms) +
         ");"
         "})";
}

}  // namespace

TEST_CASE("ami-wallboard --serve in headless Chromium shows a queue caller, then drops it") {
  ami::testing::server srv(ami::test::call_center_options());
  srv.start();
  ami::test::wallboard_program wallboard({"--url", srv.url(), "--serve", "127.0.0.1:0"});
  const auto page = wallboard.url();
  REQUIRE(page);

  chromium browser("about:blank");
  const auto ws = browser.devtools_url(15s);
  REQUIRE_MESSAGE(ws, "Chromium printed no DevTools endpoint: " << browser.log());
  devtools dt(*ws);
  const auto target = dt.call("Target.createTarget", {{"url", *page}}, "");
  const auto attached = dt.call("Target.attachToTarget",
                                {{"targetId", target.at("targetId")}, {"flatten", true}}, "");
  const std::string session(attached.at("sessionId").as_string());

  // Evaluates a promise in the page; the page may still be loading, whose navigation would
  // destroy the context of an early evaluation, so a failed one is tried again.
  const auto await_in_page = [&](const std::string& js, std::chrono::milliseconds deadline) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    for (;;) {
      const auto r = dt.exchange(
          "Runtime.evaluate", {{"expression", js}, {"awaitPromise", true}, {"returnByValue", true}},
          session, deadline + 2s);
      const auto* result = r.if_contains("result");
      if (result != nullptr && !result->as_object().contains("exceptionDetails")) return true;
      if (std::chrono::steady_clock::now() >= end) {
        MESSAGE("page: " << json::serialize(r));
        return false;
      }
    }
  };
  // The page is live (its first snapshot drawn) before the caller comes.
  REQUIRE(
      await_in_page("new Promise((resolve, reject) => {"
                    "  const ok = () => document.getElementById('status')?.textContent === 'live';"
                    "  if (ok()) { resolve(true); return; }"
                    "  const obs = new MutationObserver(() => { if (ok()) { obs.disconnect(); "
                    "resolve(true); } });"
                    "  obs.observe(document.documentElement, {childList: true, subtree: true, "
                    "characterData: true});"
                    "  setTimeout(() => reject(new Error('timeout')), 8000);"
                    "})",
                    10s));

  const std::string caller = ami::test::queue_caller(srv, "5554001");
  CHECK(await_in_page(wait_for_caller_js(caller, true, 5000), 6s));

  // The screenshot, with the caller on it, is kept in the build tree.
  const auto shot = dt.call("Page.captureScreenshot", {{"format", "png"}}, session, 10s);
  const std::string png = base64_decode(shot.at("data").as_string());
  CHECK(png.substr(1, 3) == "PNG");
  std::filesystem::create_directories(AMI_TEST_ARTIFACT_DIR);
  const std::string shot_path = std::string(AMI_TEST_ARTIFACT_DIR) + "/wallboard.png";
  std::ofstream(shot_path, std::ios::binary) << png;
  MESSAGE("screenshot: " << shot_path);

  REQUIRE(srv.hangup(caller));
  CHECK(await_in_page(wait_for_caller_js(caller, false, 5000), 6s));

  browser.stop();
  wallboard.stop();
  CHECK(wallboard.wait() == 0);
}
