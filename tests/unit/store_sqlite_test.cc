// Tests of SqliteStore and open_store on real database files in a fresh temporary directory.

#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "store/sqlite_store.h"
#include "store/store.h"

namespace {

namespace fs = std::filesystem;
using parley::store::ConvKey;
using parley::store::FriendRequest;
using parley::store::InsertResult;
using parley::store::Message;
using parley::store::RequestState;
using parley::store::Role;
using parley::store::SqliteStore;
using parley::store::StoreError;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "parley-store-test-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Runs one SQL query with the raw C API, to inspect the file behind the store's back.
// Returns the first column of the first row as text, or "" when there is no row.
std::string query_text(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK);
  std::string result;
  if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
    result = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return result;
}

class StoreFixture {
 public:
  StoreFixture() : path_((dir_.path() / "parley.db").string()), store_(open()) {}

  std::unique_ptr<SqliteStore> open() {
    auto store = std::make_unique<SqliteStore>(path_);
    store->migrate();
    return store;
  }

  int64_t add_user(const std::string& name) {
    auto user = store_->create_user(name, "hash-" + name, "Nick " + name, 1000);
    REQUIRE(user.has_value());
    return user->id;
  }

 protected:
  TempDir dir_;
  std::string path_;
  std::unique_ptr<SqliteStore> store_;
};

Message make_message(const ConvKey& conv, int64_t sender, int64_t dst, std::string cid,
                     std::string content, int64_t ts = 5000) {
  Message message;
  message.conv = conv;
  message.sender = sender;
  message.dst = dst;
  message.ts = ts;
  message.cid = std::move(cid);
  message.content = std::move(content);
  return message;
}

std::vector<int64_t> seqs_of(const std::vector<Message>& messages) {
  std::vector<int64_t> seqs;
  for (const Message& message : messages) {
    seqs.push_back(message.seq);
  }
  return seqs;
}

std::vector<std::string> contents_of(const std::vector<Message>& messages) {
  std::vector<std::string> contents;
  for (const Message& message : messages) {
    contents.push_back(message.content);
  }
  return contents;
}

}  // namespace

TEST_CASE_FIXTURE(StoreFixture, "sqlite migrate is idempotent") {
  store_->migrate();
  auto reopened = open();
  CHECK(query_text(path_, "SELECT COUNT(*) FROM schema_version") == "1");
  CHECK(query_text(path_, "SELECT MAX(version) FROM schema_version") == "1");
  CHECK(query_text(path_, "PRAGMA journal_mode") == "wal");
}

TEST_CASE_FIXTURE(StoreFixture, "sqlite migrate rejects a newer schema") {
  query_text(path_, "INSERT INTO schema_version (version) VALUES (99)");
  CHECK_THROWS_AS(store_->migrate(), StoreError);
  CHECK_THROWS_WITH(store_->migrate(), doctest::Contains("schema version 99"));
}

TEST_CASE_FIXTURE(StoreFixture, "sqlite create_user conflicts on username") {
  auto alice = store_->create_user("alice", "hash1", "Alice", 1000);
  REQUIRE(alice.has_value());
  CHECK(alice->id > 0);
  CHECK(alice->username == "alice");
  CHECK(alice->nickname == "Alice");
  CHECK(alice->avatar.empty());

  CHECK_FALSE(store_->create_user("alice", "hash2", "Other", 2000).has_value());
  auto capital = store_->create_user("Alice", "hash3", "Capital", 3000);
  REQUIRE(capital.has_value());
  CHECK(capital->id != alice->id);

  auto credentials = store_->find_credentials("alice");
  REQUIRE(credentials.has_value());
  CHECK(credentials->password_hash == "hash1");
  CHECK(credentials->user.id == alice->id);
  CHECK(credentials->user.nickname == "Alice");
  CHECK_FALSE(store_->find_credentials("nobody").has_value());
}

TEST_CASE_FIXTURE(StoreFixture, "sqlite get_user and get_users") {
  const int64_t a = add_user("a");
  const int64_t b = add_user("b");

  auto user = store_->get_user(b);
  REQUIRE(user.has_value());
  CHECK(user->username == "b");
  CHECK(user->nickname == "Nick b");
  CHECK_FALSE(store_->get_user(b + 100).has_value());

  auto users = store_->get_users({b, b + 100, a});
  REQUIRE(users.size() == 2);
  CHECK(users[0].id == b);
  CHECK(users[1].id == a);
  CHECK(store_->get_users({}).empty());
}

TEST_CASE_FIXTURE(StoreFixture, "sqlite search_users by prefix") {
  for (const char* name : {"annie", "ann", "anna", "Ann", "bob", "an%x", "an_y", "anx"}) {
    add_user(name);
  }
  auto found = store_->search_users("ann", 10);
  REQUIRE(found.size() == 3);
  CHECK(found[0].username == "ann");
  CHECK(found[1].username == "anna");
  CHECK(found[2].username == "annie");

  CHECK(store_->search_users("ann", 2).size() == 2);
  CHECK(store_->search_users("ann", 0).empty());
  CHECK(store_->search_users("Ann", 10).size() == 1);
  CHECK(store_->search_users("zz", 10).empty());
  CHECK(store_->search_users("", 100).size() == 8);

  // LIKE and GLOB wildcards in the prefix match only themselves.
  auto percent = store_->search_users("an%", 10);
  REQUIRE(percent.size() == 1);
  CHECK(percent[0].username == "an%x");
  auto underscore = store_->search_users("an_", 10);
  REQUIRE(underscore.size() == 1);
  CHECK(underscore[0].username == "an_y");
}

TEST_CASE_FIXTURE(StoreFixture, "sqlite tokens") {
  const int64_t a = add_user("a");
  store_->create_token("hash-1", a, 1000);
  auto owner = store_->find_token("hash-1");
  REQUIRE(owner.has_value());
  CHECK(*owner == a);
  CHECK_FALSE(store_->find_token("hash-2").has_value());

  store_->delete_token("hash-1");
  CHECK_FALSE(store_->find_token("hash-1").has_value());
  store_->delete_token("hash-1");  // deleting a missing token is not an error

  CHECK_THROWS_AS(store_->create_token("hash-3", a + 100, 1000), StoreError);
}

TEST_CASE_FIXTURE(StoreFixture, "sqlite friend request repeated and mutual") {
  const int64_t a = add_user("a");
  const int64_t b = add_user("b");

  FriendRequest first = store_->create_friend_request(a, b, 1000);
  CHECK(first.id > 0);
  CHECK(first.from == a);
  CHECK(first.to == b);
  CHECK(first.state == RequestState::kPending);
  CHECK(first.created == 1000);
  CHECK_FALSE(store_->are_friends(a, b));

  FriendRequest repeated = store_->create_friend_request(a, b, 2000);
  CHECK(repeated.id == first.id);
  CHECK(repeated.state == RequestState::kPending);
  CHECK(repeated.created == 1000);

  auto pending_a = store_->pending_requests(a);
  auto pending_b = store_->pending_requests(b);
  REQUIRE(pending_a.size() == 1);
  REQUIRE(pending_b.size() == 1);
  CHECK(pending_a[0].id == first.id);
  CHECK(pending_b[0].id == first.id);

  // b asks a back: the pending request of a becomes accepted.
  FriendRequest mutual = store_->create_friend_request(b, a, 3000);
  CHECK(mutual.id == first.id);
  CHECK(mutual.state == RequestState::kAccepted);
  CHECK(store_->are_friends(a, b));
  CHECK(store_->are_friends(b, a));
  CHECK(store_->pending_requests(a).empty());
  CHECK(store_->pending_requests(b).empty());
  auto stored = store_->get_friend_request(first.id);
  REQUIRE(stored.has_value());
  CHECK(stored->state == RequestState::kAccepted);

  // Friends asking again get the accepted request back, and nothing new is stored.
  FriendRequest again = store_->create_friend_request(b, a, 4000);
  CHECK(again.id == first.id);
  CHECK(again.state == RequestState::kAccepted);
  CHECK(query_text(path_, "SELECT COUNT(*) FROM friend_requests") == "1");
}

TEST_CASE_FIXTURE(StoreFixture, "sqlite friend request decline") {
  const int64_t a = add_user("a");
  const int64_t c = add_user("c");

  FriendRequest request = store_->create_friend_request(a, c, 1000);
  auto declined = store_->answer_friend_request(request.id, false);
  REQUIRE(declined.has_value());
  CHECK(declined->state == RequestState::kDeclined);
  CHECK_FALSE(store_->are_friends(a, c));
  CHECK(store_->pending_requests(a).empty());
  CHECK(store_->pending_requests(c).empty());

  // An answered request stays as it is.
  auto late_accept = store_->answer_friend_request(request.id, true);
  REQUIRE(late_accept.has_value());
  CHECK(late_accept->state == RequestState::kDeclined);
  CHECK_FALSE(store_->are_friends(a, c));

  // After a decline, a new request starts over.
  FriendRequest retry = store_->create_friend_request(a, c, 2000);
  CHECK(retry.id != request.id);
  CHECK(retry.state == RequestState::kPending);

  CHECK_FALSE(store_->answer_friend_request(retry.id + 100, true).has_value());
  CHECK_FALSE(store_->get_friend_request(retry.id + 100).has_value());
}

TEST_CASE_FIXTURE(StoreFixture, "sqlite friends accept and remove") {
  const int64_t a = add_user("a");
  const int64_t c = add_user("c");
  const int64_t b = add_user("b");

  auto to_b = store_->answer_friend_request(store_->create_friend_request(a, b, 1000).id, true);
  REQUIRE(to_b.has_value());
  CHECK(to_b->state == RequestState::kAccepted);
  store_->answer_friend_request(store_->create_friend_request(c, a, 1000).id, true);

  auto friends = store_->friends(a);
  REQUIRE(friends.size() == 2);
  CHECK(friends[0].username == "b");
  CHECK(friends[1].username == "c");
  CHECK(store_->friend_ids(a) == std::vector<int64_t>{c, b});
  CHECK(store_->friend_ids(b) == std::vector<int64_t>{a});
  CHECK_FALSE(store_->are_friends(b, c));

  store_->remove_friend(b, a);
  CHECK_FALSE(store_->are_friends(a, b));
  CHECK_FALSE(store_->are_friends(b, a));
  CHECK(store_->friend_ids(a) == std::vector<int64_t>{c});
  CHECK(store_->friend_ids(b).empty());

  // Removed friends may ask again.
  FriendRequest again = store_->create_friend_request(b, a, 5000);
  CHECK(again.state == RequestState::kPending);
  CHECK(again.id != to_b->id);
}

TEST_CASE_FIXTURE(StoreFixture, "sqlite blocks are directed") {
  const int64_t a = add_user("a");
  const int64_t b = add_user("b");

  store_->block(a, b);
  store_->block(a, b);  // blocking twice is not an error
  CHECK(store_->is_blocked(a, b));
  CHECK_FALSE(store_->is_blocked(b, a));

  store_->unblock(a, b);
  CHECK_FALSE(store_->is_blocked(a, b));
  store_->unblock(a, b);
}

TEST_CASE_FIXTURE(StoreFixture, "sqlite group roles and members") {
  const int64_t owner = add_user("owner");
  const int64_t m1 = add_user("m1");
  const int64_t m2 = add_user("m2");
  const int64_t outsider = add_user("outsider");

  // The owner listed as a member and a member listed twice are added once.
  auto group = store_->create_group("team", owner, {m2, m1, owner, m2}, true, 7000);
  CHECK(group.id > 0);
  CHECK(group.name == "team");
  CHECK(group.owner == owner);
  CHECK(group.open);
  CHECK(group.member_count == 3);
  CHECK(group.created == 7000);

  auto fetched = store_->get_group(group.id);
  REQUIRE(fetched.has_value());
  CHECK(fetched->member_count == 3);
  CHECK(fetched->open);
  CHECK_FALSE(store_->get_group(group.id + 100).has_value());

  CHECK(store_->member_role(group.id, owner) == Role::kOwner);
  CHECK(store_->member_role(group.id, m1) == Role::kMember);
  CHECK_FALSE(store_->member_role(group.id, outsider).has_value());

  CHECK(store_->add_member(group.id, outsider, Role::kAdmin));
  CHECK_FALSE(store_->add_member(group.id, outsider, Role::kMember));
  CHECK(store_->member_role(group.id, outsider) == Role::kAdmin);

  auto members = store_->group_members(group.id);
  REQUIRE(members.size() == 4);
  CHECK(members[0].user.id == owner);
  CHECK(members[0].role == Role::kOwner);
  CHECK(members[1].user.id == outsider);
  CHECK(members[1].role == Role::kAdmin);
  CHECK(members[2].user.id == m1);
  CHECK(members[3].user.id == m2);
  CHECK(members[3].user.username == "m2");
  CHECK(store_->group_member_ids(group.id) == std::vector<int64_t>{owner, m1, m2, outsider});

  auto closed = store_->create_group("closed", m1, {}, false, 8000);
  CHECK_FALSE(closed.open);
  CHECK(closed.member_count == 1);
  auto of_m1 = store_->groups_of(m1);
  REQUIRE(of_m1.size() == 2);
  CHECK(of_m1[0].id == group.id);
  CHECK(of_m1[0].member_count == 4);
  CHECK(of_m1[1].id == closed.id);

  CHECK(store_->remove_member(group.id, m1));
  CHECK_FALSE(store_->remove_member(group.id, m1));
  CHECK_FALSE(store_->member_role(group.id, m1).has_value());
  CHECK(store_->get_group(group.id)->member_count == 3);
  CHECK(store_->groups_of(m1).size() == 1);
}

TEST_CASE_FIXTURE(StoreFixture, "sqlite insert assigns seq per conversation") {
  const int64_t a = add_user("a");
  const int64_t b = add_user("b");
  const auto group = store_->create_group("g", a, {b}, false, 1000);
  const ConvKey direct = ConvKey::direct(b, a);
  const ConvKey group_conv = ConvKey::group(group.id);

  std::vector<Message> batch;
  for (int i = 0; i < 6; ++i) {
    const bool to_group = i % 2 == 1;
    batch.push_back(make_message(to_group ? group_conv : direct, i % 3 == 0 ? a : b,
                                 to_group ? group.id : a, "cid-" + std::to_string(i),
                                 "text " + std::to_string(i), 5000 + i));
  }
  auto results = store_->insert_messages(batch);
  REQUIRE(results.size() == 6);
  for (size_t i = 0; i < results.size(); ++i) {
    CAPTURE(i);
    CHECK_FALSE(results[i].duplicate);
    CHECK(results[i].message.id > 0);
    CHECK(results[i].message.seq == static_cast<int64_t>(i / 2 + 1));
    CHECK(results[i].message.ts == 5000 + static_cast<int64_t>(i));
    CHECK(results[i].message.content == batch[i].content);
    if (i > 0) {
      CHECK(results[i].message.id > results[i - 1].message.id);
    }
  }

  // A second batch continues each conversation where it stopped.
  auto more = store_->insert_messages(
      {make_message(group_conv, b, group.id, "", "late"), make_message(direct, a, b, "", "late")});
  REQUIRE(more.size() == 2);
  CHECK(more[0].message.seq == 4);
  CHECK(more[1].message.seq == 4);
  CHECK(seqs_of(store_->messages_after(direct, 0, 100)) == std::vector<int64_t>{1, 2, 3, 4});
  CHECK(seqs_of(store_->messages_after(group_conv, 0, 100)) == std::vector<int64_t>{1, 2, 3, 4});

  auto stored = store_->get_message(results[1].message.id);
  REQUIRE(stored.has_value());
  CHECK(stored->conv == group_conv);
  CHECK(stored->sender == b);
  CHECK(stored->dst == group.id);
  CHECK(stored->cid == "cid-1");
  CHECK(stored->media == 1);
  CHECK_FALSE(stored->recalled);
  CHECK(store_->insert_messages({}).empty());
}

TEST_CASE_FIXTURE(StoreFixture, "sqlite insert stores every field") {
  const int64_t a = add_user("a");
  const int64_t b = add_user("b");
  Message message = make_message(ConvKey::direct(a, b), a, b, "c1", "hello", 0);
  message.media = 4;
  message.url = "/media/x.png";
  message.pic = "/media/x-thumb.png";
  message.memo = "lunch";
  message.amount = 1250;

  auto result = store_->insert_messages({message});
  REQUIRE(result.size() == 1);
  CHECK(result[0].message.ts > 0);  // ts 0 is filled in from the clock

  auto stored = store_->get_message(result[0].message.id);
  REQUIRE(stored.has_value());
  CHECK(stored->media == 4);
  CHECK(stored->url == "/media/x.png");
  CHECK(stored->pic == "/media/x-thumb.png");
  CHECK(stored->memo == "lunch");
  CHECK(stored->amount == 1250);
  CHECK(stored->content == "hello");
  CHECK(stored->ts == result[0].message.ts);
  CHECK_FALSE(store_->get_message(result[0].message.id + 1).has_value());
}

TEST_CASE_FIXTURE(StoreFixture, "sqlite duplicate cid within a batch") {
  const int64_t a = add_user("a");
  const int64_t b = add_user("b");
  const ConvKey conv = ConvKey::direct(a, b);

  auto results = store_->insert_messages({make_message(conv, a, b, "same", "first"),
                                          make_message(conv, a, b, "same", "second"),
                                          make_message(conv, b, a, "same", "from b")});
  REQUIRE(results.size() == 3);
  CHECK_FALSE(results[0].duplicate);
  CHECK(results[1].duplicate);
  CHECK(results[1].message.id == results[0].message.id);
  CHECK(results[1].message.seq == results[0].message.seq);
  CHECK(results[1].message.content == "first");
  // The cid is unique per sender, so the same cid from b is a new message.
  CHECK_FALSE(results[2].duplicate);
  CHECK(results[2].message.seq == 2);
  CHECK(contents_of(store_->messages_after(conv, 0, 100)) ==
        std::vector<std::string>{"first", "from b"});
}

TEST_CASE_FIXTURE(StoreFixture, "sqlite duplicate cid across batches and reopen") {
  const int64_t a = add_user("a");
  const int64_t b = add_user("b");
  const ConvKey conv = ConvKey::direct(a, b);

  auto first = store_->insert_messages({make_message(conv, a, b, "x1", "one", 100)});
  REQUIRE(first.size() == 1);
  auto again = store_->insert_messages({make_message(conv, a, b, "x1", "changed", 200)});
  REQUIRE(again.size() == 1);
  CHECK(again[0].duplicate);
  CHECK(again[0].message.id == first[0].message.id);
  CHECK(again[0].message.ts == 100);
  CHECK(again[0].message.content == "one");

  // Messages without a cid are never duplicates of each other.
  auto no_cid = store_->insert_messages(
      {make_message(conv, a, b, "", "plain"), make_message(conv, a, b, "", "plain")});
  REQUIRE(no_cid.size() == 2);
  CHECK_FALSE(no_cid[0].duplicate);
  CHECK_FALSE(no_cid[1].duplicate);

  store_.reset();
  store_ = open();
  auto after_reopen = store_->insert_messages(
      {make_message(conv, a, b, "x1", "third try"), make_message(conv, a, b, "x2", "two")});
  REQUIRE(after_reopen.size() == 2);
  CHECK(after_reopen[0].duplicate);
  CHECK(after_reopen[0].message.id == first[0].message.id);
  CHECK(after_reopen[0].message.seq == 1);
  CHECK_FALSE(after_reopen[1].duplicate);
  CHECK(after_reopen[1].message.seq == 4);
}

TEST_CASE_FIXTURE(StoreFixture, "sqlite failed batch stores nothing") {
  const int64_t a = add_user("a");
  const int64_t b = add_user("b");
  const ConvKey conv = ConvKey::direct(a, b);

  // The second message has an unknown sender, which breaks the foreign key, after the first
  // message was already inserted in the same transaction.
  std::vector<Message> batch{make_message(conv, a, b, "ok", "fine"),
                             make_message(conv, b + 100, b, "bad", "unknown sender")};
  CHECK_THROWS_WITH_AS(store_->insert_messages(batch), doctest::Contains("insert_messages"),
                       StoreError);
  CHECK(store_->messages_after(conv, 0, 100).empty());

  // The connection is usable afterwards, and the cid of the rolled-back message is free.
  auto retry = store_->insert_messages({make_message(conv, a, b, "ok", "fine")});
  REQUIRE(retry.size() == 1);
  CHECK_FALSE(retry[0].duplicate);
  CHECK(retry[0].message.seq == 1);
}

TEST_CASE_FIXTURE(StoreFixture, "sqlite paging before and after") {
  const int64_t a = add_user("a");
  const int64_t b = add_user("b");
  const ConvKey conv = ConvKey::direct(a, b);
  const ConvKey other = ConvKey::direct(a, add_user("c"));
  std::vector<Message> batch;
  for (int i = 1; i <= 10; ++i) {
    batch.push_back(make_message(conv, a, b, "", "m" + std::to_string(i)));
    batch.push_back(make_message(other, a, other.b, "", "other"));
  }
  REQUIRE(store_->insert_messages(batch).size() == 20);

  CHECK(seqs_of(store_->messages_before(conv, 0, 3)) == std::vector<int64_t>{8, 9, 10});
  CHECK(seqs_of(store_->messages_before(conv, -1, 3)) == std::vector<int64_t>{8, 9, 10});
  CHECK(seqs_of(store_->messages_before(conv, 8, 3)) == std::vector<int64_t>{5, 6, 7});
  CHECK(seqs_of(store_->messages_before(conv, 3, 5)) == std::vector<int64_t>{1, 2});
  CHECK(store_->messages_before(conv, 1, 5).empty());
  CHECK(store_->messages_before(conv, 0, 0).empty());
  CHECK(contents_of(store_->messages_before(conv, 3, 1)) == std::vector<std::string>{"m2"});

  CHECK(seqs_of(store_->messages_after(conv, 7, 10)) == std::vector<int64_t>{8, 9, 10});
  CHECK(seqs_of(store_->messages_after(conv, 0, 2)) == std::vector<int64_t>{1, 2});
  CHECK(store_->messages_after(conv, 10, 5).empty());
  CHECK(store_->messages_after(conv, 0, 0).empty());
  CHECK(store_->messages_after(ConvKey::direct(b, other.b), 0, 5).empty());
}

TEST_CASE_FIXTURE(StoreFixture, "sqlite messages_after_ts only the user's") {
  // Ids ascend in creation order, so a is conv_b of its chat with z and conv_a of its chat
  // with b. Both sides of the direct-chat search are covered.
  const int64_t z = add_user("z");
  const int64_t a = add_user("a");
  const int64_t b = add_user("b");
  const int64_t c = add_user("c");
  const int64_t d = add_user("d");
  const auto with_a = store_->create_group("with a", b, {a}, false, 1000);
  const auto without_a = store_->create_group("without a", c, {d}, false, 1000);
  const auto left = store_->create_group("a left", c, {a}, false, 1000);

  const ConvKey ab = ConvKey::direct(a, b);
  const ConvKey za = ConvKey::direct(z, a);
  const ConvKey cd = ConvKey::direct(c, d);
  REQUIRE(ab.a == a);
  REQUIRE(za.b == a);
  store_->insert_messages({
      make_message(ab, a, b, "", "ab old", 100),
      make_message(ab, b, a, "", "ab new", 300),
      make_message(cd, c, d, "", "cd", 300),
      make_message(za, z, a, "", "za", 250),
      make_message(ConvKey::group(with_a.id), b, with_a.id, "", "group", 300),
      make_message(ConvKey::group(without_a.id), c, without_a.id, "", "other group", 300),
      make_message(ConvKey::group(left.id), c, left.id, "", "left group", 300),
  });
  REQUIRE(store_->remove_member(left.id, a));

  CHECK(contents_of(store_->messages_after_ts(a, 200, 100)) ==
        std::vector<std::string>{"za", "ab new", "group"});
  CHECK(contents_of(store_->messages_after_ts(a, 0, 100)) ==
        std::vector<std::string>{"ab old", "za", "ab new", "group"});
  CHECK(contents_of(store_->messages_after_ts(a, 0, 2)) ==
        std::vector<std::string>{"ab old", "za"});
  CHECK(store_->messages_after_ts(a, 300, 100).empty());
  CHECK(store_->messages_after_ts(a, 0, 0).empty());

  CHECK(contents_of(store_->messages_after_ts(z, 0, 100)) == std::vector<std::string>{"za"});
  CHECK(contents_of(store_->messages_after_ts(d, 0, 100)) ==
        std::vector<std::string>{"cd", "other group"});
  CHECK(contents_of(store_->messages_after_ts(c, 0, 100)) ==
        std::vector<std::string>{"cd", "other group", "left group"});
}

TEST_CASE_FIXTURE(StoreFixture, "sqlite chat with oneself appears once") {
  const int64_t a = add_user("a");
  const ConvKey self = ConvKey::direct(a, a);
  store_->insert_messages({make_message(self, a, a, "", "note to self", 100)});
  CHECK(store_->messages_after_ts(a, 0, 10).size() == 1);
  CHECK(store_->conversations(a).size() == 1);
}

TEST_CASE_FIXTURE(StoreFixture, "sqlite conversations and unread counts") {
  const int64_t a = add_user("a");
  const int64_t b = add_user("b");
  const int64_t c = add_user("c");
  const auto group = store_->create_group("g", b, {a, c}, false, 1000);
  const auto silent = store_->create_group("silent", a, {b}, false, 1000);
  const ConvKey ab = ConvKey::direct(a, b);
  const ConvKey ac = ConvKey::direct(a, c);
  const ConvKey g = ConvKey::group(group.id);

  store_->insert_messages({
      make_message(ab, b, a, "", "b1", 100),
      make_message(ab, a, b, "", "a1", 110),
      make_message(ab, b, a, "", "b2", 120),
      make_message(g, c, group.id, "", "c1", 130),
      make_message(g, a, group.id, "", "a2", 140),
      make_message(ac, a, c, "", "a3", 90),
  });

  auto list = store_->conversations(a);
  REQUIRE(list.size() == 3);  // the silent group has no message and is left out
  CHECK(list[0].conv == g);
  CHECK(list[0].last.content == "a2");
  CHECK(list[0].unread == 1);  // c1 counts, but a2 is a's own message
  CHECK(list[1].conv == ab);
  CHECK(list[1].last.content == "b2");
  CHECK(list[1].last.seq == 3);
  CHECK(list[1].unread == 2);  // b1 and b2
  CHECK(list[2].conv == ac);
  CHECK(list[2].unread == 0);
  CHECK(silent.member_count == 2);

  store_->set_read_mark(a, ab, 2);
  store_->set_read_mark(a, g, 1);
  list = store_->conversations(a);
  REQUIRE(list.size() == 3);
  CHECK(list[0].unread == 0);
  CHECK(list[1].unread == 1);

  // Read marks never move backwards.
  store_->set_read_mark(a, ab, 3);
  store_->set_read_mark(a, ab, 1);
  list = store_->conversations(a);
  REQUIRE(list.size() == 3);
  CHECK(list[1].unread == 0);
  CHECK(query_text(path_, "SELECT seq FROM read_marks WHERE conv_kind = 1") == "3");

  // b's marks are separate from a's.
  auto for_b = store_->conversations(b);
  REQUIRE(for_b.size() == 2);
  CHECK(for_b[0].conv == g);
  CHECK(for_b[0].unread == 2);
  CHECK(for_b[1].conv == ab);
  CHECK(for_b[1].unread == 1);

  // A new message moves its conversation to the front.
  store_->insert_messages({make_message(ac, c, a, "", "c2", 500)});
  list = store_->conversations(a);
  REQUIRE(list.size() == 3);
  CHECK(list[0].conv == ac);
  CHECK(list[0].unread == 1);
  CHECK(store_->conversations(add_user("nobody")).empty());
}

TEST_CASE_FIXTURE(StoreFixture, "sqlite recall erases content") {
  const int64_t a = add_user("a");
  const int64_t b = add_user("b");
  Message message = make_message(ConvKey::direct(a, b), a, b, "r1", "secret", 100);
  message.media = 4;
  message.url = "/media/u";
  message.pic = "/media/p";
  message.memo = "memo";
  message.amount = 99;
  const int64_t id = store_->insert_messages({message})[0].message.id;

  auto recalled = store_->recall_message(id);
  REQUIRE(recalled.has_value());
  CHECK(recalled->recalled);
  CHECK(recalled->content.empty());
  CHECK(recalled->url.empty());
  CHECK(recalled->pic.empty());
  CHECK(recalled->memo.empty());
  CHECK(recalled->amount == 0);
  CHECK(recalled->seq == 1);
  CHECK(recalled->cid == "r1");
  CHECK(recalled->media == 4);

  auto stored = store_->get_message(id);
  REQUIRE(stored.has_value());
  CHECK(stored->recalled);
  CHECK(stored->content.empty());
  CHECK(query_text(path_, "SELECT COUNT(*) FROM messages WHERE content LIKE '%secret%'") == "0");
  CHECK_FALSE(store_->recall_message(id + 100).has_value());
}

TEST_CASE_FIXTURE(StoreFixture, "sqlite writer and reader on two threads") {
  const int64_t a = add_user("a");
  const int64_t b = add_user("b");
  const ConvKey conv = ConvKey::direct(a, b);
  constexpr int kBatches = 150;
  constexpr int kBatchSize = 4;
  constexpr int64_t kTotal = kBatches * kBatchSize;

  auto writer_store = open();
  auto reader_store = open();
  std::atomic<bool> writer_done{false};
  std::string writer_error;
  std::string reader_error;
  int64_t reader_last_seq = 0;
  bool reader_saw_gap = false;

  std::thread writer([&] {
    try {
      for (int i = 0; i < kBatches; ++i) {
        std::vector<Message> batch;
        for (int j = 0; j < kBatchSize; ++j) {
          batch.push_back(
              make_message(conv, a, b, "w" + std::to_string(i * kBatchSize + j), "text", 1000 + i));
        }
        writer_store->insert_messages(batch);
      }
    } catch (const StoreError& error) {
      writer_error = error.what();
    }
    writer_done = true;
  });
  std::thread reader([&] {
    try {
      // Reads until the writer is done and everything it wrote has been seen.
      while (!writer_done || reader_last_seq < kTotal) {
        for (const Message& message : reader_store->messages_after(conv, reader_last_seq, 50)) {
          reader_saw_gap = reader_saw_gap || message.seq != reader_last_seq + 1;
          reader_last_seq = message.seq;
        }
        reader_store->conversations(a);
        if (writer_done && reader_last_seq < kTotal &&
            reader_store->messages_after(conv, reader_last_seq, 1).empty()) {
          break;  // the writer failed early; its error is checked below
        }
      }
    } catch (const StoreError& error) {
      reader_error = error.what();
    }
  });
  writer.join();
  reader.join();

  CHECK(writer_error.empty());
  CHECK(reader_error.empty());
  CHECK_FALSE(reader_saw_gap);
  CHECK(reader_last_seq == kTotal);
  CHECK(store_->messages_before(conv, 0, 1).at(0).seq == kTotal);
}

TEST_CASE_FIXTURE(StoreFixture, "sqlite two writers share seqs without gaps") {
  const int64_t a = add_user("a");
  const int64_t b = add_user("b");
  const ConvKey conv = ConvKey::direct(a, b);
  constexpr int kBatchesPerWriter = 60;

  auto first = open();
  auto second = open();
  std::string errors[2];
  auto write = [&](SqliteStore& store, int64_t sender, int index) {
    try {
      for (int i = 0; i < kBatchesPerWriter; ++i) {
        store.insert_messages({make_message(conv, sender, sender == a ? b : a, "", "x"),
                               make_message(conv, sender, sender == a ? b : a, "", "y")});
      }
    } catch (const StoreError& error) {
      errors[index] = error.what();
    }
  };
  std::thread one(write, std::ref(*first), a, 0);
  std::thread two(write, std::ref(*second), b, 1);
  one.join();
  two.join();

  CHECK(errors[0].empty());
  CHECK(errors[1].empty());
  auto all = store_->messages_after(conv, 0, 1000);
  REQUIRE(all.size() == 2 * 2 * kBatchesPerWriter);
  bool contiguous = true;
  for (size_t i = 0; i < all.size(); ++i) {
    contiguous = contiguous && all[i].seq == static_cast<int64_t>(i + 1);
  }
  CHECK(contiguous);
}

TEST_CASE_FIXTURE(StoreFixture, "sqlite commit survives kill -9") {
  const int64_t a = add_user("a");
  const int64_t b = add_user("b");
  const ConvKey conv = ConvKey::direct(a, b);
  store_.reset();

  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child inserts, then dies by SIGKILL without any cleanup. It never returns into doctest.
    try {
      SqliteStore store(path_);
      store.insert_messages({make_message(conv, a, b, "k1", "durable")});
    } catch (...) {
      _exit(1);
    }
    kill(getpid(), SIGKILL);
    _exit(2);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);

  store_ = open();
  auto stored = store_->messages_after(conv, 0, 10);
  REQUIRE(stored.size() == 1);
  CHECK(stored[0].content == "durable");
  CHECK(store_->insert_messages({make_message(conv, a, b, "k1", "again")})[0].duplicate);
}

TEST_CASE("open_store creates the directory") {
  TempDir dir;
  const fs::path path = dir.path() / "nested" / "deeper" / "parley.db";
  auto store = parley::store::open_store("sqlite:" + path.string());
  REQUIRE(store != nullptr);
  store->migrate();
  CHECK(fs::exists(path));
  CHECK(store->create_user("a", "h", "A", 1).has_value());
}

TEST_CASE("open_store rejects other URLs") {
  using parley::store::open_store;
  CHECK_THROWS_WITH_AS(open_store("mysql://root:hunter2@127.0.0.1:3306/parley"),
                       doctest::Contains("unsupported database URL scheme 'mysql'"), StoreError);
  try {
    open_store("mysql://root:hunter2@127.0.0.1:3306/parley");
  } catch (const StoreError& error) {
    const std::string message = error.what();
    CHECK(message.find("hunter2") == std::string::npos);
    CHECK(message.find("expected sqlite:PATH") != std::string::npos);
  }
  CHECK_THROWS_AS(open_store("sqlite:"), StoreError);
  CHECK_THROWS_AS(open_store("/var/lib/parley.db"), StoreError);
  CHECK_THROWS_AS(open_store(""), StoreError);
  try {
    open_store("root:hunter2@host/db");
  } catch (const StoreError& error) {
    CHECK(std::string(error.what()).find("hunter2") == std::string::npos);
  }
}

TEST_CASE("sqlite store reports an unopenable path") {
  TempDir dir;
  const std::string path = (dir.path() / "missing-dir" / "parley.db").string();
  CHECK_THROWS_WITH_AS(SqliteStore{path}, doctest::Contains(path.c_str()), StoreError);
}
