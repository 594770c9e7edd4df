// The live state of the simulated PBX (internal): channels, bridges, queues, timers.
// Everything here runs on the server's io thread.
#pragma once

#include "ami/testing/pbx.hpp"
#include "server_state.hpp"

#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace ami::testing::detail {

// What happened to a dialled channel, as Originate's Reason numbers it.
enum class call_result { failed = 0, no_answer = 3, answered = 4, busy = 5, congestion = 8 };

struct agi_state;  // agi.cpp: an AGI running on a channel
// Closes an AGI's socket and cancels its timers (server shutdown).
void stop_agi(agi_state& a);

struct chan {
  std::string name;
  std::string uniqueid;
  std::string linkedid;
  std::string device;  // "PJSIP/100", "Local/100@default"
  std::string tech;    // "PJSIP", "Local"...
  int state = 0;
  std::string cid_num = "<unknown>";
  std::string cid_name = "<unknown>";
  std::string con_num = "<unknown>";
  std::string con_name = "<unknown>";
  std::string language = "en";
  std::string account;
  std::string context = "default";
  std::string exten = "s";
  int priority = 1;
  std::string app;
  std::string data;
  std::vector<std::pair<std::string, std::string>> vars;
  std::string bridge;
  std::weak_ptr<chan> local_peer;  // the other half of a Local pair
  std::weak_ptr<chan> peer;        // the other end of a call
  std::chrono::steady_clock::time_point created;
  std::chrono::steady_clock::time_point answered;
  std::chrono::system_clock::time_point created_wall;
  std::unique_ptr<asio::steady_timer> timer;     // the current step of its behaviour
  std::unique_ptr<asio::steady_timer> deadline;  // AbsoluteTimeout
  std::optional<std::chrono::system_clock::time_point> hangup_at;
  bool gone = false;
  bool monitored = false;
  bool mixmonitor = false;
  // Reports the progress of this channel to whoever dialled it (set while dialling).
  std::function<void(call_result)> on_result;
  // Queue state: the queue a caller waits in, or the queue an agent leg serves.
  std::string queue;
  std::chrono::steady_clock::time_point queue_join;
  std::string member_interface;      // agent leg: the member it belongs to
  std::weak_ptr<chan> queue_caller;  // agent leg: the caller it serves
  bool load = false;                 // made by the load generator
  int talk_units = 0;                // load calls: how long the agent talks
  std::string last_hangup_cause;
  std::shared_ptr<agi_state> agi;  // while the channel runs AGI
  bool on_hold = false;
  std::string conference;  // the ConfBridge room it is in
  int parked_space = 0;    // the parking space it waits in
  std::string agent;       // the app_agent_pool agent logged in on this channel
  std::chrono::steady_clock::time_point conf_joined;
};

// Live channels in creation order, with a name index (both O(log n) under load).
class chan_table {
 public:
  using map_type = std::map<std::uint64_t, std::shared_ptr<chan>>;
  struct iterator {
    map_type::const_iterator it;
    const std::shared_ptr<chan>& operator*() const { return it->second; }
    iterator& operator++() {
      ++it;
      return *this;
    }
    bool operator!=(const iterator& o) const { return it != o.it; }
  };

  void add(const std::shared_ptr<chan>& c) {
    const auto seq = next_++;
    order_.emplace(seq, c);
    by_name_[c->name] = seq;
  }
  void remove(const std::shared_ptr<chan>& c) {
    const auto it = by_name_.find(c->name);
    if (it == by_name_.end() || order_[it->second] != c) return;
    order_.erase(it->second);
    by_name_.erase(it);
  }
  std::shared_ptr<chan> find(const std::string& name) const {
    const auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : order_.at(it->second);
  }
  std::size_t size() const noexcept { return order_.size(); }
  bool empty() const noexcept { return order_.empty(); }
  void clear() {
    order_.clear();
    by_name_.clear();
  }
  iterator begin() const { return {order_.begin()}; }
  iterator end() const { return {order_.end()}; }

 private:
  map_type order_;
  std::unordered_map<std::string, std::uint64_t> by_name_;
  std::uint64_t next_ = 0;
};

struct bridge_state {
  std::string id;
  std::vector<std::weak_ptr<chan>> members;
  std::string type = "basic";
  std::string technology = "simple_bridge";
  std::string creator = "<unknown>";
  std::string name = "<unknown>";
};

struct park_state {
  int space = 0;
  std::weak_ptr<chan> parkee;
  std::string parker;  // ParkerDialString
  int timeout = 0;     // simulated seconds
  std::chrono::steady_clock::time_point at;
  std::unique_ptr<asio::steady_timer> timer;
};

struct conf_state {
  std::string name;
  std::string bridge;
  std::vector<std::weak_ptr<chan>> users;  // in join order
  bool locked = false;
  bool muted = false;
};

struct agent_state {
  agent cfg;
  std::weak_ptr<chan> logged;  // the AgentLogin channel while logged in
  long login_start = 0;
};

// Helpers shared by the PBX's source files.
const char* channel_state_text(int state);
long epoch_seconds();
std::string hex8(std::uint64_t n);
long seconds_since(std::chrono::steady_clock::time_point t);

struct member_state {
  queue_member cfg;
  int calls_taken = 0;
  long last_call = 0;
  long last_pause = 0;
  long login_time = 0;
  bool in_call = false;
  bool ringing = false;  // a caller is being offered to it
};

struct queue_state {
  queue cfg;
  std::vector<member_state> members;
  std::vector<std::weak_ptr<chan>> callers;                   // waiting, in order
  std::unordered_map<std::string, std::size_t> member_index;  // interface -> members[i]
  void reindex() {
    member_index.clear();
    for (std::size_t i = 0; i < members.size(); ++i) member_index[members[i].cfg.interface] = i;
  }
  int completed = 0;
  int abandoned = 0;
  long holdtime = 0;
  long talktime = 0;
};

struct mailbox_state {
  mailbox cfg;
};

class pbx_model {
 public:
  pbx_model(server_state& st, pbx_config cfg);
  ~pbx_model();

  std::optional<outcome> action(connection& c, const ami::message& a);
  std::optional<std::vector<std::string>> cli(const std::string& command);

  // Test API (io thread).
  void add_endpoint(endpoint e);
  void add_extension(extension x);
  void add_queue(queue q);
  void set_mailbox(mailbox m);
  std::vector<channel_info> channels() const;
  std::vector<queue> queues() const;
  std::optional<std::string> variable(const std::string& channel, const std::string& name) const;
  std::string incoming_call(const std::string& from, const std::string& exten,
                            const std::string& context, const std::string& caller_num);
  bool hangup(const std::string& channel, int cause);
  void start_load(double events_per_second);
  void stop_load();
  void shutdown();
  // Call-center flows (pbx_flows.cpp).
  bool hold(const std::string& channel, const std::string& music_class, bool on);
  bool rename(const std::string& channel, const std::string& new_name);
  bool blind_transfer(const std::string& transferer, const std::string& exten,
                      const std::string& context);
  bool attended_transfer(const std::string& first_leg, const std::string& second_leg);
  std::optional<int> park(const std::string& channel, int timeout);
  std::string pickup_parked(int space, const std::string& from);
  std::vector<parked_info> parked() const;
  std::vector<conference_info> conferences() const;
  void add_agent(agent a);
  std::string agent_login(const std::string& agent, const std::string& device);
  bool agent_logoff(const std::string& agent);
  // Queue members; each returns the error message of the matching action ("" when done)
  // and calls `done` (the action's answer) before the events.
  std::string member_add(const std::string& queue, queue_member m,
                         const std::function<void()>& done = {});
  std::string member_remove(const std::string& queue, const std::string& interface,
                            const std::function<void()>& done = {});
  std::string member_pause(const std::string& queue, const std::string& interface, bool paused,
                           const std::string& reason, const std::function<void()>& done = {});
  bool set_endpoint_online(const std::string& device, bool online);
  std::uint64_t events_sent() const noexcept { return events_sent_; }

 private:
  friend struct originate_op;
  friend struct agi_run;

  // Events.
  void emit(field_list f);
  static void snapshot(field_list& f, const chan& c, const std::string& prefix = "");
  field_list chan_event(const std::string& name, const chan& c, const char* privilege = "call,all");

  // Channels.
  std::shared_ptr<chan> find(const std::string& name) const;
  std::shared_ptr<chan> new_channel(const std::string& device, const std::string& suffix, int state,
                                    const std::string& context, const std::string& exten,
                                    const std::string& linkedid,
                                    const std::string& caller_num = "");
  std::pair<std::shared_ptr<chan>, std::shared_ptr<chan>> new_local(const std::string& exten,
                                                                    const std::string& context);
  void set_state(chan& c, int state);
  void newexten(chan& c, const std::string& exten, int priority, const std::string& app,
                const std::string& data);
  void answer(const std::shared_ptr<chan>& c);
  void hangup_chan(const std::shared_ptr<chan>& c, int cause);
  void after(const std::shared_ptr<chan>& c, std::chrono::milliseconds d,
             std::function<void(const std::shared_ptr<chan>&)> fn);
  std::chrono::milliseconds units(double n) const;
  void set_var(chan& c, const std::string& name, const std::string& value, bool event);
  void device_changed(const std::string& device);
  std::string device_state(const std::string& device) const;
  int member_status(const member_state& m) const;

  // Dialplan.
  const extension* find_extension(const std::string& context, const std::string& exten) const;
  const endpoint* find_endpoint(const std::string& device) const;
  void run_extension(const std::shared_ptr<chan>& c, const std::string& context,
                     const std::string& exten);
  void run_application(const std::shared_ptr<chan>& c, const std::string& app,
                       const std::string& data);
  // Dials `device` for `caller` (may be null for Originate); reports through on_result.
  std::shared_ptr<chan> dial(const std::shared_ptr<chan>& caller, const std::string& device,
                             std::chrono::milliseconds timeout,
                             std::function<void(call_result, const std::shared_ptr<chan>&)> done,
                             const std::function<void(const chan&)>& announce = {});

  // Bridges.
  void bridge_two(const std::shared_ptr<chan>& a, const std::shared_ptr<chan>& b);
  bridge_state& new_bridge(const std::string& type, const std::string& technology,
                           const std::string& creator, const std::string& name);
  void enter_bridge(bridge_state& b, const std::shared_ptr<chan>& c);
  void leave_bridge(chan& c);
  // Unlinks a call's two ends, so that one can go without hanging up the other.
  static void unpeer(chan& c);
  void bridge_fields(field_list& f, const bridge_state& b) const;

  // Queues.
  queue_state* find_queue(const std::string& name);
  void queue_join(const std::shared_ptr<chan>& c, const std::string& queue);
  void queue_distribute(queue_state& q);
  void queue_leave(queue_state& q, const chan& c, bool abandoned);
  field_list member_fields(const char* event, const queue_state& q, const member_state& m,
                           bool ringinuse) const;

  // Flows (pbx_flows.cpp).
  void conf_join(const std::shared_ptr<chan>& c, const std::string& room);
  void conf_leave(chan& c);
  // A parked call ends: "ParkedCallTimeOut", "ParkedCallGiveUp" or "UnParkedCall".
  void park_leave(int space, const char* event, const chan* retriever);
  field_list parked_fields(const char* event, const park_state& p, const chan* retriever) const;
  void hints_changed(const std::string& device);
  std::optional<outcome> flow_action(connection& c, const ami::message& a, const std::string& n);
  // Load generator: what an answered queue call does next (talk, hold, transfers, park),
  // and the members' pauses and agents' logins that come and go.
  void load_flow(const std::shared_ptr<chan>& caller, const std::shared_ptr<chan>& agent);
  void load_members();

  // Actions.
  bool allowed(connection& c, std::uint32_t need) const;
  void list_start(connection& c, const ami::message& a, const std::string& what);
  void list_complete(connection& c, const ami::message& a, const std::string& event,
                     std::size_t items, bool with_items_too = false);
  outcome originate(connection& c, const ami::message& a);

  // Load generator.
  void load_tick();

  // AGI (agi.cpp).
  void agi_start(const std::shared_ptr<chan>& c, const extension& x);
  outcome agi_action(connection& conn, const ami::message& a);
  // The caller hangs up a channel that runs AGI: the AGI sees it and ends the call itself.
  void agi_caller_hangup(const std::shared_ptr<chan>& c, int cause);
  void agi_pump(const std::shared_ptr<chan>& c);
  void agi_reply(const std::shared_ptr<chan>& c, const std::string& id, const std::string& text);
  void agi_end(const std::shared_ptr<chan>& c, const char* status, bool hang_up);
  void agi_connected(const std::shared_ptr<chan>& c);
  void agi_read(const std::shared_ptr<chan>& c);
  void agi_write(const std::shared_ptr<agi_state>& a, std::string bytes);
  std::string agi_env(const chan& c, const agi_state& a) const;
  std::map<std::string, std::string> astdb_;  // DATABASE GET/PUT/DEL: "family/key" -> value

  server_state& st_;
  pbx_config cfg_;
  chan_table chans_;
  std::map<std::string, bridge_state> bridges_;
  std::vector<queue_state> queues_;
  std::vector<mailbox_state> mailboxes_;
  std::map<int, park_state> parked_;         // by space
  std::map<std::string, conf_state> confs_;  // by room
  std::map<std::string, agent_state> agents_;
  std::map<std::string, std::pair<int, std::string>> hint_states_;  // exten@context
  std::vector<std::pair<std::string, std::string>> globals_;
  std::map<std::string, std::string> device_states_;
  // Live channels per device (up / not up), so device states cost O(1) under load.
  struct device_count {
    int up = 0;
    int other = 0;
    int held = 0;
  };
  std::unordered_map<std::string, device_count> device_counts_;
  std::unordered_map<std::string, std::size_t> endpoint_index_;  // "PJSIP/100" -> endpoints[i]
  void count(const chan& c, int delta);
  void index_endpoints();
  std::uint64_t chan_seq_ = 0;
  std::uint64_t uid_seq_ = 0;
  std::uint64_t bridge_seq_ = 0;
  long uid_base_ = 0;
  std::uint64_t events_sent_ = 0;
  std::mt19937 rng_;

  // Load generator state.
  std::unique_ptr<asio::steady_timer> load_timer_;
  double load_rate_ = 0;  // events per second wanted
  std::chrono::steady_clock::time_point load_started_;
  std::uint64_t load_events_at_start_ = 0;
  double load_calls_started_ = 0;
  bool load_ticked_ = false;
  std::size_t load_calls_live_ = 0;  // load calls not hung up yet
  std::size_t load_calls_cap_ = 0;   // beyond this the generator waits: a saturated server
                                     // sends fewer events instead of starving its sockets
  std::uint64_t load_caller_seq_ = 0;
};

}  // namespace ami::testing::detail
