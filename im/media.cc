#include "im/media.h"

#include <xxhash.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "im/api.h"
#include "im/json.h"
#include "net/log.h"
#include "net/multipart.h"

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

ApiResult api_upload(ApiCall& call, store::Store&) {
  auto content_type = call.request.header("content-type");
  auto boundary = content_type ? net::multipart_boundary(*content_type) : std::nullopt;
  if (!boundary) {
    return bad_request("upload must be multipart/form-data with a boundary");
  }
  std::vector<net::MultipartPart> parts;
  if (!net::parse_multipart(call.request.body, *boundary, parts)) {
    return bad_request("malformed multipart/form-data body");
  }
  const net::MultipartPart* file = nullptr;
  for (const auto& part : parts) {
    if (part.name == "file") {
      file = &part;
      break;
    }
  }
  if (file == nullptr) {
    return bad_request("missing form field \"file\"");
  }
  if (file->data.size() > call.server->config().max_upload_bytes) {
    return error_response(413, "too_large", "file exceeds the upload limit");
  }
  SniffedType type = sniff_type(file->data);
  XXH128_hash_t hash = XXH3_128bits(file->data.data(), file->data.size());
  char hex[33];
  std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(hash.high64),
                static_cast<unsigned long long>(hash.low64));
  std::string name = std::string(hex) + "." + std::string(type.extension);
  fs::path dir = call.server->config().media_dir;
  fs::path path = dir / name;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    fs::create_directories(dir, ec);
    // Write to a temporary name and rename, so a crash never leaves a truncated file under
    // the final name (which a later identical upload would then trust).
    fs::path temp = dir / (name + ".tmp" + std::to_string(call.conn));
    {
      std::ofstream out(temp, std::ios::binary | std::ios::trunc);
      out.write(file->data.data(), static_cast<std::streamsize>(file->data.size()));
      if (!out) {
        net::log(net::LogLevel::kError, "upload by user ", call.user, ": writing ", temp.string(),
                 " failed");
        return error_response(500, "internal", "could not store the file");
      }
    }
    fs::rename(temp, path, ec);
    if (ec) {
      net::log(net::LogLevel::kError, "upload by user ", call.user, ": rename failed: ",
               ec.message());
      return error_response(500, "internal", "could not store the file");
    }
  }
  return json_response(201, json_object([&](JsonWriter& w) {
                         w.Key("url");
                         write_string(w, "/media/" + name);
                         w.Key("size");
                         w.Uint64(file->data.size());
                         w.Key("mime");
                         write_string(w, type.mime);
                       }));
}

void serve_media(ClientHandler& handler, net::HttpRequest&& request) {
  if (request.method != "GET") {
    handler.finish_request(error_response(405, "invalid_argument", "method not allowed"));
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
  // File reads block, so they run on a store worker like every other blocking call.
  server->store().read([server, loop, conn, name](store::Store&) {
    std::ifstream in(fs::path(server->config().media_dir) / name, std::ios::binary);
    if (!in) {
      respond(*server, loop, conn, error_response(404, "not_found", "no such file"));
      return;
    }
    std::ostringstream bytes;
    bytes << in.rdbuf();
    net::HttpResponse response;
    response.body = bytes.str();
    SniffedType type = sniff_type(response.body);
    response.headers.emplace_back("Content-Type", std::string(type.mime));
    response.headers.emplace_back("X-Content-Type-Options", "nosniff");
    response.headers.emplace_back("Cache-Control", "public, max-age=31536000, immutable");
    if (!type.inline_image) {
      response.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + name + "\"");
    }
    respond(*server, loop, conn, std::move(response));
  });
}

}  // namespace parley::im
