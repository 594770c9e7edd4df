// The ami-bridge program as a process: SIGTERM drains what is buffered, gives the lease
// back and exits 0; the short command line works end to end.
#include "../support/temp_dir.hpp"
#include "bridge_support.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

#ifdef AMI_BRIDGE_EXE

using namespace std::chrono_literals;

namespace {

// Waits for the child with a deadline; its exit status, or -1.
int wait_exit(pid_t pid, std::chrono::milliseconds deadline) {
  auto status = std::async(std::launch::async, [pid] {
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  });
  if (status.wait_for(deadline) != std::future_status::ready) {
    kill(pid, SIGKILL);
  }
  return status.get();
}

}  // namespace

TEST_CASE("bridge: ami-bridge as a process, stopped by SIGTERM after draining") {
  ami::test::nats_server nats;
  auto pbxs = ami::test::start_pbxs(1);
  const std::string log_dir = ami::test::make_temp_dir("ami-bridge-log");
  const std::string log_path = log_dir + "/ami-bridge.log";
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  REQUIRE(log_fd >= 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, log_fd, 2);
  std::string exe = AMI_BRIDGE_EXE, nats_opt = "--nats", url = nats.url(), pbx_opt = "--pbx",
              pbx = "pbx0=" + pbxs[0]->url() + "?keepalive=0&reconnect=0.01";
  std::vector<char*> argv{exe.data(),     nats_opt.data(), url.data(),
                          pbx_opt.data(), pbx.data(),      nullptr};
  pid_t pid = -1;
  REQUIRE(posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ) == 0);
  posix_spawn_file_actions_destroy(&actions);
  close(log_fd);

  ami::test::stream_reader r(nats.url());
  const auto up = [&] {
    for (const auto& s : r.all) {
      if (s.kind == "state" && ami::test::text(s.body, "state") == "up") return true;
    }
    return false;
  };
  const bool started = r.read_until(up);
  if (started) {
    ami::test::push_user_events(*pbxs[0], 0, 20);
    CHECK(r.read_until([&] { return r.user_seqs("pbx0").size() >= 20; }));
  }
  kill(pid, SIGTERM);
  const int status = wait_exit(pid, 10s);
  std::ifstream in(log_path);
  std::stringstream log;
  log << in.rdbuf();
  std::error_code ignored;
  std::filesystem::remove_all(log_dir, ignored);
  INFO(log.str());
  REQUIRE(started);
  CHECK(status == 0);
  CHECK(r.user_seqs("pbx0") == ami::test::iota(0, 20));
  CHECK(log.str().find("pbx pbx0: up, session") != std::string::npos);
  CHECK(log.str().find(": drained, releasing the leases") != std::string::npos);
  // The stop is in the stream too: the session's gap marker and the last state.
  CHECK(r.read_until([&] {
    return !r.all.empty() && r.all.back().kind == "state" &&
           ami::test::text(r.all.back().body, "reason") == "bridge_stopped";
  }));
  // Without a filter every event goes (the login's own ones too): the marker names the last.
  std::uint64_t last_event = 0;
  bool gap = false;
  for (const auto& s : r.all) {
    if (s.kind == "event") last_event = s.seq;
    gap = gap || (s.kind == "gap" && ami::test::text(s.body, "reason") == "bridge_stopped" &&
                  s.body.at("last_seq").to_number<std::uint64_t>() == last_event);
  }
  CHECK(last_event >= 20);
  CHECK(gap);
  // The secret never reaches the log.
  CHECK(log.str().find("amp111") == std::string::npos);
}

#endif
