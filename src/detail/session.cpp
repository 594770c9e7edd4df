#include "ami/detail/session.hpp"

#include "ami/proto/md5.hpp"
#include "ami/proto/serializer.hpp"

#include <boost/asio/error.hpp>

#include <charconv>

namespace ami::detail {
namespace {

std::optional<clock::time_point> deadline_after(clock::time_point now,
                                                std::chrono::milliseconds d) {
  if (d.count() <= 0) return std::nullopt;
  return now + d;
}

}  // namespace

std::chrono::milliseconds session::default_timeout(const action& a, answer_kind answer) const {
  auto t = cfg_.action_timeout;
  if (answer != answer_kind::originate || t.count() <= 0) return t;
  // The OriginateResponse comes after the ring time (Timeout, in ms) at the latest.
  if (const auto* ring = a.get("Timeout")) {
    long long ms = 0;
    const auto* end = ring->data() + ring->size();
    const auto r = std::from_chars(ring->data(), end, ms);
    if (r.ec == std::errc{} && r.ptr == end && ms > 0) t += std::chrono::milliseconds(ms);
  }
  return t;
}

void session::set_state(connection_state s, const boost::system::error_code& ec) {
  if (s == state_) return;
  state_ = s;
  changes_.push_back({s, ec});
}

void session::complete_now(operation_ptr op, const boost::system::error_code& ec, response r) {
  if (op) finished_.push_back({std::move(op), ec, std::move(r)});
}

void session::drop_actions(const boost::system::error_code& ec) {
  router_.fail_all(ec, routed_);
  for (auto& r : routed_) {
    if (r.tag == internal_tag::none && r.result.op) finished_.push_back(std::move(r.result));
  }
  routed_.clear();
  queue_.clear();
  out_.clear();
  sensitive_ = false;
}

void session::fail_connect(const boost::system::error_code& ec) {
  complete_now(std::move(connect_op_), ec);
  complete_now(std::move(logoff_op_), ec);
  drop_actions(error::connection_lost);
  phase_deadline_.reset();
  close_request_ = true;
  set_state(connection_state::disconnected, ec);
}

void session::start(const config& cfg, std::uint64_t n, operation_ptr op, clock::time_point now) {
  if (state_ != connection_state::disconnected) {
    complete_now(std::move(op), state_ == connection_state::logged_in
                                    ? boost::asio::error::already_connected
                                    : boost::asio::error::in_progress);
    return;
  }
  cfg_ = cfg;
  if (default_prefix_.empty()) default_prefix_ = router_.ids().prefix();
  router_.ids().set_prefix(cfg_.action_id_prefix ? *cfg_.action_id_prefix : default_prefix_);
  banner_.reset();
  last_error_.clear();
  fully_booted_ = false;
  goodbye_ = false;
  queue_.clear();
  out_.clear();
  sensitive_ = false;
  connect_op_ = std::move(op);
  connect_n_ = n;
  phase_deadline_ = deadline_after(now, cfg_.connect_timeout);
  set_state(connection_state::connecting);
}

void session::transport_connected(clock::time_point now) {
  if (state_ != connection_state::connecting) return;
  phase_deadline_ = deadline_after(now, cfg_.login_timeout);
  set_state(connection_state::connected);
}

bool session::send_internal(std::uint64_t n, std::string_view name, internal_tag tag,
                            const field_refs& fields) {
  const std::string id = router_.ids().format(n);
  proto::writer w(out_);
  w.field("Action", name);
  w.field("ActionID", id);
  for (const auto& [key, value] : fields) w.field(key, value);
  if (auto e = w.finish()) {
    last_error_ = "a login field holds CR, LF or is too long";
    fail_connect(*e);
    return false;
  }
  router_.add({n, std::string(name), {}, answer_kind::response, tag, std::nullopt, nullptr});
  router_.mark_sent(n);
  return true;
}

void session::send_login(std::uint64_t n, std::string_view challenge) {
  sensitive_ = true;
  if (cfg_.auth == auth_method::md5) {
    const auto key = proto::md5_login_key(challenge, cfg_.secret);
    send_internal(
        n, "Login", internal_tag::login,
        {{"AuthType", "MD5"}, {"Username", cfg_.username}, {"Key", key}, {"Events", cfg_.events}});
  } else {
    send_internal(n, "Login", internal_tag::login,
                  {{"Username", cfg_.username}, {"Secret", cfg_.secret}, {"Events", cfg_.events}});
  }
}

delivery session::on_message(const message& m) {
  switch (state_) {
    case connection_state::disconnected:
    case connection_state::connecting: return delivery::none;
    case connection_state::connected:
      if (m.kind() != message_kind::banner) {
        last_error_ = "the server did not start with a banner line";
        fail_connect(error::unexpected_message);
        return delivery::none;
      }
      banner_ = proto::parse_banner(m.lines().empty() ? std::string_view{} : m.lines().front());
      set_state(connection_state::logging_in);
      if (cfg_.auth == auth_method::md5) {
        send_internal(connect_n_, "Challenge", internal_tag::challenge, {{"AuthType", "MD5"}});
      } else {
        send_login(connect_n_, {});
      }
      return delivery::none;
    case connection_state::logging_in:
    case connection_state::logged_in:
    case connection_state::closing: break;
  }
  if (m.kind() == message_kind::banner) {  // a second banner line: nothing to do with it
    ++counters_.unmatched;
    return delivery::none;
  }
  const auto r = router_.route(m, routed_);
  take_routed();
  switch (r) {
    case routed::event:
      if (!fully_booted_ && iequals(m.event_name(), "FullyBooted")) fully_booted_ = true;
      return delivery::event;
    case routed::list_item: return delivery::list_item;
    case routed::late: ++counters_.late; return delivery::none;
    case routed::unmatched: ++counters_.unmatched; return delivery::none;
    case routed::answer: break;
  }
  return delivery::none;
}

void session::end_of_input() {
  router_.end_of_input(routed_);
  take_routed();
}

void session::take_routed() {
  if (routed_.empty()) {
    if (!queue_.empty()) flush_queue();
    return;
  }
  // on_internal() may fail the connection, which routes more results: work on a batch.
  std::vector<routed_result> batch;
  batch.swap(routed_);
  for (auto& r : batch) {
    if (r.tag == internal_tag::none) {
      if (r.result.op) finished_.push_back(std::move(r.result));
    } else {
      on_internal(r.tag, r.result);
    }
  }
  batch.clear();
  if (routed_.empty()) routed_.swap(batch);  // keep the capacity
  flush_queue();
}

void session::on_internal(internal_tag tag, finished_op& r) {
  switch (tag) {
    case internal_tag::none: return;
    case internal_tag::challenge: {
      if (state_ != connection_state::logging_in) return;
      const auto nonce = r.resp.get("Challenge");
      if (r.ec || !nonce || nonce->empty()) {
        last_error_ = r.resp.message_text().empty() ? "the server refused the MD5 challenge"
                                                    : std::string(r.resp.message_text());
        fail_connect(error::login_failed);
        return;
      }
      send_login(router_.ids().reserve(), *nonce);
      return;
    }
    case internal_tag::login:
      if (state_ != connection_state::logging_in) return;
      if (r.ec) {
        last_error_ =
            r.resp.message_text().empty() ? "login refused" : std::string(r.resp.message_text());
        fail_connect(error::login_failed);
        return;
      }
      phase_deadline_.reset();
      set_state(connection_state::logged_in);
      complete_now(std::move(connect_op_), {});
      return;
    case internal_tag::logoff: goodbye_ = true; return;
  }
}

void session::flush_queue() {
  while (state_ == connection_state::logged_in && !queue_.empty() &&
         (cfg_.max_in_flight == 0 || router_.in_flight() < cfg_.max_in_flight)) {
    auto q = std::move(queue_.front());
    queue_.pop_front();
    if (!router_.is_queued(q.n)) continue;  // abandoned while queued
    out_ += q.bytes;
    router_.mark_sent(q.n);
  }
}

void session::transport_closed(const boost::system::error_code& ec) {
  switch (state_) {
    case connection_state::disconnected: return;
    case connection_state::connecting:
      last_error_ = "connect failed: " + (ec ? ec.message() : std::string("connection lost"));
      fail_connect(ec ? ec : make_error_code(error::connection_lost));
      close_request_ = false;
      return;
    case connection_state::connected:
    case connection_state::logging_in:
      last_error_ = "the server closed the connection during login";
      fail_connect(error::connection_lost);
      close_request_ = false;
      return;
    case connection_state::logged_in:
      drop_actions(error::connection_lost);
      phase_deadline_.reset();
      set_state(connection_state::disconnected, error::connection_lost);
      return;
    case connection_state::closing:
      complete_now(std::move(logoff_op_), {});
      drop_actions(error::connection_lost);
      phase_deadline_.reset();
      set_state(connection_state::disconnected, {});
      return;
  }
}

void session::close(const boost::system::error_code& ec) {
  if (state_ == connection_state::disconnected) return;
  if (connect_op_) last_error_ = "closed by the client during connect";
  complete_now(std::move(connect_op_), ec);
  complete_now(std::move(logoff_op_), ec);
  drop_actions(ec);
  phase_deadline_.reset();
  close_request_ = true;
  set_state(connection_state::disconnected, ec);
}

void session::submit(std::uint64_t n, const action& a, answer_kind answer,
                     std::optional<std::chrono::milliseconds> timeout, operation_ptr op,
                     clock::time_point now) {
  if (state_ == connection_state::disconnected || state_ == connection_state::closing) {
    complete_now(std::move(op), error::not_connected);
    return;
  }
  const bool write_now = state_ == connection_state::logged_in && queue_.empty() &&
                         (cfg_.max_in_flight == 0 || router_.in_flight() < cfg_.max_in_flight);
  if (!write_now && router_.queued() >= cfg_.max_queued) {
    complete_now(std::move(op), error::too_many_pending);
    return;
  }
  const auto caller_id = a.action_id();
  std::string own_id;
  if (caller_id.empty()) router_.ids().format(n, own_id);
  std::string queued_bytes;
  if (auto e = proto::serialize(a, own_id, write_now ? out_ : queued_bytes)) {
    complete_now(std::move(op), *e);
    return;
  }
  if (answer == answer_kind::response && iequals(a.name(), "Queues"))
    answer = answer_kind::raw_text;
  new_action na;
  na.n = n;
  na.name = a.name();
  na.caller_id = std::string(caller_id);
  na.answer = answer;
  na.deadline = deadline_after(now, timeout ? *timeout : default_timeout(a, answer));
  na.op = std::move(op);
  router_.add(std::move(na));
  if (write_now) {
    router_.mark_sent(n);
  } else {
    queue_.push_back({n, std::move(queued_bytes)});
  }
}

void session::logoff(std::uint64_t n, operation_ptr op, clock::time_point now) {
  if (state_ != connection_state::logged_in) {
    complete_now(std::move(op), state_ == connection_state::closing
                                    ? boost::system::error_code(boost::asio::error::in_progress)
                                    : make_error_code(error::not_connected));
    return;
  }
  logoff_op_ = std::move(op);
  logoff_n_ = n;
  goodbye_ = false;
  if (!send_internal(n, "Logoff", internal_tag::logoff, {})) return;
  phase_deadline_ = deadline_after(now, cfg_.action_timeout);
  set_state(connection_state::closing);
}

void session::abandon(std::uint64_t n, const boost::system::error_code& ec) {
  if (connect_op_ && n == connect_n_) {
    last_error_ = "connect cancelled";
    fail_connect(ec);
    return;
  }
  if (logoff_op_ && n == logoff_n_) {
    complete_now(std::move(logoff_op_), ec);
    return;
  }
  router_.abandon(n, ec, routed_);
  take_routed();
}

void session::cancel_all(const boost::system::error_code& ec) {
  if (connect_op_) {
    last_error_ = "connect cancelled";
    fail_connect(ec);
    return;
  }
  complete_now(std::move(logoff_op_), ec);
  router_.abandon_all(ec, routed_);
  take_routed();
}

void session::expire(clock::time_point now) {
  router_.expire(now, routed_);
  take_routed();
  if (!phase_deadline_ || *phase_deadline_ > now) return;
  switch (state_) {
    case connection_state::connecting:
      last_error_ = "connect timed out";
      fail_connect(error::connect_timeout);
      return;
    case connection_state::connected:
    case connection_state::logging_in:
      last_error_ = "login timed out";
      fail_connect(error::login_timeout);
      return;
    case connection_state::closing: {
      const boost::system::error_code ec =
          goodbye_ ? boost::system::error_code{} : make_error_code(error::action_timeout);
      complete_now(std::move(logoff_op_), ec);
      drop_actions(error::connection_lost);
      phase_deadline_.reset();
      close_request_ = true;
      set_state(connection_state::disconnected, ec);
      return;
    }
    case connection_state::disconnected:
    case connection_state::logged_in: phase_deadline_.reset(); return;
  }
}

std::optional<clock::time_point> session::next_deadline() {
  auto d = router_.next_deadline();
  if (phase_deadline_ && (!d || *phase_deadline_ < *d)) d = phase_deadline_;
  return d;
}

}  // namespace ami::detail
