// Reading an event's headers into a typed struct (used by the generated ami::events
// structs). Lookups are case-insensitive and the first occurrence wins, as in
// ami::message::get, except that the leading "Event: Name" line is not a header (so the
// ResourceListDetail header named Event is found).
#pragma once

#include "ami/message.hpp"
#include "ami/typed/channel_state.hpp"

#include <optional>
#include <string_view>
#include <vector>

namespace ami::detail {

// Reads headers of one event and records what it could not fill: documented headers
// that are absent go to `missing`, present values that do not parse go to `bad`. The
// names given to it must outlive the lists (the generated code passes string literals).
// Nothing here throws: if recording a name fails for lack of memory, the name is dropped.
class event_reader {
 public:
  event_reader(const ami::message& m, std::vector<std::string_view>& missing,
               std::vector<std::string_view>& bad) noexcept
      : m_(m), missing_(missing), bad_(bad) {}

  bool has(std::string_view name) const noexcept { return find(name) != nullptr; }

  // A documented header: its value, or empty (recorded as missing).
  std::string_view text(std::string_view name) noexcept;
  // A header the server writes only in some cases: its value or empty, never recorded.
  std::string_view conditional_text(std::string_view name) const noexcept;
  // Numbers: nullopt when missing (recorded) or when the value is not a number (recorded
  // as bad).
  std::optional<int> int32(std::string_view name) noexcept;
  std::optional<long long> int64(std::string_view name) noexcept;
  // Headers the server writes only in some cases: nullopt when absent (never recorded as
  // missing); a number that does not parse is nullopt and recorded as bad.
  std::optional<std::string_view> optional_text(std::string_view name) const noexcept;
  std::optional<int> optional_int32(std::string_view name) noexcept;
  std::optional<long long> optional_int64(std::string_view name) noexcept;
  std::optional<ami::events::channel_state> state(std::string_view name) noexcept;

 private:
  const std::string_view* find(std::string_view name) const noexcept;
  static void note(std::vector<std::string_view>& list, std::string_view name) noexcept;
  template <class Parse>
  auto number(std::string_view name, bool required, Parse parse) noexcept -> decltype(parse(name));

  const ami::message& m_;
  std::vector<std::string_view>& missing_;
  std::vector<std::string_view>& bad_;
};

}  // namespace ami::detail
