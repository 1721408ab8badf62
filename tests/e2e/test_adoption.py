"""A lost store is not a lost machine: a new store adopts a running machine, its containers keep running.

Two cases, end to end on the test bed: an amazonec2 instance found again by its Name tag in the EC2 emulator
(the laptop with the store died; the instance and the SSH key are still there), and a generic host whose engine
already runs TLS with a CA the new store does not have. In both, a container started before the adoption is the
same running container after it (same start time), and the new store's client certificate reaches the engine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import typing as t
from pathlib import Path

import pytest

from ansible_collections.dockyard.machine.tests.e2e.conftest import REPO, docker_cli, recap, run_playbook
from ansible_collections.dockyard.machine.tests.e2e.test_amazonec2_machines import EMPTY, NO_AWS_ENV, _fresh_cloud, _options, _record, _result, _tls_env
from ansible_collections.dockyard.machine.tests.support import bed
from ansible_collections.dockyard.machine.tests.support.ec2_emulator import Emulator, emulator

BASE_IMAGE = "role-webapp-base:1"
# This file's EC2 subnet and the address its instance gets there: test_amazonec2_machines.py uses 127.0.5.0/28 and may
# run at the same time (make integration runs files in parallel).
SUBNET, INSTANCE_ADDRESS = "127.0.6.0/28", "127.0.6.4"


@pytest.fixture(scope="module")
def ec2(tmp_path_factory) -> t.Iterator[Emulator]:
    with emulator(tmp_path_factory.mktemp("moto")) as running:
        yield running


@pytest.fixture(scope="module")
def base_image() -> str:
    subprocess.run(["bash", str(REPO / "tests/bed/webapp-base.sh"), BASE_IMAGE], check=True, capture_output=True, timeout=300)
    return BASE_IMAGE


def _run_a_container(env: dict[str, str], image: str) -> str:
    """Ship ``image`` to the engine (no registry: save and load), run a container from it; return its start time."""
    plain = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    saved = subprocess.run(["docker", "save", image], capture_output=True, check=True, timeout=120, env=plain).stdout
    loaded = subprocess.run(["docker", "load"], input=saved, capture_output=True, timeout=120, env=dict(plain, **env), check=False)
    assert loaded.returncode == 0, loaded.stderr
    started = docker_cli(env, "run", "-d", "--name", "kept", image)
    assert started.returncode == 0, started.stderr
    return _started_at(env)


def _started_at(env: dict[str, str]) -> str:
    inspected = docker_cli(env, "inspect", "-f", "{{.State.Running}} {{.State.StartedAt}}", "kept")
    assert inspected.returncode == 0, inspected.stderr
    return inspected.stdout.strip()


def _ec2(ec2: Emulator, tmp_path: Path, store: Path, state: str = "present", **extra: t.Any) -> subprocess.CompletedProcess:
    results = tmp_path / "results"
    results.mkdir(exist_ok=True)
    extra_vars = dict(store_path=str(store), machine_state=state, endpoint=ec2.url, results_dir=str(results), machine="ec2-adopt")
    extra_vars.update(extra)
    return run_playbook("ec2_machine.yml", extra_vars, env=NO_AWS_ENV)


def test_a_new_store_adopts_an_ec2_instance_by_its_name_tag_and_its_containers_keep_running(ec2: Emulator, bed_key, base_image, tmp_path):
    key, pub = bed_key
    cloud = _fresh_cloud(ec2, SUBNET)
    lost, new = tmp_path / "lost-store", tmp_path / "new-store"
    bed.start_machine("ec2-adopt", "bookworm-docker", INSTANCE_ADDRESS, pub)
    try:
        made = _ec2(ec2, tmp_path, lost, ec2_options=_options(cloud, key))
        assert made.returncode == 0, made.stdout + made.stderr
        instance = _record(lost, "ec2-adopt")["Driver"]["InstanceId"]
        before = _run_a_container(_tls_env(lost, "ec2-adopt"), base_image)
        shutil.rmtree(lost)  # the laptop died: only the instance and the SSH key are left

        adopted = _ec2(ec2, tmp_path, new, ec2_options={"adopt": True, "ssh_keypath": str(key), "ssh_user": "root", "use_private_address": True})
        assert adopted.returncode == 0, adopted.stdout + adopted.stderr
        steps = _result(tmp_path, "ec2-adopt")["steps"]
        assert {"certificates", "adopt instance", "server certificate"} <= set(steps) and "launch instance" not in steps, steps
        record = _record(new, "ec2-adopt")["Driver"]
        assert record["InstanceId"] == instance and record["IPAddress"] == INSTANCE_ADDRESS
        assert len(ec2.resources()["instances"]) == 1  # nothing new was launched
        # The new store's CA now signs the engine's certificate, and the container never stopped.
        assert _started_at(_tls_env(new, "ec2-adopt")) == before and before.startswith("true ")

        again = _ec2(ec2, tmp_path, new, ec2_options={"adopt": True, "ssh_keypath": str(key), "ssh_user": "root", "use_private_address": True})
        assert again.returncode == 0 and recap(again.stdout)["changed"] == 0, again.stdout

        # What the lost store's create made carries the machine's tag: absent removes it all.
        gone = _ec2(ec2, tmp_path, new, "absent")
        assert gone.returncode == 0, gone.stdout + gone.stderr
        assert ec2.resources() == EMPTY
    finally:
        bed.stop_machine("ec2-adopt")


def test_adopting_by_a_name_no_instance_has_says_which_option_to_set(ec2: Emulator, bed_key, tmp_path):
    key, dummy = bed_key
    _fresh_cloud(ec2, SUBNET)
    store = tmp_path / "store"
    failed = _ec2(ec2, tmp_path, store, ec2_options={"adopt": True, "ssh_keypath": str(key)}, expect_failure=True)
    result = _result(tmp_path, "ec2-adopt")
    assert result.get("failed") and result["option"] == "amazonec2.instance_id", failed.stdout
    assert "No EC2 instance tagged Name=ec2-adopt" in result["msg"]
    assert ec2.resources() == EMPTY


def test_a_new_store_adopts_a_generic_host_whose_engine_has_tls_from_another_ca(bed_key, base_image, tmp_path):
    key, pub = bed_key
    other, new = tmp_path / "other-store", tmp_path / "new-store"
    machine = bed.start_machine("adopt-generic", "bookworm-docker", "127.0.0.150", pub)
    options = {"ip_address": machine.ip, "ssh_key": str(key)}
    try:
        # Another store (another CA) set the engine up with TLS; a container runs on it.
        first = run_playbook("machine.yml", {"machine": machine.name, "store_path": str(other), "generic": options,
                                             "engine": {"source": "distro"}, "results_file": str(tmp_path / "first.json")})
        assert first.returncode == 0, first.stdout + first.stderr
        other_env = {"DOCKER_HOST": "tcp://%s:2376" % machine.ip, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(other / "machines" / machine.name)}
        before = _run_a_container(other_env, base_image)
        new_env = dict(other_env, DOCKER_CERT_PATH=str(new / "machines" / machine.name))

        adopted = run_playbook("machine.yml", {"machine": machine.name, "store_path": str(new), "generic": options,
                                               "engine": {"source": "distro"}, "results_file": str(tmp_path / "adopted.json")})
        assert adopted.returncode == 0, adopted.stdout + adopted.stderr
        steps = json.loads((tmp_path / "adopted.json").read_text())["steps"]
        assert {"certificates", "server certificate", "restart engine"} <= set(steps) and "install engine" not in steps, steps
        assert _started_at(new_env) == before and before.startswith("true ")
        # The other store's client certificate is refused now: the engine trusts the new CA only.
        assert docker_cli(other_env, "version").returncode != 0
    finally:
        bed.stop_machine(machine.name)
