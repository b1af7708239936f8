// The messages of each conversation: history loaded over HTTP, messages sent
// and delivered over the WebSocket (acks, errors, recalls), read marks, and
// the #messages list that shows the open conversation.
//
// Stable hooks for automated tests:
//   #messages contains .message elements with data-seq (empty while
//     pending), data-id, data-cid, data-sender and classes own or other,
//     pending, failed. Inside: .sender, .text (message text), img (images),
//     a.file (files).
//   #load-older-btn   shown while older history can be loaded

import { hideTypingOf, loadGroupMembers } from './chat.js';
import { sendFrame } from './connection.js';
import { $ } from './dom.js';
import { api } from './http.js';
import { messageNode } from './message_view.js';
import { CMD, MEDIA, newClientId, parseConvKey } from './protocol.js';
import { refreshGroups, updateEntryBadge } from './sidebar.js';
import { getConversation, state, userName } from './state.js';
import { showError, showStatus } from './status.js';

const HISTORY_PAGE_SIZE = 50;
// Within this many pixels of the bottom, the list follows new messages down.
const STICK_TO_BOTTOM_PX = 80;

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

/** Loads a page of history: the newest messages, or those before `beforeSeq`. */
export async function loadHistory(conv, beforeSeq) {
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

/** Marks the open conversation read when the tab becomes visible again. */
export function onVisibilityChange() {
  if (state.openKey) markRead(getConversation(state.openKey));
}

// ---------------------------------------------------------------------------
// The message list

function viewer() {
  return { ownId: state.me.id, nameOf: userName };
}

function pendingNode(entry) {
  const message = { ...entry.frame, userid: state.me.id, ts: entry.createdAt };
  const { failed, reason } = entry;
  return messageNode(message, viewer(), { pending: !failed, failed, reason });
}

function isNearBottom(list) {
  return list.scrollHeight - list.scrollTop - list.clientHeight < STICK_TO_BOTTOM_PX;
}

// Whether the list was near its bottom at the last scroll, so that an image
// that loads later and makes the list taller keeps it there.
let stuckToBottom = true;

export function scrollMessagesToBottom() {
  const list = $('#messages');
  list.scrollTop = list.scrollHeight;
  stuckToBottom = true;
}

export function onMessagesScroll() {
  stuckToBottom = isNearBottom($('#messages'));
}

/** Keeps the list at its bottom when an image in it finishes loading (a capturing load listener). */
export function onMessageMediaLoad(event) {
  if (event.target instanceof HTMLImageElement && stuckToBottom) scrollMessagesToBottom();
}

/** Renders the open conversation from memory: stored messages by seq, then the unacknowledged ones. */
export function rerenderOpenMessages() {
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

// ---------------------------------------------------------------------------
// Sending

/**
 * Sends a message to conversation `key` and shows it as pending until its
 * ack. `fields` holds media, content and url. While the connection is down
 * the message waits in state.pending and is sent after the next welcome.
 */
export function sendMessage(key, fields) {
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
  sendFrame(frame);
}

/** Resends every unacknowledged message; the server acks a repeated cid again without storing it twice. */
export function resendPending() {
  for (const entry of state.pending.values()) {
    if (!entry.failed) sendFrame(entry.frame);
  }
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
  // The typing notice shows only in a 1:1 chat, so a group message leaves it alone.
  if (parsed.kind === 'u') hideTypingOf(message.userid);

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

/** Erases a recalled message (cmd 42) and shows it as recalled if its conversation is open. */
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
