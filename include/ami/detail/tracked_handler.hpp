// A completion handler held until an operation completes, with outstanding work tracked on
// its associated executor: the handler's context keeps running while the operation is
// pending, and the handler runs there, posted, never inside the completing call.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>

#include <type_traits>
#include <utility>

namespace ami::detail {

// A handler's associated executor (the client's when it has none) and that executor with
// outstanding work tracked: the types every held completion handler of the library uses.
template <class Handler>
using handler_executor_t =
    boost::asio::associated_executor_t<Handler, boost::asio::any_io_executor>;
template <class Handler>
using work_executor_t =
    std::decay_t<decltype(boost::asio::prefer(std::declval<handler_executor_t<Handler>>(),
                                              boost::asio::execution::outstanding_work.tracked))>;

template <class Handler>
class tracked_handler {
 public:
  using work_executor = work_executor_t<Handler>;

  // `fallback`: the executor of a handler that has none associated.
  template <class H>
  tracked_handler(H&& h, const boost::asio::any_io_executor& fallback)
      : handler_(std::forward<H>(h)),
        work_(boost::asio::prefer(boost::asio::get_associated_executor(handler_, fallback),
                                  boost::asio::execution::outstanding_work.tracked)) {}

  // Posts the handler with these arguments to its executor. Call once: it moves the handler.
  template <class... Args>
  void post(Args&&... args) {
    boost::asio::post(work_, boost::asio::append(std::move(handler_), std::forward<Args>(args)...));
  }

 private:
  Handler handler_;
  work_executor work_;
};

}  // namespace ami::detail
