// TLS ("amis://"): the simulated server's TLS listener (with a raw Asio TLS peer), amis:// URLs
// and the TLS options of the config, the client over TLS, and the tools' TLS options. Certificates
// come from support/test_certs.hpp, made afresh by each run.
#include "../../tools/ami_cli_main.hpp"
#include "../../tools/ami_dial_main.hpp"
#include "../../tools/ami_events_main.hpp"
#include "../support/test_certs.hpp"
#include "client_support.hpp"
#include "raw_client.hpp"
#include "run_with_deadline.hpp"

#include "ami/config.hpp"
#include "ami/error.hpp"
#include "ami/testing/server.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>

#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using ami::test::shared_test_certs;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

// A TLS peer on raw Asio, to test the server without the client. It verifies the server's
// certificate against `ca_file` for the name "localhost"; every wait has a deadline.
class tls_peer {
 public:
  using clock = std::chrono::steady_clock;

  explicit tls_peer(const std::string& ca_file,
                    const std::optional<ami::test::cert_files>& client_cert = std::nullopt) {
    ctx_.set_verify_mode(ssl::verify_peer);
    ctx_.load_verify_file(ca_file);
    if (client_cert) {
      ctx_.use_certificate_chain_file(client_cert->cert);
      ctx_.use_private_key_file(client_cert->key, ssl::context::pem);
    }
    // The stream copies the context's settings when it is made: after them.
    stream_.emplace(io_, ctx_);
    stream_->set_verify_callback(ssl::host_name_verification("localhost"));
  }

  // TCP connect to 127.0.0.1:port, then the TLS handshake.
  boost::system::error_code connect(unsigned short port) {
    const asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    auto ec = run([&](const auto& done) { stream_->next_layer().async_connect(ep, done); });
    if (ec) return ec;
    return run([&](const auto& done) { stream_->async_handshake(ssl::stream_base::client, done); });
  }

  boost::system::error_code write(const std::string& bytes) {
    return run([&](const auto& done) {
      asio::async_write(*stream_, asio::buffer(bytes),
                        [done](boost::system::error_code ec, std::size_t) { done(ec); });
    });
  }

  // Reads until `marker` has arrived; false on a read error (see last_error()) or timeout.
  bool read_until(const std::string& marker, std::chrono::milliseconds timeout = 5s) {
    const auto end = clock::now() + timeout;
    while (!contains(data_, marker)) {
      const auto now = clock::now();
      if (now >= end) return false;
      std::size_t got = 0;
      last_error_ = run(
          [&](const auto& done) {
            stream_->async_read_some(asio::buffer(buf_),
                                     [done, &got](boost::system::error_code ec, std::size_t n) {
                                       got = n;
                                       done(ec);
                                     });
          },
          std::chrono::duration_cast<std::chrono::milliseconds>(end - now));
      data_.append(buf_.data(), got);
      if (last_error_) return false;
    }
    return true;
  }

  // Reads until the server ends the stream; its reason (eof for an orderly TLS close).
  boost::system::error_code read_to_end(std::chrono::milliseconds timeout = 5s) {
    read_until(std::string("\0never\0", 7), timeout);
    return last_error_;
  }

  // Closes the TCP connection (without a TLS close_notify of its own).
  void close() {
    boost::system::error_code ignored;
    stream_->next_layer().close(ignored);
  }

  const std::string& data() const noexcept { return data_; }
  boost::system::error_code last_error() const noexcept { return last_error_; }

 private:
  // Starts one operation and runs it to completion within the deadline (timed_out when it
  // did not complete; the socket is then closed).
  template <class Start>
  boost::system::error_code run(Start start, std::chrono::milliseconds timeout = 5s) {
    std::optional<boost::system::error_code> result;
    start([&result](boost::system::error_code ec) { result = ec; });
    io_.restart();
    io_.run_for(timeout);
    if (result) return *result;
    boost::system::error_code ignored;
    stream_->next_layer().close(ignored);
    io_.restart();
    io_.run();
    return asio::error::timed_out;
  }

  asio::io_context io_;
  ssl::context ctx_{ssl::context::tls_client};
  std::optional<ssl::stream<asio::ip::tcp::socket>> stream_;
  std::array<char, 4096> buf_{};
  std::string data_;
  boost::system::error_code last_error_;
};

ami::testing::server_options tls_server(const ami::test::cert_files& cert,
                                        const std::string& client_ca = {}) {
  ami::testing::server_options so;
  ami::testing::server_tls tls;
  tls.cert_chain_file = cert.cert;
  tls.key_file = cert.key;
  tls.client_ca_file = client_ca;
  so.tls = tls;
  return so;
}

const std::string login =
    "Action: Login\r\nActionID: 1\r\nUsername: admin\r\nSecret: amp111\r\n\r\n";

}  // namespace

// ---------------------------------------------------------------------------------------
// The simulated server's TLS listener

TEST_CASE("TLS server: banner, login and Ping over TLS, then an orderly close") {
  const auto& certs = shared_test_certs();
  ami::testing::server srv(tls_server(certs.server));
  srv.start();
  CHECK(starts_with(srv.url(), "amis://admin:amp111@127.0.0.1:"));
  CHECK(srv.tls_port() == srv.port());
  CHECK(srv.tls_url() == srv.url());

  tls_peer p(certs.ca);
  const auto ec = p.connect(srv.port());
  REQUIRE_MESSAGE(!ec, ec.message());
  REQUIRE(p.read_until("\r\n"));
  CHECK(p.data() == "Asterisk Call Manager/13.0.0\r\n");
  REQUIRE_FALSE(p.write(login));
  REQUIRE(p.read_until("Event: SuccessfulAuth"));
  CHECK(contains(p.data(), "Message: Authentication accepted"));
  // Security events name the transport as Asterisk does for TLS sessions.
  REQUIRE(p.read_until("\r\n\r\n", 5s));
  CHECK(contains(p.data(), "RemoteAddress: IPV4/TLS/127.0.0.1/"));
  REQUIRE_FALSE(p.write("Action: Ping\r\nActionID: 2\r\n\r\n"));
  REQUIRE(p.read_until("Ping: Pong"));
  REQUIRE_FALSE(p.write("Action: Logoff\r\nActionID: 3\r\n\r\n"));
  // Goodbye, then close_notify: an orderly end (eof), not a truncated stream.
  CHECK(p.read_to_end() == asio::error::eof);
  CHECK(contains(p.data(), "Response: Goodbye"));
  p.close();
  CHECK(srv.wait_for_sessions(0, 5s));
  CHECK(srv.login_count() == 1);
}

TEST_CASE("TLS server: a client that does not trust the certificate gets no banner") {
  const auto& certs = shared_test_certs();
  std::vector<std::string> log;  // outlives the server, which logs until it is gone
  std::mutex log_mutex;
  ami::testing::server srv(tls_server(certs.server));
  srv.set_log([&](const std::string& line) {
    std::lock_guard<std::mutex> lock(log_mutex);
    log.push_back(line);
  });
  srv.start();
  {
    tls_peer p(certs.wrong_ca);
    const auto ec = p.connect(srv.port());
    CHECK(ec);
    CHECK(ec.category() == asio::error::get_ssl_category());
    CHECK(p.data().empty());
  }
  CHECK(srv.wait_for_sessions(0, 5s));
  CHECK(srv.connection_count() == 1);
  CHECK(srv.login_count() == 0);
  srv.stop();
  bool logged = false;
  for (const auto& l : log) logged = logged || contains(l, "TLS handshake failed");
  CHECK(logged);
}

TEST_CASE("TLS server: client certificates required by client_ca_file") {
  const auto& certs = shared_test_certs();
  ami::testing::server srv(tls_server(certs.server, certs.ca));
  srv.start();
  // TLS 1.3 ends the client's handshake before the server checked its certificate, so the
  // refusal may come as the handshake's error or as the first read's: either way no banner.
  const auto gets_banner = [&](const std::optional<ami::test::cert_files>& cert) {
    tls_peer p(certs.ca, cert);
    return !p.connect(srv.port()) && p.read_until("\r\n", 3s) &&
           starts_with(p.data(), "Asterisk Call Manager/");
  };
  CHECK_FALSE(gets_banner(std::nullopt));
  CHECK_FALSE(gets_banner(certs.rogue_client));
  CHECK(gets_banner(certs.client));
  CHECK(srv.wait_for_sessions(0, 5s));
  CHECK(srv.connection_count() == 3);
}

TEST_CASE("TLS server: a separate TLS listener next to the plain one, one PBX") {
  const auto& certs = shared_test_certs();
  auto so = tls_server(certs.server);
  so.tls->separate_listener = true;
  ami::testing::server srv(so);
  srv.start();
  REQUIRE(srv.tls_port() != 0);
  CHECK(srv.tls_port() != srv.port());
  CHECK(srv.url() == "ami://admin:amp111@127.0.0.1:" + std::to_string(srv.port()));
  CHECK(srv.tls_url() == "amis://admin:amp111@127.0.0.1:" + std::to_string(srv.tls_port()));

  ami::test::raw_client plain;
  REQUIRE(plain.connect(srv.port()));
  plain.send(login);
  tls_peer secure(certs.ca);
  REQUIRE_FALSE(secure.connect(srv.tls_port()));
  REQUIRE_FALSE(secure.write(login));
  REQUIRE(secure.read_until("Authentication accepted"));
  CHECK(srv.wait_for_logins(2, 5s));
  // One PBX: an event reaches both sessions.
  srv.push_event({{"Event", "UserEvent"}, {"UserEvent", "both"}});
  CHECK(secure.read_until("UserEvent: both"));
}

TEST_CASE("TLS server: unusable certificate files make start() throw, naming the file") {
  const auto& certs = shared_test_certs();
  const auto start_error = [](const ami::testing::server_options& so) -> std::string {
    ami::testing::server srv(so);
    try {
      srv.start();
    } catch (const boost::system::system_error& e) {
      return e.what();
    }
    return {};
  };
  const std::string missing = certs.dir + "/missing.pem";
  CHECK(contains(start_error(tls_server({missing, certs.server.key})), missing));
  // A key that does not belong to the certificate.
  CHECK(contains(start_error(tls_server({certs.server.cert, certs.other.key})), certs.other.key));
  CHECK(contains(start_error(tls_server(certs.server, missing)), missing));
}

// ---------------------------------------------------------------------------------------
// amis:// URLs and the TLS options of the config

TEST_CASE("amis:// URLs: default port, TLS query keys, redaction") {
  boost::system::error_code ec;
  auto c = ami::config::from_url("amis://admin:s3cr%40t@pbx.example", ec);
  REQUIRE_FALSE(ec);
  CHECK(c.tls);
  CHECK(c.port == 5039);
  CHECK(c.tls_ca_file.empty());
  CHECK_FALSE(c.tls_insecure);

  c = ami::config::from_url(
      "amis://admin:s3cr%40t@10.0.0.5:6000?ca=/etc/ami/ca.pem&cert=/etc/ami/me%20.pem"
      "&key=/etc/ami/me.key&server_name=pbx.example&insecure=1&auth=md5",
      ec);
  REQUIRE_FALSE(ec);
  CHECK(c.port == 6000);
  CHECK(c.tls_ca_file == "/etc/ami/ca.pem");
  CHECK(c.tls_cert_file == "/etc/ami/me .pem");
  CHECK(c.tls_key_file == "/etc/ami/me.key");
  CHECK(c.tls_server_name == "pbx.example");
  CHECK(c.tls_insecure);
  CHECK(c.auth == ami::auth_method::md5);

  const std::string r = c.redacted();
  CHECK_FALSE(contains(r, "s3cr"));
  CHECK(r ==
        "amis://admin:***@10.0.0.5:6000?auth=md5&ca=/etc/ami/ca.pem&cert=/etc/ami/me%20.pem"
        "&key=/etc/ami/me.key&insecure=1&server_name=pbx.example");
  // The redacted form parses back to the same TLS settings.
  const auto back = ami::config::from_url(r, ec);
  REQUIRE_FALSE(ec);
  CHECK(back.tls_cert_file == c.tls_cert_file);
  CHECK(back.tls_server_name == c.tls_server_name);
  CHECK(back.tls_insecure);

  for (const char* flag : {"0", "false", "no", "NO"}) {
    CAPTURE(flag);
    c = ami::config::from_url(std::string("amis://u@h?insecure=") + flag, ec);
    REQUIRE_FALSE(ec);
    CHECK_FALSE(c.tls_insecure);
  }
  for (const char* flag : {"1", "true", "yes", "TRUE"}) {
    CAPTURE(flag);
    c = ami::config::from_url(std::string("amis://u@h?insecure=") + flag, ec);
    REQUIRE_FALSE(ec);
    CHECK(c.tls_insecure);
  }
  // A key file alone: the certificate file may hold both, not the other way round.
  c = ami::config::from_url("amis://u@h?cert=/both.pem", ec);
  REQUIRE_FALSE(ec);
  CHECK(c.tls_cert_file == "/both.pem");
  CHECK(c.tls_key_file.empty());
}

TEST_CASE("amis:// URLs: TLS keys are refused where they cannot apply") {
  for (const char* bad : {"ami://u@h?ca=/ca.pem",  // TLS settings on a plain URL
                          "ami://u@h?insecure=1", "ami://u@h?server_name=x",
                          "amis://u@h?ca=", "amis://u@h?cert=", "amis://u@h?key=/k.pem",
                          "amis://u@h?insecure=", "amis://u@h?insecure=maybe",
                          "amis://u@h?ca=/a%0D%0Ab", "amis://u@h?tls=1"}) {
    CAPTURE(bad);
    boost::system::error_code ec;
    ami::config::from_url(bad, ec);
    CHECK(ec == ami::error::invalid_url);
  }
}

TEST_CASE("redacted(): TLS settings only for amis, never a secret") {
  ami::config c;
  c.host = "pbx";
  c.username = "admin";
  c.secret = "hunter2";
  c.tls_ca_file = "/ca.pem";  // ignored without tls
  CHECK(c.redacted() == "ami://admin:***@pbx:5038");
  c.tls = true;
  c.port = 5039;
  c.on_warning = [](std::string_view) {};
  CHECK(c.redacted() == "amis://admin:***@pbx:5039?ca=/ca.pem");
}

// ---------------------------------------------------------------------------------------
// The client over TLS

namespace {

// A TLS server and a client configured to trust the test CA.
struct tls_fixture : ami::test::client_fixture {
  explicit tls_fixture(ami::testing::server_options so) : client_fixture(std::move(so)) {
    cfg.tls_ca_file = shared_test_certs().ca;
  }

  void ping_ok() {
    const auto r = send(ami::action("Ping"));
    REQUIRE_FALSE(*r.ec);
    CHECK(r.value.get("Ping") == std::optional<std::string_view>("Pong"));
  }
};

// Collects the server's log lines.
struct server_log {
  void attach(ami::testing::server& srv) {
    srv.set_log([this](const std::string& line) {
      std::lock_guard<std::mutex> lock(mutex);
      lines.push_back(line);
    });
  }
  bool has(const std::string& part) {
    std::lock_guard<std::mutex> lock(mutex);
    for (const auto& l : lines) {
      if (contains(l, part)) return true;
    }
    return false;
  }
  std::mutex mutex;
  std::vector<std::string> lines;
};

}  // namespace

TEST_CASE("TLS client: connect, log in, Ping and events with the CA file; Logoff ends cleanly") {
  tls_fixture f(tls_server(shared_test_certs().server));
  REQUIRE(f.cfg.tls);
  f.connect_ok();
  f.ping_ok();
  std::vector<std::string> got;
  auto sub = f.c.on_event("UserEvent",
                          [&](const ami::event& e) { got.emplace_back(e.get_or("UserEvent")); });
  f.srv.push_event({{"Event", "UserEvent"}, {"UserEvent", "over-tls"}});
  REQUIRE(ami::test::run_until(f.io, [&] { return !got.empty(); }));
  CHECK(got.front() == "over-tls");
  ami::test::done_flag bye;
  f.c.async_logoff(bye.handler());
  REQUIRE(f.wait(bye));
  CHECK_FALSE(*bye.ec);
  CHECK(f.c.state() == ami::connection_state::disconnected);
  CHECK(f.srv.wait_for_sessions(0, 5s));
}

TEST_CASE("TLS client: a certificate that does not verify fails with tls_verify_failed") {
  const auto& certs = shared_test_certs();
  SUBCASE("an unknown CA (the wrong CA file)") {
    tls_fixture f(tls_server(certs.server));
    f.cfg.tls_ca_file = certs.wrong_ca;
    CHECK(f.connect() == ami::error::tls_verify_failed);
    const auto why = f.c.last_error_message();
    CHECK(contains(why, "certificate verification failed"));
    CHECK(contains(why, "unable to get local issuer certificate"));
    CHECK(f.c.state() == ami::connection_state::disconnected);
    CHECK(f.srv.login_count() == 0);
    // The test CA is not in the system's store either.
    f.cfg.tls_ca_file.clear();
    CHECK(f.connect() == ami::error::tls_verify_failed);
  }
  SUBCASE("an expired certificate") {
    tls_fixture f(tls_server(certs.expired));
    CHECK(f.connect() == ami::error::tls_verify_failed);
    CHECK(contains(f.c.last_error_message(), "certificate has expired"));
  }
  SUBCASE("the error's message says so") {
    CHECK(contains(make_error_code(ami::error::tls_verify_failed).message(), "verification"));
  }
}

TEST_CASE("TLS client: the certificate must name the host, unless tls_server_name says") {
  const auto& certs = shared_test_certs();
  server_log log;                          // outlives the server, which logs until it is gone
  tls_fixture f(tls_server(certs.other));  // only for other.example
  log.attach(f.srv);
  CHECK(f.connect() == ami::error::tls_verify_failed);  // 127.0.0.1
  CHECK(contains(f.c.last_error_message(), "IP address mismatch"));
  f.cfg.host = "localhost";
  CHECK(f.connect() == ami::error::tls_verify_failed);
  CHECK(contains(f.c.last_error_message(), "hostname mismatch"));
  f.cfg.tls_server_name = "other.example";
  f.connect_ok();
  f.ping_ok();
  // The name verified is the name sent as SNI.
  CHECK(log.has("server name: other.example"));
}

TEST_CASE("TLS client: names are sent as SNI, IP addresses are not") {
  const auto& certs = shared_test_certs();
  server_log log;                           // outlives the server, which logs until it is gone
  tls_fixture f(tls_server(certs.server));  // localhost and 127.0.0.1
  log.attach(f.srv);
  f.connect_ok();
  CHECK(log.has("server name: (none)"));
  CHECK_FALSE(log.has("server name: localhost"));
  f.c.close();
  REQUIRE(ami::test::run_until(f.io,
                               [&] { return f.c.state() == ami::connection_state::disconnected; }));
  f.cfg.host = "localhost";
  f.connect_ok();
  f.ping_ok();
  CHECK(log.has("server name: localhost"));
}

TEST_CASE("TLS client: tls_insecure skips verification and warns") {
  const auto& certs = shared_test_certs();
  tls_fixture f(tls_server(certs.other));  // wrong name, and no CA file below
  f.cfg.tls_ca_file.clear();
  f.cfg.tls_insecure = true;
  std::vector<std::string> warnings;
  f.cfg.on_warning = [&](std::string_view w) { warnings.emplace_back(w); };
  f.connect_ok();
  f.ping_ok();
  REQUIRE(warnings.size() == 1);
  CHECK(contains(warnings[0], "verification"));
  CHECK(contains(warnings[0], "127.0.0.1:" + std::to_string(f.srv.port())));
  CHECK_FALSE(contains(warnings[0], "amp111"));

  // Without a hook the warning goes to stderr.
  std::ostringstream captured;
  auto* old = std::cerr.rdbuf(captured.rdbuf());
  ami::client other{f.io};
  auto cfg = f.cfg;
  cfg.on_warning = nullptr;
  ami::test::done_flag d;
  other.async_connect(cfg, d.handler());
  const bool finished = f.wait(d);
  std::cerr.rdbuf(old);
  REQUIRE(finished);
  CHECK_FALSE(*d.ec);
  CHECK(starts_with(captured.str(), "ami: warning: "));
  CHECK(contains(captured.str(), "verification"));
}

TEST_CASE("TLS client: client certificates for a server that requires them") {
  const auto& certs = shared_test_certs();
  tls_fixture f(tls_server(certs.server, certs.ca));
  // Refused during the handshake (TLS 1.2) or right after it (TLS 1.3): no login either way.
  CHECK(f.connect());
  CHECK(f.c.state() == ami::connection_state::disconnected);
  f.cfg.tls_cert_file = certs.rogue_client.cert;
  f.cfg.tls_key_file = certs.rogue_client.key;
  CHECK(f.connect());
  CHECK(f.srv.login_count() == 0);
  f.cfg.tls_cert_file = certs.client.cert;
  f.cfg.tls_key_file = certs.client.key;
  f.connect_ok();
  f.ping_ok();
  CHECK(f.srv.login_count() == 1);
}

TEST_CASE("TLS client: unusable TLS files fail the connect at once, naming the file") {
  const auto& certs = shared_test_certs();
  tls_fixture f(tls_server(certs.server));
  const std::string missing = certs.dir + "/missing.pem";
  f.cfg.tls_ca_file = missing;
  CHECK(f.connect());
  CHECK(contains(f.c.last_error_message(), missing));
  f.cfg.tls_ca_file = certs.ca;
  f.cfg.tls_cert_file = certs.client.cert;
  f.cfg.tls_key_file = certs.other.key;  // not this certificate's key
  CHECK(f.connect());
  CHECK(contains(f.c.last_error_message(), certs.other.key));
  f.cfg.tls_cert_file.clear();  // a key alone
  CHECK(f.connect() == boost::system::errc::invalid_argument);
  CHECK(f.srv.connection_count() == 0);  // nothing reached the server
}

TEST_CASE("TLS and plain TCP do not mix, and fail fast") {
  const auto& certs = shared_test_certs();
  SUBCASE("a TLS client on a plain server") {
    ami::test::client_fixture f;
    f.cfg.tls = true;
    f.cfg.tls_ca_file = certs.ca;
    const auto ec = f.connect();
    CHECK(ec);
    CHECK(ec != ami::error::tls_verify_failed);
    CHECK(contains(f.c.last_error_message(), "TLS handshake failed"));
  }
  SUBCASE("a plain client on a TLS server: no banner comes") {
    tls_fixture f(tls_server(certs.server));
    f.cfg.tls = false;
    f.cfg.login_timeout = 300ms;
    CHECK(f.connect() == ami::error::login_timeout);
  }
}

TEST_CASE("plain TCP and TLS side by side on one PBX") {
  const auto& certs = shared_test_certs();
  auto so = tls_server(certs.server);
  so.tls->separate_listener = true;
  ami::test::client_fixture plain(so);
  REQUIRE_FALSE(plain.cfg.tls);
  plain.connect_ok();
  auto r = plain.send(ami::action("Ping"));
  CHECK_FALSE(*r.ec);

  ami::client secure{plain.io};
  auto cfg = ami::config::from_url(plain.srv.tls_url());
  cfg.tls_ca_file = certs.ca;
  ami::test::done_flag d;
  secure.async_connect(cfg, d.handler());
  REQUIRE(plain.wait(d));
  REQUIRE_FALSE(*d.ec);
  ami::test::result<ami::response> pong;
  secure.async_send(ami::action("Ping"), pong.handler());
  REQUIRE(plain.wait(pong));
  CHECK_FALSE(*pong.ec);
  CHECK(plain.srv.login_count() == 2);
}

// ---------------------------------------------------------------------------------------
// The tools' TLS options

namespace {

ami::test::program_run run_tool(
    std::function<int(const std::vector<std::string>&, std::ostream&, std::ostream&)> tool,
    std::vector<std::string> args) {
  auto r = ami::test::run_with_deadline(
      [tool = std::move(tool), args = std::move(args)](std::ostream& out, std::ostream& err) {
        return tool(args, out, err);
      },
      20s);
  REQUIRE_MESSAGE(r.status, "the tool did not finish");
  return r;
}

std::optional<std::string> no_env(const char*) { return std::nullopt; }

int cli(const std::vector<std::string>& a, std::ostream& out, std::ostream& err) {
  return ami::tools::cli::run_cli(a, out, err, no_env);
}
int dial(const std::vector<std::string>& a, std::ostream& out, std::ostream& err) {
  return ami::tools::dial::run_dial(a, out, err, no_env);
}
int events(const std::vector<std::string>& a, std::ostream& out, std::ostream& err) {
  return ami::tools::events::run_events(a, out, err, no_env);
}

}  // namespace

TEST_CASE("ami-cli over TLS: --tls-ca, --tls-insecure, and exit 2 when verification fails") {
  const auto& certs = shared_test_certs();
  ami::testing::server srv(tls_server(certs.server));
  srv.start();
  auto r = run_tool(cli, {"--url", srv.url(), "--tls-ca", certs.ca, "Ping"});
  CHECK(*r.status == ami::tools::cli::exit_success);
  CHECK(contains(r.out, "Pong"));

  r = run_tool(cli, {"--url", srv.url(), "--tls-ca=" + certs.wrong_ca, "Ping"});
  CHECK(*r.status == 2);
  CHECK(contains(r.err, "certificate verification failed"));
  CHECK_FALSE(contains(r.err, "amp111"));

  r = run_tool(cli, {"--url", srv.url(), "--tls-insecure", "Ping"});
  CHECK(*r.status == ami::tools::cli::exit_success);
  CHECK(contains(r.err, "ami-cli: warning: "));

  // Without a URL the TLS options turn TLS on.
  r = run_tool(cli, {"--port", std::to_string(srv.port()), "--user", "admin", "--secret", "amp111",
                     "--tls-ca", certs.ca, "Ping"});
  CHECK(*r.status == ami::tools::cli::exit_success);

  r = run_tool(cli, {"--url", "ami://admin:amp111@127.0.0.1:1", "--tls-ca", certs.ca, "Ping"});
  CHECK(*r.status == 2);
  CHECK(contains(r.err, "amis://"));
  r = run_tool(cli, {"--url", srv.url(), "--tls-ca", "Ping"});  // "Ping" is the file: no action
  CHECK(*r.status == 2);
}

TEST_CASE("ami-dial and ami-events: --tls-* options, exit 2 when verification fails") {
  const auto& certs = shared_test_certs();
  ami::testing::server srv(tls_server(certs.server));
  srv.start();
  auto r = run_tool(
      dial, {"--url", srv.url(), "--tls-ca", certs.wrong_ca, "--from", "PJSIP/100", "--to", "200"});
  CHECK(*r.status == ami::tools::dial::exit_connection);
  CHECK(contains(r.err, "certificate verification failed"));
  r = run_tool(dial, {"--demo", "--tls-ca", certs.ca});
  CHECK(*r.status == ami::tools::dial::exit_other);

  r = run_tool(events, {"--url", srv.url(), "--tls-ca", certs.wrong_ca, "--duration", "5"});
  CHECK(*r.status == ami::tools::events::exit_connection);
  CHECK(contains(r.err, "certificate verification failed"));
  r = run_tool(events, {"--url", srv.url(), "--tls-ca", certs.ca, "--tls-cert", certs.client.cert,
                        "--tls-key", certs.client.key, "--duration", "0.2"});
  CHECK(*r.status == ami::tools::events::exit_ok);
  CHECK(contains(r.err, "logged in"));
}
