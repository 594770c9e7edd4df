// A real nats-server (Debian's /usr/sbin/nats-server) for the bridge tests: JetStream on a
// free loopback port with a temporary store, started as a child process, ready once its log
// says so (read through a pipe, with a deadline), stopped or killed by its pid. restart()
// brings it back on the same port and store.
#pragma once

#include "../support/temp_dir.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace ami::test {

class nats_server {
 public:
  nats_server() {
    dir_ = make_temp_dir("ami-bridge-nats");
    // Another process may take the port between the check and the server's bind: try
    // another one then.
    for (int attempt = 0;; ++attempt) {
      port_ = free_port();
      try {
        start();
        return;
      } catch (const std::runtime_error&) {
        if (attempt == 9 || log_.find("address already in use") == std::string::npos) throw;
      }
    }
  }
  ~nats_server() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  nats_server(const nats_server&) = delete;
  nats_server& operator=(const nats_server&) = delete;

  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  unsigned short port() const { return port_; }
  bool running() const { return pid_ > 0; }

  // Starts the server and waits (up to 10 s) until it is ready for clients.
  void start() {
    if (pid_ > 0) return;
    int fds[2];
    // Close-on-exec: no other child (a later nats-server, a simulated PBX) inherits them.
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    std::string port = std::to_string(port_);
    // posix_spawn rather than fork: the test process has threads.
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
    std::string prog = "/usr/sbin/nats-server", js = "-js", a = "-a", host = "127.0.0.1", p = "-p",
                sd = "-sd";
    std::vector<char*> argv{prog.data(), js.data(), a.data(),    host.data(), p.data(),
                            port.data(), sd.data(), dir_.data(), nullptr};
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, prog.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (rc != 0) {
      close(fds[0]);
      throw std::runtime_error("cannot start /usr/sbin/nats-server");
    }
    pid_ = pid;
    if (!wait_ready(fds[0], std::chrono::seconds(10))) {
      close(fds[0]);
      kill_now();
      throw std::runtime_error("nats-server did not become ready: " + log_);
    }
    // The rest of its log is read and dropped, so that it never blocks on a full pipe.
    drain_ = std::thread([fd = fds[0]] {
      char buf[4096];
      while (read(fd, buf, sizeof buf) > 0) {
      }
      close(fd);
    });
  }

  // SIGTERM and wait for the process: a clean shutdown, the store flushed.
  void stop() { end(SIGTERM); }
  // SIGKILL: as a crash; the store keeps what reached the disk.
  void kill_now() { end(SIGKILL); }

 private:
  void end(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    if (drain_.joinable()) drain_.join();  // the pipe closes with the process
  }

  bool wait_ready(int fd, std::chrono::milliseconds deadline) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    char buf[4096];
    log_.clear();
    while (log_.find("Server is ready") == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      const ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) return false;
      log_.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }

  // A port below Linux's ephemeral range (32768 and up), so that the outgoing connections
  // of the tests themselves cannot be given it meanwhile; free when checked.
  static unsigned short free_port() {
    std::random_device rd;
    for (int i = 0; i < 100; ++i) {
      const auto port = static_cast<unsigned short>(20000 + rd() % 12000);
      const int s = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(port);
      const bool ok = bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      close(s);
      if (ok) return port;
    }
    throw std::runtime_error("no free port");
  }

  std::string dir_;
  unsigned short port_ = 0;
  pid_t pid_ = -1;
  std::string log_;
  std::thread drain_;
};

}  // namespace ami::test
