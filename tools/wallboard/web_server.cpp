#include "web_server.hpp"

#include "assets.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace ami::tools::wallboard {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using strand = asio::strand<asio::any_io_executor>;

namespace {

// "token" from "a=1&token=xyz": percent-decoded; nullopt when absent.
std::optional<std::string> query_value(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) != key) continue;
    const std::string_view raw = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    std::string out;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      const auto hex = [](char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      if (raw[i] == '%' && i + 2 < raw.size() && hex(raw[i + 1]) >= 0 && hex(raw[i + 2]) >= 0) {
        out.push_back(static_cast<char>(hex(raw[i + 1]) * 16 + hex(raw[i + 2])));
        i += 2;
      } else {
        out.push_back(raw[i] == '+' ? ' ' : raw[i]);
      }
    }
    return out;
  }
  return std::nullopt;
}

// Compares in time that does not depend on where the strings first differ.
bool same_secret(std::string_view a, std::string_view b) noexcept {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

constexpr std::string_view server_name = "ami-wallboard";

}  // namespace

class http_session;

struct web_server::core : std::enable_shared_from_this<web_server::core> {
  core(const asio::any_io_executor& ex, web_options o, snapshot_source s)
      : exec(asio::make_strand(ex)),
        opts(std::move(o)),
        source(std::move(s)),
        acceptor(exec),
        publish_timer(exec),
        keepalive_timer(exec) {}

  void accept();
  void schedule_keepalive();
  void flush();
  void request_publish();
  void shutdown();
  void forget(const http_session* s);

  strand exec;
  web_options opts;
  snapshot_source source;
  tcp::acceptor acceptor;
  asio::steady_timer publish_timer;
  asio::steady_timer keepalive_timer;
  bool stopped = false;
  bool publish_pending = false;  // a flush is due when the timer fires
  std::chrono::steady_clock::time_point last_flush{};
  std::vector<std::weak_ptr<http_session>> sessions;
  std::atomic<std::size_t> open_streams{0};
  std::atomic<std::size_t> opened_streams{0};
};

// One connection: requests one after the other; after GET /api/events, an event stream
// until either side closes.
class http_session : public std::enable_shared_from_this<http_session> {
 public:
  http_session(tcp::socket socket, std::shared_ptr<web_server::core> core)
      : stream_(std::move(socket)), core_(std::move(core)) {}

  void start() { read_request(); }

  // A new document for the stream (the latest replaces one not yet written).
  void offer(std::shared_ptr<const std::string> message) {
    if (!streaming_ || closed_) return;
    pending_ = std::move(message);
    if (!writing_) write_next();
  }
  bool streaming() const noexcept { return streaming_ && !closed_; }
  bool idle_stream() const noexcept { return streaming() && !writing_; }

  void close() {
    if (closed_) return;
    closed_ = true;
    if (streaming_) --core_->open_streams;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

 private:
  void read_request() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(8 * 1024);
    stream_.expires_after(core_->opts.io_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_request(ec); });
  }

  void on_request(beast::error_code ec) {
    if (ec || closed_ || core_->stopped) {
      finish();
      return;
    }
    const auto& req = parser_->get();
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      auto res = make_response(req, http::status::method_not_allowed, "text/plain; charset=utf-8",
                               "only GET and HEAD\n");
      res.set(http::field::allow, "GET, HEAD");
      return send(std::move(res));
    }
    const std::string_view target(req.target().data(), req.target().size());
    const auto question = target.find('?');
    const std::string_view path = target.substr(0, question);
    const std::string_view query =
        question == std::string_view::npos ? std::string_view() : target.substr(question + 1);

    if (path.rfind("/api/", 0) != 0) {
      const asset* a = find_asset(path);
      if (a == nullptr) {
        return send(make_response(req, http::status::not_found, "text/plain; charset=utf-8",
                                  "not found\n"));
      }
      auto res = make_response(req, http::status::ok, a->content_type, a->body);
      res.set("Content-Security-Policy",
              "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'");
      return send(std::move(res));
    }
    if (!authorized(req, query)) {
      auto res = make_response(req, http::status::unauthorized, "text/plain; charset=utf-8",
                               "a valid access token is needed (?token=...)\n");
      res.set(http::field::www_authenticate, "Bearer");
      return send(std::move(res));
    }
    if (path == "/api/snapshot") {
      auto res = make_response(req, http::status::ok, "application/json", core_->source());
      return send(std::move(res));
    }
    if (path == "/api/events") return start_stream(req);
    send(make_response(req, http::status::not_found, "text/plain; charset=utf-8", "not found\n"));
  }

  bool authorized(const http::request<http::string_body>& req, std::string_view query) const {
    const std::string& token = core_->opts.token;
    if (token.empty()) return true;
    if (const auto given = query_value(query, "token")) return same_secret(*given, token);
    const auto auth = req[http::field::authorization];
    const std::string_view value(auth.data(), auth.size());
    constexpr std::string_view bearer = "Bearer ";
    return value.size() > bearer.size() && value.substr(0, bearer.size()) == bearer &&
           same_secret(value.substr(bearer.size()), token);
  }

  http::response<http::string_body> make_response(const http::request<http::string_body>& req,
                                                  http::status status,
                                                  std::string_view content_type,
                                                  std::string_view body) const {
    http::response<http::string_body> res{status, req.version()};
    res.set(http::field::server, server_name);
    res.set(http::field::content_type, content_type);
    res.set(http::field::cache_control, "no-store");
    res.set("X-Content-Type-Options", "nosniff");
    res.keep_alive(req.keep_alive());
    if (req.method() != http::verb::head) res.body() = std::string(body);
    res.prepare_payload();
    if (req.method() == http::verb::head) res.content_length(body.size());
    return res;
  }

  void send(http::response<http::string_body> res) {
    auto msg = std::make_shared<http::response<http::string_body>>(std::move(res));
    stream_.expires_after(core_->opts.io_timeout);
    http::async_write(stream_, *msg,
                      [self = shared_from_this(), msg](beast::error_code ec, std::size_t) {
                        if (ec || !msg->keep_alive() || self->closed_) return self->finish();
                        self->read_request();
                      });
  }

  void start_stream(const http::request<http::string_body>& req) {
    auto res = std::make_shared<http::response<http::empty_body>>(http::status::ok, req.version());
    res->set(http::field::server, server_name);
    res->set(http::field::content_type, "text/event-stream");
    res->set(http::field::cache_control, "no-store");
    res->set("X-Accel-Buffering", "no");
    res->keep_alive(false);  // the body runs until the connection closes
    auto sr = std::make_shared<http::response_serializer<http::empty_body>>(*res);
    streaming_ = true;
    ++core_->open_streams;
    ++core_->opened_streams;
    writing_ = true;
    stream_.expires_after(core_->opts.io_timeout);
    http::async_write_header(
        stream_, *sr, [self = shared_from_this(), res, sr](beast::error_code ec, std::size_t) {
          self->writing_ = false;
          if (ec) return self->finish();
          self->stream_.expires_never();
          self->watch_for_close();
          // The first message: the state now, whatever came before.
          self->offer(std::make_shared<const std::string>(
              "retry: 1000\nevent: snapshot\ndata: " + self->core_->source() + "\n\n"));
        });
  }

  // The browser sends nothing on an event stream; a read ends when it goes away.
  void watch_for_close() {
    stream_.socket().async_read_some(
        asio::buffer(discard_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec) return self->finish();
          self->watch_for_close();
        });
  }

  void write_next() {
    if (!pending_ || closed_) return;
    auto message = std::move(pending_);
    pending_.reset();
    writing_ = true;
    stream_.expires_after(core_->opts.io_timeout);
    asio::async_write(stream_, asio::buffer(*message),
                      [self = shared_from_this(), message](beast::error_code ec, std::size_t) {
                        self->writing_ = false;
                        if (ec) return self->finish();
                        self->stream_.expires_never();
                        self->write_next();
                      });
  }

  void finish() {
    close();
    core_->forget(this);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<web_server::core> core_;
  std::array<char, 512> discard_{};
  std::shared_ptr<const std::string> pending_;
  bool streaming_ = false;
  bool writing_ = false;
  bool closed_ = false;
};

void web_server::core::accept() {
  // The socket works on the server's strand, as everything else here.
  auto socket = std::make_shared<tcp::socket>(exec);
  acceptor.async_accept(*socket, [self = shared_from_this(), socket](beast::error_code ec) {
    if (self->stopped) return;
    if (!ec) {
      // Sessions whose connection ended are dropped here, so the list stays bounded.
      auto& list = self->sessions;
      list.erase(
          std::remove_if(list.begin(), list.end(), [](const auto& w) { return w.expired(); }),
          list.end());
      if (list.size() >= self->opts.max_connections) {
        beast::error_code ignored;
        socket->close(ignored);
      } else {
        auto s = std::make_shared<http_session>(std::move(*socket), self);
        list.push_back(s);
        s->start();
      }
    }
    self->accept();
  });
}

void web_server::core::schedule_keepalive() {
  keepalive_timer.expires_after(opts.keepalive);
  keepalive_timer.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || self->stopped) return;
    const auto ping = std::make_shared<const std::string>(":\n\n");
    for (const auto& w : self->sessions) {
      if (auto s = w.lock(); s && s->idle_stream()) s->offer(ping);
    }
    self->schedule_keepalive();
  });
}

void web_server::core::flush() {
  publish_pending = false;
  last_flush = std::chrono::steady_clock::now();
  std::shared_ptr<const std::string> message;
  for (const auto& w : sessions) {
    auto s = w.lock();
    if (!s || !s->streaming()) continue;
    if (!message) {
      message = std::make_shared<const std::string>("event: snapshot\ndata: " + source() + "\n\n");
    }
    s->offer(message);
  }
}

void web_server::core::request_publish() {
  if (stopped || publish_pending) return;
  const auto due = last_flush + opts.min_interval;
  if (std::chrono::steady_clock::now() >= due) return flush();
  publish_pending = true;
  publish_timer.expires_at(due);
  publish_timer.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec && !self->stopped) self->flush();
  });
}

void web_server::core::shutdown() {
  if (stopped) return;
  stopped = true;
  beast::error_code ignored;
  acceptor.close(ignored);
  publish_timer.cancel();
  keepalive_timer.cancel();
  auto list = std::move(sessions);
  sessions.clear();
  for (const auto& w : list) {
    if (auto s = w.lock()) s->close();
  }
}

void web_server::core::forget(const http_session* s) {
  sessions.erase(std::remove_if(sessions.begin(), sessions.end(),
                                [s](const auto& w) {
                                  auto p = w.lock();
                                  return !p || p.get() == s;
                                }),
                 sessions.end());
}

web_server::web_server(const asio::any_io_executor& ex, web_options opts, snapshot_source source)
    : core_(std::make_shared<core>(ex, std::move(opts), std::move(source))) {}

web_server::~web_server() { stop(); }

tcp::endpoint web_server::start() {
  auto c = core_;
  const tcp::endpoint wanted(asio::ip::make_address(c->opts.address), c->opts.port);
  c->acceptor.open(wanted.protocol());
  c->acceptor.set_option(tcp::acceptor::reuse_address(true));
  c->acceptor.bind(wanted);
  c->acceptor.listen(asio::socket_base::max_listen_connections);
  const tcp::endpoint bound = c->acceptor.local_endpoint();
  asio::dispatch(c->exec, [c] {
    c->accept();
    c->schedule_keepalive();
  });
  return bound;
}

void web_server::publish() {
  asio::dispatch(core_->exec, [c = core_] { c->request_publish(); });
}

void web_server::stop() {
  asio::dispatch(core_->exec, [c = core_] { c->shutdown(); });
}

std::size_t web_server::streams() const noexcept { return core_->open_streams.load(); }
std::size_t web_server::streams_opened() const noexcept { return core_->opened_streams.load(); }

}  // namespace ami::tools::wallboard
