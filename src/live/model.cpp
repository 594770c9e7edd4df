// Names of the live model's enums, and the extension key.
#include "ami/live/agent.hpp"
#include "ami/live/change.hpp"
#include "ami/live/device_state.hpp"
#include "ami/live/state.hpp"
#include "ami/message.hpp"

#include <array>
#include <charconv>

namespace ami::live {

namespace {

constexpr std::array<std::string_view, 9> device_state_names{"UNKNOWN", "NOT_INUSE", "INUSE",
                                                             "BUSY",    "INVALID",   "UNAVAILABLE",
                                                             "RINGING", "RINGINUSE", "ONHOLD"};

}  // namespace

std::string_view to_string(device_state s) noexcept {
  const auto i = static_cast<std::size_t>(s);
  return i < device_state_names.size() ? device_state_names[i] : std::string_view{"UNKNOWN"};
}

std::optional<device_state> parse_device_state(std::string_view value) noexcept {
  for (std::size_t i = 0; i < device_state_names.size(); ++i) {
    if (ami::iequals(value, device_state_names[i])) return static_cast<device_state>(i);
  }
  int n = -1;
  const auto* end = value.data() + value.size();
  const auto r = std::from_chars(value.data(), end, n);
  if (r.ec != std::errc{} || r.ptr != end || n < 0 ||
      n >= static_cast<int>(device_state_names.size())) {
    return std::nullopt;
  }
  return static_cast<device_state>(n);
}

std::string_view to_string(agent_status s) noexcept {
  switch (s) {
    case agent_status::logged_off: return "AGENT_LOGGEDOFF";
    case agent_status::idle: return "AGENT_IDLE";
    case agent_status::on_call: return "AGENT_ONCALL";
    case agent_status::unknown: break;
  }
  return "AGENT_UNKNOWN";
}

agent_status parse_agent_status(std::string_view text) noexcept {
  if (ami::iequals(text, "AGENT_LOGGEDOFF")) return agent_status::logged_off;
  if (ami::iequals(text, "AGENT_IDLE")) return agent_status::idle;
  if (ami::iequals(text, "AGENT_ONCALL")) return agent_status::on_call;
  return agent_status::unknown;
}

std::string_view to_string(entity e) noexcept {
  switch (e) {
    case entity::channel: return "channel";
    case entity::call: return "call";
    case entity::bridge: return "bridge";
    case entity::queue: return "queue";
    case entity::queue_member: return "queue_member";
    case entity::queue_caller: return "queue_caller";
    case entity::agent: return "agent";
    case entity::device: return "device";
    case entity::extension: return "extension";
    case entity::recent_call: return "recent_call";
    case entity::parked_call: return "parked_call";
    case entity::conference: return "conference";
  }
  return "unknown";
}

std::string_view to_string(change_kind k) noexcept {
  switch (k) {
    case change_kind::added: return "added";
    case change_kind::changed: return "changed";
    case change_kind::removed: return "removed";
  }
  return "unknown";
}

std::string extension_key(std::string_view exten, std::string_view context) {
  std::string key;
  key.reserve(exten.size() + 1 + context.size());
  key.append(exten).append(1, '@').append(context);
  return key;
}

}  // namespace ami::live
