// Accounts: register, login, logout, me, user search.

#include "im/api.h"
#include "im/clock.h"
#include "im/config.h"
#include "im/credentials.h"
#include "im/delivery.h"
#include "im/json.h"
#include "net/log.h"

namespace parley::im {

namespace {
bool valid_username(std::string_view name) {
  if (name.size() < 3 || name.size() > 32) {
    return false;
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

// Usernames are compared without regard to case, so that "Dave" cannot pose as "dave". They
// hold ASCII only (see valid_username), so lower-casing them is the whole canonical form.
std::string canonical_username(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return lower;
}

std::string user_body(const store::User& user) {
  return json_object([&](JsonWriter& w) {
    w.Key("user");
    write_user(w, user);
  });
}
}  // namespace

ApiResult api_register(ApiCall& call, store::Store& store) {
  auto username = body_string(call, "username");
  auto password = body_string(call, "password");
  if (!username || !valid_username(*username)) {
    return bad_request("username must be 3-32 characters of A-Z, a-z, 0-9, '_', '.', '-'");
  }
  if (!password || password->size() < 8 || password->size() > 128) {
    return bad_request("password must be 8-128 bytes");
  }
  std::string nickname = *username;
  if (call.body.HasMember("nickname")) {
    auto given = body_string(call, "nickname");
    if (!given || given->size() > kMaxNicknameBytes) {
      return bad_request("nickname must be a string of at most 64 bytes");
    }
    if (!given->empty()) {
      nickname = *given;
    }
  }
  auto user = store.create_user(canonical_username(*username), hash_password(*password),
                                nickname, unix_ms());
  if (!user) {
    return error_response(409, "conflict", "username is taken");
  }
  net::log(net::LogLevel::kInfo, "user ", user->id, " registered");
  return json_response(201, user_body(*user));
}

ApiResult api_login(ApiCall& call, store::Store& store) {
  auto username = body_string(call, "username");
  auto password = body_string(call, "password");
  if (!username || !password) {
    return bad_request("username and password are required strings");
  }
  // Only failures cost a token, so a household behind one address can still log in, while a
  // password guesser is stopped after a few tries. Checked before the slow hash, which it guards.
  RateLimiter& limiter = call.server->login_limiter();
  uint64_t address = address_key(call.peer);
  if (!limiter.has_token(address, unix_ms())) {
    call.server->metrics().logins_rate_limited.fetch_add(1, std::memory_order_relaxed);
    net::log(net::LogLevel::kWarn, "login rejected for ", call.peer,
             ": too many failed logins from this address");
    return error_response(429, "rate_limited",
                          "too many failed logins from this address; retry in a minute");
  }
  auto credentials = store.find_credentials(canonical_username(*username));
  // Hash even for an unknown name, so response time does not reveal which names exist.
  static const std::string kDummyHash = hash_password("parley-dummy-password");
  bool ok = verify_password(*password, credentials ? credentials->password_hash : kDummyHash) &&
            credentials.has_value();
  if (!ok) {
    limiter.charge(address, unix_ms());
    return error_response(401, "unauthenticated", "wrong username or password");
  }
  std::string token = new_token();
  store.create_token(token_hash(token), credentials->user.id, unix_ms());
  net::log(net::LogLevel::kInfo, "user ", credentials->user.id, " logged in");
  return json_response(200, json_object([&](JsonWriter& w) {
                         w.Key("user");
                         write_user(w, credentials->user);
                         w.Key("token");
                         write_string(w, token);
                       }));
}

ApiResult api_logout(ApiCall& call, store::Store& store) {
  store.delete_token(call.token_hash);
  close_token_sessions(*call.server, call.token_hash);
  net::log(net::LogLevel::kInfo, "user ", call.user, " logged out");
  net::HttpResponse response;
  response.status = 204;
  return response;
}

ApiResult api_me(ApiCall& call, store::Store& store) {
  auto user = store.get_user(call.user);
  if (!user) {
    return not_found("user not found");
  }
  return json_response(200, user_body(*user));
}

ApiResult api_search_users(ApiCall& call, store::Store& store) {
  std::string query = call.request.query_param("query").value_or("");
  if (query.empty() || query.size() > 32) {
    return bad_request("query must be 1-32 characters");
  }
  auto users = store.search_users(canonical_username(query), 20);
  return json_response(200, json_object([&](JsonWriter& w) {
                         w.Key("users");
                         w.StartArray();
                         for (const auto& user : users) {
                           write_user(w, user);
                         }
                         w.EndArray();
                       }));
}

}  // namespace parley::im
