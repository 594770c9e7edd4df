// The bridge's message formats, without I/O: AMI events and responses as JSON objects of
// their headers, and NATS action requests (JSON objects) as AMI actions.
#pragma once

#include "ami/action.hpp"
#include "ami/message.hpp"
#include "ami/response.hpp"

#include <boost/json/object.hpp>
#include <boost/system/error_code.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace ami::bridge {

// The headers of an AMI message as a JSON object, in wire order: each key once, with its
// value as sent; a key sent several times (Variable, ChanVariable) maps to an array of its
// values in wire order. Bytes that are not well-formed UTF-8 become the code point of the
// same value (U+0080 to U+00FF), so the text is always valid JSON and nothing is lost.
boost::json::object headers_object(const ami::message& m);
// The same object serialised.
std::string event_json(const ami::message& m);

// A failed request, as the reply's "error" value says it.
enum class request_error {
  bad_request,    // not a JSON object, no Action, a nested value, CR or LF in a field
  not_connected,  // the PBX has no session (or lost it while the action was pending)
  action_failed,  // the PBX answered Response: Error (or the list came back incomplete)
  timeout,        // no complete answer within the action timeout
};
const char* to_string(request_error e) noexcept;

struct parsed_request {
  ami::action action;
  std::optional<std::string> problem;  // set: bad_request, with what is wrong
};

// Reads `{"Action": "Originate", "Channel": "PJSIP/100", "Variable": ["a=1", "b=2"]}`:
// every key becomes a field in the object's order, an array a repeated field, numbers and
// booleans their JSON text. Rejected (problem set, nothing to send): malformed JSON,
// anything but an object, no string Action, null or nested values, an empty key, and CR or
// LF anywhere (they would inject AMI fields).
parsed_request parse_request(std::string_view body);

// The reply to an action that completed (ok or not): {"response": {...}, "events": [...]}
// with "events" for EventList actions (the list items in order, the completion event last)
// and "output" for Command's lines.
std::string response_json(const ami::response& r);

// The reply to a failed request: {"error": "timeout", "message": "..."} plus "response"
// when the PBX answered (action_failed).
std::string error_json(request_error e, std::string_view message,
                       const ami::response* answered = nullptr);

// How a completed action's error maps onto the reply's error.
request_error classify(const boost::system::error_code& ec) noexcept;

}  // namespace ami::bridge
