#include "ami/agi/async_agi.hpp"

#include "ami/client.hpp"
#include "ami/url.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/signals2/signal.hpp>

#include <atomic>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace ami::agi {
namespace detail {
namespace {

std::atomic<std::uint64_t> instance_counter{0};

// A decoded Result (or Env) is LF-separated; the reply reader takes its lines.
std::optional<reply> reply_from_result(std::string_view encoded) {
  std::string text;
  if (!percent_decode(encoded, text)) return std::nullopt;
  reply_reader rd;
  std::string_view rest = text;
  while (!rest.empty()) {
    const auto lf = rest.find('\n');
    auto line = rest.substr(0, lf);
    rest = lf == std::string_view::npos ? std::string_view{} : rest.substr(lf + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    reply r;
    error e{};
    const auto st = rd.put(line, r, e);
    if (st == reply_reader::status::reply) return r;
    if (st != reply_reader::status::need_more) return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

class async_session final : public session {
 public:
  async_session(client& c, environment env, std::weak_ptr<async_agi_core> core, std::string prefix)
      : session(c.get_executor(), std::move(env)),
        client_(c),
        core_(std::move(core)),
        prefix_(std::move(prefix)) {}

  void close() override {
    async_exec(agi::async_break{}, [](const boost::system::error_code&, const status_result&) {});
  }

  // An AsyncAGIExec for this channel.
  void on_exec(std::string_view command_id, std::string_view result) {
    if (!busy() || command_id != current_id_) return;  // not ours, or late
    if (auto r = reply_from_result(result)) {
      deliver(std::move(*r));
    } else {
      fail_current(make_error_code(error::agi_malformed_reply));
    }
  }

  void end(error e) {
    if (e == error::dead_channel) mark_hung_up();
    finish(make_error_code(e));
  }
  void end(const boost::system::error_code& ec) { finish(ec); }
  // A Hangup that came after the session ended (Asterisk sends AsyncAGIEnd first).
  void hangup_seen() noexcept { mark_hung_up(); }

 private:
  void transmit(const std::string& line) override;

  client& client_;
  std::weak_ptr<async_agi_core> core_;
  std::string prefix_;
  std::uint64_t counter_ = 0;
  std::string current_id_;
};

class async_agi_core : public std::enable_shared_from_this<async_agi_core> {
 public:
  async_agi_core(client& c, std::size_t max_backlog)
      : client_(c),
        executor_(c.get_executor()),
        max_backlog_(max_backlog),
        prefix_("agi" + std::to_string(++instance_counter) + "-") {}

  void start() {
    std::weak_ptr<async_agi_core> weak = shared_from_this();
    subs_.emplace_back(client_.on_event("AsyncAGIStart", [weak](const event& e) {
      if (auto self = weak.lock()) self->on_start(e);
    }));
    subs_.emplace_back(client_.on_event("AsyncAGIExec", [weak](const event& e) {
      if (auto self = weak.lock()) self->on_exec(e);
    }));
    subs_.emplace_back(client_.on_event("AsyncAGIEnd", [weak](const event& e) {
      if (auto self = weak.lock()) self->on_end(e, error::agi_session_ended);
    }));
    subs_.emplace_back(client_.on_event("Hangup", [weak](const event& e) {
      if (auto self = weak.lock()) self->on_end(e, error::dead_channel);
    }));
    subs_.emplace_back(
        client_.on_state([weak](connection_state s, const boost::system::error_code&) {
          if (s != connection_state::disconnected) return;
          if (auto self = weak.lock()) self->end_all(make_error_code(error::connection_lost));
        }));
  }

  // Called from ~async_agi (any thread): no more events; sessions and accepts end.
  void shutdown() {
    subs_.clear();
    boost::asio::dispatch(executor_, [self = shared_from_this()] {
      self->end_all(boost::asio::error::operation_aborted);
      auto accepts = std::move(self->accepts_);
      self->accepts_.clear();
      for (auto& a : accepts) a->complete(boost::asio::error::operation_aborted, nullptr);
      self->backlog_.clear();
    });
  }

  void accept(std::unique_ptr<accept_op> op) {
    boost::asio::dispatch(executor_, [self = shared_from_this(), op = std::move(op)]() mutable {
      if (!self->backlog_.empty()) {
        auto s = std::move(self->backlog_.front());
        self->backlog_.pop_front();
        op->complete({}, std::move(s));
        return;
      }
      self->accepts_.push_back(std::move(op));
    });
  }

  void remove(const std::string& channel, const session* s) {
    const auto it = sessions_.find(channel);
    if (it != sessions_.end() && it->second.get() == s) sessions_.erase(it);
    count_.store(sessions_.size());
  }

  boost::signals2::signal<void(std::shared_ptr<session>)> on_session;
  std::atomic<std::size_t> count_{0};
  const boost::asio::any_io_executor& executor() const noexcept { return executor_; }

 private:
  void on_start(const event& e) {
    const auto channel = e.get("Channel");
    if (!channel || channel->empty()) return;
    environment env;
    std::string block;
    // A malformed Env still gives a session (the channel waits for commands); the fields
    // read before the fault are kept and the channel comes from the event.
    if (const auto raw = e.get("Env"); raw && percent_decode(*raw, block)) {
      (void)parse_environment(block, env);
    }
    env.channel = std::string(*channel);
    auto s = std::make_shared<async_session>(client_, std::move(env), weak_from_this(), prefix_);
    ended_.erase(s->channel());
    auto& slot = sessions_[s->channel()];
    if (slot) slot->end(error::agi_session_ended);  // AGI ran again on the same channel
    slot = s;
    count_.store(sessions_.size());
    hand_out(std::move(s));
  }

  void hand_out(std::shared_ptr<session> s) {
    if (!accepts_.empty()) {
      auto op = std::move(accepts_.front());
      accepts_.pop_front();
      op->complete({}, std::move(s));
    } else if (!on_session.empty()) {
      on_session(std::move(s));
    } else if (backlog_.size() < max_backlog_) {
      backlog_.push_back(std::move(s));
    } else {
      s->close();
    }
  }

  void on_exec(const event& e) {
    const auto channel = e.get("Channel");
    if (!channel) return;
    const auto it = sessions_.find(std::string(*channel));
    if (it == sessions_.end()) return;
    // Message lookups ignore case: CommandID and CommandId alike.
    const auto id = e.get("CommandID");
    const auto result = e.get("Result");
    if (!id || !result) return;
    const auto s = it->second;  // a completion may remove it from the map
    s->on_exec(*id, *result);
  }

  void on_end(const event& e, error why) {
    const auto channel = e.get("Channel");
    if (!channel) return;
    const std::string name(*channel);
    const auto it = sessions_.find(name);
    if (it == sessions_.end()) {
      if (why == error::dead_channel) mark_ended_hung_up(name);
      return;
    }
    const auto s = it->second;
    sessions_.erase(it);
    count_.store(sessions_.size());
    if (why == error::agi_session_ended) remember_ended(name, s);
    s->end(why);
  }

  // Sessions ended by AsyncAGIEnd stay known (weakly, a bounded number) until their
  // channel's Hangup: Asterisk ends the AGI before it reports the hangup, and hung_up() must
  // still turn true.
  void remember_ended(const std::string& channel, const std::shared_ptr<async_session>& s) {
    // The order list bounds both: an entry a Hangup already took leaves it when evicted.
    while (ended_order_.size() >= max_ended) {
      ended_.erase(ended_order_.front());
      ended_order_.pop_front();
    }
    ended_.insert_or_assign(channel, s);
    ended_order_.push_back(channel);
  }

  void mark_ended_hung_up(const std::string& channel) {
    const auto it = ended_.find(channel);
    if (it == ended_.end()) return;
    if (const auto s = it->second.lock()) s->hangup_seen();
    ended_.erase(it);
  }

  void end_all(const boost::system::error_code& ec) {
    ended_.clear();
    ended_order_.clear();
    auto all = std::move(sessions_);
    sessions_.clear();
    count_.store(0);
    for (auto& [name, s] : all) s->end(ec);
  }

  client& client_;
  boost::asio::any_io_executor executor_;
  std::size_t max_backlog_;
  std::string prefix_;
  std::map<std::string, std::shared_ptr<async_session>> sessions_;
  static constexpr std::size_t max_ended = 1024;
  std::map<std::string, std::weak_ptr<async_session>> ended_;
  std::deque<std::string> ended_order_;
  std::deque<std::unique_ptr<accept_op>> accepts_;
  std::deque<std::shared_ptr<session>> backlog_;
  std::vector<boost::signals2::scoped_connection> subs_;
};

void async_session::transmit(const std::string& line) {
  current_id_ = prefix_ + std::to_string(++counter_);
  action a("AGI");
  a.add("Channel", channel());
  a.add("Command", line);
  a.add("CommandID", current_id_);
  auto self = std::static_pointer_cast<async_session>(shared_from_this());
  client_.async_send(
      std::move(a), [self, id = current_id_](const boost::system::error_code& ec, const response&) {
        if (!ec || self->ended() || self->current_id_ != id) return;
        // Refused (the channel does not exist or is not in AsyncAGI), or the link failed.
        const auto reason = ec == error::action_failed ? make_error_code(error::dead_channel) : ec;
        if (reason == error::dead_channel) self->mark_hung_up();
        if (auto core = self->core_.lock()) core->remove(self->channel(), self.get());
        self->end(reason);
      });
}

const boost::asio::any_io_executor& core_executor(const async_agi_core& c) noexcept {
  return c.executor();
}

void core_accept(const std::shared_ptr<async_agi_core>& c, std::unique_ptr<accept_op> op) {
  c->accept(std::move(op));
}

}  // namespace detail

async_agi::async_agi(client& c, std::size_t max_backlog)
    : core_(std::make_shared<detail::async_agi_core>(c, max_backlog)) {
  core_->start();
}

async_agi::~async_agi() { core_->shutdown(); }

boost::signals2::connection async_agi::on_session(const session_slot& slot) {
  return core_->on_session.connect(slot);
}

std::size_t async_agi::session_count() const noexcept { return core_->count_.load(); }

}  // namespace ami::agi
