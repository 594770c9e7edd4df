// URL keys and redacted() for the run's settings (reconnect, keepalive, login failure).
#include "ami/config.hpp"
#include "ami/connection_state.hpp"
#include "ami/error.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace std::chrono_literals;

TEST_SUITE("config run") {
  TEST_CASE(
      "defaults: reconnect from 250 ms to 30 s doubling, stop on login failure, 30 s keepalive") {
    ami::config c;
    c.host = "pbx";
    CHECK(c.redacted() == "ami://pbx:5038");  // defaults are not spelled out
    CHECK(c.reconnect_initial == 250ms);
    CHECK(c.reconnect_max == 30s);
    CHECK(c.reconnect_multiplier == doctest::Approx(2.0));
    CHECK(c.login_failure == ami::login_failure_policy::stop);
    CHECK(c.keepalive_interval == 30s);
  }

  TEST_CASE("URL keys: reconnect, reconnect_max, reconnect_multiplier, login_failure, keepalive") {
    const auto c = ami::config::from_url(
        "ami://admin:pw@pbx?reconnect=0.5&reconnect_max=60&reconnect_multiplier=1.5"
        "&login_failure=retry&keepalive=2.25");
    CHECK(c.reconnect_initial == 500ms);
    CHECK(c.reconnect_max == 60s);
    CHECK(c.reconnect_multiplier == doctest::Approx(1.5));
    CHECK(c.login_failure == ami::login_failure_policy::retry);
    CHECK(c.keepalive_interval == 2250ms);
    const auto off = ami::config::from_url("ami://pbx?reconnect=0&keepalive=0&login_failure=STOP");
    CHECK(off.reconnect_initial == 0ms);
    CHECK(off.keepalive_interval == 0ms);
    CHECK(off.login_failure == ami::login_failure_policy::stop);
  }

  TEST_CASE("bad values of the run's keys are invalid_url") {
    for (const char* url :
         {"ami://pbx?reconnect=", "ami://pbx?reconnect=-1", "ami://pbx?reconnect=x",
          "ami://pbx?reconnect_max=1e3", "ami://pbx?reconnect_multiplier=0.5",
          "ami://pbx?reconnect_multiplier=two", "ami://pbx?login_failure=maybe",
          "ami://pbx?login_failure=", "ami://pbx?keepalive=1s", "ami://pbx?keepalive=-5"}) {
      CAPTURE(url);
      boost::system::error_code ec;
      (void)ami::config::from_url(url, ec);
      CHECK(ec == ami::error::invalid_url);
    }
  }

  TEST_CASE("redacted() shows the run's settings that differ from the defaults, and round-trips") {
    auto c = ami::config::from_url("ami://admin:pw@pbx");
    CHECK(c.redacted() == "ami://admin:***@pbx:5038");
    c.reconnect_initial = 0ms;
    c.reconnect_max = 120s;
    c.reconnect_multiplier = 1.5;
    c.login_failure = ami::login_failure_policy::retry;
    c.keepalive_interval = 500ms;
    const auto text = c.redacted();
    CHECK(text ==
          "ami://admin:***@pbx:5038?reconnect=0&reconnect_max=120&reconnect_multiplier=1.5"
          "&login_failure=retry&keepalive=0.5");
    const auto back = ami::config::from_url(text);
    CHECK(back.reconnect_initial == c.reconnect_initial);
    CHECK(back.reconnect_max == c.reconnect_max);
    CHECK(back.reconnect_multiplier == doctest::Approx(c.reconnect_multiplier));
    CHECK(back.login_failure == c.login_failure);
    CHECK(back.keepalive_interval == c.keepalive_interval);
  }

  TEST_CASE("backing_off has a name") {
    CHECK(std::string(ami::to_string(ami::connection_state::backing_off)) == "backing_off");
    const ami::state_transition t;
    CHECK(t.state == ami::connection_state::disconnected);
    CHECK(t.delay == 0ms);
    CHECK(t.attempt == 0);
  }
}
