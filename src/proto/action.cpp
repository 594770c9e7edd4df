#include "ami/action.hpp"

#include "ami/message.hpp"

#include <algorithm>

namespace ami {

action& action::set(std::string_view key, std::string_view value) {
  for (auto& f : fields_) {
    if (iequals(f.first, key)) {
      f.second.assign(value);
      return *this;
    }
  }
  return add(key, value);
}

action& action::add(std::string_view key, std::string_view value) {
  fields_.emplace_back(std::string(key), std::string(value));
  return *this;
}

std::size_t action::erase(std::string_view key) {
  const auto before = fields_.size();
  fields_.erase(std::remove_if(fields_.begin(), fields_.end(),
                               [&](const auto& f) { return iequals(f.first, key); }),
                fields_.end());
  return before - fields_.size();
}

const std::string* action::get(std::string_view key) const noexcept {
  for (const auto& f : fields_) {
    if (iequals(f.first, key)) return &f.second;
  }
  return nullptr;
}

std::string_view action::action_id() const noexcept {
  const auto* id = get("ActionID");
  return id != nullptr ? std::string_view(*id) : std::string_view{};
}

}  // namespace ami
