// The classic actions, typed, give exactly the bytes Asterisk expects; the typed forms of
// what a real client sent (test/data/*.sent.raw) reproduce those bytes.
#include "../support/test_data.hpp"
#include "ami/actions/absolute_timeout.hpp"
#include "ami/actions/challenge.hpp"
#include "ami/actions/change_monitor.hpp"
#include "ami/actions/command.hpp"
#include "ami/actions/core_show_channels.hpp"
#include "ami/actions/extension_state.hpp"
#include "ami/actions/hangup.hpp"
#include "ami/actions/iax_peers.hpp"
#include "ami/actions/list_commands.hpp"
#include "ami/actions/login.hpp"
#include "ami/actions/logoff.hpp"
#include "ami/actions/mailbox_count.hpp"
#include "ami/actions/mailbox_status.hpp"
#include "ami/actions/monitor.hpp"
#include "ami/actions/originate.hpp"
#include "ami/actions/ping.hpp"
#include "ami/actions/play_dtmf.hpp"
#include "ami/actions/queue_status.hpp"
#include "ami/actions/queues.hpp"
#include "ami/actions/redirect.hpp"
#include "ami/actions/sip_notify.hpp"
#include "ami/actions/sip_peers.hpp"
#include "ami/actions/sip_showpeer.hpp"
#include "ami/actions/status.hpp"
#include "ami/actions/stop_monitor.hpp"
#include "ami/actions/update_config.hpp"
#include "ami/proto/serializer.hpp"

#include <doctest/doctest.h>

#include <map>
#include <string>

namespace {

// The bytes of a typed action, serialised with ActionID `id`; empty on any error.
template <class T>
std::string wire(const T& typed, std::string_view id = "42") {
  ami::action a;
  if (typed.to_action(a)) return {};
  std::string out;
  if (ami::proto::serialize(a, id, out)) return {};
  return out;
}

// The messages of a client capture, as their exact bytes.
std::vector<std::string> sent_messages(const std::string& name) {
  const auto bytes = ami::test::read_data(name);
  std::vector<std::string> out;
  std::size_t start = 0;
  for (auto end = bytes.find("\r\n\r\n"); end != std::string::npos;
       end = bytes.find("\r\n\r\n", start)) {
    out.push_back(bytes.substr(start, end + 4 - start));
    start = end + 4;
  }
  return out;
}

}  // namespace

TEST_CASE("classic actions: exact wire bytes") {
  namespace act = ami::actions;
  CHECK(wire(act::ping{}) == "Action: Ping\r\nActionID: 42\r\n\r\n");
  CHECK(wire(act::logoff{}) == "Action: Logoff\r\nActionID: 42\r\n\r\n");
  CHECK(wire(act::hangup{}.with_channel("SIP/100-0001").with_cause("16")) ==
        "Action: Hangup\r\nChannel: SIP/100-0001\r\nCause: 16\r\nActionID: 42\r\n\r\n");
  CHECK(wire(act::status{}) == "Action: Status\r\nActionID: 42\r\n\r\n");
  CHECK(wire(act::status{}.with_channel("SIP/100-0001").with_variables("A,B")) ==
        "Action: Status\r\nChannel: SIP/100-0001\r\nVariables: A,B\r\nActionID: 42\r\n\r\n");
  CHECK(wire(act::redirect{}
                 .with_channel("SIP/100-0001")
                 .with_exten("200")
                 .with_context("default")
                 .with_priority("1")
                 .with_extra_leg("SIP/101-0002", "300", "park", "2")) ==
        "Action: Redirect\r\nChannel: SIP/100-0001\r\nExtraChannel: SIP/101-0002\r\n"
        "Exten: 200\r\nExtraExten: 300\r\nContext: default\r\nExtraContext: park\r\n"
        "Priority: 1\r\nExtraPriority: 2\r\nActionID: 42\r\n\r\n");
  CHECK(wire(act::originate::to_extension("PJSIP/100", "default", "200")
                 .set_variable("A", "1")
                 .set_variable("B", "x=y")
                 .with_caller_id("\"Desk\" <100>")) ==
        "Action: Originate\r\nChannel: PJSIP/100\r\nExten: 200\r\nContext: default\r\n"
        "Priority: 1\r\nCallerID: \"Desk\" <100>\r\nVariable: A=1\r\nVariable: B=x=y\r\n"
        "Async: true\r\nActionID: 42\r\n\r\n");
  CHECK(wire(act::mailbox_status{}.with_mailbox("1234@default")) ==
        "Action: MailboxStatus\r\nMailbox: 1234@default\r\nActionID: 42\r\n\r\n");
  CHECK(wire(act::mailbox_count{}.with_mailbox("1234@default")) ==
        "Action: MailboxCount\r\nMailbox: 1234@default\r\nActionID: 42\r\n\r\n");
  CHECK(wire(act::command{}.with_command_value("core show version")) ==
        "Action: Command\r\nCommand: core show version\r\nActionID: 42\r\n\r\n");
  CHECK(wire(act::extension_state{}.with_exten("100").with_context("default")) ==
        "Action: ExtensionState\r\nExten: 100\r\nContext: default\r\nActionID: 42\r\n\r\n");
  CHECK(wire(act::absolute_timeout{}.with_channel("SIP/100-0001").with_timeout("30")) ==
        "Action: AbsoluteTimeout\r\nChannel: SIP/100-0001\r\nTimeout: 30\r\nActionID: 42\r\n\r\n");
  CHECK(wire(act::monitor{}.with_channel("SIP/100-0001").with_file("call1").with_mix("true")) ==
        "Action: Monitor\r\nChannel: SIP/100-0001\r\nFile: call1\r\nMix: true\r\n"
        "ActionID: 42\r\n\r\n");
  CHECK(wire(act::stop_monitor{}.with_channel("SIP/100-0001")) ==
        "Action: StopMonitor\r\nChannel: SIP/100-0001\r\nActionID: 42\r\n\r\n");
  CHECK(wire(act::change_monitor{}.with_channel("SIP/100-0001").with_file("call2")) ==
        "Action: ChangeMonitor\r\nChannel: SIP/100-0001\r\nFile: call2\r\nActionID: 42\r\n\r\n");
  CHECK(wire(act::iax_peers{}) == "Action: IAXpeers\r\nActionID: 42\r\n\r\n");
  CHECK(wire(act::sip_peers{}) == "Action: SIPpeers\r\nActionID: 42\r\n\r\n");
  CHECK(wire(act::sip_showpeer{}.with_peer("100")) ==
        "Action: SIPshowpeer\r\nPeer: 100\r\nActionID: 42\r\n\r\n");
  CHECK(wire(act::queues{}) == "Action: Queues\r\nActionID: 42\r\n\r\n");
  CHECK(wire(act::queue_status{}.with_queue("support")) ==
        "Action: QueueStatus\r\nQueue: support\r\nActionID: 42\r\n\r\n");
  CHECK(wire(act::play_dtmf{}.with_channel("SIP/100-0001").with_digit("5").with_duration("250")) ==
        "Action: PlayDTMF\r\nChannel: SIP/100-0001\r\nDigit: 5\r\nDuration: 250\r\n"
        "ActionID: 42\r\n\r\n");
}

TEST_CASE("classic actions: list and raw-text metadata") {
  namespace act = ami::actions;
  CHECK(act::status::is_list);
  CHECK(act::status::complete_event == "StatusComplete");
  CHECK(act::queue_status::item_events.size() == 3);
  CHECK(act::queue_status::item_events[0] == "QueueParams");
  CHECK(act::sip_peers::complete_event == "PeerlistComplete");
  CHECK(act::iax_peers::item_events.at(0) == "PeerEntry");
  CHECK(act::sip_peers::removed_in == "21");
  CHECK(act::monitor::removed_in == "21");
  CHECK_FALSE(act::ping::is_list);
  CHECK(act::ping::complete_event.empty());
  CHECK(act::queues::raw_text_response);
  CHECK(act::queues::removed_in == "15");
  CHECK_FALSE(act::command::raw_text_response);
  CHECK(act::originate::privilege == "originate");
  CHECK(act::absolute_timeout::privilege == "system,call");
  CHECK(act::hangup::is_list);  // with a /regex/ Channel only; see its comment
}

TEST_CASE("typed actions reproduce the bytes a client sent to Asterisk master (session1)") {
  namespace act = ami::actions;
  const auto sent = sent_messages("session1.sent.raw");
  REQUIRE(sent.size() == 11);
  CHECK(wire(act::login{}.with_username("admin").with_secret("amp111"), "1") == sent[0]);
  CHECK(wire(act::ping{}, "2") == sent[1]);
  CHECK(wire(act::core_show_channels{}, "3") == sent[2]);
  CHECK(wire(act::originate::to_application("Local/100@default", "Wait", "5"), "o1") == sent[3]);
  CHECK(wire(act::queue_status{}, "4") == sent[4]);
  CHECK(wire(act::status{}, "5") == sent[5]);
  CHECK(wire(act::command{}.with_command_value("core show version"), "6") == sent[6]);
  CHECK(wire(act::mailbox_count{}.with_mailbox("1234@default"), "7") == sent[7]);
  CHECK(wire(act::list_commands{}, "8") == sent[8]);
  CHECK(wire(act::challenge{}.with_auth_type("MD5"), "9") == sent[9]);
  CHECK(wire(act::logoff{}, "10") == sent[10]);
}

TEST_CASE("a caller-chosen ActionID goes through extra_fields") {
  const auto a = ami::actions::ping{}.with_extra_field("ActionID", "mine");
  ami::action out;
  REQUIRE(a.to_action(out) == std::nullopt);
  CHECK(out.action_id() == "mine");
  std::string bytes;
  REQUIRE(ami::proto::serialize(out, "ignored", bytes) == std::nullopt);
  CHECK(bytes == "Action: Ping\r\nActionID: mine\r\n\r\n");
}

TEST_CASE("originate helpers: variables, async factories") {
  auto o = ami::actions::originate{}.with_channel("Local/100@default");
  o.set_variable("A", "1").set_variable("B", "2").set_variable("A", "3");
  CHECK(o.variable == std::vector<std::string>{"A=3", "B=2"});
  o.with_variables({{"C", "4"}, {"B", "5"}});
  CHECK(o.variable == std::vector<std::string>{"A=3", "B=5", "C=4"});
  o.variable.push_back("FLAG");
  const auto m = o.variable_map();
  CHECK(m == std::map<std::string, std::string>{{"A", "3"}, {"B", "5"}, {"C", "4"}, {"FLAG", ""}});
  CHECK_FALSE(o.async.has_value());

  const auto e = ami::actions::originate::to_extension("PJSIP/100", "default", "200", "2");
  CHECK(e.async == "true");
  CHECK(e.priority == "2");
  CHECK_FALSE(e.application.has_value());
  const auto a = ami::actions::originate::to_application("PJSIP/100", "Playback");
  CHECK(a.application == "Playback");
  CHECK_FALSE(a.data.has_value());
  CHECK(a.async == "true");
}

TEST_CASE("command output lines in both server formats") {
  ami::message legacy;
  legacy.set_kind(ami::message_kind::response);
  legacy.add_field("Response", "Follows");
  legacy.add_line("line one");
  legacy.add_line("line two");
  CHECK(ami::actions::command::output_lines(legacy) ==
        std::vector<std::string_view>{"line one", "line two"});
  ami::message modern;
  modern.set_kind(ami::message_kind::response);
  modern.add_field("Response", "Success");
  modern.add_field("Output", "line one");
  modern.add_field("Output", "line two");
  CHECK(ami::actions::command::output_lines(modern) ==
        std::vector<std::string_view>{"line one", "line two"});
}

TEST_CASE("to_action refuses values the serializer would refuse, and fills nothing") {
  ami::action out{"Untouched"};
  const auto check_refused = [&out](const auto& typed, ami::error want) {
    CHECK(typed.to_action(out) == std::optional<ami::error>{want});
    CHECK(out.name() == "Untouched");
    CHECK(out.fields().empty());
  };
  namespace act = ami::actions;
  check_refused(act::hangup{}, ami::error::missing_field);
  check_refused(act::hangup{}.with_channel("SIP/1\r\nAction: Logoff"), ami::error::invalid_field);
  check_refused(act::hangup{}.with_channel("ok").with_cause("1\n"), ami::error::invalid_field);
  check_refused(act::command{}.with_command_value(std::string(1100, 'x')),
                ami::error::field_too_long);
  check_refused(act::ping{}.with_extra_field("Action", "Logoff"), ami::error::invalid_field);
  check_refused(act::ping{}.with_extra_field("action", "Logoff"), ami::error::invalid_field);
  check_refused(act::ping{}.with_extra_field("Bad:Key", "v"), ami::error::invalid_field);
  check_refused(act::ping{}.with_extra_field("", "v"), ami::error::invalid_field);
  // The first problem in field order wins: a missing required parameter before a bad one.
  check_refused(act::extension_state{}.with_context("a\rb"), ami::error::missing_field);
  check_refused(act::sip_notify{}.with_channel("100"), ami::error::missing_field);
}

TEST_CASE("optional parameters are sent only when set, even when set to empty") {
  ami::action out;
  REQUIRE(ami::actions::hangup{}.with_channel("c").to_action(out) == std::nullopt);
  CHECK(out.fields().size() == 1);
  auto h = ami::actions::hangup{}.with_channel("c");
  h.cause = "";
  REQUIRE(h.to_action(out) == std::nullopt);
  REQUIRE(out.fields().size() == 2);
  CHECK(out.fields()[1] == std::pair<std::string, std::string>{"Cause", ""});
}

TEST_CASE("numbered parameters go through extra_fields, after the typed ones") {
  const auto u = ami::actions::update_config{}
                     .with_src_filename("a.conf")
                     .with_dst_filename("a.conf")
                     .with_extra_field("Action-000000", "NewCat")
                     .with_extra_field("Cat-000000", "general");
  ami::action out;
  REQUIRE(u.to_action(out) == std::nullopt);
  REQUIRE(out.fields().size() == 4);
  CHECK(out.fields()[2].first == "Action-000000");
  CHECK(out.fields()[3].second == "general");
}
