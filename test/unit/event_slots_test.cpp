// The client's event signal: Boost.Signals2 connection semantics with a cheaper emission.
#include "ami/detail/signals.hpp"

#include <boost/signals2/shared_connection_block.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using ami::detail::event_signal;
using ami::detail::guarded_combiner;

namespace {

struct counting_sink final : ami::detail::slot_exception_sink {
  std::vector<std::string> seen;
  void report(std::exception_ptr e) noexcept override {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      seen.emplace_back(x.what());
    } catch (...) {
      seen.emplace_back("?");
    }
  }
};

ami::event make_event(const char* name) {
  ami::message m;
  m.set_kind(ami::message_kind::event);
  m.add_field("Event", name);
  return ami::event(ami::message(m));  // an owning copy
}

}  // namespace

TEST_CASE("event signal: slots run in connection order; a throwing one does not stop the rest") {
  counting_sink sink;
  event_signal sig(guarded_combiner{&sink});
  CHECK(sig.empty());
  std::string order;
  auto a = sig.connect([&](const ami::event& e) { order += "a" + std::string(e.name()); });
  auto b = sig.connect([&](const ami::event&) { throw std::runtime_error("boom"); });
  auto c = sig.connect([&](const ami::event&) { order += "c"; });
  CHECK_FALSE(sig.empty());
  sig(make_event("X"));
  sig(make_event("Y"));
  CHECK(order == "aXcaYc");
  CHECK(sink.seen == std::vector<std::string>{"boom", "boom"});
}

TEST_CASE("event signal: disconnect, scoped connections and blocks") {
  counting_sink sink;
  event_signal sig(guarded_combiner{&sink});
  int plain = 0, scoped = 0, blocked = 0;
  auto token = std::make_shared<int>(0);  // owned by the slot: released with it
  auto c1 = sig.connect([&plain, token](const ami::event&) { ++plain; });
  auto c3 = sig.connect([&](const ami::event&) { ++blocked; });
  CHECK(token.use_count() > 1);
  {
    boost::signals2::scoped_connection c2 = sig.connect([&](const ami::event&) { ++scoped; });
    sig(make_event("A"));
  }
  {
    boost::signals2::shared_connection_block block(c3);
    CHECK(c3.blocked());
    CHECK(c3.connected());
    sig(make_event("B"));
  }
  CHECK(c1.connected());
  c1.disconnect();
  CHECK_FALSE(c1.connected());
  CHECK(token.use_count() == 1);  // the slot function went with its connection
  sig(make_event("C"));
  CHECK(plain == 2);
  CHECK(scoped == 1);
  CHECK(blocked == 2);
  c3.disconnect();
  CHECK(sig.empty());
}

TEST_CASE("event signal: changes during an emission take effect as with signals2") {
  counting_sink sink;
  event_signal sig(guarded_combiner{&sink});
  std::string order;
  boost::signals2::connection self, victim, added;
  self = sig.connect([&](const ami::event&) {
    order += "s";
    self.disconnect();    // itself: runs this time only
    victim.disconnect();  // a later slot: not called any more, this time included
    added = sig.connect([&](const ami::event&) { order += "n"; });  // from the next one on
  });
  victim = sig.connect([&](const ami::event&) { order += "v"; });
  auto last = sig.connect([&](const ami::event&) { order += "l"; });
  sig(make_event("A"));
  CHECK(order == "sl");
  sig(make_event("B"));
  CHECK(order == "slln");
}

TEST_CASE("event signal: a slot may emit again (nested), and disconnect_all_slots stops all") {
  counting_sink sink;
  event_signal sig(guarded_combiner{&sink});
  std::vector<std::string> seen;
  auto a = sig.connect([&](const ami::event& e) {
    seen.emplace_back(e.name());
    if (e.name() == "Outer") sig(make_event("Inner"));
  });
  auto b =
      sig.connect([&](const ami::event& e) { seen.emplace_back("b" + std::string(e.name())); });
  sig(make_event("Outer"));
  CHECK(seen == std::vector<std::string>{"Outer", "Inner", "bInner", "bOuter"});
  sig.disconnect_all_slots();
  CHECK(sig.empty());
  CHECK_FALSE(a.connected());
  CHECK_FALSE(b.connected());
  sig(make_event("After"));
  CHECK(seen.size() == 4);
}

TEST_CASE("event signal: tracked slots expire with their object and keep their place") {
  counting_sink sink;
  event_signal sig(guarded_combiner{&sink});
  std::string order;
  auto owner = std::make_shared<int>(1);
  auto a = sig.connect([&](const ami::event&) { order += "a"; });
  auto t = sig.connect(
      event_signal::slot_type([&](const ami::event&) { order += "t"; }).track_foreign(owner));
  auto c = sig.connect([&](const ami::event&) { order += "c"; });
  sig(make_event("A"));
  CHECK(order == "atc");
  owner.reset();
  sig(make_event("B"));
  CHECK(order == "atcac");
  CHECK_FALSE(t.connected());
}

TEST_CASE("event signal: connections outlive the signal harmlessly") {
  boost::signals2::connection c;
  {
    event_signal sig(guarded_combiner{nullptr});
    c = sig.connect([](const ami::event&) { throw std::runtime_error("no sink: ignored"); });
    sig(make_event("A"));  // the exception goes nowhere, the emission returns
    CHECK(c.connected());
  }
  CHECK_FALSE(c.connected());
  c.disconnect();
}

TEST_CASE("event signal: connect and disconnect from another thread while emitting") {
  counting_sink sink;
  event_signal sig(guarded_combiner{&sink});
  std::atomic<int> calls{0};
  std::atomic<bool> stop{false};
  auto keep = sig.connect([&](const ami::event&) { calls.fetch_add(1); });
  std::thread other([&] {
    for (int i = 0; i < 2000 && !stop.load(); ++i) {
      auto c = sig.connect([&](const ami::event&) { calls.fetch_add(1); });
      boost::signals2::shared_connection_block block(c);
      block.unblock();
      c.disconnect();
    }
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  const ami::event e = make_event("A");
  int emitted = 0;
  while (emitted < 20000 && std::chrono::steady_clock::now() < deadline) {
    sig(e);
    ++emitted;
  }
  stop.store(true);
  other.join();
  CHECK(emitted == 20000);
  CHECK(calls.load() >= emitted);  // the permanent slot never missed one
  keep.disconnect();
  CHECK(sig.empty());
}
