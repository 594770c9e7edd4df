// ami-bench-raw-events: the floor for event delivery. A plain blocking socket: send a Login,
// then read() into a 64 KiB buffer and count message ends ("\r\n\r\n") until N events were
// seen. No parsing, no dispatch: what the kernel and one memmem pass cost. Written C-style
// on purpose.
//
//   ami-bench-raw-events --host H --port P --events N
//
// Prints: events=N seconds=S events_per_sec=R cpu_seconds=C events_per_cpu_sec=E
//         peak_rss_kib=K
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

double now_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

int connect_to(const char* host, int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<unsigned short>(port));
  if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
      connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    perror("ami-bench-raw-events: connect");
    exit(1);
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = write(fd, p, n);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const char* host = "127.0.0.1";
  int port = 0;
  unsigned long long target = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--host") == 0) {
      host = argv[i + 1];
    } else if (strcmp(argv[i], "--port") == 0) {
      port = atoi(argv[i + 1]);
    } else if (strcmp(argv[i], "--events") == 0) {
      target = strtoull(argv[i + 1], nullptr, 10);
    }
  }
  if (port <= 0 || target == 0) {
    fprintf(stderr, "usage: ami-bench-raw-events --host H --port P --events N\n");
    return 2;
  }

  const int fd = connect_to(host, port);
  const char login[] = "Action: Login\r\nUsername: admin\r\nSecret: bench\r\nActionID: 1\r\n\r\n";
  if (!write_all(fd, login, sizeof login - 1)) return 1;

  // The last bytes of the previous read (at most 3, none of a counted end) stay in front of
  // the new ones, so that a "\r\n\r\n" split across two reads is still found.
  static char buf[3 + 64 * 1024];
  size_t carried = 0;
  unsigned long long ends = 0;  // the first one ends the Login response, then events
  double first = 0, last = 0, cpu_first = 0;
  while (ends < target + 1) {
    const ssize_t n = read(fd, buf + carried, sizeof buf - carried);
    if (n <= 0) {
      fprintf(stderr, "ami-bench-raw-events: connection ended after %llu events\n",
              ends > 0 ? ends - 1 : 0);
      return 1;
    }
    const size_t len = carried + static_cast<size_t>(n);
    const char* p = buf;
    const char* end = buf + len;
    while (ends < target + 1) {
      const void* hit = memmem(p, static_cast<size_t>(end - p), "\r\n\r\n", 4);
      if (hit == nullptr) break;
      p = static_cast<const char*>(hit) + 4;
      if (++ends == 2) {
        first = now_seconds();
        cpu_first = cpu_seconds();
      }
    }
    // Keep up to 3 bytes that are not part of a counted end.
    const size_t tail = static_cast<size_t>(end - p);
    carried = tail < 3 ? tail : 3;
    memmove(buf, end - carried, carried);
  }
  last = now_seconds();
  const double cpu = cpu_seconds() - cpu_first;
  close(fd);

  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double seconds = last - first;
  printf(
      "events=%llu seconds=%.4f events_per_sec=%.0f cpu_seconds=%.4f events_per_cpu_sec=%.0f "
      "peak_rss_kib=%ld\n",
      target, seconds, seconds > 0 ? static_cast<double>(target) / seconds : 0.0, cpu,
      cpu > 0 ? static_cast<double>(target) / cpu : 0.0, ru.ru_maxrss);
  return 0;
}
