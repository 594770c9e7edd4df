// A queue board on the live state: ami::live::pbx syncs on login and follows events; the
// board is printed after the sync and whenever a queue, a member or a caller changes. The
// statistics Asterisk sends no event for (hold time, talk time, service level) are
// refreshed every `refresh` with async_refresh, which merges the QueueStatus list with the
// events racing it.
#pragma once

#include <ami/client.hpp>
#include <ami/live/pbx.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <ostream>
#include <string>

namespace ami_examples {

struct queue_monitor_options {
  std::chrono::seconds refresh{10};
  std::size_t boards = 0;  // stop after printing this many boards (0: run until stopped)
};

inline void print_queue_board(const ami::live::state& s, std::ostream& out) {
  out << "---- " << s.queues.size() << " queue(s)\n";
  s.queues.for_each([&](const std::string& name, const ami::live::queue& q) {
    out << name << ": " << q.callers.size() << " waiting, " << q.completed << " completed, "
        << q.abandoned << " abandoned, hold " << q.holdtime << " s, talk " << q.talktime << " s\n";
    q.members.for_each([&](const std::string& iface, const ami::live::queue_member& m) {
      out << "  member " << iface << (m.paused ? " paused" : "") << (m.in_call ? " in call" : "")
          << ", " << m.calls_taken << " taken\n";
    });
    q.callers.for_each([&](const std::string&, const ami::live::queue_caller& c) {
      out << "  caller " << c.position << ": " << c.channel << " (" << c.caller_id_num << ")\n";
    });
  });
}

// Returns 0 when it stopped after `boards` boards, 1 when it could not log in.
inline int run_queue_monitor(const std::string& url, std::ostream& out,
                             queue_monitor_options opts = {}) {
  boost::system::error_code url_ec;
  ami::config cfg = ami::config::from_url(url, url_ec);
  if (url_ec) {
    out << "bad URL: " << url_ec.message() << '\n';
    return 1;
  }
  boost::asio::io_context io;
  ami::client client{io};
  ami::live::pbx pbx{client};
  boost::asio::steady_timer timer{io};
  std::size_t printed = 0;
  int status = 1;

  const auto board = [&] {
    print_queue_board(*pbx.snapshot(), out);
    if (opts.boards != 0 && ++printed >= opts.boards) {
      status = 0;
      timer.cancel();
      client.close();
    }
  };
  std::function<void()> schedule_refresh = [&] {
    timer.expires_after(opts.refresh);
    timer.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      pbx.async_refresh(ami::live::list_kind::queues,
                        [&](boost::system::error_code rec, const ami::live::sync_report&) {
                          if (rec) out << "refresh failed: " << rec.message() << '\n';
                          if (!rec) board();
                          if (client.state() == ami::connection_state::logged_in) {
                            schedule_refresh();
                          }
                        });
    });
  };

  auto synced = pbx.on_sync_finished([&](const ami::live::sync_report& r) {
    out << "synced: " << r.changes.size() << " change(s)\n";
    board();
    if (client.state() == ami::connection_state::logged_in) schedule_refresh();
  });
  auto changed = pbx.on_event_applied([&](const ami::event&, const auto& changes) {
    for (const ami::live::change& c : changes) {
      if (c.what == ami::live::entity::queue || c.what == ami::live::entity::queue_member ||
          c.what == ami::live::entity::queue_caller) {
        board();
        return;
      }
    }
  });

  // The first refresh comes at once, so that a short run shows both paths.
  if (opts.boards != 0) opts.refresh = std::chrono::seconds(0);
  client.async_run(cfg, [&](boost::system::error_code ec) {
    if (ec && status != 0) {
      out << "cannot keep a session with " << cfg.redacted() << ": " << ec.message() << ' '
          << client.last_error_message() << '\n';
    }
    timer.cancel();
  });
  io.run();
  return status;
}

}  // namespace ami_examples
