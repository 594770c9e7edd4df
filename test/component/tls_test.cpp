// TLS ("amis://"): the simulated server's TLS listener (with a raw Asio TLS peer), amis:// URLs
// and the TLS options of the config. Certificates come from support/test_certs.hpp, made
// afresh by each run.
#include "../support/test_certs.hpp"
#include "raw_client.hpp"

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
#include <mutex>
#include <optional>
#include <string>
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
