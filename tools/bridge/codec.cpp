#include "codec.hpp"

#include "../json.hpp"

#include "ami/error.hpp"

#include <boost/asio/error.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <cctype>

namespace ami::bridge {

namespace json = boost::json;

json::object headers_object(const ami::message& m) { return ami::tools::headers_object(m); }

std::string event_json(const ami::message& m) {
  // One arena for the whole object: it is built, written out and dropped.
  unsigned char arena[4096];
  json::monotonic_resource mr(arena, sizeof arena);
  return json::serialize(ami::tools::headers_object(m, &mr));
}

const char* to_string(request_error e) noexcept {
  switch (e) {
    case request_error::bad_request: return "bad_request";
    case request_error::not_connected: return "not_connected";
    case request_error::action_failed: return "action_failed";
    case request_error::timeout: return "timeout";
  }
  return "action_failed";
}

namespace {

bool has_crlf(std::string_view s) noexcept {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

// A scalar as the text of a field; empty optional for what a field cannot hold.
std::optional<std::string> scalar_text(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_bool()) return std::string(v.get_bool() ? "true" : "false");
  if (v.is_number()) return json::serialize(v);
  return std::nullopt;
}

bool is_action_key(std::string_view key) noexcept {
  constexpr std::string_view name = "action";
  return key.size() == name.size() &&
         std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

}  // namespace

parsed_request parse_request(std::string_view body) {
  parsed_request out;
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec) {
    out.problem = "the request is not valid JSON: " + ec.message();
    return out;
  }
  if (!doc.is_object()) {
    out.problem = "the request must be a JSON object of the action's fields";
    return out;
  }
  const auto& o = doc.get_object();
  bool named = false;
  for (const auto& kv : o) {
    const std::string_view key = kv.key();
    if (key.empty() || has_crlf(key)) {
      out.problem = "a field name is empty or holds CR or LF";
      return out;
    }
    const auto add = [&](const json::value& v) -> bool {
      auto text = scalar_text(v);
      if (!text) {
        out.problem = "field " + std::string(key) + ": only strings, numbers and booleans";
        return false;
      }
      if (has_crlf(*text)) {
        out.problem = "field " + std::string(key) + " holds CR or LF";
        return false;
      }
      out.action.add(key, *text);
      return true;
    };
    if (is_action_key(key)) {
      if (!kv.value().is_string() || kv.value().get_string().empty() || named) {
        out.problem = "Action must be one non-empty string";
        return out;
      }
      if (has_crlf(kv.value().get_string())) {
        out.problem = "field Action holds CR or LF";
        return out;
      }
      out.action.set_name(std::string(kv.value().get_string()));
      named = true;
      continue;
    }
    if (kv.value().is_array()) {
      for (const auto& item : kv.value().get_array()) {
        if (!add(item)) return out;
      }
    } else if (!add(kv.value())) {
      return out;
    }
  }
  if (!named) out.problem = "the request has no Action";
  return out;
}

namespace {

json::array events_array(const ami::response& r) {
  json::array a;
  for (const auto& e : r.events()) a.emplace_back(headers_object(e));
  if (const auto* end = r.complete()) a.emplace_back(headers_object(*end));
  return a;
}

}  // namespace

std::string response_json(const ami::response& r) {
  json::object o;
  o["response"] = headers_object(r.msg());
  if (!r.events().empty() || r.complete() != nullptr) o["events"] = events_array(r);
  const auto lines = r.output();
  if (!lines.empty()) {
    json::array out;
    for (const auto& l : lines) out.emplace_back(ami::tools::json_string(l, out.storage()));
    o["output"] = std::move(out);
  }
  return json::serialize(o);
}

std::string error_json(request_error e, std::string_view message, const ami::response* answered) {
  json::object o;
  o["error"] = to_string(e);
  o["message"] = ami::tools::json_string(message, o.storage());
  if (answered != nullptr && !answered->empty()) {
    o["response"] = headers_object(answered->msg());
    if (!answered->events().empty() || answered->complete() != nullptr) {
      o["events"] = events_array(*answered);
    }
  }
  return json::serialize(o);
}

request_error classify(const boost::system::error_code& ec) noexcept {
  if (ec == ami::error::action_timeout) return request_error::timeout;
  if (ec == ami::error::not_connected || ec == ami::error::connection_lost ||
      ec == ami::error::pbx_removed || ec == ami::error::unknown_pbx ||
      ec == boost::asio::error::operation_aborted) {
    return request_error::not_connected;
  }
  if (ec == ami::error::invalid_field || ec == ami::error::field_too_long ||
      ec == ami::error::missing_field) {
    return request_error::bad_request;
  }
  return request_error::action_failed;
}

}  // namespace ami::bridge
