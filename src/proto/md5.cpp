#include "ami/proto/md5.hpp"

#include <openssl/evp.h>

#include <array>
#include <memory>
#include <stdexcept>

namespace ami::proto {

std::string md5_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &len, EVP_md5(), nullptr) != 1) {
    throw std::runtime_error("MD5 is not available in this OpenSSL");
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2U);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(hex[digest[i] >> 4U]);
    out.push_back(hex[digest[i] & 0x0FU]);
  }
  return out;
}

std::string md5_login_key(std::string_view challenge, std::string_view secret) {
  std::string joined;
  joined.reserve(challenge.size() + secret.size());
  joined.append(challenge).append(secret);
  return md5_hex(joined);
}

}  // namespace ami::proto
