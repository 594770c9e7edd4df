#include "ami/detail/event_list.hpp"

#include <charconv>

namespace ami::detail {
namespace {

bool icontains(std::string_view hay, std::string_view needle) noexcept {
  if (needle.size() > hay.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    if (iequals(hay.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

bool iends_with(std::string_view s, std::string_view suffix) noexcept {
  return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

std::optional<std::size_t> parse_count(std::string_view v) noexcept {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  std::size_t n = 0;
  const auto* end = v.data() + v.size();
  const auto r = std::from_chars(v.data(), end, n);
  if (r.ec != std::errc{} || r.ptr != end || v.empty()) return std::nullopt;
  return n;
}

}  // namespace

bool opens_event_list(const message& response) noexcept {
  if (auto list = response.get("EventList")) return iequals(*list, "start");
  return icontains(response.get_or("Message"), "will follow");
}

list_mark classify_list_event(const message& ev) noexcept {
  if (auto list = ev.get("EventList")) {
    if (iequals(*list, "Complete")) return list_mark::complete;
    if (iequals(*list, "Cancelled")) return list_mark::cancelled;
    return list_mark::item;
  }
  return iends_with(ev.event_name(), "Complete") ? list_mark::complete : list_mark::item;
}

std::string_view unmarked_item_name(std::string_view action_name) noexcept {
  if (iequals(action_name, "IAXpeers") || iequals(action_name, "SIPpeers")) return "PeerEntry";
  return {};
}

list_collector::list_collector(std::string_view action_name) {
  const auto known = unmarked_item_name(action_name);
  if (!known.empty()) names_.emplace_back(known);
}

void list_collector::learn(std::string_view name) {
  constexpr std::size_t max_names = 8;
  if (name.empty() || names_.size() >= max_names) return;
  for (const auto& n : names_) {
    if (iequals(n, name)) return;
  }
  names_.emplace_back(name);
}

list_collector::step list_collector::add(const message& ev, response& into, bool keep) {
  switch (classify_list_event(ev)) {
    case list_mark::item:
      ++items_;
      learn(ev.event_name());
      if (keep) into.add_event(ev);
      return {};
    case list_mark::cancelled:
      if (keep) into.set_complete(ev);
      return {true, error::list_incomplete};
    case list_mark::complete: break;
  }
  if (keep) into.set_complete(ev);
  if (auto stated = ev.get("ListItems")) {
    const auto n = parse_count(*stated);
    if (!n || *n != items_) return {true, error::list_incomplete};
  }
  return {true, std::nullopt};
}

bool list_collector::accepts_unmarked(const message& ev) const noexcept {
  const auto name = ev.event_name();
  bool known = false;
  for (const auto& n : names_) known = known || iequals(n, name);
  return known && !ev.has("Privilege");
}

}  // namespace ami::detail
