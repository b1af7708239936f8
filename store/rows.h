#pragma once
// Conversions shared by the SQL backends: the text forms of the enumerations they store, and
// the readers that turn a result row into a User, FriendRequest, Group or Message.
//
// A Row is a backend's statement positioned on a row. It provides
// `int64_t column_int64(int) const` and `std::string column_text(int) const`, with column
// indexes starting at 0.

#include <cstdint>
#include <string>

#include "store/store.h"

namespace parley::store::rows {

const char* request_state_name(RequestState state);
// Throws StoreError for a name no build writes.
RequestState parse_request_state(const std::string& name);
const char* role_name(Role role);
// Throws StoreError for a name no build writes.
Role parse_role(const std::string& name);

// Columns from `first`: id, username, nickname, avatar.
template <typename Row>
User read_user(const Row& row, int first) {
  User user;
  user.id = row.column_int64(first);
  user.username = row.column_text(first + 1);
  user.nickname = row.column_text(first + 2);
  user.avatar = row.column_text(first + 3);
  return user;
}

// Columns: id, from_id, to_id, state, created.
template <typename Row>
FriendRequest read_request(const Row& row) {
  FriendRequest request;
  request.id = row.column_int64(0);
  request.from = row.column_int64(1);
  request.to = row.column_int64(2);
  request.state = parse_request_state(row.column_text(3));
  request.created = row.column_int64(4);
  return request;
}

// Columns: id, name, owner, open, member count, created.
template <typename Row>
Group read_group(const Row& row) {
  Group group;
  group.id = row.column_int64(0);
  group.name = row.column_text(1);
  group.owner = row.column_int64(2);
  group.open = row.column_int64(3) != 0;
  group.member_count = row.column_int64(4);
  group.created = row.column_int64(5);
  return group;
}

// Columns: id, conv_kind, conv_a, conv_b, seq, sender, dst, ts, cid, media, content, url, pic,
// memo, amount, recalled. A NULL cid reads as empty.
template <typename Row>
Message read_message(const Row& row) {
  Message message;
  message.id = row.column_int64(0);
  message.conv.kind = static_cast<ConvKey::Kind>(row.column_int64(1));
  message.conv.a = row.column_int64(2);
  message.conv.b = row.column_int64(3);
  message.seq = row.column_int64(4);
  message.sender = row.column_int64(5);
  message.dst = row.column_int64(6);
  message.ts = row.column_int64(7);
  message.cid = row.column_text(8);
  message.media = static_cast<int>(row.column_int64(9));
  message.content = row.column_text(10);
  message.url = row.column_text(11);
  message.pic = row.column_text(12);
  message.memo = row.column_text(13);
  message.amount = row.column_int64(14);
  message.recalled = row.column_int64(15) != 0;
  return message;
}

}  // namespace parley::store::rows
