"""``ansible-inventory --list`` with ``ec2_refresh`` against the EC2 API emulator (moto's server on 127.0.0.1).

Instances are launched in the emulator in a VPC 127.0.0.0/16, subnet 127.0.5.0/28, so their private addresses are
loopback ones; amazonec2 records pointing at them are written into a copy of the fixture store (shaped as the
original's create writes them). The calls the emulator received are counted with moto's own request recorder.
Nothing but the emulator's API on 127.0.0.1 is dialled: the inventory connects to no machine.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import typing as t
from pathlib import Path

import pytest

from ansible_collections.dockyard.machine.tests.conftest import FIXTURE_STORE, copy_store
from ansible_collections.dockyard.machine.tests.e2e import test_inventory_cli as cli_tests
from ansible_collections.dockyard.machine.tests.e2e.test_inventory_cli import ansible_inventory, write_config
from ansible_collections.dockyard.machine.tests.support.ec2_emulator import CREDENTIALS, REGION, Emulator, emulator
from ansible_collections.dockyard.machine.tests.support.silent_port import silent_port

# A collections folder holding this checkout as dockyard.machine (a fixture).
collections_path = cli_tests.collections_path
# What the records say before the refresh: an address no instance of the emulator has.
STALE_ADDRESS = "127.0.5.14"


@pytest.fixture(scope="module")
def ec2(tmp_path_factory) -> t.Iterator[Emulator]:
    with emulator(tmp_path_factory.mktemp("moto")) as running:
        yield running


def _aws_env(tmp_path: Path) -> dict[str, str]:
    """The emulator's credentials from the environment, and no shared AWS files of the user."""
    return dict(CREDENTIALS, AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"))


def _launch(ec2: Emulator, count: int, *, public: bool = False) -> list[dict[str, t.Any]]:
    client = ec2.client()
    vpcs = client.describe_vpcs(Filters=[{"Name": "cidr", "Values": ["127.0.0.0/16"]}])["Vpcs"]
    vpc = vpcs[0]["VpcId"] if vpcs else client.create_vpc(CidrBlock="127.0.0.0/16")["Vpc"]["VpcId"]
    subnets = client.describe_subnets(Filters=[{"Name": "cidr-block", "Values": ["127.0.5.0/28"]}])["Subnets"]
    if subnets:
        subnet = subnets[0]["SubnetId"]
    else:
        subnet = client.create_subnet(VpcId=vpc, CidrBlock="127.0.5.0/28", AvailabilityZone=REGION + "a")["Subnet"]["SubnetId"]
    network = {"DeviceIndex": 0, "SubnetId": subnet, "AssociatePublicIpAddress": public}
    launched = client.run_instances(ImageId="ami-1e749f67", MinCount=count, MaxCount=count, NetworkInterfaces=[network])
    return launched["Instances"]


def write_record(store: Path, name: str, instance_id: str, *, endpoint: str, use_private: bool = True) -> None:
    """An amazonec2 record as the original's create writes it (the fixture's aws-sandbox, renamed), with a stale address."""
    template = (FIXTURE_STORE / "machines" / "aws-sandbox" / "config.json").read_text()
    doc = json.loads(template.replace("/home/operator/.docker/machine", str(store)).replace("aws-sandbox", name))
    doc["Driver"].update(
        InstanceId=instance_id, Region=REGION, Endpoint=endpoint, UsePrivateIP=use_private, IPAddress=STALE_ADDRESS, PrivateIPAddress=STALE_ADDRESS,
        AccessKey="", SecretKey="",
    )
    folder = store / "machines" / name
    folder.mkdir(mode=0o700, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(doc, indent=4))
    os.chmod(folder / "config.json", 0o600)


def test_refresh_reads_state_and_address_of_every_machine_in_one_call(ec2: Emulator, tmp_path: Path, collections_path: str) -> None:
    ec2.reset()
    store = copy_store(FIXTURE_STORE, tmp_path / "store")  # m1 and m2 (generic) stay: they are not asked
    shutil.rmtree(store / "machines" / "aws-sandbox")
    private = _launch(ec2, 3)
    public = _launch(ec2, 1, public=True)[0]
    names = {"web-1": private[0], "web-2": private[1], "web-3": private[2]}
    for name, instance in names.items():
        write_record(store, name, instance["InstanceId"], endpoint=ec2.url)
    write_record(store, "edge", public["InstanceId"], endpoint=ec2.url, use_private=False)
    write_record(store, "lost", "i-0123456789abcdef0", endpoint=ec2.url)
    client = ec2.client()
    client.stop_instances(InstanceIds=[private[1]["InstanceId"]])
    client.terminate_instances(InstanceIds=[private[2]["InstanceId"]])
    described = {i["InstanceId"]: i for r in client.describe_instances()["Reservations"] for i in r["Instances"]}
    assert described[private[1]["InstanceId"]]["State"]["Name"] == "stopped"

    ec2.start_recording()
    config = write_config(tmp_path, store_path=str(store), ec2_refresh=True, cloud_endpoint_url=ec2.url)
    listing = ansible_inventory(config, collections_path, environ=_aws_env(tmp_path))
    actions = ec2.recorded_actions()
    ec2.stop_recording()

    assert actions == ["DescribeInstances"], "five amazonec2 machines in one region and endpoint: one call, got %s" % actions
    hosts = listing.hostvars
    running = hosts["web-1"]
    address = private[0]["PrivateIpAddress"]
    assert address.startswith("127.0.5.") and address != STALE_ADDRESS
    assert (running["docker_machine_state"], running["ansible_host"], running["docker_machine_url"]) == ("Running", address, "tcp://%s:2376" % address)
    url = "tcp://%s:2376" % address
    assert running["docker_machine_docker"]["docker_host"] == running["docker_machine_env"]["DOCKER_HOST"] == running["dm_DOCKER_HOST"] == url
    stopped = hosts["web-2"]
    assert (stopped["docker_machine_state"], stopped["ansible_host"]) == ("Stopped", private[1]["PrivateIpAddress"])
    assert hosts["web-3"]["docker_machine_state"] == "Error" and "terminated" in hosts["web-3"]["docker_machine_state_error"]
    public_ip = described[public["InstanceId"]].get("PublicIpAddress")
    assert public_ip, "the emulator gave the instance launched with AssociatePublicIpAddress no public IP"
    assert hosts["edge"]["ansible_host"] == public_ip, "without UsePrivateIP the public address is the machine's (never dialled here)"
    assert hosts["lost"]["docker_machine_state"] == "Error" and hosts["lost"]["ansible_host"] == STALE_ADDRESS
    for name in ("m1", "m2"):
        assert "docker_machine_state" not in hosts[name]
    warnings = " ".join(listing.stderr.split())
    assert "'lost'" in warnings and "i-0123456789abcdef0" in warnings and "not found" in warnings
    assert "'web-3'" in warnings and private[2]["InstanceId"] in warnings and "terminated" in warnings
    assert "testing" not in json.dumps(hosts), "no credential becomes a host variable"
    assert json.loads((store / "machines" / "web-1" / "config.json").read_text())["Driver"]["IPAddress"] == STALE_ADDRESS, "the store is not written"

    ec2.start_recording()
    plain = ansible_inventory(write_config(tmp_path, store_path=str(store)), collections_path, environ=_aws_env(tmp_path))
    assert ec2.recorded_actions() == [], "without ec2_refresh the inventory makes no API call"
    ec2.stop_recording()
    assert plain.hostvars["web-1"]["ansible_host"] == STALE_ADDRESS and "docker_machine_state" not in plain.hostvars["web-1"]


def test_running_required_with_refresh_keeps_only_running_instances(ec2: Emulator, tmp_path: Path, collections_path: str) -> None:
    ec2.reset()
    store = tmp_path / "store"
    (store / "machines").mkdir(parents=True)
    instances = _launch(ec2, 2)
    for index, instance in enumerate(instances):
        write_record(store, "api-%d" % index, instance["InstanceId"], endpoint=ec2.url)
    ec2.client().stop_instances(InstanceIds=[instances[1]["InstanceId"]])
    config = write_config(tmp_path, store_path=str(store), ec2_refresh=True, running_required=True, cloud_endpoint_url=ec2.url)
    listing = ansible_inventory(config, collections_path, environ=_aws_env(tmp_path))
    assert set(listing.hostvars) == {"api-0"} and listing.hostvars["api-0"]["ansible_host"] == instances[0]["PrivateIpAddress"]


def test_a_silent_endpoint_is_bounded_and_a_record_naming_another_gets_no_call(ec2: Emulator, tmp_path: Path, collections_path: str) -> None:
    ec2.reset()
    store = tmp_path / "store"
    (store / "machines").mkdir(parents=True)
    instance = _launch(ec2, 1)[0]
    with silent_port() as port:
        hung = "http://127.0.0.1:%d" % port
        write_record(store, "far", instance["InstanceId"], endpoint=hung)
        started = time.monotonic()
        listing = ansible_inventory(
            write_config(tmp_path, store_path=str(store), ec2_refresh=True, ec2_refresh_timeout=2, cloud_endpoint_url=hung),
            collections_path,
            environ=_aws_env(tmp_path),
        )
        elapsed = time.monotonic() - started
    assert listing.hostvars["far"]["docker_machine_state"] == "Timeout", listing.stderr
    assert listing.hostvars["far"]["ansible_host"] == STALE_ADDRESS
    assert hung in " ".join(listing.stderr.split())
    started = time.monotonic()
    plain = ansible_inventory(write_config(tmp_path, store_path=str(store)), collections_path, environ=_aws_env(tmp_path))
    baseline = time.monotonic() - started
    assert "docker_machine_state" not in plain.hostvars["far"]
    # A bound, not a benchmark: the refresh may add its 2 s and little more to what the same listing costs without it.
    assert elapsed - baseline < 2 + 2, "with refresh %.1f s, without %.1f s, for a 2 s bound" % (elapsed, baseline)

    # Issue 15, item 3: a record naming an endpoint the inventory does not pass (none, or another) is not asked: the
    # credentials sign nothing for it, its answer never becomes ansible_host, and the warning names the option.
    with silent_port() as port:
        foreign = "http://127.0.0.1:%d" % port
        write_record(store, "far", instance["InstanceId"], endpoint=foreign)
        for options in ({}, {"aws_endpoint_url": ec2.url}):
            ec2.start_recording()
            config = write_config(tmp_path, store_path=str(store), ec2_refresh=True, **options)
            refused = ansible_inventory(config, collections_path, environ=_aws_env(tmp_path))
            assert ec2.recorded_actions() == []
            ec2.stop_recording()
            far = refused.hostvars["far"]
            assert (far["docker_machine_state"], far["ansible_host"]) == ("Error", STALE_ADDRESS) and "cloud_endpoint_url" in far["docker_machine_state_error"]
            warning = " ".join(refused.stderr.split())
            assert "'far'" in warning and foreign in warning and "cloud_endpoint_url" in warning, refused.stderr
