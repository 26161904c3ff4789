"""A hostile candidate for replay tests, run as its own process on 127.0.0.1.

Usage: python hostile_server.py PORT_FILE MODE [ARG ...]  (writes the port it bound, then serves)

Modes:
  huge SIZE            answers 200 with a SIZE-byte body of 'a' (Content-Length given)
  endless              answers 200 with a chunked body that never ends
  gzip-bomb SIZE       answers 200 with SIZE zero bytes gzip-compressed (Content-Encoding: gzip)
  answer-then-hang N   answers the first N requests with <ok/>, then reads requests and never answers
  hiccup FIRST LAST    hangs on requests FIRST..LAST (counted from 1), answers every other one
  head SIZE            answers 200 with Content-Length SIZE and no body (right for a HEAD request)
  file TYPE PATH       answers 200 with the bytes of PATH as they are, with Content-Type TYPE
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import zlib

_CHUNK = b"a" * (1 << 20)


def serve(port_file: str, mode: str, args: list[str]) -> None:
    bomb = _gzip_zeros(int(args[0])) if mode == "gzip-bomb" else b""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    with open(port_file + ".partial", "w") as handle:
        handle.write(str(listener.getsockname()[1]))
    os.replace(port_file + ".partial", port_file)
    count = 0
    lock = threading.Lock()
    held: list[socket.socket] = []
    while True:
        connection, _ = listener.accept()
        with lock:
            count += 1
            number = count
        if _hangs(mode, args, number):
            held.append(connection)  # never answered, never closed
            continue
        threading.Thread(target=_answer, args=(connection, mode, args, bomb), daemon=True).start()


def _hangs(mode: str, args: list[str], number: int) -> bool:
    if mode == "answer-then-hang":
        return number > int(args[0])
    if mode == "hiccup":
        return int(args[0]) <= number <= int(args[1])
    return False


def _answer(connection: socket.socket, mode: str, args: list[str], bomb: bytes) -> None:
    try:
        _read_request(connection)
        if mode == "huge":
            size = int(args[0])
            connection.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % size)
            while size > 0:
                piece = _CHUNK[: min(size, len(_CHUNK))]
                connection.sendall(piece)
                size -= len(piece)
        elif mode == "head":
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % int(args[0])
            )
        elif mode == "endless":
            connection.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n")
            frame = b"%x\r\n%s\r\n" % (len(_CHUNK), _CHUNK)
            while True:
                connection.sendall(frame)
        elif mode == "gzip-bomb":
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Encoding: gzip\r\n"
                b"Content-Type: application/xml\r\nContent-Length: %d\r\n\r\n" % len(bomb)
            )
            connection.sendall(bomb)
        elif mode == "file":
            with open(args[1], "rb") as handle:
                body = handle.read()
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: %s\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (args[0].encode(), len(body), body)
            )
        else:
            body = b"<ok/>"
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/xml\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            )
    except OSError:
        pass  # the client hung up, as it should past its limit
    finally:
        connection.close()


def _read_request(connection: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = connection.recv(65536)
        if not piece:
            return
        data += piece
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        piece = connection.recv(65536)
        if not piece:
            return
        rest += piece


def _gzip_zeros(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    parts = []
    while size > 0:
        step = min(size, len(zeros))
        parts.append(compressor.compress(zeros[:step]))
        size -= step
    parts.append(compressor.flush())
    return b"".join(parts)


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2], sys.argv[3:])
