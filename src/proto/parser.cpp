#include "ami/proto/parser.hpp"

#include "ami/proto/byte_masks.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

namespace ami::proto {
namespace {

constexpr std::size_t initial_capacity = 64 * 1024;
constexpr std::size_t never = std::numeric_limits<std::size_t>::max();

std::size_t saturating_add(std::size_t a, std::size_t b) noexcept {
  return a > never - b ? never : a + b;
}

enum class mode {
  fields,          // Key: Value lines until the blank line
  follows_header,  // after "Response: Follows": header lines, then the raw body
  follows_body,    // raw lines up to the --END ... -- marker
  follows_end,     // after the marker, until the blank line
  text,            // raw text message, until the blank line
};

bool is_header_of_follows(std::string_view key) noexcept {
  return iequals(key, "ActionID") || iequals(key, "Privilege") || iequals(key, "Message");
}

// "--END COMMAND--" and the other "--END ... --" markers of legacy output. Old servers may
// glue the marker to the last output line when it lacks a newline; `before` gets that text.
bool split_end_marker(std::string_view line, std::string_view& before) noexcept {
  if (line.size() < 7 || line.substr(line.size() - 2) != "--") return false;
  const auto pos = line.rfind("--END ");
  if (pos == std::string_view::npos) return false;
  before = line.substr(0, pos);
  return true;
}

// The masks of the block [at, at + len) of the parser's buffer: lines are short (20 to 40
// bytes), so one block of 64 serves several lines. Received bytes never change, so the masks
// stay valid until the bytes move (forget() then).
struct mask_window {
  std::size_t at = 0;
  std::size_t len = 0;
  std::uint64_t lf = 0;
  std::uint64_t colon = 0;

  void forget() noexcept { len = 0; }

  void load(detail::mask_fn masks_of, const char* base, std::size_t from,
            std::size_t stop) noexcept {
    const std::size_t n = std::min<std::size_t>(stop - from, detail::mask_block);
    detail::byte_masks m;
    if (n == detail::mask_block) {
      m = masks_of(base + from);
    } else {  // the last bytes received: never read past them
      char tail[detail::mask_block] = {};
      std::memcpy(tail, base + from, n);
      m = masks_of(tail);
    }
    at = from;
    len = n;
    lf = m.lf;
    colon = m.colon;
  }

  // The first '\n' in [from, stop), or `stop`; `first_colon` gets the first ':' from `from`
  // on that comes before it (or a later one, or `never`).
  std::size_t line_end(detail::mask_fn masks_of, const char* base, std::size_t from,
                       std::size_t stop, std::size_t& first_colon) noexcept {
    const std::size_t shift = from - at;  // huge when from < at
    if (shift < len) {
      const std::uint64_t lfs = lf >> shift;
      if (lfs != 0) {  // most lines end in the block where they start
        const std::uint64_t colons = colon >> shift;
        first_colon = colons != 0 ? from + ctz(colons) : never;
        return from + ctz(lfs);
      }
    }
    return line_end_across(masks_of, base, from, stop, first_colon);
  }

  std::size_t line_end_across(detail::mask_fn masks_of, const char* base, std::size_t from,
                              std::size_t stop, std::size_t& first_colon) noexcept {
    first_colon = never;
    std::size_t i = from;
    while (i < stop) {
      if (i - at >= len) load(masks_of, base, i, stop);  // also when i < at
      const std::size_t shift = i - at;                  // < 64
      const std::uint64_t lfs = lf >> shift;
      const std::uint64_t colons = colon >> shift;
      if (first_colon == never && colons != 0) first_colon = i + ctz(colons);
      if (lfs != 0) return i + ctz(lfs);
      i = at + len;
    }
    return stop;
  }

  static std::size_t ctz(std::uint64_t bits) noexcept {
    return static_cast<std::size_t>(__builtin_ctzll(bits));
  }
};

}  // namespace

struct parser::impl {
  parser_options opts;
  std::unique_ptr<char[]> buf;
  std::size_t cap = 0;
  std::size_t begin = 0;     // first byte still needed (start of the current message)
  std::size_t scan = 0;      // start of the next line to parse
  std::size_t searched = 0;  // bytes from scan up to here hold no '\n'
  std::size_t end = 0;       // end of received bytes

  bool stream_start = true;
  bool in_message = false;
  bool skipping = false;   // dropping lines up to the next blank line after an error
  bool skip_line = false;  // dropping the rest of an overlong line
  std::size_t msg_start = 0;
  std::size_t items = 0;
  mode md = mode::fields;
  message partial;
  std::optional<banner> server_banner;

  explicit impl(parser_options o) : opts(o) {}

  void move_bytes(char* dest) noexcept {
    win.forget();
    const std::size_t live = end - begin;
    const char* old_base = buf.get() + begin;
    if (live != 0) std::memmove(dest, old_base, live);
    if (in_message) partial.rebase(old_base, dest);
    scan -= begin;
    searched -= begin;
    msg_start -= std::min(msg_start, begin);
    end = live;
    begin = 0;
  }

  char* prepare(std::size_t n) {
    if (begin == end && !in_message) {
      begin = scan = searched = end = 0;
      win.forget();
    }
    if (cap - end >= n) return buf.get() + end;
    if (begin != 0) move_bytes(buf.get());
    if (cap - end < n) {
      const std::size_t want = std::max({cap * 2, end + n, initial_capacity});
      std::unique_ptr<char[]> bigger(new char[want]);
      move_bytes(bigger.get());
      buf = std::move(bigger);
      cap = want;
    }
    return buf.get() + end;
  }

  void drop_message() noexcept {
    partial.clear();
    in_message = false;
    items = 0;
    md = mode::fields;
  }

  parse_result fail(error e, bool line_complete) noexcept {
    drop_message();
    stream_start = false;  // whatever comes next is not the first line
    begin = scan;
    searched = std::max(searched, scan);
    skipping = true;
    skip_line = !line_complete;
    return {parse_status::error, e};
  }

  // Offset of the first ':' in the line next_line() returned last: `never` when it has
  // none, `unknown` when the scan resumed mid-line and did not see the whole line.
  static constexpr std::size_t unknown = never - 1;
  std::size_t line_colon = unknown;

  // Line ends and colons of the bytes around `scan`, 64 at a time (see mask_window).
  detail::mask_fn masks_of = detail::mask_function(detail::best_mask_impl());
  mask_window win;

  // The first '\n' in [from, stop), or `stop`; `colon` gets the first ':' before it (or a
  // later one, or `never`).
  std::size_t find_line_end(const char* base, std::size_t from, std::size_t stop,
                            std::size_t& colon) noexcept {
    return win.line_end(masks_of, base, from, stop, colon);
  }

  // Returns the next line (without its line end) or nothing when it is not complete yet.
  bool next_line(std::string_view& line, std::size_t& after) noexcept {
    const char* base = buf.get();
    const std::size_t from = std::max(searched, scan);
    std::size_t colon = never;
    const std::size_t pos = find_line_end(base, from, end, colon);
    if (pos == end) {
      searched = end;
      return false;
    }
    if (from != scan) {
      line_colon = unknown;
    } else {
      line_colon = colon < pos ? colon - scan : never;
    }
    std::size_t len = pos - scan;
    while (len != 0 && base[scan + len - 1] == '\r') --len;
    line = std::string_view(base + scan, len);
    after = pos + 1;
    return true;
  }

  void start_message(std::size_t at, std::string_view line, std::string_view key,
                     std::string_view value, bool has_colon) {
    in_message = true;
    msg_start = at;
    begin = at;
    items = 1;
    partial.clear();
    if (has_colon && iequals(key, "Event")) {
      partial.set_kind(message_kind::event);
    } else if (has_colon && iequals(key, "Response")) {
      partial.set_kind(message_kind::response);
    } else if (has_colon && iequals(key, "Action")) {
      partial.set_kind(message_kind::action);
    } else {
      partial.set_kind(message_kind::text);
      partial.add_line(line);
      md = mode::text;
      return;
    }
    partial.add_field(key, value);
    md = (partial.kind() == message_kind::response && iequals(value, "Follows"))
             ? mode::follows_header
             : mode::fields;
  }

  // Splits the line next_line() returned last.
  void split_field(std::string_view line, std::string_view& key, std::string_view& value,
                   bool& has_colon) const noexcept {
    std::size_t colon = line_colon == unknown ? line.find(':') : line_colon;
    if (colon >= line.size()) colon = std::string_view::npos;
    has_colon = colon != std::string_view::npos;
    if (!has_colon) {
      key = line;
      value = line.substr(line.size());
      return;
    }
    key = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }

  // Adds a line to the current message; true when the message is complete.
  bool add_to_message(std::string_view line) {
    switch (md) {
      case mode::follows_header: {
        // The CLI output follows the headers directly and may start with an empty line
        // ("core show settings"): only the marker ends a legacy answer.
        std::string_view key;
        std::string_view value;
        bool has_colon = false;
        split_field(line, key, value, has_colon);
        if (!line.empty() && has_colon && is_header_of_follows(key)) {
          partial.add_field(key, value);
          return false;
        }
        md = mode::follows_body;
        return add_to_message(line);
      }
      case mode::follows_body: {
        std::string_view before;
        if (split_end_marker(line, before)) {
          if (!before.empty()) partial.add_line(before);
          md = mode::follows_end;
        } else {
          partial.add_line(line);
        }
        return false;
      }
      case mode::follows_end:
      case mode::text:
        if (line.empty()) return true;
        partial.add_line(line);
        return false;
      case mode::fields: break;
    }
    if (line.empty()) return true;
    std::string_view key;
    std::string_view value;
    bool has_colon = false;
    split_field(line, key, value, has_colon);
    partial.add_field(key, value);
    return false;
  }

  // Drops the message being built when its bytes (line ends included) exceed the limit.
  bool over_size() const noexcept {
    return in_message && scan - msg_start > opts.limits.max_message;
  }

  // The limit an unfinished line [from, stop) has already crossed, if any. Both the check
  // before a line end arrives and the one on a complete line (stop = its '\n') use it, so
  // where reads split the stream never changes the outcome; when both limits are crossed,
  // the one crossed at the earlier byte wins.
  bool pending_error(std::size_t from, std::size_t stop, error& e) const noexcept {
    // Too long once it holds max_line + 2 bytes: one trailing CR may belong to the CRLF.
    const std::size_t line_at = saturating_add(from, saturating_add(opts.limits.max_line, 2));
    std::size_t message_at = never;
    if (in_message) {
      message_at = saturating_add(msg_start, saturating_add(opts.limits.max_message, 1));
      // CRs alone may still become the blank line that completes the message.
      const char* base = buf.get();
      std::size_t first_data = from;
      while (first_data < stop && base[first_data] == '\r') ++first_data;
      message_at = first_data == stop ? never : std::max(message_at, first_data + 1);
    }
    if (std::min(line_at, message_at) > stop) return false;
    e = line_at <= message_at ? error::line_too_long : error::message_too_large;
    return true;
  }

  void finish_message(message& out) noexcept {
    using std::swap;
    swap(out, partial);
    partial.clear();
    in_message = false;
    md = mode::fields;
    begin = scan;
  }

  // The common case, on a fast path: messages of "Key: Value" lines (Event, Action, any
  // Response but Follows) that cross no limit, and blank lines between messages. Any other
  // line, or one not complete yet, is left unconsumed for the general path (false), which
  // therefore decides every limit and every unusual case exactly as before. True when `out`
  // got a message.
  bool fast_lines(message& out) {
    if (skipping || searched > scan) return false;  // resumed mid-line: its colon is unknown
    if (!in_message && !fast_start()) return false;
    return md == mode::fields && fast_fields(out);
  }

  // Skips blank lines and starts a message with a "Key: Value" first line; false when it met
  // anything else (left to the general path).
  bool fast_start() {
    if (stream_start && opts.expect_banner) return false;  // the banner, maybe
    const char* const base = buf.get();
    for (;;) {
      std::size_t colon = never;
      const std::size_t pos = win.line_end(masks_of, base, scan, end, colon);
      if (pos == end) {
        searched = end;
        return false;
      }
      const std::size_t span = pos - scan;
      if (span > opts.limits.max_line) return false;
      std::size_t len = span;
      while (len != 0 && base[scan + len - 1] == '\r') --len;
      if (len == 0) {  // an empty message between two others
        begin = scan = searched = pos + 1;
        continue;
      }
      if (colon >= scan + len || pos + 1 - scan > opts.limits.max_message ||
          opts.limits.max_fields == 0) {
        return false;
      }
      const char* const line = base + scan;
      const std::size_t k = colon - scan;
      std::size_t v = k + 1;
      if (v < len && line[v] == ' ') ++v;
      const std::string_view key(line, k);
      const std::string_view value(line + v, len - v);
      message_kind kind = message_kind::event;
      if (iequals(key, "Event")) {
        kind = message_kind::event;
      } else if (iequals(key, "Response") && !iequals(value, "Follows")) {
        kind = message_kind::response;
      } else if (iequals(key, "Action")) {
        kind = message_kind::action;
      } else {
        return false;
      }
      stream_start = false;
      in_message = true;
      begin = msg_start = scan;
      items = 1;
      md = mode::fields;
      partial.set_kind(kind);  // partial is always clear between messages
      partial.add_field(key, value);
      scan = searched = pos + 1;
      return true;
    }
  }

  // The fields of a message up to its blank line, in one tight loop on local copies (stores
  // into the message's fields could otherwise alias the parser's members and force reloads).
  bool fast_fields(message& out) {
    const char* const base = buf.get();
    const std::size_t stop = end;
    const std::size_t max_line = opts.limits.max_line;
    // A line ending at `pos` keeps the message within max_message while pos < msg_limit.
    const std::size_t msg_limit = saturating_add(msg_start, opts.limits.max_message);
    const std::size_t max_fields = opts.limits.max_fields;
    std::size_t fields_left = max_fields - items;  // items <= max_fields inside a message
    const detail::mask_fn masks = masks_of;
    mask_window w = win;
    std::size_t line_begin = scan;
    bool done = false;
    for (;;) {
      std::size_t colon = never;
      const std::size_t pos = w.line_end(masks, base, line_begin, stop, colon);
      if (pos == stop) {
        searched = stop;
        break;
      }
      if (pos - line_begin > max_line || pos >= msg_limit) break;
      std::size_t len = pos - line_begin;
      if (len != 0 && base[pos - 1] == '\r') {
        --len;
        while (len != 0 && base[line_begin + len - 1] == '\r') --len;
      }
      if (len == 0) {
        line_begin = pos + 1;
        done = true;
        break;
      }
      if (fields_left == 0) break;
      --fields_left;
      const char* const line = base + line_begin;
      if (colon < line_begin + len) {
        const std::size_t k = colon - line_begin;
        std::size_t v = k + 1;
        if (v < len && line[v] == ' ') ++v;
        partial.add_field(std::string_view(line, k), std::string_view(line + v, len - v));
      } else {
        const std::string_view whole(line, len);
        partial.add_field(whole, whole.substr(len));  // an empty value at the line's end
      }
      line_begin = pos + 1;
    }
    win = w;
    items = max_fields - fields_left;
    scan = line_begin;
    if (searched < scan) searched = scan;
    if (done) finish_message(out);
    return done;
  }

  parse_result next(message& out) {
    for (;;) {
      if (fast_lines(out)) return {parse_status::message, {}};
      if (skip_line) {
        const char* base = buf.get();
        const void* nl = scan < end ? std::memchr(base + scan, '\n', end - scan) : nullptr;
        if (nl == nullptr) {
          begin = scan = searched = end;  // nothing of the overlong line is kept
          return {};
        }
        scan = static_cast<std::size_t>(static_cast<const char*>(nl) - base) + 1;
        begin = searched = scan;
        skip_line = false;
        continue;
      }
      std::string_view line;
      std::size_t after = 0;
      error e{};
      if (!next_line(line, after)) {
        // The unfinished line is already too long, or makes the message too large.
        if (pending_error(scan, end, e)) {
          if (skipping) {  // part of a message already reported: drop it quietly
            skip_line = true;
            continue;
          }
          return fail(e, false);
        }
        return {};
      }
      const std::size_t line_begin = scan;
      scan = searched = after;
      // The line's bytes without its line end: the '\n' and at most one CR before it. A line
      // made only of many CRs is therefore too long, not blank, as it is before its '\n'.
      std::size_t raw = after - 1 - line_begin;
      if (raw != 0 && buf[after - 2] == '\r') --raw;
      const bool too_long = raw > opts.limits.max_line;
      if (skipping) {  // one error per dropped message: the rest of it goes silently
        begin = scan;
        if (line.empty() && !too_long) skipping = false;
        continue;
      }
      if (pending_error(line_begin, after - 1, e)) return fail(e, true);
      if (too_long) return fail(error::line_too_long, true);
      if (!in_message) {
        if (line.empty()) {  // an empty message between two others
          begin = scan;
          continue;
        }
        std::string_view key;
        std::string_view value;
        bool has_colon = false;
        split_field(line, key, value, has_colon);
        // Only the first line of a connection can be the banner; a colon-less line later on
        // starts a text message even when it contains a '/'.
        const bool first_line_of_stream = stream_start;
        stream_start = false;
        if (!has_colon && opts.expect_banner && first_line_of_stream) {
          server_banner = parse_banner(line);
          out.clear();
          out.set_kind(message_kind::banner);
          out.add_line(line);
          begin = scan;
          return {parse_status::message, {}};
        }
        start_message(line_begin, line, key, value, has_colon);
        if (over_size()) return fail(error::message_too_large, true);
        if (items > opts.limits.max_fields) return fail(error::too_many_fields, true);
        continue;
      }
      const bool done = add_to_message(line);
      if (over_size()) {
        if (!done) return fail(error::message_too_large, true);
        drop_message();  // the blank line that ends it is consumed: nothing left to skip
        begin = scan;
        return {parse_status::error, error::message_too_large};
      }
      if (!done) {
        if (++items > opts.limits.max_fields) return fail(error::too_many_fields, true);
        continue;
      }
      finish_message(out);
      return {parse_status::message, {}};
    }
  }
};

parser::parser(parser_options options) : impl_(std::make_unique<impl>(options)) {}
parser::parser(parser&&) noexcept = default;
parser& parser::operator=(parser&&) noexcept = default;
parser::~parser() = default;

char* parser::prepare(std::size_t n) { return impl_->prepare(n); }

void parser::commit(std::size_t n) noexcept { impl_->end += std::min(n, impl_->cap - impl_->end); }

void parser::feed(std::string_view bytes) {
  if (bytes.empty()) return;
  std::memcpy(prepare(bytes.size()), bytes.data(), bytes.size());
  commit(bytes.size());
}

parse_result parser::next(message& out) { return impl_->next(out); }

std::optional<error> parser::finish() const noexcept {
  const impl& s = *impl_;
  if (s.skipping) return std::nullopt;  // already reported
  if (s.in_message) return error::incomplete_message;
  for (std::size_t i = s.scan; i < s.end; ++i) {
    if (s.buf[i] != '\r' && s.buf[i] != '\n') return error::incomplete_message;
  }
  return std::nullopt;
}

const std::optional<banner>& parser::server_banner() const noexcept { return impl_->server_banner; }

// From `begin`: the lines of a message still being assembled are not returned yet either.
std::size_t parser::buffered() const noexcept { return impl_->end - impl_->begin; }

std::size_t parser::capacity() const noexcept { return impl_->cap; }

const parser_options& parser::options() const noexcept { return impl_->opts; }

void parser::release() noexcept {
  impl& s = *impl_;
  if (s.begin != s.end || s.in_message) return;
  s.buf.reset();
  s.cap = 0;
  s.begin = s.scan = s.searched = s.end = 0;
  s.win.forget();
}

void parser::reset() noexcept {
  impl& s = *impl_;
  s.drop_message();
  s.begin = s.scan = s.searched = s.end = 0;
  s.win.forget();
  s.stream_start = true;
  s.skipping = s.skip_line = false;
  s.server_banner.reset();
}

}  // namespace ami::proto
