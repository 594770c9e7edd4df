// Incremental line splitting for AGI streams, usable from any transport: feed bytes as they
// arrive, take complete lines. LF ends a line; a CR before it is dropped.
#pragma once

#include "ami/error.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace ami::agi {

class line_reader {
 public:
  // Asterisk's AGI buffers hold 8 KiB lines; a longer line is refused.
  explicit line_reader(std::size_t max_line = 8192) : max_line_(max_line) {}

  enum class status { line, need_more, failed };

  // Appends received bytes.
  void feed(std::string_view bytes);
  // The next complete line, valid until the next call to feed() or next(). `failed` with
  // error::line_too_long when a line grows beyond max_line: the stream cannot be resynced,
  // so the reader stays failed until reset().
  status next(std::string_view& line, error& err);
  // Bytes received and not yet returned as lines.
  std::size_t buffered() const noexcept { return buffer_.size() - start_; }
  void reset() noexcept;

 private:
  std::size_t max_line_;
  std::string buffer_;
  std::size_t start_ = 0;    // first byte not yet returned
  std::size_t scanned_ = 0;  // bytes from start_ known to hold no LF
  bool failed_ = false;
};

}  // namespace ami::agi
