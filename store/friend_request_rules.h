#pragma once
// The decision of Store::create_friend_request, shared by the SQL backends so that both decide
// alike. A backend runs it inside its write transaction and supplies the queries.

#include <cstdint>
#include <functional>
#include <optional>

#include "store/types.h"

namespace parley::store::rules {

// The queries the decision needs, each run in the caller's transaction.
struct FriendRequestQueries {
  std::function<bool(int64_t a, int64_t b)> are_friends;
  // The newest request from `from` to `to` in `state`.
  std::function<std::optional<FriendRequest>(int64_t from, int64_t to, RequestState state)> find;
  // Stores a new request and returns it.
  std::function<FriendRequest(int64_t from, int64_t to, RequestState state)> insert;
  // Sets a pending request to accepted and stores the friendship of its two users.
  std::function<void(const FriendRequest& request)> accept;
};

// Decides create_friend_request for a request from `from` to `to`, stores its changes and
// returns the request to report. A mutual request accepts the pending one, and a new request is
// inserted only when no pending or accepted one applies.
FriendRequest create_friend_request(const FriendRequestQueries& queries, int64_t from, int64_t to);

}  // namespace parley::store::rules
