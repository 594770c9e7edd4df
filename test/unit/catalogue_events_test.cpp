// Real server events (test/data/*.raw) read into their typed structs: values, snapshots,
// numbers, and what is reported missing or bad (typed_captures_test.cpp reads them all).
#include "../support/test_data.hpp"
#include "ami/events/bridge_list_item.hpp"
#include "ami/events/cdr.hpp"
#include "ami/events/core_show_channels_complete.hpp"
#include "ami/events/device_state_change.hpp"
#include "ami/events/dial_begin.hpp"
#include "ami/events/dial_end.hpp"
#include "ami/events/fully_booted.hpp"
#include "ami/events/hangup.hpp"
#include "ami/events/hangup_request.hpp"
#include "ami/events/local_bridge.hpp"
#include "ami/events/monitor_start.hpp"
#include "ami/events/monitor_stop.hpp"
#include "ami/events/newchannel.hpp"
#include "ami/events/newexten.hpp"
#include "ami/events/newstate.hpp"
#include "ami/events/originate_response.hpp"
#include "ami/events/peer_entry.hpp"
#include "ami/events/peerlist_complete.hpp"
#include "ami/events/queue_member.hpp"
#include "ami/events/queue_member_status.hpp"
#include "ami/events/queue_params.hpp"
#include "ami/events/queue_status_complete.hpp"
#include "ami/events/request_not_allowed.hpp"
#include "ami/events/resource_list_detail.hpp"
#include "ami/events/soft_hangup_request.hpp"
#include "ami/events/status.hpp"
#include "ami/events/status_complete.hpp"
#include "ami/events/successful_auth.hpp"
#include "ami/events/var_set.hpp"
#include "ami/typed/number.hpp"

#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace ev = ami::events;

namespace {

// Every event a capture holds: an owning copy, so that it outlives the parser.
std::vector<ami::event> capture_events(const std::string& name) {
  std::vector<ami::event> out;
  for (const auto& o : ami::test::parse_all(ami::test::read_data(name))) {
    if (!o.is_error && o.msg.is_event()) out.emplace_back(o.msg);
  }
  return out;
}

template <class E>
E first_of(const std::vector<ami::event>& events, std::size_t skip = 0) {
  for (const auto& e : events) {
    if (ami::iequals(e.name(), E::event_name) && skip-- == 0) return E::from(e);
  }
  FAIL("no ", E::event_name, " event");
  return E{};
}

}  // namespace

TEST_CASE("channel events: snapshot values, channel_state and its text") {
  const auto events = capture_events("session1.raw");
  const auto a = first_of<ev::newchannel>(events);
  CHECK(a.ok());
  CHECK(a.channel.present);
  CHECK(a.channel.channel == "Local/100@default-00000000;1");
  CHECK(a.channel.channel_state == ev::channel_state::down);
  CHECK(a.channel.channel_state_desc == "Down");
  CHECK(a.channel.caller_id_num == "<unknown>");
  CHECK(a.channel.language == "en");
  CHECK(a.channel.account_code.empty());
  CHECK(a.channel.priority == 1);
  CHECK(a.channel.uniqueid == a.channel.linkedid);
  const auto b = first_of<ev::newchannel>(events, 1);
  CHECK(b.channel.channel_state == ev::channel_state::ring);
  CHECK(b.channel.channel.data() == b.raw->get("Channel")->data());  // a view, not a copy

  // Every snapshot of both captures: the state number and its text agree.
  std::size_t states = 0;
  for (const auto& name : {"session1.raw", "session18.raw"}) {
    for (const auto& e : capture_events(name)) {
      if (!e.has("ChannelState")) continue;
      const auto s = ev::parse_channel_state(*e.get("ChannelState"));
      REQUIRE(s.has_value());
      CHECK(ev::to_string(*s) == e.get("ChannelStateDesc"));
      ++states;
    }
  }
  CHECK(states > 20);
}

TEST_CASE("Newexten: emitted spelling, documented alias") {
  const auto events = capture_events("session18.raw");
  const auto x = first_of<ev::newexten>(events);
  CHECK(ev::newexten::event_name == "Newexten");
  REQUIRE(ev::newexten::aliases.size() == 1);
  CHECK(ev::newexten::aliases[0] == "NewExten");
  CHECK(std::is_same_v<ev::new_exten, ev::newexten>);
  CHECK(x.ok());
  CHECK(x.extension == "100");
  CHECK(x.application == "AppDial2");
  CHECK(x.app_data == "(Outgoing Line)");
  CHECK(x.channel.exten == "100");
}

TEST_CASE("hangups: cause numbers and text") {
  const auto events = capture_events("session18.raw");
  const auto h = first_of<ev::hangup>(events);
  CHECK(h.cause == 0);
  CHECK(h.cause_txt == "Unknown");
  CHECK(h.channel.channel == "Local/100@default-00000000;1");
  CHECK(h.channel.exten == "200");
  CHECK(h.channel.priority == 2);
  // TechCause is written only when the channel driver has a technology cause.
  CHECK_FALSE(h.tech_cause.has_value());
  CHECK(h.ok());
  CHECK(first_of<ev::soft_hangup_request>(events).cause == 16);
  CHECK(first_of<ev::hangup_request>(events).cause == 0);
}

TEST_CASE("OriginateResponse: outcome, reason, ActionID") {
  for (const auto& name : {"session1.raw", "session18.raw"}) {
    CAPTURE(name);
    const auto events = capture_events(name);  // the typed event views into these
    const auto o = first_of<ev::originate_response>(events);
    CHECK(o.action_id == "o1");
    CHECK(o.response == "Success");
    CHECK(o.succeeded());
    CHECK(o.reason == 4);
    CHECK(o.channel == "Local/100@default-00000000;1");
    CHECK(o.application == "Wait");
    CHECK(o.data == "5");
    CHECK(o.caller_id_num == "<unknown>");
    CHECK(o.bad.empty());
  }
}

TEST_CASE("lists: PeerEntry items and completion counts") {
  const auto events = capture_events("session18.raw");
  const auto sip = first_of<ev::peer_entry>(events);
  CHECK(sip.ok());
  CHECK(sip.channeltype == "SIP");
  CHECK(sip.object_name == "100");
  CHECK(sip.chan_object_type == "peer");
  CHECK(sip.ip_address == "-none-");
  CHECK(sip.ip_port == "0");
  CHECK(sip.dynamic == "yes");
  CHECK(sip.status == "Unmonitored");
  CHECK(sip.description == std::string_view{});  // sent, empty
  const auto iax = first_of<ev::peer_entry>(events, 3);
  CHECK(iax.channeltype == "IAX2");
  CHECK(iax.object_name == "iaxpeer1");
  CHECK(iax.ip_port == "(null)");
  CHECK(iax.raw->get("Trunk") == "no");  // undocumented headers stay reachable
  // chan_sip's columns are written by chan_sip only.
  CHECK_FALSE(iax.acl.has_value());
  CHECK(iax.ok());

  CHECK(first_of<ev::peerlist_complete>(events).list_items == 3);
  CHECK(first_of<ev::peerlist_complete>(events, 1).list_items == 1);
  const auto csc = first_of<ev::core_show_channels_complete>(events);
  CHECK(csc.ok());
  CHECK(csc.list_items == 0);
  CHECK(csc.event_list == "Complete");
  CHECK(csc.action_id == "6");
  const auto sc = first_of<ev::status_complete>(events);
  CHECK(sc.ok());
  CHECK(sc.list_items == 2);
  CHECK(sc.items == 2);
  CHECK(first_of<ev::queue_status_complete>(events).list_items == 2);
  const auto st = first_of<ev::status>(events);
  CHECK(st.ok());
  CHECK(st.action_id == "8");
  CHECK(st.type == "Local");
  CHECK(st.seconds == 0);
}

TEST_CASE("queue events: numbers parsed, text kept") {
  const auto events = capture_events("session18.raw");
  const auto m = first_of<ev::queue_member_status>(events);
  CHECK(m.ok());
  CHECK(m.queue == "support");
  CHECK(m.status == 2);
  CHECK(m.penalty == 0);
  CHECK(m.login_time == 1795663236LL);
  CHECK(m.membership == "static");
  CHECK(first_of<ev::queue_member_status>(events, 1).status == 1);
  const auto p = first_of<ev::queue_params>(events);
  CHECK(p.ok());
  CHECK(p.strategy == "ringall");
  CHECK(p.calls == 0);
  CHECK(p.service_level_perf == "0.0");  // "ServicelevelPerf" on the wire: case-insensitive
  const auto qm = first_of<ev::queue_member>(events);
  CHECK(qm.name == "Local/100@default");
  CHECK(qm.location == "Local/100@default");
  CHECK(qm.in_call == 0);
}

TEST_CASE("prefixed snapshots: DialBegin without a caller, LocalBridge with two") {
  const auto events = capture_events("session18.raw");
  const auto d = first_of<ev::dial_begin>(events);
  CHECK(d.ok());  // the absent caller block is not reported missing
  CHECK_FALSE(d.channel.present);
  CHECK(d.channel.channel.empty());
  CHECK_FALSE(d.channel.channel_state.has_value());
  CHECK(d.dest.present);
  CHECK(d.dest.channel == "Local/100@default-00000000;1");
  CHECK(d.dest.channel_state == ev::channel_state::down);
  CHECK(d.dial_string == "100@default");
  CHECK(first_of<ev::dial_end>(events).dest.channel_state == ev::channel_state::up);
  CHECK(first_of<ev::dial_end>(events).dial_status == "ANSWER");
  const auto lb = first_of<ev::local_bridge>(events);
  CHECK(lb.ok());
  CHECK(lb.local_one.channel == "Local/100@default-00000000;1");
  CHECK(lb.local_two.channel == "Local/100@default-00000000;2");
  CHECK(lb.local_two.channel_state == ev::channel_state::ring);
  CHECK(lb.local_optimization == "Yes");
}

TEST_CASE("other events of the captures") {
  const auto events = capture_events("session18.raw");
  const auto fb = first_of<ev::fully_booted>(events);
  CHECK(fb.ok());
  CHECK(fb.status == "Fully Booted");
  CHECK(fb.uptime == 2);
  const auto cdr = first_of<ev::cdr>(events);
  CHECK(cdr.disposition == "ANSWERED");
  CHECK(cdr.duration == 0);
  CHECK(cdr.destination == "100");
  const auto v = first_of<ev::var_set>(events);
  CHECK(v.variable == "__MONITORED");
  CHECK(v.value == "true");
  CHECK(first_of<ev::monitor_start>(events).channel.channel_state == ev::channel_state::up);
  CHECK(first_of<ev::device_state_change>(events).state == "INUSE");
  const auto security = capture_events("errors_permission.raw");
  const auto denied = first_of<ev::request_not_allowed>(security);
  CHECK(denied.request_type == "Action: Originate");
  CHECK(denied.account_id == "reader");
  CHECK(denied.severity == "Error");
}

namespace {

// from() refuses temporaries: the typed event would view bytes about to be freed.
template <class E, class = void>
struct reads_temporary : std::false_type {};
template <class E>
struct reads_temporary<E, std::void_t<decltype(E::from(std::declval<ami::event>()))>>
    : std::true_type {};
static_assert(!reads_temporary<ev::hangup>::value);
static_assert(!reads_temporary<ev::bridge_list_item>::value);
static_assert(ami::is_typed_event_v<ev::hangup>);

ami::event make_event(std::initializer_list<std::pair<std::string_view, std::string_view>> f) {
  ami::message m;
  for (const auto& [k, v] : f) m.add_field(k, v);
  m.make_owned();
  return ami::event{std::move(m)};
}

}  // namespace

TEST_CASE("missing and bad headers are marked, never thrown") {
  const auto e = make_event({{"Event", "Hangup"},
                             {"Channel", "SIP/1"},
                             {"ChannelState", "ringing"},
                             {"Priority", "1x"},
                             {"Cause", "sixteen"}});
  const auto h = ev::hangup::from(e);
  CHECK_FALSE(h.ok());
  CHECK(h.channel.present);
  CHECK(h.channel.channel == "SIP/1");
  CHECK_FALSE(h.channel.channel_state.has_value());
  CHECK_FALSE(h.channel.priority.has_value());
  CHECK_FALSE(h.cause.has_value());
  CHECK(h.bad == std::vector<std::string_view>{"ChannelState", "Priority", "Cause"});
  // The other 11 snapshot headers and Cause-txt; TechCause is sent only in some cases.
  CHECK(h.missing.size() == 12);
  CHECK(h.missing.front() == "ChannelStateDesc");
  CHECK(h.missing.back() == "Cause-txt");
  CHECK(h.raw == &e);

  // An event of another name reads the same way: from() does not check the name.
  const auto other = make_event({{"Event", "Hangup"}, {"Channel", "x"}});
  const auto wrong = ev::newchannel::from(other);
  CHECK(wrong.channel.channel == "x");
  CHECK(wrong.missing.size() == 13);

  // Empty values: text is empty and present, a number is bad.
  const auto blank = make_event({{"Event", "CoreShowChannelsComplete"},
                                 {"EventList", ""},
                                 {"ListItems", ""},
                                 {"ActionID", "1"}});
  const auto empty = ev::core_show_channels_complete::from(blank);
  CHECK(empty.missing.empty());
  CHECK(empty.bad == std::vector<std::string_view>{"ListItems"});
}

TEST_CASE("header lookup: case-insensitive, first occurrence, Event line excluded") {
  const auto e = make_event({{"Event", "ResourceListDetail"},
                             {"objectname", "list1"},
                             {"ObjectName", "second"},
                             {"Event", "presence"}});
  const auto r = ev::resource_list_detail::from(e);
  CHECK(r.object_name == "list1");
  CHECK(r.event == "presence");
  const auto muted =
      make_event({{"Event", "Newchannel"}, {"CHANNELSTATE", " 65542 "}, {"priority", "-1"}});
  const auto c = ev::newchannel::from(muted);
  CHECK(c.channel.channel_state == ev::channel_state::up);  // mute flag (1 << 16) ignored
  CHECK(c.channel.priority == -1);
}

TEST_CASE("number and state parsing") {
  CHECK(ami::parse_integer("42") == 42);
  CHECK(ami::parse_integer(" -7 ") == -7);
  CHECK(ami::parse_integer("9223372036854775807") == 9223372036854775807LL);
  CHECK_FALSE(ami::parse_integer("9223372036854775808").has_value());
  CHECK_FALSE(ami::parse_integer("").has_value());
  CHECK_FALSE(ami::parse_integer("  ").has_value());
  CHECK_FALSE(ami::parse_integer("+1").has_value());
  CHECK_FALSE(ami::parse_integer("1.5").has_value());
  CHECK_FALSE(ami::parse_integer("0x10").has_value());
  CHECK_FALSE(ami::parse_integer("(null)").has_value());
  CHECK(ami::parse_int("2147483647") == 2147483647);
  CHECK_FALSE(ami::parse_int("2147483648").has_value());
  for (int i = 0; i <= 9; ++i) {
    const auto s = ev::parse_channel_state(std::to_string(i));
    REQUIRE(s.has_value());
    CHECK(static_cast<int>(*s) == i);
    CHECK(ev::to_string(*s) != "Unknown");
  }
  CHECK_FALSE(ev::parse_channel_state("10").has_value());
  CHECK_FALSE(ev::parse_channel_state("-1").has_value());
  CHECK(ev::to_string(ev::channel_state::dialing_offhook) == "Dialing Offhook");
  CHECK(ev::to_string(ev::channel_state::prering) == "Pre-ring");
}
