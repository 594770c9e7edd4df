// The simulated PBX (ami::testing::server) in a child process, for the benchmarks whose
// memory figures must be the client's alone. The child is forked before this process creates
// any thread, so it starts clean; the two talk over two pipes, one line per command and per
// answer. What the commands are is up to each benchmark; the handshake (the child announces
// its port), "rss" and the shutdown at EOF are the same for all.
#pragma once

#include "process_stats.hpp"

#include "ami/testing/server.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ami_bench {

struct pbx_process {
  const char* program = "";  // this benchmark's name, for its error messages
  pid_t pid = -1;
  int commands = -1;  // written by this process
  int replies = -1;   // read by this process
  unsigned short port = 0;
};

[[noreturn]] inline void pbx_failure(const char* program, const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", program, what.c_str());
  std::exit(1);
}

// Blocking read of one answer line, without its '\n'; empty at EOF.
inline std::string read_line(int fd) {
  std::string s;
  char c = 0;
  while (::read(fd, &c, 1) == 1 && c != '\n') s += c;
  return s;
}

inline void send_command(const pbx_process& p, const std::string& cmd) {
  const std::string line = cmd + "\n";
  if (::write(p.commands, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    pbx_failure(p.program, "cannot talk to the simulated PBX");
  }
}

// The child's side: starts `srv` (configured by the caller), announces "port P", then reads
// commands until EOF. "rss" is answered here ("rss BYTES": the child's VmRSS); any other line
// goes to `handle(line, out)`, which writes its answer to `out`. Exits without returning, so
// nothing of the parent's state (atexit handlers, stdio buffers) runs twice.
template <class Handler>
[[noreturn]] void serve_commands(ami::testing::server& srv, int commands, int replies,
                                 Handler handle) {
  srv.start();
  FILE* in = ::fdopen(commands, "r");
  FILE* out = ::fdopen(replies, "w");
  if (in == nullptr || out == nullptr) std::_Exit(1);
  std::fprintf(out, "port %u\n", static_cast<unsigned>(srv.port()));
  std::fflush(out);
  char line[128];
  while (std::fgets(line, sizeof line, in) != nullptr) {
    if (std::string_view(line).compare(0, 3, "rss") == 0) {
      std::fprintf(out, "rss %lld\n", status_bytes("VmRSS"));
    } else {
      handle(line, out);
    }
    std::fflush(out);
  }
  srv.stop();
  std::_Exit(0);
}

// Forks the child, which runs `child(commands, replies)` (it sets up a server and calls
// serve_commands), and waits for the port it announces.
template <class Child>
pbx_process spawn_pbx(const char* program, Child child) {
  ::signal(SIGPIPE, SIG_IGN);  // a child gone away is a failed write, not the end of this one
  int to_child[2];
  int from_child[2];
  if (::pipe(to_child) != 0 || ::pipe(from_child) != 0) pbx_failure(program, "pipe failed");
  std::fflush(stdout);
  const pid_t pid = ::fork();
  if (pid < 0) pbx_failure(program, "fork failed");
  if (pid == 0) {
    ::close(to_child[1]);
    ::close(from_child[0]);
    child(to_child[0], from_child[1]);
    std::_Exit(1);  // serve_commands exits by itself
  }
  ::close(to_child[0]);
  ::close(from_child[1]);
  pbx_process p;
  p.program = program;
  p.pid = pid;
  p.commands = to_child[1];
  p.replies = from_child[0];
  const auto line = read_line(p.replies);
  if (line.compare(0, 5, "port ") != 0) pbx_failure(program, "the simulated PBX did not start");
  p.port = static_cast<unsigned short>(std::atoi(line.c_str() + 5));
  return p;
}

// EOF on the commands: the child stops its server and exits; waits for it.
inline void stop_pbx(const pbx_process& p) {
  ::close(p.commands);
  int status = 0;
  ::waitpid(p.pid, &status, 0);
}

}  // namespace ami_bench
