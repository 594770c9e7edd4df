// ami-bench-raw-ping: the floor for Ping round trips. A plain blocking socket: write a Ping,
// read until its response ends ("\r\n\r\n"); pipelined, write W Pings and write one more for
// each response until M were answered. Written C-style on purpose.
//
//   ami-bench-raw-ping --host H --port P --pings-seq N --pings-pipe M --window W
//
// Prints: ping_seq n=N p50_us=X p99_us=Y
//         ping_pipe n=M window=W seconds=S pings_per_sec=R cpu_us_per_ping=C
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

double now_us() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) * 1e-3;
}

int fd = -1;
char buf[3 + 64 * 1024];
size_t carried = 0;

bool write_all(const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = write(fd, p, n);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Reads once and returns how many message ends arrived (a "\r\n\r\n" split across reads
// counts once); -1 when the connection ended.
long read_ends() {
  const ssize_t n = read(fd, buf + carried, sizeof buf - carried);
  if (n <= 0) return -1;
  const size_t len = carried + static_cast<size_t>(n);
  long ends = 0;
  const char* p = buf;
  const char* end = buf + len;
  for (;;) {
    const void* hit = memmem(p, static_cast<size_t>(end - p), "\r\n\r\n", 4);
    if (hit == nullptr) break;
    p = static_cast<const char*>(hit) + 4;
    ++ends;
  }
  // Keep up to 3 bytes that are not part of a counted end.
  const size_t tail = static_cast<size_t>(end - p);
  carried = tail < 3 ? tail : 3;
  memmove(buf, end - carried, carried);
  return ends;
}

// "Action: Ping\r\nActionID: <n>\r\n\r\n"
size_t format_ping(char* out, unsigned long long id) {
  return static_cast<size_t>(sprintf(out, "Action: Ping\r\nActionID: %llu\r\n\r\n", id));
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

double percentile(std::vector<double>& v, double p) {
  const size_t k = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  const char* host = "127.0.0.1";
  int port = 0;
  unsigned long long seq_n = 0, pipe_n = 0, window = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--host") == 0)
      host = argv[i + 1];
    else if (strcmp(argv[i], "--port") == 0)
      port = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--pings-seq") == 0)
      seq_n = strtoull(argv[i + 1], nullptr, 10);
    else if (strcmp(argv[i], "--pings-pipe") == 0)
      pipe_n = strtoull(argv[i + 1], nullptr, 10);
    else if (strcmp(argv[i], "--window") == 0)
      window = strtoull(argv[i + 1], nullptr, 10);
  }
  if (port <= 0 || window == 0) {
    fprintf(
        stderr,
        "usage: ami-bench-raw-ping --host H --port P --pings-seq N --pings-pipe M --window W\n");
    return 2;
  }

  fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<unsigned short>(port));
  if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
      connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    perror("ami-bench-raw-ping: connect");
    return 1;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  const char login[] =
      "Action: Login\r\nUsername: admin\r\nSecret: bench\r\nEvents: off\r\nActionID: 0\r\n\r\n";
  if (!write_all(login, sizeof login - 1)) return 1;
  for (long got = 0; got < 1;) {
    const long e = read_ends();
    if (e < 0) return 1;
    got += e;
  }

  char msg[64 * 64];
  unsigned long long id = 1;
  if (seq_n > 0) {
    const unsigned long long warmup = std::max(100ULL, seq_n / 100);
    std::vector<double> lat;
    lat.reserve(seq_n);
    for (unsigned long long i = 0; i < seq_n + warmup; ++i) {
      const double t0 = now_us();
      if (!write_all(msg, format_ping(msg, id++))) return 1;
      for (long got = 0; got < 1;) {
        const long e = read_ends();
        if (e < 0) return 1;
        got += e;
      }
      if (i >= warmup) lat.push_back(now_us() - t0);
    }
    const double p50 = percentile(lat, 0.50);
    const double p99 = percentile(lat, 0.99);
    printf("ping_seq n=%zu p50_us=%.1f p99_us=%.1f\n", lat.size(), p50, p99);
  }

  if (pipe_n > 0) {
    const double t0 = now_us();
    const double cpu0 = cpu_seconds();
    unsigned long long sent = 0, answered = 0;
    const auto send_more = [&](unsigned long long k) {
      size_t len = 0;
      for (; k > 0 && sent < pipe_n; --k, ++sent) {
        len += format_ping(msg + len, id++);
        if (len > sizeof msg - 64) {
          if (!write_all(msg, len)) return false;
          len = 0;
        }
      }
      return len == 0 || write_all(msg, len);
    };
    if (!send_more(window)) return 1;
    while (answered < pipe_n) {
      const long e = read_ends();
      if (e < 0) return 1;
      answered += static_cast<unsigned long long>(e);
      if (!send_more(static_cast<unsigned long long>(e))) return 1;
    }
    const double seconds = (now_us() - t0) * 1e-6;
    const double cpu = cpu_seconds() - cpu0;
    printf("ping_pipe n=%llu window=%llu seconds=%.4f pings_per_sec=%.0f cpu_us_per_ping=%.2f\n",
           answered, window, seconds, static_cast<double>(answered) / seconds,
           cpu * 1e6 / static_cast<double>(answered));
  }
  close(fd);
  return 0;
}
