#pragma once
// The browser client's static files, read into memory once at start-up so that serving them
// never touches the disk from an event loop. Immutable after construction: any thread may read.

#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace parley::im {

struct WebFile {
  std::string content_type;
  std::shared_ptr<const std::string> body;
};

class WebFiles {
 public:
  // Reads every regular file below `dir` (one level of subfolders and more). A missing dir
  // gives an empty set and a warning, so the API still works without the client.
  explicit WebFiles(const std::string& dir);

  // Looks up a request path ("/" means "/index.html"). Paths with "..", "//", a backslash or a
  // NUL never match: only names read at start-up can be served.
  const WebFile* find(std::string_view path) const;
  size_t size() const { return files_.size(); }

 private:
  std::map<std::string, WebFile, std::less<>> files_;  // "/index.html" -> file
};

// Guesses a Content-Type from a file name's extension.
std::string_view content_type_for(std::string_view name);

}  // namespace parley::im
