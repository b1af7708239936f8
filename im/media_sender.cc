#include "im/media_sender.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "im/client_handler.h"
#include "net/log.h"

namespace parley::im {

MediaFile::~MediaFile() {
  ::close(fd);
}

MediaSender::MediaSender(ClientHandler& handler, std::shared_ptr<MediaFile> file)
    : handler_(handler),
      file_(std::move(file)),
      last_progress_ms_(handler.context().loop.now_ms()) {}

void MediaSender::pump() {
  net::Connection& conn = handler_.connection();
  if (reading_ || requested_ == file_->size || conn.closing()) {
    return;
  }
  if (conn.queued_bytes() > kWindowBytes) {
    conn.notify_when_drained(kWindowBytes / 2);
    return;
  }
  reading_ = true;
  uint64_t offset = requested_;
  auto length = static_cast<size_t>(std::min<uint64_t>(kPieceBytes, file_->size - offset));
  requested_ += length;

  Server* server = &handler_.context().server;
  int loop = handler_.context().loop.index();
  uint64_t conn_id = conn.id();
  // File reads block, so they run on a store worker like every other blocking call.
  server->store().read([server, loop, conn_id, file = file_, offset, length](store::Store&) {
    std::string bytes(length, '\0');
    size_t done = 0;
    bool ok = true;
    while (done < length) {
      ssize_t n =
          ::pread(file->fd, bytes.data() + done, length - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        // 0 means the file is shorter than when it was opened; media files never change, so
        // something outside the server truncated it.
        net::log(net::LogLevel::kError, "conn ", conn_id, ": reading media at offset ",
                 offset + done,
                 " failed: ", n < 0 ? std::strerror(errno) : "unexpected end of file");
        ok = false;
        break;
      }
      done += static_cast<size_t>(n);
    }
    post_to_handler(*server, loop, conn_id,
                    [file, bytes = std::move(bytes), ok](ClientHandler& handler) mutable {
                      handler.on_media_piece(file.get(), std::move(bytes), ok);
                    });
  });
}

void MediaSender::on_piece(std::string bytes, bool ok) {
  reading_ = false;
  net::Connection& conn = handler_.connection();
  if (!ok) {
    conn.close("media file read failed");
    return;
  }
  sent_ += bytes.size();
  last_progress_ms_ = handler_.context().loop.now_ms();
  if (conn.send(std::move(bytes)) != net::SendStatus::kQueued) {
    return;  // closing; nothing more can be sent
  }
  pump();
}

}  // namespace parley::im
