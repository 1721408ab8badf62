"""docker_machine with the generic driver on real machine containers (systemd + sshd), over real SSH."""

from __future__ import annotations

import json
import os
import time

from ansible_collections.dockyard.machine.tests.e2e.conftest import docker_cli, recap, run_playbook
from ansible_collections.dockyard.machine.tests.support import bed


def test_generic_create_is_idempotent_checkable_and_removable(bed_key, tmp_path):
    key, pub = bed_key
    machine = bed.start_machine("gen1", "bookworm-docker", "127.0.0.31", pub)
    try:
        store = tmp_path / "store"
        results = tmp_path / "result.json"
        extra = {
            "machine": "gen1",
            "store_path": str(store),
            "generic": {"ip_address": machine.ip, "ssh_key": str(key)},
            "engine": {"source": "distro", "labels": ["role=test"]},
            "results_file": str(results),
        }

        planned = run_playbook("machine.yml", extra, check=True)
        assert planned.returncode == 0, planned.stdout + planned.stderr
        assert recap(planned.stdout)["changed"] == 1
        assert not (store / "machines").exists(), "check mode wrote to the store"

        started = time.monotonic()
        created = run_playbook("machine.yml", extra)
        elapsed = time.monotonic() - started
        assert created.returncode == 0, created.stdout + created.stderr
        print("generic create with Docker present, whole ansible-playbook run: %.1f s" % elapsed)
        result = json.loads(results.read_text())
        assert result["changed"] is True and result["status"] == "running"
        assert "server certificate" in result["steps"] and "restart engine" in result["steps"]
        assert "install engine" not in result["steps"]
        version = docker_cli(result["env"], "version", "--format", "{{.Server.Version}}")
        assert version.returncode == 0, version.stderr
        assert version.stdout.strip() == result["docker_version"]
        info = docker_cli(result["env"], "info", "--format", "{{json .Labels}}")
        assert "role=test" in info.stdout and "provider=generic" in info.stdout

        # On the host: the key is 0600, the drop-in is the original's, live-restore is on.
        assert machine.exec("stat", "-c", "%a", "/etc/docker/server-key.pem").stdout.strip() == "600"
        dropin = machine.exec("cat", "/etc/systemd/system/docker.service.d/10-machine.conf").stdout
        assert "ExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2376 -H unix:///var/run/docker.sock" in dropin
        assert json.loads(machine.exec("cat", "/etc/docker/daemon.json").stdout)["live-restore"] is True

        # In the store: the original's layout and modes, the host key pinned in the sidecar.
        machine_dir = store / "machines" / "gen1"
        config = json.loads((machine_dir / "config.json").read_text())
        assert config["Driver"]["IPAddress"] == machine.ip and config["Driver"]["SSHKeyPath"] == str(machine_dir / key.name)
        assert oct((machine_dir / key.name).stat().st_mode & 0o777) == "0o600"
        sidecar = json.loads((machine_dir / "dockyard-machine.json").read_text())
        assert sidecar["Status"] == "running" and sidecar["HostKeys"]

        again = run_playbook("machine.yml", extra)
        assert again.returncode == 0, again.stdout + again.stderr
        assert recap(again.stdout)["changed"] == 0, again.stdout
        checked = run_playbook("machine.yml", extra, check=True)
        assert recap(checked.stdout)["changed"] == 0, checked.stdout

        # A changed engine option is applied in place.
        extra["engine"]["labels"] = ["role=changed"]
        changed = run_playbook("machine.yml", extra)
        assert changed.returncode == 0, changed.stdout + changed.stderr
        assert "role=changed" in docker_cli(json.loads(results.read_text())["env"], "info", "--format", "{{json .Labels}}").stdout

        # Power: for a host we do not own, the engine is what stops and starts.
        stopped = run_playbook("machine.yml", dict(extra, machine_state="stopped"))
        assert stopped.returncode == 0 and recap(stopped.stdout)["changed"] == 1, stopped.stdout + stopped.stderr
        assert machine.exec("systemctl", "is-active", "docker").stdout.strip() == "inactive"
        assert recap(run_playbook("machine.yml", dict(extra, machine_state="stopped")).stdout)["changed"] == 0
        started_again = run_playbook("machine.yml", dict(extra, machine_state="started"))
        assert started_again.returncode == 0 and recap(started_again.stdout)["changed"] == 1, started_again.stdout
        assert docker_cli(json.loads(results.read_text())["env"], "version").returncode == 0
        assert recap(run_playbook("machine.yml", dict(extra, machine_state="started")).stdout)["changed"] == 0
        restarted = run_playbook("machine.yml", dict(extra, machine_state="restarted"))
        assert restarted.returncode == 0 and recap(restarted.stdout)["changed"] == 1

        removed = run_playbook("machine.yml", dict(extra, machine_state="absent", cleanup=True))
        assert removed.returncode == 0, removed.stdout + removed.stderr
        assert recap(removed.stdout)["changed"] == 1
        assert not machine_dir.exists()
        # cleanup=true took our configuration off the host; its engine runs on with the package defaults.
        assert machine.exec("test", "-e", "/etc/systemd/system/docker.service.d/10-machine.conf").returncode == 1
        assert machine.exec("test", "-e", "/etc/docker/server-key.pem").returncode == 1
        assert machine.exec("systemctl", "is-active", "docker").stdout.strip() == "active"
        gone = run_playbook("machine.yml", dict(extra, machine_state="absent"))
        assert recap(gone.stdout)["changed"] == 0
    finally:
        if not os.environ.get("DOCKYARD_KEEP_MACHINES"):
            bed.stop_machine("gen1")


def test_ssh_config_and_jump_hosts_are_honoured(bed_key, tmp_path):
    """No ssh_key option: the SSH client configuration names the key, the real host name and a bastion.

    The original ran ssh with -F /dev/null, so bastions could not work (its #1665, #3857).  Here the
    target's SSH is reached through the bastion by a name only the bastion can resolve, while the
    engine's TLS port is reached on the machine's address.
    """
    key, pub = bed_key
    bastion = bed.start_machine("bastion", "bookworm", "127.0.0.90", pub)
    target = bed.start_machine("jtarget", "bookworm-docker", "127.0.0.91", pub)
    try:
        # ssh finds ~/.ssh/config through the password database, not $HOME, so the test hands its
        # configuration over with generic.ssh_config rather than touching root's own file.
        ssh_config = tmp_path / "ssh_config"
        ssh_config.write_text(
            "Host %s\n  HostName %s\n  ProxyJump %s\n  User root\n  IdentityFile %s\n"
            "Host %s\n  User root\n  IdentityFile %s\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n"
            % (target.ip, target.container, bastion.ip, key, bastion.ip, key)
        )
        os.chmod(ssh_config, 0o600)
        store, results = tmp_path / "store", tmp_path / "result.json"
        extra = {"machine": "jtarget", "store_path": str(store), "generic": {"ip_address": target.ip, "ssh_config": str(ssh_config)},
                 "engine": {"source": "distro"}, "results_file": str(results)}
        done = run_playbook("machine.yml", extra)
        assert done.returncode == 0, done.stdout + done.stderr
        result = json.loads(results.read_text())
        assert result["docker_version"]
        config = json.loads((store / "machines" / "jtarget" / "config.json").read_text())
        assert config["Driver"]["SSHKeyPath"] == "" and config["Driver"]["SSHKey"] == ""
        # The bastion really carried the connection: its sshd logged the forwarding.
        journal = bastion.exec("journalctl", "-u", "ssh", "--no-pager").stdout
        assert "Accepted publickey for root" in journal
        # The record notes the configuration, but a later task that does not pass it does not use it (a shared
        # store must not choose what ssh runs here): without it there is no key, and the login is refused at once.
        unpassed = {k: v for k, v in extra.items() if k != "generic"}
        started = time.monotonic()
        refused = run_playbook("machine.yml", dict(unpassed, machine_state="restarted"))
        assert refused.returncode != 0 and "Permission denied" in refused.stdout, refused.stdout
        assert "did not pass" in refused.stdout + refused.stderr and str(ssh_config) in refused.stdout + refused.stderr
        assert time.monotonic() - started < 45, "a settled host that refuses the login must not be retried for the whole timeout"
        passed = run_playbook("machine.yml", dict(extra, machine_state="restarted"))
        assert passed.returncode == 0 and recap(passed.stdout)["changed"] == 1, passed.stdout + passed.stderr
        # Without that configuration the same task cannot log in (no key anywhere else).
        bare = dict(extra, store_path=str(tmp_path / "store2"), generic={"ip_address": target.ip})
        again = run_playbook("machine.yml", bare)
        assert again.returncode != 0 and "wait for SSH" in again.stdout
    finally:
        if not os.environ.get("DOCKYARD_KEEP_MACHINES"):
            bed.stop_machine("bastion")
            bed.stop_machine("jtarget")
