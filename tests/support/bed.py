"""The test bed from Python: machine images and machine containers for end-to-end tests.

A thin layer over ``tests/bed/images.sh`` and ``tests/bed/machines.sh`` (read those for how
machines are made); a failing script raises :class:`BedError` with its output.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import typing as t
from dataclasses import dataclass
from pathlib import Path

BED = Path(__file__).resolve().parents[1] / "bed"
IMAGE_REPO = "dockyard/machine"
ALL_IMAGES = ("bookworm", "trixie", "bookworm-docker", "trixie-docker")

# A machine's host key is new on every start, so it is never pinned here; the tests that are about
# host keys pass their own known_hosts file.
SSH_OPTIONS = (
    "-o", "BatchMode=yes",
    "-o", "IdentitiesOnly=yes",
    "-o", "ConnectTimeout=10",
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "LogLevel=ERROR",
)


class BedError(RuntimeError):
    """A test bed script failed."""


def _script(script: str, *args: str, timeout: float) -> str:
    argv = ["bash", str(BED / script), *args]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise BedError("%s timed out after %.0f s" % (" ".join(argv[1:]), timeout)) from exc
    if proc.returncode != 0:
        raise BedError("%s failed (exit %d):\n%s%s" % (" ".join(argv[1:]), proc.returncode, proc.stdout, proc.stderr))
    return proc.stdout


def image_ref(image: str) -> str:
    """``bookworm`` -> ``dockyard/machine:bookworm``; a full reference is kept as it is."""
    return image if ":" in image or "/" in image else "%s:%s" % (IMAGE_REPO, image)


def ensure_images(*names: str, timeout: float = 1800) -> None:
    """Build the named images (all of them when none is named) unless they are current.

    Cached images cost one ``docker image inspect`` each; a build from scratch takes minutes.
    """
    for name in names or ("all",):
        _script("images.sh", "build", name, timeout=timeout)


@dataclass(frozen=True)
class Machine:
    name: str
    ip: str
    container: str

    def ssh(self, key: Path, command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``command`` as root over SSH with ``key``; the caller checks the result."""
        argv = ["ssh", *SSH_OPTIONS, "-i", str(key), "root@%s" % self.ip, command]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)

    def exec(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` in the machine with ``docker exec`` (no SSH involved)."""
        return subprocess.run(["docker", "exec", self.container, *argv], capture_output=True, text=True, timeout=timeout, check=False)


def container_name(name: str) -> str:
    return "dockyard-%s" % name


def start_machine(name: str, image: str, ip: str, pubkey: Path | None = None, timeout: float = 180, ports: t.Sequence[int] = ()) -> Machine:
    """Start machine ``name`` from ``image`` on loopback address ``ip``; return once root can log in.

    ``ports`` are relayed from ``ip`` too, besides 22 and 2376 (services the machine runs).
    A leftover machine of that name (from a run that crashed) is removed first.
    """
    stop_machine(name)
    args = ["start", name, image_ref(image), ip]
    if pubkey is not None:
        args += ["--key", str(pubkey)]
    for port in ports:
        args += ["--port", str(port)]
    _script("machines.sh", *args, timeout=timeout)
    return Machine(name=name, ip=ip, container=container_name(name))


def stop_machine(name: str) -> None:
    """Remove machine ``name`` and its volumes; no error when there is none."""
    _script("machines.sh", "stop", name, timeout=120)


def move_machine(name: str, new_ip: str, timeout: float = 120) -> Machine:
    """The same running machine (files, processes, host keys) answers on ``new_ip`` instead."""
    _script("machines.sh", "restart-on", name, new_ip, timeout=timeout)
    return Machine(name=name, ip=new_ip, container=container_name(name))


def machine_ip(name: str) -> str:
    return _script("machines.sh", "ip", name, timeout=60).strip()


def remove_all_machines() -> None:
    _script("machines.sh", "rm-all", timeout=300)


@contextlib.contextmanager
def machine(name: str, image: str, ip: str, pubkey: Path | None = None) -> t.Iterator[Machine]:
    """A machine for the length of a ``with`` block."""
    try:
        yield start_machine(name, image, ip, pubkey)
    finally:
        stop_machine(name)


def ssh_keypair(directory: Path, name: str = "id_ed25519") -> tuple[Path, Path]:
    """An ed25519 key pair in ``directory`` (made once, reused after): ``(private, public)``."""
    private = directory / name
    public = directory / (name + ".pub")
    if not (private.exists() and public.exists()):
        directory.mkdir(parents=True, exist_ok=True)
        for path in (private, public):
            path.unlink(missing_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dockyard-test-bed", "-f", str(private)],
                       check=True, capture_output=True, timeout=60)
    # ssh refuses a private key that others can read.
    os.chmod(private, 0o600)
    return private, public
