// Log in, register, log out, and resuming a tab's session. The token lives in
// sessionStorage, so each browser tab can hold a different user, and a reload
// keeps the tab logged in.
//
// Stable hooks for automated tests:
//   #login-username, #login-password, #login-btn
//   #reg-username, #reg-password, #reg-nickname, #register-btn
//   #logout-btn, #me (the logged-in username), #me-nickname

import { closeConversation } from './chat.js';
import { isConnected, startConnection, stopConnection } from './connection.js';
import { $ } from './dom.js';
import { api } from './http.js';
import { loadConversationSummaries } from './messages.js';
import { clearSidebar, refreshLists } from './sidebar.js';
import {
  displayName, rememberUser, resetState, state,
} from './state.js';
import { hideStatus, showError, showStatus } from './status.js';

const TOKEN_KEY = 'parley.token';
// While the WebSocket is down no pushes arrive, so the lists are polled.
const OFFLINE_LIST_REFRESH_MS = 30_000;

let listRefreshTimer = 0;

async function logIn(username, password) {
  const data = await api('POST', '/api/login', { username, password });
  state.token = data.token;
  sessionStorage.setItem(TOKEN_KEY, data.token);
  await enterApp(data.user);
}

export async function onRegister(event) {
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

export async function onLogin(event) {
  event.preventDefault();
  await logIn($('#login-username').value.trim(), $('#login-password').value);
  $('#login-form').reset();
}

export async function onLogout() {
  try {
    await api('POST', '/api/logout');
  } catch (err) {
    // The local session ends anyway; the token expires on the server later.
    console.warn('logout failed:', err);
  }
  endSession();
}

/** Resumes the tab's session if sessionStorage still has a working token. */
export async function resumeSession() {
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

/** Ends the session after the server rejected its token. */
export function onTokenRejected() {
  endSession('Your session has ended. Please log in again.');
}

/** Shows the app for `user`, loads what the sidebar needs and opens the chat connection. */
async function enterApp(user) {
  const token = state.token;
  state.me = user;
  rememberUser(user);
  $('#me').textContent = user.username;
  $('#me-nickname').textContent = displayName(user);
  $('#auth-view').hidden = true;
  $('#app-view').hidden = false;

  // A failed list still lets the rest of the app work.
  await refreshLists().catch(showError);
  await loadConversationSummaries().catch(showError);
  if (state.token !== token) return; // the session ended meanwhile
  startConnection();
  listRefreshTimer = setInterval(() => {
    if (!isConnected()) refreshLists().catch(showError);
  }, OFFLINE_LIST_REFRESH_MS);
}

/** Forgets the token and every piece of user state, then shows the log-in forms with `message`. */
function endSession(message) {
  stopConnection();
  clearInterval(listRefreshTimer);
  sessionStorage.removeItem(TOKEN_KEY);
  resetState();
  clearSidebar();
  closeConversation();
  $('#me').textContent = '';
  $('#me-nickname').textContent = '';
  $('#app-view').hidden = true;
  $('#auth-view').hidden = false;
  if (message) showStatus(message);
  else hideStatus();
}
