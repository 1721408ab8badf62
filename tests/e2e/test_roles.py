"""provision_generic.yml and deploy_stack.yml: the roles on a machine of the store, reached through the inventory
plugin as a non-root SSH user with become."""

from __future__ import annotations

import json
import subprocess

from ansible_collections.dockyard.machine.tests.e2e.conftest import REPO, docker_cli, recap, run_playbook
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
    provision = {"provision_store_path": str(store), "provision_engine_source": "distro", "provision_engine_labels": ["purpose=roles-e2e"],
                 "provision_docker_users": ["admin"],
                 "provision_machines": [{"name": "role-e2e", "ip_address": "127.0.0.213", "ssh_user": "admin", "ssh_key": str(key)}]}
    stack = {"stack_name": "web", "stack_images": [BASE_IMAGE], "stack_definition": {"services": {"web": {
        "image": BASE_IMAGE, "pull_policy": "never", "command": ["/bin/httpd", "-f", "-p", "8080", "-h", "/bin"],
        "healthcheck": {"test": ["CMD", "/bin/wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/busybox"], "interval": "2s", "retries": 15},
    }}}}

    def run_both() -> list[subprocess.CompletedProcess]:
        done = []
        for playbook, extra in (("provision_generic.yml", provision), ("deploy_stack.yml", stack)):
            done.append(run_playbook(str(REPO / "playbooks" / playbook), extra, inventory=inventory))
            assert done[-1].returncode == 0, done[-1].stdout + done[-1].stderr
        return done

    with bed.machine("role-e2e", "trixie-docker", "127.0.0.213", pub) as machine:
        assert machine.exec("sh", "-c", NON_ROOT).returncode == 0
        provisioned, deployed = run_both()
        assert recap(provisioned.stdout, "role-e2e")["changed"] > 0 and recap(deployed.stdout, "role-e2e")["changed"] > 0
        assert "web-web-1: Up" in deployed.stdout

        again = run_both()
        for done in again:
            assert recap(done.stdout, "role-e2e")["changed"] == 0, done.stdout
        assert recap(again[0].stdout, "localhost")["changed"] == 0, again[0].stdout

        started = machine.exec("docker", "inspect", "-f", "{{.State.StartedAt}}", "web-web-1").stdout
        restarted = run_playbook(str(REPO / "playbooks" / "deploy_stack.yml"), dict(stack, stack_state="restarted"), inventory=inventory)
        assert restarted.returncode == 0 and recap(restarted.stdout, "role-e2e")["changed"] > 0, restarted.stdout + restarted.stderr
        assert machine.exec("docker", "inspect", "-f", "{{.State.StartedAt}}", "web-web-1").stdout != started

        ps = machine.exec("docker", "compose", "-p", "web", "ps", "--format", "json")
        (web,) = [json.loads(line) for line in ps.stdout.splitlines() if line.strip()]
        assert web["State"] == "running" and web["Health"] == "healthy"
        assert "docker" in machine.exec("id", "-nG", "admin").stdout.split()
        # The role kept the drop-in the module wrote: the engine answers over TLS with the store's client certificate only.
        tls = docker_cli({"DOCKER_HOST": "tcp://127.0.0.213:2376", "DOCKER_TLS_VERIFY": "1",
                          "DOCKER_CERT_PATH": str(store / "machines" / "role-e2e")}, "ps", "--format", "{{.Names}}")
        assert tls.returncode == 0 and tls.stdout.split() == ["web-web-1"], tls.stderr
        refused = machine.exec("curl", "-fsS", "--cacert", "/etc/docker/ca.pem", "https://localhost:2376/version")
        assert refused.returncode != 0
        dropin = machine.exec("cat", "/etc/systemd/system/docker.service.d/10-machine.conf").stdout
        assert "--tlsverify" in dropin and "--label purpose=roles-e2e" in dropin

        # Certificates are fresh: regenerate_certs.yml and rotate_ca.yml (not forced) change nothing.
        for playbook, extra in (("regenerate_certs.yml", {"certs_store_path": str(store)}), ("rotate_ca.yml", {"rotate_store_path": str(store)})):
            done = run_playbook(str(REPO / "playbooks" / playbook), extra, inventory=inventory)
            assert done.returncode == 0 and recap(done.stdout)["changed"] == 0, done.stdout + done.stderr

        # teardown.yml: the stack down, the machine out of the store, our engine configuration off the host; then nothing.
        teardown = {"teardown_machines": ["role-e2e"], "teardown_stacks": ["web"], "teardown_cleanup": True, "teardown_store_path": str(store)}
        removed = run_playbook(str(REPO / "playbooks" / "teardown.yml"), teardown, inventory=inventory)
        assert removed.returncode == 0, removed.stdout + removed.stderr
        assert recap(removed.stdout, "role-e2e")["changed"] > 0 and recap(removed.stdout)["changed"] > 0
        assert not (store / "machines" / "role-e2e").exists()
        assert machine.exec("docker", "ps", "-aq", "--filter", "label=com.docker.compose.project=web").stdout.strip() == ""
        assert machine.exec("test", "-e", "/etc/systemd/system/docker.service.d/10-machine.conf").returncode != 0
        again = run_playbook(str(REPO / "playbooks" / "teardown.yml"), teardown, inventory=inventory)
        assert again.returncode == 0 and recap(again.stdout)["changed"] == 0, again.stdout + again.stderr
