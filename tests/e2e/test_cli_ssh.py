"""dockyard-machine ssh, scp (and upgrade, mount) as scripts call them, on real machine containers over real SSH.

The machine names start with ``clissh-`` and the machines listen on 127.0.0.141-142 only: other end-to-end
files run at the same time on the same test bed.
"""

from __future__ import annotations

import os
import typing as t
from dataclasses import dataclass
from pathlib import Path

import pytest

from ansible_collections.dockyard.machine.tests.e2e.test_cli import dm
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
