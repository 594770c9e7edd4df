// The byte stream under a client connection. Plain TCP today; the client only uses this
// interface, so a TLS stream can take its place without touching the session logic.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <cstdint>
#include <string>
#include <utility>

namespace ami::detail {

class transport {
 public:
  // Whether this build can speak TLS.
  static constexpr bool tls_supported = false;

  // `ex` is the client's strand: intermediate steps run on it as well.
  explicit transport(const boost::asio::any_io_executor& ex) : resolver_(ex), socket_(ex) {}

  // Resolves and connects (each resolved address in turn). Handler: void(error_code).
  template <class Handler>
  void async_connect(const std::string& host, std::uint16_t port, Handler&& handler) {
    resolver_.async_resolve(
        host, std::to_string(port),
        [this, h = std::forward<Handler>(handler)](
            const boost::system::error_code& ec,
            const boost::asio::ip::tcp::resolver::results_type& results) mutable {
          if (ec) {
            std::move(h)(ec);
            return;
          }
          boost::asio::async_connect(
              socket_, results,
              [this, h = std::move(h)](const boost::system::error_code& cec,
                                       const boost::asio::ip::tcp::endpoint&) mutable {
                if (!cec) {
                  boost::system::error_code ignored;
                  socket_.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
                }
                std::move(h)(cec);
              });
        });
  }

  // Handler: void(error_code, std::size_t).
  template <class Handler>
  void async_read_some(boost::asio::mutable_buffer buf, Handler&& handler) {
    socket_.async_read_some(buf, std::forward<Handler>(handler));
  }

  // Writes everything. Handler: void(error_code, std::size_t).
  template <class Handler>
  void async_write(boost::asio::const_buffer buf, Handler&& handler) {
    boost::asio::async_write(socket_, buf, std::forward<Handler>(handler));
  }

  // Cancels everything pending; their handlers complete with operation_aborted.
  void close() noexcept {
    resolver_.cancel();
    boost::system::error_code ignored;
    socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

 private:
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::ip::tcp::socket socket_;
};

}  // namespace ami::detail
