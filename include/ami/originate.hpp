// Originate with Async: true, completed by the OriginateResponse event (client::async_originate).
#pragma once

#include "ami/action.hpp"
#include "ami/response.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ami {

// The outcome of an originated call, from OriginateResponse's Response and Reason fields.
enum class originate_outcome {
  answered,    // Response: Success (Reason 4)
  busy,        // Reason 5
  no_answer,   // Reason 3 (ringing when the Originate Timeout expired) or 2
  congestion,  // Reason 8
  failure,     // anything else: no such extension, hung up before answer (Reason 0 or 1)
};

const char* to_string(originate_outcome o) noexcept;

// Maps OriginateResponse's Response value and numeric Reason to an outcome.
originate_outcome classify_originate(std::string_view response, int reason) noexcept;

// A convenient Originate. Either (context, exten, priority) or (application, data) says
// what the answered channel is connected to.
struct originate_request {
  std::string channel;  // "PJSIP/100", "Local/100@default"
  std::string context;
  std::string exten;
  std::string priority;  // "1" when context/exten are set and this is empty
  std::string application;
  std::string data;
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};  // ring time (Timeout field)
  std::string caller_id;
  std::string account;
  std::string codecs;
  std::string channel_id;
  std::string other_channel_id;
  std::optional<bool> early_media;
  std::vector<std::pair<std::string, std::string>> variables;  // one Variable field each
  std::vector<std::pair<std::string, std::string>> extra;      // any other fields, in order
  std::string action_id;                                       // empty: the client assigns one

  // The Originate action with Async: true (empty members are left out).
  ami::action to_action() const;
};

struct originate_result {
  originate_outcome outcome = originate_outcome::failure;
  int reason = 0;        // OriginateResponse's Reason (0 when absent)
  std::string channel;   // Channel of the OriginateResponse
  std::string uniqueid;  // Uniqueid of the OriginateResponse
  // The Originate's own response ("Originate successfully queued", or the Error); its
  // complete() is the OriginateResponse event when one arrived.
  ami::response response;

  const ami::event* event() const noexcept { return response.complete(); }
};

// Builds the result from a collected response (its complete() is the OriginateResponse).
originate_result make_originate_result(response r);

}  // namespace ami
