"""The TLS call to an engine is bounded in time and size, whatever the host sends back."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
import typing as t
from pathlib import Path

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils import _certs
from ansible_collections.dockyard.machine.plugins.module_utils._engine import MAX_REPLY_BYTES, TLSFiles, engine_version
from ansible_collections.dockyard.machine.plugins.module_utils._errors import EngineError

HEADERS = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


@pytest.fixture(scope="module")
def tls_material(tmp_path_factory) -> tuple[TLSFiles, Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    ca = _certs.new_ca("test")
    client = _certs.new_client(ca, "test.client")
    server = _certs.new_server(ca, "test.server", ["127.0.0.1"])
    for name, data in (("ca.pem", ca.cert_pem), ("cert.pem", client.cert_pem), ("key.pem", client.key_pem),
                       ("server.pem", server.cert_pem), ("server-key.pem", server.key_pem)):
        (folder / name).write_bytes(data)
    return TLSFiles(str(folder / "ca.pem"), str(folder / "cert.pem"), str(folder / "key.pem")), folder / "server.pem", folder / "server-key.pem"


@contextlib.contextmanager
def hostile_engine(cert: Path, key: Path, behaviour: t.Callable[[ssl.SSLSocket, threading.Event], None]) -> t.Iterator[str]:
    """A TLS server on 127.0.0.1 that reads the request, then answers with ``behaviour`` (until told to stop)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                raw, dummy = listener.accept()
            except OSError:
                continue
            try:
                with context.wrap_socket(raw, server_side=True) as conn:
                    conn.settimeout(5)
                    conn.recv(4096)
                    behaviour(conn, stop)
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield "tcp://127.0.0.1:%d" % listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(10)
        listener.close()


def trickle(conn: ssl.SSLSocket, stop: threading.Event) -> None:
    conn.sendall(HEADERS + b"Content-Length: 100000\r\n\r\n")
    for dummy in range(200):  # at most 60 s, one byte every 0.3 s
        if stop.is_set():
            return
        conn.sendall(b" ")
        time.sleep(0.3)


def trickle_headers(conn: ssl.SSLSocket, stop: threading.Event) -> None:
    for byte in (HEADERS * 100)[:200]:
        if stop.is_set():
            return
        conn.sendall(bytes([byte]))
        time.sleep(0.3)


def flood(conn: ssl.SSLSocket, stop: threading.Event) -> None:
    conn.sendall(HEADERS + b"Content-Length: %d\r\n\r\n" % (64 * MAX_REPLY_BYTES))
    chunk = b"x" * 65536
    for dummy in range(64 * 16):
        if stop.is_set():
            return
        conn.sendall(chunk)


@pytest.mark.parametrize("behaviour", [trickle, trickle_headers], ids=["body", "headers"])
def test_a_trickling_host_is_cut_off_when_the_timeout_runs_out(tls_material, behaviour):
    tls, cert, key = tls_material
    with hostile_engine(cert, key, behaviour) as url:
        started = time.monotonic()
        with pytest.raises(EngineError, match=r"did not answer /version within 2 s"):
            engine_version(url, tls, timeout=2)
        assert time.monotonic() - started < 4


def test_an_endless_answer_is_refused_at_the_size_cap(tls_material):
    tls, cert, key = tls_material
    with hostile_engine(cert, key, flood) as url:
        with pytest.raises(EngineError, match=r"larger than %d bytes" % MAX_REPLY_BYTES):
            engine_version(url, tls, timeout=20)


def test_an_honest_answer_still_reads(tls_material):
    def honest(conn: ssl.SSLSocket, stop: threading.Event) -> None:
        body = b'{"Version": "26.1.5"}'
        conn.sendall(HEADERS + b"Content-Length: %d\r\n\r\n" % len(body) + body)

    tls, cert, key = tls_material
    with hostile_engine(cert, key, honest) as url:
        assert engine_version(url, tls, timeout=5)["Version"] == "26.1.5"
