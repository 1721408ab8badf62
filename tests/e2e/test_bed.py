"""The test bed itself: machines boot, take our key, have their own host keys, move and go away.

The other end-to-end tests trust these properties, so they are checked on real machine containers.
Addresses used here: 127.0.0.21 to 127.0.0.24.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path

import pytest

from ansible_collections.dockyard.machine.tests.support import bed


@pytest.fixture(scope="module")
def key(tmp_path_factory) -> tuple[Path, Path]:
    return bed.ssh_keypair(tmp_path_factory.mktemp("bed-key"))


def _host_key(ip: str) -> str:
    """The ed25519 host key sshd presents on ip:22, as the client sees it."""
    out = subprocess.run(["ssh-keyscan", "-t", "ed25519", "-T", "10", ip], capture_output=True, text=True, timeout=30, check=True)
    keys = [line.split(None, 1)[1] for line in out.stdout.splitlines() if line and not line.startswith("#")]
    assert len(keys) == 1, out.stdout + out.stderr
    return keys[0]


def _containers(name: str) -> list[str]:
    out = subprocess.run(["docker", "ps", "-aq", "--filter", "name=^/dockyard-%s(-relay)?$" % name],
                         capture_output=True, text=True, timeout=60, check=True)
    return out.stdout.split()


def _refused(ip: str) -> bool:
    out = subprocess.run(["ssh-keyscan", "-T", "5", ip], capture_output=True, text=True, timeout=30, check=False)
    return not out.stdout.strip()


def test_two_machines_log_in_with_the_key_and_have_their_own_host_keys(key):
    private, public = key
    bed.ensure_images("bookworm")
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        one = stack.enter_context(bed.machine("bedtest1", "bookworm", "127.0.0.21", public))
        two = stack.enter_context(bed.machine("bedtest2", "bookworm", "127.0.0.22", public))
        for machine in (one, two):
            result = machine.ssh(private, "hostname")
            assert result.returncode == 0, result.stderr
            assert result.stdout.strip() == machine.name
            # Key logins only: sshd must refuse a password.
            sshd = machine.exec("sshd", "-T").stdout
            assert "passwordauthentication no" in sshd
            assert "permitrootlogin without-password" in sshd  # sshd -T's name for prohibit-password
        assert _host_key(one.ip) != _host_key(two.ip)

        # Moving a machine keeps everything but the address: files, processes and host keys.
        host_key = _host_key(one.ip)
        assert one.ssh(private, "echo kept > /root/marker && (sleep 600 >/dev/null 2>&1 &)").returncode == 0
        moved = bed.move_machine(one.name, "127.0.0.23")
        assert bed.machine_ip(one.name) == "127.0.0.23"
        assert _refused("127.0.0.21")
        result = moved.ssh(private, "cat /root/marker && pgrep -x sleep")
        assert result.returncode == 0, result.stderr
        assert result.stdout.split()[0] == "kept"
        assert _host_key(moved.ip) == host_key
    assert _containers("bedtest1") == [] and _containers("bedtest2") == []
    assert time.monotonic() - started < 120


def test_docker_image_has_a_working_engine(key):
    private, public = key
    bed.ensure_images("bookworm-docker")
    with bed.machine("bedtest3", "bookworm-docker", "127.0.0.24", public) as machine:
        result = machine.ssh(private, "docker version --format '{{.Server.Version}}'")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().startswith("20.10.")
        # Nothing is preset: TLS and the daemon's settings are the collection's job.
        assert machine.exec("test", "-e", "/etc/docker/daemon.json").returncode != 0
    assert _containers("bedtest3") == []


@pytest.mark.parametrize("image", ["bookworm", "bookworm-docker"])
def test_images_carry_nothing_that_must_differ_between_machines(image):
    """Host keys, machine-id, journal and engine 20.10's ID (/etc/docker/key.json) are made on each machine."""
    bed.ensure_images(image)
    check = "test ! -s /etc/machine-id && ! ls /etc/ssh/ssh_host_* && test ! -e /etc/docker/key.json && test -z \"$(ls -A /var/log/journal)\""
    result = subprocess.run(["docker", "run", "--rm", "--network", "none", "--entrypoint", "sh", bed.image_ref(image), "-c", check],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
