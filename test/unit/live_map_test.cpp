// The persistent map against std::unordered_map: random operations, snapshots taken along
// the way must keep their contents while the map moves on, with good and with bad hashes.
#include "ami/live/persistent_map.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using ami::live::persistent_map;

// Every key hashes alike: the whole map is one collision list at the bottom of the trie.
struct constant_hash {
  std::size_t operator()(std::string_view) const noexcept { return 42; }
};

// Hashes that differ in their last bits only: a deep trie.
struct high_bits_hash {
  std::size_t operator()(std::string_view s) const noexcept {
    return (std::hash<std::string_view>{}(s)&0xfU) << 58U;
  }
};

template <class Map>
std::map<std::string, int> contents(const Map& m) {
  std::map<std::string, int> out;
  m.for_each([&](const std::string& k, int v) { out.emplace(k, v); });
  return out;
}

template <class Map>
void random_walk(unsigned seed, int keys) {
  std::mt19937 rng(seed);
  Map m;
  std::map<std::string, int> ref;
  std::vector<std::pair<Map, std::map<std::string, int>>> snapshots;
  for (int step = 0; step < 4000; ++step) {
    const std::string key = "k" + std::to_string(rng() % static_cast<unsigned>(keys));
    switch (rng() % 5) {
      case 0:
      case 1: {
        const int v = static_cast<int>(rng() % 1000);
        const bool inserted = m.insert_or_assign(key, v);
        CHECK(inserted == (ref.count(key) == 0));
        ref[key] = v;
        break;
      }
      case 2: {
        const bool erased = m.erase(key);
        CHECK(erased == (ref.erase(key) == 1));
        break;
      }
      case 3: {
        int* v = m.find_mutable(key);
        REQUIRE((v != nullptr) == (ref.count(key) == 1));
        if (v != nullptr) {
          *v += 1;
          ref[key] += 1;
        }
        break;
      }
      default:
        if (rng() % 8 == 0) snapshots.emplace_back(m, ref);
        break;
    }
    REQUIRE(m.size() == ref.size());
  }
  CHECK(contents(m) == ref);
  for (const auto& [k, v] : ref) {
    const int* found = m.find(k);
    REQUIRE(found != nullptr);
    CHECK(*found == v);
  }
  for (const auto& snap : snapshots) {
    CHECK(snap.first.size() == snap.second.size());
    CHECK(contents(snap.first) == snap.second);
  }
}

}  // namespace

TEST_CASE("persistent_map inserts, finds, changes and erases") {
  persistent_map<std::string, int> m;
  CHECK(m.empty());
  CHECK(m.find(std::string_view("a")) == nullptr);
  CHECK(m.insert_or_assign(std::string("a"), 1));
  CHECK_FALSE(m.insert_or_assign(std::string_view("a"), 2));
  REQUIRE(m.find(std::string_view("a")) != nullptr);
  CHECK(*m.find(std::string("a")) == 2);
  bool inserted = true;
  m.upsert(std::string_view("b"), &inserted) = 7;
  CHECK(inserted);
  m.upsert(std::string_view("b"), &inserted) += 1;
  CHECK_FALSE(inserted);
  CHECK(*m.find(std::string_view("b")) == 8);
  CHECK(m.size() == 2);
  CHECK(m.erase(std::string_view("a")));
  CHECK_FALSE(m.erase(std::string_view("a")));
  CHECK(m.size() == 1);
  CHECK(m.find_mutable(std::string_view("zz")) == nullptr);
  CHECK(m.size() == 1);
  m.clear();
  CHECK(m.empty());
}

TEST_CASE("persistent_map copies share and stay unchanged") {
  persistent_map<std::string, int> m;
  for (int i = 0; i < 1000; ++i) m.insert_or_assign(std::to_string(i), i);
  const auto snap = m;
  CHECK(snap.same_as(m));
  *m.find_mutable(std::string_view("5")) = -5;
  m.erase(std::string_view("6"));
  m.insert_or_assign(std::string_view("new"), 1);
  CHECK_FALSE(snap.same_as(m));
  CHECK(*snap.find(std::string_view("5")) == 5);
  CHECK(*snap.find(std::string_view("6")) == 6);
  CHECK(snap.find(std::string_view("new")) == nullptr);
  CHECK(snap.size() == 1000);
  CHECK(*m.find(std::string_view("5")) == -5);
  CHECK(m.size() == 1000);
  CHECK(snap != m);
  auto back = m;
  *back.find_mutable(std::string_view("5")) = 5;
  back.erase(std::string_view("new"));
  back.insert_or_assign(std::string_view("6"), 6);
  CHECK(back == snap);  // equal contents, different shapes
  CHECK(*m.find(std::string_view("5")) == -5);
}

TEST_CASE("persistent_map matches a reference under random operations") {
  for (unsigned seed = 1; seed <= 6; ++seed) {
    CAPTURE(seed);
    random_walk<persistent_map<std::string, int>>(seed, 300);
  }
}

TEST_CASE("persistent_map keeps colliding hashes apart") {
  for (unsigned seed = 1; seed <= 3; ++seed) {
    CAPTURE(seed);
    random_walk<persistent_map<std::string, int, constant_hash>>(seed, 60);
    random_walk<persistent_map<std::string, int, high_bits_hash>>(seed, 200);
  }
}

TEST_CASE("persistent_map empties back to nothing") {
  persistent_map<std::string, int, high_bits_hash> m;
  for (int i = 0; i < 500; ++i) m.insert_or_assign(std::to_string(i), i);
  const auto full = m;
  for (int i = 0; i < 500; ++i) CHECK(m.erase(std::to_string(i)));
  CHECK(m.empty());
  CHECK(full.size() == 500);
  CHECK(contents(full).size() == 500);
}
