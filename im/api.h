#pragma once
// The JSON/HTTP API under /api/. Handlers run on store workers (they block on the store and,
// for register and login, on the password KDF), never on the event loop; the answer is posted
// back to the connection's loop.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "im/client_handler.h"
#include "net/http_message.h"

namespace parley::im {

// Everything a handler needs, copied off the loop.
struct ApiCall {
  Server* server = nullptr;
  int loop = 0;
  uint64_t conn = 0;
  std::string peer;  // the client's address, "host:port"
  net::HttpRequest request;
  std::vector<int64_t> ids;  // the numeric path segments matched by the route, in order
  int64_t user = 0;          // the authenticated caller, 0 for public routes
  std::string token_hash;
  rapidjson::Document body;  // parsed JSON body (an object) for routes that take one

  // Sends the response later, for handlers that return nullopt and finish elsewhere.
  void respond_later(net::HttpResponse response) const;
};

// A handler returns its response, or nullopt when it arranged to answer later itself.
using ApiResult = std::optional<net::HttpResponse>;

// Routes one request (path starting with /api/). Loop thread.
void handle_api(ClientHandler& handler, net::HttpRequest&& request);

// Handlers by area. Store-worker threads.
ApiResult api_register(ApiCall& call, store::Store& store);
ApiResult api_login(ApiCall& call, store::Store& store);
ApiResult api_logout(ApiCall& call, store::Store& store);
ApiResult api_me(ApiCall& call, store::Store& store);
ApiResult api_search_users(ApiCall& call, store::Store& store);
ApiResult api_send_friend_request(ApiCall& call, store::Store& store);
ApiResult api_list_friend_requests(ApiCall& call, store::Store& store);
ApiResult api_accept_friend_request(ApiCall& call, store::Store& store);
ApiResult api_decline_friend_request(ApiCall& call, store::Store& store);
ApiResult api_list_friends(ApiCall& call, store::Store& store);
ApiResult api_remove_friend(ApiCall& call, store::Store& store);
ApiResult api_block(ApiCall& call, store::Store& store);
ApiResult api_unblock(ApiCall& call, store::Store& store);
ApiResult api_create_group(ApiCall& call, store::Store& store);
ApiResult api_list_groups(ApiCall& call, store::Store& store);
ApiResult api_get_group(ApiCall& call, store::Store& store);
ApiResult api_join_group(ApiCall& call, store::Store& store);
ApiResult api_add_member(ApiCall& call, store::Store& store);
ApiResult api_remove_member(ApiCall& call, store::Store& store);
ApiResult api_set_member_role(ApiCall& call, store::Store& store);
ApiResult api_conversations(ApiCall& call, store::Store& store);
ApiResult api_messages(ApiCall& call, store::Store& store);
ApiResult api_upload(ApiCall& call, store::Store& store);

// Shared by the handlers.
net::HttpResponse bad_request(std::string_view message);
net::HttpResponse forbidden(std::string_view message);
net::HttpResponse not_found(std::string_view message);
// Reads a required positive integer member of the JSON body.
std::optional<int64_t> body_id(const ApiCall& call, const char* name);
std::optional<std::string> body_string(const ApiCall& call, const char* name);

}  // namespace parley::im
