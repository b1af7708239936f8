// The status area (#status) and the connection badge (#conn-state).
//
// Stable hooks for automated tests:
//   #status       errors and notices; data-kind="error" or "info"; a click hides it
//   #conn-state   WebSocket state in data-state: online, connecting or offline

import { $ } from './dom.js';
import { ApiError } from './http.js';

const INFO_STATUS_MS = 5_000;

let hideTimer = 0;

/** Shows a notice in #status. An info notice hides after 5 s, and an error stays until another notice replaces it. */
export function showStatus(text, kind = 'error') {
  const status = $('#status');
  clearTimeout(hideTimer);
  status.textContent = text;
  status.dataset.kind = kind;
  status.hidden = false;
  if (kind === 'info') {
    hideTimer = setTimeout(() => { status.hidden = true; }, INFO_STATUS_MS);
  }
}

export function hideStatus() {
  clearTimeout(hideTimer);
  $('#status').hidden = true;
}

/** Shows an error in #status: the server's message for an ApiError, otherwise the exception text. */
export function showError(err) {
  if (err instanceof ApiError) {
    console.warn(err);
    showStatus(err.message);
  } else {
    console.error(err);
    showStatus(`Unexpected error: ${err?.message ?? err}`);
  }
}

/** Wraps an event handler so that a thrown or rejected error is shown in #status. */
export function guarded(handler) {
  return async (event) => {
    try {
      await handler(event);
    } catch (err) {
      showError(err);
    }
  };
}

/** Updates #conn-state; `connState` is "online", "connecting" or "offline". */
export function setConnState(connState, label = connState) {
  const node = $('#conn-state');
  node.dataset.state = connState;
  node.textContent = label;
}
