// node-ws-echo: a WebSocket echo server on the Node ws library, one of the peers that
// bench/peers/compare.sh measures next to parley-echo.
//
// Usage: node node_ws_echo.js PORT   (listens on 127.0.0.1)
// Each text or binary message goes back as one message of the same type and payload.
// permessage-deflate stays off, as in the other peers.
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2]);
if (process.argv.length !== 3 || !Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node node_ws_echo.js PORT  (listens on 127.0.0.1)');
  process.exit(2);
}

const server = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });

server.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => {
    socket.send(data, { binary: isBinary });
  });
  // A reset from a client that goes away mid-run is expected; without a listener Node would
  // treat the error event as fatal.
  socket.on('error', () => {});
});

server.on('error', (error) => {
  console.error(`node-ws-echo: failed to listen on 127.0.0.1:${port}: ${error.message}`);
  process.exit(1);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}
