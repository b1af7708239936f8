// The logged-in user's chat connection: opens the ChatSocket to /chat, sends
// frames on it, and routes the server's frames to the modules that handle them.

import { loadGroupMembers, handleTyping } from './chat.js';
import { api } from './http.js';
import {
  handleAck, handleDelivery, handleRecall, handleServerError, markRead, resendPending,
} from './messages.js';
import { CMD, parseConvKey } from './protocol.js';
import {
  handleGroupChange, handlePresence, refreshFriendsAndRequests, refreshLists,
} from './sidebar.js';
import { ChatSocket } from './socket.js';
import { getConversation, state } from './state.js';
import { setConnState, showError } from './status.js';

let chatSocket = null;
// Whether the current session has had a welcome: the next one is a reconnect.
let welcomedBefore = false;

/** Opens the chat connection for the logged-in user; it reconnects by itself until stopConnection(). */
export function startConnection() {
  stopConnection();
  welcomedBefore = false;
  chatSocket = new ChatSocket({
    url: chatUrl,
    canReconnect: tokenStillWorks,
    onFrame: (frame) => {
      try {
        handleFrame(frame);
      } catch (err) {
        showError(err);
      }
    },
    onStateChange: showConnState,
  });
  chatSocket.start();
}

export function stopConnection() {
  chatSocket?.stop();
  chatSocket = null;
}

/** Whether the connection has been welcomed and pushes arrive. */
export function isConnected() {
  return Boolean(chatSocket?.ready);
}

/** Skips the rest of the reconnect delay, for when the browser comes back online. */
export function reconnectNow() {
  chatSocket?.reconnectNow();
}

/** Sends a WebSocket frame; returns false, sending nothing, while the connection is not ready. */
export function sendFrame(frame) {
  return chatSocket ? chatSocket.send(frame) : false;
}

function chatUrl() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = new URLSearchParams({ token: state.token, id: String(state.me.id) });
  return `${scheme}//${location.host}/chat?${query}`;
}

/**
 * Checks the token over HTTP before a reconnect, since a refused upgrade
 * hides its 401. Resolves false when the token is gone (api() has then ended
 * the session); rejects, so that the socket tries again later, when the
 * server cannot be reached.
 */
async function tokenStillWorks() {
  try {
    await api('GET', '/api/me');
    return true;
  } catch (err) {
    if (err.status === 401) return false;
    throw err;
  }
}

function showConnState(connState, retryInMs) {
  if (connState === 'connecting') setConnState('connecting', 'connecting…');
  else if (connState === 'offline' && retryInMs > 0) {
    setConnState('offline', `offline, retrying in ${Math.ceil(retryInMs / 1000)} s`);
  } else setConnState(connState);
}

// The ts of the newest message frame received. A sync page is sent as one block of message
// frames followed by cmd 31, so when cmd 31 arrives this is the ts of the page's last message.
let lastMessageFrameTs = null;

function handleFrame(frame) {
  if ((frame.cmd === CMD.DIRECT_MESSAGE || frame.cmd === CMD.GROUP_MESSAGE) &&
      typeof frame.ts === 'number') {
    lastMessageFrameTs = frame.ts;
  }
  switch (frame.cmd) {
    case CMD.SYNC_DONE:
      // A page cut short ends before the messages sharing its last ts, so asking from that ts
      // skips nothing; repeats are dropped by seq.
      if (frame.more && lastMessageFrameTs !== null) {
        sendFrame({ cmd: CMD.SYNC, after_ts: lastMessageFrameTs });
      }
      return;
    case CMD.HEARTBEAT:
    case CMD.READ: // read receipts from others are not shown
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
    case CMD.TYPING:
      return handleTyping(frame);
    case CMD.RECALL:
      return handleRecall(frame);
    case CMD.PRESENCE:
      return handlePresence(frame);
    case CMD.FRIEND_REQUEST:
      return refreshFriendsAndRequests().catch(showError);
    case CMD.GROUP_CHANGE:
      return handleGroupChange(frame).catch(showError);
    default:
      console.warn('ignored a frame with an unknown cmd', frame);
  }
}

/** Catches up after a (re)connect: syncs missed messages, resends unacknowledged ones, reloads the lists. */
function handleWelcome() {
  // Sync from one millisecond earlier, so a message that shares the newest
  // ts is not skipped; the repeats it brings are dropped by seq.
  sendFrame({ cmd: CMD.SYNC, after_ts: Math.max(0, state.lastTs - 1) });
  resendPending();
  // Pushes missed while offline are not replayed, so the lists are reloaded.
  if (welcomedBefore) {
    refreshLists().catch(showError);
    const open = parseConvKey(state.openKey);
    if (open?.kind === 'g') loadGroupMembers(open.id).catch(showError);
  }
  welcomedBefore = true;
  if (state.openKey) markRead(getConversation(state.openKey));
}
