#include "ami/agi/fastagi_server.hpp"

#include "ami/agi/line_reader.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <utility>

namespace ami::agi {
namespace detail {

using tcp = boost::asio::ip::tcp;

class fastagi_connection;

struct fastagi_state : std::enable_shared_from_this<fastagi_state> {
  fastagi_state(const boost::asio::any_io_executor& ex, fastagi_options o)
      : executor(ex), acceptor(boost::asio::make_strand(ex)), opts(std::move(o)) {}

  boost::asio::any_io_executor executor;
  tcp::acceptor acceptor;
  fastagi_options opts;
  std::map<std::string, fastagi_server::handler> routes;
  std::atomic<unsigned short> port{0};
  std::atomic<bool> stopped{false};

  std::atomic<std::uint64_t> accepted{0}, refused{0}, unrouted{0}, bad_environment{0}, sessions{0};

  std::mutex mutex;  // guards live
  std::map<std::uint64_t, std::weak_ptr<fastagi_connection>> live;
  std::uint64_t next_id = 0;

  void accept_next();
  void forget(std::uint64_t id) {
    const std::lock_guard<std::mutex> lock(mutex);
    live.erase(id);
  }
  std::size_t live_count() {
    const std::lock_guard<std::mutex> lock(mutex);
    return live.size();
  }
  const fastagi_server::handler* find_route(const std::string& script) const {
    if (const auto it = routes.find(script); it != routes.end()) return &it->second;
    if (const auto it = routes.find("*"); it != routes.end()) return &it->second;
    return nullptr;
  }
};

class fastagi_connection final : public session {
 public:
  fastagi_connection(tcp::socket sock, std::shared_ptr<fastagi_state> state, std::uint64_t id)
      : session(sock.get_executor(), environment{}),
        socket_(std::move(sock)),
        timer_(socket_.get_executor()),
        state_(std::move(state)),
        id_(id),
        lines_(state_->opts.max_line) {}

  void start() {
    arm(state_->opts.environment_timeout);
    read();
  }

  void close() override {
    boost::asio::dispatch(
        get_executor(), [self = self()] { self->shut(make_error_code(error::agi_session_ended)); });
  }

 private:
  std::shared_ptr<fastagi_connection> self() {
    return std::static_pointer_cast<fastagi_connection>(shared_from_this());
  }

  void read() {
    socket_.async_read_some(boost::asio::buffer(buffer_),
                            [self = self()](const boost::system::error_code& ec, std::size_t n) {
                              self->on_read(ec, n);
                            });
  }

  void on_read(const boost::system::error_code& ec, std::size_t n) {
    if (closed_) return;
    if (ec) {
      const bool ended =
          ec == boost::asio::error::eof || ec == boost::asio::error::operation_aborted;
      if (in_env_) ++state_->bad_environment;
      shut(make_error_code(ended ? error::agi_session_ended : error::connection_lost));
      return;
    }
    lines_.feed(std::string_view(buffer_.data(), n));
    std::string_view line;
    error e{};
    for (;;) {
      const auto st = lines_.next(line, e);
      if (st == line_reader::status::need_more) break;
      if (st == line_reader::status::failed) {
        if (in_env_) ++state_->bad_environment;
        shut(make_error_code(e));
        return;
      }
      if (in_env_ ? !on_env_line(line) : !on_reply_line(line)) return;
    }
    read();
  }

  bool on_env_line(std::string_view line) {
    if (!line.empty()) {
      if (add_environment_line(mutable_env(), line) || ++env_lines_ > 512) {
        ++state_->bad_environment;
        shut(make_error_code(error::agi_malformed_environment));
        return false;
      }
      return true;
    }
    in_env_ = false;
    disarm();
    const auto* h = state_->find_route(env().script());
    if (h == nullptr) {
      ++state_->unrouted;
      shut(make_error_code(error::agi_session_ended));
      return false;
    }
    ++state_->sessions;
    boost::asio::post(get_executor(), [handler = *h, self = self()] { handler(self); });
    return true;
  }

  bool on_reply_line(std::string_view line) {
    reply r;
    error e{};
    switch (replies_.put(line, r, e)) {
      case reply_reader::status::need_more: break;
      case reply_reader::status::hangup: mark_hung_up(); break;
      case reply_reader::status::reply:
        disarm();
        deliver(std::move(r));
        break;
      case reply_reader::status::failed:
        disarm();
        fail_current(make_error_code(e));
        break;
    }
    return !closed_;
  }

  void transmit(const std::string& line) override {
    out_ = line;
    out_ += '\n';
    arm(state_->opts.reply_timeout);
    boost::asio::async_write(socket_, boost::asio::buffer(out_),
                             [self = self()](const boost::system::error_code& ec, std::size_t) {
                               if (ec && !self->closed_) {
                                 self->shut(make_error_code(error::connection_lost));
                               }
                             });
  }

  void arm(std::chrono::milliseconds d) {
    ++timer_generation_;
    if (d.count() <= 0) {
      timer_.cancel();
      return;
    }
    timer_.expires_after(d);
    timer_.async_wait([self = self(), g = timer_generation_](const boost::system::error_code& ec) {
      if (ec || g != self->timer_generation_ || self->closed_) return;
      if (self->in_env_) ++self->state_->bad_environment;
      self->shut(make_error_code(error::agi_timeout));
    });
  }

  void disarm() {
    ++timer_generation_;
    timer_.cancel();
  }

  void shut(const boost::system::error_code& why) {
    if (closed_) return;
    closed_ = true;
    disarm();
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    state_->forget(id_);
    finish(why);
  }

  tcp::socket socket_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<fastagi_state> state_;
  std::uint64_t id_;
  line_reader lines_;
  reply_reader replies_;
  std::array<char, 4096> buffer_{};
  std::string out_;
  bool in_env_ = true;
  bool closed_ = false;
  std::size_t env_lines_ = 0;
  std::uint64_t timer_generation_ = 0;
};

void fastagi_state::accept_next() {
  acceptor.async_accept(
      boost::asio::make_strand(executor),
      [self = shared_from_this()](const boost::system::error_code& ec, tcp::socket sock) {
        if (ec) {
          if (ec == boost::asio::error::operation_aborted || self->stopped.load()) return;
          self->accept_next();  // a transient failure (e.g. too many open files)
          return;
        }
        ++self->accepted;
        std::shared_ptr<fastagi_connection> conn;
        {
          const std::lock_guard<std::mutex> lock(self->mutex);
          if (self->live.size() < self->opts.max_sessions) {
            const auto id = ++self->next_id;
            conn = std::make_shared<fastagi_connection>(std::move(sock), self, id);
            self->live.emplace(id, conn);
          }
        }
        if (conn) {
          boost::asio::dispatch(conn->get_executor(), [conn] { conn->start(); });
        } else {
          ++self->refused;
          boost::system::error_code ignored;
          sock.close(ignored);
        }
        self->accept_next();
      });
}

}  // namespace detail

fastagi_server::fastagi_server(const boost::asio::any_io_executor& ex, fastagi_options opts)
    : state_(std::make_shared<detail::fastagi_state>(ex, std::move(opts))) {}

fastagi_server::~fastagi_server() { stop(); }

void fastagi_server::route(std::string script, handler h) {
  if (h) {
    state_->routes[std::move(script)] = std::move(h);
  } else {
    state_->routes.erase(script);
  }
}

void fastagi_server::start() {
  using tcp = boost::asio::ip::tcp;
  const tcp::endpoint ep(boost::asio::ip::make_address(state_->opts.address), state_->opts.port);
  auto& a = state_->acceptor;
  a.open(ep.protocol());
  a.set_option(tcp::acceptor::reuse_address(true));
  a.bind(ep);
  a.listen();
  state_->port.store(a.local_endpoint().port());
  state_->stopped.store(false);
  boost::asio::dispatch(a.get_executor(), [s = state_] { s->accept_next(); });
}

void fastagi_server::stop() {
  state_->stopped.store(true);
  boost::asio::dispatch(state_->acceptor.get_executor(), [s = state_] {
    boost::system::error_code ignored;
    s->acceptor.close(ignored);
  });
  std::vector<std::shared_ptr<detail::fastagi_connection>> open;
  {
    const std::lock_guard<std::mutex> lock(state_->mutex);
    for (auto& [id, w] : state_->live) {
      if (auto c = w.lock()) open.push_back(std::move(c));
    }
  }
  for (auto& c : open) c->close();
}

unsigned short fastagi_server::port() const { return state_->port.load(); }

std::size_t fastagi_server::session_count() const noexcept { return state_->live_count(); }

fastagi_stats fastagi_server::stats() const {
  fastagi_stats s;
  s.accepted = state_->accepted.load();
  s.refused = state_->refused.load();
  s.unrouted = state_->unrouted.load();
  s.bad_environment = state_->bad_environment.load();
  s.sessions = state_->sessions.load();
  return s;
}

}  // namespace ami::agi
