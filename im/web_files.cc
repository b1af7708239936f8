#include "im/web_files.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "net/log.h"

namespace parley::im {

namespace fs = std::filesystem;

std::string_view content_type_for(std::string_view name) {
  auto ends_with = [&](std::string_view suffix) { return name.ends_with(suffix); };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".json")) return "application/json";
  if (ends_with(".svg")) return "image/svg+xml";
  if (ends_with(".png")) return "image/png";
  if (ends_with(".ico")) return "image/x-icon";
  if (ends_with(".txt")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

WebFiles::WebFiles(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    net::log(net::LogLevel::kWarn, "web directory ", dir,
             " not found; the browser client will not be served");
    return;
  }
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    // Symbolic links are skipped: fs::relative would resolve one to its target's path, which
    // may lie outside the web directory and would then be served under a "../" name.
    if (it->is_symlink(ec) || !it->is_regular_file(ec)) {
      continue;
    }
    std::string relative = it->path().lexically_relative(dir).generic_string();
    std::ifstream in(it->path(), std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    files_.emplace("/" + relative,
                   WebFile{std::string(content_type_for(relative)),
                           std::make_shared<const std::string>(bytes.str())});
  }
}

const WebFile* WebFiles::find(std::string_view path) const {
  if (path == "/") {
    path = "/index.html";
  }
  // Only exact names read at start-up match, so "..", encoded or not, cannot escape the dir.
  auto it = files_.find(path);
  return it == files_.end() ? nullptr : &it->second;
}

}  // namespace parley::im
