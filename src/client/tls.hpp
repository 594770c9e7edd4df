// TLS for the client's transport (amis://): the OpenSSL context built from a config, the
// per-connection name checks and SNI, and what a failed handshake means.
#pragma once

#include "ami/config.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include <optional>
#include <string>

namespace ami::detail {

// A client context for cfg: TLS 1.2 or later; verification against cfg.tls_ca_file (else
// the system's trust store) unless cfg.tls_insecure; the client certificate and key if
// given. On failure returns nothing, sets ec and `why` (names the file, never its contents).
std::optional<boost::asio::ssl::context> make_tls_context(const config& cfg,
                                                          boost::system::error_code& ec,
                                                          std::string& why);

// The name the server's certificate must carry: cfg.tls_server_name, else the host.
const std::string& tls_peer_name(const config& cfg) noexcept;

// Sets up one connection: the name (or IP address) to verify unless insecure, and SNI for
// a name (never for an IP address). False (with `why`) when OpenSSL refuses the name.
bool prepare_tls_connection(SSL* ssl, const config& cfg, std::string& why);

// A failed handshake, explained: error::tls_verify_failed with OpenSSL's verification
// reason when the certificate did not verify, else `ec` as it is.
// `insecure` and `name` are the connection's tls_insecure and tls_peer_name().
boost::system::error_code explain_handshake_failure(SSL* ssl, bool insecure,
                                                    const std::string& name,
                                                    const boost::system::error_code& ec,
                                                    std::string& why);

}  // namespace ami::detail
