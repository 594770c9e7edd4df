#include "tls.hpp"

#include "ami/error.hpp"

#include <boost/asio/ip/address.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

namespace ami::detail {
namespace {

bool is_ip_literal(const std::string& name) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(name, ec);
  return !ec;
}

}  // namespace

std::optional<boost::asio::ssl::context> make_tls_context(const config& cfg,
                                                          boost::system::error_code& ec,
                                                          std::string& why) {
  namespace ssl = boost::asio::ssl;
  const auto fail = [&](std::string what) {
    why = std::move(what) + ": " + ec.message();
    return std::nullopt;
  };
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                  ec);
  if (ec) return fail("cannot set up TLS");
  ctx.set_verify_mode(cfg.tls_insecure ? ssl::verify_none : ssl::verify_peer, ec);
  if (ec) return fail("cannot set up TLS verification");
  if (!cfg.tls_insecure) {
    if (cfg.tls_ca_file.empty()) {
      ctx.set_default_verify_paths(ec);
      if (ec) return fail("cannot load the system's trusted CA certificates");
    } else {
      ctx.load_verify_file(cfg.tls_ca_file, ec);
      if (ec) return fail("cannot load the TLS CA file '" + cfg.tls_ca_file + "'");
    }
  }
  if (!cfg.tls_key_file.empty() && cfg.tls_cert_file.empty()) {
    ec = make_error_code(boost::system::errc::invalid_argument);
    return fail("a TLS key file needs its certificate file (tls_cert_file)");
  }
  if (!cfg.tls_cert_file.empty()) {
    ctx.use_certificate_chain_file(cfg.tls_cert_file, ec);
    if (ec) return fail("cannot load the TLS certificate file '" + cfg.tls_cert_file + "'");
    // The key may sit in the certificate's file; OpenSSL checks that they belong together.
    const std::string& key = cfg.tls_key_file.empty() ? cfg.tls_cert_file : cfg.tls_key_file;
    ctx.use_private_key_file(key, ssl::context::pem, ec);
    if (ec) return fail("cannot load the TLS key file '" + key + "'");
  }
  return std::optional<ssl::context>(std::move(ctx));
}

const std::string& tls_peer_name(const config& cfg) noexcept {
  return cfg.tls_server_name.empty() ? cfg.host : cfg.tls_server_name;
}

bool prepare_tls_connection(SSL* ssl, const config& cfg, std::string& why) {
  const std::string& name = tls_peer_name(cfg);
  const bool ip = is_ip_literal(name);
  if (!cfg.tls_insecure) {
    // OpenSSL checks the name while it verifies the chain, so a mismatch is a verification
    // error like any other (X509_V_ERR_HOSTNAME_MISMATCH, ..._IP_ADDRESS_MISMATCH).
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    int ok = 0;
    if (ip) {
      ok = X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
    } else {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      ok = X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
    }
    if (ok != 1) {
      why = "cannot verify the TLS server name '" + name + "'";
      return false;
    }
  }
  // SNI carries host names only (RFC 6066).
  if (!ip && !name.empty() &&
      SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               static_cast<void*>(const_cast<char*>(name.c_str()))) != 1) {
    why = "cannot send the TLS server name '" + name + "'";
    return false;
  }
  return true;
}

boost::system::error_code explain_handshake_failure(SSL* ssl, bool insecure,
                                                    const std::string& name,
                                                    const boost::system::error_code& ec,
                                                    std::string& why) {
  const long result = SSL_get_verify_result(ssl);
  if (!insecure && result != X509_V_OK) {
    why = std::string("TLS certificate verification failed: ") +
          X509_verify_cert_error_string(result) + " (server name '" + name + "')";
    return make_error_code(error::tls_verify_failed);
  }
  why = "TLS handshake failed: " + ec.message();
  return ec;
}

}  // namespace ami::detail
