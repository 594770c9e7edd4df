// A generic outbound action: a name and ordered fields, built by the caller.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ami {

class action {
 public:
  action() = default;
  explicit action(std::string name) : name_(std::move(name)) {}

  const std::string& name() const noexcept { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }

  // Replaces the first field of this name (case-insensitive) or appends it.
  action& set(std::string_view key, std::string_view value);
  // Appends a field, keeping earlier ones of the same name (Variable, repeated keys).
  action& add(std::string_view key, std::string_view value);
  // Removes every field of this name; returns how many were removed.
  std::size_t erase(std::string_view key);

  const std::string* get(std::string_view key) const noexcept;
  const std::vector<std::pair<std::string, std::string>>& fields() const noexcept {
    return fields_;
  }

  // The caller's ActionID, or empty when the client should assign one.
  std::string_view action_id() const noexcept;

 private:
  std::string name_;
  std::vector<std::pair<std::string, std::string>> fields_;
};

}  // namespace ami
