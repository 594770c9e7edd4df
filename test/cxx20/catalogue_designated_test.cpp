// The typed actions as C++20 code writes them: designated initialisers, in member order.
// (The library and the other tests are C++17; this target is built as C++20.)
#include "ami/actions/command.hpp"
#include "ami/actions/originate.hpp"
#include "ami/actions/ping.hpp"
#include "ami/actions/queue_add.hpp"
#include "ami/actions/redirect.hpp"
#include "ami/actions/sip_notify.hpp"
#include "ami/events/hangup.hpp"
#include "ami/proto/serializer.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

static_assert(__cplusplus >= 202002L, "this file checks C++20 designated initialisers");

namespace {

template <class T>
std::string wire(const T& typed) {
  ami::action a;
  if (typed.to_action(a)) return {};
  std::string out;
  if (ami::proto::serialize(a, "7", out)) return {};
  return out;
}

}  // namespace

TEST_CASE("designated initialisers build typed actions") {
  using namespace ami::actions;
  CHECK(wire(queue_add{.queue = "support", .interface = "PJSIP/100", .penalty = "1"}) ==
        "Action: QueueAdd\r\nQueue: support\r\nInterface: PJSIP/100\r\nPenalty: 1\r\n"
        "ActionID: 7\r\n\r\n");
  CHECK(wire(originate{.channel = "PJSIP/100",
                       .exten = "200",
                       .context = "default",
                       .priority = "1",
                       .variable = {"A=1", "B=2"},
                       .async = "true"}) ==
        "Action: Originate\r\nChannel: PJSIP/100\r\nExten: 200\r\nContext: default\r\n"
        "Priority: 1\r\nVariable: A=1\r\nVariable: B=2\r\nAsync: true\r\nActionID: 7\r\n\r\n");
  CHECK(wire(redirect{.channel = "SIP/1",
                      .extra_channel = "SIP/2",
                      .exten = "300",
                      .extra_exten = "301",
                      .context = "park",
                      .extra_context = "park",
                      .priority = "1",
                      .extra_priority = "1"}) ==
        "Action: Redirect\r\nChannel: SIP/1\r\nExtraChannel: SIP/2\r\nExten: 300\r\n"
        "ExtraExten: 301\r\nContext: park\r\nExtraContext: park\r\nPriority: 1\r\n"
        "ExtraPriority: 1\r\nActionID: 7\r\n\r\n");
  CHECK(wire(command{.command_value = "core show channels"}) ==
        "Action: Command\r\nCommand: core show channels\r\nActionID: 7\r\n\r\n");
  CHECK(wire(ping{.extra_fields = {{"ActionID", "mine"}}}) ==
        "Action: Ping\r\nActionID: mine\r\n\r\n");
  CHECK(wire(sip_notify{.channel = "100", .variable = {"Event=check-sync"}}) ==
        "Action: SIPnotify\r\nChannel: 100\r\nVariable: Event=check-sync\r\nActionID: 7\r\n\r\n");
}

TEST_CASE("designated initialisers: an empty required member is reported") {
  // Leaving it out entirely is flagged at compile time (-Wmissing-field-initializers, g++).
  ami::action out;
  CHECK(ami::actions::queue_add{.queue = "support", .interface = ""}.to_action(out) ==
        std::optional<ami::error>{ami::error::missing_field});
  CHECK(out.name().empty());
}

TEST_CASE("typed events read the same in C++20") {
  ami::message m;
  m.add_field("Event", "Hangup");
  m.add_field("Cause", "17");
  const ami::event e{std::move(m)};
  const auto h = ami::events::hangup::from(e);
  CHECK(h.cause == 17);
  CHECK_FALSE(h.channel.present);
  CHECK(h.missing == std::vector<std::string_view>{"Cause-txt"});  // TechCause is optional
  CHECK_FALSE(h.tech_cause.has_value());
}
