// A minimal AMI peer on a raw Asio socket, for testing the server without the client:
// every wait has a deadline, and what arrives is parsed with ami::proto::parser.
#pragma once

#include "ami/message.hpp"
#include "ami/proto/parser.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <string>

namespace ami::test {

class raw_client {
 public:
  using clock = std::chrono::steady_clock;

  raw_client() = default;

  bool connect(unsigned short port, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    namespace asio = boost::asio;
    bool done = false;
    boost::system::error_code result;
    socket_.async_connect({asio::ip::make_address("127.0.0.1"), port},
                          [&](boost::system::error_code ec) {
                            done = true;
                            result = ec;
                          });
    io_.restart();
    io_.run_for(timeout);
    if (!done) {
      socket_.close();
      io_.restart();
      io_.run();
      return false;
    }
    return !result;
  }

  void send(const std::string& bytes) { boost::asio::write(socket_, boost::asio::buffer(bytes)); }

  // Sends "Action: name", the fields, and the empty line.
  void action(const std::string& name,
              const std::vector<std::pair<std::string, std::string>>& fields = {}) {
    std::string out = "Action: " + name + "\r\n";
    for (const auto& [k, v] : fields) out += k + ": " + v + "\r\n";
    out += "\r\n";
    send(out);
  }

  // Reads until pred() holds, the peer closes, or the deadline passes.
  bool read_until(const std::function<bool()>& pred,
                  std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = clock::now() + timeout;
    while (!pred()) {
      if (eof_ || clock::now() >= deadline) return false;
      bool done = false;
      socket_.async_read_some(boost::asio::buffer(buf_),
                              [&](boost::system::error_code ec, std::size_t n) {
                                done = true;
                                if (ec) {
                                  if (ec != boost::asio::error::operation_aborted) eof_ = true;
                                  return;
                                }
                                raw_.append(buf_, n);
                                parser_.feed(std::string_view(buf_, n));
                                drain();
                              });
      io_.restart();
      io_.run_until(deadline);
      if (!done) {
        socket_.cancel();
        io_.restart();
        io_.run();
      }
    }
    return true;
  }

  // The next message (banner included), waiting up to the deadline.
  bool next(ami::message& out, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    if (!read_until([&] { return !inbox_.empty(); }, timeout)) return false;
    out = std::move(inbox_.front());
    inbox_.pop_front();
    return true;
  }

  // Skips events until a message whose first field is Response arrives.
  bool next_response(ami::message& out,
                     std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = clock::now() + timeout;
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
      if (left.count() <= 0 || !next(out, left)) return false;
      if (out.is_response()) return true;
    }
  }

  // Waits for an event of this name, skipping others.
  bool next_event(const std::string& name, ami::message& out,
                  std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = clock::now() + timeout;
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
      if (left.count() <= 0 || !next(out, left)) return false;
      if (out.is_event() && ami::iequals(out.event_name(), name)) return true;
    }
  }

  bool wait_eof(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    return read_until([] { return false; }, timeout) || eof_;
  }

  // Reads until `n` raw bytes arrived in total (or EOF / deadline).
  bool wait_bytes(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    return read_until([&] { return raw_.size() >= n; }, timeout);
  }

  // Logs in with the default account; returns the response.
  ami::message login(const std::string& user = "admin", const std::string& secret = "amp111",
                     const std::vector<std::pair<std::string, std::string>>& extra = {}) {
    std::vector<std::pair<std::string, std::string>> f{
        {"Username", user}, {"Secret", secret}, {"ActionID", "login"}};
    for (const auto& e : extra) f.push_back(e);
    action("Login", f);
    ami::message m;
    next_response(m);
    return m;
  }

  const std::string& raw() const noexcept { return raw_; }
  std::deque<ami::message>& inbox() noexcept { return inbox_; }
  bool eof() const noexcept { return eof_; }
  boost::asio::ip::tcp::socket& socket() noexcept { return socket_; }

 private:
  void drain() {
    ami::message m;
    for (;;) {
      const auto r = parser_.next(m);
      if (r.status == ami::proto::parse_status::need_more) return;
      if (r.status == ami::proto::parse_status::message) inbox_.push_back(m);  // owned copy
    }
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_{io_};
  ami::proto::parser parser_;
  std::deque<ami::message> inbox_;
  std::string raw_;
  char buf_[8192];
  bool eof_ = false;
};

}  // namespace ami::test
