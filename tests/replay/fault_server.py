"""A misbehaving TCP server for transport-fault tests: ``hang`` accepts and never answers,
``reset`` reads the request and resets the connection, ``garbage`` answers something that is not HTTP.

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
    while True:
        connection, _ = listener.accept()
        if mode == "hang":
            held.append(connection)  # keep it open, say nothing
            continue
        threading.Thread(target=_answer, args=(mode, connection), daemon=True).start()


def _answer(mode: str, connection: socket.socket) -> None:
    try:
        connection.recv(65536)
        if mode == "reset":
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif mode == "garbage":
            connection.sendall(b"this is not http at all\r\n\r\n")
    finally:
        connection.close()


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
