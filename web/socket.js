// The chat WebSocket: reconnects with exponential backoff and sends heartbeats.

import { CMD } from './protocol.js';

const HEARTBEAT_INTERVAL_MS = 25_000;
// A connection that has sent nothing for this long (not even a heartbeat
// reply) is treated as dead and replaced.
const SILENT_CONNECTION_LIMIT_MS = 2 * HEARTBEAT_INTERVAL_MS + 10_000;
const RECONNECT_MIN_DELAY_MS = 1_000;
const RECONNECT_MAX_DELAY_MS = 30_000;

/**
 * A connection to /chat that is ready once the server's welcome (cmd 1)
 * arrives. Frames are sent only while it is ready. After a close it waits
 * 1 s, 2 s, 4 s and so on up to 30 s, each with random jitter, then awaits
 * `canReconnect()` and opens a new socket. A rejected `canReconnect` means
 * "try again later".
 *
 * Callbacks: url() returns the WebSocket URL, onFrame(frame) gets every parsed
 * frame (the welcome included), and onStateChange(state, retryInMs) reports
 * "connecting", "online" or "offline".
 */
export class ChatSocket {
  #socket = null;
  #ready = false;
  #stopped = true;
  #attempts = 0;
  #heartbeatTimer = 0;
  #reconnectTimer = 0;
  #lastFrameAt = 0;

  constructor({ url, canReconnect, onFrame, onStateChange }) {
    this.url = url;
    this.canReconnect = canReconnect;
    this.onFrame = onFrame;
    this.onStateChange = onStateChange;
  }

  get ready() {
    return this.#ready;
  }

  start() {
    this.#stopped = false;
    this.#attempts = 0;
    this.#open();
  }

  /** Closes the socket and cancels any pending reconnect. */
  stop() {
    this.#stopped = true;
    clearTimeout(this.#reconnectTimer);
    this.#drop();
    this.onStateChange('offline', 0);
  }

  /** Skips the remaining backoff delay, for example when the browser comes back online. */
  reconnectNow() {
    if (this.#stopped || this.#socket) return;
    clearTimeout(this.#reconnectTimer);
    this.#reconnect();
  }

  /** Sends a frame as JSON; returns false, sending nothing, while the connection is not ready. */
  send(frame) {
    if (!this.#ready || this.#socket?.readyState !== WebSocket.OPEN) return false;
    this.#socket.send(JSON.stringify(frame));
    return true;
  }

  #open() {
    const socket = new WebSocket(this.url());
    this.#socket = socket;
    this.#ready = false;
    this.#lastFrameAt = Date.now();
    this.onStateChange('connecting', 0);

    socket.addEventListener('message', (event) => {
      if (socket !== this.#socket) return;
      this.#lastFrameAt = Date.now();
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        console.warn('ignored a WebSocket frame that is not JSON:', event.data);
        return;
      }
      if (frame.cmd === CMD.WELCOME) this.#onWelcome();
      this.onFrame(frame);
    });

    socket.addEventListener('close', (event) => {
      if (socket !== this.#socket) return;
      console.info(`WebSocket closed with code ${event.code}`, event.reason);
      this.#drop();
      this.#scheduleReconnect();
    });
  }

  #onWelcome() {
    this.#ready = true;
    this.#attempts = 0;
    this.onStateChange('online', 0);
    clearInterval(this.#heartbeatTimer);
    this.#heartbeatTimer = setInterval(() => this.#heartbeat(), HEARTBEAT_INTERVAL_MS);
  }

  #heartbeat() {
    if (Date.now() - this.#lastFrameAt > SILENT_CONNECTION_LIMIT_MS) {
      console.warn(`WebSocket silent for over ${SILENT_CONNECTION_LIMIT_MS / 1000} s, reconnecting`);
      this.#drop();
      this.#scheduleReconnect();
      return;
    }
    this.send({ cmd: CMD.HEARTBEAT });
  }

  /** Stops using the current socket without scheduling a reconnect. */
  #drop() {
    const socket = this.#socket;
    this.#socket = null;
    this.#ready = false;
    clearInterval(this.#heartbeatTimer);
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close();
  }

  #scheduleReconnect() {
    if (this.#stopped) return;
    clearTimeout(this.#reconnectTimer);
    const ceiling = Math.min(RECONNECT_MAX_DELAY_MS, RECONNECT_MIN_DELAY_MS * 2 ** this.#attempts);
    // Jitter keeps many clients of a restarted server from reconnecting in step.
    const delay = Math.round(ceiling * (0.5 + Math.random() / 2));
    this.#attempts += 1;
    this.onStateChange('offline', delay);
    this.#reconnectTimer = setTimeout(() => this.#reconnect(), delay);
  }

  async #reconnect() {
    try {
      const allowed = await this.canReconnect();
      if (!allowed || this.#stopped) return;
    } catch (err) {
      console.warn('reconnect check failed:', err);
      this.#scheduleReconnect();
      return;
    }
    this.#open();
  }
}
