"""A loopback port that accepts connections and never says a word: a host that hangs."""

from __future__ import annotations

import contextlib
import socket
import threading
import typing as t


@contextlib.contextmanager
def silent_port() -> t.Iterator[int]:
    """Yield a port on 127.0.0.1 whose connections open and then stay silent until the block ends."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(2)
        listener.close()
        for conn in accepted:
            conn.close()
