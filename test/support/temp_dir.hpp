// A fresh private directory for a test's files, under the system's temporary directory
// (TMPDIR is honoured). The caller removes it.
#pragma once

#include <stdlib.h>  // mkdtemp

#include <filesystem>
#include <stdexcept>
#include <string>

namespace ami::test {

inline std::string make_temp_dir(const std::string& prefix) {
  std::string path = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(path.data()) == nullptr) {
    throw std::runtime_error(prefix + ": cannot create a temporary directory");
  }
  return path;
}

}  // namespace ami::test
