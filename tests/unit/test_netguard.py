# The network rule (tests may only reach 127.0.0.0/8) holds in this process and in every Python
# process the tests start. Refused addresses are checked with allowed() first, so a broken guard
# fails the test instead of sending a packet anywhere.
import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

GUARD_DIR = Path(__file__).resolve().parents[1] / "support" / "netguard"
OUTSIDE = ("8.8.8.8", 53)


def _load_guard():
    spec = importlib.util.spec_from_file_location("dockyard_netguard", GUARD_DIR / "sitecustomize.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


guard = _load_guard()


@pytest.fixture
def guarded():
    """The guard for this test, whether or not the run started with DOCKYARD_NETGUARD=1."""
    was_installed = guard.installed()
    guard.install()
    yield
    if not was_installed:
        guard.uninstall()


@pytest.fixture
def listener():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    yield server.getsockname()
    server.close()


@pytest.mark.parametrize(
    ("family", "address", "expected"),
    [
        (socket.AF_INET, ("127.0.0.1", 80), True),
        (socket.AF_INET, ("127.0.0.11", 2376), True),
        (socket.AF_INET, ("localhost", 22), True),
        (socket.AF_INET6, ("::1", 80, 0, 0), True),
        (socket.AF_INET6, ("::ffff:127.0.0.1", 80, 0, 0), True),
        (socket.AF_UNIX, "/var/run/docker.sock", True),
        (socket.AF_INET, OUTSIDE, False),
        (socket.AF_INET, ("10.0.0.1", 22), False),
        (socket.AF_INET, ("169.254.169.254", 80), False),
        (socket.AF_INET, ("0.0.0.0", 80), False),
        (socket.AF_INET6, ("2001:4860:4860::8888", 53, 0, 0), False),
        (socket.AF_INET6, ("::ffff:8.8.8.8", 53, 0, 0), False),
    ],
)
def test_rule(family, address, expected):
    assert guard.allowed(family, address) is expected


def test_refuses_outside_in_process(guarded):
    assert not guard.allowed(socket.AF_INET, OUTSIDE)
    with pytest.raises(PermissionError, match="dockyard test network rule: refusing to connect to"):
        socket.create_connection(OUTSIDE, 1)
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
        with pytest.raises(PermissionError, match="tests may only reach 127.0.0.0/8"):
            sock.connect_ex(("2001:4860:4860::8888", 53, 0, 0))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        with pytest.raises(PermissionError):
            sock.sendto(b"x", OUTSIDE)


def test_allows_loopback_in_process(guarded, listener):
    with socket.create_connection(listener, 1):
        pass
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        assert sock.connect_ex(listener) == 0


def test_allows_unix_in_process(guarded, tmp_path):
    path = str(tmp_path / "sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen(1)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(path)


def _python(code):
    """Run `code` in a new interpreter with the guard on, as the Makefile starts test processes."""
    env = dict(os.environ, DOCKYARD_NETGUARD="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(GUARD_DIR), env.get("PYTHONPATH")]))
    # Exit 3 (without connecting) if the guard did not load or would let the address through.
    prelude = (
        "import socket, sys, sitecustomize as g\n"
        "if not g.installed(): sys.exit(3)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", prelude + code], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_refuses_outside_in_subprocess():
    result = _python(
        "if g.allowed(socket.AF_INET, %r): sys.exit(3)\n"
        "socket.create_connection(%r, 1)\n" % (OUTSIDE, OUTSIDE)
    )
    assert result.returncode == 1, result.stderr
    assert "PermissionError: dockyard test network rule: refusing to connect to ('8.8.8.8', 53)" in result.stderr


def test_allows_loopback_in_subprocess(listener):
    result = _python("socket.create_connection(%r, 5).close()\n" % (listener,))
    assert result.returncode == 0, result.stderr
