// The flat table of pending actions, checked against std::map.
#include "ami/detail/pending_table.hpp"

#include <doctest/doctest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

using ami::detail::pending_table;

namespace {

std::vector<std::uint64_t> keys(pending_table<std::string>& t) {
  std::vector<std::uint64_t> out;
  t.for_each([&](std::uint64_t n, std::string&) { out.push_back(n); });
  return out;
}

}  // namespace

TEST_CASE("insert, find, erase in and out of order") {
  pending_table<std::string> t;
  CHECK(t.empty());
  for (std::uint64_t n = 1; n <= 5; ++n) t.insert(n, std::to_string(n));
  CHECK(t.size() == 5);
  REQUIRE(t.find(3) != nullptr);
  CHECK(*t.find(3) == "3");
  CHECK(t.find(6) == nullptr);
  CHECK(t.find(0) == nullptr);
  CHECK(t.erase(4));
  CHECK_FALSE(t.erase(4));
  CHECK(t.erase(1));  // the front: the window moves on
  CHECK(t.window() == 4);
  CHECK(keys(t) == std::vector<std::uint64_t>{2, 3, 5});
  CHECK(t.erase(5));
  CHECK(t.erase(3));
  CHECK(t.erase(2));
  CHECK(t.empty());
  CHECK(t.window() == 0);
}

TEST_CASE("counters reserved out of order still fit") {
  pending_table<std::string> t;
  t.insert(10, "10");
  t.insert(12, "12");
  t.insert(11, "11");  // a thread that reserved 11 arrived after 12
  t.erase(10);
  t.insert(9, "9");  // below the window: kept aside
  CHECK(t.spilled() == 1);
  CHECK(keys(t) == std::vector<std::uint64_t>{9, 11, 12});
  REQUIRE(t.find(9) != nullptr);
  CHECK(t.erase(9));
  CHECK(t.find(9) == nullptr);
}

TEST_CASE("a straggler does not make the ring grow without bound") {
  pending_table<std::string> t;
  t.insert(1, "straggler");
  for (std::uint64_t n = 2; n < 100000; ++n) {
    t.insert(n, "x");
    t.erase(n);
  }
  CHECK(t.window() <= 16);
  CHECK(t.spilled() == 1);
  REQUIRE(t.find(1) != nullptr);
  CHECK(*t.find(1) == "straggler");
  CHECK(t.size() == 1);
}

TEST_CASE("a big jump in counters restarts the ring") {
  pending_table<std::string> t;
  t.insert(1, "a");
  t.insert(1000000, "b");
  CHECK(t.window() == 1);
  CHECK(t.spilled() == 1);
  CHECK(keys(t) == std::vector<std::uint64_t>{1, 1000000});
}

TEST_CASE("random operations agree with std::map") {
  std::mt19937 rng(42);
  pending_table<std::string> t;
  std::map<std::uint64_t, std::string> model;
  std::uint64_t next = 1;
  int mismatches = 0;
  for (int step = 0; step < 200000; ++step) {
    const auto op = rng() % 10;
    if (op < 5 || model.empty()) {
      const std::uint64_t n = next++;
      if (rng() % 50 == 0) continue;  // reserved and never used
      t.insert(n, std::to_string(n));
      model.emplace(n, std::to_string(n));
    } else {
      // Mostly the oldest entries complete, sometimes a random one.
      auto it = model.begin();
      const auto skip =
          rng() % 8 == 0 ? rng() % model.size() : rng() % std::min<std::size_t>(4, model.size());
      std::advance(it, static_cast<long>(skip));
      if (!t.erase(it->first)) ++mismatches;
      model.erase(it);
    }
    if (step % 997 == 0) {
      if (t.size() != model.size()) ++mismatches;
      for (const auto& [n, v] : model) {
        const auto* found = t.find(n);
        if (found == nullptr || *found != v) ++mismatches;
      }
      std::vector<std::uint64_t> want;
      for (const auto& kv : model) want.push_back(kv.first);
      if (keys(t) != want) ++mismatches;
    }
  }
  CHECK(mismatches == 0);
  CHECK(t.size() == model.size());
}
