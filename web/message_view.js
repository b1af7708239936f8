// How one message looks: the .message element of the #messages list.

import { el } from './dom.js';
import { MEDIA, safeMediaUrl } from './protocol.js';

/** Formats a Unix-millisecond time as hours and minutes, with the date if it is not today. */
function formatTime(ts) {
  if (!ts) return '';
  const date = new Date(ts);
  const sameDay = date.toDateString() === new Date().toDateString();
  if (sameDay) return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return date.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/**
 * The content elements of a message: an inline image (with its caption) for
 * media 2, a download link for files, voice and video, text otherwise. Only
 * /media/ URLs become links or images.
 */
function messageBody(message) {
  if (message.recalled) return [el('div', { className: 'recalled' }, 'Message recalled')];
  const url = safeMediaUrl(message.url);
  const hasText = typeof message.content === 'string' && message.content !== '';

  switch (message.media) {
    case MEDIA.IMAGE: {
      const image = url
        ? el('a', { href: url, target: '_blank', rel: 'noopener' },
          el('img', { src: url, alt: message.content || 'image', loading: 'lazy' }))
        : el('div', { className: 'notice' }, 'Image with an invalid address');
      return [image, hasText && el('div', { className: 'text' }, message.content)];
    }

    case MEDIA.FILE:
    case MEDIA.VOICE:
    case MEDIA.VIDEO: {
      const label = hasText ? message.content : 'file';
      if (!url) return [el('div', { className: 'notice' }, `${label} (invalid address)`)];
      return [el('a', { className: 'file', href: url, download: label }, `Download ${label}`)];
    }

    case MEDIA.RED_PACKET: {
      const memo = message.memo ? ` · ${message.memo}` : '';
      return [el('div', { className: 'text red-packet' }, `Red packet: ${message.amount ?? 0}${memo}`)];
    }

    default:
      return [el('div', { className: 'text' }, message.content ?? '')];
  }
}

/**
 * Builds the .message element for a message. `viewer.ownId` is the logged-in
 * user's id and `viewer.nameOf(userId)` returns a display name. The options
 * mark a message as pending (sent, not acknowledged) or failed (rejected by
 * the server for `reason`).
 */
export function messageNode(message, viewer, { pending = false, failed = false, reason = '' } = {}) {
  const own = message.userid === viewer.ownId;
  const classes = ['message', own ? 'own' : 'other'];
  if (pending) classes.push('pending');
  if (failed) classes.push('failed');

  let deliveryLine = null;
  if (pending) deliveryLine = el('div', { className: 'delivery' }, 'sending…');
  if (failed) deliveryLine = el('div', { className: 'delivery' }, `not sent: ${reason}`);

  const dataset = {
    seq: typeof message.seq === 'number' ? String(message.seq) : '',
    id: message.id ? String(message.id) : '',
    cid: message.cid ?? '',
    sender: String(message.userid),
  };
  const isoTime = message.ts ? new Date(message.ts).toISOString() : null;
  return el('li', { className: classes.join(' '), dataset },
    el('div', { className: 'meta' },
      el('span', { className: 'sender' }, own ? 'You' : viewer.nameOf(message.userid)),
      el('time', { datetime: isoTime }, formatTime(message.ts))),
    ...messageBody(message),
    deliveryLine);
}
