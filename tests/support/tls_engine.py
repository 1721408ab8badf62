"""A real Docker engine listening with TLS on a loopback port, for end-to-end tests.

It is a second ``dockerd`` beside the test bed's engine, with its own data and exec roots, its own
bridge interface and no iptables, so it starts in seconds and touches nothing else.  (With
``--bridge none`` it would delete the host's ``docker0``, which the first engine still uses.)  Its server certificate
comes from a store's CA, so clients authenticate exactly as they do against a real machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import typing as t
from dataclasses import dataclass
from pathlib import Path


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class TLSEngine:
    url: str
    port: int
    socket_path: str
    workdir: Path
    process: subprocess.Popen

    def log(self) -> str:
        return (self.workdir / "dockerd.log").read_text(errors="replace")


def _wait_listening(port: int, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("dockerd exited with %s:\n%s" % (process.returncode, log.read_text(errors="replace")[-4000:]))
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.2)
    raise RuntimeError("dockerd did not listen on 127.0.0.1:%d within %.0f s:\n%s" % (port, timeout, log.read_text(errors="replace")[-4000:]))


@contextlib.contextmanager
def tls_engine(
    workdir: Path, ca_cert: Path, server_cert: Path, server_key: Path, timeout: float = 60, port: int | None = None
) -> t.Iterator[TLSEngine]:
    """Run ``dockerd --tlsverify`` on 127.0.0.1:<port> (a free one unless given) until the block ends."""
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise RuntimeError("dockerd is not installed; run `make engine` (tests/bed/engine.sh start) first")
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_loopback_port()
    # Unix socket paths are limited to ~108 bytes, so the socket lives in a short temp folder.
    sock_dir = Path(os.environ.get("TMPDIR", "/tmp")) / ("dyk-%d" % port)
    sock_dir.mkdir(parents=True, exist_ok=True)
    socket_path = str(sock_dir / "docker.sock")
    log = workdir / "dockerd.log"
    bridge = "dyk-tls%d" % port
    argv = [
        dockerd,
        "--data-root", str(workdir / "data"),
        "--exec-root", str(sock_dir / "exec"),
        "--pidfile", str(workdir / "dockerd.pid"),
        "-H", "unix://" + socket_path,
        "-H", "tcp://127.0.0.1:%d" % port,
        "--tlsverify",
        "--tlscacert", str(ca_cert),
        "--tlscert", str(server_cert),
        "--tlskey", str(server_key),
        "--bridge", bridge,
        "--iptables=false",
        "--ip6tables=false",
    ]
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, sock_dir, ignore_errors=True)
        cleanup.callback(subprocess.run, ["ip", "link", "delete", bridge], check=False, capture_output=True)
        # An address from the benchmarking range (RFC 2544) on a bridge that nothing routes to.
        subprocess.run(["ip", "link", "add", "name", bridge, "type", "bridge"], check=True, capture_output=True)
        subprocess.run(["ip", "addr", "add", "198.18.%d.1/24" % (port % 250), "dev", bridge], check=True, capture_output=True)
        with open(log, "wb") as log_handle:
            process = subprocess.Popen(argv, stdout=log_handle, stderr=subprocess.STDOUT, start_new_session=True)
        cleanup.callback(_stop, process)
        _wait_listening(port, process, log, timeout)
        yield TLSEngine(url="tcp://127.0.0.1:%d" % port, port=port, socket_path=socket_path, workdir=workdir, process=process)


def _stop(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
