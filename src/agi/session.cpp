#include "ami/agi/session.hpp"

#include <boost/asio/dispatch.hpp>

namespace ami::agi {

session::session(executor_type ex, environment env)
    : executor_(std::move(ex)), env_(std::move(env)) {}

session::~session() {
  // Operations still queued (the transport dropped the session without finishing it).
  for (auto& e : queue_) e.op->complete(make_error_code(error::agi_session_ended), reply{});
}

void session::enqueue(std::string line, std::optional<error> invalid,
                      std::unique_ptr<detail::exec_op> op) {
  boost::asio::dispatch(executor_, [self = shared_from_this(), line = std::move(line), invalid,
                                    op = std::move(op)]() mutable {
    if (invalid) {
      op->complete(make_error_code(*invalid), reply{});
      return;
    }
    if (self->ended_.load()) {
      op->complete(self->end_reason_, reply{});
      return;
    }
    self->queue_.push_back({std::move(line), std::move(op)});
    self->pending_.store(self->queue_.size());
    if (!self->busy_) self->send_next();
  });
}

void session::send_next() {
  if (queue_.empty() || ended_.load()) return;
  busy_ = true;
  transmit(queue_.front().line);
}

void session::deliver(reply r) {
  if (!busy_ || queue_.empty()) return;
  auto op = std::move(queue_.front().op);
  queue_.pop_front();
  pending_.store(queue_.size());
  busy_ = false;
  if (r.code == 511) mark_hung_up();
  boost::system::error_code ec;
  if (const auto f = r.failure()) ec = make_error_code(*f);
  op->complete(ec, std::move(r));
  send_next();
}

void session::fail_current(const boost::system::error_code& ec) {
  if (!busy_ || queue_.empty()) return;
  auto op = std::move(queue_.front().op);
  queue_.pop_front();
  pending_.store(queue_.size());
  busy_ = false;
  op->complete(ec, reply{});
  send_next();
}

void session::finish(const boost::system::error_code& ec) {
  if (ended_.exchange(true)) return;
  end_reason_ = ec;
  busy_ = false;
  auto queued = std::move(queue_);
  queue_.clear();
  pending_.store(0);
  for (auto& e : queued) e.op->complete(ec, reply{});
}

}  // namespace ami::agi
