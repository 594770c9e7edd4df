// The operations behind client's async_* functions: the user's handler, its executor's
// work guard and its cancellation slot, type-erased behind detail::operation.
#pragma once

#include "ami/action.hpp"
#include "ami/config.hpp"
#include "ami/detail/operation.hpp"
#include "ami/detail/router.hpp"
#include "ami/detail/tracked_handler.hpp"
#include "ami/originate.hpp"
#include "ami/response.hpp"
#include "ami/send_options.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace ami::detail {

class client_core;

// Entry points of the client's core (src/client). Callable from any thread: they continue
// on the client's strand. Every operation passed in completes exactly once.
const boost::asio::any_io_executor& core_executor(const client_core& c) noexcept;
// The operation's number: the ActionID counter of the action it sends first.
std::uint64_t core_reserve(client_core& c) noexcept;
void core_connect(const std::shared_ptr<client_core>& c, config cfg, std::uint64_t n,
                  operation_ptr op);
void core_run(const std::shared_ptr<client_core>& c, config cfg, std::uint64_t n, operation_ptr op);
void core_send(const std::shared_ptr<client_core>& c, action a, answer_kind answer,
               const send_options& opts, std::uint64_t n, operation_ptr op);
void core_logoff(const std::shared_ptr<client_core>& c, std::uint64_t n, operation_ptr op);
// Completes `op` with `ec` (through the handler's executor, never inline).
void core_fail(const std::shared_ptr<client_core>& c, operation_ptr op,
               const boost::system::error_code& ec);
// Cancels operation n (from a cancellation slot, on any thread).
void core_cancel(const std::weak_ptr<client_core>& c, std::uint64_t n);

// How each operation turns the collected response into its completion arguments.
struct result_none {
  template <class Handler>
  static auto bind(Handler&& h, const boost::system::error_code& ec, response&&) {
    return boost::asio::append(std::forward<Handler>(h), ec);
  }
};
struct result_response {
  template <class Handler>
  static auto bind(Handler&& h, const boost::system::error_code& ec, response&& r) {
    return boost::asio::append(std::forward<Handler>(h), ec, std::move(r));
  }
};
struct result_lines {
  template <class Handler>
  static auto bind(Handler&& h, const boost::system::error_code& ec, response&& r) {
    return boost::asio::append(std::forward<Handler>(h), ec, r.output());
  }
};
struct result_originate {
  template <class Handler>
  static auto bind(Handler&& h, const boost::system::error_code& ec, response&& r) {
    return boost::asio::append(std::forward<Handler>(h), ec, make_originate_result(std::move(r)));
  }
};

// Forwards the cancellation slot's signal to the client.
struct op_canceller {
  std::weak_ptr<client_core> core;
  std::uint64_t n;
  void operator()(boost::asio::cancellation_type_t type) const {
    using ct = boost::asio::cancellation_type;
    if ((type & (ct::terminal | ct::partial | ct::total)) != ct::none) core_cancel(core, n);
  }
};

template <class Handler, class Result>
class async_op final : public operation {
 public:
  using handler_executor = handler_executor_t<Handler>;
  using work_executor = work_executor_t<Handler>;

  template <class H>
  async_op(H&& h, const std::shared_ptr<client_core>& core, std::uint64_t n)
      : handler_(std::forward<H>(h)),
        work_(track(boost::asio::get_associated_executor(handler_, core_executor(*core)),
                    core_executor(*core))) {
    auto slot = boost::asio::get_associated_cancellation_slot(handler_);
    if (slot.is_connected()) slot.template emplace<op_canceller>(op_canceller{core, n});
  }

  // The handler's executor, counting this operation as outstanding work. The client's own
  // executor needs no count: while one of its operations is pending the client always has
  // I/O (resolve, connect, read) pending on it, so its io_context cannot run out of work.
  static work_executor track(const handler_executor& ex, const boost::asio::any_io_executor& own) {
    if constexpr (std::is_same_v<work_executor, handler_executor>) {
      if (ex == own) return ex;
    }
    return boost::asio::prefer(ex, boost::asio::execution::outstanding_work.tracked);
  }

  void complete(const boost::system::error_code& ec, response r) override {
    auto slot = boost::asio::get_associated_cancellation_slot(handler_);
    if (slot.is_connected()) slot.clear();
    boost::asio::post(work_, Result::bind(std::move(handler_), ec, std::move(r)));
  }
  void complete_here(const boost::system::error_code& ec, response r) override {
    auto slot = boost::asio::get_associated_cancellation_slot(handler_);
    if (slot.is_connected()) slot.clear();
    boost::asio::dispatch(work_, Result::bind(std::move(handler_), ec, std::move(r)));
  }

 private:
  Handler handler_;
  work_executor work_;
};

template <class Result, class Handler>
operation_ptr make_op(Handler&& h, const std::shared_ptr<client_core>& core, std::uint64_t n) {
  return std::make_unique<async_op<std::decay_t<Handler>, Result>>(std::forward<Handler>(h), core,
                                                                   n);
}

// Initiation objects for boost::asio::async_initiate.
struct initiate_connect {
  std::shared_ptr<client_core> core;
  template <class Handler>
  void operator()(Handler&& h, config cfg) const {
    const auto n = core_reserve(*core);
    core_connect(core, std::move(cfg), n, make_op<result_none>(std::forward<Handler>(h), core, n));
  }
};

struct initiate_run {
  std::shared_ptr<client_core> core;
  template <class Handler>
  void operator()(Handler&& h, config cfg) const {
    const auto n = core_reserve(*core);
    core_run(core, std::move(cfg), n, make_op<result_none>(std::forward<Handler>(h), core, n));
  }
};

// `invalid` is set when a typed action could not be turned into a generic one: the
// operation then completes with it and nothing is sent.
template <class Result>
struct initiate_send {
  std::shared_ptr<client_core> core;
  template <class Handler>
  void operator()(Handler&& h, action a, answer_kind answer, const send_options& opts,
                  std::optional<error> invalid) const {
    const auto n = core_reserve(*core);
    auto op = make_op<Result>(std::forward<Handler>(h), core, n);
    if (invalid) {
      core_fail(core, std::move(op), *invalid);
      return;
    }
    core_send(core, std::move(a), answer, opts, n, std::move(op));
  }
};

struct initiate_logoff {
  std::shared_ptr<client_core> core;
  template <class Handler>
  void operator()(Handler&& h) const {
    const auto n = core_reserve(*core);
    core_logoff(core, n, make_op<result_none>(std::forward<Handler>(h), core, n));
  }
};

}  // namespace ami::detail
