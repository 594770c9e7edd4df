// Watch several PBXs from one process with ami::fleet: every PBX's state changes and events
// arrive on one pair of slots, tagged with the PBX's name, and a Ping goes to each PBX by
// name once it is logged in. Everything runs on this thread, inside io.run().
#pragma once

#include <ami/fleet.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/signals2/connection.hpp>

#include <csignal>
#include <cstddef>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace ami_examples {

// A PBX given on the command line as NAME=URL.
struct named_pbx {
  std::string name;
  std::string url;
};

inline std::optional<named_pbx> parse_named_pbx(const std::string& arg) {
  const auto eq = arg.find('=');
  if (eq == std::string::npos || eq == 0) return std::nullopt;
  return named_pbx{arg.substr(0, eq), arg.substr(eq + 1)};
}

// Monitors the PBXs until each has delivered `events_per_pbx` events (0: until SIGINT or
// SIGTERM), then prints a summary. Returns 0, or 1 when a PBX cannot be added.
inline int run_fleet_monitor(const std::vector<named_pbx>& pbxs, std::size_t events_per_pbx,
                             std::ostream& out) {
  std::map<std::string, std::map<std::string, std::size_t>> counts;  // PBX, event name
  std::map<std::string, std::size_t> totals;
  boost::asio::io_context io;
  ami::fleet fleet{io};  // after what its slots use, so that it goes first

  auto finish = [&] {
    for (const auto& s : fleet.statuses()) {
      out << s.name << ": " << ami::to_string(s.state) << ", " << totals[s.name] << " events";
      for (const auto& [event, n] : counts[s.name]) out << ' ' << event << '=' << n;
      out << '\n';
    }
    const auto st = fleet.stats();
    out << "fleet: " << st.pbxs << " PBXs, " << st.in(ami::connection_state::logged_in)
        << " logged in, " << st.totals.parse_errors << " parse errors\n";
    io.stop();
  };

  // Slots run on the strand of the PBX they report; with io.run() on one thread, one at a time.
  boost::signals2::scoped_connection events =
      fleet.on_event([&](std::string_view pbx, const ami::event& e) {
        // The name and the event are borrowed: the map keys are copies.
        const std::string name(pbx);
        ++counts[name][std::string(e.name())];
        ++totals[name];
        if (events_per_pbx == 0) {
          out << name << ": " << e.name() << '\n';
          return;
        }
        for (const auto& p : pbxs) {
          if (totals[p.name] < events_per_pbx) return;
        }
        finish();
      });

  boost::signals2::scoped_connection states = fleet.on_state(
      [&](std::string_view pbx, ami::connection_state st, const boost::system::error_code& why) {
        out << pbx << " is " << ami::to_string(st);
        if (why) out << " (" << why.message() << ')';
        out << '\n';
        if (st != ami::connection_state::logged_in) return;
        // Addressed by name: the fleet finds the PBX's client and forwards the action.
        fleet.async_send(
            pbx, ami::action("Ping"),
            [&out, name = std::string(pbx)](boost::system::error_code ec, ami::response r) {
              if (ec) {
                out << name << ": Ping failed: " << ec.message() << '\n';
              } else {
                out << name << ": Ping " << r.get("Ping").value_or("(none)") << '\n';
              }
            });
      });

  for (const auto& p : pbxs) {
    boost::system::error_code ec;
    fleet.add(p.name, p.url, ec);
    if (ec) {
      out << "cannot add " << p.name << ": " << ec.message() << '\n';
      return 1;
    }
  }

  std::optional<boost::asio::signal_set> signals;
  if (events_per_pbx == 0) {
    signals.emplace(io, SIGINT, SIGTERM);
    signals->async_wait([&](boost::system::error_code ec, int) {
      if (!ec) finish();
    });
  }
  io.run();
  return 0;
}

}  // namespace ami_examples
