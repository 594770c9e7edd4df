// The contract between the client and typed action and event structs (the generated
// catalogue in ami/actions and ami/events follows it; users may write their own).
//
// A typed action T provides
//   static constexpr std::string_view action_name;          // the wire name, "QueueAdd"
//   std::optional<ami::error> to_action(ami::action& out) const;
//       fills `out` (name and fields); error::missing_field when a required field is empty,
//       error::invalid_field when a value cannot be sent. Nothing is sent on error.
// and may provide
//   static constexpr bool is_list;                          // answers with an EventList
//   static constexpr std::string_view complete_event;       // "QueueStatusComplete"
//
// A typed event E provides
//   static constexpr std::string_view event_name;           // the wire name, "Hangup"
//   static E from(const ami::event& e);
//       never throws; a missing header or a value that does not parse is marked in the
//       struct rather than reported by an exception. The struct may keep views into `e`,
//       so it is valid as long as `e` is.
#pragma once

#include "ami/action.hpp"
#include "ami/error.hpp"
#include "ami/message.hpp"

#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

namespace ami {

template <class T, class = void>
struct is_typed_action : std::false_type {};

template <class T>
struct is_typed_action<
    T, std::void_t<decltype(T::action_name),
                   decltype(std::declval<const T&>().to_action(std::declval<ami::action&>()))>>
    : std::bool_constant<
          std::is_convertible_v<decltype(T::action_name), std::string_view> &&
          std::is_same_v<decltype(std::declval<const T&>().to_action(std::declval<ami::action&>())),
                         std::optional<ami::error>>> {};

template <class T>
inline constexpr bool is_typed_action_v = is_typed_action<T>::value;

template <class E, class = void>
struct is_typed_event : std::false_type {};

template <class E>
struct is_typed_event<
    E, std::void_t<decltype(E::event_name), decltype(E::from(std::declval<const ami::event&>()))>>
    : std::bool_constant<std::is_convertible_v<decltype(E::event_name), std::string_view> &&
                         std::is_same_v<decltype(E::from(std::declval<const ami::event&>())), E>> {
};

template <class E>
inline constexpr bool is_typed_event_v = is_typed_event<E>::value;

}  // namespace ami
