// ActionIDs: a per-client prefix and a counter, parsed back without hashing.
#include "ami/detail/action_id.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

using ami::detail::action_ids;

TEST_CASE("each generator gets its own prefix ami<N>-") {
  action_ids a;
  action_ids b;
  CHECK(a.prefix() != b.prefix());
  CHECK(a.prefix().rfind("ami", 0) == 0);
  CHECK(a.prefix().back() == '-');
  CHECK_FALSE(b.parse(a.format(1)).has_value());  // one client never claims another's ids
}

TEST_CASE("counters start at 1 and format as prefix + decimal") {
  action_ids ids("x-");
  CHECK(ids.reserve() == 1);
  CHECK(ids.reserve() == 2);
  CHECK(ids.format(1) == "x-1");
  CHECK(ids.format(18446744073709551615ULL) == "x-18446744073709551615");
  std::string out = "pre";
  ids.format(907, out);
  CHECK(out == "prex-907");
}

TEST_CASE("parse accepts exactly what format makes") {
  action_ids ids("ami7-");
  for (std::uint64_t n : {1ULL, 9ULL, 10ULL, 12345ULL, 18446744073709551615ULL}) {
    CAPTURE(n);
    CHECK(ids.parse(ids.format(n)) == n);
  }
  CHECK_FALSE(ids.parse("ami7-").has_value());
  CHECK_FALSE(ids.parse("ami7-0").has_value());
  CHECK_FALSE(ids.parse("ami7-01").has_value());
  CHECK_FALSE(ids.parse("ami7-1x").has_value());
  CHECK_FALSE(ids.parse("ami7-+1").has_value());
  CHECK_FALSE(ids.parse("ami70-1").has_value());
  CHECK_FALSE(ids.parse("AMI7-1").has_value());
  CHECK_FALSE(ids.parse("ami7-18446744073709551616").has_value());  // overflow
  CHECK_FALSE(ids.parse("ami7-111111111111111111111").has_value());
  CHECK_FALSE(ids.parse("").has_value());
  CHECK_FALSE(ids.parse("o1").has_value());
}

TEST_CASE("an empty prefix makes plain numbers (as the captures use)") {
  action_ids ids("");
  CHECK(ids.format(5) == "5");
  CHECK(ids.parse("5") == 5U);
  CHECK_FALSE(ids.parse("o1").has_value());
}

TEST_CASE("reserve is safe from several threads and never repeats") {
  action_ids ids("t-");
  std::vector<std::vector<std::uint64_t>> got(4);
  std::vector<std::thread> threads;
  for (auto& g : got) {
    threads.emplace_back([&ids, &g] {
      for (int i = 0; i < 1000; ++i) g.push_back(ids.reserve());
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::uint64_t> all;
  for (const auto& g : got) all.insert(g.begin(), g.end());
  CHECK(all.size() == 4000);
  CHECK(*all.begin() == 1);
  CHECK(*all.rbegin() == 4000);
}
