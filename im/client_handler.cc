#include "im/client_handler.h"

#include <cctype>
#include <charconv>

#include "im/api.h"
#include "im/chat_session.h"
#include "im/credentials.h"
#include "im/json.h"
#include "im/media.h"
#include "im/media_sender.h"
#include "im/upload_receiver.h"
#include "net/log.h"
#include "ws/handshake.h"
#include "ws/upgrade.h"

namespace parley::im {

namespace {
// An HTTP connection that sends nothing for this long is closed. A request head that trickles
// in byte by byte is bounded by the handshake timeout instead (request_head_overdue()).
constexpr int64_t kHttpIdleMs = 30000;
// A connection with a request or a response in progress (a slow download, say) receives
// nothing while it works, so it may stay silent this much longer.
constexpr int64_t kHttpBusyIdleMs = 10 * kHttpIdleMs;
// Responses queued for a client that does not read them, above which the next pipelined
// request waits until the client has read half of them.
constexpr size_t kMaxQueuedResponseBytes = 1 << 20;
// Bodies of requests other than uploads, which the server reads whole before routing them.
constexpr size_t kMaxBufferedBodyBytes = 256 * 1024;

// The only subprotocol of /chat. A client that offers it gets it confirmed in the handshake
// response. A client that offers none, or only others, gets the same chat protocol and a
// response without Sec-WebSocket-Protocol.
const std::vector<std::string> kChatSubprotocols = {"parley.v1"};
}  // namespace

std::string bearer_token(const net::HttpRequest& request) {
  auto header = request.header("authorization");
  if (!header) {
    return {};
  }
  std::string_view value = *header;
  // The scheme name is case-insensitive (RFC 9110, section 11.1).
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size()) {
    return {};
  }
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != kScheme[i]) {
      return {};
    }
  }
  return std::string(value.substr(kScheme.size()));
}

net::HttpResponse json_response(int status, std::string body) {
  net::HttpResponse response;
  response.status = status;
  response.headers.emplace_back("Content-Type", "application/json");
  response.headers.emplace_back("Cache-Control", "no-store");
  response.body = std::move(body);
  return response;
}

net::HttpResponse error_response(int status, std::string_view code, std::string_view message) {
  return json_response(status, error_body(code, message));
}

void respond(Server& server, int loop_index, uint64_t conn_id, net::HttpResponse response) {
  LoopContext* ctx = &server.context(loop_index);
  ctx->loop.post([ctx, conn_id, response = std::move(response)] {
    net::Connection* conn = ctx->tcp->find(conn_id);
    if (conn == nullptr) {
      return;  // the client went away while the store worked
    }
    static_cast<ClientHandler*>(conn->handler())->finish_request(response);
  });
}

void post_to_handler(Server& server, int loop_index, uint64_t conn_id,
                     std::function<void(ClientHandler&)> task) {
  LoopContext* ctx = &server.context(loop_index);
  ctx->loop.post([ctx, conn_id, task = std::move(task)] {
    net::Connection* conn = ctx->tcp->find(conn_id);
    if (conn == nullptr || conn->closed()) {
      return;  // the client went away while the worker ran
    }
    task(*static_cast<ClientHandler*>(conn->handler()));
  });
}

void on_accept(LoopContext& ctx, net::Connection& conn) {
  ctx.server.metrics().connections_open.fetch_add(1, std::memory_order_relaxed);
  ctx.server.metrics().connections_total.fetch_add(1, std::memory_order_relaxed);
  conn.set_handler(std::make_unique<ClientHandler>(ctx, conn));
}

void start_sweeps(LoopContext& ctx) {
  int64_t idle_ms = ctx.server.config().idle_timeout_ms;
  int64_t head_ms = ctx.server.config().handshake_timeout_ms;
  int64_t interval = std::max<int64_t>(250, std::min({idle_ms, kHttpIdleMs, head_ms}) / 4);
  LoopContext* raw = &ctx;
  // One timer per loop visits every connection, so an idle connection owns no timer object.
  ctx.sweep_timer = ctx.loop.run_every(interval, [raw, idle_ms] {
    int64_t now = raw->loop.now_ms();
    raw->tcp->for_each([&](net::Connection& conn) {
      auto* handler = static_cast<ClientHandler*>(conn.handler());
      int64_t silent = now - handler->last_activity_ms();
      if (handler->chat() != nullptr) {
        handler->chat()->on_idle_check(silent, idle_ms);
      } else if (handler->request_head_overdue(now)) {
        conn.close("request head timed out");
      } else if (silent > (handler->busy() ? kHttpBusyIdleMs : kHttpIdleMs)) {
        conn.close("HTTP connection idle");
      }
    });
  });
}

ClientHandler::ClientHandler(LoopContext& ctx, net::Connection& conn) : ctx_(ctx), conn_(conn) {
  // Uploads stream their body to disk under their own limit. Every other body is buffered
  // whole, so it gets a limit fit for JSON (a group of 5,000 member ids is about 85 KB).
  limits_.max_body_bytes = kMaxBufferedBodyBytes;
}

ClientHandler::~ClientHandler() = default;

size_t ClientHandler::on_data(net::Connection&, char* data, size_t len) {
  if (chat_) {
    return chat_->on_data(data, len);
  }
  return on_http_data(data, len);
}

void ClientHandler::on_closed(net::Connection&) {
  ctx_.server.metrics().connections_open.fetch_sub(1, std::memory_order_relaxed);
  if (chat_) {
    chat_->on_closed();
  }
  // Only aborted here: this may run inside a call on the upload or download, which the
  // destructor drops.
  if (upload_) {
    upload_->on_connection_closed();
  }
}

void ClientHandler::on_output_drained(net::Connection&) {
  if (download_) {
    download_->pump();
  }
  if (waiting_for_drain_) {
    waiting_for_drain_ = false;
    conn_.resume_reading();
  }
}

size_t ClientHandler::on_http_data(char* data, size_t len) {
  const std::string_view input(data, len);
  size_t consumed = 0;
  if (upload_) {
    consumed = upload_->on_body(input);
    if (upload_->done()) {
      upload_.reset();
    }
    if (conn_.closing()) {
      return len;  // refused; the rest of the body is not read
    }
  }
  consumed += parse_requests(input.substr(consumed));
  if ((request_in_flight_ && !upload_ && !conn_.closing()) ||
      (waiting_for_drain_ && !conn_.closing())) {
    // One request at a time keeps responses in order; the next one waits in the buffer. An
    // upload pauses and resumes reading itself, because its body is read while it is in flight.
    // A client that does not read its responses waits until they drain.
    conn_.pause_reading();
  }
  // Time only a head the client is still sending: a body may take as long as its size needs,
  // and bytes behind a request in flight wait for us, not for the client.
  const std::string_view pending = input.substr(consumed);
  if (request_in_flight_ || chat_ || pending.empty() ||
      pending.find("\r\n\r\n") != std::string_view::npos) {
    head_started_ms_ = -1;
  } else if (head_started_ms_ < 0) {
    head_started_ms_ = ctx_.loop.now_ms();
  }
  return consumed;
}

size_t ClientHandler::parse_requests(std::string_view input) {
  size_t consumed = 0;
  // A request served at once (static files, errors, /metrics) ends inside dispatch(). Then
  // waiting_for_drain_ stops the loop, so unread responses stay bounded.
  while (!request_in_flight_ && !waiting_for_drain_ && !chat_ && !conn_.closing()) {
    const std::string_view pending = input.substr(consumed);
    net::HttpRequest request;
    size_t body_length = 0;
    net::ParseResult result =
        net::parse_http_head(pending, limits_.max_header_bytes, request, body_length);
    if (result.status == net::ParseStatus::kNeedMore) {
      break;
    }
    if (result.status == net::ParseStatus::kError) {
      request_in_flight_ = true;
      finish_request(error_response(result.error_status, "invalid_argument",
                                    "malformed or oversized HTTP request"),
                     true);
      return input.size();
    }
    if (is_upload_request(request)) {
      consumed += result.consumed;
      start_upload(std::move(request), body_length);
      continue;  // the upload reads its body itself; the loop ends unless it was refused at once
    }
    if (body_length > limits_.max_body_bytes) {
      request_in_flight_ = true;
      finish_request(error_response(413, "too_large",
                                    "request body of " + std::to_string(body_length) +
                                        " bytes is over the limit of " +
                                        std::to_string(limits_.max_body_bytes) + " bytes"),
                     true);
      return input.size();
    }
    if (pending.size() - result.consumed < body_length) {
      break;
    }
    request.body.assign(pending.substr(result.consumed, body_length));
    consumed += result.consumed + body_length;
    head_started_ms_ = -1;
    ctx_.server.metrics().http_requests.fetch_add(1, std::memory_order_relaxed);
    keep_alive_ = request.keep_alive();
    request_in_flight_ = true;
    head_request_ = request.method == "HEAD";
    dispatch(std::move(request));
  }
  return consumed;
}

void ClientHandler::start_upload(net::HttpRequest&& head, size_t body_length) {
  head_started_ms_ = -1;
  ctx_.server.metrics().http_requests.fetch_add(1, std::memory_order_relaxed);
  keep_alive_ = head.keep_alive();
  request_in_flight_ = true;
  head_request_ = false;
  upload_ = std::make_unique<UploadReceiver>(*this, next_upload_id_++);
  upload_->start(std::move(head), body_length);
  if (upload_->done()) {
    upload_.reset();
  }
}

void ClientHandler::with_upload(uint64_t upload_id,
                                const std::function<void(UploadReceiver&)>& step) {
  if (!upload_ || upload_->id() != upload_id || conn_.closed()) {
    return;
  }
  step(*upload_);
  if (upload_->done()) {
    upload_.reset();
  }
}

int64_t ClientHandler::last_activity_ms() const {
  int64_t last = conn_.last_read_ms();
  if (download_) {
    last = std::max(last, download_->last_progress_ms());
  }
  return last;
}

bool ClientHandler::request_head_overdue(int64_t now_ms) const {
  return head_started_ms_ >= 0 &&
         now_ms - head_started_ms_ >= ctx_.server.config().handshake_timeout_ms;
}

void ClientHandler::finish_request(const net::HttpResponse& response, bool close_connection) {
  if (!request_in_flight_) {
    return;
  }
  if (close_connection) {
    keep_alive_ = false;
  }
  const net::SendStatus status =
      head_request_ ? conn_.send(response.serialize_head(keep_alive_, response.body.size()))
                    : conn_.send(response.serialize(keep_alive_));
  if (status == net::SendStatus::kOverHighWater) {
    // Reading pauses long before this (kMaxQueuedResponseBytes), so only a client that stopped
    // reading while a large response was queued gets here. A dropped response must not go
    // unnoticed, so the connection is closed.
    net::log(net::LogLevel::kWarn, "conn ", conn_.id(), " closed: ", conn_.queued_bytes(),
             " bytes of responses unread");
    conn_.close("output above high-water mark");
    return;
  }
  end_request();
}

void ClientHandler::end_request() {
  request_in_flight_ = false;
  head_request_ = false;
  if (keep_alive_ && conn_.queued_bytes() > kMaxQueuedResponseBytes) {
    // A client that pipelines requests without reading the responses would otherwise make the
    // server buffer them without bound.
    waiting_for_drain_ = true;
    conn_.notify_when_drained(kMaxQueuedResponseBytes / 2);
    return;
  }
  // Reading resumes even before a close, so that a client still sending a body that was
  // refused does not stall on a full socket before it reads the answer. The draining
  // connection discards what it reads.
  conn_.resume_reading();
  if (!keep_alive_) {
    conn_.close_after_flush();
  }
}

void ClientHandler::send_file(const net::HttpResponse& head, std::shared_ptr<MediaFile> file) {
  if (!request_in_flight_ || conn_.closing()) {
    return;
  }
  (void)conn_.send(head.serialize_head(keep_alive_, file->size));
  if (head_request_ || file->size == 0) {
    end_request();
    return;
  }
  download_ = std::make_unique<MediaSender>(*this, std::move(file));
  download_->pump();
}

void ClientHandler::on_media_piece(const MediaFile* file, std::string bytes, bool ok) {
  if (!download_ || download_->file() != file || conn_.closed()) {
    return;
  }
  download_->on_piece(std::move(bytes), ok);
  if (!conn_.closed() && download_->done()) {
    download_.reset();
    end_request();
  }
}

void ClientHandler::dispatch(net::HttpRequest&& request) {
  const std::string& path = request.path;
  if (path == "/chat") {
    handle_upgrade(std::move(request));
    return;
  }
  if (path.starts_with("/api/")) {
    handle_api(*this, std::move(request));
    return;
  }
  if (path.starts_with("/media/")) {
    serve_media(*this, std::move(request));
    return;
  }
  serve_static(request);
}

void ClientHandler::serve_static(const net::HttpRequest& request) {
  const std::string& path = request.path;
  if (request.method != "GET" && request.method != "HEAD") {
    net::HttpResponse response =
        error_response(405, "invalid_argument", "method not allowed on this path");
    response.headers.emplace_back("Allow", "GET, HEAD");
    finish_request(response);
    return;
  }
  if (path == "/healthz") {
    finish_request(json_response(200, "{\"status\":\"ok\"}"));
    return;
  }
  if (path == "/metrics") {
    net::HttpResponse response;
    response.headers.emplace_back("Content-Type", "text/plain; version=0.0.4");
    response.body = ctx_.server.metrics().render();
    finish_request(response);
    return;
  }
  const WebFile* file = ctx_.server.web_files().find(path);
  if (file == nullptr) {
    finish_request(error_response(404, "not_found", "no such page"));
    return;
  }
  net::HttpResponse head;
  head.headers.emplace_back("Content-Type", file->content_type);
  head.headers.emplace_back("X-Content-Type-Options", "nosniff");
  head.headers.emplace_back("Cache-Control", "no-cache");
  // The file's bytes are queued as they are shared by all connections, without a copy.
  (void)conn_.send(head.serialize_head(keep_alive_, file->body->size()));
  if (!head_request_) {
    (void)conn_.send(file->body);
  }
  end_request();
}

void ClientHandler::handle_upgrade(net::HttpRequest&& request) {
  keep_alive_ = false;  // a failed handshake closes the connection
  ws::HandshakeCheck check = ws::check_upgrade_request(request);
  if (check.status != 101) {
    net::HttpResponse response;
    response.status = check.status;
    response.headers.emplace_back("Content-Type", "text/plain");
    if (check.status == 426) {
      response.headers.emplace_back("Sec-WebSocket-Version", "13");
    }
    response.body = check.error + "\n";
    finish_request(response);
    return;
  }
  std::string subprotocol = ws::select_subprotocol(request, kChatSubprotocols);
  const std::optional<ws::DeflateParams> deflate = ws::negotiate_permessage_deflate(
      request, ws::DeflateOptions{.enabled = ctx_.server.config().deflate});
  std::string extra_headers = ws::subprotocol_header(subprotocol);
  if (deflate) {
    extra_headers += ws::deflate_response_header(*deflate);
  }
  std::string response = ws::build_accept_response(check.accept_key, extra_headers);
  std::string token = bearer_token(request);
  if (token.empty()) {
    token = request.query_param("token").value_or("");
  }
  if (token.empty()) {
    finish_request(error_response(401, "unauthenticated", "missing token"));
    return;
  }
  int64_t claimed_id = 0;
  if (auto id = request.query_param("id")) {
    auto [end, error] = std::from_chars(id->data(), id->data() + id->size(), claimed_id);
    if (error != std::errc() || end != id->data() + id->size() || claimed_id <= 0) {
      finish_request(error_response(400, "invalid_argument", "id must be a positive integer"));
      return;
    }
  }
  Server* server = &ctx_.server;
  int loop_index = ctx_.loop.index();
  uint64_t conn_id = conn_.id();
  std::string hash = token_hash(token);
  server->store().read([=](store::Store& store) {
    std::optional<store::User> user;
    try {
      if (auto user_id = store.find_token(hash)) {
        user = store.get_user(*user_id);
      }
    } catch (const store::StoreError& e) {
      net::log(net::LogLevel::kError, "conn ", conn_id, ": token lookup failed: ", e.what());
      respond(*server, loop_index, conn_id,
              error_response(503, "unavailable", "the store is unavailable; retry later"));
      return;
    }
    if (!user || (claimed_id != 0 && claimed_id != user->id)) {
      respond(*server, loop_index, conn_id,
              error_response(401, "unauthenticated", "invalid or expired token"));
      return;
    }
    LoopContext* ctx = &server->context(loop_index);
    ctx->loop.post([ctx, conn_id, user = *user, hash, response, deflate] {
      if (net::Connection* conn = ctx->tcp->find(conn_id)) {
        static_cast<ClientHandler*>(conn->handler())->upgrade(user, hash, response, deflate);
      }
    });
  });
}

void ClientHandler::upgrade(const store::User& user, const std::string& hash,
                            const std::string& handshake_response,
                            const std::optional<ws::DeflateParams>& deflate) {
  request_in_flight_ = false;
  keep_alive_ = true;
  (void)conn_.send(handshake_response);
  chat_ = std::make_unique<ChatSession>(*this, user, hash);
  if (deflate) {
    chat_->enable_permessage_deflate(*deflate);
  }
  chat_->start();
  // Frames the client pipelined right behind its handshake are waiting in the input buffer.
  conn_.resume_reading();
}

}  // namespace parley::im
