// Incremental, allocation-free (in steady state) parser for the bytes an AMI peer sends.
// Sans-I/O: the caller writes bytes into prepare()/commit() (or feed()) and pulls complete
// messages with next(). Fields are views into the parser's buffer.
#pragma once

#include "ami/error.hpp"
#include "ami/message.hpp"
#include "ami/proto/banner.hpp"

#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

namespace ami::proto {

struct parser_limits {
  std::size_t max_line = 64 * 1024;            // bytes in one line, line end excluded
  std::size_t max_fields = 64 * 1024;          // fields plus body lines in one message
  std::size_t max_message = 16 * 1024 * 1024;  // bytes in one message, line ends included
};

struct parser_options {
  parser_limits limits;
  // Treat a first line without a colon as the server's banner (off for client-side bytes).
  bool expect_banner = true;
};

enum class parse_status {
  need_more,  // no complete message in the buffer: read more bytes
  message,    // `out` holds the next message
  error,      // a message was dropped; `ec` says why; call next() again to go on
};

struct parse_result {
  parse_status status = parse_status::need_more;
  error ec{};  // set when status == error
};

class parser {
 public:
  explicit parser(parser_options options = {});
  parser(const parser&) = delete;
  parser& operator=(const parser&) = delete;
  parser(parser&&) noexcept;
  parser& operator=(parser&&) noexcept;
  ~parser();

  // Writable space of at least `n` bytes at the end of the buffer. Invalidates the views
  // of messages returned earlier (their bytes may move).
  char* prepare(std::size_t n);
  // Marks `n` bytes written into the space from prepare() as received.
  void commit(std::size_t n) noexcept;
  // prepare() + copy + commit().
  void feed(std::string_view bytes);

  // Pulls the next complete message into `out` (reusing its capacity). The views in `out`
  // stay valid until the next prepare() or feed().
  parse_result next(message& out);

  // Call at end of stream: incomplete_message when bytes of an unfinished message remain.
  std::optional<error> finish() const noexcept;

  // The banner, once seen.
  const std::optional<banner>& server_banner() const noexcept;

  // Bytes received but not yet returned as messages.
  std::size_t buffered() const noexcept;
  // Current buffer capacity (bounded by the limits).
  std::size_t capacity() const noexcept;

  const parser_options& options() const noexcept;
  // Forgets all state and buffered bytes (a new connection).
  void reset() noexcept;
  // Frees the buffer when it holds no byte (an idle connection keeps no buffer); the next
  // prepare() allocates again. Views of earlier messages become invalid.
  void release() noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace ami::proto
