// The web wallboard's files (tools/wallboard/web), compiled into the program by CMake.
#pragma once

#include <string_view>

namespace ami::tools::wallboard {

struct asset {
  std::string_view name;  // "index.html"
  std::string_view content_type;
  std::string_view body;
};

// The file served at an absolute path ("/" is "/index.html"); nullptr when there is none.
const asset* find_asset(std::string_view path) noexcept;

}  // namespace ami::tools::wallboard
