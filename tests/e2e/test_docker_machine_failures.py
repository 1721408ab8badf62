"""Failures on real parts: a create killed mid-way, bad input, unreachable hosts, moving a machine between stores."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineStore
from ansible_collections.dockyard.machine.tests.e2e.conftest import PLAYBOOKS, REPO, docker_cli, recap, run_playbook
from ansible_collections.dockyard.machine.tests.support import bed, return_docs
from ansible_collections.dockyard.machine.tests.support.silent_port import silent_port


def _extra(store: Path, name: str, ip: str, key: Path, results: Path, **more) -> dict:
    return dict({"machine": name, "store_path": str(store), "generic": {"ip_address": ip, "ssh_key": str(key)},
                 "engine": {"source": "distro"}, "results_file": str(results)}, **more)


def test_a_create_killed_mid_way_resumes(bed_key, tmp_path):
    key, pub = bed_key
    machine = bed.start_machine("kill1", "bookworm", "127.0.0.81", pub)  # no Docker: the install takes a while
    try:
        store, results = tmp_path / "store", tmp_path / "result.json"
        extra = _extra(store, "kill1", machine.ip, key, results)
        env = dict(os.environ)
        for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            env.pop(name, None)
        proc = subprocess.Popen(["ansible-playbook", str(PLAYBOOKS / "machine.yml"), "-e", json.dumps(extra)],
                                cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        # Kill the whole run (ansible and the module) once the engine install is under way on the host.
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and machine.exec("pgrep", "-f", "apt-get").returncode != 0:
            assert proc.poll() is None, "the create ended before it could be killed"
            time.sleep(0.5)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        sidecar = json.loads((store / "machines" / "kill1" / "dockyard-machine.json").read_text())
        assert sidecar["Status"] == "creating"
        assert MachineStore(str(store)).load("kill1").ip_address == machine.ip
        # The host's package manager may still be finishing; the re-run waits for its locks.
        resumed = run_playbook("machine.yml", extra)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        result = json.loads(results.read_text())
        assert result["status"] == "running"
        assert docker_cli(result["env"], "version").returncode == 0
        again = run_playbook("machine.yml", extra)
        assert recap(again.stdout)["changed"] == 0
    finally:
        if not os.environ.get("DOCKYARD_KEEP_MACHINES"):
            bed.stop_machine("kill1")


@pytest.mark.parametrize("name", ["../x", "a/b", "bad_name", "-lead"])
def test_invalid_names_fail_before_anything_is_written(tmp_path, name):
    store, results = tmp_path / "store", tmp_path / "result.json"
    done = run_playbook("machine.yml", _extra(store, name, "127.0.0.1", Path("/nonexistent"), results))
    assert done.returncode != 0
    assert "Invalid machine name" in done.stdout and "'name'" in done.stdout
    assert not store.exists() and not (tmp_path / "x").exists()


def test_unreachable_host_fails_within_the_timeout_and_leaves_a_loadable_store(bed_key, tmp_path):
    key = bed_key[0]
    store, results = tmp_path / "store", tmp_path / "result.json"
    # A port that accepts connections and never speaks: SSH waits for a banner that never comes.
    with silent_port() as port:
        extra = _extra(store, "dark", "127.0.0.1", key, results)
        extra["generic"]["ssh_port"] = port
        started = time.monotonic()
        done = run_playbook("machine.yml", extra)
        elapsed = time.monotonic() - started
    assert done.returncode != 0
    assert "wait for SSH" in done.stdout
    assert elapsed < 150, "the failure took %.0f s" % elapsed
    record = MachineStore(str(store)).load("dark")
    assert record.sidecar["Status"] == "error" and record.sidecar["LastError"]["Step"] == "wait for SSH"
    removed = run_playbook("machine.yml", dict(extra, machine_state="absent"))
    assert removed.returncode == 0 and not (store / "machines" / "dark").exists()


def test_wrong_key_is_a_clear_error(bed_key, tmp_path):
    pub = bed_key[1]
    other_key = bed.ssh_keypair(tmp_path / "other")[0]
    machine = bed.start_machine("wrongkey", "bookworm-docker", "127.0.0.82", pub)
    try:
        store, results = tmp_path / "store", tmp_path / "result.json"
        done = run_playbook("machine.yml", _extra(store, "wrongkey", machine.ip, other_key, results))
        assert done.returncode != 0
        assert "Permission denied" in done.stdout and "wait for SSH" in done.stdout
        records, errors = MachineStore(str(store)).load_all()
        assert [r.name for r in records] == ["wrongkey"] and errors == []
    finally:
        bed.stop_machine("wrongkey")


def test_missing_key_file_and_malformed_neighbours(tmp_path):
    store, results = tmp_path / "store", tmp_path / "result.json"
    (store / "machines" / "broken").mkdir(parents=True)
    (store / "machines" / "broken" / "config.json").write_text('{"ConfigVersion": 3, "Dri')
    done = run_playbook("machine.yml", _extra(store, "nokey", "127.0.0.1", tmp_path / "missing_key", results))
    assert done.returncode != 0
    assert "SSH key does not exist" in done.stdout and "generic.ssh_key" in done.stdout
    assert not (store / "machines" / "nokey").exists()
    listing = subprocess.run(["ansible", "localhost", "-m", "dockyard.machine.docker_machine_info", "-a", "store_path=%s timeout=1" % store],
                             capture_output=True, text=True, timeout=120, check=False, cwd=REPO)
    assert listing.returncode == 0 and "not valid JSON" in listing.stdout


def test_a_machine_moves_to_another_store_and_is_reached_from_there(bed_key, tmp_path):
    key, pub = bed_key
    machine = bed.start_machine("mover", "bookworm-docker", "127.0.0.83", pub)
    try:
        store_a, store_b, results = tmp_path / "a" / "machine", tmp_path / "elsewhere" / "b", tmp_path / "result.json"
        created = run_playbook("machine.yml", _extra(store_a, "mover", machine.ip, key, results))
        assert created.returncode == 0, created.stdout + created.stderr
        extra = {"store_a": str(store_a), "store_b": str(store_b), "machine": "mover", "bundle": str(tmp_path / "mover.bundle"),
                 "passphrase": "correct horse battery staple", "results_file": str(results)}
        moved = run_playbook("move_store.yml", extra)
        assert moved.returncode == 0, moved.stdout + moved.stderr
        assert "correct horse" not in moved.stdout
        returned = json.loads(results.read_text())
        env_b = returned["env_b"]
        assert return_docs.compare("docker_machine_bundle", [returned["exported"], returned["imported"]]) == (set(), set(), set())
        assert env_b["env"]["DOCKER_CERT_PATH"] == str(store_b / "machines" / "mover")
        assert env_b["docker_version"]
        assert docker_cli(env_b["env"], "version", "--format", "{{.Server.Version}}").stdout.strip() == env_b["docker_version"]
        config = (store_b / "machines" / "mover" / "config.json").read_text()
        assert str(store_a) not in config
        again = run_playbook("move_store.yml", extra)
        assert recap(again.stdout)["changed"] == 0, again.stdout
    finally:
        bed.stop_machine("mover")


def test_a_changed_host_key_is_refused_until_reset(bed_key, tmp_path):
    """The first contact pins the host key; a host rebuilt on the same address is refused, then re-pinned on request."""
    key, pub = bed_key
    store, results = tmp_path / "store", tmp_path / "result.json"
    extra = _extra(store, "pinned", "127.0.0.84", key, results)
    bed.start_machine("pinned", "bookworm-docker", "127.0.0.84", pub)
    try:
        created = run_playbook("machine.yml", extra)
        assert created.returncode == 0, created.stdout + created.stderr
        pinned = json.loads((store / "machines" / "pinned" / "dockyard-machine.json").read_text())["HostKeys"]
        bed.start_machine("pinned", "bookworm-docker", "127.0.0.84", pub)  # rebuilt: new host keys, same address
        refused = run_playbook("machine.yml", extra)
        assert refused.returncode != 0
        assert "not the one pinned" in refused.stdout and "ssh_host_key_reset" in refused.stdout
        reset = run_playbook("machine.yml", dict(extra, ssh_host_key_reset=True))
        assert reset.returncode == 0, reset.stdout + reset.stderr
        repinned = json.loads((store / "machines" / "pinned" / "dockyard-machine.json").read_text())["HostKeys"]
        assert repinned and repinned != pinned
    finally:
        bed.stop_machine("pinned")
