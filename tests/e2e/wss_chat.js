// End-to-end test of the web client over TLS: parleyd serves https and wss with a self-signed
// certificate made at test time, and two users in two browser contexts register, become
// friends and exchange messages. Each page checks that it was loaded over https and that
// every WebSocket it opened is wss://. A page also exchanges one message with parley-echo
// over wss on the same certificate, when PARLEY_ECHO names the binary.
//
// Environment: see lib.js (PARLEYD, PARLEY_WEB_DIR, PARLEY_ARTIFACTS), and PARLEY_ECHO.
// Run: cd tests/e2e && npm ci && PARLEYD=... PARLEY_WEB_DIR=... PARLEY_ECHO=... node wss_chat.js
// Exits 0 on success and 1 with a "FAIL:" line on any failure.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import {
  TestFailure, answerOnlyFriendRequest, expectNoErrorStatus, findFreePort, friendEntry, log,
  messageText, registerThroughUi, runBrowserTest, sendFriendRequest, sendText, step,
} from './lib.js';

const ECHO_START_TIMEOUT_MS = 10_000;
const ECHO_REPLY_TIMEOUT_MS = 10_000;

/** Makes the page record the URL of every WebSocket it constructs in window.openedSocketUrls. */
async function recordWebSocketUrls(page) {
  await page.evaluate(() => {
    const NativeWebSocket = window.WebSocket;
    window.openedSocketUrls = [];
    window.WebSocket = class extends NativeWebSocket {
      constructor(...args) {
        super(...args);
        window.openedSocketUrls.push(this.url);
      }
    };
  });
}

/** Fails unless the page came over https and opened at least one WebSocket, all of them wss://. */
async function expectTlsOnly(page) {
  const { protocol, urls } = await page.evaluate(() => ({
    protocol: window.location.protocol,
    urls: window.openedSocketUrls,
  }));
  if (protocol !== 'https:') {
    throw new TestFailure(`${page.label}'s page was loaded over ${protocol}, expected https:`);
  }
  if (urls.length === 0) throw new TestFailure(`${page.label}'s page opened no WebSocket`);
  const plain = urls.filter((url) => !url.startsWith('wss://'));
  if (plain.length > 0) {
    throw new TestFailure(`${page.label}'s page opened WebSockets without TLS: ${plain.join(', ')}`);
  }
}

/** Returns the status of a plain-HTTP request to the TLS port, or the error code of the attempt. */
async function plainHttpOutcome(baseUrl) {
  const plainUrl = baseUrl.replace(/^https:/, 'http:');
  try {
    const response = await fetch(`${plainUrl}/healthz`, { signal: AbortSignal.timeout(5_000) });
    return `HTTP ${response.status}`;
  } catch (err) {
    return err.cause?.code ?? err.message;
  }
}

/** Starts parley-echo with the test certificate and resolves once its port accepts connections. */
async function startTlsEcho(binary, tlsFiles) {
  const port = await findFreePort();
  const args = [
    '--listen', `127.0.0.1:${port}`, '--threads', '1',
    '--tls-cert', tlsFiles.cert, '--tls-key', tlsFiles.key,
  ];
  log(`starting ${binary} ${args.join(' ')}`);
  const echo = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  // The watchdog in lib.js exits the process without this function's cleanup.
  process.on('exit', () => { if (echo.exitCode === null) echo.kill('SIGKILL'); });
  let output = '';
  echo.stderr.on('data', (chunk) => { output += chunk.toString(); });
  const deadline = Date.now() + ECHO_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (echo.exitCode !== null) {
      throw new TestFailure(`parley-echo exited with code ${echo.exitCode} at start-up: ${output.trim()}`);
    }
    const connected = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true); });
      socket.on('error', () => resolve(false));
    });
    if (connected) return { echo, port };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  echo.kill('SIGKILL');
  throw new TestFailure(`parley-echo did not listen on port ${port} within ${ECHO_START_TIMEOUT_MS / 1000} s`);
}

/** Sends `text` from the page to `url` and returns what comes back, with the socket's URL. */
function echoFromPage(page, url, text) {
  return page.evaluate(({ url, text, timeoutMs }) => new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const timer = setTimeout(() => reject(new Error(`no echo from ${url} within ${timeoutMs} ms`)), timeoutMs);
    socket.onopen = () => socket.send(text);
    socket.onmessage = (event) => {
      clearTimeout(timer);
      resolve({ socketUrl: socket.url, data: event.data });
      socket.close(1000);
    };
    socket.onerror = () => {
      clearTimeout(timer);
      reject(new Error(`the WebSocket to ${url} failed before an echo arrived`));
    };
  }), { url, text, timeoutMs: ECHO_REPLY_TIMEOUT_MS });
}

runBrowserTest({
  testName: 'wss_chat',
  passMessage: 'two users chatted over https and wss, and a page exchanged a message with parley-echo over wss',
  timeoutMs: 120_000,
  tls: true,
}, async ({ openPage, baseUrl, tlsFiles }) => {
  const suffix = crypto.randomBytes(3).toString('hex');
  const password = `secret-${crypto.randomBytes(6).toString('hex')}`;
  const alice = { name: `alice_${suffix}`, nickname: `Alice ${suffix}`, password };
  const bob = { name: `bob_${suffix}`, nickname: `Bob ${suffix}`, password };
  const hello = `hello over wss ${suffix}`;
  const reply = `reply over wss ${suffix}`;

  await step('plain HTTP to the TLS port is not served', async () => {
    const outcome = await plainHttpOutcome(baseUrl);
    if (outcome === 'HTTP 200') throw new TestFailure('parleyd served /healthz over plain HTTP on its TLS port');
    log(`plain HTTP got: ${outcome}`);
  });

  const alicePage = await openPage('alice');
  const bobPage = await openPage('bob');
  await recordWebSocketUrls(alicePage);
  await recordWebSocketUrls(bobPage);

  await step(`register ${alice.name} and ${bob.name}`, async () => {
    await registerThroughUi(alicePage, alice);
    await registerThroughUi(bobPage, bob);
  });

  await step('alice and bob become friends', async () => {
    await sendFriendRequest(alicePage, bob);
    await answerOnlyFriendRequest(bobPage, 'accept');
    await friendEntry(bobPage, alice).waitFor();
    await friendEntry(alicePage, bob).waitFor();
  });

  await step('alice sends and bob receives', async () => {
    await friendEntry(alicePage, bob).click();
    await sendText(alicePage, hello);
    await friendEntry(bobPage, alice).click();
    await messageText(bobPage, hello).waitFor();
  });

  await step('bob replies and alice receives', async () => {
    await sendText(bobPage, reply);
    await messageText(alicePage, reply).waitFor();
  });

  await step('both pages used https and wss only', async () => {
    for (const page of [alicePage, bobPage]) {
      await expectTlsOnly(page);
      await expectNoErrorStatus(page);
    }
  });

  const echoBinary = process.env.PARLEY_ECHO;
  if (!echoBinary) {
    log('PARLEY_ECHO is not set; skipping the parley-echo check over wss');
    return;
  }
  if (!fs.existsSync(echoBinary)) throw new TestFailure(`PARLEY_ECHO=${echoBinary} does not exist`);
  const { echo, port } = await step('start parley-echo with the same certificate', () =>
    startTlsEcho(echoBinary, tlsFiles));
  try {
    await step('a page exchanges a message with parley-echo over wss', async () => {
      const text = `echo over wss ${suffix}`;
      const url = `wss://127.0.0.1:${port}/`;
      const { socketUrl, data } = await echoFromPage(alicePage, url, text);
      if (!socketUrl.startsWith('wss://')) throw new TestFailure(`the echo socket's URL is ${socketUrl}`);
      if (data !== text) {
        throw new TestFailure(`parley-echo sent back ${JSON.stringify(data)}, expected ${JSON.stringify(text)}`);
      }
    });
  } finally {
    if (echo.exitCode === null) {
      const exited = new Promise((resolve) => echo.once('exit', resolve));
      echo.kill('SIGTERM');
      await exited;
    }
  }
});
