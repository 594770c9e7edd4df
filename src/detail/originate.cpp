#include "ami/originate.hpp"

#include <charconv>

namespace ami {

const char* to_string(originate_outcome o) noexcept {
  switch (o) {
    case originate_outcome::answered: return "answered";
    case originate_outcome::busy: return "busy";
    case originate_outcome::no_answer: return "no_answer";
    case originate_outcome::congestion: return "congestion";
    case originate_outcome::failure: return "failure";
  }
  return "unknown";
}

originate_outcome classify_originate(std::string_view response, int reason) noexcept {
  if (iequals(response, "Success")) return originate_outcome::answered;
  switch (reason) {
    case 5: return originate_outcome::busy;
    case 2:
    case 3: return originate_outcome::no_answer;
    case 8: return originate_outcome::congestion;
    default: return originate_outcome::failure;
  }
}

action originate_request::to_action() const {
  action a("Originate");
  auto put = [&a](std::string_view key, const std::string& value) {
    if (!value.empty()) a.add(key, value);
  };
  put("Channel", channel);
  put("Context", context);
  put("Exten", exten);
  if (!priority.empty()) {
    a.add("Priority", priority);
  } else if (!exten.empty()) {
    a.add("Priority", "1");
  }
  put("Application", application);
  put("Data", data);
  if (timeout.count() > 0) a.add("Timeout", std::to_string(timeout.count()));
  put("CallerID", caller_id);
  put("Account", account);
  put("Codecs", codecs);
  put("ChannelId", channel_id);
  put("OtherChannelId", other_channel_id);
  if (early_media) a.add("EarlyMedia", *early_media ? "true" : "false");
  for (const auto& [name, value] : variables) {
    std::string assignment = name;
    assignment.append("=").append(value);
    a.add("Variable", assignment);
  }
  for (const auto& [key, value] : extra) a.add(key, value);
  a.set("Async", "true");
  if (!action_id.empty()) a.set("ActionID", action_id);
  return a;
}

originate_result make_originate_result(response r) {
  originate_result out;
  if (const event* ev = r.complete()) {
    const auto reason = ev->get_or("Reason");
    int n = 0;
    const auto* end = reason.data() + reason.size();
    if (std::from_chars(reason.data(), end, n).ptr != end) n = 0;
    out.reason = n;
    out.outcome = classify_originate(ev->get_or("Response"), n);
    out.channel = std::string(ev->get_or("Channel"));
    out.uniqueid = std::string(ev->get_or("Uniqueid"));
  }
  out.response = std::move(r);
  return out;
}

}  // namespace ami
