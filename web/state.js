// Client state shared by the modules: the logged-in user, what this tab knows
// of friends, groups and conversations, and display names drawn from it.

import { parseConvKey } from './protocol.js';

/** Messages and counters of one conversation, keyed from this user's side ("u:FRIEND_ID" or "g:GROUP_ID"). */
class Conversation {
  constructor(key) {
    this.key = key;
    this.messages = new Map(); // seq -> message
    this.historyLoaded = false;
    this.hasOlder = false;
    this.unread = 0;
    this.readSeq = 0; // the highest seq this client has reported as read (cmd 40)
  }

  oldestSeq() {
    let oldest = Infinity;
    for (const seq of this.messages.keys()) oldest = Math.min(oldest, seq);
    return oldest === Infinity ? 0 : oldest;
  }

  newestSeq() {
    let newest = 0;
    for (const seq of this.messages.keys()) newest = Math.max(newest, seq);
    return newest;
  }

  findById(id) {
    for (const message of this.messages.values()) {
      if (message.id === id) return message;
    }
    return null;
  }
}

function emptyState() {
  return {
    token: null,
    me: null,
    users: new Map(), // id -> USER, every user this tab has seen
    friends: new Map(), // id -> USER with `online`
    groups: new Map(), // id -> GROUP
    groupMembers: new Map(), // group id -> [{user, role}]
    incoming: [], // pending friend requests to this user
    outgoing: [], // pending friend requests from this user
    conversations: new Map(), // conversation key -> Conversation
    openKey: null, // the conversation shown in the chat pane
    // The newest message ts seen, the starting point for sync after a reconnect.
    lastTs: 0,
    // Sent messages without an ack yet, by cid. Entries with `failed` set
    // were rejected by the server and stay only for display.
    pending: new Map(),
  };
}

export const state = emptyState();

/** Forgets everything about the logged-in user, as after a logout. */
export function resetState() {
  Object.assign(state, emptyState());
}

export function rememberUser(user) {
  if (!user || typeof user.id !== 'number') return;
  state.users.set(user.id, { ...state.users.get(user.id), ...user });
}

/** Returns the name to show for a USER: the nickname, or the username without one. */
export function displayName(user) {
  return user.nickname || user.username;
}

/** Returns the display name of user `userId`, or "user #ID" if this tab has not seen them. */
export function userName(userId) {
  if (state.me && userId === state.me.id) return displayName(state.me);
  const user = state.users.get(userId);
  return user ? displayName(user) : `user #${userId}`;
}

export function conversationTitle(key) {
  const conv = parseConvKey(key);
  if (!conv) return key;
  if (conv.kind === 'u') return userName(conv.id);
  return state.groups.get(conv.id)?.name ?? `group #${conv.id}`;
}

export function getConversation(key) {
  let conv = state.conversations.get(key);
  if (!conv) {
    conv = new Conversation(key);
    state.conversations.set(key, conv);
  }
  return conv;
}
