"""A raw-socket WebSocket client that builds every frame by hand (RFC 6455).

Only the standard library is used, so a test controls each bit on the wire:
RSV bits, reserved opcodes, unmasked frames, non-minimal lengths, frames cut
into small writes. Every read has a timeout, so a server that stays silent
fails a test instead of hanging the suite.
"""

import base64
import hashlib
import os
import socket
import struct
import time

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

RSV1 = 0x40
RSV2 = 0x20
RSV3 = 0x10

ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
READ_TIMEOUT = 5.0


def encode_frame(opcode, payload=b"", fin=True, rsv=0, mask=True, mask_key=None,
                 length_bytes=None, length=None):
    """Return the bytes of one frame.

    `length_bytes` forces the length form: 0 for the 7-bit form, 2 for the
    16-bit form, 8 for the 64-bit form; None picks the shortest one.
    `length` writes this value in the length field instead of the payload's
    real length, to build frames whose header lies.
    """
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    first = (0x80 if fin else 0) | rsv | opcode
    mask_bit = 0x80 if mask else 0
    value = len(payload) if length is None else length
    if length_bytes is None and value <= 125:
        length_bytes = 0
    elif length_bytes is None and value <= 0xFFFF:
        length_bytes = 2
    elif length_bytes is None:
        length_bytes = 8
    if length_bytes == 0:
        header = struct.pack("!BB", first, mask_bit | value)
    elif length_bytes == 2:
        header = struct.pack("!BBH", first, mask_bit | 126, value)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, value)
    if not mask:
        return header + payload
    key = os.urandom(4) if mask_key is None else mask_key
    return header + key + apply_mask(payload, key)


def apply_mask(data, key):
    """XOR `data` with the 4-byte masking key (RFC 6455 section 5.3)."""
    if not data:
        return b""
    repeated = (key * (len(data) // 4 + 1))[:len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")).to_bytes(len(data), "big")


def close_payload(code, reason=b""):
    """Return the body of a Close frame: the 2-byte code and the reason."""
    if isinstance(reason, str):
        reason = reason.encode("utf-8")
    return struct.pack("!H", code) + reason


def accept_key(key):
    """Return the Sec-WebSocket-Accept value the server must send for `key`."""
    return base64.b64encode(hashlib.sha1(key.encode("ascii") + ACCEPT_GUID).digest()).decode("ascii")


def new_key():
    """Return a fresh Sec-WebSocket-Key: base64 of 16 random bytes."""
    return base64.b64encode(os.urandom(16)).decode("ascii")


def build_request(path, port, key, extra_headers=(), omit=(), method="GET", version="HTTP/1.1"):
    """Return the bytes of an upgrade request.

    `extra_headers` are (name, value) pairs added at the end; `omit` names
    default headers (case-insensitively) to leave out.
    """
    headers = [
        ("Host", f"127.0.0.1:{port}"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", key),
        ("Sec-WebSocket-Version", "13"),
    ]
    omitted = {name.lower() for name in omit}
    lines = [f"{method} {path} {version}"]
    lines += [f"{name}: {value}" for name, value in headers if name.lower() not in omitted]
    lines += [f"{name}: {value}" for name, value in extra_headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class Frame:
    """One frame received from the server."""

    def __init__(self, fin, rsv, opcode, masked, payload):
        self.fin = fin
        self.rsv = rsv
        self.opcode = opcode
        self.masked = masked
        self.payload = payload

    def close_code(self):
        """Return the status code of a Close frame, or None when its body is empty."""
        if len(self.payload) < 2:
            return None
        return struct.unpack("!H", self.payload[:2])[0]

    def __repr__(self):
        preview = self.payload[:60]
        ellipsis = "..." if len(self.payload) > 60 else ""
        return (f"Frame(opcode={self.opcode:#x}, fin={self.fin}, rsv={self.rsv:#x}, "
                f"len={len(self.payload)}, {preview!r}{ellipsis})")


class ConnectionClosed(Exception):
    """The server closed TCP while a frame or response was expected."""


class Response:
    """The HTTP response to a handshake request."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-cased names
        self.body = body


class RawClient:
    """One TCP connection to the server, read and written byte by byte."""

    def __init__(self, port, timeout=READ_TIMEOUT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        self.timeout = timeout

    def close(self):
        self.sock.close()

    # Writing

    def send(self, data):
        self.sock.sendall(data)

    def send_chopped(self, data, chunk, pause=0.001):
        """Send `data` in writes of `chunk` bytes with a pause between them."""
        for start in range(0, len(data), chunk):
            self.sock.sendall(data[start:start + chunk])
            if pause:
                time.sleep(pause)

    def send_frame(self, opcode, payload=b"", **options):
        self.send(encode_frame(opcode, payload, **options))

    # Reading

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(1 << 20)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise ConnectionClosed("the server closed the connection")
        self.buffer += chunk

    def _take(self, count, deadline):
        while len(self.buffer) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout(f"timed out waiting for {count} bytes, have {len(self.buffer)}")
            self._fill(remaining)
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def read_response(self, timeout=None):
        """Read one HTTP response head and its Content-Length body."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\r\n\r\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("timed out waiting for the response head")
            self._fill(remaining)
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        body = self._take(int(headers.get("content-length", ["0"])[0]), deadline)
        return Response(status, headers, body)

    def read_frame(self, timeout=None):
        """Read one frame; raise ConnectionClosed on EOF and socket.timeout when none comes."""
        deadline = time.monotonic() + (timeout or self.timeout)
        first, second = self._take(2, deadline)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack("!H", self._take(2, deadline))[0]
        elif length == 127:
            length = struct.unpack("!Q", self._take(8, deadline))[0]
        masked = bool(second & 0x80)
        key = self._take(4, deadline) if masked else None
        payload = self._take(length, deadline)
        if masked:
            payload = apply_mask(payload, key)
        return Frame(bool(first & 0x80), first & 0x70, first & 0x0F, masked, payload)

    def wait_eof(self, timeout):
        """Return True when the server closes TCP within `timeout` s, discarding any bytes."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return True
            except socket.timeout:
                return False
            if not chunk:
                return True

    def handshake(self, path, port, extra_headers=(), omit=()):
        """Send an upgrade request and return (key, Response)."""
        key = new_key()
        self.send(build_request(path, port, key, extra_headers, omit))
        return key, self.read_response()
