// Typed views of the events a list action collected: the bridge between ami::response and
// the generated event structs.
//
//   auto r = co_await client.async_send(ami::actions::core_show_channels{}, use_awaitable);
//   for (const auto& ch : ami::typed_items<ami::events::core_show_channel>(r))
//     use(ch.channel.channel, ch.duration);
//
// The structs view the response's own bytes: they are valid as long as the response is.
#pragma once

#include "ami/message.hpp"
#include "ami/response.hpp"
#include "ami/typed.hpp"

#include <vector>

namespace ami {

// The list events of `r` named E::event_name (case-insensitive), in list order, as E.
// Items of other names (lists that mix several, such as QueueStatus) are skipped: ask for
// each type in turn.
template <class E, std::enable_if_t<is_typed_event_v<E>, int> = 0>
std::vector<E> typed_items(const response& r) {
  std::vector<E> out;
  for (const event& e : r.events()) {
    if (iequals(e.name(), E::event_name)) out.push_back(E::from(e));
  }
  return out;
}

// The typed views need the response to outlive them.
template <class E>
std::vector<E> typed_items(const response&& r) = delete;

}  // namespace ami
