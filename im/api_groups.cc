// Groups: create, list, get, join, add and remove members. Membership changes drop the owner
// loop's cached member list (invalidate_conv) and notify the members with cmd 52.

#include "im/api.h"
#include "im/clock.h"
#include "im/config.h"
#include "im/delivery.h"
#include "im/json.h"
#include "ws/frame.h"

namespace parley::im {

namespace {
// Tells `users` about a change of `group`.
void notify_group(Server& server, const std::vector<int64_t>& users, const store::Group& group,
                  const char* event, int64_t subject) {
  std::string json = json_object([&](JsonWriter& w) {
    w.Key("cmd");
    w.Int(52);
    w.Key("group");
    write_group(w, group);
    w.Key("event");
    w.String(event);
    // The protocol always sends userid, with 0 when the change names no single user.
    w.Key("userid");
    w.Int64(subject);
  });
  route_frame(server, users,
              std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::kText, json)));
}

std::string group_body(const store::Group& group) {
  return json_object([&](JsonWriter& w) {
    w.Key("group");
    write_group(w, group);
  });
}

bool can_manage(std::optional<store::Role> role) {
  return role == store::Role::kOwner || role == store::Role::kAdmin;
}

// Re-reads the group (member_count changed) and notifies everyone in it, plus `extra`.
net::HttpResponse after_change(ApiCall& call, store::Store& store, int64_t group_id,
                               const char* event, int64_t subject, int64_t extra, int status) {
  auto group = store.get_group(group_id);
  if (!group) {
    return not_found("group not found");
  }
  invalidate_conv(*call.server, store::ConvKey::group(group_id));
  std::vector<int64_t> users = store.group_member_ids(group_id);
  if (extra != 0) {
    users.push_back(extra);
  }
  notify_group(*call.server, users, *group, event, subject);
  if (status == 204) {
    net::HttpResponse response;
    response.status = 204;
    return response;
  }
  return json_response(status, group_body(*group));
}
}  // namespace

ApiResult api_create_group(ApiCall& call, store::Store& store) {
  auto name = body_string(call, "name");
  if (!name || name->empty() || name->size() > kMaxGroupNameBytes) {
    return bad_request("name must be a string of 1-64 bytes");
  }
  bool open = false;
  auto open_it = call.body.FindMember("open");
  if (open_it != call.body.MemberEnd()) {
    if (!open_it->value.IsBool()) {
      return bad_request("open must be a boolean");
    }
    open = open_it->value.GetBool();
  }
  std::vector<int64_t> members;
  auto members_it = call.body.FindMember("members");
  if (members_it != call.body.MemberEnd()) {
    if (!members_it->value.IsArray()) {
      return bad_request("members must be an array of user ids");
    }
    for (const auto& value : members_it->value.GetArray()) {
      if (!value.IsInt64() || value.GetInt64() <= 0) {
        return bad_request("members must be an array of user ids");
      }
      int64_t id = value.GetInt64();
      if (id == call.user || std::find(members.begin(), members.end(), id) != members.end()) {
        continue;
      }
      if (!store.are_friends(call.user, id) || store.is_blocked(id, call.user)) {
        return forbidden("group members must be your friends");
      }
      members.push_back(id);
    }
  }
  if (members.size() + 1 > call.server->config().max_group_members) {
    return error_response(413, "too_large", "too many members for one group");
  }
  store::Group group = store.create_group(*name, call.user, members, open, unix_ms());
  invalidate_conv(*call.server, store::ConvKey::group(group.id));
  // The creator's other sessions learn of the group too. The frame names no single user,
  // because every listed member was added at once.
  members.push_back(call.user);
  notify_group(*call.server, members, group, "added", 0);
  return json_response(201, group_body(group));
}

ApiResult api_list_groups(ApiCall& call, store::Store& store) {
  auto groups = store.groups_of(call.user);
  return json_response(200, json_object([&](JsonWriter& w) {
                         w.Key("groups");
                         w.StartArray();
                         for (const auto& group : groups) {
                           write_group(w, group);
                         }
                         w.EndArray();
                       }));
}

ApiResult api_get_group(ApiCall& call, store::Store& store) {
  auto group = store.get_group(call.ids[0]);
  if (!group) {
    return not_found("group not found");
  }
  if (!store.member_role(group->id, call.user)) {
    return forbidden("only members can see a group");
  }
  auto members = store.group_members(group->id);
  return json_response(200, json_object([&](JsonWriter& w) {
                         w.Key("group");
                         write_group(w, *group);
                         w.Key("members");
                         w.StartArray();
                         for (const auto& member : members) {
                           w.StartObject();
                           w.Key("user");
                           write_user(w, member.user);
                           w.Key("role");
                           w.String(role_name(member.role));
                           w.EndObject();
                         }
                         w.EndArray();
                       }));
}

ApiResult api_join_group(ApiCall& call, store::Store& store) {
  auto group = store.get_group(call.ids[0]);
  if (!group) {
    return not_found("group not found");
  }
  if (store.member_role(group->id, call.user)) {
    return json_response(200, group_body(*group));
  }
  if (!group->open) {
    return forbidden("this group is closed; ask an owner or admin to add you");
  }
  if (static_cast<size_t>(group->member_count) >= call.server->config().max_group_members) {
    return error_response(409, "conflict", "the group is full");
  }
  // NOTE: the size check and the insert are two store calls, so two joins racing for the last
  // place can exceed the maximum by one each.
  store.add_member(group->id, call.user, store::Role::kMember);
  return after_change(call, store, group->id, "joined", call.user, 0, 200);
}

ApiResult api_add_member(ApiCall& call, store::Store& store) {
  auto user = body_id(call, "user_id");
  if (!user) {
    return bad_request("user_id must be a positive integer");
  }
  auto group = store.get_group(call.ids[0]);
  if (!group) {
    return not_found("group not found");
  }
  if (!can_manage(store.member_role(group->id, call.user))) {
    return forbidden("only the owner or an admin can add members");
  }
  if (!store.get_user(*user)) {
    return not_found("user not found");
  }
  if (store.is_blocked(*user, call.user)) {
    return forbidden("this user blocks you");
  }
  if (store.member_role(group->id, *user)) {
    return json_response(200, group_body(*group));
  }
  if (static_cast<size_t>(group->member_count) >= call.server->config().max_group_members) {
    return error_response(409, "conflict", "the group is full");
  }
  store.add_member(group->id, *user, store::Role::kMember);
  return after_change(call, store, group->id, "added", *user, 0, 200);
}

ApiResult api_remove_member(ApiCall& call, store::Store& store) {
  int64_t group_id = call.ids[0];
  int64_t target = call.ids[1];
  auto group = store.get_group(group_id);
  if (!group) {
    return not_found("group not found");
  }
  auto caller_role = store.member_role(group_id, call.user);
  auto target_role = store.member_role(group_id, target);
  if (!caller_role) {
    return forbidden("only members can change a group");
  }
  if (!target_role) {
    return not_found("not a member of this group");
  }
  if (target_role == store::Role::kOwner) {
    return error_response(409, "conflict", "the owner cannot leave or be removed");
  }
  bool self = target == call.user;
  if (!self && !can_manage(caller_role)) {
    return forbidden("only the owner or an admin can remove others");
  }
  if (!self && target_role == store::Role::kAdmin && caller_role != store::Role::kOwner) {
    return forbidden("only the owner can remove an admin");
  }
  store.remove_member(group_id, target);
  return after_change(call, store, group_id, self ? "left" : "removed", target, target, 204);
}

ApiResult api_set_member_role(ApiCall& call, store::Store& store) {
  int64_t group_id = call.ids[0];
  int64_t target = call.ids[1];
  auto role_text = body_string(call, "role");
  std::optional<store::Role> role;
  if (role_text == "admin") {
    role = store::Role::kAdmin;
  } else if (role_text == "member") {
    role = store::Role::kMember;
  } else {
    return bad_request("role must be \"admin\" or \"member\"");
  }
  auto group = store.get_group(group_id);
  if (!group) {
    return not_found("group not found");
  }
  if (store.member_role(group_id, call.user) != store::Role::kOwner) {
    return forbidden("only the owner can change roles");
  }
  auto target_role = store.member_role(group_id, target);
  if (!target_role) {
    return not_found("not a member of this group");
  }
  if (target_role == store::Role::kOwner) {
    return error_response(409, "conflict", "the owner's role cannot change");
  }
  if (target_role != role) {
    store.set_member_role(group_id, target, *role);
    std::vector<int64_t> users = store.group_member_ids(group_id);
    notify_group(*call.server, users, *group, role == store::Role::kAdmin ? "promoted" : "demoted",
                 target);
  }
  return json_response(200, group_body(*group));
}

}  // namespace parley::im
