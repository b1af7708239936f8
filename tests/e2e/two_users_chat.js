// End-to-end test of the web client: two users in two browser contexts
// register, become friends and exchange messages through a real parleyd.
//
// Environment:
//   PARLEYD           path to the parleyd binary (required)
//   PARLEY_WEB_DIR    the web/ directory that parleyd serves (required)
//   PARLEY_ARTIFACTS  directory for the screenshots (default ./artifacts)
//
// Run: cd tests/e2e && npm install && PARLEYD=... PARLEY_WEB_DIR=... node two_users_chat.js
// Exits 0 on success and 1 with a "FAIL:" line on any failure.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM_PATH = '/usr/bin/chromium';
// Playwright gives every launch a fresh temporary profile, so no
// --user-data-dir flag is passed (Playwright rejects it in launch()).
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const WATCHDOG_MS = 120_000;
const HEALTH_TIMEOUT_MS = 10_000;
const STEP_TIMEOUT_MS = 15_000;
const SERVER_STOP_TIMEOUT_MS = 5_000;
const SERVER_LOG_LINES = 200;

class TestFailure extends Error {}

// Resources that the watchdog and the finally block release.
const resources = { server: null, tempDir: null, browser: null };
const serverLog = [];

function log(message) {
  console.log(`[e2e] ${message}`);
}

function requireEnv(name) {
  const value = process.env[name];
  if (!value) throw new TestFailure(`environment variable ${name} is not set`);
  return value;
}

/** Returns a TCP port that was free a moment ago (bind port 0, read it, close). */
function findFreePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function startServer(parleyd, port, tempDir, webDir) {
  const args = [
    '--listen', `127.0.0.1:${port}`,
    '--db', `sqlite:${path.join(tempDir, 'parley.db')}`,
    '--media-dir', path.join(tempDir, 'media'),
    '--web-dir', webDir,
    '--threads', '2',
  ];
  log(`starting ${parleyd} ${args.join(' ')}`);
  const server = spawn(parleyd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const keepLines = (chunk) => {
    serverLog.push(...chunk.toString().split('\n').filter(Boolean));
    serverLog.splice(0, Math.max(0, serverLog.length - SERVER_LOG_LINES));
  };
  server.stdout.on('data', keepLines);
  server.stderr.on('data', keepLines);
  server.exited = new Promise((resolve) => {
    server.on('exit', (code, signal) => resolve({ code, signal }));
    server.on('error', (err) => resolve({ code: null, signal: null, error: err }));
  });
  return server;
}

/** Polls GET /healthz until it returns 200, the server exits, or the timeout passes. */
async function waitForHealth(baseUrl, server) {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  let lastProblem = 'no answer yet';
  let exit = null;
  server.exited.then((result) => { exit = result; });

  while (Date.now() < deadline) {
    if (exit) {
      const reason = exit.error ? exit.error.message : `exit code ${exit.code}, signal ${exit.signal}`;
      throw new TestFailure(`parleyd exited before becoming healthy (${reason})`);
    }
    try {
      const response = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(1_000) });
      if (response.status === 200) return;
      lastProblem = `HTTP ${response.status}`;
    } catch (err) {
      lastProblem = err.cause?.code ?? err.message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new TestFailure(
    `GET ${baseUrl}/healthz did not return 200 within ${HEALTH_TIMEOUT_MS / 1000} s (last: ${lastProblem})`);
}

async function stopServer(server) {
  if (!server || server.exitCode !== null || server.signalCode !== null) return;
  log(`stopping parleyd (pid ${server.pid})`);
  server.kill('SIGTERM');
  const stopped = await Promise.race([
    server.exited.then(() => true),
    new Promise((resolve) => setTimeout(() => resolve(false), SERVER_STOP_TIMEOUT_MS)),
  ]);
  if (!stopped) {
    log(`parleyd (pid ${server.pid}) ignored SIGTERM for ${SERVER_STOP_TIMEOUT_MS / 1000} s; sending SIGKILL`);
    server.kill('SIGKILL');
    await server.exited;
  }
}

/** Runs one named step; a failure inside names the step. */
async function step(name, action) {
  log(name);
  try {
    return await action();
  } catch (err) {
    if (err instanceof TestFailure) throw err;
    throw new TestFailure(`${name}: ${err.message.split('\n')[0]}`);
  }
}

/** Opens a page in its own browser context and records its errors for the failure report. */
async function openUserPage(browser, label, baseUrl) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.label = label;
  page.problems = [];
  page.on('pageerror', (err) => page.problems.push(`page error: ${err.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') page.problems.push(`console error: ${message.text()}`);
  });
  await page.goto(baseUrl);
  return page;
}

async function registerThroughUi(page, username, password, nickname) {
  await page.fill('#reg-username', username);
  await page.fill('#reg-password', password);
  await page.fill('#reg-nickname', nickname);
  await page.click('#register-btn');
  // Registering also logs in; #me then shows the username.
  await page.locator('#me', { hasText: username }).waitFor();
  await page.locator('#conn-state[data-state="online"]').waitFor();
}

function friendEntry(page, username) {
  return page.locator(`#friend-list [data-friend][data-username="${username}"]`);
}

function messageText(page, text) {
  return page.locator('#messages .message .text', { hasText: text });
}

async function expectNoErrorStatus(page) {
  const status = page.locator('#status');
  if (await status.isVisible() && (await status.getAttribute('data-kind')) === 'error') {
    throw new TestFailure(`${page.label}'s page shows an error: ${await status.textContent()}`);
  }
}

async function saveScreenshots(pages, artifactsDir, suffix) {
  fs.mkdirSync(artifactsDir, { recursive: true });
  for (const page of pages) {
    const file = path.join(artifactsDir, `two_users_chat-${page.label}${suffix}.png`);
    await page.screenshot({ path: file });
    log(`screenshot: ${file}`);
  }
}

async function runChat(browser, baseUrl, pages) {
  const suffix = crypto.randomBytes(3).toString('hex');
  const alice = { name: `alice_${suffix}`, nickname: `Alice ${suffix}` };
  const bob = { name: `bob_${suffix}`, nickname: `Bob ${suffix}` };
  const password = `secret-${crypto.randomBytes(6).toString('hex')}`;
  const hello = `hello bob ${suffix}`;
  // The reply carries markup that the client must show as text, not render.
  const reply = `hi alice ${suffix} <b>not bold</b>`;

  const alicePage = await openUserPage(browser, 'alice', baseUrl);
  pages.push(alicePage);
  const bobPage = await openUserPage(browser, 'bob', baseUrl);
  pages.push(bobPage);

  await step(`register ${alice.name} in the first context`, () =>
    registerThroughUi(alicePage, alice.name, password, alice.nickname));
  await step(`register ${bob.name} in the second context`, () =>
    registerThroughUi(bobPage, bob.name, password, bob.nickname));

  await step('alice searches for bob and sends a friend request', async () => {
    await alicePage.fill('#search-input', bob.name);
    await alicePage.click('#search-btn');
    await alicePage.click(`#search-results li[data-username="${bob.name}"] [data-add-friend]`);
    await alicePage.locator('#outgoing-list li', { hasText: bob.nickname }).waitFor();
  });

  await step('bob sees the request and accepts it', async () => {
    const accept = bobPage.locator('#request-list [data-accept]');
    await accept.waitFor();
    await accept.first().click();
    await friendEntry(bobPage, alice.name).waitFor();
  });

  await step('alice sees bob in her friend list', () => friendEntry(alicePage, bob.name).waitFor());

  await step('alice opens the chat with bob and sends a message', async () => {
    await friendEntry(alicePage, bob.name).click();
    await alicePage.fill('#message-input', hello);
    await alicePage.click('#send-btn');
    // The ack gives the message its seq and ends the pending state.
    await alicePage.locator('#messages .message.own:not(.pending)[data-seq]:not([data-seq=""])', { hasText: hello })
      .waitFor();
  });

  await step('bob gets an unread badge for alice', () =>
    bobPage.locator(`#friend-list [data-username="${alice.name}"][data-unread="1"]`).waitFor());

  await step('bob opens the chat with alice and reads the message', async () => {
    await friendEntry(bobPage, alice.name).click();
    await messageText(bobPage, hello).waitFor();
    await bobPage.locator(`#friend-list [data-username="${alice.name}"][data-unread="0"]`).waitFor();
  });

  await step('bob replies', async () => {
    await bobPage.fill('#message-input', reply);
    await bobPage.click('#send-btn');
    await bobPage.locator('#messages .message.own:not(.pending)', { hasText: reply }).waitFor();
  });

  await step('alice sees the reply as plain text', async () => {
    const text = messageText(alicePage, reply);
    await text.waitFor();
    const shown = await text.textContent();
    if (shown !== reply) throw new TestFailure(`alice sees the reply as ${JSON.stringify(shown)}, expected ${JSON.stringify(reply)}`);
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
}

function armWatchdog() {
  const timer = setTimeout(() => {
    console.error(`FAIL: the test did not finish within ${WATCHDOG_MS / 1000} s`);
    if (resources.server && resources.server.exitCode === null) resources.server.kill('SIGKILL');
    if (resources.tempDir) fs.rmSync(resources.tempDir, { recursive: true, force: true });
    process.exit(1);
  }, WATCHDOG_MS);
  timer.unref();
}

async function main() {
  armWatchdog();
  const parleyd = requireEnv('PARLEYD');
  const webDir = path.resolve(requireEnv('PARLEY_WEB_DIR'));
  const artifactsDir = path.resolve(process.env.PARLEY_ARTIFACTS || './artifacts');
  if (!fs.existsSync(parleyd)) throw new TestFailure(`PARLEYD=${parleyd} does not exist; build parleyd first`);
  if (!fs.existsSync(path.join(webDir, 'index.html'))) {
    throw new TestFailure(`PARLEY_WEB_DIR=${webDir} contains no index.html`);
  }

  const pages = [];
  let failed = false;
  resources.tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-e2e-'));
  try {
    const port = await findFreePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    resources.server = startServer(parleyd, port, resources.tempDir, webDir);
    await step('wait for parleyd to become healthy', () => waitForHealth(baseUrl, resources.server));

    resources.browser = await step('launch headless Chromium', () =>
      chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_FLAGS, headless: true }));
    await runChat(resources.browser, baseUrl, pages);
    await saveScreenshots(pages, artifactsDir, '');
  } catch (err) {
    failed = true;
    if (pages.length > 0) {
      await saveScreenshots(pages, artifactsDir, '-failure').catch((shotErr) =>
        log(`could not save failure screenshots: ${shotErr.message}`));
    }
    for (const page of pages) {
      for (const problem of page.problems) log(`${page.label}: ${problem}`);
    }
    throw err;
  } finally {
    await resources.browser?.close().catch((err) => log(`closing Chromium failed: ${err.message}`));
    await stopServer(resources.server);
    if (failed && serverLog.length > 0) {
      log(`last ${serverLog.length} lines of parleyd output:`);
      for (const line of serverLog) console.log(`  ${line}`);
    }
    fs.rmSync(resources.tempDir, { recursive: true, force: true });
  }
}

main().then(
  () => {
    console.log('PASS: two users registered, became friends and chatted through the web client');
    process.exit(0);
  },
  (err) => {
    console.error(`FAIL: ${err instanceof TestFailure ? err.message : err.stack}`);
    process.exit(1);
  },
);
