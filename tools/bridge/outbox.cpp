#include "outbox.hpp"

#include <utility>

namespace ami::bridge {

void outbox::push_event(outbound m) {
  items_.push_back({std::move(m), false});
  ++events_;
}

void outbox::push_control(outbound m) {
  if (m.kind == outbound_kind::state && items_.size() > sent_ && !items_.back().acked &&
      items_.back().m.kind == outbound_kind::state) {
    items_.back().m = std::move(m);
    return;
  }
  items_.push_back({std::move(m), false});
}

void outbox::note_dropped(std::string_view session, std::uint64_t seq) {
  ++dropped_total_;
  if (dropped_ && dropped_->session == session) {
    dropped_->last_seq = seq;
    ++dropped_->count;
    return;
  }
  // A new session while drops of the previous one were still untold cannot happen: the
  // session's end is told first (take_dropped() before its gap marker).
  dropped_ = dropped_run{std::string(session), seq, seq, 1};
}

std::optional<dropped_run> outbox::take_dropped() { return std::exchange(dropped_, std::nullopt); }

const outbound* outbox::next() {
  // Skip what was acknowledged while waiting to be sent again (stored by an earlier try).
  while (sent_ < items_.size() && items_[sent_].acked) {
    ++sent_;
    ++acked_in_sent_;
  }
  return sent_ < items_.size() ? &items_[sent_].m : nullptr;
}

void outbox::sent() {
  if (sent_ < items_.size()) ++sent_;
}

bool outbox::acknowledged(std::string_view msg_id) {
  // Acknowledgements come in order, so the match is almost always at the front.
  for (std::size_t i = 0; i < items_.size(); ++i) {
    auto& it = items_[i];
    if (it.m.msg_id != msg_id) continue;
    if (it.acked) return false;
    it.acked = true;
    if (i < sent_) ++acked_in_sent_;
    pop_acknowledged();
    return true;
  }
  return false;
}

void outbox::pop_acknowledged() {
  while (!items_.empty() && items_.front().acked) {
    if (items_.front().m.kind == outbound_kind::event) --events_;
    items_.pop_front();
    if (sent_ > 0) {
      --sent_;
      --acked_in_sent_;
    }
  }
}

bool outbox::failed(std::string_view msg_id) {
  for (std::size_t i = 0; i < sent_; ++i) {
    if (items_[i].m.msg_id != msg_id) continue;
    if (items_[i].acked) return false;
    rewind();
    return true;
  }
  return false;
}

void outbox::rewind() {
  // Acknowledged items inside the sent range stay marked and are skipped by next().
  sent_ = 0;
  acked_in_sent_ = 0;
}

std::size_t outbox::clear() noexcept {
  const std::size_t n = items_.size();
  items_.clear();
  sent_ = 0;
  acked_in_sent_ = 0;
  events_ = 0;
  return n;
}

}  // namespace ami::bridge
