// Parser throughput on realistic streams, parsed from memory in 64 KiB reads through
// prepare()/commit() as a socket read loop does: the server captures of test/data
// concatenated and repeated to about 8 MiB (the banner only once), and the events
// ami-bench-blaster sends (blaster_events.hpp) repeated to the same size. Reported per run:
// bytes/s, messages/s (items) and heap allocations per message in steady state. A plain
// memchr scan for message ends over the same bytes gives the baseline.
#include "blaster_events.hpp"

#include "ami/message.hpp"
#include "ami/proto/parser.hpp"

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

std::atomic<std::size_t> allocations{0};

constexpr std::size_t read_size = 64 * 1024;
constexpr std::size_t stream_size = 8 * 1024 * 1024;

std::string read_capture(const char* name) {
  const std::string path = std::string(AMI_BENCH_DATA_DIR) + "/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The captures without their banner line.
std::string without_banner(const std::string& capture) {
  const auto nl = capture.find('\n');
  const auto colon = capture.find(':');
  if (nl == std::string::npos || (colon != std::string::npos && colon < nl)) return capture;
  return capture.substr(nl + 1);
}

const std::string& stream() {
  static const std::string bytes = [] {
    const std::string first = read_capture("session1.raw");
    const std::string banner = first.substr(0, first.find('\n') + 1);
    std::string body;
    for (const char* name :
         {"session1.raw", "session18.raw", "errors_permission.raw", "errors_badlogin.raw"}) {
      body += without_banner(read_capture(name));
    }
    std::string out = banner;
    out.reserve(stream_size + body.size());
    while (out.size() < stream_size) out += body;
    return out;
  }();
  return bytes;
}

// The blaster's events behind the same banner, repeated to about 8 MiB.
const std::string& event_stream() {
  static const std::string bytes = [] {
    const std::string first = read_capture("session1.raw");
    std::string out = first.substr(0, first.find('\n') + 1);
    const std::string ring = ami_bench::build_ring().bytes;
    out.reserve(stream_size + ring.size());
    while (out.size() < stream_size) out += ring;
    return out;
  }();
  return bytes;
}

// Message ends ("\r\n\r\n") in the stream, by the plainest scan: memchr for each '\n'.
std::size_t count_message_ends(std::string_view bytes) {
  std::size_t count = 0;
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  while (p < end) {
    const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
    if (nl == nullptr) break;
    p = static_cast<const char*>(nl) + 1;
    if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
      ++count;
      p += 2;
    }
  }
  return count;
}

// Feeds `bytes` to the parser in reads of 64 KiB and pulls every message, reading a field
// of each; returns the messages, or 0 on an error.
std::size_t parse_pass(ami::proto::parser& p, ami::message& m, std::string_view bytes,
                       std::size_t& sink) {
  std::size_t messages = 0;
  for (std::size_t pos = 0; pos < bytes.size(); pos += read_size) {
    const std::size_t n = std::min(read_size, bytes.size() - pos);
    std::memcpy(p.prepare(read_size), bytes.data() + pos, n);
    p.commit(n);
    for (;;) {
      const auto r = p.next(m);
      if (r.status == ami::proto::parse_status::need_more) break;
      if (r.status == ami::proto::parse_status::error) return 0;
      ++messages;
      sink += m.event_name().size() + m.size();
    }
  }
  return p.finish() ? 0 : messages;
}

// One long connection: the first pass (banner included) warms the buffers up, then each
// iteration streams the same messages again, so allocations counted are steady-state ones.
void run_parser(benchmark::State& state, const std::string& bytes) {
  const std::string_view after_banner = std::string_view(bytes).substr(bytes.find('\n') + 1);
  const std::size_t expected = count_message_ends(bytes);
  ami::proto::parser p;
  ami::message m;
  std::size_t sink = 0;
  if (parse_pass(p, m, bytes, sink) != expected + 1) {  // + the banner
    state.SkipWithError("the stream did not parse into the expected messages");
    return;
  }
  std::size_t messages = 0;
  const std::size_t allocations_before = allocations.load();
  for (auto _ : state) {
    const std::size_t n = parse_pass(p, m, after_banner, sink);
    if (n != expected) {
      state.SkipWithError("the stream did not parse into the expected messages");
      return;
    }
    messages += n;
  }
  const std::size_t allocated = allocations.load() - allocations_before;
  benchmark::DoNotOptimize(sink);
  state.SetBytesProcessed(static_cast<std::int64_t>(after_banner.size()) * state.iterations());
  state.SetItemsProcessed(static_cast<std::int64_t>(messages));
  state.counters["allocs_per_msg"] =
      static_cast<double>(allocated) / static_cast<double>(messages == 0 ? 1 : messages);
}

void parser_stream(benchmark::State& state) { run_parser(state, stream()); }
BENCHMARK(parser_stream)->Unit(benchmark::kMillisecond);

void parser_events(benchmark::State& state) { run_parser(state, event_stream()); }
BENCHMARK(parser_events)->Unit(benchmark::kMillisecond);

void run_baseline(benchmark::State& state, const std::string& bytes) {
  std::size_t messages = 0;
  for (auto _ : state) {
    const std::size_t n = count_message_ends(bytes);
    benchmark::DoNotOptimize(n);
    messages += n;
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes.size()) * state.iterations());
  state.SetItemsProcessed(static_cast<std::int64_t>(messages));
}

void baseline_memchr(benchmark::State& state) { run_baseline(state, stream()); }
BENCHMARK(baseline_memchr)->Unit(benchmark::kMillisecond);

void baseline_memchr_events(benchmark::State& state) { run_baseline(state, event_stream()); }
BENCHMARK(baseline_memchr_events)->Unit(benchmark::kMillisecond);

}  // namespace

// Counting replacements of the global allocation functions (the array and nothrow forms
// call these). g++ flags free() inside a replacement operator delete as a mismatch, which it
// is not: the matching operator new above got the memory from malloc().
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

BENCHMARK_MAIN();
