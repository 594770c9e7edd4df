// The complete answer to one action: the Response message, and for list actions the
// events of its EventList in order and the closing ...Complete event.
#pragma once

#include "ami/message.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ami {

// A response owns all its bytes: it stays valid after the handler returns.
class response {
 public:
  response() = default;
  // Takes the message and makes it own its bytes.
  explicit response(message m);

  // The Response field ("Success", "Error", "Goodbye", "Follows"); empty for the raw text
  // answer of old servers' Queues and for a default-constructed response.
  std::string_view status() const noexcept {
    return msg_.is_response() ? msg_.head() : std::string_view{};
  }
  // False only for "Error" (and for an empty response).
  bool ok() const noexcept;
  // The Message field, or empty.
  std::string_view message_text() const noexcept { return msg_.get_or("Message"); }
  std::optional<std::string_view> get(std::string_view key) const noexcept { return msg_.get(key); }
  std::string_view action_id() const noexcept { return msg_.action_id(); }

  // The Response message itself (or the raw text message of an old Queues).
  const ami::message& msg() const noexcept { return msg_; }
  // List items, in the order the server sent them (empty for non-list actions).
  const std::vector<event>& events() const noexcept { return events_; }
  // The event that ended the list (CoreShowChannelsComplete, ...) or, for
  // client::async_originate, the OriginateResponse event; null when there is none.
  const event* complete() const noexcept { return complete_ ? &*complete_ : nullptr; }
  // Command output lines in both formats (the legacy Follows body, else every Output
  // field), or the lines of a raw text answer.
  std::vector<std::string> output() const;

  bool empty() const noexcept { return msg_.empty(); }

  // Building (used by the client while it collects the answer).
  void set_message(message m);
  void add_event(const message& item);
  void set_complete(const message& end);

 private:
  message msg_;
  std::vector<event> events_;
  std::optional<event> complete_;
};

}  // namespace ami
