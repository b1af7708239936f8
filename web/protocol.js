// Constants and helpers of the parley wire protocol (version 1).

export const CMD = Object.freeze({
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

export const MEDIA = Object.freeze({
  TEXT: 1, IMAGE: 2, VOICE: 3, VIDEO: 4, FILE: 5, EMOJI: 6, LINK: 7, RED_PACKET: 8,
});

// The server stores message content up to this many UTF-8 bytes.
export const MAX_CONTENT_BYTES = 16 * 1024;

// Image types that the server serves inline (it recognises them by their magic bytes).
export const INLINE_IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/**
 * Returns a unique client message id (cid). crypto.randomUUID exists only in
 * secure contexts, so plain-HTTP deployments get 32 random hex digits instead.
 */
export function newClientId() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Splits a conversation key ("u:12" or "g:7") into {kind, id}, or returns null if it is malformed. */
export function parseConvKey(key) {
  const match = /^([ug]):(\d+)$/.exec(String(key ?? ''));
  return match ? { kind: match[1], id: Number(match[2]) } : null;
}

/** Returns url if it is a plain path under /media/, or null for anything else. */
export function safeMediaUrl(url) {
  if (typeof url !== 'string') return null;
  if (!/^\/media\/[A-Za-z0-9._~%-]+$/.test(url)) return null;
  if (url.includes('..')) return null;
  return url;
}
