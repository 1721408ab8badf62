"""The roles on a machine of the store, reached through the inventory plugin as a non-root SSH user with become."""

from __future__ import annotations

import json
import subprocess

from ansible_collections.dockyard.machine.tests.e2e.conftest import REPO, recap, run_playbook
from ansible_collections.dockyard.machine.tests.support import bed

BASE_IMAGE = "role-webapp-base:1"
NON_ROOT = (
    "set -e; useradd -m -s /bin/bash admin; echo 'admin ALL=(ALL) NOPASSWD:ALL' >/etc/sudoers.d/admin; "
    "install -d -m 700 -o admin -g admin ~admin/.ssh; install -m 600 -o admin -g admin /root/.ssh/authorized_keys ~admin/.ssh/"
)


def test_roles_converge_a_machine_from_the_inventory_and_a_second_run_changes_nothing(bed_key, tmp_path):
    key, pub = bed_key
    bed.ensure_images("trixie-docker")
    subprocess.run(["bash", str(REPO / "tests/bed/webapp-base.sh"), BASE_IMAGE], check=True, capture_output=True, timeout=300)
    store = tmp_path / "store"
    inventory = tmp_path / "machines.docker_machine.yml"
    inventory.write_text("plugin: dockyard.machine.docker_machine\nstore_path: %s\n" % store)
    extra = {"machine": "role-e2e", "store_path": str(store), "base_image": BASE_IMAGE,
             "generic": {"ip_address": "127.0.0.213", "ssh_user": "admin", "ssh_key": str(key)}}
    with bed.machine("role-e2e", "trixie-docker", "127.0.0.213", pub) as machine:
        assert machine.exec("sh", "-c", NON_ROOT).returncode == 0
        first = run_playbook("roles.yml", extra, inventory=inventory)
        assert first.returncode == 0, first.stdout + first.stderr
        assert recap(first.stdout, "role-e2e")["changed"] > 0

        second = run_playbook("roles.yml", extra, inventory=inventory)
        assert second.returncode == 0, second.stdout + second.stderr
        assert recap(second.stdout, "role-e2e")["changed"] == 0, second.stdout
        assert recap(second.stdout, "localhost")["changed"] == 0, second.stdout

        ps = machine.exec("docker", "compose", "-p", "web", "ps", "--format", "json")
        (web,) = [json.loads(line) for line in ps.stdout.splitlines() if line.strip()]
        assert web["State"] == "running" and web["Health"] == "healthy"
        assert "docker" in machine.exec("id", "-nG", "admin").stdout.split()
        # The role kept the drop-in the module wrote: the engine still answers over TLS with the store's certificates.
        version = machine.exec("curl", "-fsS", "--cacert", "/etc/docker/ca.pem", "https://localhost:2376/version")
        assert version.returncode != 0  # no client certificate: refused
        dropin = machine.exec("cat", "/etc/systemd/system/docker.service.d/10-machine.conf").stdout
        assert "--tlsverify" in dropin and "--label purpose=roles-e2e" in dropin
