#include "assets.hpp"

#include <array>
#include <cstddef>

namespace ami::tools::wallboard {

namespace generated {
// In the source CMake generates (cmake/embed_files.cmake).
extern const std::size_t file_count;
extern const std::string_view file_names[];
extern const std::string_view file_bodies[];
}  // namespace generated

namespace {

std::string_view content_type(std::string_view name) noexcept {
  const auto ends_with = [name](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

struct table {
  std::array<asset, 16> items{};
  std::size_t size = 0;

  table() {
    for (std::size_t i = 0; i < generated::file_count && i < items.size(); ++i) {
      items[size++] = {generated::file_names[i], content_type(generated::file_names[i]),
                       generated::file_bodies[i]};
    }
  }
};

}  // namespace

const asset* find_asset(std::string_view path) noexcept {
  static const table files;
  if (path == "/") path = "/index.html";
  if (path.empty() || path.front() != '/') return nullptr;
  path.remove_prefix(1);
  for (std::size_t i = 0; i < files.size; ++i) {
    if (files.items[i].name == path) return &files.items[i];
  }
  return nullptr;
}

}  // namespace ami::tools::wallboard
