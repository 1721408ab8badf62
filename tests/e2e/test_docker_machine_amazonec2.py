"""amazonec2 machines against the EC2 API emulator (moto's server on 127.0.0.1): removing what the original created.

The records are the original tool's own (the fixture store's aws-sandbox, as its create wrote it), pointed at
resources made in the emulator the way its create makes them: a key pair named after the machine, the shared
``docker-machine`` security group, one instance. Only the emulator's API on 127.0.0.1 is dialled.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import threading
import typing as t
from pathlib import Path

import pytest

from ansible_collections.dockyard.machine.tests.conftest import FIXTURE_STORE, copy_store
from ansible_collections.dockyard.machine.tests.e2e.conftest import recap, run_playbook
from ansible_collections.dockyard.machine.tests.support.ec2_emulator import CREDENTIALS, REGION, Emulator, emulator
from ansible_collections.dockyard.machine.tests.support.tls_engine import free_loopback_port

PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHkXyJ3z8Oe3o6s1cJXcR0ZxGEN3yWmQf8D1hPrbu0aT dockyard-test"


@pytest.fixture(scope="module")
def ec2(tmp_path_factory) -> t.Iterator[Emulator]:
    with emulator(tmp_path_factory.mktemp("moto")) as running:
        yield running


def _no_credentials_env(tmp_path: Path) -> dict[str, str]:
    env = {k: "" for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
    env.update(AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_DEFAULT_REGION=REGION)
    return env


def _original_machines(ec2: Emulator, store: Path, names: t.Sequence[str], endpoint: str | None = None) -> dict[str, str]:
    """Make what the original's create makes for each machine, and its record; returns name -> instance id."""
    client = ec2.client()
    vpc = client.create_vpc(CidrBlock="127.0.0.0/16")["Vpc"]["VpcId"]
    subnet = client.create_subnet(VpcId=vpc, CidrBlock="127.0.5.0/28", AvailabilityZone=REGION + "a")["Subnet"]["SubnetId"]
    group = client.create_security_group(GroupName="docker-machine", Description="Docker Machine", VpcId=vpc)["GroupId"]
    template = (store / "machines" / "aws-sandbox" / "config.json").read_text()
    instances = {}
    for name in names:
        client.import_key_pair(KeyName=name, PublicKeyMaterial=PUBLIC_KEY.encode())
        launched = client.run_instances(ImageId="ami-1e749f67", MinCount=1, MaxCount=1, KeyName=name, SecurityGroupIds=[group], SubnetId=subnet)
        instance = launched["Instances"][0]["InstanceId"]
        doc = json.loads(template.replace("aws-sandbox", name))
        doc["Driver"].update(
            InstanceId=instance, KeyName=name, ExistingKey=False, SecurityGroupIds=[group], SecurityGroupNames=["docker-machine"],
            VpcId=vpc, SubnetId=subnet, Region=REGION, Endpoint=endpoint or ec2.url,
        )
        folder = store / "machines" / name
        folder.mkdir(mode=0o700, exist_ok=True)
        (folder / "config.json").write_text(json.dumps(doc, indent=4))
        os.chmod(folder / "config.json", 0o600)
        instances[name] = instance
    if "aws-sandbox" not in names:
        shutil.rmtree(store / "machines" / "aws-sandbox")
    return instances


def _absent(store: Path, name: str, tmp_path: Path, env: dict[str, str] | None = None, *, endpoint: str = "", **extra: t.Any):
    """``state: absent``, the endpoint passed as amazon.aws's modules take it from the environment (AWS_URL)."""
    extra_vars = dict(extra, machine=name, store_path=str(store), machine_state="absent", results_file=str(tmp_path / "result.json"))
    return run_playbook("machine.yml", extra_vars, env=dict(CREDENTIALS, AWS_URL=endpoint, **(env or {})))


@contextlib.contextmanager
def _listener() -> t.Iterator[tuple[str, list[str]]]:
    """An endpoint on a loopback port that no EC2 answers, and the connections it received (it accepts and closes)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    received: list[str] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, peer = server.accept()
            except OSError:
                continue
            received.append("%s:%d" % peer)
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d" % server.getsockname()[1], received
    finally:
        stop.set()
        thread.join(2)
        server.close()


def test_absent_on_records_the_original_wrote_removes_their_cloud_resources(ec2: Emulator, tmp_path: Path) -> None:
    ec2.reset()
    store = copy_store(FIXTURE_STORE, tmp_path / "store")
    instances = _original_machines(ec2, store, ["aws-sandbox", "aws-two"])
    group = ec2.resources()["security_groups"]
    assert ec2.resources()["instances"] == sorted(instances.values()) and len(group) == 1

    removed = _absent(store, "aws-sandbox", tmp_path, endpoint=ec2.url)
    assert removed.returncode == 0 and recap(removed.stdout)["changed"] == 1, removed.stdout + removed.stderr
    left = ec2.resources()
    assert left["instances"] == [instances["aws-two"]] and left["key_pairs"] == ["aws-two"]
    assert left["security_groups"] == group, "the shared docker-machine group is still used by aws-two"
    assert not (store / "machines" / "aws-sandbox").exists()

    removed = _absent(store, "aws-two", tmp_path, endpoint=ec2.url)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert ec2.resources() == {"instances": [], "key_pairs": [], "security_groups": [], "addresses": []}
    again = _absent(store, "aws-two", tmp_path, endpoint=ec2.url)
    assert again.returncode == 0 and recap(again.stdout)["changed"] == 0


@pytest.mark.parametrize("failure", ["no credentials", "endpoint down"])
def test_absent_that_cannot_remove_the_instance_keeps_the_record_until_forced(ec2: Emulator, tmp_path: Path, failure: str) -> None:
    ec2.reset()
    store = copy_store(FIXTURE_STORE, tmp_path / "store")
    down = "http://127.0.0.1:%d" % free_loopback_port() if failure == "endpoint down" else None
    instance = _original_machines(ec2, store, ["aws-sandbox"], endpoint=down)["aws-sandbox"]
    env = _no_credentials_env(tmp_path) if failure == "no credentials" else {}
    before = ec2.resources()

    refused = _absent(store, "aws-sandbox", tmp_path, env=env, endpoint=down or ec2.url)
    assert refused.returncode != 0
    assert "EC2 instance %s in %s" % (instance, REGION) in refused.stdout and "key pair aws-sandbox" in refused.stdout, refused.stdout
    assert "option 'force'" in refused.stdout
    assert (store / "machines" / "aws-sandbox" / "config.json").is_file(), "the only trace of what the user pays for must stay"
    assert ec2.resources() == before

    forced = _absent(store, "aws-sandbox", tmp_path, env=env, endpoint=down or ec2.url, force=True)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert instance in forced.stdout + forced.stderr and "force=true" in forced.stdout + forced.stderr
    assert not (store / "machines" / "aws-sandbox").exists()


def test_a_record_naming_another_endpoint_gets_no_signed_call_and_absent_names_the_option(ec2: Emulator, tmp_path: Path) -> None:
    """Issue 15, item 3: a shared store's record whose Endpoint is someone else's; absent (without an endpoint, or with
    another one) is refused naming endpoint_url, and that endpoint receives nothing; passed the same one, it is used."""
    ec2.reset()
    store = copy_store(FIXTURE_STORE, tmp_path / "store")
    with _listener() as (foreign, received):
        instance = _original_machines(ec2, store, ["aws-sandbox"], endpoint=foreign)["aws-sandbox"]
        for passed in ("", ec2.url):
            refused = _absent(store, "aws-sandbox", tmp_path, endpoint=passed)
            assert refused.returncode != 0 and '"option": "endpoint_url"' in refused.stdout, refused.stdout
            assert "set option endpoint_url" in refused.stdout and foreign in refused.stdout, refused.stdout
            assert (store / "machines" / "aws-sandbox" / "config.json").is_file()
        assert received == [], "the record's endpoint received the task's calls"
        assert ec2.resources()["instances"] == [instance]
        # The record's own endpoint, passed by the task: asked there (nothing answers EC2 on it, so the record stays).
        asked = _absent(store, "aws-sandbox", tmp_path, endpoint=foreign)
        assert asked.returncode != 0 and received, asked.stdout
        assert "option 'force'" in asked.stdout, asked.stdout
