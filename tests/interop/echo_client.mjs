// Sends text and binary messages of the interop sizes to a WebSocket echo server with the Node
// ws library, and checks that each comes back unchanged.
//
// Usage: node echo_client.mjs URL on|off [CA_FILE]
//   on|off   whether the client offers permessage-deflate
//   CA_FILE  PEM certificate that a wss:// server's chain must lead to
// Prints the negotiated extensions on success; exits 1 with the reason on any failure.

import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';

const SIZES = [0, 125, 126, 65535, 65536, 1 << 20];
const TIMEOUT_MS = 30000;

const [url, deflate, caFile] = process.argv.slice(2);
if (!url || (deflate !== 'on' && deflate !== 'off')) {
  console.error('usage: node echo_client.mjs URL on|off [CA_FILE]');
  process.exit(2);
}

// Repeats a text with multi-byte characters to exactly `size` UTF-8 bytes.
function textOfBytes(size) {
  const unit = 'parley \u00e9\u20ac ';
  let text = unit.repeat(Math.ceil(size / Buffer.byteLength(unit)) + 1);
  while (Buffer.byteLength(text) > size) {
    text = text.slice(0, -1);
  }
  return text.padEnd(text.length + size - Buffer.byteLength(text), 'x');
}

const options = {
  perMessageDeflate: deflate === 'on',
  maxPayload: 4 << 20,
  ca: caFile ? readFileSync(caFile) : undefined,
};
const socket = new WebSocket(url, options);
const timer = setTimeout(() => fail(`timed out after ${TIMEOUT_MS} ms`), TIMEOUT_MS);

function fail(reason) {
  console.error(`node ws client (perMessageDeflate ${deflate}): ${reason}`);
  process.exit(1);
}

// Sends `payload` and resolves with the echoed message and whether it was binary.
function echo(payload) {
  return new Promise((resolve) => {
    socket.once('message', (data, isBinary) => resolve({ data, isBinary }));
    socket.send(payload);
  });
}

socket.on('error', (error) => fail(`connection error: ${error.message}`));
socket.on('open', async () => {
  const offered = deflate === 'on';
  const agreed = socket.extensions.includes('permessage-deflate');
  if (offered !== agreed && !process.env.EXPECT_NO_DEFLATE) {
    fail(`expected permessage-deflate ${offered ? 'on' : 'off'}, got "${socket.extensions}"`);
  }
  if (agreed && process.env.EXPECT_NO_DEFLATE) {
    fail(`server accepted permessage-deflate: "${socket.extensions}"`);
  }
  for (const size of SIZES) {
    const text = textOfBytes(size);
    const textEcho = await echo(text);
    if (textEcho.isBinary || textEcho.data.toString('utf8') !== text) {
      fail(`text message of ${size} bytes came back changed`);
    }
    const binary = randomBytes(size);
    const binaryEcho = await echo(binary);
    if (!binaryEcho.isBinary || !Buffer.from(binaryEcho.data).equals(binary)) {
      fail(`binary message of ${size} bytes came back changed`);
    }
  }
  socket.close(1000);
});
socket.on('close', (code) => {
  clearTimeout(timer);
  if (code !== 1000) {
    fail(`closed with ${code}`);
  }
  console.log(`extensions: "${socket.extensions}"`);
  process.exit(0);
});
