// Certificates for the TLS tests, made in-process with OpenSSL when first asked for and
// written as PEM files into a fresh temporary directory that is removed at exit. Nothing
// secret is committed: every run has its own keys.
//
//   ca           the test CA (CN=ami test CA); it issued every certificate below except the
//                rogue client's
//   server       CN=localhost, SAN DNS:localhost and IP:127.0.0.1 (serverAuth)
//   other        CN=other.example, SAN DNS:other.example only (a name mismatch on 127.0.0.1)
//   expired      like server, but its validity ended yesterday
//   client       CN=ami test client (clientAuth)
//   wrong_ca     a self-signed CA that issued none of the above
//   rogue_client a client certificate issued by wrong_ca
//
// Keys are EC P-256 (fast to generate, also under sanitizers).
#pragma once

#include "temp_dir.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace ami::test {

struct cert_files {
  std::string cert;  // PEM certificate
  std::string key;   // PEM private key (unencrypted)
};

struct test_certs {
  std::string dir;
  std::string ca;        // the test CA's certificate (a CA file for verification)
  std::string wrong_ca;  // an unrelated CA's certificate
  cert_files server;
  cert_files other;
  cert_files expired;
  cert_files client;
  cert_files rogue_client;
};

namespace certs_detail {

struct pkey_free {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct x509_free {
  void operator()(X509* p) const noexcept { X509_free(p); }
};
struct ext_free {
  void operator()(X509_EXTENSION* p) const noexcept { X509_EXTENSION_free(p); }
};
struct bio_free {
  void operator()(BIO* p) const noexcept { BIO_free_all(p); }
};
struct pkey_ctx_free {
  void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
};

using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;

[[noreturn]] inline void fail(const std::string& what) {
  char buf[256] = {};
  ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
  throw std::runtime_error("test certificates: " + what + ": " + buf);
}

inline void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

inline pkey_ptr make_key() {
  std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_free> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nullptr));
  check(ctx != nullptr, "EVP_PKEY_CTX_new_id");
  check(EVP_PKEY_keygen_init(ctx.get()) == 1, "EVP_PKEY_keygen_init");
  check(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx.get(), NID_X9_62_prime256v1) == 1, "set curve");
  EVP_PKEY* key = nullptr;
  check(EVP_PKEY_keygen(ctx.get(), &key) == 1, "EVP_PKEY_keygen");
  return pkey_ptr(key);
}

inline void add_ext(X509* cert, X509V3_CTX& v3, int nid, const std::string& value) {
  std::unique_ptr<X509_EXTENSION, ext_free> ext(
      X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str()));
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  check(X509_add_ext(cert, ext.get(), -1) == 1, "X509_add_ext");
}

struct cert_spec {
  std::string common_name;
  bool ca = false;
  std::string san;                  // "DNS:localhost,IP:127.0.0.1", or empty
  std::string eku;                  // "serverAuth", "clientAuth", or empty
  long not_before = -3600;          // seconds from now
  long not_after = 7L * 24 * 3600;  // seconds from now
};

// A certificate for `key`, signed by issuer/issuer_key (self-signed when issuer is null).
inline x509_ptr make_cert(const cert_spec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key,
                          long serial) {
  x509_ptr cert(X509_new());
  check(cert != nullptr, "X509_new");
  X509* x = cert.get();
  check(X509_set_version(x, 2) == 1, "X509_set_version");  // v3
  check(ASN1_INTEGER_set(X509_get_serialNumber(x), serial) == 1, "serial");
  check(X509_gmtime_adj(X509_getm_notBefore(x), spec.not_before) != nullptr, "notBefore");
  check(X509_gmtime_adj(X509_getm_notAfter(x), spec.not_after) != nullptr, "notAfter");
  check(X509_set_pubkey(x, key) == 1, "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(x);
  check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("ami tests"), -1, -1,
                                   0) == 1,
        "O");
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(spec.common_name.c_str()),
                                   -1, -1, 0) == 1,
        "CN");
  check(X509_set_issuer_name(x, issuer != nullptr ? X509_get_subject_name(issuer) : name) == 1,
        "issuer");

  X509V3_CTX v3{};
  X509V3_set_ctx(&v3, issuer != nullptr ? issuer : x, x, nullptr, nullptr, 0);
  if (spec.ca) {
    add_ext(x, v3, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x, v3, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(x, v3, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(x, v3, NID_key_usage, "critical,digitalSignature");
  }
  add_ext(x, v3, NID_subject_key_identifier, "hash");
  if (issuer != nullptr) add_ext(x, v3, NID_authority_key_identifier, "keyid");
  if (!spec.san.empty()) add_ext(x, v3, NID_subject_alt_name, spec.san);
  if (!spec.eku.empty()) add_ext(x, v3, NID_ext_key_usage, spec.eku);
  check(X509_sign(x, issuer_key != nullptr ? issuer_key : key, EVP_sha256()) > 0, "X509_sign");
  return cert;
}

inline void write_cert(const std::string& path, X509* cert) {
  std::unique_ptr<BIO, bio_free> bio(BIO_new_file(path.c_str(), "w"));
  check(bio != nullptr, "BIO_new_file");
  check(PEM_write_bio_X509(bio.get(), cert) == 1, "PEM_write_bio_X509");
}

inline void write_key(const std::string& path, EVP_PKEY* key) {
  std::unique_ptr<BIO, bio_free> bio(BIO_new_file(path.c_str(), "w"));
  check(bio != nullptr, "BIO_new_file");
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "PEM_write_bio_PrivateKey");
  std::error_code ignored;
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ignored);
}

// Owns the directory: removes it (and the files) when destroyed.
struct cert_dir {
  test_certs files;
  cert_dir(const cert_dir&) = delete;
  cert_dir& operator=(const cert_dir&) = delete;

  cert_dir() {
    files.dir = make_temp_dir("ami-tls");
    try {
      generate();
    } catch (...) {
      remove();
      throw;
    }
  }
  ~cert_dir() { remove(); }

 private:
  void remove() noexcept {
    std::error_code ignored;
    std::filesystem::remove_all(files.dir, ignored);
  }

  std::string path(const char* name) const { return files.dir + "/" + name; }

  cert_files leaf(const char* name, const cert_spec& spec, X509* issuer, EVP_PKEY* issuer_key,
                  long serial) const {
    const auto key = make_key();
    const auto cert = make_cert(spec, key.get(), issuer, issuer_key, serial);
    cert_files out{path(name) + ".pem", path(name) + ".key"};
    write_cert(out.cert, cert.get());
    write_key(out.key, key.get());
    return out;
  }

  void generate() {
    const auto ca_key = make_key();
    const auto ca = make_cert({"ami test CA", true, "", ""}, ca_key.get(), nullptr, nullptr, 1);
    files.ca = path("ca.pem");
    write_cert(files.ca, ca.get());

    const auto wrong_key = make_key();
    const auto wrong =
        make_cert({"ami wrong CA", true, "", ""}, wrong_key.get(), nullptr, nullptr, 1);
    files.wrong_ca = path("wrong-ca.pem");
    write_cert(files.wrong_ca, wrong.get());

    files.server = leaf("server", {"localhost", false, "DNS:localhost,IP:127.0.0.1", "serverAuth"},
                        ca.get(), ca_key.get(), 2);
    files.other = leaf("other", {"other.example", false, "DNS:other.example", "serverAuth"},
                       ca.get(), ca_key.get(), 3);
    files.expired = leaf("expired",
                         {"localhost", false, "DNS:localhost,IP:127.0.0.1", "serverAuth",
                          -7L * 24 * 3600, -24L * 3600},
                         ca.get(), ca_key.get(), 4);
    files.client =
        leaf("client", {"ami test client", false, "", "clientAuth"}, ca.get(), ca_key.get(), 5);
    files.rogue_client = leaf("rogue-client", {"ami rogue client", false, "", "clientAuth"},
                              wrong.get(), wrong_key.get(), 2);
  }
};

}  // namespace certs_detail

// The certificates, generated on first use (thread-safe) and shared by the process.
inline const test_certs& shared_test_certs() {
  static const certs_detail::cert_dir dir;
  return dir.files;
}

}  // namespace ami::test
