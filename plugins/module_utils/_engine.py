# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""Talk to a Docker engine over verified TLS with the store's client certificate (stdlib only)."""

from __future__ import annotations

import json
import typing as t
from dataclasses import dataclass
from urllib.parse import urlsplit

from ansible_collections.dockyard.machine.plugins.module_utils._errors import EngineError

if t.TYPE_CHECKING:  # pragma: no cover
    import ssl

__all__ = ["MAX_REPLY_BYTES", "TLSFiles", "engine_call", "engine_info", "engine_version", "split_url"]

# An engine's /version answer is well under 1 KiB, /info a few KiB; a host that sends more is not one we trust to read.
MAX_REPLY_BYTES = 1 << 20


@dataclass(frozen=True)
class TLSFiles:
    """The three files a Docker client needs: CA to verify the server, client certificate and key."""

    ca: str
    cert: str
    key: str


def split_url(url: str) -> tuple[str, int]:
    """``tcp://host:port`` -> (host, port); the port defaults to 2376."""
    parts = urlsplit(url if "://" in url else "tcp://" + url)
    try:
        port = parts.port
    except ValueError:  # a port that is not a number from 0 to 65535
        port = None
        parts = parts._replace(netloc="")
    if parts.scheme not in ("tcp", "https") or not parts.hostname:
        raise EngineError("Docker URL %r is not a tcp://HOST:PORT address." % url, url=url)
    return parts.hostname, port or 2376


def _context(tls: TLSFiles) -> ssl.SSLContext:
    import ssl  # pylint: disable=redefined-outer-name

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the chain and the host name/IP
    try:
        context.load_verify_locations(cafile=tls.ca)
    except (OSError, ssl.SSLError) as exc:
        raise EngineError("Cannot load the CA certificate %s: %s" % (tls.ca, exc), path=tls.ca) from exc
    try:
        context.load_cert_chain(certfile=tls.cert, keyfile=tls.key)
    except (OSError, ssl.SSLError) as exc:
        raise EngineError("Cannot load the client certificate %s with key %s: %s" % (tls.cert, tls.key, exc), path=tls.cert) from exc
    return context


def engine_version(url: str, tls: TLSFiles, timeout: float) -> dict[str, t.Any]:
    """GET /version over TLS; returns the engine's answer or raises EngineError saying what broke."""
    return engine_call(url, tls, timeout, "/version")


def engine_info(url: str, tls: TLSFiles, timeout: float) -> dict[str, t.Any]:
    """GET /info over TLS: the engine's version (ServerVersion) and its Swarm section in one call."""
    return engine_call(url, tls, timeout, "/info")


def engine_call(url: str, tls: TLSFiles, timeout: float, path: str, body: t.Mapping[str, t.Any] | None = None) -> t.Any:
    """GET ``path`` (or POST ``body`` as JSON to it) over TLS; returns the engine's JSON answer (None for an empty one)
    or raises EngineError saying what broke.

    ``timeout`` bounds the whole exchange, not each read: a host that trickles its answer a byte at a
    time is cut off when it runs out (the socket is shut down under the reader), and an answer
    larger than MAX_REPLY_BYTES is refused. An answer other than 200 raises EngineError with the
    engine's own message (``status`` holds the HTTP status).
    """
    # Imported here, not with the module: the commands that never talk to an engine start without them.
    import http.client
    import socket
    import ssl  # pylint: disable=redefined-outer-name
    import threading

    host, port = split_url(url)
    connection = http.client.HTTPSConnection(host, port, context=_context(tls), timeout=timeout)
    where = "%s:%d" % (host, port)
    expired = threading.Event()

    def cut_off() -> None:
        expired.set()
        if connection.sock is not None:
            try:
                connection.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    watchdog = threading.Timer(timeout, cut_off)
    watchdog.daemon = True
    watchdog.start()
    try:
        if body is None:
            connection.request("GET", path, headers={"Host": "docker"})
        else:
            connection.request("POST", path, body=json.dumps(dict(body)).encode(), headers={"Host": "docker", "Content-Type": "application/json"})
        response = connection.getresponse()
        raw = response.read(MAX_REPLY_BYTES + 1)
    except ssl.SSLCertVerificationError as exc:
        raise EngineError(
            'There was an error validating certificates for host "%s": %s. '
            "Re-issue the machine's server certificate with dockyard.machine.docker_machine_certs." % (where, str(exc.verify_message or exc).rstrip(".")),
            url=url,
        ) from exc
    except (OSError, ssl.SSLError, http.client.HTTPException) as exc:
        # The socket's own timeout (the same bound) may fire before the watchdog does: either way the deadline passed.
        if expired.is_set() or isinstance(exc, TimeoutError):
            raise EngineError("The Docker engine at %s did not answer %s within %g s." % (where, path, timeout), url=url) from exc
        raise EngineError("Cannot reach the Docker engine at %s over TLS: %s" % (where, exc), url=url) from exc
    finally:
        watchdog.cancel()
        connection.close()
    if expired.is_set():
        raise EngineError("The Docker engine at %s did not answer %s within %g s." % (where, path, timeout), url=url)
    if len(raw) > MAX_REPLY_BYTES:
        raise EngineError("The Docker engine at %s sent a %s answer larger than %d bytes; refused." % (where, path, MAX_REPLY_BYTES), url=url)
    try:
        answer = json.loads(raw.decode("utf-8")) if raw.strip() else None
    except (UnicodeDecodeError, ValueError) as exc:
        if response.status not in (200, 204):
            raise EngineError("The Docker engine at %s answered %s with HTTP %d." % (where, path, response.status), url=url, status=response.status) from exc
        raise EngineError("The Docker engine at %s sent a %s answer that is not JSON." % (where, path), url=url) from exc
    if response.status not in (200, 204):
        said = answer.get("message") if isinstance(answer, dict) else None
        raise EngineError(
            "The Docker engine at %s answered %s with HTTP %d%s." % (where, path, response.status, ": %s" % " ".join(str(said).split()) if said else ""),
            url=url,
            status=response.status,
        )
    if body is None and not isinstance(answer, dict):
        raise EngineError("The Docker engine at %s sent an unexpected %s answer." % (where, path), url=url)
    return answer
