#include "ami/response.hpp"

namespace ami {

response::response(message m) { set_message(std::move(m)); }

bool response::ok() const noexcept {
  if (msg_.empty()) return false;
  return !(msg_.is_response() && iequals(msg_.head(), "Error"));
}

std::vector<std::string> response::output() const {
  const auto lines = msg_.output();
  return {lines.begin(), lines.end()};
}

void response::set_message(message m) {
  msg_ = std::move(m);
  msg_.make_owned();
}

void response::add_event(const message& item) { events_.emplace_back(item); }

void response::set_complete(const message& end) { complete_.emplace(end); }

}  // namespace ami
