"""Swarm mode across machines of the store: playbooks/swarm.yml, deploy_stack.yml in swarm mode, a worker leaving,
quorum refusal, the store's CA rotated under a running cluster, teardown.

Three test bed machines (Debian 13 with docker.io) become machines of a store (tests/e2e/playbooks/fleet.yml, in
parallel) and reach the playbooks through the inventory plugin. Swarm traffic between them goes over the bed's Docker
network; the controller talks to 127.0.17.x only. The kernel here has no IPVS, so the stack publishes its port in
host mode with endpoint_mode dnsrr (DESIGN §9).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ansible_collections.dockyard.machine.tests.e2e.conftest import REPO, recap, run_playbook
from ansible_collections.dockyard.machine.tests.support import bed

NODES = [("sw1", "127.0.17.1"), ("sw2", "127.0.17.2"), ("sw3", "127.0.17.3")]
PORT = 8080
BASE_IMAGE = "role-webapp-base:1"
STACK = {
    "stack_name": "web", "stack_mode": "swarm", "stack_hosts": "sw1,sw2,sw3", "stack_images": [BASE_IMAGE], "stack_replicas": 3,
    "stack_update_config": {"parallelism": 1, "delay": "1s", "order": "stop-first"},
    "stack_definition": {"services": {"web": {
        "image": BASE_IMAGE,
        # The page names the task's container, so that a rolled task is seen.
        "command": ["/bin/sh", "-c", "echo task $$HOSTNAME >/www/index.html && exec /bin/httpd -f -p %d -h /www" % PORT],
        "ports": [{"target": PORT, "published": PORT, "protocol": "tcp", "mode": "host"}],
        "deploy": {"endpoint_mode": "dnsrr"},
    }}},
}


def _playbook(name: str, extra: dict, inventory: Path) -> subprocess.CompletedProcess:
    return run_playbook(str(REPO / "playbooks" / name), extra, inventory=inventory, forks=5)


def _ok(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert done.returncode == 0, done.stdout + done.stderr
    # Join tokens never reach the output.
    assert "SWMTKN-" not in done.stdout + done.stderr
    return done


def _changed(done: subprocess.CompletedProcess, hosts=("sw1", "sw2", "sw3")) -> int:
    return sum(recap(done.stdout, host)["changed"] for host in hosts if "\n%s " % host in "\n" + done.stdout)


def _nodes(manager: bed.Machine) -> dict[str, dict]:
    ids = manager.exec("docker", "node", "ls", "-q").stdout.split()
    return {n["Description"]["Hostname"]: n for n in json.loads(manager.exec("docker", "node", "inspect", *ids).stdout)}


def _answer(ip: str) -> str:
    with urllib.request.urlopen("http://%s:%d/" % (ip, PORT), timeout=3) as response:
        return response.read().decode().strip()


def _wait_answers(ips: list[str], timeout: float = 60) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return {ip: _answer(ip) for ip in ips}
        except (OSError, urllib.error.URLError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_machines_become_a_cluster_run_a_stack_and_leave_without_losing_it(bed_key, tmp_path):
    key, pub = bed_key
    bed.ensure_images("trixie-docker")
    subprocess.run(["bash", str(REPO / "tests/bed/webapp-base.sh"), BASE_IMAGE], check=True, capture_output=True, timeout=300)
    store = tmp_path / "store"
    fleet = tmp_path / "fleet.ini"
    fleet.write_text("[fleet]\n" + "".join("%s machine_ip=%s ansible_connection=local\n" % node for node in NODES)
                     + "\n[fleet:vars]\nstore_path=%s\nssh_key=%s\n" % (store, key))
    inventory = tmp_path / "machines.docker_machine.yml"
    inventory.write_text("plugin: dockyard.machine.docker_machine\nstore_path: %s\n" % store)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=3) as pool:
        machines = list(pool.map(lambda n: bed.start_machine(n[0], "trixie-docker", n[1], pub, ports=(PORT,)), NODES))
    sw1, sw2, sw3 = machines
    try:
        assert run_playbook("fleet.yml", {}, inventory=fleet, forks=5).returncode == 0

        # Three machines of the store -> one cluster (sw1 manages it), then a stack answering on every node.
        swarm = {"swarm_hosts": "sw1,sw2,sw3", "swarm_managers": "sw1", "swarm_labels": "{sw2: {zone: b}}"}
        formed = _ok(_playbook("swarm.yml", swarm, inventory))
        assert _changed(formed) > 0
        deployed = _ok(_playbook("deploy_stack.yml", STACK, inventory))
        first = _wait_answers([m.ip for m in machines])
        print("three bare machines to a stack answering on every node: %.1f s" % (time.monotonic() - started))
        assert all(answer.startswith("task ") for answer in first.values()) and len(set(first.values())) == 3
        nodes = _nodes(sw1)
        assert sorted(nodes) == ["sw1", "sw2", "sw3"] and {n["Status"]["State"] for n in nodes.values()} == {"ready"}
        assert nodes["sw1"]["Spec"]["Role"] == "manager" and nodes["sw3"]["Spec"]["Role"] == "worker"
        assert nodes["sw2"]["Spec"]["Labels"] == {"zone": "b"}
        # The stack's file on the manager got the replicas and update settings; each node loaded the shipped image.
        assert "replicas: 3" in sw1.exec("cat", "/opt/compose/web/compose.stack.yaml").stdout
        for machine in machines:
            assert machine.exec("docker", "image", "inspect", BASE_IMAGE).returncode == 0

        # A second run of both changes nothing.
        assert _changed(_ok(_playbook("swarm.yml", swarm, inventory))) == 0
        again = _ok(_playbook("deploy_stack.yml", STACK, inventory))
        assert _changed(again) == 0, again.stdout
        assert _changed(deployed) > 0

        # A rolling restart: every task replaced, one node at a time; requests keep going to all three nodes meanwhile.
        failures = {"requests": 0, "failed": 0, "none_answered": 0}
        stop = threading.Event()

        def poll() -> None:
            while not stop.is_set():
                answered = 0
                for machine in machines:
                    failures["requests"] += 1
                    try:
                        _answer(machine.ip)
                        answered += 1
                    except (OSError, urllib.error.URLError):
                        failures["failed"] += 1
                failures["none_answered"] += answered == 0
                time.sleep(0.1)

        poller = threading.Thread(target=poll)
        poller.start()
        try:
            restarted = _ok(_playbook("deploy_stack.yml", dict(STACK, stack_state="restarted"), inventory))
        finally:
            stop.set()
            poller.join()
        print("rolling restart: %(failed)d of %(requests)d requests failed; rounds where no node answered: %(none_answered)d" % failures)
        assert _changed(restarted) > 0 and failures["none_answered"] == 0
        rolled = _wait_answers([m.ip for m in machines])
        assert not set(rolled.values()) & set(first.values())

        # Scale down to two replicas, then the worker sw3 leaves: drained (its task moves), gone from the node list.
        _ok(_playbook("deploy_stack.yml", dict(STACK, stack_replicas=2), inventory))
        left = _ok(_playbook("swarm.yml", dict(swarm, swarm_leaving="sw3"), inventory))
        assert "Drain" in left.stdout
        assert sorted(_nodes(sw1)) == ["sw1", "sw2"]
        assert sw3.exec("docker", "info", "--format", "{{.Swarm.LocalNodeState}}").stdout.strip() == "inactive"
        assert len(set(_wait_answers([sw1.ip, sw2.ip]).values())) == 2
        assert _changed(_ok(_playbook("swarm.yml", dict(swarm, swarm_leaving="sw3"), inventory))) == 0

        # The only manager may not leave while sw2 stays: refused before anything changes, naming the variable.
        refused = _playbook("swarm.yml", {"swarm_hosts": "sw1,sw2", "swarm_leaving": "sw1"}, inventory)
        assert refused.returncode != 0 and "swarm_cluster_allow_quorum_loss" in refused.stdout, refused.stdout
        assert sorted(_nodes(sw1)) == ["sw1", "sw2"]

        # The store's CA rotated (every machine's server certificate re-issued over SSH): Swarm's own TLS is untouched.
        rotated = run_playbook(str(REPO / "playbooks" / "rotate_ca.yml"), {"rotate_force": True, "rotate_store_path": str(store)},
                               inventory=inventory)
        assert rotated.returncode == 0 and recap(rotated.stdout)["changed"] > 0, rotated.stdout + rotated.stderr
        deadline = time.monotonic() + 60
        while {n["Status"]["State"] for n in _nodes(sw1).values()} != {"ready"} and time.monotonic() < deadline:
            time.sleep(1)
        assert {name: n["Status"]["State"] for name, n in _nodes(sw1).items()} == {"sw1": "ready", "sw2": "ready"}
        assert len(_wait_answers([sw1.ip, sw2.ip])) == 2

        # Teardown: sw2 leaves through its manager, then sw1 dissolves what is left; the store is empty.
        teardown = {"teardown_machines": "sw2 sw3", "teardown_swarm_managers": "sw1", "teardown_store_path": str(store)}
        _ok(_playbook("teardown.yml", teardown, inventory))
        assert sorted(_nodes(sw1)) == ["sw1"]
        _ok(_playbook("teardown.yml", {"teardown_machines": "sw1", "teardown_store_path": str(store)}, inventory))
        assert sw1.exec("docker", "info", "--format", "{{.Swarm.LocalNodeState}}").stdout.strip() == "inactive"
        assert not list((store / "machines").iterdir())
    finally:
        if not os.environ.get("DOCKYARD_KEEP_MACHINES"):
            with ThreadPoolExecutor(max_workers=3) as pool:
                list(pool.map(bed.stop_machine, [name for name, dummy in NODES]))
