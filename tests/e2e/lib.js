// Shared set-up for the browser end-to-end tests: a real parleyd on a free
// port with a fresh SQLite database, headless Chromium driven by
// playwright-core, and the steps that several tests take through the web client.
//
// Environment:
//   PARLEYD           path to the parleyd binary (required)
//   PARLEY_WEB_DIR    the web/ directory that parleyd serves (required)
//   PARLEY_ARTIFACTS  directory for the screenshots (default ./artifacts)
//
// With `tls: true`, runBrowserTest makes a self-signed certificate for 127.0.0.1 with the
// openssl tool, and parleyd serves https and wss on its port.

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
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
const HEALTH_TIMEOUT_MS = 10_000;
const STEP_TIMEOUT_MS = 15_000;
const SERVER_STOP_TIMEOUT_MS = 5_000;
const SERVER_LOG_LINES = 200;

/** A failure with a message that names what went wrong; printed without a stack. */
export class TestFailure extends Error {}

export function log(message) {
  console.log(`[e2e] ${message}`);
}

function requireEnv(name) {
  const value = process.env[name];
  if (!value) throw new TestFailure(`environment variable ${name} is not set`);
  return value;
}

/** Returns a TCP port that was free a moment ago (bind port 0, read it, close). */
export function findFreePort() {
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

/**
 * Writes a self-signed certificate for 127.0.0.1, valid for one day, and its key into `dir`.
 * Returns the paths as { cert, key }.
 */
export function makeCertificate(dir) {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', key, '-out', cert,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const detail = err.stderr ? err.stderr.toString().trim() : err.message;
    throw new TestFailure(`openssl failed to make a test certificate: ${detail}`);
  }
  return { cert, key };
}

/** Starts parleyd with its database and media in `tempDir`; keeps its last output lines in `serverLog`. */
function startServer(parleyd, port, tempDir, webDir, serverLog, extraArgs = []) {
  const args = [
    '--listen', `127.0.0.1:${port}`,
    '--db', `sqlite:${path.join(tempDir, 'parley.db')}`,
    '--media-dir', path.join(tempDir, 'media'),
    '--web-dir', webDir,
    '--threads', '2',
    ...extraArgs,
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

/**
 * Returns the status of GET `url` over https, trusting only the certificate in the PEM string
 * `ca`. Node's fetch() takes no CA, so node:https is used.
 */
function httpsStatus(url, ca) {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ca, timeout: 1_000 }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', reject);
  });
}

/**
 * Polls GET /healthz until it returns 200, the server exits, or the timeout passes. With `ca`
 * (a PEM string), the request goes over https and trusts only that certificate.
 */
async function waitForHealth(baseUrl, server, ca = null) {
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
      const status = ca
        ? await httpsStatus(`${baseUrl}/healthz`, ca)
        : (await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(1_000) })).status;
      if (status === 200) return;
      lastProblem = `HTTP ${status}`;
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
export async function step(name, action) {
  log(name);
  try {
    return await action();
  } catch (err) {
    if (err instanceof TestFailure) throw err;
    throw new TestFailure(`${name}: ${err.message.split('\n')[0]}`);
  }
}

/** Opens a page in its own browser context and records its errors for the failure report. */
async function openUserPage(browser, label, baseUrl, contextOptions = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...contextOptions });
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

async function saveScreenshots(testName, pages, artifactsDir, suffix) {
  fs.mkdirSync(artifactsDir, { recursive: true });
  for (const page of pages) {
    const file = path.join(artifactsDir, `${testName}-${page.label}${suffix}.png`);
    await page.screenshot({ path: file });
    log(`screenshot: ${file}`);
  }
}

/**
 * Runs a browser test and exits the process: 0 after printing "PASS: <passMessage>",
 * 1 after a "FAIL:" line. `body({ openPage })` drives the pages; `openPage(label)`
 * opens a page on the server in a browser context of its own. Every page is
 * screenshotted into $PARLEY_ARTIFACTS as `<testName>-<label>.png` at the end,
 * or `<testName>-<label>-failure.png` on a failure, which also prints the
 * pages' errors and parleyd's last output lines. An uncaught error or a
 * console error on any page fails the test too, and a watchdog fails it after
 * `timeoutMs`.
 *
 * With `tls: true`, parleyd gets a certificate made at test time and serves https and wss, and
 * every browser context accepts that certificate (ignoreHTTPSErrors). `body` then also gets
 * `baseUrl` and `tlsFiles` ({ cert, key }), for other servers the test starts on the same
 * certificate, and `tempDir`, which is removed at the end.
 */
export function runBrowserTest({ testName, passMessage, timeoutMs, tls = false }, body) {
  const resources = { server: null, tempDir: null, browser: null };
  const serverLog = [];

  const watchdog = setTimeout(() => {
    console.error(`FAIL: the test did not finish within ${timeoutMs / 1000} s`);
    if (resources.server && resources.server.exitCode === null) resources.server.kill('SIGKILL');
    if (resources.tempDir) fs.rmSync(resources.tempDir, { recursive: true, force: true });
    process.exit(1);
  }, timeoutMs);
  watchdog.unref();

  async function main() {
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
      const tlsFiles = tls ? makeCertificate(resources.tempDir) : null;
      const baseUrl = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
      const tlsArgs = tls ? ['--tls-cert', tlsFiles.cert, '--tls-key', tlsFiles.key] : [];
      resources.server = startServer(parleyd, port, resources.tempDir, webDir, serverLog, tlsArgs);
      const ca = tls ? fs.readFileSync(tlsFiles.cert, 'utf8') : null;
      await step('wait for parleyd to become healthy', () => waitForHealth(baseUrl, resources.server, ca));

      const browser = await step('launch headless Chromium', () =>
        chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_FLAGS, headless: true }));
      resources.browser = browser;
      const contextOptions = tls ? { ignoreHTTPSErrors: true } : {};
      const openPage = async (label) => {
        const page = await openUserPage(browser, label, baseUrl, contextOptions);
        pages.push(page);
        return page;
      };
      await body({ openPage, baseUrl, tlsFiles, tempDir: resources.tempDir });
      const problems = pages.flatMap((page) => page.problems.map((problem) => `${page.label}: ${problem}`));
      if (problems.length > 0) throw new TestFailure(`the pages reported errors: ${problems.join('; ')}`);
      await saveScreenshots(testName, pages, artifactsDir, '');
    } catch (err) {
      failed = true;
      if (pages.length > 0) {
        await saveScreenshots(testName, pages, artifactsDir, '-failure').catch((shotErr) =>
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
      console.log(`PASS: ${passMessage}`);
      process.exit(0);
    },
    (err) => {
      console.error(`FAIL: ${err instanceof TestFailure ? err.message : err.stack}`);
      process.exit(1);
    },
  );
}

// ---------------------------------------------------------------------------
// Steps through the web client

/** Registers through the forms (which also logs in) and waits for the chat connection. */
export async function registerThroughUi(page, user) {
  await page.fill('#reg-username', user.name);
  await page.fill('#reg-password', user.password);
  await page.fill('#reg-nickname', user.nickname);
  await page.click('#register-btn');
  // Registering also logs in; #me then shows the username.
  await page.locator('#me', { hasText: user.name }).waitFor();
  await page.locator('#conn-state[data-state="online"]').waitFor();
}

/** Searches for `user` by username and sends a friend request, which then shows as outgoing. */
export async function sendFriendRequest(page, user) {
  await page.fill('#search-input', user.name);
  await page.click('#search-btn');
  await page.click(`#search-results li[data-username="${user.name}"] [data-add-friend]`);
  await page.locator('#outgoing-list li', { hasText: user.nickname }).waitFor();
}

/**
 * Waits for the one incoming friend request and clicks its Accept or Decline
 * button (`answer` is "accept" or "decline"); the list then shows none.
 * A request names only user ids, so the sender is not matched by name.
 */
export async function answerOnlyFriendRequest(page, answer) {
  const button = page.locator(`#request-list [data-${answer}]`);
  await button.waitFor();
  await button.click();
  await page.locator('#request-list [data-accept]').waitFor({ state: 'detached' });
}

export function friendEntry(page, user) {
  return page.locator(`#friend-list [data-friend][data-username="${user.name}"]`);
}

export function messageText(page, text) {
  return page.locator('#messages .message .text', { hasText: text });
}

/** Types `text` into the open conversation, sends it and waits for its ack (a seq, no pending mark). */
export async function sendText(page, text) {
  await page.fill('#message-input', text);
  await page.click('#send-btn');
  await page.locator('#messages .message.own:not(.pending):not([data-seq=""])', { hasText: text })
    .waitFor();
}

export async function expectNoErrorStatus(page) {
  const status = page.locator('#status');
  if (await status.isVisible() && (await status.getAttribute('data-kind')) === 'error') {
    throw new TestFailure(`${page.label}'s page shows an error: ${await status.textContent()}`);
  }
}
