// End-to-end test of the web client: two users in two browser contexts
// register, become friends and exchange messages through a real parleyd.
//
// Environment: see lib.js (PARLEYD, PARLEY_WEB_DIR, PARLEY_ARTIFACTS).
// Run: cd tests/e2e && npm ci && PARLEYD=... PARLEY_WEB_DIR=... node two_users_chat.js
// Exits 0 on success and 1 with a "FAIL:" line on any failure.

import crypto from 'node:crypto';
import {
  TestFailure, answerOnlyFriendRequest, expectNoErrorStatus, friendEntry, messageText,
  registerThroughUi, runBrowserTest, sendFriendRequest, sendText, step,
} from './lib.js';

runBrowserTest({
  testName: 'two_users_chat',
  passMessage: 'two users registered, became friends and chatted through the web client',
  timeoutMs: 120_000,
}, async ({ openPage }) => {
  const suffix = crypto.randomBytes(3).toString('hex');
  const password = `secret-${crypto.randomBytes(6).toString('hex')}`;
  const alice = { name: `alice_${suffix}`, nickname: `Alice ${suffix}`, password };
  const bob = { name: `bob_${suffix}`, nickname: `Bob ${suffix}`, password };
  const hello = `hello bob ${suffix}`;
  // The reply carries markup that the client must show as text, not render.
  const reply = `hi alice ${suffix} <b>not bold</b>`;

  const alicePage = await openPage('alice');
  const bobPage = await openPage('bob');

  await step(`register ${alice.name} in the first context`, () => registerThroughUi(alicePage, alice));
  await step(`register ${bob.name} in the second context`, () => registerThroughUi(bobPage, bob));

  await step('alice searches for bob and sends a friend request', () => sendFriendRequest(alicePage, bob));

  await step('bob sees the request and accepts it', async () => {
    await answerOnlyFriendRequest(bobPage, 'accept');
    await friendEntry(bobPage, alice).waitFor();
  });

  await step('alice sees bob in her friend list', () => friendEntry(alicePage, bob).waitFor());

  await step('alice opens the chat with bob and sends a message', async () => {
    await friendEntry(alicePage, bob).click();
    await sendText(alicePage, hello);
  });

  await step('bob gets an unread badge for alice', () =>
    bobPage.locator(`#friend-list [data-username="${alice.name}"][data-unread="1"]`).waitFor());

  await step('bob opens the chat with alice and reads the message', async () => {
    await friendEntry(bobPage, alice).click();
    await messageText(bobPage, hello).waitFor();
    await bobPage.locator(`#friend-list [data-username="${alice.name}"][data-unread="0"]`).waitFor();
  });

  await step('alice sees that bob is typing', async () => {
    await bobPage.fill('#message-input', reply);
    await alicePage.locator('#typing', { hasText: `${bob.nickname} is typing` }).waitFor();
  });

  await step('bob replies', () => sendText(bobPage, reply));

  await step('alice sees the reply as plain text', async () => {
    const text = messageText(alicePage, reply);
    await text.waitFor();
    // The client shows a typing notice for 4 s unless a message from that user ends it.
    if (!(await alicePage.locator('#typing').isHidden())) {
      throw new TestFailure('alice still sees "is typing" after bob\'s reply arrived');
    }
    const shown = await text.textContent();
    if (shown !== reply) {
      throw new TestFailure(`alice sees the reply as ${JSON.stringify(shown)}, expected ${JSON.stringify(reply)}`);
    }
    const injected = await alicePage.locator('#messages .message b').count();
    if (injected !== 0) throw new TestFailure('the reply\'s <b> markup was rendered as HTML');
  });

  await step('both pages keep message order and show no error', async () => {
    for (const page of [alicePage, bobPage]) {
      const texts = await page.locator('#messages .message .text').allTextContents();
      if (texts.length !== 2 || texts[0] !== hello || texts[1] !== reply) {
        throw new TestFailure(`${page.label} shows messages ${JSON.stringify(texts)}, expected [hello, reply]`);
      }
      await expectNoErrorStatus(page);
    }
  });
});
