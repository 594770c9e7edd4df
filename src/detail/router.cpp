#include "ami/detail/router.hpp"

#include <boost/asio/error.hpp>

#include <algorithm>
#include <functional>

namespace ami::detail {

void router::add(new_action a) {
  entry e;
  e.name = std::move(a.name);
  e.caller_id = std::move(a.caller_id);
  e.answer = a.answer;
  e.tag = a.tag;
  e.deadline = a.deadline;
  e.op = std::move(a.op);
  e.resend = std::move(a.resend);
  if (!e.caller_id.empty()) by_caller_id_[e.caller_id].push_back(a.n);
  if (e.deadline) add_deadline({*e.deadline, a.n});
  auto& stored = table_.insert(a.n, std::move(e));
  enter_phase(a.n, stored, phase::queued);
}

void router::mark_sent(std::uint64_t n) {
  entry* e = table_.find(n);
  if (e == nullptr || e->ph != phase::queued) return;
  leave_phase(n, *e);
  enter_phase(n, *e, phase::sent);
  if (!e->abandoned) {
    e->counted = true;
    ++in_flight_;
  }
}

bool router::is_queued(std::uint64_t n) const noexcept {
  const entry* e = table_.find(n);
  return e != nullptr && e->ph == phase::queued;
}

std::string router::action_id(std::uint64_t n) const {
  const entry* e = table_.find(n);
  if (e != nullptr && !e->caller_id.empty()) return e->caller_id;
  return ids_.format(n);
}

void router::leave_phase(std::uint64_t n, entry& e) noexcept {
  switch (e.ph) {
    case phase::queued: --queued_; break;
    case phase::sent:
      --awaiting_response_;
      if (e.answer == answer_kind::raw_text) --raw_text_sent_;
      break;
    case phase::listing: {
      const auto it = std::find(open_lists_.begin(), open_lists_.end(), n);
      if (it != open_lists_.end()) open_lists_.erase(it);
      break;
    }
    case phase::awaiting_event: break;
    case phase::text:
      if (collecting_text_ == n) collecting_text_.reset();
      break;
  }
}

void router::enter_phase(std::uint64_t n, entry& e, phase p) {
  e.ph = p;
  switch (p) {
    case phase::queued: ++queued_; break;
    case phase::sent:
      ++awaiting_response_;
      if (e.answer == answer_kind::raw_text) ++raw_text_sent_;
      break;
    case phase::listing:
      e.list.emplace(e.name);
      open_lists_.push_back(n);
      break;
    case phase::awaiting_event: break;
    case phase::text: collecting_text_ = n; break;
  }
}

void router::leave_flight(entry& e) noexcept {
  if (e.counted) {
    e.counted = false;
    --in_flight_;
  }
}

void router::remove(std::uint64_t n, entry& e) {
  leave_flight(e);
  leave_phase(n, e);
  if (!e.caller_id.empty()) {
    const auto it = by_caller_id_.find(e.caller_id);
    if (it != by_caller_id_.end()) {
      auto& ns = it->second;
      ns.erase(std::remove(ns.begin(), ns.end(), n), ns.end());
      if (ns.empty()) by_caller_id_.erase(it);
    }
  }
  table_.erase(n);
}

void router::finish(std::uint64_t n, entry& e, const boost::system::error_code& ec,
                    std::vector<routed_result>& done) {
  done.push_back({{std::move(e.op), ec, std::move(e.resp)}, e.tag, n});
  remove(n, e);
}

router::entry* router::find_by_id(std::string_view id, bool for_event, std::uint64_t& n) {
  if (const auto own = ids_.parse(id)) {
    entry* e = table_.find(*own);
    if (e != nullptr && e->caller_id.empty()) {
      n = *own;
      return e;
    }
  }
  if (by_caller_id_.empty()) return nullptr;
  const auto it = by_caller_id_.find(std::string(id));
  if (it == by_caller_id_.end()) return nullptr;
  for (const auto candidate : it->second) {
    entry* e = table_.find(candidate);
    if (e == nullptr) continue;
    const bool fits = for_event ? (e->ph == phase::listing || e->ph == phase::awaiting_event)
                                : e->ph == phase::sent;
    if (fits) {
      n = candidate;
      return e;
    }
  }
  return nullptr;
}

router::entry* router::oldest_raw_text(std::uint64_t& n) {
  entry* found = nullptr;
  table_.for_each([&](std::uint64_t k, entry& e) {
    if (found == nullptr && e.answer == answer_kind::raw_text && e.ph == phase::sent) {
      found = &e;
      n = k;
    }
  });
  return found;
}

router::entry* router::single_awaiting_response(std::uint64_t& n) {
  if (awaiting_response_ != 1) return nullptr;
  entry* found = nullptr;
  table_.for_each([&](std::uint64_t k, entry& e) {
    if (e.ph == phase::sent) {
      found = &e;
      n = k;
    }
  });
  return found;
}

routed router::route(const message& m, std::vector<routed_result>& done) {
  std::uint64_t n = 0;
  if (collecting_text_ && m.kind() != message_kind::text) finish_text(done);
  switch (m.kind()) {
    case message_kind::event: {
      if (table_.empty()) return routed::event;
      const auto id = m.action_id();
      if (!id.empty()) {
        entry* e = find_by_id(id, true, n);
        if (e != nullptr) {
          if (e->ph == phase::listing) return on_list_event(n, *e, m, done);
          if (e->ph == phase::awaiting_event && iequals(m.event_name(), "OriginateResponse")) {
            e->resp.set_complete(m);
            const bool answered = iequals(m.get_or("Response"), "Success");
            finish(n, *e, answered ? boost::system::error_code{} : error::originate_failed, done);
            return routed::list_item;
          }
        }
        return routed::event;
      }
      for (const auto ln : open_lists_) {
        entry* e = table_.find(ln);
        if (e != nullptr && e->list && e->list->accepts_unmarked(m)) {
          return on_list_event(ln, *e, m, done);
        }
      }
      return routed::event;
    }
    case message_kind::response: {
      const auto id = m.action_id();
      entry* e = id.empty() ? single_awaiting_response(n) : find_by_id(id, false, n);
      if (e == nullptr) return (!id.empty() && ids_.parse(id)) ? routed::late : routed::unmatched;
      return on_response(n, *e, m, done);
    }
    case message_kind::text: {
      entry* e = collecting_text_ ? table_.find(*collecting_text_) : nullptr;
      if (e == nullptr) {
        if (raw_text_sent_ == 0) return routed::unmatched;
        e = oldest_raw_text(n);
        if (e == nullptr) return routed::unmatched;
        leave_phase(n, *e);
        enter_phase(n, *e, phase::text);
      }
      for (const auto line : m.lines()) e->text.emplace_back(line);
      return e->abandoned ? routed::late : routed::answer;
    }
    case message_kind::banner:
    case message_kind::action: break;
  }
  return routed::unmatched;
}

void router::end_of_input(std::vector<routed_result>& done) {
  if (collecting_text_) finish_text(done);
}

void router::finish_text(std::vector<routed_result>& done) {
  const auto n = *collecting_text_;
  entry* e = table_.find(n);
  if (e == nullptr) {
    collecting_text_.reset();
    return;
  }
  if (e->abandoned) {
    remove(n, *e);
    return;
  }
  message m;
  m.set_kind(message_kind::text);
  for (const auto& line : e->text) m.add_line(line);
  e->resp.set_message(std::move(m));  // copies the lines into the response's own storage
  finish(n, *e, {}, done);
}

routed router::on_response(std::uint64_t n, entry& e, const message& m,
                           std::vector<routed_result>& done) {
  if (e.ph != phase::sent) return routed::unmatched;
  const bool failed = iequals(m.head(), "Error");
  const bool list = !failed && opens_event_list(m);
  if (e.abandoned) {
    if (list) {
      leave_phase(n, e);
      enter_phase(n, e, phase::listing);  // keep the tombstone until the list ends
    } else {
      remove(n, e);
    }
    return routed::late;
  }
  e.resp.set_message(m);
  if (failed) {
    finish(n, e, error::action_failed, done);
  } else if (list) {
    leave_phase(n, e);
    enter_phase(n, e, phase::listing);
  } else if (e.answer == answer_kind::originate) {
    leave_phase(n, e);
    leave_flight(e);
    enter_phase(n, e, phase::awaiting_event);
  } else {
    finish(n, e, {}, done);
  }
  return routed::answer;
}

routed router::on_list_event(std::uint64_t n, entry& e, const message& m,
                             std::vector<routed_result>& done) {
  const auto step = e.list->add(m, e.resp, !e.abandoned);
  if (!step.done) return e.abandoned ? routed::late : routed::list_item;
  if (e.abandoned) {
    remove(n, e);
    return routed::late;
  }
  boost::system::error_code ec;
  if (step.failed) ec = *step.failed;
  finish(n, e, ec, done);
  return routed::list_item;
}

bool router::abandon(std::uint64_t n, const boost::system::error_code& ec,
                     std::vector<routed_result>& done) {
  entry* e = table_.find(n);
  if (e == nullptr || e->abandoned) return false;
  done.push_back({{std::move(e->op), ec, std::move(e->resp)}, e->tag, n});
  if (e->ph == phase::queued || e->ph == phase::awaiting_event) {
    remove(n, *e);
  } else {
    e->abandoned = true;
    e->resp = response{};
    leave_flight(*e);
  }
  return true;
}

void router::abandon_all(const boost::system::error_code& ec, std::vector<routed_result>& done) {
  std::vector<std::uint64_t> ns;
  table_.for_each([&](std::uint64_t n, entry& e) {
    if (!e.abandoned && e.op && !is_internal(e.tag)) ns.push_back(n);
  });
  for (const auto n : ns) abandon(n, ec, done);
}

void router::fail_all(const boost::system::error_code& ec, std::vector<routed_result>& done) {
  table_.for_each([&](std::uint64_t n, entry& e) {
    if (!e.abandoned) done.push_back({{std::move(e.op), ec, std::move(e.resp)}, e.tag, n});
  });
  table_.clear();
  by_caller_id_.clear();
  open_lists_.clear();
  collecting_text_.reset();
  fifo_.clear();
  fifo_head_ = 0;
  heap_.clear();
  raw_text_sent_ = 0;
  awaiting_response_ = 0;
  in_flight_ = 0;
  queued_ = 0;
}

void router::requeue(const boost::system::error_code& ec, std::vector<routed_result>& done,
                     std::vector<resent_action>& resent) {
  std::vector<std::uint64_t> written;
  table_.for_each([&](std::uint64_t n, entry& e) {
    if (e.ph != phase::queued) written.push_back(n);
  });
  for (const auto n : written) {
    entry* e = table_.find(n);
    if (e->abandoned) {
      remove(n, *e);
    } else if (e->resend.empty() || !e->op) {
      finish(n, *e, ec, done);
    } else {
      leave_flight(*e);
      leave_phase(n, *e);
      e->resp = response{};
      e->list.reset();
      e->text.clear();
      enter_phase(n, *e, phase::queued);
      resent.push_back({n, e->resend});
    }
  }
  collecting_text_.reset();
}

bool router::live(const deadline_item& d) const noexcept {
  const entry* e = table_.find(d.n);
  return e != nullptr && !e->abandoned && e->deadline && *e->deadline == d.at;
}

void router::add_deadline(deadline_item d) {
  if (fifo_head_ == fifo_.size() || fifo_.back().at <= d.at) {
    fifo_.push_back(d);
  } else {
    heap_.push_back(d);
    std::push_heap(heap_.begin(), heap_.end(), std::greater<>{});
  }
}

const router::deadline_item* router::earliest() noexcept {
  while (fifo_head_ != fifo_.size() && !live(fifo_[fifo_head_])) ++fifo_head_;
  if (fifo_head_ == fifo_.size()) {
    fifo_.clear();
    fifo_head_ = 0;
  } else if (fifo_head_ > 1024 && fifo_head_ * 2 > fifo_.size()) {
    fifo_.erase(fifo_.begin(), fifo_.begin() + static_cast<std::ptrdiff_t>(fifo_head_));
    fifo_head_ = 0;
  }
  while (!heap_.empty() && !live(heap_.front())) {
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<>{});
    heap_.pop_back();
  }
  const deadline_item* f = fifo_head_ != fifo_.size() ? &fifo_[fifo_head_] : nullptr;
  const deadline_item* h = heap_.empty() ? nullptr : &heap_.front();
  if (f == nullptr) return h;
  if (h == nullptr) return f;
  return h->at < f->at ? h : f;
}

void router::pop_earliest() noexcept {
  const deadline_item* e = earliest();
  if (e == nullptr) return;
  if (fifo_head_ != fifo_.size() && e == &fifo_[fifo_head_]) {
    ++fifo_head_;
  } else {
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<>{});
    heap_.pop_back();
  }
}

void router::expire(clock::time_point now, std::vector<routed_result>& done) {
  for (const deadline_item* d = earliest(); d != nullptr && d->at <= now; d = earliest()) {
    const auto n = d->n;
    pop_earliest();
    abandon(n, error::action_timeout, done);
  }
}

std::optional<clock::time_point> router::next_deadline() {
  const deadline_item* d = earliest();
  if (d == nullptr) return std::nullopt;
  return d->at;
}

}  // namespace ami::detail
