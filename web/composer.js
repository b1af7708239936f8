// The composer under the message list: text messages, typing notices, and
// files, which are uploaded and then sent as images (shown inline) or as links.
//
// Stable hooks for automated tests:
//   #message-input, #send-btn   (Enter sends too; Shift+Enter adds a line)
//   #file-input   a chosen PNG, JPEG, GIF or WebP is sent as an image,
//                 anything else as a file link

import { sendFrame } from './connection.js';
import { $ } from './dom.js';
import { api } from './http.js';
import { sendMessage } from './messages.js';
import {
  CMD, INLINE_IMAGE_TYPES, MAX_CONTENT_BYTES, MEDIA, parseConvKey, safeMediaUrl,
} from './protocol.js';
import { state } from './state.js';
import { showStatus } from './status.js';

const TYPING_SEND_INTERVAL_MS = 3_000;

let lastTypingSentAt = 0;

/** Enables the composer for a newly opened conversation and puts the cursor in it. */
export function enableComposer() {
  setComposerEnabled(true);
  $('#message-input').focus();
}

export function disableComposer() {
  setComposerEnabled(false);
}

function setComposerEnabled(enabled) {
  for (const id of ['#message-input', '#send-btn', '#file-input']) $(id).disabled = !enabled;
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
  sendMessage(state.openKey, { media: MEDIA.TEXT, content });
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
  if (now - lastTypingSentAt < TYPING_SEND_INTERVAL_MS) return;
  lastTypingSentAt = now;
  sendFrame({ cmd: CMD.TYPING, dstid: parsed.id });
}

/**
 * Uploads the chosen file (POST /api/upload) and sends it to the conversation
 * that was open when it was chosen: as an image (media 2) when the server
 * recognised an image type it shows inline, otherwise as a file (media 5)
 * named by the message content.
 */
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
  if (INLINE_IMAGE_TYPES.has(uploaded.mime)) {
    sendMessage(targetKey, { media: MEDIA.IMAGE, url: uploaded.url, content: '' });
  } else {
    sendMessage(targetKey, { media: MEDIA.FILE, url: uploaded.url, content: file.name });
  }
  showStatus(`Sent ${file.name}.`, 'info');
}
