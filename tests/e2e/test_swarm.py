"""Swarm mode across machines of the store: provision_generic.yml, playbooks/swarm.yml, deploy_stack.yml in swarm mode,
`dockyard-machine create --swarm` and `ls`'s SWARM column, scaling, a rolling restart behind a load balancer, a worker
leaving, quorum refusal, the store's CA rotated under a running cluster, teardown.

Three test bed machines (Debian 13 with docker.io) become machines of a store through provision_generic.yml and reach
the playbooks through the inventory plugin; a fourth joins with the command line. Swarm traffic between them goes over
the bed's Docker network; the controller talks to 127.0.17.x only. The kernel here has no IPVS, so the stack publishes
its port in host mode with endpoint_mode dnsrr (DESIGN §9).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import typing as t
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ansible_collections.dockyard.machine.tests.e2e.conftest import REPO, recap, run_playbook
from ansible_collections.dockyard.machine.tests.support import bed

NODES = [("sw1", "127.0.17.1"), ("sw2", "127.0.17.2"), ("sw3", "127.0.17.3")]
JOINER = ("sw4", "127.0.17.4")
PORT = 8080
BASE_IMAGE = "role-webapp-base:1"
# Seconds a stopping task keeps serving after it fails its health check (the load balancer notices within a check).
DRAIN = 2
# The page names the task's container, so that a rolled task is seen. On SIGTERM (Swarm stopping the task) the task
# first fails its health check, keeps serving for DRAIN seconds, then stops: the graceful shutdown a load balancer
# with health checks needs (roles/compose_stack/README.md, "Rolling restarts behind a load balancer").
SERVE = (
    "echo task $$HOSTNAME >/www/index.html && echo ok >/www/health && /bin/httpd -f -p %d -h /www & pid=$$!; "
    "trap 'rm -f /www/health; sleep %d; kill $$pid' TERM; wait $$pid; wait $$pid" % (PORT, DRAIN)
)
STACK = {
    "stack_name": "web", "stack_mode": "swarm", "stack_hosts": "sw1,sw2,sw3", "stack_images": [BASE_IMAGE], "stack_replicas": 3,
    "stack_update_config": {"parallelism": 1, "delay": "2s", "order": "stop-first"},
    "stack_definition": {"services": {"web": {
        "image": BASE_IMAGE,
        "command": ["/bin/sh", "-c", SERVE],
        "ports": [{"target": PORT, "published": PORT, "protocol": "tcp", "mode": "host"}],
        # Swarm counts a new task as running once it is healthy, and only then stops the next one.
        "healthcheck": {"test": ["CMD", "/bin/wget", "-q", "-O", "/dev/null", "http://127.0.0.1:%d/health" % PORT],
                        "interval": "1s", "timeout": "2s", "retries": 2},
        "stop_grace_period": "10s",
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


def _get(ip: str, path: str = "/", timeout: float = 3) -> str:
    with urllib.request.urlopen("http://%s:%d%s" % (ip, PORT, path), timeout=timeout) as response:
        return response.read().decode().strip()


def _answers(ips: list[str]) -> dict[str, str]:
    """What each node's port answers now ("" for no answer)."""
    found = {}
    for ip in ips:
        try:
            found[ip] = _get(ip)
        except (OSError, urllib.error.URLError):
            found[ip] = ""
    return found


def _wait_answers(ips: list[str], timeout: float = 60, count: int | None = None) -> dict[str, str]:
    """Once ``count`` of the nodes (all by default) answer with a task's page, the answers of those that do."""
    deadline = time.monotonic() + timeout
    while True:
        found = {ip: text for ip, text in _answers(ips).items() if text.startswith("task ")}
        if len(found) == (len(ips) if count is None else count):
            return found
        assert time.monotonic() < deadline, "answers after %d s: %s" % (timeout, found)
        time.sleep(0.5)


def _cli(store: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, MACHINE_STORAGE_PATH=str(store))
    return subprocess.run(["dockyard-machine", *args], capture_output=True, text=True, env=env, timeout=300, check=False)


def _swarm_column(store: Path) -> dict[str, str]:
    listed = _cli(store, "ls", "--format", "{{.Name}}|{{.Swarm}}")
    assert listed.returncode == 0, listed.stderr
    return dict(line.split("|", 1) for line in listed.stdout.splitlines())


class Balancer:
    """A load balancer in front of every node's published port, as users run one: an active health check per node
    (GET /health every 0.2 s; out of service after one failure, back after two successes) and requests sent round robin
    to the nodes in service, never retried. A request that fails, or that finds no node in service, counts as failed."""

    def __init__(self, ips: list[str], serving: t.Iterable[str]) -> None:
        self.ips = ips
        self.serving = sorted(serving)
        self.passes = {ip: 0 for ip in ips}
        self.requests = self.failed = self.taken_out = 0
        # What happened when, for the report of a failure: (seconds, node, what).
        self.events: list[tuple[float, str, str]] = []
        self.started = time.monotonic()
        self.stop = threading.Event()
        self.checkers = [threading.Thread(target=self._check, args=(ip,)) for ip in ips]
        self.server = threading.Thread(target=self._serve)

    def in_service(self) -> list[str]:
        return sorted(ip for ip in self.ips if self.passes[ip] >= 2)

    def _check(self, ip: str) -> None:
        while not self.stop.is_set():
            try:
                healthy = _get(ip, "/health", timeout=1) == "ok"
            except (OSError, urllib.error.URLError):
                healthy = False
            if not healthy and self.passes[ip] >= 2:
                self.taken_out += 1
                self._event(ip, "out of service")
            if healthy and self.passes[ip] == 1:
                self._event(ip, "in service")
            self.passes[ip] = self.passes[ip] + 1 if healthy else 0
            self.stop.wait(0.2)

    def _serve(self) -> None:
        turn = 0
        while not self.stop.is_set():
            nodes = self.in_service()
            self.requests += 1
            if not nodes:
                self.failed += 1
                self._event("-", "no node in service")
            else:
                turn += 1
                node = nodes[turn % len(nodes)]
                try:
                    answer = _get(node)
                except (OSError, urllib.error.URLError) as exc:
                    answer = "%s" % exc
                if not answer.startswith("task "):
                    self.failed += 1
                    self._event(node, "failed: %s" % answer)
            self.stop.wait(0.02)

    def _event(self, ip: str, what: str) -> None:
        self.events.append((round(time.monotonic() - self.started, 2), ip, what))

    def __enter__(self) -> Balancer:
        """Health checks first; requests once the nodes that serve (``serving``) are in service, as a warmed-up balancer."""
        for thread in self.checkers:
            thread.start()
        deadline = time.monotonic() + 30
        while self.in_service() != self.serving:
            if time.monotonic() > deadline:
                self.__exit__()
                raise AssertionError("in service after 30 s: %s, not %s" % (self.in_service(), self.serving))
            time.sleep(0.1)
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.checkers + [self.server]:
            if thread.is_alive():
                thread.join()


def test_machines_become_a_cluster_run_a_stack_and_leave_without_losing_it(bed_key, tmp_path):
    key, pub = bed_key
    bed.ensure_images("trixie-docker")
    subprocess.run(["bash", str(REPO / "tests/bed/webapp-base.sh"), BASE_IMAGE], check=True, capture_output=True, timeout=300)
    store = tmp_path / "store"
    inventory = tmp_path / "machines.docker_machine.yml"
    inventory.write_text("plugin: dockyard.machine.docker_machine\nstore_path: %s\n" % store)
    provision = {"provision_store_path": str(store), "provision_engine_source": "distro", "provision_hosts": "sw1,sw2,sw3",
                 "provision_machines": [{"name": name, "ip_address": ip, "ssh_key": str(key)} for name, ip in NODES]}
    ips = [ip for dummy, ip in NODES]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=3) as pool:
        machines = list(pool.map(lambda n: bed.start_machine(n[0], "trixie-docker", n[1], pub, ports=(PORT,)), NODES))
    sw1, sw2, sw3 = machines
    try:
        # Three bare machines -> machines of the store with docker_host (provision_generic.yml) -> one cluster (sw1 manages
        # it) -> a stack answering on every node.
        provisioned = _ok(_playbook("provision_generic.yml", provision, inventory))
        provision_time = time.monotonic() - started
        swarm = {"swarm_hosts": "sw1,sw2,sw3", "swarm_managers": "sw1", "swarm_labels": "{sw2: {zone: b}}"}
        formed = _ok(_playbook("swarm.yml", swarm, inventory))
        assert _changed(formed) > 0
        deployed = _ok(_playbook("deploy_stack.yml", STACK, inventory))
        first = _wait_answers(ips)
        print("three bare machines to a stack answering on every node: %.1f s (provision_generic.yml %.1f s)"
              % (time.monotonic() - started, provision_time))
        assert _changed(provisioned) > 0 and recap(provisioned.stdout)["changed"] > 0
        assert all(answer.startswith("task ") for answer in first.values()) and len(set(first.values())) == 3
        nodes = _nodes(sw1)
        assert sorted(nodes) == ["sw1", "sw2", "sw3"] and {n["Status"]["State"] for n in nodes.values()} == {"ready"}
        assert nodes["sw1"]["Spec"]["Role"] == "manager" and nodes["sw3"]["Spec"]["Role"] == "worker"
        assert nodes["sw2"]["Spec"]["Labels"] == {"zone": "b"}
        # The stack's file on the manager got the replicas and update settings; each node loaded the shipped image.
        assert "replicas: 3" in sw1.exec("cat", "/opt/compose/web/compose.stack.yaml").stdout
        for machine in machines:
            assert machine.exec("docker", "image", "inspect", BASE_IMAGE).returncode == 0
        # `ls` names the manager in the SWARM column.
        assert _swarm_column(store) == {"sw1": "sw1 (manager)", "sw2": "sw1", "sw3": "sw1"}

        # A second run of each changes nothing.
        assert _changed(_ok(_playbook("provision_generic.yml", provision, inventory))) == 0
        assert _changed(_ok(_playbook("swarm.yml", swarm, inventory))) == 0
        again = _ok(_playbook("deploy_stack.yml", STACK, inventory))
        assert _changed(again) == 0, again.stdout
        assert _changed(deployed) > 0

        # Scale up: a fourth machine joins with the command line (`create --swarm`), the stack goes to four replicas on
        # four nodes, then back to three.
        name4, ip4 = JOINER
        sw4 = bed.start_machine(name4, "trixie-docker", ip4, pub, ports=(PORT,))
        created = _cli(store, "create", "-d", "generic", "--generic-ip-address", ip4, "--generic-ssh-key", str(key), "--swarm",
                       "--swarm-addr", "eth0", name4)
        assert created.returncode == 0, created.stdout + created.stderr
        assert "Joined the Swarm-mode cluster that sw1 manages, as a worker." in created.stdout and "SWMTKN-" not in created.stdout
        assert sw4.exec("docker", "info", "--format", "{{.Swarm.LocalNodeState}} {{.LiveRestoreEnabled}}").stdout.split() == ["active", "false"]
        assert _swarm_column(store)["sw4"] == "sw1"
        four = dict(STACK, stack_hosts="sw1,sw2,sw3,sw4", stack_replicas=4)
        _ok(_playbook("deploy_stack.yml", four, inventory))
        assert len(set(_wait_answers(ips + [ip4]).values())) == 4
        _ok(_playbook("deploy_stack.yml", dict(four, stack_replicas=3), inventory))
        running = sw1.exec("docker", "service", "ps", "--filter", "desired-state=running", "--format", "{{.Node}}", "web_web").stdout.split()
        assert len(running) == 3 and len(set(running)) == 3, running
        serving = _wait_answers(ips + [ip4], count=3)

        # A rolling restart behind the load balancer: every task replaced, one node at a time, each drained first.
        with Balancer(ips + [ip4], serving) as balancer:
            restarted = _ok(_playbook("deploy_stack.yml", dict(four, stack_replicas=3, stack_state="restarted"), inventory))
            time.sleep(1)
        print("rolling restart behind a load balancer: %d of %d requests failed; nodes taken out of service: %d"
              % (balancer.failed, balancer.requests, balancer.taken_out))
        assert _changed(restarted, ("sw1", "sw2", "sw3", "sw4")) > 0
        tasks = sw1.exec("docker", "service", "ps", "--format", "{{.Name}} {{.Node}} {{.CurrentState}} {{.Error}}", "web_web").stdout
        assert balancer.failed == 0 and balancer.taken_out >= 3 and balancer.requests > 100, "%s\n%s" % (balancer.events, tasks)
        rolled = _wait_answers(ips + [ip4], count=3)
        assert len(set(rolled.values())) == 3 and not set(rolled.values()) & set(serving.values())

        # The worker sw4 leaves and goes (teardown.yml through its manager sw1): drained, so any task it ran moves to
        # another node, removed from the node list and from the store.
        teardown = {"teardown_machines": "sw4", "teardown_swarm_managers": "sw1", "teardown_store_path": str(store)}
        left = _ok(_playbook("teardown.yml", teardown, inventory))
        assert "Drain" in left.stdout
        assert sorted(_nodes(sw1)) == ["sw1", "sw2", "sw3"] and not (store / "machines" / name4).exists()
        assert sw4.exec("docker", "info", "--format", "{{.Swarm.LocalNodeState}}").stdout.strip() == "inactive"
        assert len(set(_wait_answers(ips).values())) == 3

        # The only manager may not leave while the workers stay: refused before anything changes, naming the variable.
        refused = _playbook("swarm.yml", {"swarm_hosts": "sw1,sw2,sw3", "swarm_leaving": "sw1"}, inventory)
        assert refused.returncode != 0 and "swarm_cluster_allow_quorum_loss" in refused.stdout, refused.stdout
        assert sorted(_nodes(sw1)) == ["sw1", "sw2", "sw3"]

        # The store's CA rotated (every machine's server certificate re-issued over SSH): Swarm's own TLS is untouched.
        rotated = run_playbook(str(REPO / "playbooks" / "rotate_ca.yml"), {"rotate_force": True, "rotate_store_path": str(store)},
                               inventory=inventory)
        assert rotated.returncode == 0 and recap(rotated.stdout)["changed"] > 0, rotated.stdout + rotated.stderr
        deadline = time.monotonic() + 60
        while {n["Status"]["State"] for n in _nodes(sw1).values()} != {"ready"} and time.monotonic() < deadline:
            time.sleep(1)
        assert {name: n["Status"]["State"] for name, n in _nodes(sw1).items()} == {"sw1": "ready", "sw2": "ready", "sw3": "ready"}
        assert len(_wait_answers(ips)) == 3

        # Teardown: the stack goes, the workers leave through their manager, then sw1 dissolves what is left; nothing is
        # left: no store entry, no swarm, no container.
        _ok(_playbook("deploy_stack.yml", dict(STACK, stack_state="absent"), inventory))
        _ok(_playbook("teardown.yml", {"teardown_machines": "sw2 sw3", "teardown_swarm_managers": "sw1", "teardown_store_path": str(store)},
                      inventory))
        assert sorted(_nodes(sw1)) == ["sw1"]
        _ok(_playbook("teardown.yml", {"teardown_machines": "sw1", "teardown_store_path": str(store)}, inventory))
        for machine in machines + [sw4]:
            assert machine.exec("docker", "info", "--format", "{{.Swarm.LocalNodeState}}").stdout.strip() == "inactive"
            deadline = time.monotonic() + 30
            while machine.exec("docker", "ps", "-aq").stdout.split() and time.monotonic() < deadline:
                time.sleep(1)
            assert machine.exec("docker", "ps", "-aq").stdout.split() == [], machine.name
        assert not list((store / "machines").iterdir())
    finally:
        if not os.environ.get("DOCKYARD_KEEP_MACHINES"):
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(bed.stop_machine, [name for name, dummy in NODES + [JOINER]]))
