/*
 * parley browser client: accounts, friends, groups and chat over the HTTP API
 * under /api/ and the WebSocket at /chat. This entry point wires the page's
 * events to the modules and resumes the tab's session:
 *
 *   session.js       log in, register, log out, resume
 *   sidebar.js       friends, groups, friend requests, search, new group
 *   chat.js          the open conversation: header, typing, group members
 *   messages.js      history, delivery, acks, read marks, the #messages list
 *   message_view.js  how one message looks
 *   composer.js      text, typing notices, file and image uploads
 *   connection.js    the chat connection and the routing of server frames
 *   socket.js        a WebSocket with reconnects and heartbeats
 *   http.js          HTTP API calls
 *   state.js         what this tab knows of the user, friends and groups
 *   status.js        the #status notices and the #conn-state badge
 *   protocol.js      wire protocol constants and helpers
 *   dom.js           element helpers
 *
 * Every piece of user data (usernames, nicknames, group names, message text,
 * file names) reaches the page through textContent or createElement, never
 * through innerHTML. Media links are used only when they point under /media/.
 *
 * The stable hooks for automated tests are listed in the header of the
 * module that owns them: session.js, status.js, sidebar.js, chat.js,
 * messages.js and composer.js.
 */

import { onAddMember } from './chat.js';
import {
  onComposerInput, onComposerKeydown, onFileChosen, onSend,
} from './composer.js';
import { reconnectNow } from './connection.js';
import { $ } from './dom.js';
import { setUnauthorizedHandler } from './http.js';
import {
  onLoadOlder, onMessageMediaLoad, onMessagesScroll, onVisibilityChange,
} from './messages.js';
import {
  onLogin, onLogout, onRegister, onTokenRejected, resumeSession,
} from './session.js';
import { onCreateGroup, onSearch } from './sidebar.js';
import { guarded, hideStatus } from './status.js';

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
  $('#messages').addEventListener('scroll', onMessagesScroll);
  // Load events do not bubble, so images are caught on the way down.
  $('#messages').addEventListener('load', onMessageMediaLoad, true);
  $('#status').addEventListener('click', hideStatus);
  document.addEventListener('visibilitychange', onVisibilityChange);
  window.addEventListener('online', reconnectNow);
}

setUnauthorizedHandler(onTokenRejected);
wireEvents();
resumeSession();
