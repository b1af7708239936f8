#pragma once
// Uploaded files: stored under the media directory (im/upload_receiver.h, im/upload_file.h),
// named by a hash of their content (a repeated upload is stored once), and served with a type
// decided from their first bytes, never from what the uploader claimed.

#include <string>
#include <string_view>

#include "im/client_handler.h"
#include "net/http_message.h"

namespace parley::im {

struct SniffedType {
  std::string_view mime;       // "image/png", ... or "application/octet-stream"
  std::string_view extension;  // "png", ... or "bin"
  bool inline_image = false;   // PNG, JPEG, GIF and WebP are shown inline; nothing else is
};

// Recognises PNG, JPEG, GIF and WebP by their magic bytes.
SniffedType sniff_type(std::string_view bytes);

// True for names that upload can produce: 32 hex digits, '.', a known extension.
bool valid_media_name(std::string_view name);

// GET or HEAD /media/NAME: opens the file on a store worker and answers through
// ClientHandler::send_file(), which streams the body. Loop thread.
void serve_media(ClientHandler& handler, net::HttpRequest&& request);

}  // namespace parley::im
