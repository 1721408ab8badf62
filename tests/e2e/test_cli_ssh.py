"""dockyard-machine ssh, scp (and upgrade, mount) as scripts call them, on real machine containers over real SSH.

The machine names start with ``clissh-`` and the machines listen on 127.0.0.141-143 only: other end-to-end
files run at the same time on the same test bed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import typing as t
from dataclasses import dataclass
from pathlib import Path

import pytest

from ansible_collections.dockyard.machine.tests.e2e.conftest import run_playbook
from ansible_collections.dockyard.machine.tests.e2e.test_cli import cli_env, dm, shell
from ansible_collections.dockyard.machine.tests.support import bed


@dataclass
class Pair:
    store: Path
    a: bed.Machine
    b: bed.Machine


ADD_BOB = "useradd -m -s /bin/bash bob && install -d -o bob -m 700 /home/bob/.ssh && install -o bob -m 600 /root/.ssh/authorized_keys /home/bob/.ssh/"


@pytest.fixture(scope="module")
def pair(bed_key, tmp_path_factory) -> t.Iterator[Pair]:
    """Two machines made with ``create -d generic``; each also has a user bob who logs in with the same key."""
    key, pub = bed_key
    store = tmp_path_factory.mktemp("clissh") / "store"
    names = ("clissh-a", "clissh-b")
    try:
        machines = [bed.start_machine(name, "bookworm-docker", ip, pub) for name, ip in zip(names, ("127.0.0.141", "127.0.0.142"))]
        for machine in machines:
            created = dm(store, "create", "-d", "generic", "--generic-ip-address", machine.ip, "--generic-ssh-key", str(key), machine.name)
            assert created.returncode == 0, created.stdout + created.stderr
            added = machine.exec("sh", "-c", ADD_BOB)
            assert added.returncode == 0, added.stderr
        yield Pair(store, *machines)
    finally:
        if not os.environ.get("DOCKYARD_KEEP_MACHINES"):
            for name in names:
                bed.stop_machine(name)


def test_ssh_passes_ssh_options_through_and_runs_the_command(pair):
    """Issue 16 item 1: the words after the name are ssh options up to the command (or --), as in the original."""
    store, name = pair.store, pair.a.name
    ended = dm(store, "ssh", name, "--", "echo", "-n", "hi")
    assert (ended.returncode, ended.stdout) == (0, "hi"), ended.stderr
    compressed = dm(store, "ssh", name, "-C", "echo", "compressed")
    assert (compressed.returncode, compressed.stdout) == (0, "compressed\n"), compressed.stderr
    option = dm(store, "ssh", name, "-o", "ServerAliveInterval=7", "-oConnectTimeout=5", "echo", "ok")
    assert (option.returncode, option.stdout) == (0, "ok\n"), option.stderr
    # An option ssh acts on: -v makes it say what it does, on stderr.
    verbose = dm(store, "ssh", name, "-v", "--", "true")
    assert verbose.returncode == 0 and "debug1:" in verbose.stderr, verbose.stderr
    assert dm(store, "ssh", name, "exit 3").returncode == 3
    # -l logs in as that user, not over the record user's shared connection (issue 15 item 10, the ssh side).
    bob = dm(store, "ssh", name, "-l", "bob", "whoami")
    assert (bob.returncode, bob.stdout) == (0, "bob\n"), bob.stderr
    assert dm(store, "ssh", name, "-o", "User=bob", "--", "whoami").stdout == "bob\n"
    assert dm(store, "ssh", name, "whoami").stdout == "root\n"


def test_ssh_refuses_options_that_would_undo_the_pinned_host_key(pair):
    pinned = (pair.store / "machines" / pair.a.name / "dockyard-machine.json").read_bytes()
    refused = dm(pair.store, "ssh", pair.a.name, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "true")
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == "The ssh option -o StrictHostKeyChecking is not offered: the machine's host key is pinned in its record and always checked.\n"
    assert (pair.store / "machines" / pair.a.name / "dockyard-machine.json").read_bytes() == pinned


def test_scp_as_another_user_runs_as_that_user(pair, tmp_path):
    """Issue 15 item 10: USER@machine: copies as USER (the record user's shared connection is not reused)."""
    local = tmp_path / "note.txt"
    local.write_text("for bob\n")
    up = dm(pair.store, "scp", str(local), "bob@%s:/tmp/bob-note" % pair.a.name)
    assert up.returncode == 0, up.stderr
    assert pair.a.exec("stat", "-c", "%U %s", "/tmp/bob-note").stdout == "bob 8\n"
    pair.a.exec("sh", "-c", "echo private > /root/only-root && chmod 600 /root/only-root")
    denied = dm(pair.store, "scp", "bob@%s:/root/only-root" % pair.a.name, str(tmp_path / "got"))
    assert denied.returncode != 0 and not (tmp_path / "got").exists()
    assert dm(pair.store, "scp", "%s:/root/only-root" % pair.a.name, str(tmp_path / "got")).returncode == 0
    assert (tmp_path / "got").read_text() == "private\n"


def test_scp_copies_from_one_machine_to_another(pair):
    """Issue 16 item 8: machine1:path machine2:path, files and (with -r) folders, each side as its own user."""
    a, b = pair.a.name, pair.b.name
    copied = dm(pair.store, "scp", "%s:/etc/hostname" % a, "%s:/tmp/from-a" % b)
    assert copied.returncode == 0, copied.stdout + copied.stderr
    assert pair.b.exec("cat", "/tmp/from-a").stdout == pair.a.exec("cat", "/etc/hostname").stdout
    pair.a.exec("sh", "-c", "mkdir -p /tmp/tree/sub && echo leaf > /tmp/tree/sub/f")
    tree = dm(pair.store, "scp", "-r", "%s:/tmp/tree" % a, "bob@%s:/home/bob/" % b)
    assert tree.returncode == 0, tree.stderr
    assert pair.b.exec("stat", "-c", "%U", "/home/bob/tree/sub/f").stdout == "bob\n"
    assert pair.b.exec("cat", "/home/bob/tree/sub/f").stdout == "leaf\n"
    missing = dm(pair.store, "scp", "%s:/nonexistent" % a, "%s:/tmp/x" % b)
    assert missing.returncode != 0 and "No such file" in missing.stderr
    assert pair.b.exec("test", "-e", "/tmp/x").returncode == 1


def test_mount_names_the_package_to_install_where_sshfs_is_missing(pair, tmp_path):
    """Issue 16 item 9: without sshfs on PATH, the original's message and the package that brings it."""
    bare = tmp_path / "bin"
    bare.mkdir()
    program = shutil.which("dockyard-machine")
    assert program
    (bare / "dockyard-machine").symlink_to(program)
    missing = dm(pair.store, "mount", "%s:/etc" % pair.a.name, str(tmp_path / "mnt"), PATH=str(bare))
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr == (
        "You must have a copy of the sshfs binary locally to use the mount feature: install the package sshfs "
        "(Debian, Ubuntu: apt-get install sshfs; Fedora, RHEL: dnf install fuse-sshfs).\n"
    )


@pytest.mark.skipif(shutil.which("sshfs") is None or not os.path.exists("/dev/fuse"), reason="sshfs or /dev/fuse is missing (make integration installs sshfs)")
def test_mount_and_unmount_a_machines_folder_with_sshfs(pair, tmp_path):
    """Issue 16 item 9: mount NAME:path localdir through sshfs (the host key pinned), then mount -u."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    pair.a.exec("sh", "-c", "mkdir -p /srv/share && echo shared > /srv/share/f && chown -R bob /srv/share")
    out, err = tmp_path / "out", tmp_path / "err"
    # sshfs goes on in the background: its output goes to files, not to pipes a test would wait on.
    with open(out, "w") as stdout, open(err, "w") as stderr:
        mounted = subprocess.run(["dockyard-machine", "mount", "bob@%s:/srv/share" % pair.a.name, str(mnt)], stdout=stdout, stderr=stderr,
                                 stdin=subprocess.DEVNULL, env=cli_env(pair.store), timeout=120, check=False)
    assert mounted.returncode == 0, err.read_text()
    try:
        assert os.path.ismount(mnt)
        assert (mnt / "f").read_text() == "shared\n"
        (mnt / "from-controller").write_text("hello\n")
        assert pair.a.exec("stat", "-c", "%U", "/srv/share/from-controller").stdout == "bob\n"
    finally:
        unmounted = dm(pair.store, "mount", "-u", "%s:/srv/share" % pair.a.name, str(mnt))
    assert unmounted.returncode == 0, unmounted.stderr
    assert not os.path.ismount(mnt)


def test_upgrade_upgrades_the_engine_from_its_install_source_within_its_pin(bed_key, tmp_path):
    """Issue 16 item 9: upgrade NAME runs the provisioner's install from the record's source (Debian's packages here)
    within the record's version pin, then restarts the engine, which answers over TLS afterwards."""
    key, pub = bed_key
    name = "clissh-c"
    machine = bed.start_machine(name, "bookworm-docker", "127.0.0.143", pub)
    store = tmp_path / "store"
    try:
        extra = {
            "machine": name,
            "store_path": str(store),
            "generic": {"ip_address": machine.ip, "ssh_key": str(key)},
            "engine": {"source": "distro", "version": "20.10"},
            "results_file": str(tmp_path / "result.json"),
        }
        created = run_playbook("machine.yml", extra)
        assert created.returncode == 0, created.stdout + created.stderr
        version = ["dpkg-query", "-W", "-f", "${Version}", "docker.io"]
        installed = machine.exec(*version).stdout
        # The package database now says an older docker.io is installed: Debian's archive has an upgrade for it.
        older = machine.exec("sed", "-i", "/^Package: docker.io$/,/^Version:/ s/^Version: .*/Version: 20.10.5+dfsg1-1/", "/var/lib/dpkg/status")
        assert older.returncode == 0 and machine.exec(*version).stdout == "20.10.5+dfsg1-1"

        upgraded = dm(store, "upgrade", name, timeout=900)
        assert (upgraded.returncode, upgraded.stdout) == (0, "Upgrading docker...\nRestarting docker...\n"), upgraded.stderr
        assert machine.exec(*version).stdout == installed
        answered = shell(store, 'eval "$(dockyard-machine env %s)" && docker version --format "{{.Server.Version}}"' % name)
        assert answered.returncode == 0 and installed.startswith(answered.stdout.strip()), answered.stderr

        # The pin is the record's: one no package version matches is apt's error, and the engine is left as it was.
        extra["engine"]["version"] = "1.0"
        repinned = run_playbook("machine.yml", extra)
        assert repinned.returncode == 0, repinned.stdout + repinned.stderr
        refused = dm(store, "upgrade", name, timeout=900)
        assert refused.returncode == 1 and "Version '1.0*' for 'docker.io' was not found" in refused.stderr, refused.stderr
        assert machine.exec(*version).stdout == installed
    finally:
        if not os.environ.get("DOCKYARD_KEEP_MACHINES"):
            bed.stop_machine(name)
