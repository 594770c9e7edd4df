// The key of an MD5 challenge login.
#pragma once

#include <string>
#include <string_view>

namespace ami::proto {

// Lower-case hex MD5 of `data`.
std::string md5_hex(std::string_view data);

// The Login Key for AuthType MD5: md5hex(challenge + secret).
std::string md5_login_key(std::string_view challenge, std::string_view secret);

}  // namespace ami::proto
