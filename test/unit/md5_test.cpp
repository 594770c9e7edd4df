// MD5 digests (RFC 1321 test suite) and the key of a challenge login.
#include "ami/proto/md5.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

using ami::proto::md5_hex;
using ami::proto::md5_login_key;

TEST_CASE("md5_hex of the RFC 1321 test suite") {
  CHECK(md5_hex("") == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(md5_hex("a") == "0cc175b9c0f1b6a831c399e269772661");
  CHECK(md5_hex("abc") == "900150983cd24fb0d6963f7d28e17f72");
  CHECK(md5_hex("message digest") == "f96b697d7cb7938d525a2f31aaf161d0");
  CHECK(md5_hex("abcdefghijklmnopqrstuvwxyz") == "c3fcd3d76192e4007dfb496cca67e13b");
  CHECK(md5_hex("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") ==
        "d174ab98d277d9f5a5611c2c9f419d9f");
  CHECK(md5_hex("1234567890123456789012345678901234567890"
                "1234567890123456789012345678901234567890") == "57edf4a22be3c955ac49da2e2107b67a");
}

TEST_CASE("md5_hex hashes the exact bytes: embedded NUL, long input, lower-case hex") {
  using namespace std::string_view_literals;
  CHECK(md5_hex("a\0b"sv) == "70350f6027bce3713f6b76473084309b");
  CHECK(md5_hex("a\0b"sv) != md5_hex("a"));
  CHECK(md5_hex(std::string(1000, 'x')) == "398533d48111e9f664b1f64cb10c4b63");
  const auto digest = md5_hex("abc");
  CHECK(digest.size() == 32);
  CHECK(digest.find_first_not_of("0123456789abcdef") == std::string::npos);
}

TEST_CASE("md5_login_key is md5hex(challenge + secret)") {
  CHECK(md5_login_key("362187543", "mysecret") == "9a734612ee9c01c7ef404a43f444a373");
  CHECK(md5_login_key("1234567890", "secret") == md5_hex("1234567890secret"));
  CHECK(md5_login_key("1234567890", "secret") == "e9b7ae6c91f6694cfc36d893733b1f7c");
  // The order matters: the challenge comes first.
  CHECK(md5_login_key("secret", "1234567890") != md5_login_key("1234567890", "secret"));
  CHECK(md5_login_key("", "") == md5_hex(""));
  CHECK(md5_login_key("abc", "") == md5_hex("abc"));
}
