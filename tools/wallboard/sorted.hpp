// The entries of a persistent map in key order (the map has none of its own, and a stable
// order keeps successive boards and documents comparable).
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace ami::tools::wallboard {

// (key, value pointer) pairs, sorted by key; valid while the map is.
template <class Map>
auto sorted_entries(const Map& map) {
  using value_type = std::decay_t<decltype(*map.find(std::string_view()))>;
  std::vector<std::pair<const std::string*, const value_type*>> v;
  v.reserve(map.size());
  map.for_each([&](const std::string& k, const value_type& x) { v.emplace_back(&k, &x); });
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return *a.first < *b.first; });
  return v;
}

}  // namespace ami::tools::wallboard
