#include "bridge.hpp"

#include "codec.hpp"
#include "nats_link.hpp"
#include "outbox.hpp"

#include "ami/detail/glob.hpp"
#include "ami/error.hpp"
#include "ami/fleet.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <boost/signals2/connection.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <unistd.h>

namespace ami::bridge {

namespace asio = boost::asio;
namespace json = boost::json;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::vector<std::string> stream_subjects(const std::string& prefix) {
  return {prefix + ".*.event.>", prefix + ".*.state", prefix + ".*.gap"};
}

namespace {

std::string random_hex(std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::random_device rd;
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(digits[rd() % 16]);
  return out;
}

std::string default_bridge_id() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::strcpy(host, "bridge");
  std::string h = host;
  for (char& c : h) {
    if (!is_subject_token(std::string_view(&c, 1))) c = '_';
  }
  return h + "-" + std::to_string(getpid());
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// An event name as one subject token: '.', '*', '>' and blanks become '_'.
std::string subject_token(std::string_view name) {
  if (name.empty()) return "_";
  std::string out(name);
  for (char& c : out) {
    if (!is_subject_token(std::string_view(&c, 1))) c = '_';
  }
  return out;
}

const char* published_state(connection_state st) noexcept {
  switch (st) {
    case connection_state::connecting: return "connecting";
    case connection_state::logged_in: return "up";
    case connection_state::backing_off: return "backing_off";
    case connection_state::disconnected: return "down";
    default: return nullptr;  // the steps inside a connection attempt are not published
  }
}

std::string reason_text(const boost::system::error_code& ec) {
  if (!ec) return {};
  if (ec.category() == ami::error_category()) {
    return ami::error_name(static_cast<ami::error>(ec.value()));
  }
  return ec.message();
}

}  // namespace

// ---- the lease, on its own thread (the key-value calls block)

namespace {

struct lease_news {
  std::size_t index = 0;
  bool granted = false;  // false: lost
  clock_type::time_point asked{};
  std::string previous_owner;  // granted after another bridge (or after a lapse)
  std::int64_t previous_renewed_ms = 0;
};

class lease_keeper {
 public:
  lease_keeper(nats_link& link, std::string bucket_prefix, std::vector<std::string> names,
               std::string owner, milliseconds ttl, std::function<void(lease_news)> report)
      : link_(link),
        names_(std::move(names)),
        owner_(std::move(owner)),
        period_(std::max<milliseconds>(ttl / 4, milliseconds(20))),
        report_(std::move(report)),
        revs_(names_.size(), 0) {
    keys_.reserve(names_.size());
    for (const auto& n : names_) keys_.push_back(bucket_prefix + n);
    thread_ = std::thread([this] { run(); });
  }

  // Ends the thread; `release` gives the leases back first so another bridge takes over at
  // once instead of after the TTL.
  void stop(bool release) {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
      release_ = release;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }

  ~lease_keeper() { stop(false); }

 private:
  std::string value() const {
    json::object o;
    o["bridge"] = owner_;
    o["renewed_ms"] = wall_ms();
    return json::serialize(o);
  }

  void round() {
    for (std::size_t i = 0; i < keys_.size(); ++i) {
      if (stopping()) return;
      const auto asked = clock_type::now();
      std::string problem;
      if (revs_[i] != 0) {
        const auto rev = link_.kv_update(keys_[i], value(), revs_[i], problem);
        if (rev != 0) {
          revs_[i] = rev;
          report_({i, true, asked, {}, 0});
          continue;
        }
        // Refused: the key lapsed or another bridge holds it now, unless NATS could not be
        // asked at all (then the bridge stops publishing by itself once the last renewal is
        // too old, and the next round asks again).
        std::string unreachable;
        auto now = link_.kv_get(keys_[i], unreachable);
        if (!unreachable.empty()) continue;
        if (now && now->revision == revs_[i]) continue;  // still ours: the answer was lost
        if (now && holder_of(now->value) == owner_) {
          // The renewal was stored but its answer lost.
          revs_[i] = now->revision;
          report_({i, true, asked, {}, 0});
          continue;
        }
        if (now) remember_holder(i, now->value);
        revs_[i] = 0;
        report_({i, false, asked, {}, 0});
        continue;
      }
      auto entry = link_.kv_get(keys_[i], problem);
      if (!problem.empty()) continue;
      std::uint64_t rev = 0;
      lease_news news{i, true, asked, {}, 0};
      if (!entry) {
        rev = link_.kv_create(keys_[i], value(), problem);
        news.previous_owner = last_holder(i);
      } else if (entry->value.empty()) {
        // Released by a bridge that stopped cleanly.
        rev = link_.kv_update(keys_[i], value(), entry->revision, problem);
        news.previous_owner = last_holder(i);
      } else {
        remember_holder(i, entry->value);
      }
      if (rev != 0) {
        revs_[i] = rev;
        news.previous_renewed_ms = holder_ms_[i];
        report_(std::move(news));
      }
    }
  }

  // The lease value's "bridge" and "renewed_ms" (empty and 0 when unreadable).
  static std::pair<std::string, std::int64_t> read_value(const std::string& value) {
    boost::system::error_code ec;
    auto v = json::parse(value, ec);
    std::pair<std::string, std::int64_t> out{{}, 0};
    if (ec || !v.is_object()) return out;
    const auto& o = v.get_object();
    if (const auto* b = o.if_contains("bridge"); b != nullptr && b->is_string()) {
      out.first = std::string(b->get_string());
    }
    if (const auto* t = o.if_contains("renewed_ms"); t != nullptr && t->is_int64()) {
      out.second = t->get_int64();
    }
    return out;
  }

  static std::string holder_of(const std::string& value) { return read_value(value).first; }

  void remember_holder(std::size_t i, const std::string& value) {
    auto [bridge, ms] = read_value(value);
    if (bridge.empty()) return;
    holders_[i] = std::move(bridge);
    holder_ms_[i] = ms;
  }

  std::string last_holder(std::size_t i) { return holders_[i]; }

  bool stopping() {
    const std::lock_guard<std::mutex> lock(mutex_);
    return stopping_;
  }

  void run() {
    for (;;) {
      round();
      std::unique_lock<std::mutex> lock(mutex_);
      if (cv_.wait_for(lock, period_, [this] { return stopping_; })) break;
    }
    if (!release_) return;
    for (std::size_t i = 0; i < keys_.size(); ++i) {
      if (revs_[i] == 0) continue;
      std::string problem;
      link_.kv_update(keys_[i], "", revs_[i], problem);
    }
  }

  nats_link& link_;
  std::vector<std::string> names_;
  std::vector<std::string> keys_;
  std::string owner_;
  milliseconds period_;
  std::function<void(lease_news)> report_;
  std::vector<std::uint64_t> revs_;  // this thread only
  std::map<std::size_t, std::string> holders_;
  std::map<std::size_t, std::int64_t> holder_ms_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool release_ = false;
  std::thread thread_;
};

}  // namespace

// ---- the bridge

struct pbx_slot {
  explicit pbx_slot(pbx_config c, std::size_t capacity) : cfg(std::move(c)), box(capacity) {}

  pbx_config cfg;
  outbox box;
  bool owned = false;
  bool in_fleet = false;
  bool paused = false;  // overflow resync: the AMI session stays closed until the buffer drains
  clock_type::time_point valid_until{};  // the lease: publish only before this
  std::string session;
  std::string event_subject;  // "<prefix>.<pbx>.event."
  std::string id_prefix;      // "<pbx>/<session>/"
  std::uint64_t seq = 0;
  std::uint64_t logins = 0;
  std::uint64_t controls = 0;
  std::int64_t released_ms = 0;         // when this bridge last let the PBX go (0: never)
  clock_type::time_point hold_until{};  // after a failed publish
  milliseconds retry_delay{0};
  std::unique_ptr<nats_link::subscription> actions;

  // Mirrors for stats() and owned() from other threads.
  std::atomic<std::size_t> buffered{0};
  std::atomic<bool> owned_mirror{false};
};

class bridge::impl : public std::enable_shared_from_this<bridge::impl> {
 public:
  impl(asio::io_context& io, bridge_config cfg, log_sink log)
      : io_(io), cfg_(std::move(cfg)), log_(std::move(log)), fleet_(io), tick_(io) {
    id_ = cfg_.bridge_id.empty() ? default_bridge_id() : cfg_.bridge_id;
    run_ = id_ + "." + random_hex(8);
    for (auto& p : cfg_.pbxs) {
      index_.emplace(p.name, slots_.size());
      slots_.push_back(std::make_unique<pbx_slot>(p, cfg_.buffer));
      slots_.back()->event_subject = cfg_.prefix + "." + p.name + ".event.";
    }
    tick_period_ =
        std::clamp<milliseconds>(cfg_.lease_ttl / 10, milliseconds(10), milliseconds(100));
  }

  ~impl() { halt(false); }

  std::optional<std::string> start(milliseconds connect_wait) {
    std::weak_ptr<impl> weak = weak_from_this();
    nats_link::callbacks cbs;
    cbs.acks = [this, weak] {
      asio::post(io_, [weak] {
        if (auto self = weak.lock()) self->on_acks();
      });
    };
    cbs.connection = [this, weak](bool up, std::uint64_t generation) {
      asio::post(io_, [weak, up, generation] {
        if (auto self = weak.lock()) self->on_connection(up, generation);
      });
    };
    std::string problem;
    link_ =
        nats_link::connect(cfg_.nats, cfg_.window + 64, cfg_.ack_timeout, std::move(cbs), problem);
    if (!link_) return problem;
    const auto until = clock_type::now() + connect_wait;
    // The first connection, with the NATS-side objects, before anything else runs.
    if (!link_->wait_connected(until)) {
      link_.reset();
      return "NATS: no server answered within " + std::to_string(connect_wait.count()) + " ms";
    }
    nats_up_ = true;
    generation_ = link_->generation();
    if (auto bad = link_->ensure_stream(cfg_.stream, stream_subjects(cfg_.prefix))) {
      link_.reset();
      return bad;
    }
    if (auto bad = link_->ensure_bucket(cfg_.lease_bucket, cfg_.lease_ttl)) {
      link_.reset();
      return bad;
    }
    log("bridge " + id_ + ": NATS connected, stream " + cfg_.stream.name + ", " +
        std::to_string(slots_.size()) + " PBXs");

    events_sub_ =
        fleet_.on_event([this](std::string_view pbx, const ami::event& e) { on_event(pbx, e); });
    states_sub_ =
        fleet_.on_state([this](std::string_view pbx, connection_state st,
                               const boost::system::error_code& why) { on_state(pbx, st, why); });

    std::vector<std::string> names;
    for (const auto& s : slots_) names.push_back(s->cfg.name);
    lease_ = std::make_unique<lease_keeper>(*link_, cfg_.prefix + "_", std::move(names), id_,
                                            cfg_.lease_ttl, [this, weak](lease_news n) {
                                              asio::post(io_, [weak, n = std::move(n)]() mutable {
                                                if (auto self = weak.lock())
                                                  self->on_lease(std::move(n));
                                              });
                                            });
    schedule_tick();
    return std::nullopt;
  }

  void async_stop(milliseconds deadline, std::function<void(bool)> done) {
    if (stopping_) {
      asio::post(io_, [done = std::move(done)] { done(false); });
      return;
    }
    stopping_ = true;
    stop_done_ = std::move(done);
    stop_deadline_ = clock_type::now() + deadline;
    for (auto& s : slots_) {
      auto& p = *s;
      p.actions.reset();
      if (!p.owned) continue;
      leave_fleet(p, "bridge_stopped");
      push_state(p, "down", "bridge_stopped", {});
    }
    log("bridge " + id_ + ": stopping, draining " + std::to_string(total_buffered()) + " messages");
    pump();
    check_drained();
  }

  // Everything stops now; `release` gives the leases back.
  void halt(bool release) {
    stopping_ = true;
    tick_.cancel();
    if (lease_) {
      lease_->stop(release);
      lease_.reset();
    }
    for (auto& s : slots_) {
      s->actions.reset();
      if (s->in_fleet) fleet_.remove(s->cfg.name);
      s->in_fleet = false;
      s->owned = false;
      s->owned_mirror = false;
      s->box.clear();
      s->buffered = 0;
    }
    events_sub_.disconnect();
    states_sub_.disconnect();
    link_.reset();
  }

  bridge_stats stats() const {
    bridge_stats s;
    s.events = events_.load();
    s.published = published_.load();
    s.acknowledged = acknowledged_.load();
    s.repeated = repeated_.load();
    s.dropped = dropped_.load();
    s.resyncs = resyncs_.load();
    s.gaps = gaps_.load();
    s.actions = actions_.load();
    s.bad_requests = bad_requests_.load();
    s.takeovers = takeovers_.load();
    for (const auto& p : slots_) s.buffered += p->buffered.load();
    return s;
  }

  std::vector<std::string> owned() const {
    std::vector<std::string> out;
    for (const auto& p : slots_) {
      if (p->owned_mirror.load()) out.push_back(p->cfg.name);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  const std::string& id() const noexcept { return id_; }

 private:
  void log(const std::string& line) {
    if (log_) log_(line);
  }

  pbx_slot* find(std::string_view name) {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : slots_[it->second].get();
  }

  std::size_t total_buffered() const {
    std::size_t n = 0;
    for (const auto& p : slots_) n += p->box.size();
    return n;
  }

  void mirror(pbx_slot& p) { p.buffered = p.box.size(); }

  // ---- messages

  std::string control_id(pbx_slot& p) {
    return p.cfg.name + "/" + run_ + "/c" + std::to_string(++p.controls);
  }

  void push_state(pbx_slot& p, const char* state, const std::string& reason,
                  const std::string& error) {
    json::object o;
    o["pbx"] = p.cfg.name;
    o["state"] = state;
    if (!reason.empty()) o["reason"] = reason;
    if (!error.empty()) o["error"] = error;
    if (!p.session.empty()) o["session"] = p.session;
    o["bridge"] = id_;
    o["time_ms"] = wall_ms();
    outbound m;
    m.kind = outbound_kind::state;
    m.subject = cfg_.prefix + "." + p.cfg.name + ".state";
    m.payload = json::serialize(o);
    m.msg_id = control_id(p);
    m.session = p.session;
    p.box.push_control(std::move(m));
    mirror(p);
  }

  void push_gap(pbx_slot& p, json::object o) {
    o["pbx"] = p.cfg.name;
    o["bridge"] = id_;
    o["time_ms"] = wall_ms();
    outbound m;
    m.kind = outbound_kind::gap;
    m.subject = cfg_.prefix + "." + p.cfg.name + ".gap";
    m.payload = json::serialize(o);
    m.msg_id = control_id(p);
    p.box.push_control(std::move(m));
    ++gaps_;
    mirror(p);
  }

  void push_dropped(pbx_slot& p) {
    auto run = p.box.take_dropped();
    if (!run) return;
    json::object o;
    o["reason"] = "buffer_full";
    o["session"] = run->session;
    o["first_seq"] = run->first_seq;
    o["last_seq"] = run->last_seq;
    o["dropped"] = run->count;
    push_gap(p, std::move(o));
    log("pbx " + p.cfg.name + ": " + std::to_string(run->count) +
        " events dropped (buffer full), gap marker queued");
  }

  // The AMI session ended: AMI has no replay, so whatever happened until the next session
  // may be missing.
  void end_session(pbx_slot& p, const std::string& reason, const std::string& error) {
    if (p.session.empty()) return;
    push_dropped(p);
    json::object o;
    o["reason"] = reason;
    if (!error.empty()) o["error"] = error;
    o["session"] = p.session;
    o["last_seq"] = p.seq;
    push_gap(p, std::move(o));
    p.session.clear();
  }

  // ---- the fleet's signals (on the io thread)

  void on_event(std::string_view name, const ami::event& e) {
    auto* pp = find(name);
    if (pp == nullptr || !pp->owned || pp->paused || pp->session.empty()) return;
    auto& p = *pp;
    if (!p.cfg.events.empty() &&
        std::none_of(p.cfg.events.begin(), p.cfg.events.end(),
                     [&](const std::string& g) { return ami::detail::glob_match(g, e.name()); })) {
      return;
    }
    ++events_;
    const std::uint64_t seq = ++p.seq;
    if (!p.box.has_room()) {
      overflow(p, seq);
      return;
    }
    push_dropped(p);
    outbound m;
    m.kind = outbound_kind::event;
    m.subject = p.event_subject + subject_token(e.name());
    m.payload = event_json(e);
    m.session = p.session;
    m.seq = seq;
    m.msg_id = p.id_prefix + std::to_string(seq);
    p.box.push_event(std::move(m));
    mirror(p);
    schedule_pump();
  }

  // One publishing pass for all the events that arrived in one turn of the io_context.
  void schedule_pump() {
    if (pump_scheduled_) return;
    pump_scheduled_ = true;
    asio::post(io_, [weak = weak_from_this()] {
      if (auto self = weak.lock()) {
        self->pump_scheduled_ = false;
        self->pump();
      }
    });
  }

  void overflow(pbx_slot& p, std::uint64_t seq) {
    if (cfg_.overflow == overflow_policy::drop) {
      p.box.note_dropped(p.session, seq);
      ++dropped_;
      return;
    }
    // resync: this event was not taken, so the session's last event is the one before.
    p.seq = seq - 1;
    ++resyncs_;
    log("pbx " + p.cfg.name + ": buffer full (" + std::to_string(p.box.events()) +
        " events), closing the AMI session until it drains");
    leave_fleet(p, "buffer_full");
    p.paused = true;
    push_state(p, "paused", "buffer_full", {});
  }

  void leave_fleet(pbx_slot& p, const std::string& reason) {
    end_session(p, reason, {});
    if (p.in_fleet) fleet_.remove(p.cfg.name);
    p.in_fleet = false;
  }

  void join_fleet(pbx_slot& p) {
    boost::system::error_code ec;
    fleet_.add(p.cfg.name, p.cfg.ami, ec);
    if (ec) {
      log("pbx " + p.cfg.name + ": cannot start: " + ec.message());
      return;
    }
    p.in_fleet = true;
  }

  void on_state(std::string_view name, connection_state st, const boost::system::error_code& why) {
    auto* pp = find(name);
    if (pp == nullptr || !pp->owned || why == ami::error::pbx_removed) return;
    auto& p = *pp;
    const char* published = published_state(st);
    if (published == nullptr) return;
    const std::string error = reason_text(why);
    if (st == connection_state::logged_in) {
      p.session = run_ + "." + std::to_string(++p.logins);
      p.id_prefix = p.cfg.name + "/" + p.session + "/";
      p.seq = 0;
      push_state(p, published, {}, {});
      log("pbx " + p.cfg.name + ": up, session " + p.session);
    } else {
      end_session(p, "session_ended", error);
      push_state(p, published, error, error);
      log("pbx " + p.cfg.name + ": " + published + (error.empty() ? "" : " (" + error + ")"));
    }
    pump();
  }

  // ---- the lease

  void on_lease(lease_news n) {
    auto& p = *slots_[n.index];
    if (!n.granted) {
      if (p.owned) give_up(p, "lease taken by another bridge");
      return;
    }
    if (!p.owned && stopping_) return;  // released when the stop completes
    // The server lets the key lapse at least a TTL after it stored the renewal, which was
    // after `asked`: stopping a fifth of the TTL earlier leaves room for clocks and wires.
    p.valid_until = n.asked + cfg_.lease_ttl - cfg_.lease_ttl / 5;
    if (!p.owned) take(p, n);
  }

  void take(pbx_slot& p, const lease_news& n) {
    p.owned = true;
    p.owned_mirror = true;
    p.paused = false;
    log("pbx " + p.cfg.name + ": owned by " + id_ +
        (n.previous_owner.empty() ? "" : " (after " + n.previous_owner + ")"));
    if (!n.previous_owner.empty() || p.released_ms != 0) {
      // Between the previous owner's last renewal (or this bridge's own release of the PBX)
      // and now, events may be missing.
      json::object o;
      o["reason"] = "takeover";
      o["previous_bridge"] = n.previous_owner.empty() ? id_ : n.previous_owner;
      const std::int64_t since = n.previous_owner.empty() ? p.released_ms : n.previous_renewed_ms;
      if (since != 0) o["since_ms"] = since;
      push_gap(p, std::move(o));
      if (!n.previous_owner.empty() && n.previous_owner != id_) ++takeovers_;
    }
    p.released_ms = 0;
    std::weak_ptr<impl> weak = weak_from_this();
    const std::size_t index = index_.at(p.cfg.name);
    p.actions = link_->subscribe(
        cfg_.prefix + "." + p.cfg.name + ".action", "ami-bridge",
        [this, weak, index](std::string body, std::string reply) {
          asio::post(io_, [weak, index, body = std::move(body), reply = std::move(reply)] {
            if (auto self = weak.lock()) {
              self->on_request(index, body, reply);
            }
          });
        });
    join_fleet(p);
    pump();
  }

  void give_up(pbx_slot& p, const std::string& why) {
    log("pbx " + p.cfg.name + ": released (" + why + "), " + std::to_string(p.box.size()) +
        " unpublished messages left to the next owner's gap marker");
    p.actions.reset();
    if (p.in_fleet) fleet_.remove(p.cfg.name);
    p.in_fleet = false;
    p.owned = false;
    p.owned_mirror = false;
    p.paused = false;
    p.released_ms = wall_ms();
    p.session.clear();
    p.box.clear();
    mirror(p);
  }

  // ---- publishing

  bool may_publish(const pbx_slot& p, clock_type::time_point now) const {
    return p.owned && now < p.valid_until && now >= p.hold_until;
  }

  void pump() {
    if (!nats_up_ || !link_ || slots_.empty()) return;
    const auto now = clock_type::now();
    bool progress = true;
    while (progress && attempts_ < cfg_.window) {
      progress = false;
      for (std::size_t k = 0; k < slots_.size() && attempts_ < cfg_.window; ++k) {
        auto& p = *slots_[(rr_ + k) % slots_.size()];
        // Stopping: what is buffered still goes out while the lease lasts.
        if (!may_publish(p, now)) continue;
        const outbound* m = p.box.next();
        if (m == nullptr) continue;
        if (!link_->publish(generation_, p.cfg.name, id_, *m)) {
          // Not taken: the connection is going down (its callback follows) or cnats's
          // queue is full; the message stays first in line.
          if (!link_->connected()) nats_down();
          return;
        }
        p.box.sent();
        ++attempts_;
        ++published_;
        progress = true;
      }
      rr_ = (rr_ + 1) % slots_.size();
    }
  }

  void on_acks() {
    if (!link_) return;
    for (const auto& a : link_->take_acks()) on_ack(a.pbx, a.msg_id, a.ok, a.error);
    pump();
    check_drained();
  }

  void on_ack(const std::string& pbx, const std::string& id, bool ok, const std::string& error) {
    if (attempts_ > 0) --attempts_;
    auto* pp = find(pbx);
    if (pp != nullptr) {
      auto& p = *pp;
      if (ok) {
        if (p.box.acknowledged(id)) ++acknowledged_;
        p.retry_delay = milliseconds(0);
        // Drops are told as soon as there is room again, not only with the next event.
        if (p.box.has_room()) push_dropped(p);
        mirror(p);
        if (p.paused && p.owned && !stopping_ && p.box.events() <= p.box.capacity() / 2) {
          p.paused = false;
          log("pbx " + p.cfg.name + ": buffer drained, resuming the AMI session");
          join_fleet(p);
        }
      } else if (const auto waiting = p.box.in_flight(); p.box.failed(id)) {
        repeated_ += waiting;
        p.retry_delay = std::min<milliseconds>(
            std::max<milliseconds>(p.retry_delay * 2, milliseconds(20)), milliseconds(1000));
        p.hold_until = clock_type::now() + p.retry_delay;
        log("pbx " + p.cfg.name + ": publish failed (" + error + "), sending again from the " +
            "oldest unacknowledged message");
      }
    }
  }

  void on_connection(bool up, std::uint64_t generation) {
    if (!up) {
      nats_down();
      return;
    }
    if (generation == generation_) return;  // the first connection, known since start()
    // A new publishing connection: nothing is pending on it. Everything unacknowledged was
    // rewound when the old one went, and goes again now, oldest first.
    nats_down();
    log("bridge " + id_ + ": NATS reconnected");
    generation_ = generation;
    attempts_ = 0;
    nats_up_ = true;
    pump();
  }

  void nats_down() {
    if (nats_up_) log("bridge " + id_ + ": NATS disconnected, buffering");
    nats_up_ = false;
    // What was on the wire may be lost: it goes again, in order, after the reconnect.
    for (auto& p : slots_) p->box.rewind();
  }

  // ---- actions

  void on_request(std::size_t index, const std::string& body, const std::string& reply) {
    if (!link_ || reply.empty()) return;
    auto& p = *slots_[index];
    ++actions_;
    auto req = parse_request(body);
    if (req.problem) {
      ++bad_requests_;
      link_->reply(reply, error_json(request_error::bad_request, *req.problem));
      return;
    }
    if (!p.owned || stopping_ || fleet_.state(p.cfg.name) != connection_state::logged_in) {
      link_->reply(reply, error_json(request_error::not_connected,
                                     "PBX " + p.cfg.name + " has no AMI session"));
      return;
    }
    send_options opts;
    opts.wait_for_session = false;
    std::weak_ptr<impl> weak = weak_from_this();
    fleet_.async_send(p.cfg.name, std::move(req.action), opts,
                      [weak, reply](boost::system::error_code ec, ami::response r) {
                        auto self = weak.lock();
                        if (!self || !self->link_) return;
                        if (!ec) {
                          self->link_->reply(reply, response_json(r));
                          return;
                        }
                        const auto kind = classify(ec);
                        if (kind == request_error::bad_request) ++self->bad_requests_;
                        std::string message(r.message_text());
                        if (message.empty()) message = ec.message();
                        self->link_->reply(reply, error_json(kind, message, &r));
                      });
  }

  // ---- the periodic check: lapsed leases, held publishes, the stop

  void schedule_tick() {
    tick_.expires_after(tick_period_);
    tick_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->on_tick();
    });
  }

  void on_tick() {
    const auto now = clock_type::now();
    for (auto& s : slots_) {
      // The lease could not be renewed in time: stop before another bridge may take over.
      if (s->owned && now >= s->valid_until) give_up(*s, "lease not renewed");
    }
    pump();
    if (check_drained()) return;
    schedule_tick();
  }

  // Stopping, and the buffer is empty or the deadline passed: finish.
  bool check_drained() {
    if (!stopping_ || !stop_done_) return false;
    const bool drained = total_buffered() == 0;
    if (!drained && clock_type::now() < stop_deadline_) return false;
    if (link_) link_->wait_published(milliseconds(500));
    log("bridge " + id_ +
        (drained ? ": drained"
                 : ": drain deadline passed with " + std::to_string(total_buffered()) +
                       " messages unsent") +
        ", releasing the leases");
    auto done = std::move(stop_done_);
    stop_done_ = nullptr;
    halt(true);
    done(drained);
    return true;
  }

  asio::io_context& io_;
  bridge_config cfg_;
  log_sink log_;
  std::string id_;
  std::string run_;  // id_ plus a random part: unique per process run
  std::vector<std::unique_ptr<pbx_slot>> slots_;
  std::map<std::string, std::size_t, std::less<>> index_;
  ami::fleet fleet_;
  boost::signals2::scoped_connection events_sub_;
  boost::signals2::scoped_connection states_sub_;
  std::unique_ptr<nats_link> link_;
  std::unique_ptr<lease_keeper> lease_;
  asio::steady_timer tick_;
  milliseconds tick_period_{50};
  bool nats_up_ = false;
  bool pump_scheduled_ = false;
  std::uint64_t generation_ = 0;  // the publishing connection publish() goes to
  bool stopping_ = false;
  std::function<void(bool)> stop_done_;
  clock_type::time_point stop_deadline_{};
  std::size_t attempts_ = 0;  // publishes cnats still tracks (each gets one callback)
  std::size_t rr_ = 0;

  std::atomic<std::uint64_t> events_{0}, published_{0}, acknowledged_{0}, repeated_{0}, dropped_{0},
      resyncs_{0}, gaps_{0}, actions_{0}, bad_requests_{0}, takeovers_{0};
};

bridge::bridge(asio::io_context& io, bridge_config cfg, log_sink log)
    : impl_(std::make_shared<impl>(io, std::move(cfg), std::move(log))) {}

bridge::~bridge() { impl_->halt(false); }

std::optional<std::string> bridge::start(milliseconds connect_wait) {
  return impl_->start(connect_wait);
}

void bridge::async_stop(milliseconds deadline, std::function<void(bool)> done) {
  impl_->async_stop(deadline, std::move(done));
}

void bridge::abort() { impl_->halt(false); }

bridge_stats bridge::stats() const { return impl_->stats(); }

std::vector<std::string> bridge::owned() const { return impl_->owned(); }

const std::string& bridge::id() const noexcept { return impl_->id(); }

}  // namespace ami::bridge
