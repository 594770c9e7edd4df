// The server's networking: accept, per-connection read loop, ordered write queue, knobs.
#include "pbx_model.hpp"
#include "server_state.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <future>
#include <iterator>
#include <stdexcept>

namespace ami::testing {
namespace detail {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

std::string endpoint_text(const tcp::endpoint& ep, bool tls) {
  return std::string(ep.address().is_v6() ? "IPV6" : "IPV4") + (tls ? "/TLS/" : "/TCP/") +
         ep.address().to_string() + "/" + std::to_string(ep.port());
}

constexpr std::size_t read_chunk = 4096;

// How long a session ended by close_after_events waits for the client to close after FIN.
constexpr std::chrono::seconds linger_grace{10};

// How long a closing TLS session waits for the client to answer its close_notify.
constexpr std::chrono::seconds tls_close_grace{1};

// The listener's TLS context. Errors name the file at fault (never its contents).
asio::ssl::context make_tls_context(const server_tls& t) {
  namespace ssl = asio::ssl;
  ssl::context ctx(ssl::context::tls_server);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                  ssl::context::single_dh_use);
  boost::system::error_code ec;
  const auto check = [&ec](const char* what, const std::string& file) {
    if (ec) throw boost::system::system_error(ec, std::string(what) + " '" + file + "'");
  };
  ctx.use_certificate_chain_file(t.cert_chain_file, ec);
  check("TLS certificate chain", t.cert_chain_file);
  // OpenSSL refuses a key that does not match the certificate loaded above.
  ctx.use_private_key_file(t.key_file, ssl::context::pem, ec);
  check("TLS private key", t.key_file);
  if (!t.client_ca_file.empty()) {
    ctx.load_verify_file(t.client_ca_file, ec);
    check("TLS client CA file", t.client_ca_file);
    ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
    check("TLS client verification", t.client_ca_file);
  }
  return ctx;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Field helpers

void append_fields(std::string& out, const field_list& fields) {
  for (const auto& [key, value] : fields) {
    out.append(key);
    out.append(": ");
    out.append(value);
    out.append("\r\n");
  }
  out.append("\r\n");
}

std::string serialize_fields(const field_list& fields) {
  std::string out;
  append_fields(out, fields);
  return out;
}

field_list with_action_id(const ami::message& action, field_list fields) {
  if (auto id = action.get("ActionID")) {
    const auto at = fields.empty() ? fields.begin() : fields.begin() + 1;
    fields.insert(at, {"ActionID", std::string(*id)});
  }
  return fields;
}

// ---------------------------------------------------------------------------------------
// connection

connection::connection(server_state& srv, tcp::socket socket, std::uint64_t id, bool tls)
    : id_(id),
      srv_(srv),
      socket_(std::move(socket)),
      parser_(ami::proto::parser_options{{}, false}),
      delay_timer_(srv.io_) {
  connected_at_ = std::chrono::system_clock::now();
  if (tls && srv.tls_ctx_)
    tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket_, *srv.tls_ctx_);
  boost::system::error_code ec;
  const auto local = socket_.local_endpoint(ec);
  if (!ec) local_endpoint_ = endpoint_text(local, tls_ != nullptr);
  const auto remote = socket_.remote_endpoint(ec);
  if (!ec) {
    remote_endpoint_ = endpoint_text(remote, tls_ != nullptr);
    peer_ = remote.address().to_string() + ":" + std::to_string(remote.port());
  }
  budget_ = srv.close_after_;
}

connection::~connection() = default;

void connection::start(std::optional<std::string> replay_bytes) {
  if (replay_bytes) {
    replaying_ = true;
    greeting_ = std::move(*replay_bytes);
  } else {
    greeting_ = "Asterisk Call Manager/" + srv_.opts_.ami_version + "\r\n";
  }
  if (!tls_) {
    greet();
    return;
  }
  handshaking_ = true;
  tls_->async_handshake(
      asio::ssl::stream_base::server,
      [self = shared_from_this()](boost::system::error_code ec) { self->on_handshake(ec); });
}

void connection::on_handshake(const boost::system::error_code& ec) {
  handshaking_ = false;
  if (closed_) return;
  if (ec) {
    srv_.log("session " + std::to_string(id_) + " TLS handshake failed: " + ec.message());
    close_now();
    return;
  }
  // The name the client asked for (SNI), for the log and the tests that read it.
  const char* sni = SSL_get_servername(tls_->native_handle(), TLSEXT_NAMETYPE_host_name);
  srv_.log("session " + std::to_string(id_) +
           " TLS established, server name: " + (sni != nullptr ? sni : "(none)"));
  greet();
}

void connection::greet() {
  if (closed_) return;
  if (greeting_ && !greeting_->empty()) {
    // First on the wire, before anything queued meanwhile.
    pending_.insert(0, *greeting_);
    bytes_queued_ += greeting_->size();
    greeting_.reset();
    flush();
  }
  read();
}

void connection::read() {
  if (closed_) return;
  char* buf = parser_.prepare(read_chunk);
  auto on_read = [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
    if (self->closed_) return;
    if (ec) {
      if (!self->closing_) self->by_client_ = true;
      self->close_now();
      return;
    }
    self->parser_.commit(n);
    ami::message m;
    for (;;) {
      const auto r = self->parser_.next(m);
      if (r.status == ami::proto::parse_status::need_more) break;
      if (r.status == ami::proto::parse_status::message) self->on_message(m);
    }
    self->process();
    self->read();
  };
  if (tls_) {
    tls_->async_read_some(asio::buffer(buf, read_chunk), std::move(on_read));
  } else {
    socket_.async_read_some(asio::buffer(buf, read_chunk), std::move(on_read));
  }
}

void connection::on_message(const ami::message& m) {
  if (m.empty()) return;
  ami::message owned;
  if (m.kind() == message_kind::text) {
    // Asterisk looks for Action anywhere in the message: read text lines as fields.
    for (const auto line : m.lines()) {
      const auto colon = line.find(':');
      auto value = colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      owned.add_field(line.substr(0, colon), value);
    }
    owned.set_kind(owned.has("Action") ? message_kind::action : message_kind::text);
    owned.make_owned();
  } else {
    owned = m;  // copying owns the bytes
  }
  {
    std::lock_guard<std::mutex> lock(srv_.mutex_);
    srv_.received_.push_back(owned);
  }
  srv_.cv_.notify_all();
  if (replaying_) return;
  actions_.push_back(std::move(owned));
}

void connection::process() {
  while (!busy_ && !closed_ && !closing_ && !actions_.empty()) {
    if (srv_.delay_.count() > 0 && !delayed_) {
      busy_ = true;
      delay_timer_.expires_after(srv_.delay_);
      delay_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        self->busy_ = false;
        if (ec || self->closed_) return;
        self->delayed_ = true;
        self->process();
      });
      return;
    }
    delayed_ = false;
    ami::message action = std::move(actions_.front());
    actions_.pop_front();
    busy_ = true;
    srv_.dispatch(*this, action);
  }
}

void connection::resume() {
  if (!busy_) return;
  busy_ = false;
  // Resume from a fresh handler so a long run of queued actions does not nest.
  asio::post(srv_.io_, [self = shared_from_this()] { self->process(); });
}

void connection::write(std::string bytes) {
  if (closed_ || closing_ || bytes.empty()) return;
  bytes_queued_ += bytes.size();
  pending_.append(bytes);
  flush();
}

void connection::flush() {
  if (writing_ || closed_ || srv_.stalled_ || handshaking_) return;
  if (pending_.empty()) {
    if (closing_ && !half_closed_) finish_close();
    return;
  }
  writing_buf_.clear();
  writing_buf_.swap(pending_);
  bool cut = false;
  if (budget_ > 0) {
    const std::size_t left = budget_ - std::min(budget_, budget_used_);
    if (writing_buf_.size() >= left) {
      writing_buf_.resize(left);
      cut = true;
    }
    if (writing_buf_.empty()) {
      close_now();
      return;
    }
  }
  writing_ = true;
  auto on_written = [self = shared_from_this(), cut, gen = budget_gen_](
                        boost::system::error_code ec, std::size_t n) {
    self->writing_ = false;
    self->bytes_written_ += n;
    // Bytes of a write started before the budget was reset do not count.
    if (gen == self->budget_gen_) self->budget_used_ += n;
    if (self->closed_) return;
    if (ec && !self->closing_) self->by_client_ = true;
    if (ec || (cut && gen == self->budget_gen_)) {
      self->close_now();
      return;
    }
    self->flush();
  };
  if (tls_) {
    asio::async_write(*tls_, asio::buffer(writing_buf_), std::move(on_written));
  } else {
    asio::async_write(socket_, asio::buffer(writing_buf_), std::move(on_written));
  }
}

void connection::set_byte_budget(std::size_t n) {
  budget_ = n;
  budget_used_ = 0;
  ++budget_gen_;
  if (n > 0 && !writing_) flush();
}

void connection::close_after_flush() {
  if (closed_) return;
  closing_ = true;
  if (handshaking_) {
    close_now();
  } else if (!writing_ && srv_.stalled_) {
    close_now();
  } else if (!writing_ && pending_.empty()) {
    finish_close();
  }
}

void connection::event_queued() {
  ++events_queued_;
  const auto limit = srv_.close_after_events_;
  if (limit > 0 && events_queued_ >= limit) close_gracefully();
}

void connection::close_gracefully() {
  if (closed_ || linger_) return;
  closing_ = true;
  linger_ = true;
  if (handshaking_) {
    close_now();
  } else if (!writing_ && pending_.empty()) {
    finish_close();
  }
  // Otherwise flush() finishes once the queue is written (after stall(false) if stalled).
}

void connection::finish_close() {
  if (!tls_ && linger_) {
    // Closing a socket whose received bytes are unread resets the connection, and a reset
    // can cost the client the end of the stream: send FIN after the last byte instead and
    // close once the client has closed its side (or after a grace period).
    if (closed_ || half_closed_) return;
    half_closed_ = true;
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    delay_timer_.expires_after(linger_grace);
    delay_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->close_now();
    });
    return;
  }
  if (!tls_) {
    close_now();
    return;
  }
  if (closed_ || shutting_down_) return;
  shutting_down_ = true;
  delay_timer_.expires_after(tls_close_grace);
  delay_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec) self->close_now();
  });
  tls_->async_shutdown(
      [self = shared_from_this()](boost::system::error_code) { self->close_now(); });
}

void connection::close_now() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  delay_timer_.cancel();
  actions_.clear();
  pending_.clear();
  srv_.on_closed(*this);
}

void connection::half_close() {
  if (closed_) return;
  if (tls_) {
    close_now();
    return;
  }
  closing_ = true;
  half_closed_ = true;
  pending_.clear();
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
}

bool connection::passes_filters(const std::string& event) const {
  bool any_include = false;
  bool included = false;
  for (const auto& [exclude, re] : filters_) {
    const bool hit = std::regex_search(event, re);
    if (exclude && hit) return false;
    if (!exclude) {
      any_include = true;
      included = included || hit;
    }
  }
  return !any_include || included;
}

bool connection::wants_event(std::uint32_t category) const noexcept {
  if (!logged_in_ || closed_ || closing_ || replaying_) return false;
  if (category == 0) return event_mask_ != 0;
  return (read_perm_ & category) == category && (event_mask_ & category) == category;
}

// ---------------------------------------------------------------------------------------
// server_state

server_state::server_state(server_options opts) : opts_(std::move(opts)) {
  version_ = ami::proto::parse_version(opts_.ami_version).value_or(ami::proto::version{});
  pbx_ = std::make_unique<pbx_model>(
      *this,
      opts_.pbx ? *opts_.pbx : pbx_config::standard(version_ < ami::proto::version{9, 0, 0}));
}

server_state::~server_state() = default;

bool server_state::on_io_thread() const noexcept {
  return running_ && std::this_thread::get_id() == thread_id_;
}

void server_state::run_sync(const std::function<void()>& fn) {
  if (!running_ || on_io_thread()) {
    fn();
    return;
  }
  std::promise<void> done;
  auto fut = done.get_future();
  asio::post(io_, [&] {
    fn();
    done.set_value();
  });
  fut.wait();
}

void server_state::accept(std::optional<tcp::acceptor>& acceptor, bool tls) {
  if (!acceptor || !acceptor->is_open()) return;
  acceptor->async_accept(
      // Raw pointers: the io_context is a member, so no handler outlives the state (a
      // shared_ptr here would keep the state, and so its io_context, alive forever).
      [self = this, acc = &acceptor, tls](boost::system::error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !*acc || !(*acc)->is_open()) return;
        if (!ec) {
          socket.set_option(tcp::no_delay(true), ec);
          auto c = std::make_shared<connection>(*self, std::move(socket), self->next_id_++, tls);
          self->connections_.push_back(c);
          {
            std::lock_guard<std::mutex> lock(self->mutex_);
            ++self->session_count_;
            ++self->connection_count_;
          }
          self->cv_.notify_all();
          self->log("session " + std::to_string(c->id_) + " connected from " + c->peer_ +
                    (tls ? " (TLS)" : ""));
          c->start(self->replay_);
        }
        self->accept(*acc, tls);
      });
}

std::string server_state::user_url(const std::string& username, bool tls) const {
  const auto* u = find_user(username);
  if (u == nullptr) return {};
  const bool separate = tls && opts_.tls && opts_.tls->separate_listener;
  const std::string& host = separate ? opts_.tls->address : opts_.address;
  const bool v6 = host.find(':') != std::string::npos;
  return std::string(tls ? "amis://" : "ami://") + u->username + ":" + u->secret + "@" +
         (v6 ? "[" + host + "]" : host) + ":" + std::to_string(separate ? tls_port_ : port_);
}

void server_state::on_closed(connection& c) {
  const auto it = std::find_if(connections_.begin(), connections_.end(),
                               [&](const auto& p) { return p.get() == &c; });
  if (it == connections_.end()) return;
  // Keep the connection alive until the handler that closed it returns.
  asio::post(io_, [keep = *it] { (void)keep; });
  connections_.erase(it);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --session_count_;
    if (record_sessions_) finished_.push_back(c.record());
  }
  log("session " + std::to_string(c.id_) + " closed");
  cv_.notify_all();
}

void server_state::on_login(connection& c) {
  (void)c;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++login_count_;
  }
  cv_.notify_all();
}

void server_state::dispatch(connection& c, const ami::message& action) {
  const std::string name = lower(action.get_or("Action"));
  if (log_) {
    std::string line = "session " + std::to_string(c.id_) + " action " +
                       std::string(action.get_or("Action", "(none)"));
    if (auto id = action.get("ActionID")) line += " ActionID=" + std::string(*id);
    log(line);
  }
  action_handler h;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = handlers_.find(name);
    if (it == handlers_.end()) it = handlers_.find("*");
    if (it != handlers_.end()) h = it->second;
  }
  // An exception must not take the server thread down: the client gets an error instead.
  try {
    if (h && h(c, action)) {
      c.resume();
      return;
    }
    if (builtin(c, action) == outcome::done) c.resume();
  } catch (const std::exception& e) {
    log("session " + std::to_string(c.id_) + " handler threw: " + e.what());
    c.respond_now(action,
                  {{"Response", "Error"}, {"Message", std::string("Internal error: ") + e.what()}});
    c.resume();
  }
}

void server_state::broadcast(const field_list& fields) {
  std::uint32_t category = 0;
  for (const auto& [key, value] : fields) {
    if (iequals(key, "Privilege")) {
      category = event_category(value);
      break;
    }
  }
  const std::string bytes = serialize_fields(fields);
  // Copy: a write may close a connection and shrink the list.
  const auto targets = connections_;
  for (const auto& c : targets) {
    if (c->wants_event(category) && (c->filters_.empty() || c->passes_filters(bytes))) {
      c->write(bytes);
      c->event_queued();
    }
  }
}

const user* server_state::find_user(std::string_view name) const {
  for (const auto& u : opts_.users) {
    if (u.username == name) return &u;
  }
  return nullptr;
}

long server_state::uptime_seconds() const {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::steady_clock::now() - started_at_)
                               .count());
}

}  // namespace detail

// ---------------------------------------------------------------------------------------
// session

namespace {
detail::connection& conn(session& s) { return static_cast<detail::connection&>(s); }
const detail::connection& conn(const session& s) {
  return static_cast<const detail::connection&>(s);
}

// Runs fn on the connection's io thread: inline there, posted (in call order) elsewhere.
template <class Fn>
void on_io(detail::connection& c, detail::server_state& st, Fn&& fn) {
  if (!st.running_ || st.on_io_thread()) {
    fn(c);
    return;
  }
  boost::asio::post(
      st.io_, [self = c.shared_from_this(), f = std::forward<Fn>(fn)]() mutable { f(*self); });
}
}  // namespace

void session::send_raw(std::string bytes) {
  auto& c = conn(*this);
  on_io(c, c.state(),
        [b = std::move(bytes)](detail::connection& x) mutable { x.write(std::move(b)); });
}

void session::send(const field_list& fields) { send_raw(detail::serialize_fields(fields)); }

void session::respond(const ami::message& action, field_list fields) {
  send_raw(detail::serialize_fields(detail::with_action_id(action, std::move(fields))));
}

void session::close() {
  auto& c = conn(*this);
  on_io(c, c.state(), [](detail::connection& x) { x.close_after_flush(); });
}

void session::abort() {
  auto& c = conn(*this);
  on_io(c, c.state(), [](detail::connection& x) { x.close_now(); });
}

bool session::logged_in() const noexcept { return conn(*this).logged_in_.load(); }

std::string session::username() const {
  const auto& c = conn(*this);
  std::lock_guard<std::mutex> lock(c.name_mutex_);
  return c.username_;
}

std::uint64_t session::id() const noexcept { return conn(*this).id_; }

std::shared_ptr<session> session::shared() { return conn(*this).shared_from_this(); }

// ---------------------------------------------------------------------------------------
// server

server::server(server_options opts)
    : state_(std::make_shared<detail::server_state>(std::move(opts))) {}

server::~server() { stop(); }

void server::start() {
  auto& st = *state_;
  if (st.running_) return;
  namespace asio = boost::asio;
  const auto& tls = st.opts_.tls;
  if (tls && !st.tls_ctx_) st.tls_ctx_.emplace(detail::make_tls_context(*tls));
  const bool separate = tls && tls->separate_listener;
  const auto listen = [&st](std::optional<detail::tcp::acceptor>& acceptor,
                            const std::string& address, unsigned short want) {
    acceptor.emplace(st.io_);
    detail::tcp::endpoint ep(asio::ip::make_address(address), want);
    acceptor->open(ep.protocol());
    acceptor->set_option(detail::tcp::acceptor::reuse_address(true));
    acceptor->bind(ep);
    acceptor->listen();
    return acceptor->local_endpoint().port();
  };
  st.io_.restart();
  st.port_ = listen(st.acceptor_, st.opts_.address, st.port_ != 0 ? st.port_ : st.opts_.port);
  if (separate) {
    try {
      st.tls_port_ =
          listen(st.tls_acceptor_, tls->address, st.tls_port_ != 0 ? st.tls_port_ : tls->port);
    } catch (...) {
      st.acceptor_.reset();
      throw;
    }
  } else {
    st.tls_port_ = tls ? st.port_ : 0;
  }
  st.started_at_ = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(st.mutex_);
    st.connection_count_ = 0;
    st.login_count_ = 0;
  }
  st.work_.emplace(st.io_.get_executor());
  st.accept(st.acceptor_, tls && !separate);
  if (separate) st.accept(st.tls_acceptor_, true);
  std::promise<void> ready;
  auto fut = ready.get_future();
  st.thread_ = std::thread([&st, &ready] {
    st.thread_id_ = std::this_thread::get_id();
    ready.set_value();
    st.io_.run();
  });
  fut.wait();
  st.running_ = true;
}

void server::stop() {
  auto& st = *state_;
  if (!st.running_) return;
  st.run_sync([&st] {
    boost::system::error_code ignored;
    st.pbx_->shutdown();
    if (st.acceptor_) st.acceptor_->close(ignored);
    if (st.tls_acceptor_) st.tls_acceptor_->close(ignored);
    const auto all = st.connections_;
    for (const auto& c : all) c->close_now();
  });
  st.work_.reset();
  st.io_.stop();
  st.thread_.join();
  st.running_ = false;
  st.acceptor_.reset();
  st.tls_acceptor_.reset();
  st.connections_.clear();
}

unsigned short server::port() const { return state_->port_; }
std::string server::address() const { return state_->opts_.address; }
const server_options& server::options() const noexcept { return state_->opts_; }

std::string server::url(const std::string& username) const {
  auto& st = *state_;
  const bool tls = st.opts_.tls && !st.opts_.tls->separate_listener;
  std::string out;
  st.run_sync([&] { out = st.user_url(username, tls); });
  if (out.empty()) throw std::invalid_argument("no such user: " + username);
  return out;
}

unsigned short server::tls_port() const { return state_->tls_port_; }

std::string server::tls_url(const std::string& username) const {
  auto& st = *state_;
  if (!st.opts_.tls) throw std::logic_error("the server does not speak TLS");
  std::string out;
  st.run_sync([&] { out = st.user_url(username, true); });
  if (out.empty()) throw std::invalid_argument("no such user: " + username);
  return out;
}

void server::on_action(std::string action_name, action_handler h) {
  auto& st = *state_;
  const std::string key = detail::lower(action_name);
  std::lock_guard<std::mutex> lock(st.mutex_);
  if (h) {
    st.handlers_[key] = std::move(h);
  } else {
    st.handlers_.erase(key);
  }
}

void server::push_event(const field_list& fields) {
  auto& st = *state_;
  st.run_sync([&] { st.broadcast(fields); });
}

void server::push_raw(std::string bytes) {
  auto& st = *state_;
  st.run_sync([&] {
    const auto all = st.connections_;
    for (const auto& c : all) c->write(bytes);
  });
}

std::vector<ami::message> server::received() const {
  std::lock_guard<std::mutex> lock(state_->mutex_);
  return state_->received_;
}

void server::clear_received() {
  std::lock_guard<std::mutex> lock(state_->mutex_);
  state_->received_.clear();
}

std::size_t server::session_count() const {
  std::lock_guard<std::mutex> lock(state_->mutex_);
  return state_->session_count_;
}

std::size_t server::connection_count() const {
  std::lock_guard<std::mutex> lock(state_->mutex_);
  return state_->connection_count_;
}

std::size_t server::login_count() const {
  std::lock_guard<std::mutex> lock(state_->mutex_);
  return state_->login_count_;
}

void server::record_sessions(bool on) {
  std::lock_guard<std::mutex> lock(state_->mutex_);
  state_->record_sessions_ = on;
}

std::vector<session_record> server::finished_sessions() const {
  std::lock_guard<std::mutex> lock(state_->mutex_);
  return state_->finished_;
}

void server::clear_finished_sessions() {
  std::lock_guard<std::mutex> lock(state_->mutex_);
  state_->finished_.clear();
}

bool server::wait_for_finished_sessions(std::size_t n, std::chrono::milliseconds timeout) const {
  auto& st = *state_;
  std::unique_lock<std::mutex> lock(st.mutex_);
  return st.cv_.wait_for(lock, timeout, [&] { return st.finished_.size() >= n; });
}

bool server::wait_for_sessions(std::size_t n, std::chrono::milliseconds timeout) const {
  auto& st = *state_;
  std::unique_lock<std::mutex> lock(st.mutex_);
  return st.cv_.wait_for(lock, timeout, [&] { return st.session_count_ == n; });
}

bool server::wait_for_logins(std::size_t n, std::chrono::milliseconds timeout) const {
  auto& st = *state_;
  std::unique_lock<std::mutex> lock(st.mutex_);
  return st.cv_.wait_for(lock, timeout, [&] { return st.login_count_ >= n; });
}

bool server::wait_for_action(const std::string& name, std::chrono::milliseconds timeout) const {
  return wait_for_actions(name, 1, timeout);
}

bool server::wait_for_actions(const std::string& name, std::size_t n,
                              std::chrono::milliseconds timeout) const {
  auto& st = *state_;
  std::unique_lock<std::mutex> lock(st.mutex_);
  return st.cv_.wait_for(lock, timeout, [&] {
    std::size_t count = 0;
    for (const auto& m : st.received_) {
      if (iequals(m.get_or("Action"), name)) ++count;
    }
    return count >= n;
  });
}

void server::close_sessions() {
  auto& st = *state_;
  st.run_sync([&st] {
    const auto all = st.connections_;
    for (const auto& c : all) c->close_now();
  });
}

void server::half_close_sessions() {
  auto& st = *state_;
  st.run_sync([&st] {
    const auto all = st.connections_;
    for (const auto& c : all) c->half_close();
  });
}

void server::close_after_events(std::uint64_t n) {
  auto& st = *state_;
  st.run_sync([&st, n] {
    st.close_after_events_ = n;
    if (n == 0) return;
    const auto all = st.connections_;
    for (const auto& c : all) {
      if (c->events_queued_ >= n) c->close_gracefully();
    }
  });
}

void server::close_after_bytes(std::size_t n) {
  auto& st = *state_;
  st.run_sync([&st, n] {
    st.close_after_ = n;
    const auto all = st.connections_;
    for (const auto& c : all) c->set_byte_budget(n);
  });
}

void server::stall(bool on) {
  auto& st = *state_;
  st.run_sync([&st, on] {
    st.stalled_ = on;
    if (on) return;
    const auto all = st.connections_;
    for (const auto& c : all) c->flush();
  });
}

void server::delay_responses(std::chrono::milliseconds d) {
  auto& st = *state_;
  st.run_sync([&st, d] { st.delay_ = d; });
}

void server::replay(std::string bytes) {
  auto& st = *state_;
  st.run_sync([&st, &bytes] {
    if (bytes.empty()) {
      st.replay_.reset();
    } else {
      st.replay_ = std::move(bytes);
    }
  });
}

void server::replay_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  replay(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
}

void server::add_user(user u) {
  auto& st = *state_;
  st.run_sync([&] {
    for (auto& x : st.opts_.users) {
      if (x.username == u.username) {
        x = u;
        return;
      }
    }
    st.opts_.users.push_back(u);
  });
}

void server::add_endpoint(endpoint e) {
  auto& st = *state_;
  st.run_sync([&] { st.pbx_->add_endpoint(e); });
}

void server::add_extension(extension x) {
  auto& st = *state_;
  st.run_sync([&] { st.pbx_->add_extension(x); });
}

void server::add_queue(queue q) {
  auto& st = *state_;
  st.run_sync([&] { st.pbx_->add_queue(q); });
}

void server::set_mailbox(mailbox m) {
  auto& st = *state_;
  st.run_sync([&] { st.pbx_->set_mailbox(m); });
}

std::vector<channel_info> server::channels() const {
  auto& st = *state_;
  std::vector<channel_info> out;
  st.run_sync([&] { out = st.pbx_->channels(); });
  return out;
}

std::vector<queue> server::queues() const {
  auto& st = *state_;
  std::vector<queue> out;
  st.run_sync([&] { out = st.pbx_->queues(); });
  return out;
}

std::optional<std::string> server::variable(const std::string& channel,
                                            const std::string& name) const {
  auto& st = *state_;
  std::optional<std::string> out;
  st.run_sync([&] { out = st.pbx_->variable(channel, name); });
  return out;
}

std::string server::incoming_call(const std::string& from, const std::string& exten,
                                  const std::string& context, const std::string& caller_id_num) {
  auto& st = *state_;
  std::string out;
  st.run_sync([&] { out = st.pbx_->incoming_call(from, exten, context, caller_id_num); });
  return out;
}

bool server::hangup(const std::string& channel, int cause) {
  auto& st = *state_;
  bool out = false;
  st.run_sync([&] { out = st.pbx_->hangup(channel, cause); });
  return out;
}

void server::start_load(double events_per_second) {
  auto& st = *state_;
  st.run_sync([&] { st.pbx_->start_load(events_per_second); });
}

void server::stop_load() {
  auto& st = *state_;
  st.run_sync([&] { st.pbx_->stop_load(); });
}

std::uint64_t server::events_generated() const {
  auto& st = *state_;
  std::uint64_t out = 0;
  st.run_sync([&] { out = st.pbx_->events_sent(); });
  return out;
}

void server::set_log(std::function<void(const std::string& line)> log) {
  auto& st = *state_;
  st.run_sync([&] { st.log_ = std::move(log); });
}

namespace {
// Runs a pbx_model member on the server thread and returns its result.
template <class Fn>
auto on_pbx(detail::server_state& st, Fn&& fn) {
  decltype(fn(*st.pbx_)) out{};
  st.run_sync([&] { out = fn(*st.pbx_); });
  return out;
}
}  // namespace

bool server::hold(const std::string& channel, const std::string& music_class) {
  return on_pbx(*state_, [&](detail::pbx_model& p) { return p.hold(channel, music_class, true); });
}
bool server::unhold(const std::string& channel) {
  return on_pbx(*state_, [&](detail::pbx_model& p) { return p.hold(channel, {}, false); });
}
bool server::rename(const std::string& channel, const std::string& new_name) {
  return on_pbx(*state_, [&](detail::pbx_model& p) { return p.rename(channel, new_name); });
}
bool server::blind_transfer(const std::string& transferer, const std::string& exten,
                            const std::string& context) {
  return on_pbx(*state_,
                [&](detail::pbx_model& p) { return p.blind_transfer(transferer, exten, context); });
}
bool server::attended_transfer(const std::string& first_leg, const std::string& second_leg) {
  return on_pbx(*state_,
                [&](detail::pbx_model& p) { return p.attended_transfer(first_leg, second_leg); });
}
std::optional<int> server::park(const std::string& channel, int timeout) {
  return on_pbx(*state_, [&](detail::pbx_model& p) { return p.park(channel, timeout); });
}
std::string server::pickup_parked(int space, const std::string& from) {
  return on_pbx(*state_, [&](detail::pbx_model& p) { return p.pickup_parked(space, from); });
}
std::vector<parked_info> server::parked() const {
  return on_pbx(*state_, [](detail::pbx_model& p) { return p.parked(); });
}
std::vector<conference_info> server::conferences() const {
  return on_pbx(*state_, [](detail::pbx_model& p) { return p.conferences(); });
}
void server::add_agent(agent a) {
  auto& st = *state_;
  st.run_sync([&] { st.pbx_->add_agent(a); });
}
std::string server::agent_login(const std::string& agent, const std::string& device) {
  return on_pbx(*state_, [&](detail::pbx_model& p) { return p.agent_login(agent, device); });
}
bool server::agent_logoff(const std::string& agent) {
  return on_pbx(*state_, [&](detail::pbx_model& p) { return p.agent_logoff(agent); });
}
bool server::queue_add(const std::string& queue, const queue_member& m) {
  return on_pbx(*state_, [&](detail::pbx_model& p) { return p.member_add(queue, m).empty(); });
}
bool server::queue_remove(const std::string& queue, const std::string& interface) {
  return on_pbx(*state_,
                [&](detail::pbx_model& p) { return p.member_remove(queue, interface).empty(); });
}
bool server::queue_pause(const std::string& queue, const std::string& interface, bool paused,
                         const std::string& reason) {
  return on_pbx(*state_, [&](detail::pbx_model& p) {
    return p.member_pause(queue, interface, paused, reason).empty();
  });
}
bool server::set_endpoint_online(const std::string& device, bool online) {
  return on_pbx(*state_,
                [&](detail::pbx_model& p) { return p.set_endpoint_online(device, online); });
}

}  // namespace ami::testing
