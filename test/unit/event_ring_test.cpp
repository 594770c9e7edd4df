// The bounded queue of ami::event_dispatcher: each overflow policy, bursts, counters, order,
// owned copies. No threads: the dispatcher adds the locking and the executor.
#include "ami/detail/event_ring.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace {

using ring = ami::detail::event_ring<int>;
using ami::overflow_policy;

// A borrowed event (views into `storage`), as the client's slots receive them.
struct borrowed {
  std::string name;
  std::string seq;
  ami::event ev;
  explicit borrowed(int n) : name("Newstate"), seq(std::to_string(n)) {
    ev.add_field("Event", name);
    ev.add_field("Seq", seq);
  }
};

// Offers events first..last (inclusive), tagged with their number.
std::vector<ring::offer_result> offer_range(ring& r, int first, int last) {
  std::vector<ring::offer_result> out;
  for (int n = first; n <= last; ++n) {
    borrowed b(n);
    out.push_back(r.offer(b.ev, n));
  }
  return out;
}

// Pops everything: the Seq of each event, checked against its tag.
std::vector<int> pop_all(ring& r) {
  std::vector<int> seqs;
  ami::event e;
  int tag = -1;
  while (r.pop(e, tag)) {
    const int seq = std::stoi(std::string(e.get_or("Seq")));
    CHECK(seq == tag);
    seqs.push_back(seq);
  }
  return seqs;
}

std::vector<int> range(int first, int last) {
  std::vector<int> v;
  for (int n = first; n <= last; ++n) v.push_back(n);
  return v;
}

void check_balance(const ami::dispatcher_stats& s) {
  CHECK(s.received == s.delivered + s.dropped + s.discarded + s.queued);
  CHECK(s.high_water <= s.capacity);
}

}  // namespace

TEST_SUITE("event_dispatcher") {
  TEST_CASE("the queue keeps owned copies, in order") {
    ring r(8, overflow_policy::drop_newest);
    {
      borrowed b(1);
      r.offer(b.ev, 1);
      b.seq.assign("99999999");  // the borrowed bytes change: the queued copy must not
    }
    offer_range(r, 2, 3);
    CHECK(r.size() == 3);
    CHECK(pop_all(r) == range(1, 3));
    const auto s = r.stats();
    CHECK(s.received == 3);
    CHECK(s.delivered == 3);
    CHECK(s.dropped == 0);
    CHECK(s.overflows == 0);
    CHECK(s.high_water == 3);
    CHECK(s.queued == 0);
    check_balance(s);
  }

  TEST_CASE("drop_newest keeps the first events of a burst") {
    ring r(4, overflow_policy::drop_newest);
    const auto results = offer_range(r, 1, 10);
    for (int i = 0; i < 4; ++i) {
      CHECK(results[static_cast<std::size_t>(i)].queued);
      CHECK_FALSE(results[static_cast<std::size_t>(i)].dropped);
    }
    CHECK(results[4].burst_started);  // the first drop only
    for (std::size_t i = 4; i < results.size(); ++i) {
      CHECK_FALSE(results[i].queued);
      CHECK(results[i].dropped);
      CHECK(results[i].burst_started == (i == 4));
    }
    const auto s = r.stats();
    CHECK(s.dropped == 6);
    CHECK(s.overflows == 1);
    CHECK(s.queued == 4);
    CHECK(s.high_water == 4);
    check_balance(s);
    CHECK(pop_all(r) == range(1, 4));
  }

  TEST_CASE("drop_oldest keeps the latest events") {
    ring r(4, overflow_policy::drop_oldest);
    const auto results = offer_range(r, 1, 10);
    for (std::size_t i = 0; i < results.size(); ++i) {
      CHECK(results[i].queued);
      CHECK(results[i].dropped == (i >= 4));
      CHECK(results[i].burst_started == (i == 4));
    }
    const auto s = r.stats();
    CHECK(s.dropped == 6);
    CHECK(s.overflows == 1);
    CHECK(s.queued == 4);
    check_balance(s);
    CHECK(pop_all(r) == range(7, 10));
  }

  TEST_CASE("close_connection drops the arriving event, like drop_newest") {
    ring r(2, overflow_policy::close_connection);
    const auto results = offer_range(r, 1, 3);
    CHECK(results[2].dropped);
    CHECK_FALSE(results[2].queued);
    CHECK(results[2].burst_started);
    CHECK(pop_all(r) == range(1, 2));
  }

  TEST_CASE("a burst ends once the queue drained to half; each burst is reported once") {
    ring r(2, overflow_policy::drop_newest);
    offer_range(r, 1, 5);  // burst 1: 3, 4, 5 dropped
    ami::event e;
    int tag = 0;
    REQUIRE(r.pop(e, tag));
    CHECK(tag == 1);
    auto results = offer_range(r, 6, 8);  // 6 fits (1 <= 2 / 2: burst over), 7 starts burst 2
    CHECK(results[0].queued);
    CHECK(results[1].burst_started);
    CHECK_FALSE(results[2].burst_started);
    const auto s = r.stats();
    CHECK(s.overflows == 2);
    CHECK(s.dropped == 5);
    check_balance(s);
    CHECK(pop_all(r) == std::vector<int>{2, 6});
  }

  TEST_CASE("a steady overload is one burst, however long") {
    ring r(10, overflow_policy::drop_newest);
    offer_range(r, 1, 11);  // 11 dropped: burst 1
    ami::event e;
    int tag = 0;
    int unexpected = 0;
    for (int n = 12; n < 1000; n += 2) {  // one out, two in: one fits, one is dropped
      if (!r.pop(e, tag)) ++unexpected;
      const auto results = offer_range(r, n, n + 1);
      if (!results[0].queued || !results[1].dropped || results[1].burst_started) ++unexpected;
    }
    CHECK(unexpected == 0);
    CHECK(r.stats().overflows == 1);
    // The consumer catches up to half the capacity: the next drop starts a new burst.
    for (int i = 0; i < 5; ++i) REQUIRE(r.pop(e, tag));
    CHECK(r.size() == 5);
    const auto results = offer_range(r, 2000, 2005);  // 5 fit, then one drop
    CHECK(results[4].queued);
    CHECK(results[5].burst_started);
    const auto s = r.stats();
    CHECK(s.overflows == 2);
    check_balance(s);
  }

  TEST_CASE("the ring wraps around many times without growing") {
    ring r(3, overflow_policy::drop_oldest);
    std::vector<int> popped;
    std::size_t largest = 0;
    for (int n = 1; n <= 1000; ++n) {
      borrowed b(n);
      r.offer(b.ev, n);
      largest = std::max(largest, r.size());
      if (n % 2 == 0) {
        ami::event e;
        int tag = 0;
        if (r.pop(e, tag)) popped.push_back(tag);
      }
    }
    const auto s = r.stats();
    CHECK(largest == 3);
    CHECK(popped.size() == 500);
    CHECK(s.high_water == 3);
    check_balance(s);
    // Drops happen (two in, one out) but what comes out is always in wire order.
    CHECK(std::is_sorted(popped.begin(), popped.end()));
    CHECK(s.dropped > 0);
  }

  TEST_CASE("discard empties the queue and counts it") {
    ring r(5, overflow_policy::drop_newest);
    offer_range(r, 1, 4);
    ami::event e;
    int tag = 0;
    REQUIRE(r.pop(e, tag));
    r.discard();
    CHECK(r.empty());
    const auto s = r.stats();
    CHECK(s.discarded == 3);
    CHECK(s.delivered == 1);
    check_balance(s);
    CHECK_FALSE(r.pop(e, tag));
    // Still usable afterwards (the dispatcher does not, but the ring stays consistent).
    offer_range(r, 5, 6);
    CHECK(pop_all(r) == range(5, 6));
  }

  TEST_CASE("a capacity of one") {
    ring r(1, overflow_policy::drop_oldest);
    offer_range(r, 1, 3);
    CHECK(pop_all(r) == std::vector<int>{3});
    CHECK(r.stats().dropped == 2);
  }
}
