// The simulated PBX behind ami::testing::server: endpoints, a dialplan, queues, mailboxes.
// Plain configuration structs; the server keeps the live state (channels, bridges).
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace ami::testing {

// What a dialplan extension, or an endpoint when it is called, does.
enum class behaviour {
  answer,      // answer, then wait `duration` and hang up
  echo,        // answer and echo until hung up
  busy,        // signal busy (Originate Reason 5)
  no_answer,   // ring until the caller gives up (Reason 3)
  congestion,  // signal congestion (Reason 8)
  user_event,  // answer, raise UserEvent `argument`, hang up
  playback,    // answer, play prompt `argument` for `duration`, hang up
  queue,       // answer and wait in queue `argument` for a member
  dial,        // dial endpoint `argument` (e.g. "PJSIP/101") and bridge the two
  agi,         // run AGI: `argument` is "agi:async" (AsyncAGI over AMI) or
               // "agi://HOST:PORT/script?query" (the PBX connects to a FastAGI server)
  conference,  // answer and join ConfBridge room `argument` until hung up
};

const char* to_string(behaviour b) noexcept;

struct extension {
  std::string exten;
  std::string context = "default";
  behaviour action = behaviour::answer;
  std::string argument;  // queue name, UserEvent name, prompt, dial target
  // Simulated seconds the call lasts once answered (answer, playback); 0 = until hung up.
  int duration = 20;
  std::string hint;  // e.g. "PJSIP/100": the device ExtensionState reports
  // behaviour::agi: the application's arguments (agi_arg_1..N).
  std::vector<std::string> agi_args{};
  // behaviour::agi: the digits the caller presses, taken in order by the commands that read
  // digits (GET DATA, WAIT FOR DIGIT, an escape digit of STREAM FILE...).
  std::string dtmf{};
  // behaviour::agi: the caller hangs up while the AGI command with this 0-based index runs
  // (-1: never). A command that uses the channel (ANSWER, STREAM FILE, GET DATA, WAIT FOR
  // DIGIT...) then ends as on a hangup (result=-1); one that does not (SET VARIABLE,
  // DATABASE...) completes. Then AsyncAGI ends (AsyncAGIEnd, the channel hangs up); FastAGI
  // writes "HANGUP", answers 511 to commands that need a live channel, and the channel
  // hangs up when the script closes the connection.
  int hangup_during_command = -1;
};

struct endpoint {
  std::string technology = "PJSIP";  // PJSIP, SIP or IAX2
  std::string name;
  std::string context = "default";
  bool online = true;                    // registered / reachable
  behaviour answer = behaviour::answer;  // what happens when it is called
  std::string address;                   // "" = dynamic, not registered
  unsigned short port = 0;
  std::string description;
};

struct queue_member {
  std::string interface;  // "PJSIP/101", "Local/100@default"
  std::string name;       // MemberName; defaults to the interface
  int penalty = 0;
  bool paused = false;
  std::string paused_reason{};
  std::string membership = "static";
};

struct queue {
  std::string name;
  std::string strategy = "ringall";
  int max = 0;
  int weight = 0;
  std::vector<queue_member> members;
};

// An agent of app_agent_pool (agents.conf): logs in with agent_login(), is listed by the
// Agents action.
struct agent {
  std::string id;  // "1001"
  std::string name;
};

struct mailbox {
  std::string id;  // "1234@default"
  int new_messages = 0;
  int old_messages = 0;
  int urgent_messages = 0;
};

struct pbx_config {
  std::vector<endpoint> endpoints;
  std::vector<extension> extensions;
  std::vector<queue> queues;
  std::vector<mailbox> mailboxes;
  std::vector<agent> agents;
  // The parking lot "default": its spaces and how long (simulated seconds) a call stays
  // parked before ParkedCallTimeOut.
  int parking_first_space = 701;
  int parking_spaces = 20;
  int parking_timeout = 45;
  // One simulated second of call time (Wait, durations, Originate Timeout / 1000).
  std::chrono::milliseconds time_unit{100};
  // Delay between two steps of call progress (dial, ring, answer).
  std::chrono::milliseconds step{2};

  // The set-up of the servers the captures were recorded on: extensions 100 (answer and
  // wait 20 s, hint <tech>/100), 200 (echo), 300 (UserEvent), 600 (playback), 700 (queue
  // support), 800 (AGI(agi:async)), 801 (AGI(agi://127.0.0.1:4574/ivr)), plus 400 busy,
  // 500 no answer, 501 congestion; queue `support` with member
  // Local/100@default; mailbox 1234@default; endpoints 100, 101 (offline) and trunk1
  // (PJSIP, or SIP plus IAX2 iaxpeer1 when `sip` is true).
  static pbx_config standard(bool sip = false);
};

// A live channel, as the server reports it to tests.
struct channel_info {
  std::string name;
  std::string uniqueid;
  std::string linkedid;
  int state = 0;  // 0 Down, 4 Ring, 5 Ringing, 6 Up
  std::string context;
  std::string exten;
  int priority = 1;
  std::string application;
  std::string data;
  std::string bridge;
  bool on_hold = false;
};

// A parked call, as the server reports it to tests.
struct parked_info {
  int space = 0;
  std::string channel;  // the parkee
  std::string uniqueid;
  std::string parker;  // ParkerDialString
};

// A ConfBridge room, as the server reports it to tests.
struct conference_info {
  std::string name;
  std::string bridge;
  std::vector<std::string> channels;  // in join order
};

}  // namespace ami::testing
