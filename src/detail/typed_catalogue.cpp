// Support code shared by the generated typed actions and events.
#include "ami/proto/serializer.hpp"
#include "ami/typed/action_fields.hpp"
#include "ami/typed/channel_state.hpp"
#include "ami/typed/event_fields.hpp"
#include "ami/typed/number.hpp"
#include "ami/typed/snapshots.hpp"

#include <charconv>
#include <limits>
#include <new>

namespace ami {

std::optional<long long> parse_integer(std::string_view value) noexcept {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  long long v = 0;
  const char* end = value.data() + value.size();
  const auto [ptr, ec] = std::from_chars(value.data(), end, v, 10);
  if (ec != std::errc{} || ptr != end) return std::nullopt;
  return v;
}

std::optional<int> parse_int(std::string_view value) noexcept {
  const auto v = parse_integer(value);
  if (!v || *v < std::numeric_limits<int>::min() || *v > std::numeric_limits<int>::max()) {
    return std::nullopt;
  }
  return static_cast<int>(*v);
}

}  // namespace ami

namespace ami::events {

std::string_view to_string(channel_state s) noexcept {
  switch (s) {
    case channel_state::down: return "Down";
    case channel_state::reserved: return "Rsrvd";
    case channel_state::offhook: return "OffHook";
    case channel_state::dialing: return "Dialing";
    case channel_state::ring: return "Ring";
    case channel_state::ringing: return "Ringing";
    case channel_state::up: return "Up";
    case channel_state::busy: return "Busy";
    case channel_state::dialing_offhook: return "Dialing Offhook";
    case channel_state::prering: return "Pre-ring";
  }
  return "Unknown";
}

std::optional<channel_state> parse_channel_state(std::string_view value) noexcept {
  const auto v = parse_integer(value);
  if (!v || *v < 0 || *v > std::numeric_limits<int>::max()) return std::nullopt;
  const long long state = *v & 0xFFFF;  // bits 16 and up are flags
  if (state > static_cast<long long>(channel_state::prering)) return std::nullopt;
  return static_cast<channel_state>(state);
}

void channel_snapshot::read(ami::detail::event_reader& r, const header_names& n) noexcept {
  present = false;
  for (std::size_t i = 0; i + 1 < n.size() && !present; ++i) present = r.has(n[i]);
  if (!present) return;
  channel = r.text(n[0]);
  channel_state = r.state(n[1]);
  channel_state_desc = r.text(n[2]);
  caller_id_num = r.text(n[3]);
  caller_id_name = r.text(n[4]);
  connected_line_num = r.text(n[5]);
  connected_line_name = r.text(n[6]);
  language = r.text(n[7]);
  account_code = r.text(n[8]);
  context = r.text(n[9]);
  exten = r.text(n[10]);
  priority = r.int32(n[11]);
  uniqueid = r.text(n[12]);
  linkedid = r.text(n[13]);
  tenantid = r.conditional_text(n[14]);
}

void bridge_snapshot::read(ami::detail::event_reader& r, const header_names& n) noexcept {
  present = false;
  for (std::size_t i = 0; i + 1 < n.size() && !present; ++i) present = r.has(n[i]);
  if (!present) return;
  bridge_uniqueid = r.text(n[0]);
  bridge_type = r.text(n[1]);
  bridge_technology = r.text(n[2]);
  bridge_creator = r.text(n[3]);
  bridge_name = r.text(n[4]);
  bridge_num_channels = r.int32(n[5]);
  bridge_video_source_mode = r.text(n[6]);
  bridge_video_source = r.conditional_text(n[7]);
}

}  // namespace ami::events

namespace ami::detail {

void event_reader::note(std::vector<std::string_view>& list, std::string_view name) noexcept {
  try {
    list.push_back(name);
  } catch (const std::bad_alloc&) {
    // The report is best effort under memory exhaustion; the fields stay correct.
  }
}

const std::string_view* event_reader::find(std::string_view name) const noexcept {
  const auto& fields = m_.fields();
  // The first field of an event is its name, not one of its headers.
  const std::size_t first = m_.is_event() && !fields.empty() ? 1 : 0;
  for (std::size_t i = first; i < fields.size(); ++i) {
    if (ami::iequals(fields[i].name, name)) return &fields[i].value;
  }
  return nullptr;
}

std::string_view event_reader::text(std::string_view name) noexcept {
  const auto* v = find(name);
  if (v == nullptr) {
    note(missing_, name);
    return {};
  }
  return *v;
}

std::string_view event_reader::conditional_text(std::string_view name) const noexcept {
  const auto* v = find(name);
  return v != nullptr ? *v : std::string_view{};
}

std::optional<std::string_view> event_reader::optional_text(std::string_view name) const noexcept {
  const auto* v = find(name);
  if (v == nullptr) return std::nullopt;
  return *v;
}

template <class Parse>
auto event_reader::number(std::string_view name, bool required, Parse parse) noexcept
    -> decltype(parse(name)) {
  const auto* v = find(name);
  if (v == nullptr) {
    if (required) note(missing_, name);
    return std::nullopt;
  }
  auto n = parse(*v);
  if (!n) note(bad_, name);
  return n;
}

std::optional<int> event_reader::int32(std::string_view name) noexcept {
  return number(name, true, [](std::string_view v) { return ami::parse_int(v); });
}

std::optional<long long> event_reader::int64(std::string_view name) noexcept {
  return number(name, true, [](std::string_view v) { return ami::parse_integer(v); });
}

std::optional<int> event_reader::optional_int32(std::string_view name) noexcept {
  return number(name, false, [](std::string_view v) { return ami::parse_int(v); });
}

std::optional<long long> event_reader::optional_int64(std::string_view name) noexcept {
  return number(name, false, [](std::string_view v) { return ami::parse_integer(v); });
}

std::optional<ami::events::channel_state> event_reader::state(std::string_view name) noexcept {
  const auto* v = find(name);
  if (v == nullptr) {
    note(missing_, name);
    return std::nullopt;
  }
  auto s = ami::events::parse_channel_state(*v);
  if (!s) note(bad_, name);
  return s;
}

void action_builder::put(std::string_view key, std::string_view value) {
  if (error_) return;
  if (auto e = ami::proto::check_field(key, value)) {
    error_ = e;
    return;
  }
  action_.add(key, value);
}

void action_builder::add_required(std::string_view key, const std::string& value) {
  if (error_) return;
  if (value.empty()) {
    error_ = ami::error::missing_field;
    return;
  }
  put(key, value);
}

void action_builder::add_required(std::string_view key, const std::vector<std::string>& values) {
  if (error_) return;
  if (values.empty()) {
    error_ = ami::error::missing_field;
    return;
  }
  add_repeated(key, values);
}

void action_builder::add_optional(std::string_view key, const std::optional<std::string>& value) {
  if (value) put(key, *value);
}

void action_builder::add_repeated(std::string_view key, const std::vector<std::string>& values) {
  for (const auto& v : values) put(key, v);
}

void action_builder::add_extra(const std::vector<std::pair<std::string, std::string>>& fields) {
  for (const auto& [key, value] : fields) {
    if (!error_ && ami::iequals(key, "Action")) error_ = ami::error::invalid_field;
    put(key, value);
  }
}

std::optional<ami::error> action_builder::finish(ami::action& out) {
  if (error_) return error_;
  out = std::move(action_);
  return std::nullopt;
}

}  // namespace ami::detail
