#include "demo.hpp"

#include "ami/action.hpp"
#include "ami/response.hpp"

#include <algorithm>
#include <utility>

namespace ami::tools::wallboard {

namespace {

constexpr const char* sales_agents[] = {"201", "202", "203"};
constexpr std::size_t max_callers = 12;  // callers of the demo itself, at any time

}  // namespace

ami::testing::pbx_config demo_pbx_config() {
  auto pbx = ami::testing::pbx_config::standard();
  pbx.time_unit = std::chrono::milliseconds(1000);  // calls last a few real seconds
  pbx.step = std::chrono::milliseconds(50);
  ami::testing::queue sales;
  sales.name = "sales";
  sales.strategy = "rrmemory";
  for (const char* id : sales_agents) {
    ami::testing::endpoint e;
    e.name = id;
    e.description = std::string("Sales desk ") + id;
    pbx.endpoints.push_back(e);
    ami::testing::queue_member m;
    m.interface = std::string("PJSIP/") + id;
    m.name = std::string("Sales ") + id;
    sales.members.push_back(m);
  }
  pbx.queues.push_back(sales);
  ami::testing::extension x;
  x.exten = "710";
  x.action = ami::testing::behaviour::queue;
  x.argument = "sales";
  pbx.extensions.push_back(x);
  return pbx;
}

demo_traffic::demo_traffic(const boost::asio::any_io_executor& ex, ami::testing::server& pbx,
                           ami::client& c, std::uint32_t seed)
    : pbx_(pbx), client_(c), timer_(ex), rng_(seed) {}

void demo_traffic::start(double events_per_second, std::chrono::milliseconds period) {
  running_ = true;
  period_ = period;
  if (events_per_second > 0) pbx_.start_load(events_per_second);
  for (int i = 0; i < 4; ++i) place_call();
  schedule();
}

void demo_traffic::stop() {
  running_ = false;
  timer_.cancel();
  pbx_.stop_load();
}

void demo_traffic::schedule() {
  timer_.expires_after(period_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || !running_) return;
    step();
    schedule();
  });
}

void demo_traffic::place_call() {
  if (callers_.size() >= max_callers) return;
  std::uniform_int_distribution<int> number(2000000, 9999999);
  std::uniform_int_distribution<int> stay(4, 30);  // seconds before hanging up
  const bool sales = std::bernoulli_distribution(0.6)(rng_);
  const std::string channel = pbx_.incoming_call("PJSIP/trunk1", sales ? "710" : "700", "default",
                                                 "555" + std::to_string(number(rng_)));
  callers_.push_back(
      {channel, std::chrono::steady_clock::now() + std::chrono::seconds(stay(rng_))});
  ++placed_;
}

void demo_traffic::step() {
  ++steps_;
  // Callers whose time is up hang up: abandoning when still waiting, ending the call when
  // an agent took it. A caller the PBX already hung up is simply forgotten.
  const auto now = std::chrono::steady_clock::now();
  callers_.erase(std::remove_if(callers_.begin(), callers_.end(),
                                [&](const caller& c) {
                                  if (c.leaves > now) return false;
                                  pbx_.hangup(c.channel);
                                  return true;
                                }),
                 callers_.end());
  if (std::bernoulli_distribution(0.55)(rng_)) place_call();
  // Now and then a sales agent takes a break or comes back from one.
  if (steps_ % 5 == 0 && client_.state() == ami::connection_state::logged_in) {
    std::uniform_int_distribution<std::size_t> pick(0, std::size(sales_agents) - 1);
    ami::action pause("QueuePause");
    pause.set("Queue", "sales");
    pause.set("Interface", std::string("PJSIP/") + sales_agents[pick(rng_)]);
    const bool on = std::bernoulli_distribution(0.5)(rng_);
    pause.set("Paused", on ? "true" : "false");
    if (on) pause.set("Reason", "break");
    client_.async_send(std::move(pause), [](boost::system::error_code, const ami::response&) {});
  }
}

}  // namespace ami::tools::wallboard
