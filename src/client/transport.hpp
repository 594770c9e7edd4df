// The byte stream under a client connection: plain TCP, or TLS over it (amis://). The
// client only uses this interface. Reads and writes pick the stream with one branch (no
// virtual call); a plain connection never touches OpenSSL.
#pragma once

#include "ami/config.hpp"
#include "tls.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace ami::detail {

class transport {
 public:
  // `ex` is the client's strand: intermediate steps run on it as well.
  explicit transport(const boost::asio::any_io_executor& ex) : resolver_(ex), socket_(ex) {}

  // Makes the next async_connect speak TLS as cfg says. On failure (a file that cannot be
  // loaded, a name OpenSSL refuses) returns the error and `why()` says what went wrong.
  boost::system::error_code use_tls(const config& cfg) {
    boost::system::error_code ec;
    auto ctx = make_tls_context(cfg, ec, why_);
    if (!ctx) return ec;
    tls_ = std::make_unique<tls_layer>(std::move(*ctx), socket_, cfg);
    if (!prepare_tls_connection(tls_->stream.native_handle(), cfg, why_)) {
      tls_.reset();
      return make_error_code(boost::system::errc::invalid_argument);
    }
    return {};
  }

  // Resolves and connects (each resolved address in turn), then the TLS handshake when
  // use_tls() was called. Handler: void(error_code); a certificate that does not verify
  // gives error::tls_verify_failed, and why() the reason.
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
                if (cec || !tls_) {
                  std::move(h)(cec);
                  return;
                }
                tls_->stream.async_handshake(
                    boost::asio::ssl::stream_base::client,
                    [this, h = std::move(h)](const boost::system::error_code& hec) mutable {
                      if (!hec) {
                        std::move(h)(hec);
                        return;
                      }
                      std::move(h)(explain_handshake_failure(
                          tls_->stream.native_handle(), tls_->insecure, tls_->name, hec, why_));
                    });
              });
        });
  }

  // Handler: void(error_code, std::size_t).
  template <class Handler>
  void async_read_some(boost::asio::mutable_buffer buf, Handler&& handler) {
    if (tls_) {
      tls_->stream.async_read_some(buf, std::forward<Handler>(handler));
    } else {
      socket_.async_read_some(buf, std::forward<Handler>(handler));
    }
  }

  // Plain TCP only: waits until bytes (or the end of the stream) can be read, without
  // holding a buffer meanwhile. Handler: void(error_code).
  template <class Handler>
  void async_wait_readable(Handler&& handler) {
    socket_.async_wait(boost::asio::socket_base::wait_read, std::forward<Handler>(handler));
  }
  // Plain TCP only: reads what is there now, never blocking (would_block when nothing is).
  std::size_t read_available(boost::asio::mutable_buffer buf, boost::system::error_code& ec) {
    if (!socket_.non_blocking()) {
      socket_.non_blocking(true, ec);
      if (ec) return 0;
    }
    return socket_.read_some(buf, ec);
  }

  // Writes everything. Handler: void(error_code, std::size_t).
  template <class Handler>
  void async_write(boost::asio::const_buffer buf, Handler&& handler) {
    if (tls_) {
      boost::asio::async_write(tls_->stream, buf, std::forward<Handler>(handler));
    } else {
      boost::asio::async_write(socket_, buf, std::forward<Handler>(handler));
    }
  }

  // Cancels everything pending; their handlers complete with operation_aborted. A TLS
  // session ends without close_notify: the server sees the TCP connection close.
  void close() noexcept {
    resolver_.cancel();
    boost::system::error_code ignored;
    socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  bool tls() const noexcept { return tls_ != nullptr; }
  // Why use_tls() or the handshake failed (never a secret); empty otherwise.
  const std::string& why() const noexcept { return why_; }

 private:
  struct tls_layer {
    tls_layer(boost::asio::ssl::context c, boost::asio::ip::tcp::socket& s, const config& cfg)
        : ctx(std::move(c)), stream(s, ctx), insecure(cfg.tls_insecure), name(tls_peer_name(cfg)) {}
    boost::asio::ssl::context ctx;  // before the stream, which uses it
    boost::asio::ssl::stream<boost::asio::ip::tcp::socket&> stream;
    bool insecure;
    std::string name;  // verified (unless insecure) and sent as SNI
  };

  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<tls_layer> tls_;  // after the socket it wraps, so that it goes first
  std::string why_;
};

}  // namespace ami::detail
