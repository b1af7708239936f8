#include "im/media.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "im/api.h"
#include "im/media_sender.h"
#include "net/log.h"

namespace parley::im {

namespace fs = std::filesystem;

SniffedType sniff_type(std::string_view b) {
  if (b.size() >= 8 && b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) {
    return {"image/png", "png", true};
  }
  if (b.size() >= 3 && b.substr(0, 3) == "\xFF\xD8\xFF") {
    return {"image/jpeg", "jpg", true};
  }
  if (b.size() >= 6 && (b.substr(0, 6) == "GIF87a" || b.substr(0, 6) == "GIF89a")) {
    return {"image/gif", "gif", true};
  }
  if (b.size() >= 12 && b.substr(0, 4) == "RIFF" && b.substr(8, 4) == "WEBP") {
    return {"image/webp", "webp", true};
  }
  return {"application/octet-stream", "bin", false};
}

bool valid_media_name(std::string_view name) {
  size_t dot = name.find('.');
  if (dot != 32) {
    return false;
  }
  for (size_t i = 0; i < 32; ++i) {
    char c = name[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  std::string_view ext = name.substr(33);
  return ext == "png" || ext == "jpg" || ext == "gif" || ext == "webp" || ext == "bin";
}

namespace {

// Returns an attachment Content-Disposition whose filename holds only characters that need no
// quoting or escaping, so that no name can end the quoted string or the header value.
std::string attachment_disposition(std::string_view filename) {
  std::string safe;
  for (char c : filename) {
    bool plain = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 c == '.' || c == '-' || c == '_';
    safe += plain ? c : '_';
  }
  return "attachment; filename=\"" + safe + "\"";
}

}  // namespace

// ClientHandler streams POST /api/upload to an UploadReceiver from the request head
// (im/upload_receiver.h), so the router never calls this. The route stays in the table so that
// other methods on the path get 405 with "Allow: POST".
ApiResult api_upload(ApiCall&, store::Store&) {
  return error_response(500, "internal", "uploads are not handled by the API router");
}

void serve_media(ClientHandler& handler, net::HttpRequest&& request) {
  if (request.method != "GET" && request.method != "HEAD") {
    net::HttpResponse response = error_response(405, "invalid_argument", "method not allowed");
    response.headers.emplace_back("Allow", "GET, HEAD");
    handler.finish_request(response);
    return;
  }
  std::string name = request.path.substr(7);
  if (!valid_media_name(name)) {
    handler.finish_request(error_response(404, "not_found", "no such file"));
    return;
  }
  Server* server = &handler.context().server;
  int loop = handler.context().loop.index();
  uint64_t conn = handler.connection().id();
  // Opening and reading files block, so they run on a store worker like every other blocking
  // call. The body is read later, piece by piece, by the connection's MediaSender.
  server->store().read([server, loop, conn, name](store::Store&) {
    std::string path = (fs::path(server->config().media_dir) / name).string();
    // Uploads are stored under content-hash names, never as links, so a link placed in the
    // media directory is not followed out of it. ELOOP gets the same 404 as a missing file.
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
      if (errno != ENOENT && errno != ELOOP) {
        net::log(net::LogLevel::kError, "conn ", conn, ": opening ", path,
                 " failed: ", std::strerror(errno));
      }
      respond(*server, loop, conn, error_response(404, "not_found", "no such file"));
      return;
    }
    struct stat status {};
    if (::fstat(fd, &status) != 0 || !S_ISREG(status.st_mode)) {
      ::close(fd);
      respond(*server, loop, conn, error_response(404, "not_found", "no such file"));
      return;
    }
    auto file = std::make_shared<MediaFile>(fd, static_cast<uint64_t>(status.st_size));
    char first_bytes[16];
    ssize_t count = ::pread(fd, first_bytes, sizeof first_bytes, 0);
    SniffedType type = sniff_type(std::string_view(first_bytes, count > 0 ? count : 0));

    net::HttpResponse head;
    head.headers.emplace_back("Content-Type", std::string(type.mime));
    head.headers.emplace_back("X-Content-Type-Options", "nosniff");
    head.headers.emplace_back("Cache-Control", "public, max-age=31536000, immutable");
    if (!type.inline_image) {
      head.headers.emplace_back("Content-Disposition", attachment_disposition(name));
    }
    post_to_handler(*server, loop, conn, [head = std::move(head), file](ClientHandler& handler) {
      handler.send_file(head, file);
    });
  });
}

}  // namespace parley::im
