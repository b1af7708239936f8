// Message elements for the #messages list.

import { el, formatTime } from './dom.js';
import { MEDIA, safeMediaUrl } from './protocol.js';

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
      if (url) {
        parts.push(el('a', { className: 'file', href: url, download: label }, `Download ${label}`));
      } else {
        parts.push(el('div', { className: 'notice' }, `${label} (invalid address)`));
      }
      return parts;
    }

    case MEDIA.RED_PACKET: {
      const memo = message.memo ? ` · ${message.memo}` : '';
      parts.push(el('div', { className: 'text red-packet' }, `Red packet: ${message.amount ?? 0}${memo}`));
      return parts;
    }

    default:
      parts.push(el('div', { className: 'text' }, message.content ?? ''));
      return parts;
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
