// The chat pane around the message list: which conversation is open, its
// header (title, presence or members, typing notice) and, in a group, the
// form that adds a member.
//
// Stable hooks for automated tests:
//   #chat-title     the open conversation's name
//   #chat-subtitle  "@username · online|offline", or "N members: names" in a group
//   #add-member-select, #add-member-btn   shown while a group is open in which
//     this user is owner or admin; the select offers friends who are not members

import { disableComposer, enableComposer } from './composer.js';
import { $, el } from './dom.js';
import { api } from './http.js';
import {
  loadHistory, markRead, rerenderOpenMessages, scrollMessagesToBottom,
} from './messages.js';
import { parseConvKey } from './protocol.js';
import { markActiveEntry, refreshGroups, updateEntryBadge } from './sidebar.js';
import {
  conversationTitle, displayName, getConversation, rememberUser, state, userName,
} from './state.js';
import { showStatus } from './status.js';

const TYPING_SHOW_MS = 4_000;

/** Shows conversation `key` ("u:ID" or "g:ID"), loading its history and, for a group, its members. */
export async function openConversation(key) {
  const parsed = parseConvKey(key);
  if (!parsed) return;
  state.openKey = key;
  const conv = getConversation(key);
  conv.unread = 0;
  updateEntryBadge(key);
  markActiveEntry();
  hideTyping();
  enableComposer();
  renderConversationHeader();
  rerenderOpenMessages();
  scrollMessagesToBottom();

  const loads = [];
  if (!conv.historyLoaded) loads.push(loadHistory(conv));
  if (parsed.kind === 'g') loads.push(loadGroupMembers(parsed.id));
  await Promise.all(loads);
  markRead(conv);
}

/** Empties the chat pane, as when no conversation is open. */
export function closeConversation() {
  state.openKey = null;
  markActiveEntry();
  hideTyping();
  disableComposer();
  rerenderOpenMessages();
  renderConversationHeader();
}

function directSubtitle(friendId) {
  const friend = state.friends.get(friendId);
  if (!friend) return 'not your friend';
  const presence = friend.online ? 'online' : 'offline';
  return `@${friend.username} · ${presence}`;
}

export function renderConversationHeader() {
  const key = state.openKey;
  const addMemberForm = $('#add-member-form');
  if (!key) {
    $('#chat-title').textContent = 'No conversation open';
    $('#chat-subtitle').textContent = 'Pick a friend or a group on the left.';
    addMemberForm.hidden = true;
    $('#load-older-btn').hidden = true;
    return;
  }

  const parsed = parseConvKey(key);
  $('#chat-title').textContent = conversationTitle(key);
  if (parsed.kind === 'u') {
    $('#chat-subtitle').textContent = directSubtitle(parsed.id);
    addMemberForm.hidden = true;
  } else {
    const members = state.groupMembers.get(parsed.id) ?? [];
    const names = members.map((member) => userName(member.user.id)).join(', ');
    const count = members.length || state.groups.get(parsed.id)?.member_count || 0;
    $('#chat-subtitle').textContent = names ? `${count} members: ${names}` : `${count} members`;
    // The server lets only the owner and admins add members.
    const myRole = members.find((member) => member.user.id === state.me.id)?.role;
    addMemberForm.hidden = myRole !== 'owner' && myRole !== 'admin';
    if (!addMemberForm.hidden) renderAddMemberSelect(members);
  }
  $('#load-older-btn').hidden = !getConversation(key).hasOlder;
}

// ---------------------------------------------------------------------------
// Typing notices

let typingTimer = 0;
let typingUserId = null; // the user whose notice #typing shows, or null while it is hidden

function hideTyping() {
  clearTimeout(typingTimer);
  typingUserId = null;
  $('#typing').hidden = true;
}

/** Shows "NAME is typing…" for a few seconds after a typing notice (cmd 41) in the open 1:1 chat. */
export function handleTyping(frame) {
  if (state.openKey !== `u:${frame.userid}`) return;
  const typing = $('#typing');
  typing.textContent = `${userName(frame.userid)} is typing…`;
  typing.hidden = false;
  typingUserId = frame.userid;
  clearTimeout(typingTimer);
  typingTimer = setTimeout(hideTyping, TYPING_SHOW_MS);
}

/** Hides `userId`'s typing notice. handleDelivery calls it when a message from them arrives. */
export function hideTypingOf(userId) {
  if (typingUserId === userId) hideTyping();
}

// ---------------------------------------------------------------------------
// Group members

export async function loadGroupMembers(groupId) {
  const data = await api('GET', `/api/groups/${groupId}`);
  state.groups.set(groupId, data.group);
  for (const member of data.members) rememberUser(member.user);
  state.groupMembers.set(groupId, data.members);
  if (state.openKey === `g:${groupId}`) {
    renderConversationHeader();
    rerenderOpenMessages(); // sender names may have changed from "user #ID"
  }
}

function renderAddMemberSelect(members) {
  const memberIds = new Set(members.map((member) => member.user.id));
  const options = [...state.friends.values()]
    .filter((friend) => !memberIds.has(friend.id))
    .map((friend) => el('option', { value: String(friend.id) }, displayName(friend)));
  $('#add-member-select').replaceChildren(...options);
  $('#add-member-btn').disabled = options.length === 0;
}

export async function onAddMember(event) {
  event.preventDefault();
  const open = parseConvKey(state.openKey);
  const userId = Number($('#add-member-select').value);
  if (!open || open.kind !== 'g' || !userId) return;
  await api('POST', `/api/groups/${open.id}/members`, { user_id: userId });
  await loadGroupMembers(open.id);
  await refreshGroups();
  showStatus(`${userName(userId)} was added to the group.`, 'info');
}
