"""Many machines at once: one play with forks on an empty store makes one CA and every machine answers."""

from __future__ import annotations

import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ansible_collections.dockyard.machine.tests.e2e.conftest import docker_cli, recap, run_playbook
from ansible_collections.dockyard.machine.tests.support import bed

FLEET = [("fleet%d" % n, "127.0.0.%d" % (60 + n)) for n in range(1, 11)]


def _inventory(path: Path, hosts: list[tuple[str, str]], store: Path, key: Path) -> Path:
    lines = ["[fleet]"] + ["%s machine_ip=%s ansible_connection=local" % (name, ip) for name, ip in hosts]
    lines += ["", "[fleet:vars]", "store_path=%s" % store, "ssh_key=%s" % key]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_ten_machines_in_one_play_share_one_ca(bed_key, tmp_path):
    key, pub = bed_key
    with ThreadPoolExecutor(max_workers=4) as pool:
        machines = list(pool.map(lambda m: bed.start_machine(m[0], "bookworm-docker", m[1], pub), FLEET))
    try:
        store = tmp_path / "store"
        inventory = _inventory(tmp_path / "fleet.ini", FLEET, store, key)
        started = time.monotonic()
        done = run_playbook("fleet.yml", {}, inventory=inventory, forks=10)
        elapsed = time.monotonic() - started
        assert done.returncode == 0, done.stdout + done.stderr
        print("10 generic machines in one play (forks=10): %.1f s" % elapsed)
        assert sorted(os.listdir(store / "certs")) == ["ca-key.pem", "ca.pem", "cert.pem", "key.pem"]
        ca = (store / "certs" / "ca.pem").read_bytes()
        for machine in machines:
            machine_dir = store / "machines" / machine.name
            assert (machine_dir / "ca.pem").read_bytes() == ca
            verify = subprocess.run(["openssl", "verify", "-CAfile", str(store / "certs" / "ca.pem"), str(machine_dir / "server.pem")],
                                    capture_output=True, text=True, check=False)
            assert verify.returncode == 0, verify.stdout + verify.stderr
            env = {"DOCKER_HOST": "tcp://%s:2376" % machine.ip, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(machine_dir)}
            version = docker_cli(env, "version", "--format", "{{.Server.Version}}")
            assert version.returncode == 0, (machine.name, version.stderr)
            assert json.loads((machine_dir / "dockyard-machine.json").read_text())["Status"] == "running"
        again = run_playbook("fleet.yml", {}, inventory=inventory, forks=10)
        assert again.returncode == 0 and sum(recap(again.stdout, host)["changed"] for host, dummy in FLEET) == 0, again.stdout
    finally:
        if not os.environ.get("DOCKYARD_KEEP_MACHINES"):
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(bed.stop_machine, [name for name, dummy in FLEET]))
