#include "ami/message.hpp"

#include <algorithm>
#include <cstring>

namespace ami {

const char* to_string(message_kind k) noexcept {
  switch (k) {
    case message_kind::banner: return "banner";
    case message_kind::action: return "action";
    case message_kind::response: return "response";
    case message_kind::event: return "event";
    case message_kind::text: return "text";
  }
  return "unknown";
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]);
    unsigned char y = static_cast<unsigned char>(b[i]);
    if (x == y) continue;
    if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

message::message(const message& other) { copy_from(other); }

message& message::operator=(const message& other) {
  if (this != &other) copy_from(other);
  return *this;
}

void message::copy_from(const message& other) {
  std::size_t total = 0;
  for (const auto& f : other.fields_) total += f.name.size() + f.value.size();
  for (const auto& l : other.lines_) total += l.size();
  // A non-empty message always gets storage, even when every view is empty, so that
  // owns_bytes() holds for every copy.
  std::unique_ptr<char[]> store(other.empty() ? nullptr
                                              : new char[std::max<std::size_t>(total, 1)]);
  std::vector<field> fields;
  fields.reserve(other.fields_.size());
  std::vector<std::string_view> lines;
  lines.reserve(other.lines_.size());
  char* p = store.get();
  auto put = [&p](std::string_view s) {
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    std::string_view copy(p, s.size());
    p += s.size();
    return copy;
  };
  for (const auto& f : other.fields_) {
    const auto name = put(f.name);
    fields.push_back({name, put(f.value)});
  }
  for (const auto& l : other.lines_) lines.push_back(put(l));
  kind_ = other.kind_;
  fields_ = std::move(fields);
  lines_ = std::move(lines);
  storage_ = std::move(store);
}

void message::make_owned() {
  if (storage_ != nullptr) return;
  copy_from(*this);
}

void message::clear() noexcept {
  fields_.clear();
  lines_.clear();
  storage_.reset();
  kind_ = message_kind::event;
}

void message::rebase(const char* old_base, const char* new_base) noexcept {
  if (storage_ != nullptr) return;
  auto move_view = [&](std::string_view v) {
    if (v.data() == nullptr) return v;
    return std::string_view(new_base + (v.data() - old_base), v.size());
  };
  for (auto& f : fields_) {
    f.name = move_view(f.name);
    f.value = move_view(f.value);
  }
  for (auto& l : lines_) l = move_view(l);
}

std::optional<std::string_view> message::get(std::string_view name) const noexcept {
  for (const auto& f : fields_) {
    if (iequals(f.name, name)) return f.value;
  }
  return std::nullopt;
}

std::string_view message::get_or(std::string_view name, std::string_view fallback) const noexcept {
  auto v = get(name);
  return v ? *v : fallback;
}

std::vector<std::string_view> message::get_all(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& f : fields_) {
    if (iequals(f.name, name)) out.push_back(f.value);
  }
  return out;
}

std::string_view message::head() const noexcept {
  return fields_.empty() ? std::string_view{} : fields_.front().value;
}

std::vector<std::string_view> message::output() const {
  if (kind_ != message_kind::banner && !lines_.empty()) return lines_;
  return get_all("Output");
}

}  // namespace ami
