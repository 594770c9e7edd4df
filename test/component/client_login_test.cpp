// Connecting and logging in: plain, MD5, failures, and what the client reports.
#include "client_support.hpp"

#include <boost/asio/ip/tcp.hpp>

using namespace std::chrono_literals;
using ami::connection_state;
using ami::test::client_fixture;
using ami::test::done_flag;
using ami::test::result;

TEST_SUITE("client") {
  TEST_CASE("plain login, state changes, banner, FullyBooted, then Ping") {
    client_fixture f;
    std::vector<connection_state> states;
    auto sub = f.c.on_state(
        [&](connection_state s, const boost::system::error_code&) { states.push_back(s); });
    CHECK(f.c.state() == connection_state::disconnected);
    f.connect_ok();
    CHECK(states ==
          std::vector<connection_state>{connection_state::connecting, connection_state::connected,
                                        connection_state::logging_in, connection_state::logged_in});
    REQUIRE(f.c.banner());
    CHECK(f.c.banner()->text == "Asterisk Call Manager/13.0.0");
    CHECK(f.c.ami_version() == ami::proto::version{13, 0, 0});
    // FullyBooted comes in the same write as the login response.
    REQUIRE(ami::test::run_until(f.io, [&] { return f.c.fully_booted(); }));
    auto r = f.send(ami::action("Ping"));
    CHECK_FALSE(*r.ec);
    CHECK(r.value.ok());
    CHECK(r.value.get("Ping") == "Pong");
    CHECK(r.value.action_id().substr(0, 3) == "ami");
    const auto got = f.srv.received();
    REQUIRE(got.size() == 2);
    CHECK(got[0].get("Action") == "Login");
    CHECK(got[0].get("Secret") == "amp111");
    CHECK(got[0].get("Events") == "on");
  }

  TEST_CASE("MD5 login sends Challenge, then a Key instead of the secret") {
    client_fixture f;
    f.cfg.auth = ami::auth_method::md5;
    f.connect_ok();
    const auto got = f.srv.received();
    REQUIRE(got.size() == 2);
    CHECK(got[0].get("Action") == "Challenge");
    CHECK(got[1].get("AuthType") == "MD5");
    CHECK(got[1].has("Key"));
    CHECK_FALSE(got[1].has("Secret"));
  }

  TEST_CASE("a wrong secret: login_failed with the server's message; actions waiting fail") {
    for (const auto auth : {ami::auth_method::plain, ami::auth_method::md5}) {
      ami::testing::server_options o;
      o.login_failure_delay = 50ms;
      client_fixture f(o);
      f.cfg.auth = auth;
      f.cfg.secret = "wrong-secret-123";
      std::vector<boost::system::error_code> reasons;
      auto sub = f.c.on_state([&](connection_state s, const boost::system::error_code& ec) {
        if (s == connection_state::disconnected) reasons.push_back(ec);
      });
      done_flag d;
      result<ami::response> queued;
      f.c.async_connect(f.cfg, d.handler());
      f.c.async_send(ami::action("Ping"), queued.handler());
      REQUIRE(ami::test::run_until(f.io, [&] { return d.done() && queued.done(); }));
      CHECK(*d.ec == ami::error::login_failed);
      CHECK(*queued.ec == ami::error::connection_lost);
      CHECK(f.c.last_error_message() == "Authentication failed");
      CHECK(f.c.last_error_message().find("wrong-secret") == std::string::npos);
      CHECK(f.c.state() == connection_state::disconnected);
      CHECK(reasons == std::vector<boost::system::error_code>{ami::error::login_failed});
      CHECK(f.srv.wait_for_sessions(0, 5s));
    }
  }

  TEST_CASE("Events: off is sent and FullyBooted does not come") {
    client_fixture f;
    f.cfg.events = "off";
    f.connect_ok();
    CHECK(f.srv.received()[0].get("Events") == "off");
    CHECK_FALSE(*f.send(ami::action("Ping")).ec);
    CHECK_FALSE(f.c.fully_booted());
  }

  TEST_CASE("connection refused is reported as the TCP error") {
    boost::asio::io_context io;
    unsigned short port = 0;
    {
      // A port that was free a moment ago and has no listener now.
      boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
      port = a.local_endpoint().port();
    }
    ami::client c(io);
    ami::config cfg;
    cfg.host = "127.0.0.1";
    cfg.port = port;
    done_flag d;
    c.async_connect(cfg, d.handler());
    REQUIRE(ami::test::run_until(io, [&] { return d.done(); }));
    CHECK(*d.ec == boost::asio::error::connection_refused);
    CHECK(c.state() == connection_state::disconnected);
    CHECK(c.last_error_message().find("connect failed") == 0);
  }

  TEST_CASE("a server that never sends the banner: login_timeout") {
    client_fixture f;
    f.srv.stall(true);
    f.cfg.login_timeout = 150ms;
    CHECK(f.connect() == ami::error::login_timeout);
    CHECK(f.c.state() == connection_state::disconnected);
    CHECK(f.srv.wait_for_sessions(0, 5s));
    f.srv.stall(false);
    f.connect_ok();  // the same client connects again
  }

  TEST_CASE("connect while connecting or connected; send before connecting") {
    client_fixture f;
    result<ami::response> early;
    f.c.async_send(ami::action("Ping"), early.handler());
    REQUIRE(f.wait(early));
    CHECK(*early.ec == ami::error::not_connected);
    done_flag first, second;
    f.c.async_connect(f.cfg, first.handler());
    f.c.async_connect(f.cfg, second.handler());
    REQUIRE(ami::test::run_until(f.io, [&] { return first.done() && second.done(); }));
    CHECK_FALSE(*first.ec);
    CHECK(*second.ec == boost::asio::error::in_progress);
    CHECK(f.connect() == boost::asio::error::already_connected);
    CHECK(f.c.state() == connection_state::logged_in);
  }

  TEST_CASE("a config from the server's URL works as is") {
    client_fixture f;
    ami::client c2(f.io);
    done_flag d;
    c2.async_connect(ami::config::from_url(f.srv.url() + "?events=off&timeout=5"), d.handler());
    REQUIRE(f.wait(d));
    CHECK_FALSE(*d.ec);
    CHECK(c2.state() == connection_state::logged_in);
  }

  TEST_CASE("logoff: Goodbye, the server closes, the state is disconnected") {
    client_fixture f;
    f.connect_ok();
    std::optional<boost::system::error_code> reason;
    auto sub = f.c.on_state([&](connection_state s, const boost::system::error_code& ec) {
      if (s == connection_state::disconnected) reason = ec;
    });
    done_flag d;
    f.c.async_logoff(d.handler());
    REQUIRE(f.wait(d));
    CHECK_FALSE(*d.ec);
    CHECK(f.c.state() == connection_state::disconnected);
    REQUIRE(reason);
    CHECK_FALSE(*reason);
    CHECK(f.srv.wait_for_sessions(0, 5s));
    done_flag again;
    f.c.async_logoff(again.handler());
    REQUIRE(f.wait(again));
    CHECK(*again.ec == ami::error::not_connected);
    f.connect_ok();  // and back
  }

  TEST_CASE("io_context::run() returns once the client is idle and disconnected") {
    client_fixture f;
    f.connect_ok();
    done_flag d;
    f.c.async_logoff(d.handler());
    f.io.restart();
    f.io.run_for(10s);  // returns early when no work is left: no timer lingers
    CHECK(d.done());
    CHECK(f.io.stopped());
  }

}  // TEST_SUITE
