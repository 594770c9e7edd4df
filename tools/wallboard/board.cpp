#include "board.hpp"
#include "sorted.hpp"

#include "ami/live/agent.hpp"
#include "ami/live/device_state.hpp"
#include "ami/typed/channel_state.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <string_view>
#include <utility>
#include <vector>

namespace ami::tools::wallboard {

namespace {

namespace live = ami::live;
using std::chrono::seconds;

seconds since(live::time_point then, live::time_point now) {
  if (then == live::time_point{} || now < then) return seconds(0);
  return std::chrono::duration_cast<seconds>(now - then);
}

// Appends `text` cut or padded to `width` columns (bytes: AMI names are ASCII in practice).
void cell(std::string& line, std::string_view text, std::size_t width, bool right = false) {
  if (text.size() > width) text = text.substr(0, width);
  const std::string pad(width - text.size(), ' ');
  if (right) line += pad;
  line.append(text);
  if (!right) line += pad;
  line.push_back(' ');
}

// Asterisk writes "<unknown>" for a caller id it does not have.
bool known(const std::string& id) { return !id.empty() && id != "<unknown>"; }

std::string percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", v);
  return buf;
}

class writer {
 public:
  explicit writer(const board_options& o) : ansi_(o.ansi) {}
  void line(std::string text) {
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out_ += text;
    if (ansi_) out_ += "\x1b[K";
    out_.push_back('\n');
  }
  std::string take() { return std::move(out_); }

 private:
  bool ansi_;
  std::string out_;
};

void queues_section(writer& w, const live::state& s, live::time_point now,
                    const board_options& opts) {
  w.line("QUEUES (" + std::to_string(s.queues.size()) + ")");
  std::string head;
  cell(head, "queue", 16);
  for (const char* h : {"waiting", "longest", "avail", "busy", "paused", "answered", "abandoned"}) {
    cell(head, h, 9, true);
  }
  head += "service level";
  w.line(head);
  for (const auto& [name, q] : sorted_entries(s.queues)) {
    const queue_summary sum = summarize(*q, now);
    std::string l;
    cell(l, *name, 16);
    cell(l, std::to_string(sum.waiting), 9, true);
    cell(l, clock_duration(sum.longest_wait), 9, true);
    cell(l, std::to_string(sum.available), 9, true);
    cell(l, std::to_string(sum.busy), 9, true);
    cell(l, std::to_string(sum.paused), 9, true);
    cell(l, std::to_string(q->completed), 9, true);
    cell(l, std::to_string(q->abandoned), 9, true);
    l += percent(q->service_level_perf);
    if (q->service_level > 0) l += " in " + std::to_string(q->service_level) + " s";
    w.line(l);
    std::vector<const live::queue_caller*> callers;
    q->callers.for_each(
        [&](const std::string&, const live::queue_caller& c) { callers.push_back(&c); });
    std::sort(callers.begin(), callers.end(),
              [](const auto* a, const auto* b) { return a->position < b->position; });
    std::size_t shown = 0;
    for (const auto* c : callers) {
      if (shown++ == opts.max_callers) {
        w.line("    ... " + std::to_string(callers.size() - opts.max_callers) + " more");
        break;
      }
      std::string cl = "    " + std::to_string(c->position) + ". " + c->channel;
      if (known(c->caller_id_num)) cl += " (" + c->caller_id_num + ")";
      cl += " waiting " + clock_duration(since(c->joined, now));
      w.line(cl);
    }
  }
}

// Queue members by interface (one line each, with the queues they serve), then the agents
// of app_agent_pool.
void agents_section(writer& w, const live::state& s) {
  struct person {
    const live::queue_member* m = nullptr;
    std::vector<std::string> queues;
    int calls_taken = 0;
  };
  std::map<std::string, person> people;
  for (const auto& entry : sorted_entries(s.queues)) {
    const std::string& qname = *entry.first;
    entry.second->members.for_each([&](const std::string& iface, const live::queue_member& m) {
      person& p = people[iface];
      if (p.m == nullptr || (m.in_call && !p.m->in_call)) p.m = &m;
      p.queues.push_back(qname);
      p.calls_taken += m.calls_taken;
    });
  }
  w.line("");
  w.line("AGENTS (" + std::to_string(people.size() + s.agents.size()) + ")");
  for (const auto& [iface, p] : people) {
    std::string l = "  ";
    cell(l, iface, 24);
    cell(l, p.m->name == iface ? std::string() : p.m->name, 18);
    std::string what = to_string(activity(*p.m));
    if (p.m->paused && !p.m->paused_reason.empty()) what += " (" + p.m->paused_reason + ")";
    cell(l, what, 18);
    std::string qs;
    for (const auto& q : p.queues) qs += (qs.empty() ? "" : ",") + q;
    l += std::to_string(p.calls_taken) + " taken, queues " + qs;
    w.line(l);
  }
  for (const auto& [id, a] : sorted_entries(s.agents)) {
    std::string l = "  ";
    cell(l, "Agent/" + *id, 24);
    cell(l, a->name, 18);
    cell(l, live::to_string(a->status), 18);
    if (!a->talking_to.empty()) l += "talking to " + a->talking_to;
    w.line(l);
  }
}

void calls_section(writer& w, const live::state& s, live::time_point now,
                   const board_options& opts) {
  auto calls = sorted_entries(s.calls);
  std::sort(calls.begin(), calls.end(), [](const auto& a, const auto& b) {
    return a.second->started != b.second->started ? a.second->started < b.second->started
                                                  : *a.first < *b.first;
  });
  w.line("");
  w.line("CALLS (" + std::to_string(calls.size()) + ")");
  std::size_t shown = 0;
  for (const auto& [id, c] : calls) {
    if (shown++ == opts.max_calls) {
      w.line("  ... " + std::to_string(calls.size() - opts.max_calls) + " more");
      break;
    }
    std::string from = known(c->caller_id_num) ? c->caller_id_num : std::string("?");
    if (known(c->caller_id_name) && c->caller_id_name != c->caller_id_num) {
      from += " \"" + c->caller_id_name + "\"";
    }
    const std::string to = known(c->connected_line_num) ? c->connected_line_num : c->exten;
    std::string l = "  ";
    cell(l, from + " -> " + (to.empty() ? std::string("?") : to), 40);
    if (c->answered) {
      cell(l, "talking " + clock_duration(since(*c->answered, now)), 16);
    } else {
      cell(l, "setup " + clock_duration(since(c->started, now)), 16);
    }
    if (!c->queue.empty()) {
      l += "queue " + c->queue;
      if (!c->member.empty()) l += ", " + c->member;
    }
    l += " [" + std::to_string(c->channels.size()) + " channel" +
         (c->channels.size() == 1 ? "" : "s") + "]";
    w.line(l);
  }
}

}  // namespace

member_activity activity(const live::queue_member& m) noexcept {
  if (m.paused) return member_activity::paused;
  if (m.in_call) return member_activity::busy;
  switch (m.status) {
    case live::device_state::not_inuse: return member_activity::available;
    case live::device_state::inuse:
    case live::device_state::busy:
    case live::device_state::ringing:
    case live::device_state::ringinuse:
    case live::device_state::onhold: return member_activity::busy;
    case live::device_state::unknown:
    case live::device_state::invalid:
    case live::device_state::unavailable: break;
  }
  return member_activity::unavailable;
}

const char* to_string(member_activity a) noexcept {
  switch (a) {
    case member_activity::available: return "available";
    case member_activity::busy: return "busy";
    case member_activity::paused: return "paused";
    case member_activity::unavailable: break;
  }
  return "unavailable";
}

queue_summary summarize(const live::queue& q, live::time_point now) {
  queue_summary s;
  s.waiting = static_cast<int>(q.callers.size());
  q.callers.for_each([&](const std::string&, const live::queue_caller& c) {
    s.longest_wait = std::max(s.longest_wait, since(c.joined, now));
  });
  q.members.for_each([&](const std::string&, const live::queue_member& m) {
    switch (activity(m)) {
      case member_activity::available: ++s.available; break;
      case member_activity::busy: ++s.busy; break;
      case member_activity::paused: ++s.paused; break;
      case member_activity::unavailable: ++s.unavailable; break;
    }
  });
  return s;
}

std::string clock_duration(seconds d) {
  long long t = std::max<long long>(0, d.count());
  char buf[48];
  if (t >= 3600) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", t / 3600, t / 60 % 60, t % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", t / 60, t % 60);
  }
  return buf;
}

std::string render_board(const live::state& s, live::time_point now, const board_options& opts) {
  writer w(opts);
  queues_section(w, s, now, opts);
  agents_section(w, s);
  calls_section(w, s, now, opts);
  return w.take();
}

}  // namespace ami::tools::wallboard
