#include "client_core.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <iostream>

namespace ami::detail {
namespace {

// Bytes offered to each read: large enough that a burst of events needs one system call.
constexpr std::size_t read_size = 256 * 1024;

// Space offered to one read: read_size in all, counting what an unfinished message already
// holds, so that a leftover never makes the parser's buffer grow.
std::size_t read_space(const proto::parser& p) {
  constexpr std::size_t min_read = 4096;
  const std::size_t held = p.buffered();
  return held + min_read > read_size ? min_read : read_size - held;
}

const boost::system::error_code aborted = boost::asio::error::operation_aborted;

using io_strand = boost::asio::strand<boost::asio::io_context::executor_type>;
using any_strand = boost::asio::strand<boost::asio::any_io_executor>;

boost::asio::any_io_executor make_client_strand(const boost::asio::any_io_executor& ex) {
  if (const auto* io = ex.target<boost::asio::io_context::executor_type>()) {
    return boost::asio::make_strand(*io);
  }
  return boost::asio::make_strand(ex);
}

}  // namespace

client_core::client_core(const boost::asio::any_io_executor& ex)
    : executor_(make_client_strand(ex)), timer_(executor_) {}

bool client_core::running_in_strand() const noexcept {
  if (const auto* s = executor_.target<io_strand>()) return s->running_in_this_thread();
  if (const auto* s = executor_.target<any_strand>()) return s->running_in_this_thread();
  return false;
}

template <class F>
void client_core::on_strand(F&& f) {
  if (running_in_strand()) {
    f();
    return;
  }
  boost::asio::post(executor_,
                    [self = shared_from_this(), f = std::forward<F>(f)]() mutable { f(); });
}

void client_core::connect(config cfg, std::uint64_t n, operation_ptr op) {
  on_strand([this, cfg = std::move(cfg), n, op = std::move(op)]() mutable {
    if (shut_) {
      op->complete(aborted, {});
      return;
    }
    session_.start(cfg, n, std::move(op), clock::now());
    drive();  // opens the transport when the session asks for one
    arm_timer();
  });
}

void client_core::run(config cfg, std::uint64_t n, operation_ptr op) {
  on_strand([this, cfg = std::move(cfg), n, op = std::move(op)]() mutable {
    if (shut_) {
      op->complete(aborted, {});
      return;
    }
    session_.run(cfg, n, std::move(op), clock::now());
    drive();
    arm_timer();
  });
}

void client_core::open_connection() {
  drop_connection();
  const config& cfg = session_.cfg();
  watch_slow_slots(cfg);
  proto::parser_options po;
  po.limits = cfg.parser_limits;
  po.expect_banner = true;
  io_ = std::make_shared<connection_io>(executor_, po);
  auto io = io_;
  transport_error_.clear();
  if (const auto tls_ec = open_tls(*io, cfg)) {
    transport_error_ = io->stream.why();
    drop_connection();
    session_.transport_unusable(tls_ec);
    return;
  }
  io->stream.async_connect(cfg.host, cfg.port,
                           [self = shared_from_this(), io](const boost::system::error_code& ec) {
                             self->on_connected(io, ec);
                           });
}

void client_core::send(action a, answer_kind answer, const send_options& opts, std::uint64_t n,
                       operation_ptr op) {
  on_strand([this, a = std::move(a), answer, opts, n, op = std::move(op)]() mutable {
    if (shut_) {
      op->complete(aborted, {});
      return;
    }
    session_.submit(n, a, answer, opts, std::move(op), clock::now());
    drive();
    arm_timer();
  });
}

void client_core::logoff(std::uint64_t n, operation_ptr op) {
  on_strand([this, n, op = std::move(op)]() mutable {
    if (shut_) {
      op->complete(aborted, {});
      return;
    }
    session_.logoff(n, std::move(op), clock::now());
    drive();
    arm_timer();
  });
}

void client_core::fail(operation_ptr op, const boost::system::error_code& ec) {
  on_strand([op = std::move(op), ec]() mutable { op->complete(ec, {}); });
}

void client_core::cancel_one(std::uint64_t n) {
  // Always posted: this runs from a cancellation slot, which the completion clears.
  boost::asio::post(executor_, [self = shared_from_this(), n] {
    if (self->shut_) return;
    self->session_.abandon(n, aborted);
    self->drive();
  });
}

void client_core::cancel_all() {
  on_strand([this] {
    if (shut_) return;
    session_.cancel_all(aborted);
    drive();
  });
}

void client_core::close() {
  on_strand([this] {
    if (shut_) return;
    session_.close(aborted);
    drive();
  });
}

void client_core::abort_connection(const boost::system::error_code& reason) {
  on_strand([this, reason] {
    if (shut_) return;
    session_.drop_session(reason);
    drive();
  });
}

void client_core::shut_down() {
  hub_.shut_down();  // at once, from any thread: no slot runs after the client is gone
  on_strand([this] {
    if (shut_) return;
    session_.close(aborted);
    drive();
    shut_ = true;
    drop_connection();
    ++timer_seq_;
    timer_at_.reset();
    timer_.cancel();
  });
}

void client_core::complete_finished() {
  completing_.swap(session_.finished());
  const bool here = in_read_ && drive_depth_ == 1 && !handler_exception_;
  for (auto& f : completing_) {
    if (!here || handler_exception_) {
      f.op->complete(f.ec, std::move(f.resp));
      continue;
    }
    completing_here_ = true;
    try {
      f.op->complete_here(f.ec, std::move(f.resp));
    } catch (...) {
      handler_exception_ = std::current_exception();  // the rest are posted
    }
    completing_here_ = false;
  }
  completing_.clear();
}

void client_core::drive() {
  if (completing_here_) {
    drive_again_ = true;
    return;
  }
  struct depth_guard {
    unsigned& depth;
    explicit depth_guard(unsigned& d) : depth(d) { ++depth; }
    depth_guard(const depth_guard&) = delete;
    depth_guard& operator=(const depth_guard&) = delete;
    ~depth_guard() { --depth; }
  } depth(drive_depth_);
  bool completed = false;
  bool changed = false;
  for (;;) {
    if (!session_.finished().empty()) {
      // A handler may run inline and ask for the banner or the last error.
      if (!session_.state_changes().empty()) publish_info();
      complete_finished();
      completed = true;
      if (std::exchange(drive_again_, false)) continue;
    }
    if (session_.take_close_request()) drop_connection();
    if (shut_ || !session_.take_connect_request()) break;
    open_connection();  // may fail at once (a TLS file), which completes more
  }
  if (io_ && !io_->write_active && !session_.output().empty()) start_write();
  publish();
  auto& changes = session_.state_changes();
  if (!changes.empty()) {
    publish_info();
    std::vector<state_change> batch;
    batch.swap(changes);
    for (const auto& c : batch) {  // slots may re-enter
      hub_.emit_state(state_transition{c.state, c.ec, c.delay, c.max_delay, c.attempt});
    }
    completed = true;
    changed = true;
  }
  if (completed && timer_at_ && !io_ && !session_.next_deadline()) {
    // Disconnected and nothing left to time: release the timer so that io_context::run()
    // can return. While connected the read keeps run() busy anyway, and an early timer
    // just finds nothing to do: cancelling and re-arming on every answer costs a syscall.
    timer_at_.reset();
    ++timer_seq_;
    timer_.cancel();
  }
  // A new state may bring a deadline (backoff, keepalive) before the armed one.
  if (changed && !shut_) arm_timer();
}

void client_core::publish_info() {
  std::lock_guard<std::mutex> lock(info_mutex_);
  banner_ = session_.banner();
  const bool failed = session_.state() == connection_state::disconnected ||
                      session_.state() == connection_state::backing_off;
  last_error_ =
      failed && !transport_error_.empty() ? transport_error_ : session_.last_error_message();
}

void client_core::publish() {
  state_.store(session_.state(), std::memory_order_release);
  booted_.store(session_.fully_booted(), std::memory_order_release);
  unmatched_.store(session_.counters().unmatched, std::memory_order_relaxed);
  late_.store(session_.counters().late, std::memory_order_relaxed);
}

void client_core::arm_timer() {
  const auto d = session_.next_deadline();
  if (!d || (timer_at_ && *timer_at_ <= *d)) return;
  timer_at_ = d;
  const auto seq = ++timer_seq_;
  timer_.expires_at(*d);
  timer_.async_wait([self = shared_from_this(), seq](const boost::system::error_code& ec) {
    self->on_timer(seq, ec);
  });
}

void client_core::on_timer(std::uint64_t seq, const boost::system::error_code&) {
  if (seq != timer_seq_ || shut_) return;
  timer_at_.reset();
  session_.expire(clock::now());
  drive();
  arm_timer();
}

void client_core::on_connected(const std::shared_ptr<connection_io>& io,
                               const boost::system::error_code& ec) {
  if (io != io_ || shut_) return;
  if (ec) {
    transport_error_ = io->stream.why();
    transport_failed(ec);
    return;
  }
  session_.transport_connected(clock::now());
  drive();
  arm_timer();
  if (io == io_) start_read(io);
}

void client_core::start_read(const std::shared_ptr<connection_io>& io) {
  if (io->stream.tls() || io->read_busy || io->parser.buffered() != 0) {
    read_some(io);
    return;
  }
  // Nothing pending: wait for the next bytes without a buffer, so that an idle connection
  // costs a few KiB instead of a read buffer (thousands of connections in one process).
  io->parser.release();
  io->stream.async_wait_readable(
      [self = shared_from_this(), io](const boost::system::error_code& ec) {
        self->on_readable(io, ec);
      });
}

void client_core::read_some(const std::shared_ptr<connection_io>& io) {
  const std::size_t space = read_space(io->parser);
  char* p = io->parser.prepare(space);
  io->stream.async_read_some(
      boost::asio::buffer(p, space),
      [self = shared_from_this(), io, space](const boost::system::error_code& ec, std::size_t n) {
        io->read_busy = !ec && n == space;
        self->on_read(io, ec, n);
      });
}

void client_core::on_readable(const std::shared_ptr<connection_io>& io,
                              const boost::system::error_code& ec) {
  if (io != io_ || shut_) return;
  if (ec) {
    on_read(io, ec, 0);
    return;
  }
  const std::size_t space = read_space(io->parser);
  char* p = io->parser.prepare(space);
  boost::system::error_code rec;
  const std::size_t n = io->stream.read_available(boost::asio::buffer(p, space), rec);
  if (rec == boost::asio::error::would_block) {  // readiness without data: wait again
    read_some(io);
    return;
  }
  io->read_busy = !rec && n == space;
  on_read(io, rec, n);
}

void client_core::drive_after_read() {
  in_read_ = true;
  drive();
  in_read_ = false;
}

void client_core::on_read(const std::shared_ptr<connection_io>& io,
                          const boost::system::error_code& ec, std::size_t n) {
  read_messages(io, ec, n);
  if (handler_exception_) std::rethrow_exception(std::exchange(handler_exception_, nullptr));
}

void client_core::read_messages(const std::shared_ptr<connection_io>& io,
                                const boost::system::error_code& ec, std::size_t n) {
  if (io != io_ || shut_) return;
  if (ec) {
    if (const auto e = io->parser.finish()) {
      parse_errors_.fetch_add(1, std::memory_order_relaxed);
      last_parse_error_.store(static_cast<int>(*e), std::memory_order_relaxed);
    }
    const auto st = session_.state();
    if (io->stream.tls() && ec.category() == boost::asio::error::get_ssl_category() &&
        (st == connection_state::connected || st == connection_state::logging_in)) {
      // E.g. TLS 1.3: a server that wants a client certificate says so after the handshake.
      transport_error_ = "the server ended the TLS session during login: " + ec.message();
    }
    transport_failed(ec);
    return;
  }
  io->parser.commit(n);
  session_.bytes_received(clock::now());  // once per read: the keepalive's idle time
  for (;;) {
    const auto r = io->parser.next(inbound_);
    if (r.status == proto::parse_status::need_more) {
      session_.end_of_input();
      drive_after_read();
      if (io != io_ || shut_) return;
      break;
    }
    if (r.status == proto::parse_status::error) {
      parse_errors_.fetch_add(1, std::memory_order_relaxed);
      last_parse_error_.store(static_cast<int>(r.ec), std::memory_order_relaxed);
      continue;
    }
    const auto d = session_.on_message(inbound_);
    drive_after_read();
    if (io != io_ || shut_) return;
    if (d == delivery::event) {
      hub_.emit_event(inbound_);
    } else if (d == delivery::list_item) {
      hub_.emit_list_item(inbound_);
    }
    if (io != io_ || shut_) return;  // a slot closed, reconnected or destroyed the client
  }
  start_read(io);
}

void client_core::start_write() {
  auto io = io_;
  io->write_sensitive = session_.take_output(io->writing);
  io->write_active = true;
  io->stream.async_write(
      boost::asio::buffer(io->writing),
      [self = shared_from_this(), io](const boost::system::error_code& ec, std::size_t) {
        self->on_written(io, ec);
      });
}

void client_core::on_written(const std::shared_ptr<connection_io>& io,
                             const boost::system::error_code& ec) {
  io->write_active = false;
  if (io->write_sensitive) {
    std::fill(io->writing.begin(), io->writing.end(), '\0');
    io->write_sensitive = false;
  }
  io->writing.clear();
  if (io != io_ || shut_) return;
  if (ec) {
    transport_failed(ec);
    return;
  }
  if (!session_.output().empty()) start_write();
}

void client_core::drop_connection() {
  if (!io_) return;
  io_->stream.close();
  io_.reset();  // pending handlers keep it (and its buffers) alive until they ran
}

boost::system::error_code client_core::open_tls(connection_io& io, const config& cfg) {
  if (!cfg.tls) return {};
  if (cfg.tls_insecure) {
    warn(cfg, "TLS certificate verification is off (tls_insecure) for " + cfg.host + ":" +
                  std::to_string(cfg.port) + ": the server is not authenticated");
  }
  return io.stream.use_tls(cfg);
}

void client_core::warn(const config& cfg, const std::string& text) {
  if (!cfg.on_warning) {
    std::cerr << "ami: warning: " << text << std::endl;
    return;
  }
  try {
    cfg.on_warning(text);
  } catch (...) {
    // A warning hook that throws must not break the connect.
  }
}

void client_core::watch_slow_slots(const config& cfg) {
  event_hub::slow_slot_hook hook = cfg.on_slow_slot;
  if (!hook) {
    hook = [this](std::string_view name, std::chrono::microseconds took) {
      const auto& c = session_.cfg();
      warn(c, "the slots of event " + std::string(name) + " took " +
                  std::to_string(took.count() / 1000) + " ms (slow_slot_threshold " +
                  std::to_string(c.slow_slot_threshold.count()) +
                  " ms): the client reads nothing meanwhile, and Asterisk drops clients that "
                  "do not read within its writetimeout; move slow work to an "
                  "ami::event_dispatcher");
    };
  }
  hub_.watch_slow_slots(cfg.slow_slot_threshold, std::move(hook));
}

void client_core::transport_failed(const boost::system::error_code& ec) {
  drop_connection();
  session_.transport_closed(ec, clock::now());
  drive();
}

std::optional<proto::banner> client_core::banner() const {
  std::lock_guard<std::mutex> lock(info_mutex_);
  return banner_;
}

std::string client_core::last_error_message() const {
  std::lock_guard<std::mutex> lock(info_mutex_);
  return last_error_;
}

client_stats client_core::stats() const {
  client_stats s;
  s.unmatched = unmatched_.load(std::memory_order_relaxed);
  s.late = late_.load(std::memory_order_relaxed);
  s.parse_errors = parse_errors_.load(std::memory_order_relaxed);
  if (const int e = last_parse_error_.load(std::memory_order_relaxed); e != 0) {
    s.last_parse_error = static_cast<error>(e);
  }
  s.slot_exceptions = hub_.slot_exceptions();
  s.slow_slots = hub_.slow_slots();
  return s;
}

// ---- entry points used by the templates of ami/client.hpp

const boost::asio::any_io_executor& core_executor(const client_core& c) noexcept {
  return c.executor();
}

std::uint64_t core_reserve(client_core& c) noexcept { return c.reserve(); }

void core_connect(const std::shared_ptr<client_core>& c, config cfg, std::uint64_t n,
                  operation_ptr op) {
  c->connect(std::move(cfg), n, std::move(op));
}

void core_run(const std::shared_ptr<client_core>& c, config cfg, std::uint64_t n,
              operation_ptr op) {
  c->run(std::move(cfg), n, std::move(op));
}

void core_send(const std::shared_ptr<client_core>& c, action a, answer_kind answer,
               const send_options& opts, std::uint64_t n, operation_ptr op) {
  c->send(std::move(a), answer, opts, n, std::move(op));
}

void core_logoff(const std::shared_ptr<client_core>& c, std::uint64_t n, operation_ptr op) {
  c->logoff(n, std::move(op));
}

void core_fail(const std::shared_ptr<client_core>& c, operation_ptr op,
               const boost::system::error_code& ec) {
  c->fail(std::move(op), ec);
}

void core_cancel(const std::weak_ptr<client_core>& c, std::uint64_t n) {
  if (auto core = c.lock()) core->cancel_one(n);
}

}  // namespace ami::detail
