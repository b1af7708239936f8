// The sidebar: friends, groups, friend requests and user search, kept
// current by the presence, friend request and group change pushes.
//
// Stable hooks for automated tests:
//   Friends and requests:
//     #search-input, #search-btn, #search-results with .search-result entries
//       (data-user-id, data-username)
//     [data-add-friend="USER_ID"]   button that sends a friend request
//     [data-accept="REQ_ID"], [data-decline="REQ_ID"]   incoming request buttons
//     #request-list (incoming), #outgoing-list (sent, still pending)
//     #friend-list with [data-friend="USER_ID"] entries; a click opens the chat.
//       They also carry data-username, data-conv="u:USER_ID",
//       data-online="true|false" and data-unread="N".
//   Groups:
//     #group-list with [data-group="GROUP_ID"] entries (data-conv="g:GROUP_ID",
//       data-unread="N"); a click opens the chat.
//     #group-name, [data-group-member="USER_ID"] checkboxes, #create-group-btn

import {
  closeConversation, loadGroupMembers, openConversation, renderConversationHeader,
} from './chat.js';
import { $, el } from './dom.js';
import { api } from './http.js';
import { parseConvKey } from './protocol.js';
import {
  displayName, rememberUser, state, userName,
} from './state.js';
import { guarded, showStatus } from './status.js';

export async function refreshLists() {
  await Promise.all([refreshFriends(), refreshRequests(), refreshGroups()]);
}

async function refreshFriends() {
  const data = await api('GET', '/api/friends');
  state.friends = new Map();
  for (const friend of data.friends) {
    rememberUser(friend);
    state.friends.set(friend.id, friend);
  }
  renderFriends();
  renderGroupMemberChoices();
  renderConversationHeader();
}

async function refreshRequests() {
  const data = await api('GET', '/api/friends/requests');
  state.incoming = data.incoming ?? [];
  state.outgoing = data.outgoing ?? [];
  // Each request carries both users, so names show even for people this tab has not seen.
  for (const request of [...state.incoming, ...state.outgoing]) {
    if (request.from_user) rememberUser(request.from_user);
    if (request.to_user) rememberUser(request.to_user);
  }
  renderRequests();
}

export async function refreshGroups() {
  const data = await api('GET', '/api/groups');
  state.groups = new Map(data.groups.map((group) => [group.id, group]));
  renderGroups();
  if (!state.openKey) return;

  const open = parseConvKey(state.openKey);
  if (open.kind === 'g' && !state.groups.has(open.id)) {
    closeConversation();
    showStatus('You are no longer a member of that group.', 'info');
  } else {
    renderConversationHeader();
  }
}

export function clearSidebar() {
  for (const id of ['#friend-list', '#group-list', '#request-list', '#outgoing-list',
    '#search-results', '#group-member-choices']) {
    $(id).replaceChildren();
  }
  $('#search-input').value = '';
}

// ---------------------------------------------------------------------------
// Friend and group entries

function unreadBadge(unread) {
  return el('span', { className: 'badge', hidden: unread === 0 }, String(unread));
}

/** Builds a clickable sidebar entry for a conversation; `dataset` adds the entry's own hooks. */
function conversationEntry(key, dataset, ...children) {
  const unread = state.conversations.get(key)?.unread ?? 0;
  return el('button', {
    type: 'button',
    className: key === state.openKey ? 'entry active' : 'entry',
    dataset: { ...dataset, conv: key, unread: String(unread) },
    onclick: guarded(() => openConversation(key)),
  }, ...children, unreadBadge(unread));
}

function renderFriends() {
  const byPresenceThenName = (a, b) =>
    (Number(b.online) - Number(a.online)) || userName(a.id).localeCompare(userName(b.id));
  const friends = [...state.friends.values()].sort(byPresenceThenName);
  const items = friends.map((friend) => el('li', {}, conversationEntry(
    `u:${friend.id}`,
    { friend: String(friend.id), username: friend.username, online: String(Boolean(friend.online)) },
    el('span', { className: 'dot', title: friend.online ? 'online' : 'offline' }),
    el('span', { className: 'entry-name' }, displayName(friend)),
    el('span', { className: 'entry-sub' }, `@${friend.username}`),
  )));
  if (items.length === 0) {
    items.push(el('li', { className: 'empty' }, 'No friends yet. Find people below.'));
  }
  $('#friend-list').replaceChildren(...items);
}

function renderGroups() {
  const groups = [...state.groups.values()].sort((a, b) => a.name.localeCompare(b.name));
  const items = groups.map((group) => el('li', {}, conversationEntry(
    `g:${group.id}`,
    { group: String(group.id) },
    el('span', { className: 'group-icon', 'aria-hidden': 'true' }, '#'),
    el('span', { className: 'entry-name' }, group.name),
    el('span', { className: 'entry-sub' }, `${group.member_count} members`),
  )));
  if (items.length === 0) items.push(el('li', { className: 'empty' }, 'No groups yet.'));
  $('#group-list').replaceChildren(...items);
}

/** Updates the unread badge of the friend or group entry for `key`, if the sidebar has one. */
export function updateEntryBadge(key) {
  const unread = state.conversations.get(key)?.unread ?? 0;
  for (const entry of document.querySelectorAll(`.entry[data-conv="${key}"]`)) {
    entry.dataset.unread = String(unread);
    const badge = entry.querySelector('.badge');
    badge.textContent = String(unread);
    badge.hidden = unread === 0;
  }
}

export function markActiveEntry() {
  for (const entry of document.querySelectorAll('.entry')) {
    entry.classList.toggle('active', entry.dataset.conv === state.openKey);
  }
}

/** Updates a friend's presence dot after a presence push (cmd 50). */
export function handlePresence(frame) {
  const friend = state.friends.get(frame.userid);
  if (!friend) return;
  friend.online = Boolean(frame.online);
  renderFriends();
  if (state.openKey === `u:${frame.userid}`) renderConversationHeader();
}

/**
 * Reloads the groups after a group change push (cmd 52), and the members of
 * the open group if it is the one that changed. A group that this user has
 * left or was removed from is closed by refreshGroups().
 */
export async function handleGroupChange(frame) {
  await refreshGroups();
  const groupId = frame.group?.id;
  if (groupId && state.openKey === `g:${groupId}`) await loadGroupMembers(groupId);
}

// ---------------------------------------------------------------------------
// New group

function renderGroupMemberChoices() {
  const choices = [...state.friends.values()].map((friend) => el('label', { className: 'choice' },
    el('input', { type: 'checkbox', value: String(friend.id), dataset: { groupMember: String(friend.id) } }),
    ` ${displayName(friend)}`,
  ));
  if (choices.length === 0) {
    choices.push(el('p', { className: 'empty' }, 'Add friends first to invite them.'));
  }
  $('#group-member-choices').replaceChildren(...choices);
}

export async function onCreateGroup(event) {
  event.preventDefault();
  const name = $('#group-name').value.trim();
  if (!name) return;
  const members = [...document.querySelectorAll('[data-group-member]:checked')]
    .map((box) => Number(box.dataset.groupMember));
  const data = await api('POST', '/api/groups', { name, members });
  $('#group-form').reset();
  $('#new-group').open = false;
  await refreshGroups();
  await openConversation(`g:${data.group.id}`);
  showStatus(`Group "${name}" created.`, 'info');
}

// ---------------------------------------------------------------------------
// Friend requests

function renderRequests() {
  const incoming = state.incoming.map((request) => el('li', { className: 'request' },
    el('span', { className: 'entry-name' }, userName(request.from)),
    el('span', { className: 'request-actions' },
      el('button', {
        type: 'button',
        className: 'primary',
        dataset: { accept: String(request.id) },
        onclick: guarded(() => answerRequest(request.id, 'accept')),
      }, 'Accept'),
      el('button', {
        type: 'button',
        dataset: { decline: String(request.id) },
        onclick: guarded(() => answerRequest(request.id, 'decline')),
      }, 'Decline')),
  ));
  if (incoming.length === 0) incoming.push(el('li', { className: 'empty' }, 'No pending requests.'));
  $('#request-list').replaceChildren(...incoming);

  const outgoing = state.outgoing.map((request) => el('li', { className: 'request outgoing' },
    el('span', { className: 'entry-name' }, userName(request.to)),
    el('span', { className: 'entry-sub' }, 'waiting for an answer'),
  ));
  $('#outgoing-list').replaceChildren(...outgoing);
}

async function answerRequest(requestId, answer) {
  await api('POST', `/api/friends/requests/${requestId}/${answer}`);
  await refreshFriendsAndRequests();
  showStatus(answer === 'accept' ? 'Friend request accepted.' : 'Friend request declined.', 'info');
}

/**
 * Reloads friends and requests, as after a friend request push (cmd 51), and
 * updates the friend and request labels of the search results.
 */
export async function refreshFriendsAndRequests() {
  await Promise.all([refreshRequests(), refreshFriends()]);
  rerenderSearchResults();
}

// ---------------------------------------------------------------------------
// Search

export async function onSearch(event) {
  event.preventDefault();
  const query = $('#search-input').value.trim();
  if (!query) return;
  const data = await api('GET', `/api/users?${new URLSearchParams({ query })}`);
  renderSearchResults(data.users);
}

function searchResultAction(user, requestedIds) {
  if (user.id === state.me.id) return el('span', { className: 'entry-sub' }, 'you');
  if (state.friends.has(user.id)) return el('span', { className: 'entry-sub' }, 'friend');
  if (requestedIds.has(user.id)) return el('span', { className: 'entry-sub' }, 'request sent');
  return el('button', {
    type: 'button',
    dataset: { addFriend: String(user.id) },
    onclick: guarded(() => sendFriendRequest(user)),
  }, 'Add friend');
}

function renderSearchResults(users) {
  const requestedIds = new Set(state.outgoing.map((request) => request.to));
  const items = users.map((user) => {
    rememberUser(user);
    return el('li', { className: 'search-result', dataset: { userId: String(user.id), username: user.username } },
      el('span', { className: 'entry-name' }, displayName(user)),
      el('span', { className: 'entry-sub' }, `@${user.username}`),
      searchResultAction(user, requestedIds));
  });
  if (items.length === 0) items.push(el('li', { className: 'empty' }, 'Nobody found.'));
  $('#search-results').replaceChildren(...items);
}

/** Redraws the current search results, so that their friend and request labels stay current. */
function rerenderSearchResults() {
  const items = [...$('#search-results').querySelectorAll('.search-result')];
  if (items.length === 0) return;
  const users = items.map((item) => state.users.get(Number(item.dataset.userId))).filter(Boolean);
  renderSearchResults(users);
}

async function sendFriendRequest(user) {
  const data = await api('POST', '/api/friends/requests', { user_id: user.id });
  // If the other side had already asked, the server makes both friends at once.
  const becameFriends = data?.request?.state === 'accepted';
  await refreshFriendsAndRequests();
  if (becameFriends) showStatus(`You and ${user.username} are now friends.`, 'info');
  else showStatus(`Friend request sent to ${user.username}.`, 'info');
}
