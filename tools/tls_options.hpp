// The TLS options the command-line tools share: --tls-ca FILE, --tls-cert FILE,
// --tls-key FILE, --tls-insecure. They complete the settings of an amis:// URL.
#pragma once

#include "args.hpp"

#include "ami/config.hpp"

#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace ami::tools {

struct tls_options {
  std::optional<std::string> ca, cert, key;
  bool insecure = false;
  bool any() const noexcept { return ca || cert || key || insecure; }
};

// Handles args[i] when it is a TLS option ("--tls-ca FILE" or "--tls-ca=FILE"), moving i to
// its value. False when args[i] is not one; `problem` is set for a missing or empty value.
inline bool parse_tls_option(const std::vector<std::string>& args, std::size_t& i, tls_options& t,
                             std::optional<std::string>& problem) {
  const std::string& arg = args[i];
  if (arg == "--tls-insecure") {
    t.insecure = true;
    return true;
  }
  for (const auto& [name, field] :
       {std::pair<std::string_view, std::optional<std::string>*>{"--tls-ca", &t.ca},
        {"--tls-cert", &t.cert},
        {"--tls-key", &t.key}}) {
    std::string value;
    if (!read_option(args, i, name, value, problem)) continue;
    if (!problem && value.empty()) problem = std::string(name) + " needs a file name";
    *field = value;
    return true;
  }
  return false;
}

// Puts the options into `cfg`, and sends the client's warnings (TLS verification turned off)
// to `err` as "<program>: warning: ...". The options need TLS: with a plain ami:// server
// they are a usage error, unless `enable` (no URL given) lets them turn TLS on.
inline std::optional<std::string> apply_tls_options(const tls_options& t, config& cfg,
                                                    std::ostream& err, const char* program,
                                                    bool enable = false) {
  cfg.on_warning = [&err, program](std::string_view text) {
    err << program << ": warning: " << text << '\n';
  };
  if (!t.any()) return std::nullopt;
  if (t.key && !t.cert) return std::string("--tls-key needs --tls-cert");
  if (!cfg.tls && !enable) return std::string("the --tls-* options need an amis:// URL");
  cfg.tls = true;
  if (t.ca) cfg.tls_ca_file = *t.ca;
  if (t.cert) cfg.tls_cert_file = *t.cert;
  if (t.key) cfg.tls_key_file = *t.key;
  if (t.insecure) cfg.tls_insecure = true;
  return std::nullopt;
}

}  // namespace ami::tools
