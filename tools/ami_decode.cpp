// ami-decode: turns raw AMI bytes (a capture of either side of a connection) into one JSON
// object per message, or into counts with --summary.
#include "json.hpp"

#include "ami/error.hpp"
#include "ami/message.hpp"
#include "ami/proto/banner.hpp"
#include "ami/proto/parser.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace {

constexpr std::size_t read_size = 64 * 1024;

constexpr int exit_ok = 0;
constexpr int exit_malformed = 1;
constexpr int exit_usage = 2;

constexpr const char* usage_text =
    "Usage: ami-decode [--summary] [FILE...]\n"
    "\n"
    "Decodes raw Asterisk Manager Interface bytes (what a server sent, or what a client\n"
    "sent) read from each FILE, or from standard input when there is no FILE or FILE is -.\n"
    "The side is decided per file from its first line: a line starting with 'Action:' means\n"
    "client-side bytes, anything else (normally the 'Asterisk Call Manager/x.y.z' banner)\n"
    "means server-side bytes.\n"
    "\n"
    "Output: one JSON object per line and per message, in input order:\n"
    "  {\"kind\":\"event\",\"fields\":[[\"Event\",\"Hangup\"],[\"Channel\",\"...\"],...]}\n"
    "  kind is banner, action, response, event or text. Fields keep their wire order and\n"
    "  duplicates. The banner adds \"banner\" (the line) and \"version\" (null when it does\n"
    "  not parse); a legacy 'Response: Follows' Command answer adds \"output\" (its body\n"
    "  lines); a text message adds \"lines\".\n"
    "  A malformed message gives {\"kind\":\"error\",\"error\":\"<name>\"} (line_too_long,\n"
    "  too_many_fields, message_too_large, or incomplete_message when a file ends inside a\n"
    "  message) and decoding goes on with the next message.\n"
    "  Strings are JSON-escaped: control characters as \\u00XX, and every byte that is not\n"
    "  well-formed UTF-8 as \\u00XX with that byte's value.\n"
    "\n"
    "Options:\n"
    "  --summary  print, after all files, a single JSON object instead of the messages:\n"
    "             {\"messages\":N,\"kinds\":{\"banner\":N,\"action\":N,\"response\":N,\n"
    "             "
    "\"event\":N,\"text\":N},\"events\":{\"<name>\":N,...},\"errors\":{\"<name>\":N,...}}\n"
    "             (messages excludes errors; events and errors are sorted by name)\n"
    "  -h, --help print this help and exit\n"
    "  --         end of options\n"
    "\n"
    "Exit status: 0 when every message decoded, 1 when any message was malformed, 2 on a\n"
    "usage error or an unreadable file (reported on standard error; the other files are\n"
    "still decoded).\n";

constexpr ami::message_kind all_kinds[] = {ami::message_kind::banner, ami::message_kind::action,
                                           ami::message_kind::response, ami::message_kind::event,
                                           ami::message_kind::text};

// by_kind below is indexed by the enum's value.
static_assert(static_cast<int>(ami::message_kind::banner) == 0 &&
              static_cast<int>(ami::message_kind::text) == std::size(all_kinds) - 1);

struct summary {
  std::size_t messages = 0;
  std::size_t by_kind[std::size(all_kinds)] = {};
  std::map<std::string, std::size_t, std::less<>> events;
  std::map<std::string, std::size_t, std::less<>> errors;

  void count(const ami::message& m) {
    ++messages;
    ++by_kind[static_cast<std::size_t>(m.kind())];
    if (m.is_event()) increment(events, m.event_name());
  }
  void count(ami::error e) { increment(errors, ami::error_name(e)); }

  static void increment(std::map<std::string, std::size_t, std::less<>>& counts,
                        std::string_view name) {
    const auto it = counts.find(name);
    if (it != counts.end()) {
      ++it->second;
    } else {
      counts.emplace(std::string(name), 1);
    }
  }

  void write(std::string& out) const {
    boost::json::object kinds;
    for (const auto k : all_kinds) {
      kinds[ami::to_string(k)] = by_kind[static_cast<std::size_t>(k)];
    }
    boost::json::object doc;
    doc["messages"] = messages;
    doc["kinds"] = std::move(kinds);
    doc["events"] = counts_object(events);
    doc["errors"] = counts_object(errors);
    out += ami::tools::json_text(doc);
    out.push_back('\n');
  }

  static boost::json::object counts_object(
      const std::map<std::string, std::size_t, std::less<>>& counts) {
    boost::json::object o;
    for (const auto& [name, n] : counts) o[ami::tools::json_string(name)] = n;
    return o;
  }
};

void write_message(std::string& out, const ami::message& m) {
  boost::json::object doc;
  doc["kind"] = ami::to_string(m.kind());
  if (m.kind() == ami::message_kind::banner) {
    const std::string_view line = m.lines().empty() ? std::string_view{} : m.lines().front();
    doc["banner"] = ami::tools::json_string(line);
    const auto b = ami::proto::parse_banner(line);
    doc["version"] = b.protocol ? boost::json::value(b.protocol->to_string()) : nullptr;
  }
  boost::json::array fields;
  for (const auto& f : m) {
    fields.push_back(
        boost::json::array{ami::tools::json_string(f.name), ami::tools::json_string(f.value)});
  }
  doc["fields"] = std::move(fields);
  if (m.kind() == ami::message_kind::text) {
    doc["lines"] = ami::tools::json_strings(m.lines());
  } else if (m.kind() != ami::message_kind::banner && !m.lines().empty()) {
    doc["output"] = ami::tools::json_strings(m.lines());
  }
  out += ami::tools::json_text(doc);
  out.push_back('\n');
}

void write_error(std::string& out, ami::error e) {
  boost::json::object doc;
  doc["kind"] = "error";
  doc["error"] = ami::error_name(e);
  out += ami::tools::json_text(doc);
  out.push_back('\n');
}

// Client-side bytes start with an Action; everything else is read as server-side bytes.
bool looks_client_side(std::string_view head) {
  std::size_t pos = head.find_first_not_of("\r\n");
  if (pos == std::string_view::npos) return false;
  head.remove_prefix(pos);
  const auto colon = head.find(':');
  const auto nl = head.find('\n');
  if (colon == std::string_view::npos || (nl != std::string_view::npos && nl < colon)) {
    return false;
  }
  return ami::iequals(head.substr(0, colon), "Action");
}

class decoder {
 public:
  explicit decoder(bool summary_only) : summary_only_(summary_only) {}

  // Decodes one input; false when it could not be read.
  bool run(const char* path) {
    const bool is_stdin = path == nullptr || std::strcmp(path, "-") == 0;
    const char* name = is_stdin ? "standard input" : path;
    const int fd = is_stdin ? STDIN_FILENO : ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      std::fprintf(stderr, "ami-decode: cannot open %s: %s\n", name, std::strerror(errno));
      return false;
    }
    const bool ok = decode(fd, name);
    if (!is_stdin) ::close(fd);
    return ok;
  }

  bool any_malformed() const noexcept { return malformed_; }

  void finish() {
    if (!summary_only_) return;
    out_.clear();
    summary_.write(out_);
    flush();
  }

 private:
  // Reads once; the byte count, 0 at end of input, -1 on error (errno set).
  static long read_some(int fd, char* dest, std::size_t n) {
    for (;;) {
      const ssize_t got = ::read(fd, dest, n);
      if (got >= 0 || errno != EINTR) return static_cast<long>(got);
    }
  }

  bool decode(int fd, const char* name) {
    // Enough of the input to see its first line, to pick the side before parsing.
    std::string head;
    bool eof = false;
    while (head.size() < read_size && head.find('\n') == std::string::npos) {
      const std::size_t had = head.size();
      head.resize(read_size);
      const long got = read_some(fd, head.data() + had, read_size - had);
      if (got < 0) return read_failed(name);
      head.resize(had + static_cast<std::size_t>(got));
      if (got == 0) {
        eof = true;
        break;
      }
    }
    ami::proto::parser_options opts;
    opts.expect_banner = !looks_client_side(head);
    ami::proto::parser p(opts);
    p.feed(head);
    drain(p);
    while (!eof) {
      char* dest = p.prepare(read_size);
      const long got = read_some(fd, dest, read_size);
      if (got < 0) return read_failed(name);
      if (got == 0) break;
      p.commit(static_cast<std::size_t>(got));
      drain(p);
    }
    if (const auto e = p.finish()) report(*e);
    flush();
    return true;
  }

  bool read_failed(const char* name) {
    std::fprintf(stderr, "ami-decode: cannot read %s: %s\n", name, std::strerror(errno));
    flush();
    return false;
  }

  void drain(ami::proto::parser& p) {
    for (;;) {
      const auto r = p.next(msg_);
      if (r.status == ami::proto::parse_status::need_more) break;
      if (r.status == ami::proto::parse_status::error) {
        report(r.ec);
      } else if (summary_only_) {
        summary_.count(msg_);
      } else {
        write_message(out_, msg_);
      }
    }
    // The views in msg_ die with the next read, so the text leaves now.
    flush();
  }

  void report(ami::error e) {
    malformed_ = true;
    if (summary_only_) {
      summary_.count(e);
    } else {
      write_error(out_, e);
    }
  }

  void flush() {
    if (out_.empty()) return;
    std::fwrite(out_.data(), 1, out_.size(), stdout);
    std::fflush(stdout);
    out_.clear();
  }

  bool summary_only_;
  bool malformed_ = false;
  ami::message msg_;
  std::string out_;
  summary summary_;
};

}  // namespace

int main(int argc, char** argv) {
  bool summary_only = false;
  std::vector<const char*> files;
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (options_done || arg == "-" || arg.empty() || arg.front() != '-') {
      files.push_back(argv[i]);
    } else if (arg == "--") {
      options_done = true;
    } else if (arg == "--summary") {
      summary_only = true;
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(usage_text, stdout);
      return exit_ok;
    } else {
      std::fprintf(stderr, "ami-decode: unknown option %s (see --help)\n", argv[i]);
      return exit_usage;
    }
  }
  if (files.empty()) files.push_back(nullptr);

  decoder d(summary_only);
  bool unreadable = false;
  for (const char* f : files) {
    if (!d.run(f)) unreadable = true;
  }
  d.finish();
  if (std::ferror(stdout) != 0) {
    std::fprintf(stderr, "ami-decode: cannot write the output\n");
    return exit_usage;
  }
  if (unreadable) return exit_usage;
  return d.any_malformed() ? exit_malformed : exit_ok;
}
