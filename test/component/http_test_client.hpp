// A small HTTP client for tests (Boost.Beast): plain requests and Server-Sent Events
// streams, every operation bounded by a deadline so that a server that hangs fails the test.
// It runs its own io_context on the calling thread.
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ami::test {

// Runs `io` until `done` or the deadline; false when the deadline passed first.
inline bool run_io_until(boost::asio::io_context& io, const bool& done,
                         std::chrono::milliseconds deadline) {
  io.restart();
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!done) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= end || io.stopped()) return false;
    io.run_one_for(end - now);
  }
  return true;
}

struct http_answer {
  int status = 0;
  std::string content_type;
  std::string body;
  std::string www_authenticate;
};

// One GET (or another method) on a fresh connection; nullopt on a failure or a timeout.
inline std::optional<http_answer> http_request(
    unsigned short port, const std::string& target,
    boost::beast::http::verb method = boost::beast::http::verb::get,
    std::vector<std::pair<std::string, std::string>> headers = {},
    std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  beast::flat_buffer buffer;
  http::request<http::empty_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers) req.set(k, v);
  http::response<http::string_body> res;
  bool done = false;
  bool ok = false;
  stream.expires_after(deadline);
  stream.async_connect(
      boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port),
      [&](beast::error_code ec) {
        if (ec) {
          done = true;
          return;
        }
        http::async_write(stream, req, [&](beast::error_code wec, std::size_t) {
          if (wec) {
            done = true;
            return;
          }
          http::async_read(stream, buffer, res, [&](beast::error_code rec, std::size_t) {
            ok = !rec;
            done = true;
          });
        });
      });
  if (!run_io_until(io, done, deadline + std::chrono::seconds(1)) || !ok) return std::nullopt;
  http_answer a;
  a.status = static_cast<int>(res.result_int());
  a.content_type = std::string(res[http::field::content_type]);
  a.www_authenticate = std::string(res[http::field::www_authenticate]);
  a.body = std::move(res.body());
  return a;
}

// An event stream: the response's status, then its messages one by one.
class sse_client {
 public:
  explicit sse_client(unsigned short port, const std::string& target,
                      std::chrono::milliseconds deadline = std::chrono::seconds(5))
      : stream_(io_) {
    namespace http = boost::beast::http;
    bool done = false;
    req_ = {http::verb::get, target, 11};
    req_.set(http::field::host, "127.0.0.1");
    req_.set(http::field::accept, "text/event-stream");
    stream_.expires_after(deadline);
    stream_.async_connect(
        boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port),
        [&](boost::beast::error_code ec) {
          if (ec) {
            done = true;
            return;
          }
          http::async_write(stream_, req_, [&](boost::beast::error_code wec, std::size_t) {
            if (wec) {
              done = true;
              return;
            }
            http::async_read_header(stream_, buffer_, parser_,
                                    [&](boost::beast::error_code rec, std::size_t) {
                                      if (!rec) status_ = parser_.get().result_int();
                                      done = true;
                                    });
          });
        });
    run_io_until(io_, done, deadline + std::chrono::seconds(1));
    stream_.expires_never();
    // Bytes after the header that the parser did not take are the stream's first bytes.
    pending_ = boost::beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    content_type_ = std::string(parser_.get()[boost::beast::http::field::content_type]);
  }

  unsigned status() const noexcept { return status_; }
  const std::string& content_type() const noexcept { return content_type_; }

  // The next message that carries data (comments and retry lines skipped): its event name
  // and data; nullopt when the stream ended or the deadline passed.
  std::optional<std::pair<std::string, std::string>> next(
      std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    for (;;) {
      while (true) {
        const auto cut = pending_.find("\n\n");
        if (cut == std::string::npos) break;
        const std::string block = pending_.substr(0, cut);
        pending_.erase(0, cut + 2);
        std::string event = "message";
        std::string data;
        bool has_data = false;
        std::size_t pos = 0;
        while (pos <= block.size()) {
          const auto nl = std::min(block.find('\n', pos), block.size());
          const std::string line = block.substr(pos, nl - pos);
          pos = nl + 1;
          if (line.rfind("event: ", 0) == 0) event = line.substr(7);
          if (line.rfind("data: ", 0) == 0) {
            data += line.substr(6);
            has_data = true;
          }
        }
        if (has_data) return std::make_pair(event, data);
      }
      const auto now = std::chrono::steady_clock::now();
      if (now >= end) return std::nullopt;
      bool done = false;
      bool ok = false;
      std::size_t got = 0;
      stream_.expires_after(std::chrono::duration_cast<std::chrono::milliseconds>(end - now));
      stream_.async_read_some(boost::asio::buffer(chunk_),
                              [&](boost::beast::error_code ec, std::size_t n) {
                                ok = !ec;
                                got = n;
                                done = true;
                              });
      if (!run_io_until(io_, done, deadline + std::chrono::seconds(1)) || !ok) {
        return std::nullopt;
      }
      pending_.append(chunk_.data(), got);
    }
  }

  void close() {
    boost::beast::error_code ignored;
    stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

 private:
  boost::asio::io_context io_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  boost::beast::http::request<boost::beast::http::empty_body> req_;
  boost::beast::http::response_parser<boost::beast::http::empty_body> parser_;
  std::array<char, 4096> chunk_{};
  std::string pending_;
  std::string content_type_;
  unsigned status_ = 0;
};

}  // namespace ami::test
