#pragma once
// Rows the store returns. Plain values, safe to move between threads.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace parley::store {

struct User {
  int64_t id = 0;
  std::string username;
  std::string nickname;
  std::string avatar;
};

// An account with its password hash, returned only to the login path.
struct Credentials {
  User user;
  std::string password_hash;  // encoded KDF output, see im/password.h
};

enum class RequestState { kPending, kAccepted, kDeclined };

struct FriendRequest {
  int64_t id = 0;
  int64_t from = 0;
  int64_t to = 0;
  RequestState state = RequestState::kPending;
  int64_t created = 0;  // Unix ms
};

enum class Role { kOwner, kAdmin, kMember };

struct Group {
  int64_t id = 0;
  std::string name;
  int64_t owner = 0;
  bool open = false;
  int64_t member_count = 0;
  int64_t created = 0;  // Unix ms
};

struct Member {
  User user;
  Role role = Role::kMember;
};

// A conversation in canonical form, the same from both sides.
// Direct: a < b are the two user ids. Group: a is the group id, b is 0.
struct ConvKey {
  enum class Kind : int { kDirect = 1, kGroup = 2 };
  Kind kind = Kind::kDirect;
  int64_t a = 0;
  int64_t b = 0;

  static ConvKey direct(int64_t x, int64_t y) {
    return x < y ? ConvKey{Kind::kDirect, x, y} : ConvKey{Kind::kDirect, y, x};
  }
  static ConvKey group(int64_t group_id) { return ConvKey{Kind::kGroup, group_id, 0}; }
  bool operator==(const ConvKey&) const = default;
};

struct Message {
  int64_t id = 0;
  ConvKey conv;
  int64_t seq = 0;
  int64_t sender = 0;
  int64_t dst = 0;  // recipient user id (direct) or group id (group)
  int64_t ts = 0;   // Unix ms, server time accepted
  std::string cid;  // the sender's own id for the message; may be empty
  int media = 1;
  std::string content;
  std::string url;
  std::string pic;
  std::string memo;
  int64_t amount = 0;
  bool recalled = false;
};

// One entry of a user's conversation list.
struct ConversationSummary {
  ConvKey conv;
  Message last;
  int64_t unread = 0;
};

}  // namespace parley::store
