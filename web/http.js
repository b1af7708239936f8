// Calls to the parley HTTP API under /api/, made with the logged-in user's token.

import { state } from './state.js';

/** An API failure: `code` is the server's error code, `status` the HTTP status (0 if unreachable). */
export class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
  }
}

let onUnauthorized = () => {};

/** Sets the function that api() calls when the server rejects the current token. */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

/**
 * Sends a request with the current token, if any, and returns the parsed JSON
 * body, or null for an empty one. `body` is sent as JSON, or as
 * multipart/form-data when it is a FormData. Throws ApiError carrying the
 * server's error.message on a 4xx or 5xx status; a 401 for the current token
 * also calls the unauthorized handler, which ends the session.
 */
export async function api(method, path, body) {
  const token = state.token;
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload;
  if (body instanceof FormData) {
    payload = body; // the browser sets the Content-Type with the multipart boundary
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }

  let response;
  try {
    response = await fetch(path, { method, headers, body: payload });
  } catch (err) {
    throw new ApiError('network', `Cannot reach the server (${method} ${path}): ${err.message}`, 0);
  }

  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (response.ok) return data;

  if (response.status === 401 && token && token === state.token) onUnauthorized();
  const error = data?.error;
  throw new ApiError(
    error?.code ?? `http_${response.status}`,
    error?.message ?? `${method} ${path} failed with HTTP ${response.status}`,
    response.status,
  );
}
