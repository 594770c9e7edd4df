// Building an ami::action from a typed struct (used by the generated ami::actions
// structs). Every value is checked as the serializer would check it, so that a typed
// action that converts without error also serialises without error.
#pragma once

#include "ami/action.hpp"
#include "ami/error.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ami::detail {

// Collects fields in call order; the first problem wins and nothing reaches `out`.
class action_builder {
 public:
  explicit action_builder(std::string_view name) : action_(std::string(name)) {}

  // Empty value: error::missing_field.
  void add_required(std::string_view key, const std::string& value);
  // One field per value; no values: error::missing_field.
  void add_required(std::string_view key, const std::vector<std::string>& values);
  // Sent only when set (an empty string that is set is sent as an empty value).
  void add_optional(std::string_view key, const std::optional<std::string>& value);
  // One field per value, in order.
  void add_repeated(std::string_view key, const std::vector<std::string>& values);
  // The caller's extra fields, in order. A key "Action" is error::invalid_field.
  void add_extra(const std::vector<std::pair<std::string, std::string>>& fields);

  // Moves the action into `out`, or returns the first error and leaves `out` alone.
  std::optional<ami::error> finish(ami::action& out);

 private:
  void put(std::string_view key, std::string_view value);

  ami::action action_;
  std::optional<ami::error> error_;
};

}  // namespace ami::detail
