// The store contract: cases that every Store backend must pass. Each case runs once per
// backend of store_backends.h, on a fresh empty database, and is named "store CASE<BACKEND>".
// A backend that is not available (MySQL without PARLEY_TEST_MYSQL_URL) makes its cases return
// at once.

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "store/store.h"
#include "tests/unit/store_backends.h"

using parley::test::MysqlBackend;
using parley::test::SqliteBackend;

TYPE_TO_STRING_AS("sqlite", SqliteBackend);
TYPE_TO_STRING_AS("mysql", MysqlBackend);

// The backends every contract case runs on.
#define PARLEY_STORE_BACKENDS SqliteBackend, MysqlBackend

namespace {

using parley::store::ConvKey;
using parley::store::FriendRequest;
using parley::store::InsertResult;
using parley::store::Message;
using parley::store::RequestState;
using parley::store::Role;
using parley::store::Store;
using parley::store::StoreError;

// A backend's fresh database with a migrated store on it.
template <typename Backend>
class StoreFixture {
 public:
  StoreFixture() {
    if (backend.available()) {
      store = open();
    }
  }

  // Whether the backend is available. The case returns at once when it is not.
  bool ready() const { return store != nullptr; }

  std::unique_ptr<Store> open() {
    auto opened = backend.connect();
    opened->migrate();
    return opened;
  }

  int64_t add_user(const std::string& name) {
    auto user = store->create_user(name, "hash-" + name, "Nick " + name, 1000);
    REQUIRE(user.has_value());
    return user->id;
  }

  Backend backend;
  std::unique_ptr<Store> store;
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

// Whether the messages have seqs 1, 2, ... n in order, as a conversation read from its start.
bool seqs_count_from_one(const std::vector<Message>& messages) {
  for (size_t i = 0; i < messages.size(); ++i) {
    if (messages[i].seq != static_cast<int64_t>(i + 1)) {
      return false;
    }
  }
  return true;
}

std::vector<std::string> contents_of(const std::vector<Message>& messages) {
  std::vector<std::string> contents;
  for (const Message& message : messages) {
    contents.push_back(message.content);
  }
  return contents;
}

}  // namespace

TEST_CASE_TEMPLATE("store migrate is idempotent", Backend, PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  f.store->migrate();
  auto reopened = f.open();
  CHECK(f.backend.query_text("SELECT COUNT(*) FROM schema_version") == "1");
  CHECK(f.backend.query_text("SELECT MAX(version) FROM schema_version") == "1");
}

TEST_CASE_TEMPLATE("store migrate rejects a newer schema", Backend, PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  f.backend.query_text("INSERT INTO schema_version (version) VALUES (99)");
  CHECK_THROWS_AS(f.store->migrate(), StoreError);
  CHECK_THROWS_WITH(f.store->migrate(), doctest::Contains("schema version 99"));
}

TEST_CASE_TEMPLATE("store create_user conflicts on username", Backend, PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  auto alice = f.store->create_user("alice", "hash1", "Alice", 1000);
  REQUIRE(alice.has_value());
  CHECK(alice->id > 0);
  CHECK(alice->username == "alice");
  CHECK(alice->nickname == "Alice");
  CHECK(alice->avatar.empty());

  CHECK_FALSE(f.store->create_user("alice", "hash2", "Other", 2000).has_value());
  auto capital = f.store->create_user("Alice", "hash3", "Capital", 3000);
  REQUIRE(capital.has_value());
  CHECK(capital->id != alice->id);

  auto credentials = f.store->find_credentials("alice");
  REQUIRE(credentials.has_value());
  CHECK(credentials->password_hash == "hash1");
  CHECK(credentials->user.id == alice->id);
  CHECK(credentials->user.nickname == "Alice");
  CHECK_FALSE(f.store->find_credentials("nobody").has_value());
}

TEST_CASE_TEMPLATE("store get_user and get_users", Backend, PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  const int64_t a = f.add_user("a");
  const int64_t b = f.add_user("b");

  auto user = f.store->get_user(b);
  REQUIRE(user.has_value());
  CHECK(user->username == "b");
  CHECK(user->nickname == "Nick b");
  CHECK_FALSE(f.store->get_user(b + 100).has_value());

  auto users = f.store->get_users({b, b + 100, a});
  REQUIRE(users.size() == 2);
  CHECK(users[0].id == b);
  CHECK(users[1].id == a);
  CHECK(f.store->get_users({}).empty());
}

TEST_CASE_TEMPLATE("store search_users by prefix", Backend, PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  for (const char* name : {"annie", "ann", "anna", "Ann", "bob", "an%x", "an_y", "anx"}) {
    f.add_user(name);
  }
  auto found = f.store->search_users("ann", 10);
  REQUIRE(found.size() == 3);
  CHECK(found[0].username == "ann");
  CHECK(found[1].username == "anna");
  CHECK(found[2].username == "annie");

  CHECK(f.store->search_users("ann", 2).size() == 2);
  CHECK(f.store->search_users("ann", 0).empty());
  CHECK(f.store->search_users("Ann", 10).size() == 1);
  CHECK(f.store->search_users("zz", 10).empty());
  CHECK(f.store->search_users("", 100).size() == 8);

  // LIKE and GLOB wildcards in the prefix match only themselves.
  auto percent = f.store->search_users("an%", 10);
  REQUIRE(percent.size() == 1);
  CHECK(percent[0].username == "an%x");
  auto underscore = f.store->search_users("an_", 10);
  REQUIRE(underscore.size() == 1);
  CHECK(underscore[0].username == "an_y");
}

TEST_CASE_TEMPLATE("store tokens", Backend, PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  const int64_t a = f.add_user("a");
  f.store->create_token("hash-1", a, 1000);
  auto owner = f.store->find_token("hash-1");
  REQUIRE(owner.has_value());
  CHECK(*owner == a);
  CHECK_FALSE(f.store->find_token("hash-2").has_value());

  f.store->delete_token("hash-1");
  CHECK_FALSE(f.store->find_token("hash-1").has_value());
  f.store->delete_token("hash-1");  // deleting a missing token is not an error

  CHECK_THROWS_AS(f.store->create_token("hash-3", a + 100, 1000), StoreError);
}

TEST_CASE_TEMPLATE("store friend request repeated and mutual", Backend, PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  const int64_t a = f.add_user("a");
  const int64_t b = f.add_user("b");

  FriendRequest first = f.store->create_friend_request(a, b, 1000);
  CHECK(first.id > 0);
  CHECK(first.from == a);
  CHECK(first.to == b);
  CHECK(first.state == RequestState::kPending);
  CHECK(first.created == 1000);
  CHECK_FALSE(f.store->are_friends(a, b));

  FriendRequest repeated = f.store->create_friend_request(a, b, 2000);
  CHECK(repeated.id == first.id);
  CHECK(repeated.state == RequestState::kPending);
  CHECK(repeated.created == 1000);

  auto pending_a = f.store->pending_requests(a);
  auto pending_b = f.store->pending_requests(b);
  REQUIRE(pending_a.size() == 1);
  REQUIRE(pending_b.size() == 1);
  CHECK(pending_a[0].id == first.id);
  CHECK(pending_b[0].id == first.id);

  // b asks a back: the pending request of a becomes accepted.
  FriendRequest mutual = f.store->create_friend_request(b, a, 3000);
  CHECK(mutual.id == first.id);
  CHECK(mutual.state == RequestState::kAccepted);
  CHECK(f.store->are_friends(a, b));
  CHECK(f.store->are_friends(b, a));
  CHECK(f.store->pending_requests(a).empty());
  CHECK(f.store->pending_requests(b).empty());
  auto stored = f.store->get_friend_request(first.id);
  REQUIRE(stored.has_value());
  CHECK(stored->state == RequestState::kAccepted);

  // Friends asking again get the accepted request back, and nothing new is stored.
  FriendRequest again = f.store->create_friend_request(b, a, 4000);
  CHECK(again.id == first.id);
  CHECK(again.state == RequestState::kAccepted);
  CHECK(f.backend.query_text("SELECT COUNT(*) FROM friend_requests") == "1");
}

TEST_CASE_TEMPLATE("store friend request decline", Backend, PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  const int64_t a = f.add_user("a");
  const int64_t c = f.add_user("c");

  FriendRequest request = f.store->create_friend_request(a, c, 1000);
  auto declined = f.store->answer_friend_request(request.id, false);
  REQUIRE(declined.has_value());
  CHECK(declined->state == RequestState::kDeclined);
  CHECK_FALSE(f.store->are_friends(a, c));
  CHECK(f.store->pending_requests(a).empty());
  CHECK(f.store->pending_requests(c).empty());

  // An answered request stays as it is.
  auto late_accept = f.store->answer_friend_request(request.id, true);
  REQUIRE(late_accept.has_value());
  CHECK(late_accept->state == RequestState::kDeclined);
  CHECK_FALSE(f.store->are_friends(a, c));

  // After a decline, a new request starts over.
  FriendRequest retry = f.store->create_friend_request(a, c, 2000);
  CHECK(retry.id != request.id);
  CHECK(retry.state == RequestState::kPending);

  CHECK_FALSE(f.store->answer_friend_request(retry.id + 100, true).has_value());
  CHECK_FALSE(f.store->get_friend_request(retry.id + 100).has_value());
}

TEST_CASE_TEMPLATE("store friends accept and remove", Backend, PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  const int64_t a = f.add_user("a");
  const int64_t c = f.add_user("c");
  const int64_t b = f.add_user("b");

  auto to_b = f.store->answer_friend_request(f.store->create_friend_request(a, b, 1000).id, true);
  REQUIRE(to_b.has_value());
  CHECK(to_b->state == RequestState::kAccepted);
  f.store->answer_friend_request(f.store->create_friend_request(c, a, 1000).id, true);

  auto friends = f.store->friends(a);
  REQUIRE(friends.size() == 2);
  CHECK(friends[0].username == "b");
  CHECK(friends[1].username == "c");
  CHECK(f.store->friend_ids(a) == std::vector<int64_t>{c, b});
  CHECK(f.store->friend_ids(b) == std::vector<int64_t>{a});
  CHECK_FALSE(f.store->are_friends(b, c));

  f.store->remove_friend(b, a);
  CHECK_FALSE(f.store->are_friends(a, b));
  CHECK_FALSE(f.store->are_friends(b, a));
  CHECK(f.store->friend_ids(a) == std::vector<int64_t>{c});
  CHECK(f.store->friend_ids(b).empty());

  // Removed friends may ask again.
  FriendRequest again = f.store->create_friend_request(b, a, 5000);
  CHECK(again.state == RequestState::kPending);
  CHECK(again.id != to_b->id);
}

TEST_CASE_TEMPLATE("store blocks are directed", Backend, PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  const int64_t a = f.add_user("a");
  const int64_t b = f.add_user("b");

  f.store->block(a, b);
  f.store->block(a, b);  // blocking twice is not an error
  CHECK(f.store->is_blocked(a, b));
  CHECK_FALSE(f.store->is_blocked(b, a));

  f.store->unblock(a, b);
  CHECK_FALSE(f.store->is_blocked(a, b));
  f.store->unblock(a, b);
}

TEST_CASE_TEMPLATE("store group roles and members", Backend, PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  const int64_t owner = f.add_user("owner");
  const int64_t m1 = f.add_user("m1");
  const int64_t m2 = f.add_user("m2");
  const int64_t outsider = f.add_user("outsider");

  // The owner listed as a member and a member listed twice are added once.
  auto group = f.store->create_group("team", owner, {m2, m1, owner, m2}, true, 7000);
  CHECK(group.id > 0);
  CHECK(group.name == "team");
  CHECK(group.owner == owner);
  CHECK(group.open);
  CHECK(group.member_count == 3);
  CHECK(group.created == 7000);

  auto fetched = f.store->get_group(group.id);
  REQUIRE(fetched.has_value());
  CHECK(fetched->member_count == 3);
  CHECK(fetched->open);
  CHECK_FALSE(f.store->get_group(group.id + 100).has_value());

  CHECK(f.store->member_role(group.id, owner) == Role::kOwner);
  CHECK(f.store->member_role(group.id, m1) == Role::kMember);
  CHECK_FALSE(f.store->member_role(group.id, outsider).has_value());

  CHECK(f.store->add_member(group.id, outsider, Role::kAdmin));
  CHECK_FALSE(f.store->add_member(group.id, outsider, Role::kMember));
  CHECK(f.store->member_role(group.id, outsider) == Role::kAdmin);

  auto members = f.store->group_members(group.id);
  REQUIRE(members.size() == 4);
  CHECK(members[0].user.id == owner);
  CHECK(members[0].role == Role::kOwner);
  CHECK(members[1].user.id == outsider);
  CHECK(members[1].role == Role::kAdmin);
  CHECK(members[2].user.id == m1);
  CHECK(members[3].user.id == m2);
  CHECK(members[3].user.username == "m2");
  CHECK(f.store->group_member_ids(group.id) == std::vector<int64_t>{owner, m1, m2, outsider});

  auto closed = f.store->create_group("closed", m1, {}, false, 8000);
  CHECK_FALSE(closed.open);
  CHECK(closed.member_count == 1);
  auto of_m1 = f.store->groups_of(m1);
  REQUIRE(of_m1.size() == 2);
  CHECK(of_m1[0].id == group.id);
  CHECK(of_m1[0].member_count == 4);
  CHECK(of_m1[1].id == closed.id);

  CHECK(f.store->remove_member(group.id, m1));
  CHECK_FALSE(f.store->remove_member(group.id, m1));
  CHECK_FALSE(f.store->member_role(group.id, m1).has_value());
  CHECK(f.store->get_group(group.id)->member_count == 3);
  CHECK(f.store->groups_of(m1).size() == 1);
}

TEST_CASE_TEMPLATE("store insert assigns seq per conversation", Backend, PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  const int64_t a = f.add_user("a");
  const int64_t b = f.add_user("b");
  const auto group = f.store->create_group("g", a, {b}, false, 1000);
  const ConvKey direct = ConvKey::direct(b, a);
  const ConvKey group_conv = ConvKey::group(group.id);

  std::vector<Message> batch;
  for (int i = 0; i < 6; ++i) {
    const bool to_group = i % 2 == 1;
    batch.push_back(make_message(to_group ? group_conv : direct, i % 3 == 0 ? a : b,
                                 to_group ? group.id : a, "cid-" + std::to_string(i),
                                 "text " + std::to_string(i), 5000 + i));
  }
  auto results = f.store->insert_messages(batch);
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
  auto more = f.store->insert_messages(
      {make_message(group_conv, b, group.id, "", "late"), make_message(direct, a, b, "", "late")});
  REQUIRE(more.size() == 2);
  CHECK(more[0].message.seq == 4);
  CHECK(more[1].message.seq == 4);
  CHECK(seqs_of(f.store->messages_after(direct, 0, 100)) == std::vector<int64_t>{1, 2, 3, 4});
  CHECK(seqs_of(f.store->messages_after(group_conv, 0, 100)) == std::vector<int64_t>{1, 2, 3, 4});

  auto stored = f.store->get_message(results[1].message.id);
  REQUIRE(stored.has_value());
  CHECK(stored->conv == group_conv);
  CHECK(stored->sender == b);
  CHECK(stored->dst == group.id);
  CHECK(stored->cid == "cid-1");
  CHECK(stored->media == 1);
  CHECK_FALSE(stored->recalled);
  CHECK(f.store->insert_messages({}).empty());
}

TEST_CASE_TEMPLATE("store insert stores every field", Backend, PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  const int64_t a = f.add_user("a");
  const int64_t b = f.add_user("b");
  Message message = make_message(ConvKey::direct(a, b), a, b, "c1", "hello", 0);
  message.media = 4;
  message.url = "/media/x.png";
  message.pic = "/media/x-thumb.png";
  message.memo = "lunch";
  message.amount = 1250;

  auto result = f.store->insert_messages({message});
  REQUIRE(result.size() == 1);
  CHECK(result[0].message.ts > 0);  // ts 0 is filled in from the clock

  auto stored = f.store->get_message(result[0].message.id);
  REQUIRE(stored.has_value());
  CHECK(stored->media == 4);
  CHECK(stored->url == "/media/x.png");
  CHECK(stored->pic == "/media/x-thumb.png");
  CHECK(stored->memo == "lunch");
  CHECK(stored->amount == 1250);
  CHECK(stored->content == "hello");
  CHECK(stored->ts == result[0].message.ts);
  CHECK_FALSE(f.store->get_message(result[0].message.id + 1).has_value());
}

TEST_CASE_TEMPLATE("store duplicate cid within a batch", Backend, PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  const int64_t a = f.add_user("a");
  const int64_t b = f.add_user("b");
  const ConvKey conv = ConvKey::direct(a, b);

  auto results = f.store->insert_messages({make_message(conv, a, b, "same", "first"),
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
  CHECK(contents_of(f.store->messages_after(conv, 0, 100)) ==
        std::vector<std::string>{"first", "from b"});
}

TEST_CASE_TEMPLATE("store duplicate cid across batches and reopen", Backend,
                   PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  const int64_t a = f.add_user("a");
  const int64_t b = f.add_user("b");
  const ConvKey conv = ConvKey::direct(a, b);

  auto first = f.store->insert_messages({make_message(conv, a, b, "x1", "one", 100)});
  REQUIRE(first.size() == 1);
  auto again = f.store->insert_messages({make_message(conv, a, b, "x1", "changed", 200)});
  REQUIRE(again.size() == 1);
  CHECK(again[0].duplicate);
  CHECK(again[0].message.id == first[0].message.id);
  CHECK(again[0].message.ts == 100);
  CHECK(again[0].message.content == "one");

  // Messages without a cid are never duplicates of each other.
  auto no_cid = f.store->insert_messages(
      {make_message(conv, a, b, "", "plain"), make_message(conv, a, b, "", "plain")});
  REQUIRE(no_cid.size() == 2);
  CHECK_FALSE(no_cid[0].duplicate);
  CHECK_FALSE(no_cid[1].duplicate);

  f.store.reset();
  f.store = f.open();
  auto after_reopen = f.store->insert_messages(
      {make_message(conv, a, b, "x1", "third try"), make_message(conv, a, b, "x2", "two")});
  REQUIRE(after_reopen.size() == 2);
  CHECK(after_reopen[0].duplicate);
  CHECK(after_reopen[0].message.id == first[0].message.id);
  CHECK(after_reopen[0].message.seq == 1);
  CHECK_FALSE(after_reopen[1].duplicate);
  CHECK(after_reopen[1].message.seq == 4);
}

TEST_CASE_TEMPLATE("store batch larger than one chunk", Backend, PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  const int64_t a = f.add_user("a");
  const int64_t b = f.add_user("b");
  const int64_t c = f.add_user("c");
  const auto group = f.store->create_group("g", a, {b, c}, false, 1000);
  const std::vector<ConvKey> convs{ConvKey::direct(a, b), ConvKey::direct(a, c),
                                   ConvKey::group(group.id)};
  const std::vector<int64_t> dsts{b, c, group.id};
  auto stored_before = f.store->insert_messages({make_message(convs[0], a, b, "stored", "old")});
  REQUIRE(stored_before.size() == 1);

  // 700 messages over three conversations, every fifth without a cid. Some repeat a cid of an
  // earlier message of the batch, in another chunk, or the cid of the stored message.
  constexpr size_t kSize = 700;
  std::vector<Message> batch;
  for (size_t i = 0; i < kSize; ++i) {
    const size_t k = i % 3;
    const std::string cid = i % 5 == 0 ? "" : "k" + std::to_string(i);
    batch.push_back(make_message(convs[k], a, dsts[k], cid, "m" + std::to_string(i),
                                 static_cast<int64_t>(10000 + i)));
  }
  const std::vector<std::pair<size_t, size_t>> repeats{{400, 1}, {401, 399}, {699, 698}};
  for (const auto& [repeat, original] : repeats) {
    batch[repeat].cid = batch[original].cid;
    batch[repeat].conv = batch[original].conv;
    batch[repeat].content = "repeat";
  }
  batch[650].cid = "stored";
  batch[650].conv = convs[0];

  auto results = f.store->insert_messages(batch);
  REQUIRE(results.size() == kSize);

  std::vector<int64_t> last_seq{1, 0, 0};
  std::vector<std::vector<std::string>> expected_contents{{"old"}, {}, {}};
  int64_t previous_id = 0;
  for (size_t i = 0; i < kSize; ++i) {
    CAPTURE(i);
    const bool repeated = i == 400 || i == 401 || i == 699 || i == 650;
    CHECK(results[i].duplicate == repeated);
    if (repeated) {
      continue;
    }
    const size_t k = i % 3;
    CHECK(results[i].message.seq == ++last_seq[k]);
    CHECK(results[i].message.id > previous_id);
    previous_id = results[i].message.id;
    CHECK(results[i].message.content == batch[i].content);
    expected_contents[k].push_back(batch[i].content);
  }
  for (const auto& pair : repeats) {
    // Named copies: CAPTURE uses a lambda, and clang 14 cannot capture structured bindings.
    const size_t repeat = pair.first;
    const size_t original = pair.second;
    CAPTURE(repeat);
    CHECK(results[repeat].message.id == results[original].message.id);
    CHECK(results[repeat].message.seq == results[original].message.seq);
    CHECK(results[repeat].message.content == batch[original].content);
  }
  CHECK(results[650].message.id == stored_before[0].message.id);
  CHECK(results[650].message.content == "old");

  for (size_t k = 0; k < convs.size(); ++k) {
    CAPTURE(k);
    auto stored = f.store->messages_after(convs[k], 0, 1000);
    CHECK(contents_of(stored) == expected_contents[k]);
    CHECK(seqs_count_from_one(stored));
  }
  auto sample = f.store->get_message(results[556].message.id);
  REQUIRE(sample.has_value());
  CHECK(sample->content == "m556");
  CHECK(sample->seq == results[556].message.seq);
  CHECK(sample->cid == "k556");
  auto without_cid = f.store->get_message(results[300].message.id);
  REQUIRE(without_cid.has_value());
  CHECK(without_cid->cid.empty());
}

TEST_CASE_TEMPLATE("store batch spans many conversations", Backend, PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  // More conversations than one chunk. The partners need no accounts, because only the sender
  // of a message is a foreign key.
  const int64_t a = f.add_user("a");
  constexpr int64_t kConversations = 300;
  auto partner = [](int64_t k) { return 1000000 + k; };
  std::vector<Message> batch;
  for (int round = 0; round < 2; ++round) {
    for (int64_t k = kConversations - 1; k >= 0; --k) {
      batch.push_back(make_message(ConvKey::direct(a, partner(k)), a, partner(k), "",
                                   "r" + std::to_string(round)));
    }
  }
  auto results = f.store->insert_messages(batch);
  REQUIRE(results.size() == batch.size());
  for (size_t i = 0; i < results.size(); ++i) {
    CAPTURE(i);
    CHECK(results[i].message.seq == (i < kConversations ? 1 : 2));
    CHECK(results[i].message.id > 0);
  }

  auto more = f.store->insert_messages(
      {make_message(ConvKey::direct(a, partner(0)), a, partner(0), "", "late"),
       make_message(ConvKey::direct(a, partner(kConversations - 1)), a, partner(kConversations - 1),
                    "", "late")});
  REQUIRE(more.size() == 2);
  CHECK(more[0].message.seq == 3);
  CHECK(more[1].message.seq == 3);
  CHECK(contents_of(f.store->messages_after(ConvKey::direct(a, partner(7)), 0, 10)) ==
        std::vector<std::string>{"r0", "r1"});
  CHECK(f.store->conversations(a).size() == kConversations);
}

TEST_CASE_TEMPLATE("store batch of large messages", Backend, PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  const int64_t a = f.add_user("a");
  const int64_t b = f.add_user("b");
  const ConvKey conv = ConvKey::direct(a, b);
  // Together larger than what one multi-row INSERT carries on MySQL, so the batch is split
  // by size as well as by count.
  std::vector<Message> batch;
  for (int i = 0; i < 8; ++i) {
    const size_t size = i % 2 == 0 ? 700 * 1024 : 10;
    batch.push_back(make_message(conv, a, b, "big" + std::to_string(i),
                                 std::string(size, static_cast<char>('a' + i))));
  }
  auto results = f.store->insert_messages(batch);
  REQUIRE(results.size() == batch.size());
  auto stored = f.store->messages_after(conv, 0, 100);
  REQUIRE(stored.size() == batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    CAPTURE(i);
    CHECK(stored[i].seq == static_cast<int64_t>(i + 1));
    CHECK(stored[i].id == results[i].message.id);
    CHECK(stored[i].content == batch[i].content);
  }
}

TEST_CASE_TEMPLATE("store failed batch stores nothing", Backend, PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  const int64_t a = f.add_user("a");
  const int64_t b = f.add_user("b");
  const ConvKey conv = ConvKey::direct(a, b);

  // The second message has an unknown sender, which breaks the foreign key, after the first
  // message was already inserted in the same transaction.
  std::vector<Message> batch{make_message(conv, a, b, "ok", "fine"),
                             make_message(conv, b + 100, b, "bad", "unknown sender")};
  CHECK_THROWS_WITH_AS(f.store->insert_messages(batch), doctest::Contains("insert_messages"),
                       StoreError);
  CHECK(f.store->messages_after(conv, 0, 100).empty());

  // The connection is usable afterwards, and the cid of the rolled-back message is free.
  auto retry = f.store->insert_messages({make_message(conv, a, b, "ok", "fine")});
  REQUIRE(retry.size() == 1);
  CHECK_FALSE(retry[0].duplicate);
  CHECK(retry[0].message.seq == 1);
}

TEST_CASE_TEMPLATE("store paging before and after", Backend, PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  const int64_t a = f.add_user("a");
  const int64_t b = f.add_user("b");
  const ConvKey conv = ConvKey::direct(a, b);
  const ConvKey other = ConvKey::direct(a, f.add_user("c"));
  std::vector<Message> batch;
  for (int i = 1; i <= 10; ++i) {
    batch.push_back(make_message(conv, a, b, "", "m" + std::to_string(i)));
    batch.push_back(make_message(other, a, other.b, "", "other"));
  }
  REQUIRE(f.store->insert_messages(batch).size() == 20);

  CHECK(seqs_of(f.store->messages_before(conv, 0, 3)) == std::vector<int64_t>{8, 9, 10});
  CHECK(seqs_of(f.store->messages_before(conv, -1, 3)) == std::vector<int64_t>{8, 9, 10});
  CHECK(seqs_of(f.store->messages_before(conv, 8, 3)) == std::vector<int64_t>{5, 6, 7});
  CHECK(seqs_of(f.store->messages_before(conv, 3, 5)) == std::vector<int64_t>{1, 2});
  CHECK(f.store->messages_before(conv, 1, 5).empty());
  CHECK(f.store->messages_before(conv, 0, 0).empty());
  CHECK(contents_of(f.store->messages_before(conv, 3, 1)) == std::vector<std::string>{"m2"});

  CHECK(seqs_of(f.store->messages_after(conv, 7, 10)) == std::vector<int64_t>{8, 9, 10});
  CHECK(seqs_of(f.store->messages_after(conv, 0, 2)) == std::vector<int64_t>{1, 2});
  CHECK(f.store->messages_after(conv, 10, 5).empty());
  CHECK(f.store->messages_after(conv, 0, 0).empty());
  CHECK(f.store->messages_after(ConvKey::direct(b, other.b), 0, 5).empty());
}

TEST_CASE_TEMPLATE("store messages_after_ts only the user's", Backend, PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  // Ids ascend in creation order, so a is conv_b of its chat with z and conv_a of its chat
  // with b. Both sides of the direct-chat search are covered.
  const int64_t z = f.add_user("z");
  const int64_t a = f.add_user("a");
  const int64_t b = f.add_user("b");
  const int64_t c = f.add_user("c");
  const int64_t d = f.add_user("d");
  const auto with_a = f.store->create_group("with a", b, {a}, false, 1000);
  const auto without_a = f.store->create_group("without a", c, {d}, false, 1000);
  const auto left = f.store->create_group("a left", c, {a}, false, 1000);

  const ConvKey ab = ConvKey::direct(a, b);
  const ConvKey za = ConvKey::direct(z, a);
  const ConvKey cd = ConvKey::direct(c, d);
  REQUIRE(ab.a == a);
  REQUIRE(za.b == a);
  f.store->insert_messages({
      make_message(ab, a, b, "", "ab old", 100),
      make_message(ab, b, a, "", "ab new", 300),
      make_message(cd, c, d, "", "cd", 300),
      make_message(za, z, a, "", "za", 250),
      make_message(ConvKey::group(with_a.id), b, with_a.id, "", "group", 300),
      make_message(ConvKey::group(without_a.id), c, without_a.id, "", "other group", 300),
      make_message(ConvKey::group(left.id), c, left.id, "", "left group", 300),
  });
  REQUIRE(f.store->remove_member(left.id, a));

  CHECK(contents_of(f.store->messages_after_ts(a, 200, 100)) ==
        std::vector<std::string>{"za", "ab new", "group"});
  CHECK(contents_of(f.store->messages_after_ts(a, 0, 100)) ==
        std::vector<std::string>{"ab old", "za", "ab new", "group"});
  CHECK(contents_of(f.store->messages_after_ts(a, 0, 2)) ==
        std::vector<std::string>{"ab old", "za"});
  CHECK(f.store->messages_after_ts(a, 300, 100).empty());
  CHECK(f.store->messages_after_ts(a, 0, 0).empty());

  CHECK(contents_of(f.store->messages_after_ts(z, 0, 100)) == std::vector<std::string>{"za"});
  CHECK(contents_of(f.store->messages_after_ts(d, 0, 100)) ==
        std::vector<std::string>{"cd", "other group"});
  CHECK(contents_of(f.store->messages_after_ts(c, 0, 100)) ==
        std::vector<std::string>{"cd", "other group", "left group"});
}

TEST_CASE_TEMPLATE("store chat with oneself appears once", Backend, PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  const int64_t a = f.add_user("a");
  const ConvKey self = ConvKey::direct(a, a);
  f.store->insert_messages({make_message(self, a, a, "", "note to self", 100)});
  CHECK(f.store->messages_after_ts(a, 0, 10).size() == 1);
  CHECK(f.store->conversations(a).size() == 1);
}

TEST_CASE_TEMPLATE("store conversations and unread counts", Backend, PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  const int64_t a = f.add_user("a");
  const int64_t b = f.add_user("b");
  const int64_t c = f.add_user("c");
  const auto group = f.store->create_group("g", b, {a, c}, false, 1000);
  const auto silent = f.store->create_group("silent", a, {b}, false, 1000);
  const ConvKey ab = ConvKey::direct(a, b);
  const ConvKey ac = ConvKey::direct(a, c);
  const ConvKey g = ConvKey::group(group.id);

  f.store->insert_messages({
      make_message(ab, b, a, "", "b1", 100),
      make_message(ab, a, b, "", "a1", 110),
      make_message(ab, b, a, "", "b2", 120),
      make_message(g, c, group.id, "", "c1", 130),
      make_message(g, a, group.id, "", "a2", 140),
      make_message(ac, a, c, "", "a3", 90),
  });

  auto list = f.store->conversations(a);
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

  f.store->set_read_mark(a, ab, 2);
  f.store->set_read_mark(a, g, 1);
  list = f.store->conversations(a);
  REQUIRE(list.size() == 3);
  CHECK(list[0].unread == 0);
  CHECK(list[1].unread == 1);

  // Read marks never move backwards.
  f.store->set_read_mark(a, ab, 3);
  f.store->set_read_mark(a, ab, 1);
  list = f.store->conversations(a);
  REQUIRE(list.size() == 3);
  CHECK(list[1].unread == 0);
  CHECK(f.backend.query_text("SELECT seq FROM read_marks WHERE conv_kind = 1") == "3");

  // b's marks are separate from a's.
  auto for_b = f.store->conversations(b);
  REQUIRE(for_b.size() == 2);
  CHECK(for_b[0].conv == g);
  CHECK(for_b[0].unread == 2);
  CHECK(for_b[1].conv == ab);
  CHECK(for_b[1].unread == 1);

  // A new message moves its conversation to the front.
  f.store->insert_messages({make_message(ac, c, a, "", "c2", 500)});
  list = f.store->conversations(a);
  REQUIRE(list.size() == 3);
  CHECK(list[0].conv == ac);
  CHECK(list[0].unread == 1);
  CHECK(f.store->conversations(f.add_user("nobody")).empty());
}

TEST_CASE_TEMPLATE("store recall erases content", Backend, PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  const int64_t a = f.add_user("a");
  const int64_t b = f.add_user("b");
  Message message = make_message(ConvKey::direct(a, b), a, b, "r1", "secret", 100);
  message.media = 4;
  message.url = "/media/u";
  message.pic = "/media/p";
  message.memo = "memo";
  message.amount = 99;
  const int64_t id = f.store->insert_messages({message})[0].message.id;

  auto recalled = f.store->recall_message(id);
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

  auto stored = f.store->get_message(id);
  REQUIRE(stored.has_value());
  CHECK(stored->recalled);
  CHECK(stored->content.empty());
  CHECK(f.backend.query_text("SELECT COUNT(*) FROM messages WHERE content LIKE '%secret%'") == "0");
  CHECK_FALSE(f.store->recall_message(id + 100).has_value());
}

TEST_CASE_TEMPLATE("store writer and reader on two threads", Backend, PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  const int64_t a = f.add_user("a");
  const int64_t b = f.add_user("b");
  const ConvKey conv = ConvKey::direct(a, b);
  constexpr int kBatches = 150;
  constexpr int kBatchSize = 4;
  constexpr int64_t kTotal = kBatches * kBatchSize;

  auto writer_store = f.open();
  auto reader_store = f.open();
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
  CHECK(f.store->messages_before(conv, 0, 1).at(0).seq == kTotal);
}

TEST_CASE_TEMPLATE("store two writers share seqs without gaps", Backend, PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  const int64_t a = f.add_user("a");
  const int64_t b = f.add_user("b");
  const ConvKey conv = ConvKey::direct(a, b);
  constexpr int kBatchesPerWriter = 60;

  auto first = f.open();
  auto second = f.open();
  std::string errors[2];
  auto write = [&](Store& store, int64_t sender, int index) {
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
  auto all = f.store->messages_after(conv, 0, 1000);
  REQUIRE(all.size() == 2 * 2 * kBatchesPerWriter);
  CHECK(seqs_count_from_one(all));
}

TEST_CASE_TEMPLATE("store writers lock conversations in order", Backend, PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  // Each writer's batches list the same conversations, the second writer's in reverse order.
  // Locking the counters in the order of the batch could deadlock. The partners need no
  // accounts, because only the sender of a message is a foreign key.
  const int64_t a = f.add_user("a");
  const int64_t b = f.add_user("b");
  std::vector<ConvKey> convs{ConvKey::direct(a, b)};
  for (int64_t k = 1; k < 64; ++k) {
    convs.push_back(ConvKey::direct(k % 2 == 0 ? a : b, 1000000 + k));
  }
  constexpr int kBatchesPerWriter = 40;

  auto first = f.open();
  auto second = f.open();
  std::string errors[2];
  auto write = [&](Store& store, int64_t sender, bool reverse, int index) {
    try {
      for (int i = 0; i < kBatchesPerWriter; ++i) {
        std::vector<Message> batch;
        for (size_t k = 0; k < convs.size(); ++k) {
          const ConvKey& conv = convs[reverse ? convs.size() - 1 - k : k];
          batch.push_back(make_message(conv, sender, conv.b, "", "x"));
        }
        store.insert_messages(batch);
      }
    } catch (const StoreError& error) {
      errors[index] = error.what();
    }
  };
  std::thread one(write, std::ref(*first), a, false, 0);
  std::thread two(write, std::ref(*second), b, true, 1);
  one.join();
  two.join();

  CHECK(errors[0].empty());
  CHECK(errors[1].empty());
  for (const ConvKey& conv : convs) {
    auto all = f.store->messages_after(conv, 0, 1000);
    REQUIRE(all.size() == 2 * kBatchesPerWriter);
    CHECK(seqs_count_from_one(all));
  }
}

TEST_CASE_TEMPLATE("store commit survives kill -9", Backend, PARLEY_STORE_BACKENDS) {
  StoreFixture<Backend> f;
  if (!f.ready()) {
    return;
  }
  const int64_t a = f.add_user("a");
  const int64_t b = f.add_user("b");
  const ConvKey conv = ConvKey::direct(a, b);
  f.store.reset();

  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child inserts, then dies by SIGKILL without any cleanup. It never returns into doctest.
    try {
      auto store = f.backend.connect();
      store->insert_messages({make_message(conv, a, b, "k1", "durable")});
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

  f.store = f.open();
  auto stored = f.store->messages_after(conv, 0, 10);
  REQUIRE(stored.size() == 1);
  CHECK(stored[0].content == "durable");
  CHECK(f.store->insert_messages({make_message(conv, a, b, "k1", "again")})[0].duplicate);
}
