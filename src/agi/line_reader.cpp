#include "ami/agi/line_reader.hpp"

namespace ami::agi {

void line_reader::feed(std::string_view bytes) {
  if (failed_) return;
  if (start_ > 0 && start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
  } else if (start_ > 4096 && start_ * 2 > buffer_.size()) {
    buffer_.erase(0, start_);  // keep the buffer from growing with consumed lines
    start_ = 0;
  }
  buffer_.append(bytes.data(), bytes.size());
}

line_reader::status line_reader::next(std::string_view& line, error& err) {
  if (failed_) {
    err = error::line_too_long;
    return status::failed;
  }
  const std::string_view rest = std::string_view(buffer_).substr(start_);
  const auto lf = rest.find('\n', scanned_);
  if (lf == std::string_view::npos) {
    scanned_ = rest.size();
    if (rest.size() > max_line_) {
      failed_ = true;
      err = error::line_too_long;
      return status::failed;
    }
    return status::need_more;
  }
  std::size_t len = lf;
  if (len > 0 && rest[len - 1] == '\r') --len;
  if (len > max_line_) {
    failed_ = true;
    err = error::line_too_long;
    return status::failed;
  }
  line = rest.substr(0, len);
  start_ += lf + 1;
  scanned_ = 0;
  return status::line;
}

void line_reader::reset() noexcept {
  buffer_.clear();
  start_ = 0;
  scanned_ = 0;
  failed_ = false;
}

}  // namespace ami::agi
