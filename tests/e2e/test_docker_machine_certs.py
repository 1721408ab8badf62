"""docker_machine_certs on a real machine: re-issue without stopping containers, follow an address change, rotate."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from ansible_collections.dockyard.machine.tests.e2e.conftest import docker_cli, recap, run_playbook
from ansible_collections.dockyard.machine.tests.support import bed, return_docs

# A container image built inside the machine from its own /usr/bin/sleep: no registry needed.
TINY_IMAGE = (
    "set -e; rm -rf /tmp/tiny; mkdir -p /tmp/tiny; cd /tmp/tiny; "
    "for f in /usr/bin/sleep $(ldd /usr/bin/sleep | grep -o '/[^ ]*'); do mkdir -p .$(dirname $f); cp -L $f .$f; done; "
    "tar -c . | docker import -c 'CMD [\"/usr/bin/sleep\", \"infinity\"]' - tiny >/dev/null"
)


def _create(store: Path, name: str, ip: str, key: Path, results: Path) -> dict:
    extra = {"machine": name, "store_path": str(store), "generic": {"ip_address": ip, "ssh_key": str(key)},
             "engine": {"source": "distro"}, "results_file": str(results)}
    done = run_playbook("machine.yml", extra)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(results.read_text())


def _certs(store: Path, results: Path, **extra) -> tuple[subprocess.CompletedProcess, dict]:
    done = run_playbook("certs.yml", dict(extra, store_path=str(store), results_file=str(results)), check=extra.pop("check", False))
    assert done.returncode == 0, done.stdout + done.stderr
    return done, json.loads(results.read_text())


def test_regenerate_keeps_containers_running_and_follows_a_new_address(bed_key, tmp_path):
    key, pub = bed_key
    machine = bed.start_machine("cert1", "bookworm-docker", "127.0.0.51", pub)
    try:
        store, results = tmp_path / "store", tmp_path / "result.json"
        created = _create(store, "cert1", machine.ip, key, results)
        built = machine.exec("sh", "-c", TINY_IMAGE)
        assert built.returncode == 0, built.stderr
        # No restart policy: only live-restore can keep it through an engine restart.
        run = docker_cli(created["env"], "run", "-d", "--name", "keeper", "tiny")
        assert run.returncode == 0, run.stderr
        started_at = docker_cli(created["env"], "inspect", "-f", "{{.State.StartedAt}}", "keeper").stdout.strip()

        report = _certs(store, results)[1]["certificates"]
        entry = report["machines"][0]
        assert entry["name"] == "cert1" and entry["address_covered"] is True and entry["needs_reissue"] is False
        assert report["ca"]["expires_in_days"] >= 1078

        old_cert = (store / "machines" / "cert1" / "server.pem").read_bytes()
        started = time.monotonic()
        done, result = _certs(store, results, machines=["cert1"], certs_action="regenerate", force=True)
        print("certificate regeneration, whole ansible-playbook run: %.1f s" % (time.monotonic() - started))
        assert recap(done.stdout)["changed"] == 1
        assert "cert1: server certificate" in result["steps"]
        assert (store / "machines" / "cert1" / "server.pem").read_bytes() != old_cert
        state = docker_cli(created["env"], "inspect", "-f", "{{.State.Running}} {{.State.StartedAt}}", "keeper").stdout.split()
        assert state == ["true", started_at], "the container was stopped or restarted by the regeneration"
        again = _certs(store, results, machines=["cert1"], certs_action="regenerate")[0]
        assert recap(again.stdout)["changed"] == 0

        # The machine comes back on another address: the old certificate does not cover it.
        moved = bed.move_machine("cert1", "127.0.0.52")
        planned, plan = _certs(store, results, machines=["cert1"], certs_action="regenerate", ip_address=moved.ip, check=True)
        assert recap(planned.stdout)["changed"] == 1 and "cert1: address" in plan["steps"]
        assert json.loads((store / "machines" / "cert1" / "config.json").read_text())["Driver"]["IPAddress"] == "127.0.0.51"
        done, result = _certs(store, results, machines=["cert1"], certs_action="regenerate", ip_address=moved.ip)
        assert recap(done.stdout)["changed"] == 1
        entry = result["certificates"]["machines"][0]
        assert entry["address"] == "127.0.0.52" and entry["address_covered"] is True
        env = dict(created["env"], DOCKER_HOST="tcp://127.0.0.52:2376")
        assert docker_cli(env, "inspect", "-f", "{{.State.Running}}", "keeper").stdout.strip() == "true"
    finally:
        if not os.environ.get("DOCKYARD_KEEP_MACHINES"):
            bed.stop_machine("cert1")


def _pem_files(store: Path) -> dict[str, bytes]:
    return {str(p.relative_to(store)): p.read_bytes() for p in sorted(store.rglob("*.pem"))}


def test_rotate_is_all_or_nothing_and_leaves_the_engines_own_certificates_alone(bed_key, engine_store, tmp_path):
    key, pub = bed_key
    machines = [bed.start_machine(name, "bookworm-docker", ip, pub) for name, ip in (("rot1", "127.0.0.53"), ("rot2", "127.0.0.54"))]
    try:
        store, results = tmp_path / "store", tmp_path / "result.json"
        envs = {m.name: _create(store, m.name, m.ip, key, results)["env"] for m in machines}
        # A machine of driver none that brought its engine's own CA and client certificate.
        own = engine_store.root / "certs"
        registered = run_playbook("machine.yml", {
            "machine": "own", "store_path": str(store), "machine_driver": "none", "results_file": str(results),
            "none_driver": {"url": engine_store.engine.url, "ca_cert": str(own / "ca.pem"), "client_cert": str(own / "cert.pem"),
                            "client_key": str(own / "key.pem")},
        })
        assert registered.returncode == 0, registered.stdout + registered.stderr
        envs["own"] = json.loads(results.read_text())["env"]
        not_due = _certs(store, results, certs_action="rotate")[0]
        assert recap(not_due.stdout)["changed"] == 0

        before = _pem_files(store)
        done, result = _certs(store, results, certs_action="rotate", force=True)
        assert recap(done.stdout)["changed"] == 1, done.stdout
        rotated = result
        after = _pem_files(store)
        assert after["certs/ca.pem"] != before["certs/ca.pem"]
        assert {"rot1: server certificate", "rot2: server certificate"} <= set(result["steps"])
        assert result["failed_machines"] == [] and result["skipped_machines"] == ["own"]
        backup = Path(result["ca_backup"])
        assert backup.parent == store / "certs" and (backup / "ca.pem").read_bytes() == before["certs/ca.pem"]
        assert {k: v for k, v in after.items() if k.startswith("machines/own/")} == {k: v for k, v in before.items() if k.startswith("machines/own/")}
        for name in ("rot1", "rot2", "own"):
            answered = docker_cli(envs[name], "version", "--format", "{{.Server.Version}}")
            assert answered.returncode == 0, (name, answered.stderr)
        for machine in machines:
            assert after["machines/%s/ca.pem" % machine.name] == after["certs/ca.pem"]
            verify = subprocess.run(["openssl", "verify", "-CAfile", str(store / "certs" / "ca.pem"), str(store / "machines" / machine.name / "server.pem")],
                                    capture_output=True, text=True, check=False)
            assert verify.returncode == 0, verify.stdout + verify.stderr

        # rot2 goes away: a rotation now changes nothing, and says so at once instead of waiting out the timeout.
        bed.stop_machine("rot2")
        before = _pem_files(store)
        started = time.monotonic()
        refused, result = _certs(store, results, certs_action="rotate", force=True, expect_failure=True)
        elapsed = time.monotonic() - started
        print("rotation refused with one host down, whole ansible-playbook run: %.1f s" % elapsed)
        assert result["failed"] is True and result["failed_machines"] == ["rot2"] and result["changed"] is False, result
        assert "Nothing was rotated" in result["msg"] and "allow_partial=true" in result["msg"]
        assert elapsed < 30, "the timeout is 60 s per host; a refused connection must fail at once"
        assert _pem_files(store) == before
        assert docker_cli(envs["rot1"], "version", "--format", "{{.Server.Version}}").returncode == 0

        # With allow_partial the others switch; rot2 keeps its old files until it is re-issued.
        done, result = _certs(store, results, certs_action="rotate", force=True, allow_partial=True)
        assert recap(done.stdout)["changed"] == 1 and result["failed_machines"] == ["rot2"]
        after = _pem_files(store)
        assert after["certs/ca.pem"] != before["certs/ca.pem"] and after["machines/rot1/ca.pem"] == after["certs/ca.pem"]
        assert after["machines/rot2/ca.pem"] == before["machines/rot2/ca.pem"]
        assert docker_cli(envs["rot1"], "version", "--format", "{{.Server.Version}}").returncode == 0
        assert "rot2 was not re-issued" in done.stdout + done.stderr
        assert return_docs.compare("docker_machine_certs", [rotated, result]) == (set(), set(), set())
    finally:
        if not os.environ.get("DOCKYARD_KEEP_MACHINES"):
            for machine in machines:
                bed.stop_machine(machine.name)
