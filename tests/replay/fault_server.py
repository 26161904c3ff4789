"""A misbehaving TCP server for transport-fault tests: ``hang`` accepts and never answers,
``reset`` reads the request and resets the connection, ``garbage`` answers something that is not HTTP,
``throttle`` answers 503 SlowDown to the first two requests and 200 afterwards.

Usage: python fault_server.py MODE PORT_FILE  (writes the port it bound on 127.0.0.1, then serves).
"""

from __future__ import annotations

import socket
import struct
import sys
import threading


def serve(mode: str, port_file: str) -> None:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    with open(port_file + ".partial", "w") as handle:
        handle.write(str(listener.getsockname()[1]))
    import os

    os.replace(port_file + ".partial", port_file)
    held: list[socket.socket] = []
    served = [0]
    while True:
        connection, _ = listener.accept()
        if mode == "hang":
            held.append(connection)  # keep it open, say nothing
            continue
        served[0] += 1
        threading.Thread(target=_answer, args=(mode, connection, served[0]), daemon=True).start()


def _answer(mode: str, connection: socket.socket, number: int) -> None:
    try:
        connection.recv(65536)
        if mode == "reset":
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif mode == "throttle":
            body = b"<Error><Code>SlowDown</Code></Error>" if number <= 2 else b"<ok/>"
            status = b"503 Slow Down" if number <= 2 else b"200 OK"
            connection.sendall(
                b"HTTP/1.1 "
                + status
                + b"\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
            )
        elif mode == "garbage":
            connection.sendall(b"this is not http at all\r\n\r\n")
    finally:
        connection.close()


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
