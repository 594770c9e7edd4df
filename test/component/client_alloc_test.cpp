// The event path allocates nothing per event: events are views into the read buffer and
// signals fire without building anything. Counts operator new calls on the client's thread.
#include "client_support.hpp"

#include <cstdlib>
#include <new>

// Sanitizer runtimes bring their own operator new: count only without them.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define AMI_COUNT_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define AMI_COUNT_ALLOCATIONS 0
#endif
#endif
#ifndef AMI_COUNT_ALLOCATIONS
#define AMI_COUNT_ALLOCATIONS 1
#endif

namespace {
thread_local bool counting = false;
thread_local std::size_t allocations = 0;
}  // namespace

#if AMI_COUNT_ALLOCATIONS
// g++ pairs the inlined malloc with library code's delete and warns; they do match here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t n) {
  if (counting) ++allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif

using namespace std::chrono_literals;
using ami::test::client_fixture;

namespace {

struct newstate {
  static constexpr std::string_view event_name = "Newstate";
  std::string_view channel;
  static newstate from(const ami::event& e) { return {e.get_or("Channel")}; }
};

// Runs the io_context until `done`, counting allocations on this thread meanwhile.
std::size_t count_until(boost::asio::io_context& io, const bool& done) {
  auto guard = boost::asio::make_work_guard(io);
  const auto end = std::chrono::steady_clock::now() + 10s;
  io.restart();
  allocations = 0;
  counting = true;
  while (!done && std::chrono::steady_clock::now() < end) io.run_one_for(20ms);
  counting = false;
  return allocations;
}

void push_burst(ami::testing::server& srv, int n) {
  srv.stall(true);
  for (int i = 0; i < n; ++i) {
    srv.push_event({{"Event", i % 2 == 0 ? "Newstate" : "QueueMemberStatus"},
                    {"Privilege", "call,all"},
                    {"Channel", "PJSIP/" + std::to_string(i)},
                    {"ChannelState", "6"},
                    {"Uniqueid", "1795662580." + std::to_string(i)}});
  }
  srv.push_event({{"Event", "Marker"}, {"Privilege", "call,all"}});
  srv.stall(false);
}

}  // namespace

TEST_SUITE("client") {
  TEST_CASE("delivering events allocates nothing per event") {
    client_fixture f;
    f.connect_ok();
    std::size_t all = 0, by_name = 0, by_glob = 0, typed = 0, unused = 0;
    bool marker = false;
    auto s1 = f.c.on_event([&](const ami::event&) { ++all; });
    auto s2 = f.c.on_event("newstate", [&](const ami::event&) { ++by_name; });
    auto s3 = f.c.on_event("Queue*", [&](const ami::event&) { ++by_glob; });
    auto s4 = f.c.on<newstate>([&](const newstate& e) {
      if (!e.channel.empty()) ++typed;
    });
    auto s5 = f.c.on_event("NeverSent", [&](const ami::event&) { ++unused; });
    auto s6 = f.c.on_event("Marker", [&](const ami::event&) { marker = true; });
    push_burst(f.srv, 200);  // warm-up: buffers reach their working size
    count_until(f.io, marker);
    REQUIRE(marker);
    marker = false;
    push_burst(f.srv, 4000);
    const auto n = count_until(f.io, marker);
    REQUIRE(marker);
    if (AMI_COUNT_ALLOCATIONS) {
      MESSAGE("allocations while delivering 4000 events: " << n);
      CHECK(n < 16);  // a few at most (a timer, a buffer), never one per event
    }
    CHECK(by_name == 2100);
    CHECK(by_glob == 2100);
    CHECK(typed == 2100);
    CHECK(unused == 0);
    CHECK(all >= 4200);
  }

}  // TEST_SUITE
