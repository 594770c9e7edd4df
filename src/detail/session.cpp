#include "ami/detail/session.hpp"

#include "ami/proto/md5.hpp"
#include "ami/proto/serializer.hpp"

#include <boost/asio/error.hpp>

#include <algorithm>
#include <charconv>

namespace ami::detail {
namespace {

std::optional<clock::time_point> deadline_after(clock::time_point now,
                                                std::chrono::milliseconds d) {
  if (d.count() <= 0) return std::nullopt;
  return now + d;
}

bool due(const std::optional<clock::time_point>& d, clock::time_point now) {
  return d && *d <= now;
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

std::chrono::milliseconds session::backoff_cap(const config& cfg, unsigned attempt) noexcept {
  using ms = std::chrono::milliseconds;
  const auto initial = static_cast<double>(std::max<ms::rep>(cfg.reconnect_initial.count(), 0));
  const double limit =
      std::max(static_cast<double>(cfg.reconnect_max.count()), initial);  // max below initial
  const double factor = std::max(1.0, cfg.reconnect_multiplier);          // NaN too
  double cap = initial;
  for (unsigned k = 1; k < attempt && cap < limit && factor > 1.0; ++k) cap *= factor;
  return ms(static_cast<ms::rep>(std::min(cap, limit)));
}

std::chrono::milliseconds session::draw_delay(std::chrono::milliseconds cap) {
  if (cap.count() <= 0) return std::chrono::milliseconds(0);
  if (jitter_) return std::clamp(jitter_(cap), std::chrono::milliseconds(0), cap);
  if (!seeded_) {
    std::random_device device;
    seed((static_cast<std::uint64_t>(device()) << 32) ^ device());
  }
  std::uniform_int_distribution<std::chrono::milliseconds::rep> pick(0, cap.count());
  return std::chrono::milliseconds(pick(rng_));
}

void session::set_state(connection_state s, const boost::system::error_code& ec,
                        std::chrono::milliseconds delay, std::chrono::milliseconds max_delay) {
  if (s == state_) return;
  state_ = s;
  changes_.push_back({s, ec, delay, max_delay, attempt_});
}

void session::complete_now(operation_ptr op, const boost::system::error_code& ec, response r) {
  if (op) finished_.push_back({std::move(op), ec, std::move(r)});
}

void session::deliver(routed_result& r, bool internal_too) {
  if (r.tag == internal_tag::filter || r.tag == internal_tag::events) {
    const auto it = std::find_if(watched_.begin(), watched_.end(),
                                 [&](const auto& w) { return w.first == r.n; });
    if (it != watched_.end()) {
      if (!r.result.ec) {
        if (r.tag == internal_tag::filter) {
          filters_.push_back(std::move(it->second));
        } else if (const auto* mask = it->second.get("EventMask")) {
          event_mask_ = *mask;
        }
      }
      watched_.erase(it);
    }
  } else if (is_internal(r.tag)) {
    if (internal_too) on_internal(r.tag, r.result);
    return;
  }
  if (r.result.op) finished_.push_back(std::move(r.result));
}

void session::drop_actions(const boost::system::error_code& ec) {
  router_.fail_all(ec, routed_);
  for (auto& r : routed_) deliver(r, false);
  routed_.clear();
  queue_.clear();
  out_.clear();
  sensitive_ = false;
}

void session::keep_for_reconnect(const boost::system::error_code& ec) {
  std::vector<resent_action> resent;
  router_.requeue(ec, routed_, resent);
  // Queued, never written: they wait for the next session unless they asked not to.
  std::deque<queued_action> kept;
  for (auto& r : resent) kept.push_back({r.n, std::move(r.bytes), true});
  for (auto& q : queue_) {
    if (!router_.is_queued(q.n)) continue;  // abandoned, or already in `kept`
    if (q.wait) {
      kept.push_back(std::move(q));
    } else {
      router_.abandon(q.n, ec, routed_);
    }
  }
  queue_.swap(kept);
  for (auto& r : routed_) deliver(r, false);
  routed_.clear();
  out_.clear();
  sensitive_ = false;
}

void session::end_run(const boost::system::error_code& ec) {
  complete_now(std::move(run_op_), ec);
  attempt_ = 0;
}

void session::back_off(const boost::system::error_code& reason) {
  ++attempt_;
  const auto cap = backoff_cap(cfg_, attempt_);
  const auto delay = draw_delay(cap);
  phase_deadline_ = now_ + delay;
  set_state(connection_state::backing_off, reason, delay, cap);
}

void session::fail_attempt(const boost::system::error_code& ec, bool retryable) {
  complete_now(std::move(connect_op_), ec);
  complete_now(std::move(logoff_op_), ec);
  phase_deadline_.reset();
  close_request_ = true;
  const bool again =
      run_op_ && retryable && cfg_.reconnect_initial.count() > 0 &&
      !(ec == error::login_failed && cfg_.login_failure == login_failure_policy::stop);
  if (again) {
    keep_for_reconnect(error::connection_lost);
    set_state(connection_state::disconnected, ec);
    back_off(ec);
    return;
  }
  drop_actions(error::connection_lost);
  set_state(connection_state::disconnected, ec);
  end_run(ec);
}

void session::lose_session(const boost::system::error_code& reason) {
  phase_deadline_.reset();
  if (run_op_ && cfg_.reconnect_initial.count() > 0) {
    keep_for_reconnect(error::connection_lost);
    set_state(connection_state::disconnected, reason);
    back_off(reason);
    return;
  }
  drop_actions(error::connection_lost);
  set_state(connection_state::disconnected, reason);
  end_run(reason);
}

void session::stop_run(const boost::system::error_code& ec,
                       const boost::system::error_code& waiting) {
  end_run(ec);
  if (state_ == connection_state::logged_in || state_ == connection_state::closing) return;
  last_error_ = "run cancelled";
  drop_actions(waiting);
  phase_deadline_.reset();
  close_request_ = true;
  set_state(connection_state::disconnected, ec);
}

void session::reset(const config& cfg) {
  cfg_ = cfg;
  if (default_prefix_.empty()) default_prefix_ = router_.ids().prefix();
  router_.ids().set_prefix(cfg_.action_id_prefix ? *cfg_.action_id_prefix : default_prefix_);
  last_error_.clear();
  queue_.clear();
  event_mask_.reset();
  filters_.clear();
  watched_.clear();
  attempt_ = 0;
}

void session::begin_attempt(std::uint64_t n, clock::time_point now) {
  now_ = now;
  banner_.reset();
  fully_booted_ = false;
  goodbye_ = false;
  out_.clear();
  sensitive_ = false;
  ping_out_ = false;
  probed_for_.reset();
  connect_n_ = n;
  phase_deadline_ = deadline_after(now, cfg_.connect_timeout);
  connect_request_ = true;
  set_state(connection_state::connecting);
}

bool session::refused_while_busy(operation_ptr& op) {
  if (!run_op_ && state_ == connection_state::disconnected) return false;
  complete_now(std::move(op), state_ == connection_state::logged_in && !run_op_
                                  ? boost::asio::error::already_connected
                                  : boost::asio::error::in_progress);
  return true;
}

void session::start(const config& cfg, std::uint64_t n, operation_ptr op, clock::time_point now) {
  now_ = now;
  if (refused_while_busy(op)) return;
  reset(cfg);
  connect_op_ = std::move(op);
  begin_attempt(n, now);
}

void session::run(const config& cfg, std::uint64_t n, operation_ptr op, clock::time_point now) {
  now_ = now;
  if (refused_while_busy(op)) return;
  reset(cfg);
  run_op_ = std::move(op);
  run_n_ = n;
  begin_attempt(router_.ids().reserve(), now);
}

void session::transport_connected(clock::time_point now) {
  if (state_ != connection_state::connecting) return;
  now_ = now;
  last_read_ = now;
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
    fail_attempt(*e, false);
    return false;
  }
  router_.add({n, std::string(name), {}, answer_kind::response, tag, std::nullopt, nullptr, {}});
  router_.mark_sent(n);
  return true;
}

void session::send_login(std::uint64_t n, std::string_view challenge) {
  sensitive_ = true;
  const std::string_view events = event_mask_ ? *event_mask_ : cfg_.events;
  if (cfg_.auth == auth_method::md5) {
    const auto key = proto::md5_login_key(challenge, cfg_.secret);
    send_internal(
        n, "Login", internal_tag::login,
        {{"AuthType", "MD5"}, {"Username", cfg_.username}, {"Key", key}, {"Events", events}});
  } else {
    send_internal(n, "Login", internal_tag::login,
                  {{"Username", cfg_.username}, {"Secret", cfg_.secret}, {"Events", events}});
  }
}

delivery session::on_message(const message& m) {
  switch (state_) {
    case connection_state::disconnected:
    case connection_state::backing_off:
    case connection_state::connecting: return delivery::none;
    case connection_state::connected:
      if (m.kind() != message_kind::banner) {
        last_error_ = "the server did not start with a banner line";
        fail_attempt(error::unexpected_message);
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
  for (auto& r : batch) deliver(r, true);
  batch.clear();
  if (routed_.empty()) routed_.swap(batch);  // keep the capacity
  flush_queue();
}

void session::on_internal(internal_tag tag, finished_op& r) {
  switch (tag) {
    case internal_tag::none:
    case internal_tag::filter:
    case internal_tag::events:
    case internal_tag::restore: return;
    case internal_tag::keepalive: ping_out_ = false; return;
    case internal_tag::challenge: {
      if (state_ != connection_state::logging_in) return;
      const auto nonce = r.resp.get("Challenge");
      if (r.ec || !nonce || nonce->empty()) {
        last_error_ = r.resp.message_text().empty() ? "the server refused the MD5 challenge"
                                                    : std::string(r.resp.message_text());
        fail_attempt(error::login_failed);
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
        fail_attempt(error::login_failed);
        return;
      }
      phase_deadline_.reset();
      last_read_ = now_;
      set_state(connection_state::logged_in);
      attempt_ = 0;
      queue_restore();
      complete_now(std::move(connect_op_), {});
      return;
    case internal_tag::logoff: goodbye_ = true; return;
  }
}

void session::queue_restore() {
  std::deque<queued_action> restore;
  for (const auto& f : filters_) {
    const auto n = router_.ids().reserve();
    std::string bytes;
    if (proto::serialize(f, router_.ids().format(n), bytes)) continue;  // it was sent before
    router_.add(
        {n, f.name(), {}, answer_kind::response, internal_tag::restore, std::nullopt, nullptr, {}});
    restore.push_back({n, std::move(bytes), false});  // a later loss drops it: sent afresh
  }
  queue_.insert(queue_.begin(), std::make_move_iterator(restore.begin()),
                std::make_move_iterator(restore.end()));
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

void session::transport_closed(const boost::system::error_code& ec, clock::time_point now) {
  now_ = now;
  switch (state_) {
    case connection_state::disconnected:
    case connection_state::backing_off: return;
    case connection_state::connecting:
      last_error_ = "connect failed: " + (ec ? ec.message() : std::string("connection lost"));
      fail_attempt(ec ? ec : make_error_code(error::connection_lost));
      close_request_ = false;
      return;
    case connection_state::connected:
    case connection_state::logging_in:
      last_error_ = "the server closed the connection during login";
      fail_attempt(error::connection_lost);
      close_request_ = false;
      return;
    case connection_state::logged_in:
      last_error_ = "the server closed the connection";
      lose_session(error::connection_lost);
      close_request_ = false;
      return;
    case connection_state::closing:
      complete_now(std::move(logoff_op_), {});
      drop_actions(error::connection_lost);
      phase_deadline_.reset();
      set_state(connection_state::disconnected, {});
      end_run({});
      return;
  }
}

void session::transport_unusable(const boost::system::error_code& ec) {
  if (state_ != connection_state::connecting) return;
  if (last_error_.empty()) last_error_ = "the connection cannot be set up: " + ec.message();
  fail_attempt(ec, false);
}

void session::drop_session(const boost::system::error_code& reason) {
  if (state_ != connection_state::logged_in) return;
  last_error_ = reason.message();
  close_request_ = true;
  lose_session(reason);
}

void session::close(const boost::system::error_code& ec) {
  if (state_ == connection_state::disconnected && !run_op_) return;
  if (connect_op_) last_error_ = "closed by the client during connect";
  complete_now(std::move(connect_op_), ec);
  complete_now(std::move(logoff_op_), ec);
  end_run(ec);
  drop_actions(ec);
  phase_deadline_.reset();
  close_request_ = true;
  set_state(connection_state::disconnected, ec);
}

void session::submit(std::uint64_t n, const action& a, answer_kind answer, const send_options& opts,
                     operation_ptr op, clock::time_point now) {
  now_ = now;
  if (state_ != connection_state::logged_in) {
    // Waiting makes sense only while something brings a session up.
    const bool coming = run_op_ ? state_ != connection_state::closing
                                : state_ == connection_state::connecting ||
                                      state_ == connection_state::connected ||
                                      state_ == connection_state::logging_in;
    if (!coming || !opts.wait_for_session) {
      complete_now(std::move(op), error::not_connected);
      return;
    }
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
  std::string& dest = write_now ? out_ : queued_bytes;
  const auto from = dest.size();
  if (auto e = proto::serialize(a, own_id, dest)) {
    dest.resize(from);
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
  na.deadline = deadline_after(now, opts.timeout ? *opts.timeout : default_timeout(a, answer));
  na.op = std::move(op);
  if (opts.retry) na.resend = dest.substr(from);
  // Filters and event masks that succeed are restored after a reconnect.
  if (iequals(a.name(), "Filter")) {
    na.tag = internal_tag::filter;
  } else if (iequals(a.name(), "Events")) {
    na.tag = internal_tag::events;
  }
  if (na.tag != internal_tag::none) {
    action copy = a;
    copy.erase("ActionID");
    watched_.emplace_back(n, std::move(copy));
  }
  router_.add(std::move(na));
  if (write_now) {
    router_.mark_sent(n);
  } else {
    // Actions abandoned while queued (cancelled, timed out) leave their bytes here until the
    // queue drains: drop them before the queue outgrows what still waits.
    if (queue_.size() >= 2 * router_.queued() + 16) {
      const auto dropped = [this](const queued_action& q) { return !router_.is_queued(q.n); };
      queue_.erase(std::remove_if(queue_.begin(), queue_.end(), dropped), queue_.end());
    }
    queue_.push_back({n, std::move(queued_bytes), opts.wait_for_session || opts.retry});
  }
}

void session::logoff(std::uint64_t n, operation_ptr op, clock::time_point now) {
  now_ = now;
  if (state_ != connection_state::logged_in) {
    if (run_op_ && state_ != connection_state::closing) {
      // No session to log off from: the run just ends.
      complete_now(std::move(op), {});
      drop_actions(error::connection_lost);
      phase_deadline_.reset();
      close_request_ = true;
      set_state(connection_state::disconnected, {});
      end_run({});
      return;
    }
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
    fail_attempt(ec, false);
    return;
  }
  if (logoff_op_ && n == logoff_n_) {
    complete_now(std::move(logoff_op_), ec);
    return;
  }
  if (run_op_ && n == run_n_) {
    stop_run(ec, error::connection_lost);
    return;
  }
  router_.abandon(n, ec, routed_);
  take_routed();
}

void session::cancel_all(const boost::system::error_code& ec) {
  if (connect_op_) {
    last_error_ = "connect cancelled";
    fail_attempt(ec, false);
    return;
  }
  if (run_op_) stop_run(ec, ec);
  complete_now(std::move(logoff_op_), ec);
  router_.abandon_all(ec, routed_);
  take_routed();
}

void session::expire(clock::time_point now) {
  now_ = now;
  router_.expire(now, routed_);
  take_routed();
  if (due(phase_deadline_, now)) {
    switch (state_) {
      case connection_state::connecting:
        last_error_ = "connect timed out";
        fail_attempt(error::connect_timeout);
        break;
      case connection_state::connected:
      case connection_state::logging_in:
        last_error_ = "login timed out";
        fail_attempt(error::login_timeout);
        break;
      case connection_state::closing: {
        const boost::system::error_code ec =
            goodbye_ ? boost::system::error_code{} : make_error_code(error::action_timeout);
        complete_now(std::move(logoff_op_), ec);
        drop_actions(error::connection_lost);
        phase_deadline_.reset();
        close_request_ = true;
        set_state(connection_state::disconnected, ec);
        end_run({});
        break;
      }
      case connection_state::backing_off: begin_attempt(router_.ids().reserve(), now); break;
      case connection_state::disconnected:
      case connection_state::logged_in: phase_deadline_.reset(); break;
    }
  }
  check_keepalive(now);
}

std::optional<clock::time_point> session::keepalive_due() const {
  const auto interval = cfg_.keepalive_interval;
  if (state_ != connection_state::logged_in || interval.count() <= 0) return std::nullopt;
  const bool probed = ping_out_ || probed_for_ == last_read_;
  return last_read_ + (probed ? 2 * interval : interval);
}

void session::check_keepalive(clock::time_point now) {
  const auto interval = cfg_.keepalive_interval;
  if (state_ != connection_state::logged_in || interval.count() <= 0) return;
  if (now - last_read_ >= 2 * interval) {
    last_error_ = "no data from the server for two keepalive intervals";
    close_request_ = true;
    lose_session(error::keepalive_timeout);
    return;
  }
  if (now - last_read_ < interval || ping_out_ || probed_for_ == last_read_) return;
  probed_for_ = last_read_;
  // At the in-flight limit the pending answers probe the link instead.
  if (cfg_.max_in_flight != 0 && router_.in_flight() >= cfg_.max_in_flight) return;
  ping_out_ = send_internal(router_.ids().reserve(), "Ping", internal_tag::keepalive, {});
}

std::optional<clock::time_point> session::next_deadline() {
  auto d = router_.next_deadline();
  if (phase_deadline_ && (!d || *phase_deadline_ < *d)) d = phase_deadline_;
  if (const auto k = keepalive_due(); k && (!d || *k < *d)) d = k;
  return d;
}

}  // namespace ami::detail
