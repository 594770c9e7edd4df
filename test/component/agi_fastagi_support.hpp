// FastAGI component tests: the server on its own io_context thread, and a peer that acts
// as Asterisk on a plain socket, every read bounded by a deadline.
#pragma once

#include "ami/agi/fastagi_server.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace ami::test {

using namespace std::chrono_literals;

// A fastagi_server running on a thread of its own.
struct fastagi_fixture {
  explicit fastagi_fixture(ami::agi::fastagi_options o = make_options())
      : srv(io.get_executor(), o) {}
  ~fastagi_fixture() {
    srv.stop();
    guard.reset();
    if (runner.joinable()) runner.join();
  }
  static ami::agi::fastagi_options make_options() {
    ami::agi::fastagi_options o;
    o.port = 0;
    return o;
  }
  void start() {
    srv.start();
    runner = std::thread([this] { io.run(); });
  }

  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{io.get_executor()};
  ami::agi::fastagi_server srv;
  std::thread runner;
};

// What handlers report, waited for by the test thread with a deadline.
struct event_log {
  // Notifies under the lock: a waiter that returns may destroy the log at once.
  void add(std::string s) {
    const std::lock_guard<std::mutex> lock(mutex);
    lines.push_back(std::move(s));
    cv.notify_all();
  }
  bool wait_for(std::size_t n, std::chrono::milliseconds deadline = 10s) {
    std::unique_lock<std::mutex> lock(mutex);
    return cv.wait_for(lock, deadline, [&] { return lines.size() >= n; });
  }
  std::vector<std::string> get() {
    const std::lock_guard<std::mutex> lock(mutex);
    return lines;
  }
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::string> lines;
};

// Asterisk's side of one FastAGI connection.
class fake_asterisk {
 public:
  bool connect(unsigned short port) {
    boost::system::error_code result = boost::asio::error::timed_out;
    const boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), port);
    sock_.async_connect(ep, [&](const boost::system::error_code& ec) { result = ec; });
    run(5s);
    return !result;
  }
  bool write(const std::string& bytes) {
    boost::system::error_code result = boost::asio::error::timed_out;
    boost::asio::async_write(
        sock_, boost::asio::buffer(bytes),
        [&](const boost::system::error_code& ec, std::size_t) { result = ec; });
    run(5s);
    return !result;
  }
  // The next line without its LF; nothing on EOF, an error or the deadline.
  std::optional<std::string> read_line(std::chrono::milliseconds deadline = 5s) {
    std::optional<boost::system::error_code> result;
    std::size_t n = 0;
    boost::asio::async_read_until(sock_, boost::asio::dynamic_buffer(buffer_), '\n',
                                  [&](const boost::system::error_code& ec, std::size_t len) {
                                    result = ec;
                                    n = len;
                                  });
    run(deadline);
    if (!result || *result) {
      eof_ = result && *result == boost::asio::error::eof;
      return std::nullopt;
    }
    std::string line = buffer_.substr(0, n - 1);
    buffer_.erase(0, n);
    return line;
  }
  // True when the server closed the connection within the deadline.
  bool closed(std::chrono::milliseconds deadline = 5s) {
    while (read_line(deadline)) {
    }
    return eof_;
  }
  void close() {
    boost::system::error_code ignored;
    sock_.close(ignored);
  }

 private:
  void run(std::chrono::milliseconds deadline) {
    io_.restart();
    io_.run_for(deadline);
    if (!io_.stopped()) {  // the deadline passed: cancel and collect the handler
      boost::system::error_code ignored;
      sock_.cancel(ignored);
      io_.restart();
      io_.run_for(1s);
    }
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket sock_{io_};
  std::string buffer_;
  bool eof_ = false;
};

inline std::string fastagi_env(const std::string& script, const std::string& channel,
                               const std::string& extra = {}) {
  return "agi_network: yes\nagi_network_script: " + script +
         "\nagi_request: agi://127.0.0.1:4574/" + script + "\nagi_channel: " + channel +
         "\nagi_language: en\nagi_type: Local\nagi_uniqueid: 1.1\nagi_callerid: 5553000\n"
         "agi_context: default\nagi_extension: 801\nagi_priority: 1\n" +
         extra + "\n";
}

}  // namespace ami::test
