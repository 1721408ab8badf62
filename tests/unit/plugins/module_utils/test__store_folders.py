"""Folders and temporary files the collection leaves on disk: every folder it makes is private whatever the umask
(issue 15 item 9), and the temporary files of killed writers are removed by the next write (issue 15 item 11)."""

from __future__ import annotations

import fcntl
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils import _authority, _bundle, _docker_context, _store
from ansible_collections.dockyard.machine.plugins.module_utils._engine import TLSFiles


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _folders(top: Path, below: Path) -> dict[str, int]:
    """Every folder from ``top`` (excluded) down to and under ``below``, with its mode."""
    found = {}
    folder = below
    while folder != top:
        found[str(folder.relative_to(top))] = _mode(folder)
        folder = folder.parent
    for dirpath, dirnames, dummy in os.walk(below):
        for name in dirnames:
            path = Path(dirpath) / name
            found[str(path.relative_to(top))] = _mode(path)
    return found


@pytest.fixture
def umask_000():
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def test_every_folder_made_under_umask_000_is_private(tmp_path, fixture_store, umask_000):
    # The store, its parents, its certs/machines/.locks folders.
    store = _store.MachineStore(str(tmp_path / "home" / "deep" / "store"))
    _authority.ensure_certificates(store, org_user="umask")
    # A bundle exported into folders that do not exist yet.
    _bundle.export_to_file(_store.MachineStore(str(fixture_store)), str(tmp_path / "exports" / "today" / "m1.tar"), ["m1"])
    # A Docker context in a Docker configuration folder that does not exist yet (contexts/meta and contexts/tls).
    machine = fixture_store / "machines" / "m1"
    tls = TLSFiles(ca=str(machine / "ca.pem"), cert=str(machine / "cert.pem"), key=str(machine / "key.pem"))
    _docker_context.ensure_context("m1", "tcp://127.0.0.11:2376", tls, str(tmp_path / "docker" / "config"), False)

    made = {}
    for top in ("home", "exports", "docker"):
        made.update(_folders(tmp_path, tmp_path / top))
    assert "docker/config/contexts/meta" in made and "home/deep/store/.locks" in made
    assert {path: oct(mode) for path, mode in made.items() if mode != 0o700} == {}


def test_make_dirs_leaves_existing_folders_as_they_are(tmp_path, umask_000):
    (tmp_path / "shared").mkdir(mode=0o755)
    os.chmod(tmp_path / "shared", 0o755)
    _store.make_dirs(str(tmp_path / "shared" / "a" / "b"))
    assert _mode(tmp_path / "shared") == 0o755
    assert _mode(tmp_path / "shared" / "a") == 0o700 and _mode(tmp_path / "shared" / "a" / "b") == 0o700


# --- temporary files of killed writers ----------------------------------------------------------------------

WRITER = """
import sys
from ansible_collections.dockyard.machine.plugins.module_utils._store import atomic_write
path, size = sys.argv[1], int(sys.argv[2])
print("ready", flush=True)
count = 0
while True:
    count += 1
    atomic_write(path, (b"%d" % count) * (size // len(b"%d" % count)))
"""


def _writer(target: Path, size: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target), str(size)], stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    return proc


def test_temp_files_of_killed_writers_are_removed_by_the_next_write(tmp_path):
    target = tmp_path / "store" / "machines" / "m1" / "config.json"
    target.parent.mkdir(parents=True)
    neighbour = target.parent / ".keep.tmp"  # not ours: a name without our prefix is never touched
    neighbour.write_bytes(b"x")
    kills, left = 0, []
    while kills < 30 or not left:  # at least 30 kills, the last one inside a write (it left its temporary file)
        assert kills < 300, "no kill landed inside a write; the test proved nothing"
        proc = _writer(target, 256 * 1024)
        time.sleep(0.002 * (kills % 10))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        left = [p.name for p in target.parent.iterdir() if p.name not in ("config.json", ".keep.tmp")]

    assert _store.atomic_write(str(target), b"after %d kills" % kills) is True
    assert sorted(p.name for p in target.parent.iterdir()) == [".keep.tmp", "config.json"]
    assert all(name.startswith(".dockyard-tmp.config.json.") for name in left), left
    assert target.read_bytes() == b"after %d kills" % kills and neighbour.read_bytes() == b"x"


def test_a_live_writers_temp_file_is_left_alone(tmp_path):
    folder = tmp_path / "certs"
    folder.mkdir()
    busy = folder / (_store.TEMP_PREFIX + "ca.pem.abc123")
    busy.write_bytes(b"half")
    fd = os.open(busy, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what a writer holds until its rename
        _store.atomic_write(str(folder / "cert.pem"), b"cert")
        assert busy.exists()
    finally:
        os.close(fd)
    _store.atomic_write(str(folder / "key.pem"), b"key")
    assert sorted(p.name for p in folder.iterdir()) == ["cert.pem", "key.pem"]


def test_a_writer_at_work_is_never_disturbed_by_sweeps(tmp_path):
    # One process writes without pause while this one sweeps the same folder: every write lands, and the file is
    # always whole.
    target = tmp_path / "f" / "config.json"
    target.parent.mkdir()
    proc = _writer(target, 64 * 1024)
    try:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            _store.sweep_temp_files(str(target.parent))
        assert proc.poll() is None, "the writer failed while sweeps ran"
    finally:
        proc.kill()
        proc.wait()


def test_temp_files_an_earlier_version_left_are_removed_once_they_are_old(tmp_path):
    folder = tmp_path / "machines" / "m1"
    folder.mkdir(parents=True)
    (folder / "config.json").write_bytes(b"{}")
    old = folder / ".config.json.k3j_9x0a.tmp"  # what the earlier atomic_write's mkstemp named its files
    fresh = folder / ".config.json.abcdefgh.tmp"  # may be an earlier version's writer at work
    orphan = folder / ".notes.k3j_9x0a.tmp"  # not next to the file it would be for: not ours to judge
    for path in (old, fresh, orphan):
        path.write_bytes(b"half")
    hours_ago = time.time() - 2 * 3600
    for path in (old, orphan):
        os.utime(path, (hours_ago, hours_ago))
    _store.atomic_write(str(folder / "dockyard-machine.json"), b"{}")
    assert sorted(p.name for p in folder.iterdir()) == [".config.json.abcdefgh.tmp", ".notes.k3j_9x0a.tmp", "config.json", "dockyard-machine.json"]
