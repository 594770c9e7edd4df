// List actions sent as typed structs through the simulated PBX, their items read back as
// typed events.
#include "client_support.hpp"

#include "ami/actions/core_show_channels.hpp"
#include "ami/actions/queue_status.hpp"
#include "ami/events/core_show_channel.hpp"
#include "ami/events/core_show_channels_complete.hpp"
#include "ami/events/queue_member.hpp"
#include "ami/events/queue_params.hpp"
#include "ami/typed_items.hpp"

using ami::test::client_fixture;
using ami::test::result;

namespace {

template <class A>
result<ami::response> send_typed(client_fixture& f, const A& typed) {
  result<ami::response> r;
  f.c.async_send(typed, r.handler());
  REQUIRE(f.wait(r));
  return r;
}

}  // namespace

TEST_SUITE("client: typed lists") {
  TEST_CASE("CoreShowChannels items read as typed CoreShowChannel events") {
    client_fixture f;
    f.connect_ok();
    const std::string channel = f.srv.incoming_call("PJSIP/100", "100");
    REQUIRE(ami::test::run_until(f.io, [&] { return !f.srv.channels().empty(); }));

    const auto r = send_typed(f, ami::actions::core_show_channels{});
    REQUIRE_FALSE(*r.ec);
    const auto items = ami::typed_items<ami::events::core_show_channel>(r.value);
    REQUIRE(items.size() == r.value.events().size());
    REQUIRE_FALSE(items.empty());
    bool found = false;
    for (const auto& ch : items) {
      CHECK(ch.ok());
      if (ch.channel.channel == channel) found = true;
    }
    CHECK(found);
    REQUIRE(r.value.complete() != nullptr);
    const auto done = ami::events::core_show_channels_complete::from(*r.value.complete());
    CHECK(done.list_items == static_cast<int>(items.size()));
  }

  TEST_CASE("QueueStatus items read as QueueParams and QueueMember, other types skipped") {
    client_fixture f;
    f.connect_ok();
    const auto r = send_typed(f, ami::actions::queue_status{}.with_queue("support"));
    REQUIRE_FALSE(*r.ec);
    const auto params = ami::typed_items<ami::events::queue_params>(r.value);
    const auto members = ami::typed_items<ami::events::queue_member>(r.value);
    REQUIRE(params.size() == 1);
    CHECK(params[0].strategy == "ringall");
    // The spec lists no Queue header for QueueParams: the raw event still has it.
    REQUIRE(params[0].raw != nullptr);
    CHECK(params[0].raw->get("Queue") == "support");
    REQUIRE_FALSE(members.empty());
    CHECK(members[0].queue == "support");
    CHECK(members[0].location == "Local/100@default");
    CHECK(params.size() + members.size() <= r.value.events().size());
    CHECK(ami::typed_items<ami::events::core_show_channel>(r.value).empty());
  }
}
