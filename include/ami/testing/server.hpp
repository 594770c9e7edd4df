// A scriptable AMI server on Boost.Asio that answers like Asterisk, for tests and demos.
//
// The server owns an io_context run by one internal thread. Every public member is
// thread-safe; handlers run on that thread. Nothing here includes Asio.
#pragma once

#include "ami/message.hpp"
#include "ami/testing/pbx.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ami::testing {

// Ordered "Key: Value" fields of an outgoing message.
using field_list = std::vector<std::pair<std::string, std::string>>;

// A manager account. `read` and `write` are Asterisk privilege class lists
// ("all", "system,call,reporting", "" for none).
struct user {
  std::string username;
  std::string secret;
  std::string read = "all";
  std::string write = "all";
};

// TLS on the listener, for "amis://" clients. Files are PEM.
struct server_tls {
  std::string cert_chain_file;  // the server certificate, then any intermediate CAs
  std::string key_file;         // its private key (unencrypted)
  // When set, a client must present a certificate issued by one of these CAs, or the
  // handshake fails.
  std::string client_ca_file;
  // false: the main listener (server_options::address and port) speaks TLS, nothing else
  // listens. true: TLS gets a second listener on `address`:`port` (0 picks a free port) and
  // the main one stays plain; both reach the same PBX, like Asterisk's bindport and
  // tlsbindport.
  bool separate_listener = false;
  std::string address = "127.0.0.1";
  unsigned short port = 0;
};

struct server_options {
  std::string address = "127.0.0.1";
  unsigned short port = 0;             // 0: pick a free port
  std::string ami_version = "13.0.0";  // banner "Asterisk Call Manager/<ami_version>\r\n"
  std::vector<user> users{{"admin", "amp111"}};
  std::chrono::milliseconds login_failure_delay{0};  // Asterisk waits about 1 s
  // Send the SuccessfulAuth security event after a login (AMI >= 2.0), as Asterisk does.
  bool security_events = true;
  // The simulated PBX. Unset: pbx_config::standard(), with chan_sip and IAX2 endpoints
  // when ami_version < 9 (Asterisk <= 18), PJSIP ones otherwise.
  std::optional<pbx_config> pbx;
  // Serve TLS instead of plain TCP: each connection starts with a TLS handshake, then the
  // banner. start() throws boost::system::system_error when a file cannot be used.
  std::optional<server_tls> tls;
};

class server;

// One accepted connection. Members are callable from handlers (on the server thread) and
// from any other thread; calls from one thread are applied in call order.
class session {
 public:
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // Queues bytes verbatim.
  void send_raw(std::string bytes);
  // Queues "Key: Value\r\n" lines and the closing empty line (no validation, so tests can
  // send anything).
  void send(const field_list& fields);
  // Like send(), with the action's ActionID (when it had one) inserted after the first
  // field, where Asterisk puts it.
  void respond(const ami::message& action, field_list fields);
  // Closes the connection once everything queued so far is written.
  void close();
  // Closes the connection now, dropping unwritten bytes.
  void abort();

  bool logged_in() const noexcept;
  // The account name once logged in (empty before).
  std::string username() const;
  // A number unique within the server, in accept order from 1.
  std::uint64_t id() const noexcept;
  // Keeps the session alive beyond a handler, for answers sent later.
  std::shared_ptr<session> shared();

 protected:
  session() = default;
  ~session() = default;
};

// A connection that has ended, as server::finished_sessions() reports it.
struct session_record {
  std::uint64_t id = 0;  // session::id()
  // Events queued to the session: the event stream (the PBX's events, push_event, security
  // events) and the login's FullyBooted. Events that answer an action (list items) are not
  // counted.
  std::uint64_t events = 0;
  bool logged_in = false;
  // Every byte queued to the session was written to its socket before it closed.
  bool flushed = false;
  // The client closed the connection (or it failed) before the server began to end it.
  bool by_client = false;
};

// Scripts the answer to an action; return true when handled, false to let the built-in
// behaviour run. Runs on the server thread: do not block in it.
using action_handler = std::function<bool(session&, const ami::message& action)>;

namespace detail {
struct server_state;
}

class server {
 public:
  explicit server(server_options opts = {});
  ~server();  // stops and joins
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds and listens (throws boost::system::system_error on failure); idempotent.
  void start();
  // Closes the listener and every session, then joins the thread. start() may follow.
  void stop();

  // The main listener.
  unsigned short port() const;
  std::string address() const;
  // "ami://admin:amp111@127.0.0.1:PORT" for a configured user (throws if unknown);
  // "amis://..." when the main listener speaks TLS.
  std::string url(const std::string& username = "admin") const;
  // The TLS listener (the main one unless server_tls::separate_listener): its port (0
  // without TLS) and "amis://admin:amp111@ADDRESS:PORT" (throws without TLS).
  unsigned short tls_port() const;
  std::string tls_url(const std::string& username = "admin") const;
  // The construction options (plus users from add_user: do not read while adding).
  const server_options& options() const noexcept;

  // Scripts actions by name (case-insensitive); "*" matches any action. A specific
  // handler is tried before "*". Registering again replaces; an empty handler removes.
  void on_action(std::string action_name, action_handler h);

  // Sends an event ("Event" first) to every logged-in session whose read privilege and
  // event mask allow its Privilege classes (an event without Privilege goes to every
  // session whose events are on).
  void push_event(const field_list& fields);
  // Sends bytes verbatim to every connected session.
  void push_raw(std::string bytes);

  // Every action received, from all sessions, in arrival order (owned copies).
  std::vector<ami::message> received() const;
  void clear_received();
  // Connected sessions now.
  std::size_t session_count() const;
  // Connections accepted since start, and successful logins since start.
  std::size_t connection_count() const;
  std::size_t login_count() const;
  // Keeps a session_record of each session that ends from now on (whoever closed it);
  // off by default, so that a long-running server does not grow with every connection.
  void record_sessions(bool on);
  // The records kept, in the order the sessions ended, until clear_finished_sessions().
  std::vector<session_record> finished_sessions() const;
  void clear_finished_sessions();
  // Waits until finished_sessions() holds at least n records.
  bool wait_for_finished_sessions(std::size_t n, std::chrono::milliseconds timeout) const;
  // Waits (no polling) until exactly n sessions are connected.
  bool wait_for_sessions(std::size_t n, std::chrono::milliseconds timeout) const;
  // Waits until at least n successful logins happened since start.
  bool wait_for_logins(std::size_t n, std::chrono::milliseconds timeout) const;
  // Waits until an action of that name (case-insensitive) has been received.
  bool wait_for_action(const std::string& name, std::chrono::milliseconds timeout) const;
  // Waits until at least n actions of that name have been received.
  bool wait_for_actions(const std::string& name, std::size_t n,
                        std::chrono::milliseconds timeout) const;
  // Server-side close of every connection: the clients see EOF.
  void close_sessions();
  // Shuts the sending side of every connection (TCP FIN) and keeps reading: the clients see
  // EOF while the server still accepts their bytes; each connection ends once its client
  // closes. TLS connections are closed outright.
  void half_close_sessions();

  // Fault knobs; they apply to new and existing sessions.
  // Close each session after writing n more bytes (counted from this call for existing
  // sessions, from accept for new ones); the first n bytes are written exactly. 0 = off.
  void close_after_bytes(std::size_t n);
  // Stops writing anything (answers and events queue up); stall(false) resumes.
  void stall(bool on);
  // Ends each session once n events (counted as session_record::events, since accept) were
  // queued to it: it takes no further event, writes everything queued, sends FIN and keeps
  // reading until the client closes (at most 10 s), so the client reads every byte before
  // EOF. Sessions already past n end at once the same way. 0 = off.
  void close_after_events(std::uint64_t n);
  // Delays the handling of each action by d (later actions wait in order).
  void delay_responses(std::chrono::milliseconds d);
  // Sessions accepted from now on receive these bytes (e.g. a capture file) instead of the
  // banner, then stay open without answering (their actions are still recorded).
  // An empty string turns replay off.
  void replay(std::string bytes);
  // replay() with the contents of a file (throws std::runtime_error if unreadable).
  void replay_file(const std::string& path);

  // The simulated PBX. Changes apply at once, to new and existing sessions.
  void add_user(user u);  // replaces a user of the same name
  void add_endpoint(endpoint e);
  void add_extension(extension x);
  void add_queue(queue q);
  void set_mailbox(mailbox m);
  std::vector<channel_info> channels() const;
  std::vector<queue> queues() const;
  // A channel variable, or a global one when `channel` is empty.
  std::optional<std::string> variable(const std::string& channel, const std::string& name) const;
  // A call from `from` (a device such as "PJSIP/100") into the dialplan, as if a phone
  // dialled `exten`; returns the new channel's name.
  std::string incoming_call(const std::string& from, const std::string& exten,
                            const std::string& context = "default",
                            const std::string& caller_id_num = "");
  // Hangs a channel up (false when there is no such channel).
  bool hangup(const std::string& channel, int cause = 16);
  // Call-center flows, with Asterisk's event sequences. Each returns false (or an empty
  // value) when the channel, call or thing it names is not there or not in a state for it.
  // Hold / Unhold of a channel (its bridge peer hears music on hold: MusicOnHoldStart/Stop).
  bool hold(const std::string& channel, const std::string& music_class = "default");
  bool unhold(const std::string& channel);
  // Rename (as a masquerade does): the channel keeps its uniqueid.
  bool rename(const std::string& channel, const std::string& new_name);
  // A blind transfer by `transferer`, bridged with one other channel: BlindTransfer, the
  // transferer hangs up and its peer runs `exten`@`context`.
  bool blind_transfer(const std::string& transferer, const std::string& exten,
                      const std::string& context = "default");
  // An attended transfer: `first_leg` is bridged with the transferee, `second_leg` (the
  // same phone's consultation call) with the target; the transferee moves into the second
  // call's bridge (DestType Bridge) and both transferer channels hang up.
  bool attended_transfer(const std::string& first_leg, const std::string& second_leg);
  // Parks `channel` in lot "default" (as a phone's park key does: its bridge peer, the
  // parker, hangs up); returns the space. `timeout` (simulated seconds, 0: the lot's)
  // ends in ParkedCallTimeOut and a hang-up.
  std::optional<int> park(const std::string& channel, int timeout = 0);
  // A phone `from` dials the parked space: UnParkedCall, then the two are bridged. Returns
  // the retriever's channel.
  std::string pickup_parked(int space, const std::string& from);
  std::vector<parked_info> parked() const;
  std::vector<conference_info> conferences() const;
  // app_agent_pool: `device` calls AgentLogin(agent) and stays logged in on that channel
  // (returned) until agent_logoff() or a hang-up.
  void add_agent(agent a);
  std::string agent_login(const std::string& agent, const std::string& device);
  bool agent_logoff(const std::string& agent);
  // Queue members, as QueueAdd / QueueRemove / QueuePause do it (the same events).
  bool queue_add(const std::string& queue, const queue_member& m);
  bool queue_remove(const std::string& queue, const std::string& interface);
  bool queue_pause(const std::string& queue, const std::string& interface, bool paused,
                   const std::string& reason = "");
  // A registration coming or going: DeviceStateChange, QueueMemberStatus, ExtensionStatus.
  bool set_endpoint_online(const std::string& device, bool online);
  // Generates call-center traffic at about this many events per second (0 or stop_load()
  // stops it): calls into queues answered by members or abandoned, member pauses, holds,
  // blind and attended transfers, parked calls picked up or timing out, conference rooms,
  // agents logging in and off.
  void start_load(double events_per_second);
  void stop_load();
  // Events the PBX has generated since construction (push_event ones not counted).
  std::uint64_t events_generated() const;
  // Called on the server thread for each connection, disconnection and action (for logs),
  // until the server is destroyed: what it uses must outlive the server.
  void set_log(std::function<void(const std::string& line)> log);

 private:
  std::shared_ptr<detail::server_state> state_;
};

}  // namespace ami::testing
