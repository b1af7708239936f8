#include "store/friend_request_rules.h"

namespace parley::store::rules {

FriendRequest create_friend_request(const FriendRequestQueries& queries, int64_t from, int64_t to) {
  if (queries.are_friends(from, to)) {
    auto sent = queries.find(from, to, RequestState::kAccepted);
    auto received = queries.find(to, from, RequestState::kAccepted);
    if (sent && (!received || sent->id > received->id)) {
      return *sent;
    }
    if (received) {
      return *received;
    }
    // The backends never create a friendship without an accepted request. If one exists
    // anyway, record an accepted request so that the returned request matches the friendship.
    return queries.insert(from, to, RequestState::kAccepted);
  }
  if (auto reverse = queries.find(to, from, RequestState::kPending)) {
    queries.accept(*reverse);
    reverse->state = RequestState::kAccepted;
    return *reverse;
  }
  if (auto existing = queries.find(from, to, RequestState::kPending)) {
    return *existing;
  }
  return queries.insert(from, to, RequestState::kPending);
}

}  // namespace parley::store::rules
