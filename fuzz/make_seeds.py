#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets to fuzz/corpus/<target>/.

Each seed is a small valid input, written by hand below so that the fuzzers start from every
kind of request, body, frame and command the server handles. The files are checked in; run
this script again only after changing a seed here.
"""

import os
import struct

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def chunked(payload, sizes=(), variant=0):
    """Prefix a payload with the header of chunked_input.h: chunk sizes and a variant."""
    assert len(sizes) <= 15
    assert 0 <= variant <= 15
    header = bytes([(variant << 4) | len(sizes)] + [size - 1 for size in sizes])
    return header + payload


def masked_frame(opcode, payload, fin=True, key=b"\x37\xfa\x21\x3d"):
    """Return a client frame laid out as in RFC 6455 section 5.2, masked with `key`."""
    first = (0x80 if fin else 0) | opcode
    length = len(payload)
    if length < 126:
        header = bytes([first, 0x80 | length])
    elif length < 65536:
        header = bytes([first, 0x80 | 126]) + struct.pack("!H", length)
    else:
        header = bytes([first, 0x80 | 127]) + struct.pack("!Q", length)
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return header + key + body


UPGRADE = (b"GET /chat HTTP/1.1\r\n"
           b"Host: 127.0.0.1:8080\r\n"
           b"Upgrade: websocket\r\n"
           b"Connection: keep-alive, Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Sec-WebSocket-Version: 13\r\n"
           b"Authorization: Bearer 0123456789abcdef\r\n\r\n")

HTTP = {
    "get": chunked(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"),
    "post_then_get": chunked(
        b"POST /api/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: 35\r\n\r\n{\"username\":\"ann\",\"password\":\"pw\"}"
        b"GET /api/me HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer abc\r\n\r\n",
        sizes=(1, 5, 16)),
    "query": chunked(b"GET /api/messages?conv=u%3A2&after=10&q=a+b HTTP/1.1\r\n"
                     b"Host: [::1]:8080\r\nConnection: close\r\n\r\n", sizes=(7,)),
    "http10": chunked(b"\r\nGET /media/a%20b.png HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
    "upgrade": chunked(UPGRADE, sizes=(3, 100)),
    "body_over_small_limit": chunked(
        b"PUT /api/me HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"a" * 100,
        variant=1),
}

MULTIPART = {
    "two_parts": chunked(
        b"multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW\n"
        b"------WebKitFormBoundary7MA4YWxkTrZu0gW\r\n"
        b"Content-Disposition: form-data; name=\"file\"; filename=\"cat.png\"\r\n"
        b"Content-Type: image/png\r\n\r\n"
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\r\n"
        b"------WebKitFormBoundary7MA4YWxkTrZu0gW\r\n"
        b"Content-Disposition: form-data; name=\"note\"\r\n\r\n"
        b"hello\r\n"
        b"------WebKitFormBoundary7MA4YWxkTrZu0gW--\r\n",
        sizes=(80, 3, 40)),
    "quoted_boundary": chunked(
        b"Multipart/Form-Data; charset=utf-8; boundary=\"a b:c\"\n"
        b"preamble\r\n--a b:c \t\r\n"
        b"content-disposition: form-data; name=\"q\\\"x\"\r\n\r\n"
        b"data with \r\n--a b:cx inside\r\n--a b:c--\r\nepilogue",
        sizes=(1, 2, 7)),
    "empty_part": chunked(
        b"multipart/form-data; boundary=b\n"
        b"--b\r\nContent-Disposition: form-data; name=\"\"\r\n\r\n\r\n--b--"),
}

WS = {
    "text": chunked(masked_frame(0x1, b"{\"cmd\":0}")),
    "ping_text_close": chunked(
        masked_frame(0x9, b"ping") + masked_frame(0x1, "h\u00e9llo \u2603".encode()) +
        masked_frame(0x8, struct.pack("!H", 1000) + b"bye"), sizes=(1, 3, 7)),
    "fragments": chunked(
        # The first fragment ends inside the two bytes of U+00E9.
        masked_frame(0x1, b"caf\xc3", fin=False) +
        masked_frame(0xA, b"") +
        masked_frame(0x0, b"\xa9 au lait", fin=False) +
        masked_frame(0x0, b"!", fin=True), sizes=(2, 9)),
    "binary_16bit_length": chunked(masked_frame(0x2, bytes(range(256)) * 2), sizes=(14, 200)),
    "close_empty": chunked(masked_frame(0x8, b""), variant=2),
    "over_limit": chunked(masked_frame(0x1, b"x" * 200), variant=2),
}

HANDSHAKE = {
    "upgrade": UPGRADE,
    "old_version": UPGRADE.replace(b"Version: 13", b"Version: 8"),
    "lowercase_tokens": (b"GET /chat HTTP/1.1\r\nhost: a\r\nupgrade: WebSocket\r\n"
                         b"connection: upgrade\r\nsec-websocket-key: AAAAAAAAAAAAAAAAAAAAAA==\r\n"
                         b"sec-websocket-version: 13\r\n\r\n"),
}

CHAT = {
    "ping": b"{\"cmd\":0}",
    "direct": b"{\"cmd\":10,\"cid\":\"c-1\",\"dstid\":2,\"content\":\"hi \\u00e9\"}",
    "group_media": (b"{\"cmd\":11,\"dstid\":3,\"media\":2,\"url\":\"/media/ab.png\","
                    b"\"pic\":\"/media/ab_t.png\",\"content\":null}"),
    "transfer": b"{\"cmd\":10,\"dstid\":8,\"content\":\"x\",\"amount\":-5,\"memo\":\"rent\"}",
    "sync_conv": b"{\"cmd\":30,\"conv\":\"u:2\",\"after\":12}",
    "sync_ts": b"{\"cmd\":30,\"after_ts\":1700000000000}",
    "read": b"{\"cmd\":40,\"conv\":\"g:3\",\"seq\":9}",
    "typing": b"{\"cmd\":41,\"dstid\":2}",
    "recall": b" {\"cmd\":42,\"id\":15} ",
    "nested": b"{\"cmd\":10,\"dstid\":2,\"content\":\"a\",\"x\":[1,2.5e3,{\"y\":[true,false]}]}",
}


def write(target, seeds):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)


def main():
    write("http_parser", HTTP)
    write("multipart", MULTIPART)
    write("message_reader", WS)
    write("handshake", HANDSHAKE)
    write("chat_command", CHAT)


if __name__ == "__main__":
    main()
