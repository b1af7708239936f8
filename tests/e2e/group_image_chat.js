// End-to-end test of group chat in the web client: three users in three
// browser contexts register and become friends (one request is declined
// first, then asked again), one creates a group with the other two, all three
// exchange messages in it, and one sends a PNG image that the others see inline.
//
// Environment: see lib.js (PARLEYD, PARLEY_WEB_DIR, PARLEY_ARTIFACTS).
// Run: cd tests/e2e && npm ci && PARLEYD=... PARLEY_WEB_DIR=... node group_image_chat.js
// Exits 0 on success and 1 with a "FAIL:" line on any failure.

import crypto from 'node:crypto';
import zlib from 'node:zlib';
import {
  TestFailure, answerOnlyFriendRequest, expectNoErrorStatus, friendEntry, messageText,
  registerThroughUi, runBrowserTest, sendFriendRequest, sendText, step,
} from './lib.js';

const IMAGE_WIDTH = 96;
const IMAGE_HEIGHT = 64;

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type, data) {
  const typeAndData = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

/** Returns a valid 8-bit RGB PNG of `width` x `height` pixels with a colour gradient. */
function makePng(width, height) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: RGB
  // Compression, filter and interlace methods stay 0.

  const rowBytes = 1 + width * 3; // each row starts with its filter type, 0 (none)
  const pixels = Buffer.alloc(rowBytes * height);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const offset = y * rowBytes + 1 + x * 3;
      pixels[offset] = Math.round((255 * x) / (width - 1));
      pixels[offset + 1] = Math.round((255 * y) / (height - 1));
      pixels[offset + 2] = 160;
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', zlib.deflateSync(pixels)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Resolves with the natural size of the first loaded image in #messages. */
async function loadedImageSize(page) {
  const handle = await page.waitForFunction(() => {
    const loaded = [...document.querySelectorAll('#messages .message img')]
      .find((img) => img.complete && img.naturalWidth > 0);
    if (!loaded) return null;
    return { width: loaded.naturalWidth, height: loaded.naturalHeight, src: loaded.getAttribute('src') };
  });
  return handle.jsonValue();
}

runBrowserTest({
  testName: 'group_image_chat',
  passMessage: 'three users chatted in a group and saw an image inline through the web client',
  timeoutMs: 180_000,
}, async ({ openPage }) => {
  const suffix = crypto.randomBytes(3).toString('hex');
  const password = `secret-${crypto.randomBytes(6).toString('hex')}`;
  const alice = { name: `alice_${suffix}`, nickname: `Alice ${suffix}`, password };
  const bob = { name: `bob_${suffix}`, nickname: `Bob ${suffix}`, password };
  const carol = { name: `carol_${suffix}`, nickname: `Carol ${suffix}`, password };
  const groupName = `Trio ${suffix}`;

  alice.page = await openPage('alice');
  bob.page = await openPage('bob');
  carol.page = await openPage('carol');
  const users = [alice, bob, carol];

  for (const user of users) {
    await step(`register ${user.name}`, () => registerThroughUi(user.page, user));
  }

  await step('alice asks bob to be friends and bob accepts', async () => {
    await sendFriendRequest(alice.page, bob);
    await answerOnlyFriendRequest(bob.page, 'accept');
    await friendEntry(alice.page, bob).waitFor();
  });

  await step('alice asks carol to be friends and carol declines', async () => {
    await sendFriendRequest(alice.page, carol);
    await answerOnlyFriendRequest(carol.page, 'decline');
    // The decline reaches alice as a push: the request leaves her outgoing
    // list and her search result offers a new request.
    await alice.page.locator('#outgoing-list li').waitFor({ state: 'detached' });
    await alice.page.locator(`#search-results li[data-username="${carol.name}"] [data-add-friend]`).waitFor();
    if (await friendEntry(carol.page, alice).count() !== 0) {
      throw new TestFailure('carol declined, yet alice is in her friend list');
    }
  });

  await step('alice asks carol again and carol accepts', async () => {
    await sendFriendRequest(alice.page, carol);
    await answerOnlyFriendRequest(carol.page, 'accept');
    await friendEntry(alice.page, carol).waitFor();
  });

  await step(`alice creates the group "${groupName}" with bob and carol`, async () => {
    const page = alice.page;
    await page.click('#new-group summary');
    await page.fill('#group-name', groupName);
    for (const friend of [bob, carol]) {
      const id = await friendEntry(page, friend).getAttribute('data-friend');
      await page.check(`[data-group-member="${id}"]`);
    }
    await page.click('#create-group-btn');
    await page.locator('#chat-title', { hasText: groupName }).waitFor();
    await page.locator('#chat-subtitle', { hasText: '3 members' }).waitFor();
  });

  for (const user of [bob, carol]) {
    await step(`${user.name} sees the group and opens it`, async () => {
      const entry = user.page.locator('#group-list [data-group]', { hasText: groupName });
      await entry.click();
      await user.page.locator('#chat-title', { hasText: groupName }).waitFor();
    });
  }

  const texts = users.map((user) => `${user.nickname} says hi to the group`);
  for (const [index, user] of users.entries()) {
    await step(`${user.name} sends a message to the group`, () => sendText(user.page, texts[index]));
  }

  await step('every member sees the three messages in order, with the senders\' names', async () => {
    for (const user of users) {
      await messageText(user.page, texts[2]).waitFor();
      const shown = await user.page.locator('#messages .message .text').allTextContents();
      if (JSON.stringify(shown) !== JSON.stringify(texts)) {
        throw new TestFailure(
          `${user.name} shows ${JSON.stringify(shown)}, expected ${JSON.stringify(texts)}`);
      }
      for (const sender of users.filter((other) => other !== user)) {
        await user.page.locator('#messages .message.other .sender', { hasText: sender.nickname }).waitFor();
      }
    }
  });

  await step('alice sends a PNG image to the group', async () => {
    await alice.page.setInputFiles('#file-input', {
      name: 'gradient.png',
      mimeType: 'image/png',
      buffer: makePng(IMAGE_WIDTH, IMAGE_HEIGHT),
    });
    await alice.page.locator('#messages .message.own:not(.pending):not([data-seq=""]) img').waitFor();
  });

  await step('every member sees the image inline', async () => {
    for (const user of users) {
      const image = await loadedImageSize(user.page);
      if (image.width !== IMAGE_WIDTH || image.height !== IMAGE_HEIGHT || !image.src.startsWith('/media/')) {
        throw new TestFailure(`${user.name} shows the image ${JSON.stringify(image)}, expected `
          + `${IMAGE_WIDTH}x${IMAGE_HEIGHT} from /media/`);
      }
      await expectNoErrorStatus(user.page);
    }
  });
});
