// AsyncAGI over an ami::client: dialplan AGI(agi:async) hands the channel to the AMI
// connection. Each AsyncAGIStart becomes an ami::agi::session (see session.hpp) whose
// commands go out as `Action: AGI` with a unique CommandID and complete on the matching
// AsyncAGIExec (its URL-encoded Result parsed as a reply).
//
//   ami::agi::async_agi agi{client};
//   agi.async_accept([](error_code ec, std::shared_ptr<ami::agi::session> s) { ... });
//
// A new session goes to the oldest pending async_accept; without one, to the on_session
// slots when any are connected; otherwise it waits in a backlog (max_backlog; beyond it the
// session is sent back to the dialplan with ASYNCAGI BREAK). A session ends, completing its
// command in flight and every queued one, on AsyncAGIEnd (agi_session_ended), a Hangup of
// its channel (dead_channel), an `AGI` action refused because the channel is gone
// (dead_channel) or the AMI connection dropping (connection_lost). close() on a session
// sends ASYNCAGI BREAK, returning the channel to the dialplan.
//
// Field sets of Asterisk 18 and later are read alike: Env, Result, CommandID / CommandId.
// The client must outlive this object; destroying it ends the sessions (operation_aborted)
// and pending accepts (operation_aborted).
#pragma once

#include "ami/agi/session.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/signals2/connection.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <functional>
#include <memory>

namespace ami {
class client;
}

namespace ami::agi {

namespace detail {
class async_agi_core;

class accept_op {
 public:
  accept_op() = default;
  accept_op(const accept_op&) = delete;
  accept_op& operator=(const accept_op&) = delete;
  virtual ~accept_op() = default;
  virtual void complete(const boost::system::error_code& ec, std::shared_ptr<session> s) = 0;
};

template <class Handler>
class accept_op_impl final : public accept_op {
 public:
  template <class H>
  accept_op_impl(H&& h, const boost::asio::any_io_executor& ex)
      : handler_(std::forward<H>(h), ex) {}

  void complete(const boost::system::error_code& ec, std::shared_ptr<session> s) override {
    handler_.post(ec, std::move(s));
  }

 private:
  ami::detail::tracked_handler<Handler> handler_;
};

const boost::asio::any_io_executor& core_executor(const async_agi_core& c) noexcept;
void core_accept(const std::shared_ptr<async_agi_core>& c, std::unique_ptr<accept_op> op);
}  // namespace detail

class async_agi {
 public:
  using session_slot = std::function<void(std::shared_ptr<session>)>;

  explicit async_agi(client& c, std::size_t max_backlog = 1024);
  async_agi(const async_agi&) = delete;
  async_agi& operator=(const async_agi&) = delete;
  ~async_agi();

  // Every new session, when no async_accept is waiting. Runs on the client's strand.
  boost::signals2::connection on_session(const session_slot& slot);

  // Waits for the next session. Signature: void(error_code, std::shared_ptr<session>);
  // operation_aborted when this object is destroyed first.
  template <class Token>
  auto async_accept(Token&& token) {
    return boost::asio::async_initiate<Token,
                                       void(boost::system::error_code, std::shared_ptr<session>)>(
        [core = core_](auto&& handler) {
          using h = std::decay_t<decltype(handler)>;
          detail::core_accept(
              core, std::make_unique<detail::accept_op_impl<h>>(
                        std::forward<decltype(handler)>(handler), detail::core_executor(*core)));
        },
        token);
  }

  // Sessions open now (a snapshot).
  std::size_t session_count() const noexcept;

 private:
  std::shared_ptr<detail::async_agi_core> core_;
};

}  // namespace ami::agi
