// Everything a client needs to connect and log in, and the limits it works within.
#pragma once

#include "ami/proto/parser.hpp"

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace ami {

enum class auth_method {
  plain,  // Login with Secret: the secret crosses the wire (use TLS or a trusted network)
  md5,    // Challenge, then Login with Key: md5(challenge + secret)
};

// What client::async_run does when the server refuses the login.
enum class login_failure_policy {
  stop,   // the run completes with error::login_failed
  retry,  // back off and try again, like after any other failed attempt
};

struct config {
  std::string host;
  std::uint16_t port = 5038;
  std::string username;
  std::string secret;  // never logged, never part of an error message or redacted()
  auth_method auth = auth_method::plain;
  // The Login's Events field: "on", "off", or a comma list of classes ("call,system").
  std::string events = "on";
  // TLS ("amis://"; Asterisk's tlsbindport is 5039). The server's certificate is verified
  // against the CAs below and must name the host (DNS name, or IP address for an IP
  // literal; SNI is sent for names only). A verification failure completes async_connect
  // with error::tls_verify_failed, and last_error_message() says why (OpenSSL's reason).
  bool tls = false;
  // PEM file of the CA certificates trusted to vouch for the server. Empty: the system's
  // default trust store.
  std::string tls_ca_file;
  // A client certificate (PEM: the certificate, then any intermediates) for servers that
  // require one, and its private key (PEM, unencrypted). An empty tls_key_file means the key
  // is in tls_cert_file too. The key's contents are never logged.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Skips certificate and name verification: anyone on the path can then impersonate the
  // server. Each connect with it set reports a warning through on_warning.
  bool tls_insecure = false;
  // The name the certificate must carry, and the SNI name, when it differs from `host`
  // (e.g. connecting to an IP address with a certificate for a name). Empty: `host`.
  std::string tls_server_name;

  // Receives the client's warnings (today: TLS verification turned off), one line each, on
  // the client's executor. Never given a secret. Empty: each goes to stderr as
  // "ami: warning: <text>". A function that does nothing silences them.
  std::function<void(std::string_view)> on_warning;

  // 0 disables a timeout.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};  // resolve + TCP
  std::chrono::milliseconds login_timeout{std::chrono::seconds(10)};    // banner to Success
  std::chrono::milliseconds action_timeout{std::chrono::seconds(30)};   // default per action

  // Staying connected (client::async_run, docs/resilience.md). Before attempt k >= 1 after
  // a failure or a loss the run waits a delay drawn uniformly from
  // [0, min(reconnect_max, reconnect_initial * reconnect_multiplier^(k-1))]; k starts again
  // from 1 after each successful login. reconnect_initial 0 disables reconnecting: the
  // first failure or loss ends the run. A reconnect_max below reconnect_initial counts as
  // reconnect_initial, a multiplier below 1 as 1.
  std::chrono::milliseconds reconnect_initial{250};
  std::chrono::milliseconds reconnect_max{std::chrono::seconds(30)};
  double reconnect_multiplier = 2.0;
  login_failure_policy login_failure = login_failure_policy::stop;
  // While logged in (with async_run or async_connect): after this long without a byte from
  // the server the client sends a Ping; after twice this long the connection is dead, it is
  // closed and reported disconnected with error::keepalive_timeout. 0 disables.
  std::chrono::milliseconds keepalive_interval{std::chrono::seconds(30)};

  // Actions written and not yet answered at once; 0 is unlimited. 1 suits ancient servers:
  // further actions wait in the client's queue until the previous one is answered.
  std::size_t max_in_flight = 0;
  // Actions waiting in the client's queue (not yet written) beyond which async_send fails
  // with error::too_many_pending.
  std::size_t max_queued = 10000;
  proto::parser_limits parser_limits;

  // Prefix of the ActionIDs the client assigns (the counter follows it). Unset: a prefix
  // unique within the process, "ami<N>-". An explicit prefix must not collide with the
  // caller-supplied ActionIDs used on the same client.
  std::optional<std::string> action_id_prefix;

  // Slow slots (docs/slow-consumers.md): the client reads nothing while slots run, and
  // Asterisk drops a client that leaves its socket unread for its writetimeout (100 ms by
  // default). When the slots of one event (on_event, on_list_item, typed; all of them
  // together) take at least this long, stats().slow_slots counts it and on_slow_slot is
  // called. 0 turns the measurement off. Thresholds of 16 ms and more are measured with a
  // coarse clock (a few ns per event, accurate to a few ms on Linux), smaller ones precisely.
  std::chrono::milliseconds slow_slot_threshold{50};
  // Receives the event's name and how long its slots took, on the client's executor right
  // after them. Unset: a warning through on_warning (or stderr) for each slow event. Move
  // slow work to an ami::event_dispatcher (ami/event_dispatcher.hpp).
  std::function<void(std::string_view event_name, std::chrono::microseconds took)> on_slow_slot;

  // Builds a config from "ami://user:secret@host:5038?events=off&auth=md5&timeout=5".
  //   scheme      ami (port 5038 by default) or amis (TLS, port 5039 by default)
  //   query keys  events=<on|off|classes>  auth=<plain|md5>
  //               timeout=<seconds> (connect, login and action timeouts at once)
  //               connect_timeout= login_timeout= action_timeout= <seconds, may be fractional>
  //               max_in_flight=<n>  max_queued=<n>
  //               reconnect=<initial seconds, 0: off>  reconnect_max=<seconds>
  //               reconnect_multiplier=<factor >= 1>  login_failure=<stop|retry>
  //               keepalive=<seconds, 0: off>
  //   amis only   ca=<CA file>  cert=<client certificate file>  key=<its key file>
  //               insecure=<1|0|true|false|yes|no>  server_name=<name to verify>
  //   e.g. "amis://admin:secret@pbx.example?ca=/etc/ami/ca.pem&cert=/etc/ami/me.pem"
  // User, secret and values are percent-decoded. Anything else (unknown key, bad number,
  // an empty path, TLS keys with ami://, CR/LF/NUL anywhere) is error::invalid_url.
  static config from_url(std::string_view url, boost::system::error_code& ec);
  // Throws boost::system::system_error (error::invalid_url); the message never holds the
  // secret.
  static config from_url(std::string_view url);

  // The URL form of this config with the secret shown as "***" (for logs and messages).
  // File paths are shown (not the files' contents); on_warning is not part of it.
  std::string redacted() const;
};

}  // namespace ami
