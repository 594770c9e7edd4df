// One AGI session: a channel running AGI, over AsyncAGI (ami/agi/async_agi.hpp) or FastAGI
// (ami/agi/fastagi_server.hpp). Both transports give the same interface:
//
//   s->async_exec(ami::agi::answer{}, [](error_code ec, ami::agi::status_result r) {...});
//   s->async_exec(ami::agi::get_data{"prompt", 5s, 4}, asio::use_future);
//   s->async_exec(ami::agi::command{"NOOP", {"hi"}}, token);   // completes with the reply
//
// Commands of one session run one at a time, in the order they were issued; the next is
// sent once the previous one's reply arrived. Completion: void(error_code, C::result_type)
// through boost::asio::async_initiate (callbacks, use_future, use_awaitable, deferred, ...),
// never inside the initiating call. Errors:
//   agi_invalid_command (510), agi_usage (520: the result's raw.usage has the text),
//   dead_channel (511, or the channel hung up), with the reply in the result's `raw`
//   agi_invalid_argument   CR, LF or NUL in the command; nothing was sent
//   agi_session_ended      the session ended (AsyncAGIEnd, the FastAGI socket closed, close())
//   connection_lost        the AMI connection (AsyncAGI) or the socket failed
//   agi_timeout            FastAGI: no reply within fastagi_options::reply_timeout
//   agi_malformed_reply    the reply could not be parsed (the session goes on)
// When the session ends, the command in flight and every queued one complete at once with
// the reason, and later commands complete with it too: nothing waits for ever. A command
// cannot be withdrawn once issued (AGI has no way to abort one), so cancellation slots are
// not used: end the session (close()) to stop waiting.
//
// Threads: every member may be called from any thread; the session works on its executor
// (the client's strand for AsyncAGI, a strand per connection for FastAGI).
#pragma once

#include "ami/agi/command.hpp"
#include "ami/agi/commands.hpp"
#include "ami/agi/environment.hpp"
#include "ami/agi/reply.hpp"
#include "ami/detail/tracked_handler.hpp"
#include "ami/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/system/error_code.hpp>

#include <atomic>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace ami::agi {

namespace detail {

// A queued command's completion, type-erased.
class exec_op {
 public:
  exec_op() = default;
  exec_op(const exec_op&) = delete;
  exec_op& operator=(const exec_op&) = delete;
  virtual ~exec_op() = default;
  // Hands the outcome to the handler through its executor (never inline).
  virtual void complete(const boost::system::error_code& ec, reply r) = 0;
};

// The typed result of a reply: parsed for a 200, otherwise only `raw` is set.
template <class C>
typename C::result_type make_result(bool parsed, reply r) {
  using result = typename C::result_type;
  if constexpr (std::is_same_v<result, reply>) {
    return r;
  } else {
    if (parsed) return C::parse(std::move(r));
    result out{};
    out.raw = std::move(r);
    return out;
  }
}

template <class C, class Handler>
class exec_op_impl final : public exec_op {
 public:
  template <class H>
  exec_op_impl(H&& h, const boost::asio::any_io_executor& ex) : handler_(std::forward<H>(h), ex) {}

  void complete(const boost::system::error_code& ec, reply r) override {
    const bool parsed = !ec && r.code == 200;
    handler_.post(ec, make_result<C>(parsed, std::move(r)));
  }

 private:
  ami::detail::tracked_handler<Handler> handler_;
};

struct initiate_exec;

}  // namespace detail

class session : public std::enable_shared_from_this<session> {
 public:
  using executor_type = boost::asio::any_io_executor;

  session(const session&) = delete;
  session& operator=(const session&) = delete;
  virtual ~session();

  // The agi_* environment the session started with.
  const environment& env() const noexcept { return env_; }
  const std::string& channel() const noexcept { return env_.channel; }
  executor_type get_executor() const noexcept { return executor_; }

  // Sends a command (a typed one from ami/agi/commands.hpp, or ami::agi::command) once the
  // commands before it have their replies. See the top of this file.
  template <class C, class Token>
  auto async_exec(const C& cmd, Token&& token) {
    using result = typename C::result_type;
    return boost::asio::async_initiate<Token, void(boost::system::error_code, result)>(
        initiate<C>{shared_from_this()}, token, cmd.to_command());
  }

  // True once the session ended (the reason is what commands complete with).
  bool ended() const noexcept { return ended_.load(); }
  // True once the channel is known to be hung up (HANGUP, 511, Hangup event; for AsyncAGI
  // also a Hangup that comes after the AsyncAGIEnd which ended the session).
  bool hung_up() const noexcept { return hung_up_.load(); }
  // Commands waiting, the one in flight included (a snapshot).
  std::size_t pending() const noexcept { return pending_.load(); }

  // Ends the session from this side: FastAGI closes the socket (Asterisk continues the
  // dialplan), AsyncAGI sends ASYNCAGI BREAK. Commands still queued complete with
  // agi_session_ended.
  virtual void close() = 0;

 protected:
  session(executor_type ex, environment env);

  // Called on the executor by the queue: send this command line (no line end).
  virtual void transmit(const std::string& line) = 0;
  // The transport reports the reply to the command in flight (on the executor). A reply
  // with no command in flight is ignored.
  void deliver(reply r);
  // The command in flight failed without ending the session (a malformed reply).
  void fail_current(const boost::system::error_code& ec);
  // The session ended: the command in flight, the queued ones and any later one complete
  // with `ec`. Idempotent (the first reason stays).
  void finish(const boost::system::error_code& ec);
  void mark_hung_up() noexcept { hung_up_.store(true); }
  // For transports that read the environment after constructing the session; only before
  // the session is handed out.
  environment& mutable_env() noexcept { return env_; }
  bool busy() const noexcept { return busy_; }

 private:
  template <class C>
  struct initiate {
    std::shared_ptr<session> self;
    template <class Handler>
    void operator()(Handler&& h, command c) const {
      auto op = std::make_unique<detail::exec_op_impl<C, std::decay_t<Handler>>>(
          std::forward<Handler>(h), self->executor_);
      std::string line;
      const auto invalid = format_command(c, line);
      self->enqueue(std::move(line), invalid, std::move(op));
    }
  };

  struct entry {
    std::string line;
    std::unique_ptr<detail::exec_op> op;
  };

  void enqueue(std::string line, std::optional<error> invalid, std::unique_ptr<detail::exec_op> op);
  void send_next();

  executor_type executor_;
  environment env_;
  std::deque<entry> queue_;  // the front is in flight when busy_
  bool busy_ = false;
  boost::system::error_code end_reason_;
  std::atomic<bool> ended_{false};
  std::atomic<bool> hung_up_{false};
  std::atomic<std::size_t> pending_{0};
};

}  // namespace ami::agi
