#include "store/rows.h"

namespace parley::store::rows {

const char* request_state_name(RequestState state) {
  switch (state) {
    case RequestState::kPending:
      return "pending";
    case RequestState::kAccepted:
      return "accepted";
    case RequestState::kDeclined:
      return "declined";
  }
  return "pending";
}

RequestState parse_request_state(const std::string& name) {
  if (name == "accepted") {
    return RequestState::kAccepted;
  }
  if (name == "declined") {
    return RequestState::kDeclined;
  }
  if (name == "pending") {
    return RequestState::kPending;
  }
  throw StoreError("reading friend request failed: unknown state '" + name + "' in the database");
}

const char* role_name(Role role) {
  switch (role) {
    case Role::kOwner:
      return "owner";
    case Role::kAdmin:
      return "admin";
    case Role::kMember:
      return "member";
  }
  return "member";
}

Role parse_role(const std::string& name) {
  if (name == "owner") {
    return Role::kOwner;
  }
  if (name == "admin") {
    return Role::kAdmin;
  }
  if (name == "member") {
    return Role::kMember;
  }
  throw StoreError("reading group member failed: unknown role '" + name + "' in the database");
}

}  // namespace parley::store::rows
