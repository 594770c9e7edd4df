// Error codes of the ami library, in the "ami" category, usable both as
// boost::system::error_code and as std::error_code.
#pragma once

#include <boost/system/error_code.hpp>

#include <system_error>
#include <type_traits>

namespace ami {

enum class error {
  // Protocol layer (parser and serializer).
  line_too_long = 1,   // an inbound line exceeds parser_limits::max_line
  too_many_fields,     // an inbound message exceeds parser_limits::max_fields
  message_too_large,   // an inbound message exceeds parser_limits::max_message
  incomplete_message,  // the stream ended inside a message
  invalid_field,       // CR, LF or a bad key in an outbound field
  field_too_long,      // an outbound line would exceed Asterisk's 1024-byte limit
  missing_field,       // a required field (ActionID, Action, a typed parameter) is missing

  // Session and client layer.
  login_failed,        // the server refused the credentials
  action_failed,       // the server answered Response: Error
  action_timeout,      // no complete answer within the action's timeout
  connection_lost,     // the connection closed while the operation was pending
  not_connected,       // no session to send on, and the action asked not to wait
  too_many_pending,    // the outgoing queue is full
  keepalive_timeout,   // no bytes read within two keepalive intervals
  connect_timeout,     // TCP (or TLS) connect took too long
  login_timeout,       // the login exchange took too long
  invalid_url,         // a connection URL could not be parsed
  unexpected_message,  // the server sent something the protocol does not allow here
  list_incomplete,     // an EventList ended short (Cancelled or ListItems mismatch)
  originate_failed,    // OriginateResponse reported a failure outcome
  tls_verify_failed,   // the server's certificate did not verify
  slow_consumer,       // an event_dispatcher's queue overflowed (overflow_policy::close_connection)

  // AGI (ami::agi).
  agi_invalid_argument,       // an AGI command or argument holds CR, LF or NUL (nothing was sent)
  agi_malformed_reply,        // an AGI reply line could not be parsed
  agi_malformed_environment,  // the agi_* environment block could not be parsed
  agi_invalid_command,        // 510: Asterisk does not know the command
  agi_usage,                  // 520: wrong arguments; the reply carries the usage text
  dead_channel,               // 511 or a hangup: the channel is gone
  agi_session_ended,          // the AGI session ended (AsyncAGIEnd, FastAGI socket closed)
  agi_timeout,                // the AGI peer sent nothing within the configured time

  // Fleet (ami::fleet).
  unknown_pbx,       // no PBX of that name in the fleet
  duplicate_pbx,     // the fleet already holds a PBX of that name
  invalid_pbx_name,  // a PBX name must not be empty
  pbx_removed,       // the PBX was removed from the fleet while the operation was pending
};

// The "ami" category. A single instance, so comparisons are by identity.
const boost::system::error_category& error_category() noexcept;

// The short identifier of a code ("line_too_long"), for logs and tools.
const char* error_name(error e) noexcept;

inline boost::system::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace ami

namespace boost::system {
template <>
struct is_error_code_enum<ami::error> : std::true_type {};
}  // namespace boost::system

namespace std {
template <>
struct is_error_code_enum<ami::error> : true_type {};
}  // namespace std

namespace ami {
// std::error_code support: boost's category converts to a std::error_category.
inline std::error_code make_std_error_code(error e) noexcept {
  return std::error_code(make_error_code(e));
}
}  // namespace ami
