/*
 * parley browser client: accounts, friends, groups and chat over the HTTP API
 * under /api/ and the WebSocket at /chat.
 *
 * Every piece of user data (usernames, nicknames, group names, message text,
 * file names) reaches the page through textContent or createElement, never
 * through innerHTML. Media links are used only when they point under /media/.
 *
 * The token lives in sessionStorage, so each browser tab can hold a
 * different user.
 *
 * Stable hooks for automated tests:
 *   Log in and register:
 *     #login-username, #login-password, #login-btn
 *     #reg-username, #reg-password, #reg-nickname, #register-btn
 *     #logout-btn, #me (the logged-in username), #me-nickname
 *   Status:
 *     #status        errors and notices; data-kind="error" or "info"
 *     #conn-state    WebSocket state in data-state: online, connecting or offline
 *   Friends and requests:
 *     #search-input, #search-btn, #search-results
 *     [data-add-friend="USER_ID"]   button that sends a friend request
 *     [data-accept="REQ_ID"], [data-decline="REQ_ID"]   incoming request buttons
 *     #request-list (incoming), #outgoing-list (sent, still pending)
 *     #friend-list with [data-friend="USER_ID"] entries; a click opens the chat.
 *       They also carry data-username, data-conv="u:USER_ID",
 *       data-online="true|false" and data-unread="N".
 *   Groups:
 *     #group-list with [data-group="GROUP_ID"] entries (data-conv="g:GROUP_ID",
 *       data-unread="N"); a click opens the chat.
 *     #group-name, [data-group-member="USER_ID"] checkboxes, #create-group-btn
 *     #add-member-select, #add-member-btn (shown while a group is open)
 *   Chat:
 *     #chat-title, #message-input, #send-btn, #file-input, #load-older-btn
 *     #messages contains .message elements with data-seq (empty while
 *       pending), data-id, data-cid, data-sender and classes own, pending,
 *       failed. Inside: .text (message text), img (images), a.file (files).
 */

const TOKEN_KEY = 'parley.token';
const HEARTBEAT_INTERVAL_MS = 25_000;
// A connection that has sent nothing for this long (not even a heartbeat
// reply) is treated as dead and replaced.
const SILENT_CONNECTION_LIMIT_MS = 2 * HEARTBEAT_INTERVAL_MS + 10_000;
const RECONNECT_MIN_DELAY_MS = 1_000;
const RECONNECT_MAX_DELAY_MS = 30_000;
// While the WebSocket is down no pushes arrive, so the lists are polled.
const OFFLINE_LIST_REFRESH_MS = 30_000;
const HISTORY_PAGE_SIZE = 50;
const TYPING_SEND_INTERVAL_MS = 3_000;
const TYPING_SHOW_MS = 4_000;
const INFO_STATUS_MS = 5_000;

const CMD = Object.freeze({
  HEARTBEAT: 0,
  WELCOME: 1,
  DIRECT_MESSAGE: 10,
  GROUP_MESSAGE: 11,
  ACK: 20,
  ERROR: 21,
  SYNC: 30,
  SYNC_DONE: 31,
  READ: 40,
  TYPING: 41,
  RECALL: 42,
  PRESENCE: 50,
  FRIEND_REQUEST: 51,
  GROUP_CHANGE: 52,
});

const MEDIA = Object.freeze({
  TEXT: 1, IMAGE: 2, VOICE: 3, VIDEO: 4, FILE: 5, EMOJI: 6, LINK: 7, RED_PACKET: 8,
});

// Image types that the server serves inline (it recognises them by their magic bytes).
const INLINE_IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

// ---------------------------------------------------------------------------
// State

/**
 * Conversation state, keyed by the conversation key from this user's side
 * ("u:FRIEND_ID" or "g:GROUP_ID").
 */
class Conversation {
  constructor(key) {
    this.key = key;
    this.messages = new Map(); // seq -> message
    this.historyLoaded = false;
    this.hasOlder = false;
    this.unread = 0;
    this.readSeq = 0; // the highest seq this client has reported as read
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

const state = {
  token: null,
  me: null,
  users: new Map(), // id -> USER, every user this tab has seen
  friends: new Map(), // id -> USER with `online`
  groups: new Map(), // id -> GROUP
  groupMembers: new Map(), // group id -> [{user, role}]
  incoming: [],
  outgoing: [],
  conversations: new Map(), // conversation key -> Conversation
  openKey: null,
  // The newest message ts seen, the starting point for sync after a reconnect.
  lastTs: 0,
  // Messages sent but not acknowledged yet, by cid. Entries with `failed` set
  // were rejected by the server and are only kept for display.
  pending: new Map(),
  lastTypingSentAt: 0,
  listRefreshTimer: 0,
};

const connection = {
  socket: null,
  welcomed: false,
  everWelcomed: false,
  attempts: 0,
  heartbeatTimer: 0,
  reconnectTimer: 0,
  lastFrameAt: 0,
};

// ---------------------------------------------------------------------------
// DOM helpers

const $ = (selector) => document.querySelector(selector);

/**
 * Creates an element. Props set attributes, `dataset` entries, `className`,
 * `text` (textContent) and `on<event>` listeners. String children become text
 * nodes, so nothing passed here is ever parsed as HTML.
 */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'className') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

let statusTimer = 0;

/** Shows a notice in #status; errors stay until the next notice replaces them. */
function showStatus(text, kind = 'error') {
  const status = $('#status');
  clearTimeout(statusTimer);
  status.textContent = text;
  status.dataset.kind = kind;
  status.hidden = false;
  if (kind === 'info') {
    statusTimer = setTimeout(() => { status.hidden = true; }, INFO_STATUS_MS);
  }
}

function showError(err) {
  if (err instanceof ApiError) {
    console.warn(err);
    showStatus(err.message);
  } else {
    console.error(err);
    showStatus(`Unexpected error: ${err.message ?? err}`);
  }
}

/** Wraps an event handler so that a thrown or rejected error lands in #status. */
function guarded(handler) {
  return async (event) => {
    try {
      await handler(event);
    } catch (err) {
      showError(err);
    }
  };
}

function setConnState(connState, label = connState) {
  const node = $('#conn-state');
  node.dataset.state = connState;
  node.textContent = label;
}

function formatTime(ts) {
  if (!ts) return '';
  const date = new Date(ts);
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay
    ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : date.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

// ---------------------------------------------------------------------------
// Identifiers and names

/** Returns a unique client message id; randomUUID exists only in secure contexts. */
function newClientId() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Splits "u:12" or "g:7" into {kind, id}; returns null for anything else. */
function parseConvKey(key) {
  const match = /^([ug]):(\d+)$/.exec(String(key ?? ''));
  return match ? { kind: match[1], id: Number(match[2]) } : null;
}

/** Returns url if it is a plain path under /media/, else null. */
function safeMediaUrl(url) {
  if (typeof url !== 'string') return null;
  if (!/^\/media\/[A-Za-z0-9._~%-]+$/.test(url)) return null;
  if (url.includes('..')) return null;
  return url;
}

function rememberUser(user) {
  if (!user || typeof user.id !== 'number') return;
  state.users.set(user.id, { ...state.users.get(user.id), ...user });
}

function userName(userId) {
  if (state.me && userId === state.me.id) return state.me.nickname || state.me.username;
  const user = state.users.get(userId);
  return user ? (user.nickname || user.username) : `user #${userId}`;
}

function conversationTitle(key) {
  const conv = parseConvKey(key);
  if (!conv) return key;
  if (conv.kind === 'u') return userName(conv.id);
  return state.groups.get(conv.id)?.name ?? `group #${conv.id}`;
}

function getConversation(key) {
  let conv = state.conversations.get(key);
  if (!conv) {
    conv = new Conversation(key);
    state.conversations.set(key, conv);
  }
  return conv;
}

// ---------------------------------------------------------------------------
// HTTP API

class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/**
 * Calls the HTTP API and returns the parsed JSON body (null for 204).
 * Throws ApiError with the server's error.message. A 401 on a call that
 * carried a token ends the local session.
 */
async function api(method, path, body) {
  const headers = {};
  const token = state.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload;
  if (body instanceof FormData) {
    payload = body; // the browser sets the multipart boundary
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }

  let response;
  try {
    response = await fetch(path, { method, headers, body: payload });
  } catch (err) {
    throw new ApiError('network', `Cannot reach the server (${method} ${path}): ${err.message}`, 0);
  }

  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (response.ok) return data;

  const error = data?.error;
  const apiError = new ApiError(
    error?.code ?? `http_${response.status}`,
    error?.message ?? `${method} ${path} failed with HTTP ${response.status}`,
    response.status,
  );
  if (response.status === 401 && token && token === state.token) {
    endSession('Your session has ended. Please log in again.');
  }
  throw apiError;
}

// ---------------------------------------------------------------------------
// Log in, register, log out

async function logIn(username, password) {
  const data = await api('POST', '/api/login', { username, password });
  state.token = data.token;
  sessionStorage.setItem(TOKEN_KEY, data.token);
  await enterApp(data.user);
}

async function onRegister(event) {
  event.preventDefault();
  const username = $('#reg-username').value.trim();
  const password = $('#reg-password').value;
  const nickname = $('#reg-nickname').value.trim();
  const body = { username, password };
  if (nickname) body.nickname = nickname;
  await api('POST', '/api/register', body);
  $('#register-form').reset();
  await logIn(username, password);
  showStatus(`Welcome, ${nickname || username}.`, 'info');
}

async function onLogin(event) {
  event.preventDefault();
  await logIn($('#login-username').value.trim(), $('#login-password').value);
  $('#login-form').reset();
}

async function onLogout() {
  try {
    await api('POST', '/api/logout');
  } catch (err) {
    // The local session ends anyway; the token expires on the server later.
    console.warn('logout failed', err);
  }
  endSession();
}

/** Shows the app for `user` and loads everything the sidebar needs. */
async function enterApp(user) {
  state.me = user;
  rememberUser(user);
  $('#me').textContent = user.username;
  $('#me-nickname').textContent = user.nickname || user.username;
  $('#auth-view').hidden = true;
  $('#app-view').hidden = false;
  renderConversationHeader();

  // A failed list still lets the rest of the app work; the socket opens regardless.
  await refreshLists().catch(showError);
  await loadConversationSummaries().catch(showError);
  openSocket();
  state.listRefreshTimer = setInterval(() => {
    if (!connection.welcomed) refreshLists().catch(showError);
  }, OFFLINE_LIST_REFRESH_MS);
}

/** Forgets the token and every piece of user state, then shows the log-in forms. */
function endSession(message) {
  closeSocket();
  clearInterval(state.listRefreshTimer);
  sessionStorage.removeItem(TOKEN_KEY);
  Object.assign(state, {
    token: null,
    me: null,
    users: new Map(),
    friends: new Map(),
    groups: new Map(),
    groupMembers: new Map(),
    incoming: [],
    outgoing: [],
    conversations: new Map(),
    openKey: null,
    lastTs: 0,
    pending: new Map(),
    lastTypingSentAt: 0,
    listRefreshTimer: 0,
  });
  connection.everWelcomed = false;
  for (const id of ['#friend-list', '#group-list', '#request-list', '#outgoing-list',
    '#search-results', '#messages', '#group-member-choices']) {
    $(id).replaceChildren();
  }
  $('#me').textContent = '';
  $('#me-nickname').textContent = '';
  $('#app-view').hidden = true;
  $('#auth-view').hidden = false;
  setConnState('offline');
  if (message) showStatus(message);
  else $('#status').hidden = true;
}

// ---------------------------------------------------------------------------
// Friends, requests, groups and search

async function refreshLists() {
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
  renderRequests();
}

async function refreshGroups() {
  const data = await api('GET', '/api/groups');
  state.groups = new Map(data.groups.map((group) => [group.id, group]));
  renderGroups();
  if (state.openKey) {
    const open = parseConvKey(state.openKey);
    if (open.kind === 'g' && !state.groups.has(open.id)) {
      closeConversation();
      showStatus('You are no longer a member of that group.', 'info');
    } else {
      renderConversationHeader();
    }
  }
}

/** Loads unread counts and the newest message of every conversation. */
async function loadConversationSummaries() {
  const data = await api('GET', '/api/conversations');
  for (const summary of data.conversations) {
    if (!parseConvKey(summary.conv)) continue;
    const conv = getConversation(summary.conv);
    conv.unread = summary.unread ?? 0;
    if (summary.last) storeMessage(conv, { ...summary.last, conv: summary.conv });
    updateEntryBadge(summary.conv);
  }
}

async function loadGroupMembers(groupId) {
  const data = await api('GET', `/api/groups/${groupId}`);
  state.groups.set(groupId, data.group);
  for (const member of data.members) rememberUser(member.user);
  state.groupMembers.set(groupId, data.members);
  if (state.openKey === `g:${groupId}`) {
    renderConversationHeader();
    rerenderOpenMessages();
  }
}

function unreadBadge(key) {
  const unread = state.conversations.get(key)?.unread ?? 0;
  return el('span', { className: 'badge', hidden: unread === 0 }, String(unread));
}

function entryButton(key, dataset, onOpen, ...children) {
  const unread = state.conversations.get(key)?.unread ?? 0;
  return el('button', {
    type: 'button',
    className: key === state.openKey ? 'entry active' : 'entry',
    dataset: { ...dataset, conv: key, unread: String(unread) },
    onclick: guarded(onOpen),
  }, ...children, unreadBadge(key));
}

function renderFriends() {
  const friends = [...state.friends.values()].sort((a, b) =>
    (Number(b.online) - Number(a.online)) || userName(a.id).localeCompare(userName(b.id)));
  const items = friends.map((friend) => el('li', {}, entryButton(
    `u:${friend.id}`,
    { friend: String(friend.id), username: friend.username, online: String(Boolean(friend.online)) },
    () => openConversation(`u:${friend.id}`),
    el('span', { className: 'dot', title: friend.online ? 'online' : 'offline' }),
    el('span', { className: 'entry-name' }, friend.nickname || friend.username),
    el('span', { className: 'entry-sub' }, `@${friend.username}`),
  )));
  if (items.length === 0) {
    items.push(el('li', { className: 'empty' }, 'No friends yet. Find people below.'));
  }
  $('#friend-list').replaceChildren(...items);
}

function renderGroups() {
  const groups = [...state.groups.values()].sort((a, b) => a.name.localeCompare(b.name));
  const items = groups.map((group) => el('li', {}, entryButton(
    `g:${group.id}`,
    { group: String(group.id) },
    () => openConversation(`g:${group.id}`),
    el('span', { className: 'group-icon', 'aria-hidden': 'true' }, '#'),
    el('span', { className: 'entry-name' }, group.name),
    el('span', { className: 'entry-sub' }, `${group.member_count} members`),
  )));
  if (items.length === 0) items.push(el('li', { className: 'empty' }, 'No groups yet.'));
  $('#group-list').replaceChildren(...items);
}

function renderGroupMemberChoices() {
  const choices = [...state.friends.values()].map((friend) => el('label', { className: 'choice' },
    el('input', { type: 'checkbox', value: String(friend.id), dataset: { groupMember: String(friend.id) } }),
    ` ${friend.nickname || friend.username}`,
  ));
  if (choices.length === 0) {
    choices.push(el('p', { className: 'empty' }, 'Add friends first to invite them.'));
  }
  $('#group-member-choices').replaceChildren(...choices);
}

/** Returns the display name of the other side of a request, if known. */
function requestPartyName(request, side) {
  const party = request[side];
  if (party && typeof party === 'object') {
    rememberUser(party);
    return party.nickname || party.username;
  }
  // NOTE: REQ carries only user ids; names of users this tab has never seen
  // (in search, friends or group members) show as "user #ID".
  return userName(party);
}

function renderRequests() {
  const incoming = state.incoming.map((request) => el('li', { className: 'request' },
    el('span', { className: 'entry-name' }, requestPartyName(request, 'from')),
    el('span', { className: 'request-actions' },
      el('button', {
        type: 'button', className: 'primary', dataset: { accept: String(request.id) },
        onclick: guarded(() => answerRequest(request.id, 'accept')),
      }, 'Accept'),
      el('button', {
        type: 'button', dataset: { decline: String(request.id) },
        onclick: guarded(() => answerRequest(request.id, 'decline')),
      }, 'Decline')),
  ));
  if (incoming.length === 0) incoming.push(el('li', { className: 'empty' }, 'No pending requests.'));
  $('#request-list').replaceChildren(...incoming);

  const outgoing = state.outgoing.map((request) => el('li', { className: 'request outgoing' },
    el('span', { className: 'entry-name' }, requestPartyName(request, 'to')),
    el('span', { className: 'entry-sub' }, 'waiting for an answer'),
  ));
  $('#outgoing-list').replaceChildren(...outgoing);
}

async function answerRequest(requestId, answer) {
  await api('POST', `/api/friends/requests/${requestId}/${answer}`);
  await Promise.all([refreshRequests(), refreshFriends()]);
  showStatus(answer === 'accept' ? 'Friend request accepted.' : 'Friend request declined.', 'info');
}

async function onSearch(event) {
  event.preventDefault();
  const query = $('#search-input').value.trim();
  if (!query) return;
  const data = await api('GET', `/api/users?${new URLSearchParams({ query })}`);
  renderSearchResults(data.users);
}

function renderSearchResults(users) {
  const pendingTo = new Set(state.outgoing.map((request) => request.to));
  const items = users.map((user) => {
    rememberUser(user);
    let action;
    if (user.id === state.me.id) {
      action = el('span', { className: 'entry-sub' }, 'you');
    } else if (state.friends.has(user.id)) {
      action = el('span', { className: 'entry-sub' }, 'friend');
    } else if (pendingTo.has(user.id)) {
      action = el('span', { className: 'entry-sub' }, 'request sent');
    } else {
      action = el('button', {
        type: 'button', dataset: { addFriend: String(user.id) },
        onclick: guarded(() => sendFriendRequest(user)),
      }, 'Add friend');
    }
    return el('li', { className: 'search-result', dataset: { userId: String(user.id), username: user.username } },
      el('span', { className: 'entry-name' }, user.nickname || user.username),
      el('span', { className: 'entry-sub' }, `@${user.username}`),
      action);
  });
  if (items.length === 0) items.push(el('li', { className: 'empty' }, 'Nobody found.'));
  $('#search-results').replaceChildren(...items);
}

/** Redraws the current search results, so their friend and request labels stay current. */
function rerenderSearchResults() {
  const items = [...$('#search-results').querySelectorAll('.search-result')];
  if (items.length === 0) return;
  const users = items.map((item) => state.users.get(Number(item.dataset.userId))).filter(Boolean);
  renderSearchResults(users);
}

async function sendFriendRequest(user) {
  const data = await api('POST', '/api/friends/requests', { user_id: user.id });
  const becameFriends = data?.request?.state === 'accepted';
  await Promise.all([refreshRequests(), refreshFriends()]);
  rerenderSearchResults();
  showStatus(becameFriends
    ? `You and ${user.username} are now friends.`
    : `Friend request sent to ${user.username}.`, 'info');
}

async function onCreateGroup(event) {
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

async function onAddMember(event) {
  event.preventDefault();
  const open = parseConvKey(state.openKey);
  const userId = Number($('#add-member-select').value);
  if (!open || open.kind !== 'g' || !userId) return;
  await api('POST', `/api/groups/${open.id}/members`, { user_id: userId });
  await loadGroupMembers(open.id);
  await refreshGroups();
  showStatus(`${userName(userId)} was added to the group.`, 'info');
}

/** Marks an entry's unread badge; entries exist only for friends and groups. */
function updateEntryBadge(key) {
  const unread = state.conversations.get(key)?.unread ?? 0;
  for (const entry of document.querySelectorAll(`.entry[data-conv="${key}"]`)) {
    entry.dataset.unread = String(unread);
    const badge = entry.querySelector('.badge');
    badge.textContent = String(unread);
    badge.hidden = unread === 0;
  }
}

function markActiveEntry() {
  for (const entry of document.querySelectorAll('.entry')) {
    entry.classList.toggle('active', entry.dataset.conv === state.openKey);
  }
}

// ---------------------------------------------------------------------------
// Conversations

async function openConversation(key) {
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

function closeConversation() {
  state.openKey = null;
  markActiveEntry();
  setComposerEnabled(false);
  $('#messages').replaceChildren();
  renderConversationHeader();
}

function setComposerEnabled(enabled) {
  for (const id of ['#message-input', '#send-btn', '#file-input']) $(id).disabled = !enabled;
}

function renderConversationHeader() {
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
    const friend = state.friends.get(parsed.id);
    const presence = friend ? (friend.online ? 'online' : 'offline') : 'not your friend';
    $('#chat-subtitle').textContent = friend ? `@${friend.username} · ${presence}` : presence;
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

function renderAddMemberSelect(members) {
  const memberIds = new Set(members.map((member) => member.user.id));
  const options = [...state.friends.values()]
    .filter((friend) => !memberIds.has(friend.id))
    .map((friend) => el('option', { value: String(friend.id) }, friend.nickname || friend.username));
  $('#add-member-select').replaceChildren(...options);
  $('#add-member-btn').disabled = options.length === 0;
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
  if (beforeSeq) list.scrollTop = list.scrollHeight - distanceFromBottom; // keep the view still
  else scrollMessagesToBottom();
  $('#load-older-btn').hidden = !conv.hasOlder;
}

async function onLoadOlder() {
  const conv = state.openKey && getConversation(state.openKey);
  if (conv) await loadHistory(conv, conv.oldestSeq());
}

/** Adds a message to its conversation; returns false if that seq is already known. */
function storeMessage(conv, message) {
  if (typeof message.ts === 'number') state.lastTs = Math.max(state.lastTs, message.ts);
  if (typeof message.seq !== 'number' || conv.messages.has(message.seq)) return false;
  conv.messages.set(message.seq, message);
  return true;
}

/** Tells the server that everything up to the newest seq of `conv` has been read. */
function markRead(conv) {
  if (document.visibilityState !== 'visible' || state.openKey !== conv.key) return;
  const newest = conv.newestSeq();
  if (newest <= conv.readSeq) return;
  if (sendFrame({ cmd: CMD.READ, conv: conv.key, seq: newest })) conv.readSeq = newest;
}

// ---------------------------------------------------------------------------
// Message rendering

function messageBody(message) {
  if (message.recalled) return [el('div', { className: 'recalled' }, 'Message recalled')];
  const parts = [];
  const url = safeMediaUrl(message.url);
  const hasText = typeof message.content === 'string' && message.content !== '';

  switch (message.media) {
    case MEDIA.IMAGE:
      if (url) {
        parts.push(el('a', { href: url, target: '_blank', rel: 'noopener' },
          el('img', { src: url, alt: message.content || 'image', loading: 'lazy' })));
      } else {
        parts.push(el('div', { className: 'notice' }, 'Image with an invalid address'));
      }
      if (hasText) parts.push(el('div', { className: 'text' }, message.content));
      return parts;
    case MEDIA.FILE:
    case MEDIA.VOICE:
    case MEDIA.VIDEO: {
      const label = hasText ? message.content : 'file';
      parts.push(url
        ? el('a', { className: 'file', href: url, download: label }, `Download ${label}`)
        : el('div', { className: 'notice' }, `${label} (invalid address)`));
      return parts;
    }
    case MEDIA.RED_PACKET:
      parts.push(el('div', { className: 'text red-packet' },
        `Red packet: ${message.amount ?? 0}${message.memo ? ` · ${message.memo}` : ''}`));
      return parts;
    default:
      parts.push(el('div', { className: 'text' }, message.content ?? ''));
      return parts;
  }
}

function messageNode(message, { pending = false, failed = false, reason = '' } = {}) {
  const own = message.userid === state.me.id;
  const classes = ['message', own ? 'own' : 'other'];
  if (pending) classes.push('pending');
  if (failed) classes.push('failed');
  let stateLine = null;
  if (pending) stateLine = el('div', { className: 'delivery' }, 'sending…');
  if (failed) stateLine = el('div', { className: 'delivery' }, `not sent: ${reason}`);

  return el('li', {
    className: classes.join(' '),
    dataset: {
      seq: typeof message.seq === 'number' ? String(message.seq) : '',
      id: message.id ? String(message.id) : '',
      cid: message.cid ?? '',
      sender: String(message.userid),
    },
  },
  el('div', { className: 'meta' },
    el('span', { className: 'sender' }, own ? 'You' : userName(message.userid)),
    el('time', { dateTime: message.ts ? new Date(message.ts).toISOString() : null }, formatTime(message.ts))),
  ...messageBody(message),
  stateLine);
}

function pendingNode(entry) {
  return messageNode(
    { ...entry.frame, userid: state.me.id, ts: entry.createdAt },
    { pending: !entry.failed, failed: entry.failed, reason: entry.reason },
  );
}

function isNearBottom(list) {
  return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
}

function scrollMessagesToBottom() {
  const list = $('#messages');
  list.scrollTop = list.scrollHeight;
}

/** Renders the open conversation from memory: stored messages by seq, then unacknowledged ones. */
function rerenderOpenMessages() {
  const list = $('#messages');
  if (!state.openKey) {
    list.replaceChildren();
    return;
  }
  const conv = getConversation(state.openKey);
  const stored = [...conv.messages.values()].sort((a, b) => a.seq - b.seq).map((m) => messageNode(m));
  const unacked = [...state.pending.values()]
    .filter((entry) => entry.conv === state.openKey)
    .map(pendingNode);
  list.replaceChildren(...stored, ...unacked);
}

/** Inserts one stored message into the open view at its seq position. */
function insertMessageNode(message) {
  const list = $('#messages');
  if (list.querySelector(`.message[data-seq="${message.seq}"]`)) return;
  const stick = isNearBottom(list) || message.userid === state.me.id;
  let before = null;
  for (const child of list.children) {
    const seq = Number(child.dataset.seq);
    if (!child.dataset.seq || seq > message.seq) {
      before = child;
      break;
    }
  }
  list.insertBefore(messageNode(message), before);
  if (stick) scrollMessagesToBottom();
}

function replaceMessageNode(message) {
  const node = $('#messages').querySelector(`.message[data-seq="${message.seq}"]`);
  if (node) node.replaceWith(messageNode(message));
}

// ---------------------------------------------------------------------------
// Sending

/** Sends a message to the open conversation and shows it as pending until its ack. */
function sendChatMessage(fields) {
  const parsed = parseConvKey(state.openKey);
  if (!parsed) {
    showStatus('Open a conversation first.');
    return;
  }
  const cid = newClientId();
  const frame = {
    cmd: parsed.kind === 'u' ? CMD.DIRECT_MESSAGE : CMD.GROUP_MESSAGE,
    dstid: parsed.id,
    cid,
    media: MEDIA.TEXT,
    ...fields,
  };
  const entry = { cid, conv: state.openKey, frame, createdAt: Date.now(), failed: false, reason: '' };
  state.pending.set(cid, entry);
  const list = $('#messages');
  list.append(pendingNode(entry));
  scrollMessagesToBottom();
  // Without an open socket the message waits; it is sent after the next welcome.
  sendFrame(frame);
}

function onSend(event) {
  event.preventDefault();
  const input = $('#message-input');
  const content = input.value;
  if (!content.trim()) return;
  if (new TextEncoder().encode(content).length > 16 * 1024) {
    showStatus('The message is longer than 16 KiB. Split it into several messages.');
    return;
  }
  sendChatMessage({ media: MEDIA.TEXT, content });
  input.value = '';
  input.focus();
}

function onComposerKeydown(event) {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $('#composer').requestSubmit();
  }
}

function onComposerInput() {
  const parsed = parseConvKey(state.openKey);
  if (!parsed || parsed.kind !== 'u') return;
  const now = Date.now();
  if (now - state.lastTypingSentAt < TYPING_SEND_INTERVAL_MS) return;
  state.lastTypingSentAt = now;
  sendFrame({ cmd: CMD.TYPING, dstid: parsed.id });
}

async function onFileChosen(event) {
  const input = event.target;
  const file = input.files?.[0];
  input.value = '';
  if (!file) return;
  const targetKey = state.openKey;
  if (!targetKey) {
    showStatus('Open a conversation before sending a file.');
    return;
  }
  showStatus(`Uploading ${file.name}…`, 'info');
  const form = new FormData();
  form.append('file', file, file.name);
  const uploaded = await api('POST', '/api/upload', form);
  if (!safeMediaUrl(uploaded?.url)) {
    throw new ApiError('internal', `The upload returned an unusable address: ${uploaded?.url}`, 0);
  }
  if (state.openKey !== targetKey) await openConversation(targetKey);
  const isImage = INLINE_IMAGE_TYPES.has(uploaded.mime ?? file.type);
  sendChatMessage(isImage
    ? { media: MEDIA.IMAGE, url: uploaded.url, content: '' }
    : { media: MEDIA.FILE, url: uploaded.url, content: file.name });
  showStatus(`Sent ${file.name}.`, 'info');
}

// ---------------------------------------------------------------------------
// WebSocket

function sendFrame(frame) {
  const socket = connection.socket;
  if (!socket || !connection.welcomed || socket.readyState !== WebSocket.OPEN) return false;
  socket.send(JSON.stringify(frame));
  return true;
}

function openSocket() {
  if (!state.token || !state.me) return;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = new URLSearchParams({ token: state.token, id: String(state.me.id) });
  const socket = new WebSocket(`${scheme}//${location.host}/chat?${query}`);
  connection.socket = socket;
  connection.welcomed = false;
  connection.lastFrameAt = Date.now();
  setConnState('connecting', 'connecting…');

  socket.addEventListener('message', (event) => {
    if (socket !== connection.socket) return;
    connection.lastFrameAt = Date.now();
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      console.warn('ignored a frame that is not JSON', event.data);
      return;
    }
    try {
      handleFrame(frame);
    } catch (err) {
      showError(err);
    }
  });
  socket.addEventListener('close', (event) => {
    if (socket !== connection.socket) return;
    console.info(`WebSocket closed with code ${event.code}`, event.reason);
    dropSocket();
    scheduleReconnect();
  });
}

/** Stops using the current socket without scheduling a reconnect. */
function dropSocket() {
  const socket = connection.socket;
  connection.socket = null;
  connection.welcomed = false;
  clearInterval(connection.heartbeatTimer);
  if (socket && socket.readyState <= WebSocket.OPEN) socket.close();
}

function closeSocket() {
  clearTimeout(connection.reconnectTimer);
  connection.attempts = 0;
  dropSocket();
}

function scheduleReconnect() {
  if (!state.token) return;
  clearTimeout(connection.reconnectTimer);
  const ceiling = Math.min(RECONNECT_MAX_DELAY_MS, RECONNECT_MIN_DELAY_MS * 2 ** connection.attempts);
  const delay = Math.round(ceiling * (0.5 + Math.random() / 2)); // jitter spreads out reconnect storms
  connection.attempts += 1;
  setConnState('offline', `offline, retrying in ${Math.ceil(delay / 1000)} s`);
  connection.reconnectTimer = setTimeout(() => { reconnect().catch(showError); }, delay);
}

/** Checks the token over HTTP (the upgrade hides a 401), then opens a new socket. */
async function reconnect() {
  if (!state.token) return;
  try {
    await api('GET', '/api/me');
  } catch (err) {
    if (err.status === 401) return; // api() has ended the session
    scheduleReconnect();
    return;
  }
  openSocket();
}

function startHeartbeat() {
  clearInterval(connection.heartbeatTimer);
  connection.heartbeatTimer = setInterval(() => {
    if (Date.now() - connection.lastFrameAt > SILENT_CONNECTION_LIMIT_MS) {
      console.warn('WebSocket silent for too long; reconnecting');
      dropSocket();
      scheduleReconnect();
      return;
    }
    sendFrame({ cmd: CMD.HEARTBEAT });
  }, HEARTBEAT_INTERVAL_MS);
}

function handleFrame(frame) {
  switch (frame.cmd) {
    case CMD.HEARTBEAT:
      return;
    case CMD.WELCOME:
      return handleWelcome();
    case CMD.DIRECT_MESSAGE:
    case CMD.GROUP_MESSAGE:
      return handleDelivery(frame);
    case CMD.ACK:
      return handleAck(frame);
    case CMD.ERROR:
      return handleServerError(frame);
    case CMD.SYNC_DONE:
      return;
    case CMD.READ:
      return; // read receipts from others are not shown
    case CMD.TYPING:
      return handleTyping(frame);
    case CMD.RECALL:
      return handleRecall(frame);
    case CMD.PRESENCE:
      return handlePresence(frame);
    case CMD.FRIEND_REQUEST:
      Promise.all([refreshRequests(), refreshFriends()])
        .then(rerenderSearchResults)
        .catch(showError);
      return;
    case CMD.GROUP_CHANGE:
      return handleGroupChange(frame);
    default:
      console.warn('ignored a frame with an unknown cmd', frame);
  }
}

function handleWelcome() {
  const reconnected = connection.everWelcomed;
  connection.welcomed = true;
  connection.everWelcomed = true;
  connection.attempts = 0;
  setConnState('online');
  startHeartbeat();
  // Sync from one millisecond earlier, so a message that shares the newest
  // ts is not skipped; the repeats it brings are dropped by seq.
  sendFrame({ cmd: CMD.SYNC, after_ts: Math.max(0, state.lastTs - 1) });
  for (const entry of state.pending.values()) {
    if (!entry.failed) sendFrame(entry.frame); // a repeated cid is acked, not stored twice
  }
  if (reconnected) {
    refreshLists().catch(showError);
    if (state.openKey) {
      const open = parseConvKey(state.openKey);
      if (open.kind === 'g') loadGroupMembers(open.id).catch(showError);
    }
  }
  if (state.openKey) markRead(getConversation(state.openKey));
}

function handleDelivery(message) {
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
  if (parsed.kind === 'g' && !state.groups.has(parsed.id)) refreshGroups().catch(showError);
  // Group senders need the member list for their names.
  if (parsed.kind === 'g' && !state.users.has(message.userid) && !state.groupMembers.has(parsed.id)) {
    loadGroupMembers(parsed.id).catch(showError);
  }
}

/** Turns a pending message into a stored one; `ack` is a cmd 20 frame or our own delivery. */
function handleAck(ack) {
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

function handleServerError(frame) {
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

function handleTyping(frame) {
  if (state.openKey !== `u:${frame.userid}`) return;
  const typing = $('#typing');
  typing.textContent = `${userName(frame.userid)} is typing…`;
  typing.hidden = false;
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => { typing.hidden = true; }, TYPING_SHOW_MS);
}

function handleRecall(frame) {
  const conv = state.conversations.get(frame.conv);
  const message = conv?.findById(frame.id);
  if (!message) return;
  message.recalled = true;
  message.content = '';
  if (conv.key === state.openKey) replaceMessageNode(message);
}

function handlePresence(frame) {
  const friend = state.friends.get(frame.userid);
  if (!friend) return;
  friend.online = Boolean(frame.online);
  renderFriends();
  if (state.openKey === `u:${frame.userid}`) renderConversationHeader();
}

function handleGroupChange(frame) {
  if (frame.group) state.groups.set(frame.group.id, frame.group);
  refreshGroups().catch(showError);
  if (frame.group && state.openKey === `g:${frame.group.id}` && state.groups.has(frame.group.id)) {
    loadGroupMembers(frame.group.id).catch(showError);
  }
}

// ---------------------------------------------------------------------------
// Start

function wireEvents() {
  $('#register-form').addEventListener('submit', guarded(onRegister));
  $('#login-form').addEventListener('submit', guarded(onLogin));
  $('#logout-btn').addEventListener('click', guarded(onLogout));
  $('#search-form').addEventListener('submit', guarded(onSearch));
  $('#group-form').addEventListener('submit', guarded(onCreateGroup));
  $('#add-member-form').addEventListener('submit', guarded(onAddMember));
  $('#composer').addEventListener('submit', guarded(onSend));
  $('#message-input').addEventListener('keydown', onComposerKeydown);
  $('#message-input').addEventListener('input', onComposerInput);
  $('#file-input').addEventListener('change', guarded(onFileChosen));
  $('#load-older-btn').addEventListener('click', guarded(onLoadOlder));
  $('#status').addEventListener('click', () => { $('#status').hidden = true; });

  document.addEventListener('visibilitychange', () => {
    if (state.openKey) markRead(getConversation(state.openKey));
  });
  window.addEventListener('online', () => {
    if (state.token && !connection.socket) {
      clearTimeout(connection.reconnectTimer);
      reconnect().catch(showError);
    }
  });
}

/** Resumes the tab's session if sessionStorage still has a working token. */
async function resumeSession() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return;
  state.token = token;
  try {
    const data = await api('GET', '/api/me');
    await enterApp(data.user);
  } catch (err) {
    if (err.status === 401) return; // api() has already ended the session
    state.token = null; // the stored token is kept, so a reload tries again
    showError(err);
  }
}

wireEvents();
resumeSession();
