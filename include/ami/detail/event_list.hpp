// EventList rules: how a list starts, which events are its items, how it ends.
#pragma once

#include "ami/error.hpp"
#include "ami/message.hpp"
#include "ami/response.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ami::detail {

// Whether a (successful) Response opens an EventList: "EventList: start" in any case or,
// from servers before AMI 2.7 that send no EventList field, a Message containing
// "will follow".
bool opens_event_list(const message& response) noexcept;

enum class list_mark {
  item,       // one more entry
  complete,   // "EventList: Complete", or (old servers) an event name ending in "Complete"
  cancelled,  // "EventList: Cancelled"
};

// Classifies an event that carries the list's ActionID.
list_mark classify_list_event(const message& ev) noexcept;

// The item event name of list actions whose items come without ActionID (IAXpeers on
// Asterisk 18 sends PeerEntry events without it), or empty for other actions.
std::string_view unmarked_item_name(std::string_view action_name) noexcept;

// Collects the EventList of one action.
class list_collector {
 public:
  explicit list_collector(std::string_view action_name = {});

  struct step {
    bool done = false;            // the list ended
    std::optional<error> failed;  // list_incomplete: Cancelled or a ListItems mismatch
  };

  // An event of this list (it carries the list's ActionID or was accepted below). Items are
  // copied into `into` when `keep` (an abandoned list only counts them).
  step add(const message& ev, response& into, bool keep);

  // Whether an event without ActionID is an item of this list: its name is the item name
  // known for the action or learned from earlier items, and it has no Privilege field
  // (list items never do; the server's broadcast events always do).
  bool accepts_unmarked(const message& ev) const noexcept;
  bool may_accept_unmarked() const noexcept { return !names_.empty(); }

  std::size_t items() const noexcept { return items_; }

 private:
  void learn(std::string_view name);

  std::vector<std::string> names_;  // item names (few: QueueParams, QueueMember, QueueEntry)
  std::size_t items_ = 0;
};

}  // namespace ami::detail
