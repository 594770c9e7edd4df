// Helpers for the catalogue tests (the generated ones and the hand-written ones).
#pragma once

#include "ami/action.hpp"
#include "ami/error.hpp"
#include "ami/typed.hpp"
#include "ami/typed/channel_state.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ami::test {

using wire_fields = std::vector<std::pair<std::string, std::string>>;

inline std::string describe(const wire_fields& fields) {
  std::string s;
  for (const auto& [k, v] : fields) s += k + ": " + v + " | ";
  return s;
}

// `a` and `chained` (built with the fluent setters) both convert to `name` with exactly
// the fields `want`, in order.
template <class T>
void check_action(const T& a, const T& chained, std::string_view name, const wire_fields& want) {
  static_assert(ami::is_typed_action_v<T>);
  CHECK(T::action_name == name);
  ami::action out;
  REQUIRE(a.to_action(out) == std::nullopt);
  CHECK(out.name() == name);
  CHECK_MESSAGE(out.fields() == want, describe(out.fields()), " wanted ", describe(want));
  ami::action out2;
  REQUIRE(chained.to_action(out2) == std::nullopt);
  CHECK(out2.name() == name);
  CHECK_MESSAGE(out2.fields() == want, describe(out2.fields()), " wanted ", describe(want));
}

// Emptying one required parameter of `filled` gives error::missing_field and leaves the
// output action untouched.
template <class T, class Clear>
void check_missing(const T& filled, Clear clear) {
  T a = filled;
  clear(a);
  ami::action out{"Untouched"};
  out.add("Key", "value");
  CHECK(a.to_action(out) == std::optional<ami::error>{ami::error::missing_field});
  CHECK(out.name() == "Untouched");
  CHECK(out.fields().size() == 1);
}

// Many comparisons, one doctest assertion: failures are collected by member name.
struct expectations {
  std::vector<std::string> failures;

  void eq(std::string_view got, std::string_view want, const char* what) {
    if (got != want) failures.push_back(std::string(what) + "=\"" + std::string(got) + "\"");
  }
  void eq(const std::optional<std::string_view>& got, std::string_view want, const char* what) {
    if (got != want)
      failures.push_back(std::string(what) + (got ? "=\"" + std::string(*got) + "\"" : " absent"));
  }
  void eq(bool got, bool want, const char* what) {
    if (got != want) failures.emplace_back(what);
  }
  void eq(const std::optional<int>& got, int want, const char* what) {
    if (got != want) failures.emplace_back(what);
  }
  void eq(const std::optional<long long>& got, long long want, const char* what) {
    if (got != want) failures.emplace_back(what);
  }
  void eq(const std::optional<ami::events::channel_state>& got, ami::events::channel_state want,
          const char* what) {
    if (got != want) failures.emplace_back(what);
  }
  std::string report() const {
    std::string s = "wrong members:";
    for (const auto& f : failures) s += " " + f;
    return s;
  }
};

}  // namespace ami::test
