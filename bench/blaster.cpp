// ami-bench-blaster: a minimal AMI event source for the client benchmarks. It sends the
// banner, accepts any Login and then writes N events (shapes of Newchannel, Newstate,
// Hangup and QueueMemberStatus as recorded from Asterisk, 323 to 373 bytes each) in large
// writes as fast as the socket takes them, while answering Ping with Pong. A Login with
// "Events: off" gets no events (for the Ping benchmarks). Plain POSIX sockets, one thread
// per connection.
//
//   ami-bench-blaster --port P --events N [--clients C] [--address A] [--mix standard|hangup]
//
// Prints "blaster port=P" once listening (P is the chosen port with --port 0). Serves C
// connections (default 1; 0 = until killed), then exits.
#include "blaster_events.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

// Events are taken from a pre-built ring of distinct events (blaster_events.hpp), copied into
// the output buffer a chunk at a time.
constexpr std::size_t chunk_bytes = 256 * 1024;  // refill size, and the size of one write
constexpr std::size_t refill_below = 64 * 1024;  // unsent bytes under which we refill

using ami_bench::build_ring;
using ami_bench::event_ring;

// Case-insensitive "Key: value" lookup inside one message (without its final empty line).
std::string_view field(std::string_view msg, std::string_view key) {
  std::size_t pos = 0;
  while (pos < msg.size()) {
    std::size_t eol = msg.find('\n', pos);
    if (eol == std::string_view::npos) eol = msg.size();
    std::string_view line = msg.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::size_t colon = line.find(':');
    if (colon == key.size() && std::equal(key.begin(), key.end(), line.begin(), [](char a, char b) {
          return (a | 0x20) == (b | 0x20);
        })) {
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      return v;
    }
    pos = eol + 1;
  }
  return {};
}

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

class connection {
 public:
  connection(int fd, const event_ring& ring, std::uint64_t events)
      : fd_(fd), ring_(ring), remaining_(events) {}

  void serve() {
    out_ = "Asterisk Call Manager/9.0.0\r\n";
    std::vector<char> in(64 * 1024);
    std::string pending_in;
    bool closing = false;
    for (;;) {
      if (streaming_ && out_.size() - out_off_ < refill_below) refill();
      const bool want_write = out_off_ < out_.size();
      if (closing && !want_write) break;
      pollfd p{fd_, static_cast<short>(POLLIN | (want_write ? POLLOUT : 0)), 0};
      if (::poll(&p, 1, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if ((p.revents & (POLLERR | POLLNVAL)) != 0) break;
      if ((p.revents & POLLOUT) != 0 && !write_some()) break;
      if ((p.revents & (POLLIN | POLLHUP)) != 0) {
        const ssize_t n = ::recv(fd_, in.data(), in.size(), MSG_DONTWAIT);
        if (n == 0) break;  // the client closed
        if (n < 0) {
          if (errno == EAGAIN || errno == EINTR) continue;
          break;
        }
        pending_in.append(in.data(), static_cast<std::size_t>(n));
        std::size_t end;
        while ((end = pending_in.find("\r\n\r\n")) != std::string::npos) {
          closing = handle(std::string_view(pending_in).substr(0, end + 2)) || closing;
          pending_in.erase(0, end + 4);
        }
      }
    }
    ::close(fd_);
  }

 private:
  // Answers one action; true when the connection should close after the answer.
  bool handle(std::string_view msg) {
    const std::string_view action = field(msg, "Action");
    const std::string_view id = field(msg, "ActionID");
    std::string r;
    const auto respond = [&](const char* status, const std::string& rest) {
      r = std::string("Response: ") + status + "\r\n";
      if (!id.empty()) r.append("ActionID: ").append(id).append("\r\n");
      r += rest + "\r\n";
    };
    bool close_after = false;
    if (iequal(action, "Ping")) {
      respond("Success", "Ping: Pong\r\nTimestamp: 1795662580.000000\r\n");
    } else if (iequal(action, "Login")) {
      respond("Success", "Message: Authentication accepted\r\n");
      streaming_ = !iequal(field(msg, "Events"), "off");
    } else if (iequal(action, "Logoff")) {
      respond("Goodbye", "Message: Thanks for all the fish.\r\n");
      close_after = true;
      streaming_ = false;
    } else {
      respond("Error", "Message: Invalid/unknown command\r\n");
    }
    out_ += r;
    return close_after;
  }

  // Appends the next events (up to one chunk) to the output.
  void refill() {
    if (out_off_ > 0) {
      out_.erase(0, out_off_);
      out_off_ = 0;
    }
    std::size_t added = 0;
    while (remaining_ > 0 && added < chunk_bytes) {
      const std::size_t begin = next_ == 0 ? 0 : ring_.ends[next_ - 1];
      // As many whole events as fit, without wrapping around the ring.
      std::size_t last = next_;
      while (last < ring_.ends.size() && last - next_ < remaining_ &&
             ring_.ends[last] - begin <= chunk_bytes - added) {
        ++last;
      }
      if (last == next_) ++last;  // always at least one
      const std::size_t end = ring_.ends[last - 1];
      out_.append(ring_.bytes, begin, end - begin);
      added += end - begin;
      remaining_ -= last - next_;
      next_ = last == ring_.ends.size() ? 0 : last;
    }
    if (remaining_ == 0) streaming_ = false;
  }

  bool write_some() {
    const ssize_t n =
        ::send(fd_, out_.data() + out_off_, out_.size() - out_off_, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    out_off_ += static_cast<std::size_t>(n);
    if (out_off_ == out_.size()) {
      out_.clear();
      out_off_ = 0;
    }
    return true;
  }

  int fd_;
  const event_ring& ring_;
  std::uint64_t remaining_;
  std::size_t next_ = 0;  // next event of the ring
  bool streaming_ = false;
  std::string out_;
  std::size_t out_off_ = 0;
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: ami-bench-blaster --port P --events N [--clients C] [--address A] "
               "[--mix standard|hangup]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string address = "127.0.0.1";
  long port = -1;
  unsigned long long events = 0;
  long clients = 1;
  auto mix = ami_bench::event_mix::standard;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) usage();
    if (a == "--port") {
      port = std::strtol(argv[++i], nullptr, 10);
    } else if (a == "--events") {
      events = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--clients") {
      clients = std::strtol(argv[++i], nullptr, 10);
    } else if (a == "--address") {
      address = argv[++i];
    } else if (a == "--mix") {
      const std::string_view m = argv[++i];
      if (m == "hangup") {
        mix = ami_bench::event_mix::hangup;
      } else if (m != "standard") {
        usage();
      }
    } else {
      usage();
    }
  }
  if (port < 0 || port > 65535 || clients < 0) usage();
  ::signal(SIGPIPE, SIG_IGN);

  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1) usage();
  if (::bind(listener, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::listen(listener, 16) != 0) {
    std::perror("ami-bench-blaster: bind/listen");
    return 1;
  }
  socklen_t len = sizeof sa;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&sa), &len);
  std::printf("blaster port=%u\n", static_cast<unsigned>(ntohs(sa.sin_port)));
  std::fflush(stdout);

  const event_ring ring = build_ring(mix);
  std::vector<std::thread> threads;
  for (long served = 0; clients == 0 || served < clients; ++served) {
    const int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) {
      if (errno == EINTR) continue;
      std::perror("ami-bench-blaster: accept");
      break;
    }
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    threads.emplace_back([fd, &ring, events] { connection(fd, ring, events).serve(); });
  }
  for (auto& t : threads) t.join();
  ::close(listener);
  return 0;
}
