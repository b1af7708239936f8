// The chat pane: open conversations, history, sending, uploads, and the
// message frames (deliveries, acks, errors, typing, recalls).

import { $, el } from './dom.js';
import {
  CMD, INLINE_IMAGE_TYPES, MAX_CONTENT_BYTES, MEDIA, newClientId, parseConvKey, safeMediaUrl,
} from './protocol.js';
import { messageNode } from './render.js';
import { markActiveEntry, refreshGroups, updateEntryBadge } from './sidebar.js';
import {
  api, conversationTitle, getConversation, rememberUser, sendFrame, state, userName,
} from './state.js';
import { showError, showStatus } from './status.js';

const HISTORY_PAGE_SIZE = 50;
const TYPING_SEND_INTERVAL_MS = 3_000;
const TYPING_SHOW_MS = 4_000;
// Within this many pixels of the bottom, new messages keep the list scrolled down.
const STICK_TO_BOTTOM_PX = 80;

// ---------------------------------------------------------------------------
// Opening and closing

export async function openConversation(key) {
  const parsed = parseConvKey(key);
  if (!parsed) return;
  state.openKey = key;
  const conv = getConversation(key);
  conv.unread = 0;
  updateEntryBadge(key);
  markActiveEntry();
  $('#typing').hidden = true;
  setComposerEnabled(true);
  renderConversationHeader();
  rerenderOpenMessages();
  scrollMessagesToBottom();
  $('#message-input').focus();

  const loads = [];
  if (!conv.historyLoaded) loads.push(loadHistory(conv));
  if (parsed.kind === 'g') loads.push(loadGroupMembers(parsed.id));
  await Promise.all(loads);
  markRead(conv);
}

export function closeConversation() {
  state.openKey = null;
  markActiveEntry();
  setComposerEnabled(false);
  $('#messages').replaceChildren();
  renderConversationHeader();
}

function setComposerEnabled(enabled) {
  for (const id of ['#message-input', '#send-btn', '#file-input']) $(id).disabled = !enabled;
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
    renderAddMemberSelect(members);
    addMemberForm.hidden = false;
  }
  $('#load-older-btn').hidden = !getConversation(key).hasOlder;
}

// ---------------------------------------------------------------------------
// Groups

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
    .map((friend) => el('option', { value: String(friend.id) }, friend.nickname || friend.username));
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

// ---------------------------------------------------------------------------
// History and read marks

/** Loads unread counts and the newest message of every conversation. */
export async function loadConversationSummaries() {
  const data = await api('GET', '/api/conversations');
  for (const summary of data.conversations) {
    if (!parseConvKey(summary.conv)) continue;
    const conv = getConversation(summary.conv);
    conv.unread = summary.unread ?? 0;
    if (summary.last) storeMessage(conv, { ...summary.last, conv: summary.conv });
    updateEntryBadge(summary.conv);
  }
}

async function loadHistory(conv, beforeSeq) {
  const params = new URLSearchParams({ conv: conv.key, limit: String(HISTORY_PAGE_SIZE) });
  if (beforeSeq) params.set('before', String(beforeSeq));
  const data = await api('GET', `/api/messages?${params}`);
  for (const message of data.messages) storeMessage(conv, { ...message, conv: conv.key });
  conv.historyLoaded = true;
  conv.hasOlder = data.messages.length === HISTORY_PAGE_SIZE;
  if (state.openKey !== conv.key) return;

  const list = $('#messages');
  const distanceFromBottom = list.scrollHeight - list.scrollTop;
  rerenderOpenMessages();
  if (beforeSeq) {
    list.scrollTop = list.scrollHeight - distanceFromBottom; // older messages appear above the view
  } else {
    scrollMessagesToBottom();
  }
  $('#load-older-btn').hidden = !conv.hasOlder;
}

export async function onLoadOlder() {
  if (!state.openKey) return;
  const conv = getConversation(state.openKey);
  await loadHistory(conv, conv.oldestSeq());
}

/** Adds a message to its conversation; returns false if that seq is already stored. */
function storeMessage(conv, message) {
  if (typeof message.ts === 'number') state.lastTs = Math.max(state.lastTs, message.ts);
  if (typeof message.seq !== 'number' || conv.messages.has(message.seq)) return false;
  conv.messages.set(message.seq, message);
  return true;
}

/** Sends a read mark (cmd 40) up to the newest seq of `conv`, if it is open and the tab is visible. */
export function markRead(conv) {
  if (document.visibilityState !== 'visible' || state.openKey !== conv.key) return;
  const newest = conv.newestSeq();
  if (newest <= conv.readSeq) return;
  if (sendFrame({ cmd: CMD.READ, conv: conv.key, seq: newest })) conv.readSeq = newest;
}

// ---------------------------------------------------------------------------
// The message list

function viewer() {
  return { ownId: state.me.id, nameOf: userName };
}

function pendingNode(entry) {
  const message = { ...entry.frame, userid: state.me.id, ts: entry.createdAt };
  return messageNode(message, viewer(), { pending: !entry.failed, failed: entry.failed, reason: entry.reason });
}

function isNearBottom(list) {
  return list.scrollHeight - list.scrollTop - list.clientHeight < STICK_TO_BOTTOM_PX;
}

function scrollMessagesToBottom() {
  const list = $('#messages');
  list.scrollTop = list.scrollHeight;
}

/** Renders the open conversation from memory: stored messages by seq, then the unacknowledged ones. */
function rerenderOpenMessages() {
  const list = $('#messages');
  if (!state.openKey) {
    list.replaceChildren();
    return;
  }
  const conv = getConversation(state.openKey);
  const stored = [...conv.messages.values()]
    .sort((a, b) => a.seq - b.seq)
    .map((message) => messageNode(message, viewer()));
  const unacknowledged = [...state.pending.values()]
    .filter((entry) => entry.conv === state.openKey)
    .map(pendingNode);
  list.replaceChildren(...stored, ...unacknowledged);
}

/** Inserts one stored message into the open list at its seq position, before any pending ones. */
function insertMessageNode(message) {
  const list = $('#messages');
  if (list.querySelector(`.message[data-seq="${message.seq}"]`)) return;
  const stick = isNearBottom(list) || message.userid === state.me.id;
  let before = null;
  for (const child of list.children) {
    if (!child.dataset.seq || Number(child.dataset.seq) > message.seq) {
      before = child;
      break;
    }
  }
  list.insertBefore(messageNode(message, viewer()), before);
  if (stick) scrollMessagesToBottom();
}

export function clearChat() {
  $('#messages').replaceChildren();
  $('#typing').hidden = true;
  setComposerEnabled(false);
  renderConversationHeader();
}

// ---------------------------------------------------------------------------
// Sending

/** Sends a message to conversation `key` and shows it as pending until its ack. */
function sendChatMessage(key, fields) {
  const parsed = parseConvKey(key);
  const cid = newClientId();
  const frame = {
    cmd: parsed.kind === 'u' ? CMD.DIRECT_MESSAGE : CMD.GROUP_MESSAGE,
    dstid: parsed.id,
    cid,
    media: MEDIA.TEXT,
    ...fields,
  };
  const entry = { cid, conv: key, frame, createdAt: Date.now(), failed: false, reason: '' };
  state.pending.set(cid, entry);
  if (key === state.openKey) {
    $('#messages').append(pendingNode(entry));
    scrollMessagesToBottom();
  }
  // While the connection is down the message waits in state.pending and is
  // sent after the next welcome.
  sendFrame(frame);
}

/** Resends every unacknowledged message; the server acks a repeated cid again without storing it twice. */
export function resendPending() {
  for (const entry of state.pending.values()) {
    if (!entry.failed) sendFrame(entry.frame);
  }
}

export function onSend(event) {
  event.preventDefault();
  const input = $('#message-input');
  const content = input.value;
  if (!state.openKey || !content.trim()) return;
  if (new TextEncoder().encode(content).length > MAX_CONTENT_BYTES) {
    showStatus(`The message is longer than ${MAX_CONTENT_BYTES / 1024} KiB. Split it into several messages.`);
    return;
  }
  sendChatMessage(state.openKey, { media: MEDIA.TEXT, content });
  input.value = '';
  input.focus();
}

export function onComposerKeydown(event) {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $('#composer').requestSubmit();
  }
}

/** Sends a typing notice (cmd 41) in a 1:1 chat, at most once every 3 s. */
export function onComposerInput() {
  const parsed = parseConvKey(state.openKey);
  if (!parsed || parsed.kind !== 'u') return;
  const now = Date.now();
  if (now - state.lastTypingSentAt < TYPING_SEND_INTERVAL_MS) return;
  state.lastTypingSentAt = now;
  sendFrame({ cmd: CMD.TYPING, dstid: parsed.id });
}

/** Uploads the chosen file and sends it to the conversation that was open when it was chosen. */
export async function onFileChosen(event) {
  const input = event.target;
  const file = input.files?.[0];
  input.value = '';
  const targetKey = state.openKey;
  if (!file || !targetKey) return;

  showStatus(`Uploading ${file.name}…`, 'info');
  const form = new FormData();
  form.append('file', file, file.name);
  const uploaded = await api('POST', '/api/upload', form);
  if (!safeMediaUrl(uploaded?.url)) {
    showStatus(`Upload of ${file.name} failed: the server returned the invalid address ${uploaded?.url}.`);
    return;
  }
  if (INLINE_IMAGE_TYPES.has(uploaded.mime ?? file.type)) {
    sendChatMessage(targetKey, { media: MEDIA.IMAGE, url: uploaded.url, content: '' });
  } else {
    sendChatMessage(targetKey, { media: MEDIA.FILE, url: uploaded.url, content: file.name });
  }
  showStatus(`Sent ${file.name}.`, 'info');
}

// ---------------------------------------------------------------------------
// Incoming message frames

/** Handles a delivered message (cmd 10 or 11); `conv` is written from this user's side. */
export function handleDelivery(message) {
  const key = message.conv;
  const parsed = parseConvKey(key);
  if (!parsed) return;
  // After a reconnect, sync can bring back a message of ours whose ack was lost.
  if (message.userid === state.me.id && message.cid && state.pending.has(message.cid)) {
    handleAck(message);
    return;
  }
  const conv = getConversation(key);
  if (!storeMessage(conv, message)) return;

  if (key === state.openKey) {
    insertMessageNode(message);
    markRead(conv);
  } else if (message.userid !== state.me.id) {
    conv.unread += 1;
    updateEntryBadge(key);
  }

  if (parsed.kind === 'g' && !state.groups.has(parsed.id)) {
    refreshGroups().catch(showError);
  }
  // Group senders need the member list for their names.
  if (parsed.kind === 'g' && !state.users.has(message.userid) && !state.groupMembers.has(parsed.id)) {
    loadGroupMembers(parsed.id).catch(showError);
  }
}

/** Turns a pending message into a stored one. `ack` is a cmd 20 frame or our own delivery. */
export function handleAck(ack) {
  const entry = state.pending.get(ack.cid);
  if (!entry) return;
  state.pending.delete(ack.cid);
  const key = ack.conv ?? entry.conv;
  const message = { ...entry.frame, userid: state.me.id, id: ack.id, seq: ack.seq, ts: ack.ts, conv: key };
  const conv = getConversation(key);
  storeMessage(conv, message);
  if (key !== state.openKey) return;

  $('#messages').querySelector(`.message.pending[data-cid="${CSS.escape(ack.cid)}"]`)?.remove();
  insertMessageNode(conv.messages.get(message.seq));
  markRead(conv);
}

/** Shows a server error (cmd 21); one that names a pending cid marks that message as not sent. */
export function handleServerError(frame) {
  const text = frame.message || frame.code || 'unknown error';
  const entry = frame.cid ? state.pending.get(frame.cid) : null;
  if (!entry) {
    showStatus(`Server error: ${text}`);
    return;
  }
  entry.failed = true;
  entry.reason = text;
  showStatus(`Message not sent: ${text}`);
  if (entry.conv !== state.openKey) return;
  const node = $('#messages').querySelector(`.message[data-cid="${CSS.escape(entry.cid)}"]`);
  node?.replaceWith(pendingNode(entry));
}

let typingTimer = 0;

export function handleTyping(frame) {
  if (state.openKey !== `u:${frame.userid}`) return;
  const typing = $('#typing');
  typing.textContent = `${userName(frame.userid)} is typing…`;
  typing.hidden = false;
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => { typing.hidden = true; }, TYPING_SHOW_MS);
}

export function handleRecall(frame) {
  const conv = state.conversations.get(frame.conv);
  const message = conv?.findById(frame.id);
  if (!message) return;
  message.recalled = true;
  message.content = '';
  if (conv.key !== state.openKey) return;
  const node = $('#messages').querySelector(`.message[data-seq="${message.seq}"]`);
  node?.replaceWith(messageNode(message, viewer()));
}
