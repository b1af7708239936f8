#pragma once
// The storage interface. One Store object is one database connection: it is used by one
// thread at a time (a store worker), never by an event loop. Every method is blocking.
//
// Errors: methods throw StoreError when the database fails (I/O, lost connection, corrupt
// file). Expected outcomes (name taken, not found) are part of the return values.

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "store/types.h"

namespace parley::store {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Result of inserting one message of a batch.
struct InsertResult {
  Message message;         // with id, seq and ts filled in (the original ones for a duplicate)
  bool duplicate = false;  // the sender already stored a message with this cid
};

class Store {
 public:
  virtual ~Store() = default;

  // Creates the schema if it does not exist. Called once at start-up, before any worker runs.
  virtual void migrate() = 0;

  // Accounts. create_user returns nullopt when the username is taken.
  virtual std::optional<User> create_user(std::string_view username, std::string_view password_hash,
                                          std::string_view nickname, int64_t now_ms) = 0;
  virtual std::optional<Credentials> find_credentials(std::string_view username) = 0;
  virtual std::optional<User> get_user(int64_t user_id) = 0;
  virtual std::vector<User> get_users(const std::vector<int64_t>& user_ids) = 0;
  // Usernames starting with `prefix` (case-sensitive), ordered by username.
  virtual std::vector<User> search_users(std::string_view prefix, int limit) = 0;

  // Tokens are stored as a hash of the token; the token itself never reaches the store.
  virtual void create_token(std::string_view token_hash, int64_t user_id, int64_t now_ms) = 0;
  virtual std::optional<int64_t> find_token(std::string_view token_hash) = 0;
  virtual void delete_token(std::string_view token_hash) = 0;

  // Friends. create_friend_request: if `to` already has a pending request to `from`, both become
  // friends at once and the returned request is that one, now accepted. If they are already
  // friends, or `from` already has a pending request to `to`, returns the existing request.
  virtual FriendRequest create_friend_request(int64_t from, int64_t to, int64_t now_ms) = 0;
  virtual std::optional<FriendRequest> get_friend_request(int64_t request_id) = 0;
  virtual std::vector<FriendRequest> pending_requests(int64_t user_id) = 0;  // both directions
  // Sets a pending request to accepted (creating the friendship) or declined. Returns the
  // updated request; nullopt when it does not exist. The caller checks who may answer.
  virtual std::optional<FriendRequest> answer_friend_request(int64_t request_id, bool accept) = 0;
  virtual std::vector<User> friends(int64_t user_id) = 0;
  virtual std::vector<int64_t> friend_ids(int64_t user_id) = 0;
  virtual bool are_friends(int64_t a, int64_t b) = 0;
  virtual void remove_friend(int64_t a, int64_t b) = 0;

  // Blocks are directed: blocker blocks blocked.
  virtual void block(int64_t blocker, int64_t blocked) = 0;
  virtual void unblock(int64_t blocker, int64_t blocked) = 0;
  virtual bool is_blocked(int64_t blocker, int64_t blocked) = 0;

  // Groups. create_group adds the owner with Role::kOwner and each member with Role::kMember.
  virtual Group create_group(std::string_view name, int64_t owner, const std::vector<int64_t>& members,
                             bool open, int64_t now_ms) = 0;
  virtual std::optional<Group> get_group(int64_t group_id) = 0;
  virtual std::vector<Group> groups_of(int64_t user_id) = 0;
  virtual std::vector<Member> group_members(int64_t group_id) = 0;
  virtual std::vector<int64_t> group_member_ids(int64_t group_id) = 0;
  virtual std::optional<Role> member_role(int64_t group_id, int64_t user_id) = 0;
  // Returns false when the user already is a member (nothing changes).
  virtual bool add_member(int64_t group_id, int64_t user_id, Role role) = 0;
  // Returns false when the user was not a member.
  virtual bool remove_member(int64_t group_id, int64_t user_id) = 0;
  // Changes a member's role. Returns false when the user is not a member.
  virtual bool set_member_role(int64_t group_id, int64_t user_id, Role role) = 0;

  // Messages. Inserts the batch in one transaction. For each message: if (sender, cid) already
  // exists (cid not empty), returns the stored original with duplicate = true and inserts
  // nothing; otherwise assigns id and seq = last seq of its conversation + 1, so seqs have no
  // gaps. On failure nothing of the batch is stored and StoreError is thrown.
  virtual std::vector<InsertResult> insert_messages(const std::vector<Message>& batch) = 0;
  // The newest `limit` messages with seq < before_seq (before_seq <= 0: the newest), oldest first.
  virtual std::vector<Message> messages_before(const ConvKey& conv, int64_t before_seq,
                                               int limit) = 0;
  // Messages with seq > after_seq, oldest first, at most `limit`.
  virtual std::vector<Message> messages_after(const ConvKey& conv, int64_t after_seq,
                                              int limit) = 0;
  // Messages with ts > after_ts in every conversation the user belongs to now (direct chats
  // they sent or received, groups they are a member of), ordered by ts then id, at most `limit`.
  virtual std::vector<Message> messages_after_ts(int64_t user_id, int64_t after_ts, int limit) = 0;
  virtual std::optional<Message> get_message(int64_t message_id) = 0;
  // Erases content, url, pic, memo and amount of the message and sets recalled. Returns the
  // updated message, or nullopt when it does not exist.
  virtual std::optional<Message> recall_message(int64_t message_id) = 0;

  // Read marks: the highest seq the user has read in a conversation. Never moves backwards.
  virtual void set_read_mark(int64_t user_id, const ConvKey& conv, int64_t seq) = 0;
  // Every conversation of the user that has at least one message, newest last message first,
  // with `unread` = messages of others with seq above the user's read mark.
  virtual std::vector<ConversationSummary> conversations(int64_t user_id) = 0;
};

// Opens a backend from a URL: "sqlite:PATH". Throws StoreError with a readable message when the
// URL is malformed or the database cannot be opened.
std::unique_ptr<Store> open_store(std::string_view url);

}  // namespace parley::store
