#include "ami/error.hpp"

#include <boost/system/error_category.hpp>

#include <cstring>

namespace ami {
namespace {

struct error_info {
  const char* name;
  const char* text;
};

error_info info(int ev) noexcept {
  switch (static_cast<error>(ev)) {
    case error::line_too_long: return {"line_too_long", "line exceeds the parser's limit"};
    case error::too_many_fields: return {"too_many_fields", "message has too many fields"};
    case error::message_too_large: return {"message_too_large", "message exceeds the size limit"};
    case error::incomplete_message: return {"incomplete_message", "stream ended inside a message"};
    case error::invalid_field:
      return {"invalid_field", "field key or value contains CR, LF or an invalid key"};
    case error::field_too_long:
      return {"field_too_long", "field line exceeds Asterisk's 1024-byte input limit"};
    case error::missing_field: return {"missing_field", "a required field is missing"};
    case error::login_failed: return {"login_failed", "login failed"};
    case error::action_failed: return {"action_failed", "the server answered with an error"};
    case error::action_timeout: return {"action_timeout", "the action timed out"};
    case error::connection_lost: return {"connection_lost", "the connection was lost"};
    case error::not_connected: return {"not_connected", "not connected"};
    case error::too_many_pending: return {"too_many_pending", "too many actions queued"};
    case error::keepalive_timeout:
      return {"keepalive_timeout", "no data from the server within the keepalive deadline"};
    case error::connect_timeout: return {"connect_timeout", "connect timed out"};
    case error::login_timeout: return {"login_timeout", "login timed out"};
    case error::invalid_url: return {"invalid_url", "invalid connection URL"};
    case error::unexpected_message:
      return {"unexpected_message", "the server sent an unexpected message"};
    case error::list_incomplete: return {"list_incomplete", "the event list ended incomplete"};
    case error::originate_failed: return {"originate_failed", "the originated call failed"};
    case error::tls_verify_failed:
      return {"tls_verify_failed", "the server's TLS certificate failed verification"};
    case error::slow_consumer:
      return {"slow_consumer", "an event handler fell behind and its bounded queue overflowed"};
    case error::agi_invalid_argument:
      return {"agi_invalid_argument", "an AGI command or argument contains CR, LF or NUL"};
    case error::agi_malformed_reply:
      return {"agi_malformed_reply", "the AGI reply could not be parsed"};
    case error::agi_malformed_environment:
      return {"agi_malformed_environment", "the AGI environment could not be parsed"};
    case error::agi_invalid_command:
      return {"agi_invalid_command", "invalid or unknown AGI command (510)"};
    case error::agi_usage: return {"agi_usage", "invalid AGI command syntax (520)"};
    case error::dead_channel: return {"dead_channel", "the channel is dead (hung up)"};
    case error::agi_session_ended: return {"agi_session_ended", "the AGI session ended"};
    case error::agi_timeout: return {"agi_timeout", "the AGI peer did not answer in time"};
    case error::unknown_pbx: return {"unknown_pbx", "no PBX of that name in the fleet"};
    case error::duplicate_pbx:
      return {"duplicate_pbx", "the fleet already holds a PBX of that name"};
    case error::invalid_pbx_name: return {"invalid_pbx_name", "the PBX name is empty"};
    case error::pbx_removed:
      return {"pbx_removed", "the PBX was removed from the fleet while the operation was pending"};
  }
  return {"unknown", "unknown ami error"};
}

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"  // boost's category has a protected one
#endif
class category final : public boost::system::error_category {
 public:
  constexpr category() noexcept : boost::system::error_category(0x616d692d65727231ULL) {}
  const char* name() const noexcept override { return "ami"; }
  std::string message(int ev) const override { return info(ev).text; }
  const char* message(int ev, char* buffer, std::size_t len) const noexcept override {
    if (len == 0) return info(ev).text;
    std::strncpy(buffer, info(ev).text, len - 1);
    buffer[len - 1] = '\0';
    return buffer;
  }
};
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

const category category_instance;

}  // namespace

const boost::system::error_category& error_category() noexcept { return category_instance; }

const char* error_name(error e) noexcept { return info(static_cast<int>(e)).name; }

}  // namespace ami
