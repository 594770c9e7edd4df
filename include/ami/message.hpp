// An AMI message: ordered (key, value) fields, duplicates kept, case-insensitive lookup.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ami {

// What a message is, decided by its first line (the first field wins: OriginateResponse
// carries a Response field but starts with Event).
enum class message_kind {
  banner,    // "Asterisk Call Manager/13.0.0": the line a server sends on connect
  action,    // first field Action (client to server)
  response,  // first field Response
  event,     // first field Event
  text,      // raw text lines without a Response or Event header (old Queues output)
};

const char* to_string(message_kind k) noexcept;

struct field {
  std::string_view name;
  std::string_view value;
};

// ASCII case-insensitive equality, as AMI compares keys and event names.
bool iequals(std::string_view a, std::string_view b) noexcept;

// A message either borrows its bytes (fields point into a parser's buffer and are valid
// until that parser is fed again) or owns them. Copying always produces an owning message
// with one allocation for all the bytes; moving keeps whatever the source had.
class message {
 public:
  message() = default;
  message(const message& other);
  message& operator=(const message& other);
  message(message&&) noexcept = default;
  message& operator=(message&&) noexcept = default;
  ~message() = default;

  message_kind kind() const noexcept { return kind_; }
  bool is_event() const noexcept { return kind_ == message_kind::event; }
  bool is_response() const noexcept { return kind_ == message_kind::response; }
  bool is_action() const noexcept { return kind_ == message_kind::action; }
  // True when no view points outside this message.
  bool owns_bytes() const noexcept { return storage_ != nullptr || empty(); }

  const std::vector<field>& fields() const noexcept { return fields_; }
  auto begin() const noexcept { return fields_.begin(); }
  auto end() const noexcept { return fields_.end(); }
  std::size_t size() const noexcept { return fields_.size(); }
  bool empty() const noexcept { return fields_.empty() && lines_.empty(); }
  const field& operator[](std::size_t i) const noexcept { return fields_[i]; }

  // First field with this name (case-insensitive), if any.
  std::optional<std::string_view> get(std::string_view name) const noexcept;
  // Value of the first field with this name, or `fallback`.
  std::string_view get_or(std::string_view name, std::string_view fallback = {}) const noexcept;
  // Every value of this name, in wire order.
  std::vector<std::string_view> get_all(std::string_view name) const;
  bool has(std::string_view name) const noexcept { return get(name).has_value(); }

  // The value of the first field: the event name, response status or action name.
  std::string_view head() const noexcept;
  // Event name for events, empty otherwise.
  std::string_view event_name() const noexcept { return is_event() ? head() : std::string_view{}; }
  std::string_view action_id() const noexcept { return get_or("ActionID"); }

  // Raw lines: the body of a legacy "Response: Follows" Command answer (without the
  // --END COMMAND-- marker), the lines of a text message, or the banner line.
  const std::vector<std::string_view>& lines() const noexcept { return lines_; }
  // Command output as lines in both formats: the legacy body, else every Output field.
  std::vector<std::string_view> output() const;

  // Building (used by the parser and by tests). Views must outlive the message unless
  // make_owned() is called afterwards.
  void clear() noexcept;
  void set_kind(message_kind k) noexcept { kind_ = k; }
  void add_field(std::string_view name, std::string_view value) {
    // Built in place: a field assembled on the stack and copied in would be reloaded as
    // wider words than it was stored with, which stalls the CPU (store forwarding fails).
    field& f = fields_.emplace_back();
    f.name = name;
    f.value = value;
  }
  void add_line(std::string_view line) { lines_.push_back(line); }
  // Copies borrowed bytes into storage owned by this message.
  void make_owned();
  // Re-points borrowed views after their bytes moved from `old_base` to `new_base`.
  void rebase(const char* old_base, const char* new_base) noexcept;

 private:
  void copy_from(const message& other);

  message_kind kind_ = message_kind::event;
  std::vector<field> fields_;
  std::vector<std::string_view> lines_;
  std::unique_ptr<char[]> storage_;
};

// An incoming event. It is a message whose first field is Event; the type exists so that
// slots and typed events say what they take. Borrowed events (the ones signals deliver)
// are valid while the slot runs; copy one to keep it.
class event : public message {
 public:
  event() = default;
  explicit event(message m) : message(std::move(m)) {}
  std::string_view name() const noexcept { return head(); }
};

}  // namespace ami
