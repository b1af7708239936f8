// Friends and blocks. Every change that affects who may message whom drops the owner loop's
// cached authorization of that conversation (invalidate_conv).

#include <unordered_set>

#include "im/api.h"
#include "im/clock.h"
#include "im/delivery.h"
#include "im/json.h"
#include "ws/frame.h"

namespace parley::im {

namespace {
// Writes REQ with both users' USER objects, so that a client can show who asked without
// looking the ids up. A user deleted meanwhile is left out.
void write_request_with_users(JsonWriter& w, const store::FriendRequest& request,
                              store::Store& store) {
  std::optional<store::User> from = store.get_user(request.from);
  std::optional<store::User> to = store.get_user(request.to);
  write_request(w, request, from ? &*from : nullptr, to ? &*to : nullptr);
}

void notify_request(Server& server, const store::FriendRequest& request, store::Store& store) {
  std::string json = json_object([&](JsonWriter& w) {
    w.Key("cmd");
    w.Int(51);
    w.Key("request");
    write_request_with_users(w, request, store);
  });
  route_frame(server, {request.from, request.to},
              std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::kText, json)));
}

// Tells `to` that the friendship with `other` ended. The frame differs per side (each names
// the other user), so it is encoded twice.
void notify_unfriended(Server& server, int64_t to, int64_t other) {
  std::string json = json_object([&](JsonWriter& w) {
    w.Key("cmd");
    w.Int(51);
    w.Key("event");
    w.String("removed");
    w.Key("userid");
    w.Int64(other);
  });
  route_frame(server, {to},
              std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::kText, json)));
}

std::string request_body(const store::FriendRequest& request, store::Store& store) {
  return json_object([&](JsonWriter& w) {
    w.Key("request");
    write_request_with_users(w, request, store);
  });
}

net::HttpResponse no_content() {
  net::HttpResponse response;
  response.status = 204;
  return response;
}

ApiResult answer_request(ApiCall& call, store::Store& store, bool accept) {
  auto request = store.get_friend_request(call.ids[0]);
  // Only the addressee may answer; to anyone else the request does not exist.
  if (!request || request->to != call.user) {
    return not_found("friend request not found");
  }
  if (request->state != store::RequestState::kPending) {
    return error_response(409, "conflict", "friend request was already answered");
  }
  auto answered = store.answer_friend_request(request->id, accept);
  if (!answered) {
    return not_found("friend request not found");
  }
  if (accept) {
    invalidate_conv(*call.server, store::ConvKey::direct(answered->from, answered->to));
  }
  notify_request(*call.server, *answered, store);
  return json_response(200, request_body(*answered, store));
}
}  // namespace

ApiResult api_send_friend_request(ApiCall& call, store::Store& store) {
  auto to = body_id(call, "user_id");
  if (!to) {
    return bad_request("user_id must be a positive integer");
  }
  if (*to == call.user) {
    return bad_request("you cannot befriend yourself");
  }
  if (!store.get_user(*to)) {
    return not_found("user not found");
  }
  if (store.is_blocked(*to, call.user)) {
    return forbidden("this user does not accept requests from you");
  }
  auto request = store.create_friend_request(call.user, *to, unix_ms());
  if (request.state == store::RequestState::kAccepted) {
    invalidate_conv(*call.server, store::ConvKey::direct(call.user, *to));
  }
  notify_request(*call.server, request, store);
  return json_response(201, request_body(request, store));
}

ApiResult api_list_friend_requests(ApiCall& call, store::Store& store) {
  auto requests = store.pending_requests(call.user);
  return json_response(200, json_object([&](JsonWriter& w) {
                         for (bool incoming : {true, false}) {
                           w.Key(incoming ? "incoming" : "outgoing");
                           w.StartArray();
                           for (const auto& request : requests) {
                             if ((request.to == call.user) == incoming) {
                               write_request_with_users(w, request, store);
                             }
                           }
                           w.EndArray();
                         }
                       }));
}

ApiResult api_accept_friend_request(ApiCall& call, store::Store& store) {
  return answer_request(call, store, true);
}

ApiResult api_decline_friend_request(ApiCall& call, store::Store& store) {
  return answer_request(call, store, false);
}

ApiResult api_list_friends(ApiCall& call, store::Store& store) {
  auto friends = store.friends(call.user);
  std::vector<int64_t> ids;
  for (const auto& user : friends) {
    ids.push_back(user.id);
  }
  // Presence lives in the directory shards on the loops: ask them, then answer.
  auto keep = std::make_shared<std::vector<store::User>>(std::move(friends));
  Server* server = call.server;
  int loop = call.loop;
  uint64_t conn = call.conn;
  query_online(*server, loop, std::move(ids),
               [server, loop, conn, keep](std::unordered_set<int64_t> online) {
                 std::string body = json_object([&](JsonWriter& w) {
                   w.Key("friends");
                   w.StartArray();
                   for (const auto& user : *keep) {
                     w.StartObject();
                     w.Key("id");
                     w.Int64(user.id);
                     w.Key("username");
                     write_string(w, user.username);
                     w.Key("nickname");
                     write_string(w, user.nickname);
                     w.Key("avatar");
                     write_string(w, user.avatar);
                     w.Key("online");
                     w.Bool(online.count(user.id) != 0);
                     w.EndObject();
                   }
                   w.EndArray();
                 });
                 respond(*server, loop, conn, json_response(200, std::move(body)));
               });
  return std::nullopt;
}

ApiResult api_remove_friend(ApiCall& call, store::Store& store) {
  int64_t other = call.ids[0];
  if (!store.are_friends(call.user, other)) {
    return not_found("not a friend");
  }
  store.remove_friend(call.user, other);
  invalidate_conv(*call.server, store::ConvKey::direct(call.user, other));
  notify_unfriended(*call.server, call.user, other);
  notify_unfriended(*call.server, other, call.user);
  return no_content();
}

ApiResult api_block(ApiCall& call, store::Store& store) {
  int64_t other = call.ids[0];
  if (other == call.user) {
    return bad_request("you cannot block yourself");
  }
  if (!store.get_user(other)) {
    return not_found("user not found");
  }
  store.block(call.user, other);
  invalidate_conv(*call.server, store::ConvKey::direct(call.user, other));
  return no_content();
}

ApiResult api_unblock(ApiCall& call, store::Store& store) {
  int64_t other = call.ids[0];
  store.unblock(call.user, other);
  invalidate_conv(*call.server, store::ConvKey::direct(call.user, other));
  return no_content();
}

}  // namespace parley::im
