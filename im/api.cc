#include "im/api.h"

#include <charconv>
#include <memory>

#include "im/credentials.h"
#include "im/json.h"
#include "net/log.h"

namespace parley::im {

namespace {

using Handler = ApiResult (*)(ApiCall&, store::Store&);

struct Route {
  const char* method;
  const char* pattern;  // "/api/groups/#/members": '#' matches a positive integer segment
  bool authenticated;
  bool json_body;
  Handler handler;
  // Runs on the slow-job threads: routes that compute a password hash.
  bool slow = false;
};

constexpr Route kRoutes[] = {
    {"POST", "/api/register", false, true, api_register, true},
    {"POST", "/api/login", false, true, api_login, true},
    {"POST", "/api/logout", true, false, api_logout},
    {"GET", "/api/me", true, false, api_me},
    {"GET", "/api/users", true, false, api_search_users},
    {"POST", "/api/friends/requests", true, true, api_send_friend_request},
    {"GET", "/api/friends/requests", true, false, api_list_friend_requests},
    {"POST", "/api/friends/requests/#/accept", true, false, api_accept_friend_request},
    {"POST", "/api/friends/requests/#/decline", true, false, api_decline_friend_request},
    {"GET", "/api/friends", true, false, api_list_friends},
    {"DELETE", "/api/friends/#", true, false, api_remove_friend},
    {"POST", "/api/blocks/#", true, false, api_block},
    {"DELETE", "/api/blocks/#", true, false, api_unblock},
    {"POST", "/api/groups", true, true, api_create_group},
    {"GET", "/api/groups", true, false, api_list_groups},
    {"GET", "/api/groups/#", true, false, api_get_group},
    {"POST", "/api/groups/#/join", true, false, api_join_group},
    {"POST", "/api/groups/#/members", true, true, api_add_member},
    {"DELETE", "/api/groups/#/members/#", true, false, api_remove_member},
    {"PUT", "/api/groups/#/members/#", true, true, api_set_member_role},
    {"GET", "/api/conversations", true, false, api_conversations},
    {"GET", "/api/messages", true, false, api_messages},
    {"POST", "/api/upload", true, false, api_upload},
};

// Matches `path` against `pattern` segment by segment, collecting '#' segments into `ids`.
bool match(std::string_view pattern, std::string_view path, std::vector<int64_t>& ids) {
  ids.clear();
  while (!pattern.empty() && !path.empty()) {
    size_t p_end = pattern.find('/', 1);
    size_t s_end = path.find('/', 1);
    std::string_view p_seg = pattern.substr(0, p_end);
    std::string_view s_seg = path.substr(0, s_end);
    if (p_seg == "/#") {
      int64_t id = 0;
      const char* begin = s_seg.data() + 1;
      const char* end = s_seg.data() + s_seg.size();
      auto [ptr, ec] = std::from_chars(begin, end, id);
      if (s_seg.size() < 2 || ec != std::errc() || ptr != end || id <= 0) {
        return false;
      }
      ids.push_back(id);
    } else if (p_seg != s_seg) {
      return false;
    }
    pattern = p_end == std::string_view::npos ? std::string_view{} : pattern.substr(p_end);
    path = s_end == std::string_view::npos ? std::string_view{} : path.substr(s_end);
  }
  return pattern.empty() && path.empty();
}

// Runs on a store worker: authenticates, then calls the route's handler.
void run_route(const Route& route, ApiCall& call, store::Store& store) {
  ApiResult result;
  try {
    if (route.authenticated) {
      std::string token = bearer_token(call.request);
      std::optional<int64_t> user;
      if (!token.empty()) {
        call.token_hash = token_hash(token);
        user = store.find_token(call.token_hash);
      }
      if (!user) {
        call.respond_later(error_response(401, "unauthenticated", "missing or invalid token"));
        return;
      }
      call.user = *user;
    }
    result = route.handler(call, store);
  } catch (const store::StoreError& e) {
    call.server->metrics().store_errors.fetch_add(1, std::memory_order_relaxed);
    net::log(net::LogLevel::kError, "conn ", call.conn, " ", call.request.method, " ",
             call.request.path, " user ", call.user, ": store error: ", e.what());
    result = error_response(503, "unavailable", "the store is unavailable; retry later");
  } catch (const std::exception& e) {
    net::log(net::LogLevel::kError, "conn ", call.conn, " ", call.request.method, " ",
             call.request.path, " user ", call.user, ": ", e.what());
    result = error_response(500, "internal", "internal error");
  }
  if (result) {
    call.respond_later(std::move(*result));
  }
}

}  // namespace

void ApiCall::respond_later(net::HttpResponse response) const {
  respond(*server, loop, conn, std::move(response));
}

net::HttpResponse bad_request(std::string_view message) {
  return error_response(400, "invalid_argument", message);
}

net::HttpResponse forbidden(std::string_view message) {
  return error_response(403, "forbidden", message);
}

net::HttpResponse not_found(std::string_view message) {
  return error_response(404, "not_found", message);
}

std::optional<int64_t> body_id(const ApiCall& call, const char* name) {
  auto it = call.body.FindMember(name);
  if (it == call.body.MemberEnd() || !it->value.IsInt64() || it->value.GetInt64() <= 0) {
    return std::nullopt;
  }
  return it->value.GetInt64();
}

std::optional<std::string> body_string(const ApiCall& call, const char* name) {
  auto it = call.body.FindMember(name);
  if (it == call.body.MemberEnd() || !it->value.IsString()) {
    return std::nullopt;
  }
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

void handle_api(ClientHandler& handler, net::HttpRequest&& request) {
  const Route* found = nullptr;
  bool path_known = false;
  std::string allowed;  // the path's methods, for the Allow header of a 405
  std::vector<int64_t> ids;
  for (const Route& route : kRoutes) {
    if (match(route.pattern, request.path, ids)) {
      path_known = true;
      if (request.method == route.method) {
        found = &route;
        break;
      }
      allowed += allowed.empty() ? "" : ", ";
      allowed += route.method;
    }
  }
  if (found == nullptr && !path_known) {
    handler.finish_request(not_found("no such API endpoint"));
    return;
  }
  if (found == nullptr) {
    net::HttpResponse response = error_response(405, "invalid_argument", "method not allowed");
    response.headers.emplace_back("Allow", allowed);
    handler.finish_request(response);
    return;
  }
  auto call = std::make_shared<ApiCall>();
  call->server = &handler.context().server;
  call->loop = handler.context().loop.index();
  call->conn = handler.connection().id();
  call->peer = handler.connection().peer_address();
  call->ids = std::move(ids);
  call->request = std::move(request);
  if (found->json_body) {
    // The iterative parser keeps its state on the heap. The default recursive one uses stack in
    // proportion to the nesting depth, so a body of 1 MB of '[' overflowed the loop's stack.
    call->body.Parse<rapidjson::kParseIterativeFlag>(call->request.body.data(),
                                                     call->request.body.size());
    if (call->body.HasParseError() || !call->body.IsObject()) {
      handler.finish_request(bad_request("the request body must be a JSON object"));
      return;
    }
  }
  const Route* route = found;
  auto job = [route, call](store::Store& store) { run_route(*route, *call, store); };
  if (route->slow) {
    call->server->store().read_slow(std::move(job));
  } else {
    call->server->store().read(std::move(job));
  }
}

}  // namespace parley::im
