"""amazonec2 machines made by docker_machine against the EC2 API emulator, provisioned over SSH, used over TLS.

The test bed (DESIGN §9): moto's server on 127.0.0.1, a VPC 127.0.0.0/16 and a subnet 127.0.5.0/28, so the
private addresses the emulator gives instances (.4, .5, ... in order) are loopback addresses. A machine container
listens on each; with "use private address" and an existing SSH key, a create goes EC2 API -> SSH -> provision ->
Docker over TLS. Only the emulator's API and those loopback addresses are dialled, never the public or Elastic IPs
it invents. The AWS options come from ``module_defaults: group/amazon.aws.aws``, as plays that use amazon.aws set them.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from ansible_collections.dockyard.machine.tests.e2e.conftest import REPO, docker_cli, recap, run_playbook
from ansible_collections.dockyard.machine.tests.support import bed
from ansible_collections.dockyard.machine.tests.support.ec2_emulator import REGION, Emulator, emulator
from ansible_collections.dockyard.machine.tests.support.inventory_json import plain

EMPTY = {"instances": [], "key_pairs": [], "security_groups": [], "addresses": []}
# Credentials no process of the test has in its environment: the task gets them from module_defaults only.
NO_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_DEFAULT_REGION": "", "AWS_REGION": "",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent",
}


@pytest.fixture(scope="module")
def ec2(tmp_path_factory) -> t.Iterator[Emulator]:
    with emulator(tmp_path_factory.mktemp("moto")) as running:
        yield running


class Cloud(t.NamedTuple):
    vpc: str
    subnet: str
    ami: str


def _fresh_cloud(ec2: Emulator, subnet_cidr: str = "127.0.5.0/28") -> Cloud:
    """An emptied emulator with the test bed's VPC and a subnet; the next instance gets the subnet's fourth address
    (127.0.5.4). Files that run at the same time as this one pass a subnet of their own, so that their machine
    containers never take the same loopback address."""
    ec2.reset()
    client = ec2.client()
    vpc = client.create_vpc(CidrBlock="127.0.0.0/16")["Vpc"]["VpcId"]
    subnet = client.create_subnet(VpcId=vpc, CidrBlock=subnet_cidr, AvailabilityZone=REGION + "a")["Subnet"]["SubnetId"]
    ami = client.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    return Cloud(vpc, subnet, ami)


def _options(cloud: Cloud, key: Path, **extra: t.Any) -> dict[str, t.Any]:
    options = {"ami": cloud.ami, "subnet_id": cloud.subnet, "use_private_address": True, "ssh_user": "root", "ssh_keypath": str(key)}
    options.update(extra)
    return options


def _run(ec2: Emulator, tmp_path: Path, store: Path, state: str = "present", *, inventory: Path | None = None, forks: int | None = None,
         **extra: t.Any) -> subprocess.CompletedProcess:
    results = tmp_path / "results"
    results.mkdir(exist_ok=True)
    extra_vars = dict(store_path=str(store), machine_state=state, endpoint=ec2.url, results_dir=str(results))
    extra_vars.update(extra)
    if inventory is not None:
        extra_vars["target"] = "ec2fleet"
    return run_playbook("ec2_machine.yml", extra_vars, env=NO_AWS_ENV, inventory=inventory, forks=forks)


def _result(tmp_path: Path, name: str) -> dict[str, t.Any]:
    return json.loads((tmp_path / "results" / ("%s.json" % name)).read_text())


def _tls_env(store: Path, name: str) -> dict[str, str]:
    record = json.loads((store / "machines" / name / "config.json").read_text())
    return {"DOCKER_HOST": "tcp://%s:2376" % record["Driver"]["IPAddress"], "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(store / "machines" / name)}


def _record(store: Path, name: str) -> dict[str, t.Any]:
    return json.loads((store / "machines" / name / "config.json").read_text())


def _sans(cert: Path) -> str:
    return subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", str(cert)], capture_output=True, text=True, check=True).stdout


def _move_instance(ec2: Emulator, instance_id: str, subnet: str, address: str) -> None:
    """Give a stopped instance another private address, as a stop and start gives a real one another public address.

    moto keeps an instance's first network interface for good; attaching a new interface at device index 0 replaces
    it, and the instance's PrivateIpAddress is the new interface's from then on.
    """
    client = ec2.client()
    interface = client.create_network_interface(SubnetId=subnet, PrivateIpAddress=address)["NetworkInterface"]["NetworkInterfaceId"]
    client.attach_network_interface(NetworkInterfaceId=interface, InstanceId=instance_id, DeviceIndex=0)
    reservations = client.describe_instances(InstanceIds=[instance_id])["Reservations"]
    assert reservations[0]["Instances"][0]["PrivateIpAddress"] == address


def test_create_stop_start_on_a_new_address_and_absent(ec2: Emulator, bed_key, tmp_path: Path) -> None:
    key, pub = bed_key
    cloud = _fresh_cloud(ec2)
    store = tmp_path / "store"
    name = "ec2-life"
    options = _options(cloud, key, open_ports=["8000"], tags={"team": "web"}, security_group_cidrs=["127.0.0.0/8"])
    machine = bed.start_machine(name, "bookworm-docker", "127.0.5.4", pub)
    try:
        started = time.monotonic()
        created = _run(ec2, tmp_path, store, machine=name, ec2_options=options)
        assert created.returncode == 0, created.stdout + created.stderr
        print("one amazonec2 machine, create to TLS: %.1f s" % (time.monotonic() - started))
        steps = _result(tmp_path, name)["steps"]
        assert {"key pair", "security group", "launch instance", "server certificate", "restart engine"} <= set(steps), steps
        record = _record(store, name)["Driver"]
        assert record["IPAddress"] == record["PrivateIPAddress"] == machine.ip
        assert not any(record[k] for k in ("AccessKey", "SecretKey", "SessionToken"))
        assert "testing" not in json.dumps(_record(store, name)), "credentials from module_defaults reached the record"

        # What the create made in EC2: tagged instance and volume, IMDSv2, the machine's own group from the given CIDRs.
        client = ec2.client()
        instance = client.describe_instances(InstanceIds=[record["InstanceId"]])["Reservations"][0]["Instances"][0]
        tags = {tag["Key"]: tag["Value"] for tag in instance["Tags"]}
        assert tags == {"Name": name, "dockyard-machine": name, "team": "web"}
        assert instance["MetadataOptions"]["HttpTokens"] == "required"
        assert instance["KeyName"] == record["KeyName"] and record["KeyName"].startswith(name + "-")
        volumes = client.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": [record["InstanceId"]]}])["Volumes"]
        assert volumes and all({"Key": "Name", "Value": name} in v.get("Tags", []) for v in volumes)
        group = client.describe_security_groups(GroupIds=record["SecurityGroupIds"])["SecurityGroups"][0]
        opened = sorted((p["FromPort"], r["CidrIp"]) for p in group["IpPermissions"] for r in p["IpRanges"])
        assert opened == [(22, "127.0.0.0/8"), (2376, "127.0.0.0/8"), (8000, "127.0.0.0/8")]

        env = _tls_env(store, name)
        assert docker_cli(env, "version", "--format", "{{.Server.Version}}").returncode == 0

        again = _run(ec2, tmp_path, store, machine=name, ec2_options=options)
        assert again.returncode == 0 and recap(again.stdout)["changed"] == 0, again.stdout

        stopped = _run(ec2, tmp_path, store, "stopped", machine=name)
        assert stopped.returncode == 0 and recap(stopped.stdout)["changed"] == 1, stopped.stdout + stopped.stderr
        assert client.describe_instances(InstanceIds=[record["InstanceId"]])["Reservations"][0]["Instances"][0]["State"]["Name"] == "stopped"
        assert _run(ec2, tmp_path, store, "stopped", machine=name).stdout.count("changed=0") == 1

        # The instance comes back on another address, and the machine container with it.
        _move_instance(ec2, record["InstanceId"], cloud.subnet, "127.0.5.9")
        bed.move_machine(name, "127.0.5.9")
        up = _run(ec2, tmp_path, store, "started", machine=name)
        assert up.returncode == 0, up.stdout + up.stderr
        steps = _result(tmp_path, name)["steps"]
        assert {"start instance", "address", "server certificate"} <= set(steps), steps
        assert _record(store, name)["Driver"]["IPAddress"] == "127.0.5.9"
        assert "IP Address:127.0.5.9" in _sans(store / "machines" / name / "server.pem")
        # Right after the task, with no other step: the CLI reaches the engine at its new address over verified TLS.
        env = _tls_env(store, name)
        assert env["DOCKER_HOST"] == "tcp://127.0.5.9:2376"
        version = docker_cli(env, "version", "--format", "{{.Server.Version}}")
        assert version.returncode == 0, version.stderr
        assert _result(tmp_path, name)["docker"]["docker_host"] == "tcp://127.0.5.9:2376"
        assert _run(ec2, tmp_path, store, "started", machine=name).stdout.count("changed=0") == 1

        removed = _run(ec2, tmp_path, store, "absent", machine=name)
        assert removed.returncode == 0 and recap(removed.stdout)["changed"] == 1, removed.stdout + removed.stderr
        assert ec2.resources() == EMPTY
        assert not (store / "machines" / name).exists()
    finally:
        bed.stop_machine(name)


def test_five_machines_in_one_play(ec2: Emulator, bed_key, tmp_path: Path) -> None:
    key, pub = bed_key
    cloud = _fresh_cloud(ec2)
    store = tmp_path / "store"
    names = ["ec2-fleet%d" % n for n in range(1, 6)]
    # The emulator hands out .4 to .8 in launch order; which machine gets which is up to the race, and any container
    # is as good as another (each pins the host key it meets first).
    addresses = ["127.0.5.%d" % n for n in range(4, 9)]
    inventory = tmp_path / "fleet.ini"
    inventory.write_text("[ec2fleet]\n%s\n" % "\n".join(names))
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda pair: bed.start_machine(pair[0], "bookworm-docker", pair[1], pub), zip(names, addresses)))
    try:
        started = time.monotonic()
        made = _run(ec2, tmp_path, store, inventory=inventory, forks=5, ec2_options=_options(cloud, key))
        assert made.returncode == 0, made.stdout + made.stderr
        print("five amazonec2 machines in one play (forks=5): %.1f s" % (time.monotonic() - started))
        assert sorted(_record(store, n)["Driver"]["IPAddress"] for n in names) == addresses
        assert sorted(os.listdir(store / "certs")) == ["ca-key.pem", "ca.pem", "cert.pem", "key.pem"]
        for name in names:
            version = docker_cli(_tls_env(store, name), "version", "--format", "{{.Server.Version}}")
            assert version.returncode == 0, (name, version.stderr)
        resources = ec2.resources()
        assert len(resources["instances"]) == len(resources["key_pairs"]) == len(resources["security_groups"]) == 5

        again = _run(ec2, tmp_path, store, inventory=inventory, forks=5, ec2_options=_options(cloud, key))
        assert again.returncode == 0 and sum(recap(again.stdout, n)["changed"] for n in names) == 0, again.stdout

        gone = _run(ec2, tmp_path, store, "absent", inventory=inventory, forks=5)
        assert gone.returncode == 0, gone.stdout + gone.stderr
        assert ec2.resources() == EMPTY
    finally:
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(bed.stop_machine, names))


def test_ssh_that_never_comes_up_fails_in_time_and_absent_leaves_nothing(ec2: Emulator, bed_key, tmp_path: Path) -> None:
    key, dummy = bed_key
    cloud = _fresh_cloud(ec2)
    store = tmp_path / "store"
    # No machine container answers on 127.0.5.4: the instance runs, SSH never comes up.
    started = time.monotonic()
    failed = _run(ec2, tmp_path, store, machine="ec2-dark", ec2_options=_options(cloud, key, elastic_ip=True), machine_timeout=15, expect_failure=True)
    elapsed = time.monotonic() - started
    result = _result(tmp_path, "ec2-dark")
    assert result.get("failed") and "ssh" in result.get("step", "").lower(), result
    assert elapsed < 90, "the task outlived its timeout: %.1f s" % elapsed
    made = ec2.resources()
    assert len(made["instances"]) == len(made["key_pairs"]) == len(made["security_groups"]) == len(made["addresses"]) == 1
    sidecar = json.loads((store / "machines" / "ec2-dark" / "dockyard-machine.json").read_text())
    assert sidecar["Status"] == "error" and sidecar["ElasticIp"]["AllocationId"] == made["addresses"][0]

    removed = _run(ec2, tmp_path, store, "absent", machine="ec2-dark")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert ec2.resources() == EMPTY


def test_what_a_create_sends_is_what_the_task_gave_and_absent_leaves_the_users_group(ec2: Emulator, bed_key, tmp_path: Path) -> None:
    """Issue 15: the instance's user data is the file as given, not its base64 text (item 5); a tag holding a comma is
    refused before anything is made, and the machine's Name and ownership tags are its own (item 7); the user's own
    group named ``docker-machine``, passed in ``security_groups``, is used and outlives ``absent`` (item 4)."""
    key, dummy = bed_key
    cloud = _fresh_cloud(ec2)
    store = tmp_path / "store"
    client = ec2.client()
    users_group = client.create_security_group(GroupName="docker-machine", Description="the team's own", VpcId=cloud.vpc)["GroupId"]
    script = tmp_path / "user-data.sh"
    script.write_bytes(b"#!/bin/sh\necho 'configured by user data' > /etc/motd\n")

    refused = _run(ec2, tmp_path, store, machine="ec2-sent", ec2_options=_options(cloud, key, tags={"team": "web,Name,evil"}), expect_failure=True)
    result = _result(tmp_path, "ec2-sent")
    assert result.get("failed") and result.get("option") == "amazonec2.tags" and "amazonec2.tags" in result["msg"], refused.stdout
    assert ec2.resources() == dict(EMPTY, security_groups=[users_group])

    # No machine container answers: the create stops at SSH after the launch, which is what this test reads.
    options = _options(cloud, key, user_data=str(script), tags={"team": "web"}, security_groups=["docker-machine"])
    _run(ec2, tmp_path, store, machine="ec2-sent", ec2_options=options, machine_timeout=10, expect_failure=True)
    instance_id = _record(store, "ec2-sent")["Driver"]["InstanceId"]
    assert instance_id, _result(tmp_path, "ec2-sent")
    sent = client.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")["UserData"]["Value"]
    assert base64.b64decode(sent) == script.read_bytes()
    instance = client.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    assert {tag["Key"]: tag["Value"] for tag in instance["Tags"]} == {"Name": "ec2-sent", "dockyard-machine": "ec2-sent", "team": "web"}
    assert [g["GroupId"] for g in instance["NetworkInterfaces"][0]["Groups"]] == [users_group]  # where the emulator lists them

    removed = _run(ec2, tmp_path, store, "absent", machine="ec2-sent")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert ec2.resources() == dict(EMPTY, security_groups=[users_group]), "absent deleted the user's own docker-machine group"


def test_a_machine_moved_to_another_store_takes_its_elastic_ip_and_group_and_absent_there_leaves_nothing(
    ec2: Emulator, bed_key, tmp_path: Path
) -> None:
    """The sidecar facts of what the driver made travel in a bundle: removing the machine from the store it was
    imported into releases its Elastic IP and deletes its security group, as the store that made it would."""
    key, pub = bed_key
    cloud = _fresh_cloud(ec2)
    store_a, store_b = tmp_path / "a" / "machine", tmp_path / "elsewhere" / "b"
    name = "ec2-moved"
    machine = bed.start_machine(name, "bookworm-docker", "127.0.5.4", pub)
    try:
        created = _run(ec2, tmp_path, store_a, machine=name, ec2_options=_options(cloud, key, elastic_ip=True))
        assert created.returncode == 0, created.stdout + created.stderr
        made = ec2.resources()
        assert [len(made[kind]) for kind in ("instances", "key_pairs", "security_groups", "addresses")] == [1, 1, 1, 1], made

        moved_result = tmp_path / "moved.json"
        extra = {"store_a": str(store_a), "store_b": str(store_b), "machine": name, "bundle": str(tmp_path / "moved.bundle"),
                 "passphrase": "correct horse battery staple", "results_file": str(moved_result)}
        moved = run_playbook("move_store.yml", extra)
        assert moved.returncode == 0, moved.stdout + moved.stderr
        assert json.loads(moved_result.read_text())["env_b"]["docker_version"]  # store B reaches the engine over TLS
        sidecar = json.loads((store_b / "machines" / name / "dockyard-machine.json").read_text())
        assert sidecar["ElasticIp"]["AllocationId"] == made["addresses"][0]
        assert sidecar["CreatedSecurityGroups"] == made["security_groups"]

        removed = _run(ec2, tmp_path, store_b, "absent", machine=name)
        assert removed.returncode == 0, removed.stdout + removed.stderr
        assert ec2.resources() == EMPTY
        assert not (store_b / "machines" / name).exists()
        # The store it came from still has its record; removing it there finds everything gone already.
        again = _run(ec2, tmp_path, store_a, "absent", machine=name)
        assert again.returncode == 0, again.stdout + again.stderr
        assert not (store_a / "machines" / name).exists() and ec2.resources() == EMPTY
    finally:
        bed.stop_machine(name)


@pytest.mark.parametrize(
    ("case", "option", "words"),
    [
        ("subnet", "amazonec2.subnet_id", "subnet"),
        ("ami", "amazonec2.ami", "ami"),
        ("credentials", "access_key", "credentials"),
        ("region", "region", "region"),
    ],
)
def test_bad_input_names_the_option_and_leaves_nothing(ec2: Emulator, bed_key, tmp_path: Path, case: str, option: str, words: str) -> None:
    key, dummy = bed_key
    cloud = _fresh_cloud(ec2)
    store = tmp_path / "store"
    extra: dict[str, t.Any] = {}
    options = _options(cloud, key)
    if case == "subnet":
        options["subnet_id"] = "subnet-0000000000000dead"
    elif case == "ami":
        options["ami"] = "ami-0000dead"
    elif case == "credentials":
        extra.update(aws_access_key="", aws_secret_key="")
    else:
        extra.update(aws_region="mars-north-1", endpoint=None)  # a region of AWS itself: no endpoint
    failed = _run(ec2, tmp_path, store, machine="ec2-bad", ec2_options=options, expect_failure=True, **extra)
    result = _result(tmp_path, "ec2-bad")
    assert result.get("failed"), failed.stdout
    assert result.get("option") == option and words in result["msg"].lower(), result
    assert option in result["msg"], result["msg"]
    assert ec2.resources() == dict(EMPTY), "a refused create left resources behind"
    if (store / "machines" / "ec2-bad").exists():
        # What stays is a loadable record that absent removes (nothing in the cloud to remove).
        assert _run(ec2, tmp_path, store, "absent", machine="ec2-bad").returncode == 0


def test_the_provision_ec2_playbook_makes_n_machines_and_a_second_run_changes_nothing(ec2: Emulator, bed_key, tmp_path: Path) -> None:
    key, pub = bed_key
    bed.ensure_images("trixie-docker")
    cloud = _fresh_cloud(ec2)
    store = tmp_path / "store"
    inventory = tmp_path / "machines.docker_machine.yml"
    inventory.write_text("plugin: dockyard.machine.docker_machine\nstore_path: %s\n" % store)
    names = ["pe2e-1", "pe2e-2"]
    survey = {
        "provision_ec2_prefix": "pe2e", "provision_ec2_count": 2, "provision_ec2_region": REGION, "provision_ec2_endpoint_url": ec2.url,
        "provision_ec2_ami": cloud.ami, "provision_ec2_subnet_id": cloud.subnet, "provision_ec2_ssh_user": "root",
        "provision_ec2_ssh_keypath": str(key), "provision_ec2_use_private_address": True, "provision_ec2_timeout": 180,
        "provision_store_path": str(store), "provision_engine_source": "distro",
    }
    # As AWX's Amazon Web Services credential gives them: in the environment.
    env = dict(NO_AWS_ENV, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda pair: bed.start_machine(pair[0], "trixie-docker", pair[1], pub), zip(names, ["127.0.5.4", "127.0.5.5"])))
    try:
        first = run_playbook(str(REPO / "playbooks" / "provision_ec2.yml"), survey, inventory=inventory, env=env)
        assert first.returncode == 0, first.stdout + first.stderr
        assert all(recap(first.stdout, n)["failed"] == 0 for n in names)
        for name in names:
            version = docker_cli(_tls_env(store, name), "version", "--format", "{{.Server.Version}}")
            assert version.returncode == 0, (name, version.stderr)
        second = run_playbook(str(REPO / "playbooks" / "provision_ec2.yml"), survey, inventory=inventory, env=env)
        assert second.returncode == 0, second.stdout + second.stderr
        assert all(recap(second.stdout, host)["changed"] == 0 for host in ["localhost", *names]), second.stdout
        teardown = run_playbook(str(REPO / "playbooks" / "teardown.yml"),
                                {"teardown_store_path": str(store), "teardown_machines": names}, inventory=inventory,
                                # The endpoint the machines were made through, as amazon.aws's modules take it.
                                env=dict(env, AWS_DEFAULT_REGION=REGION, AWS_URL=ec2.url))
        assert teardown.returncode == 0, teardown.stdout + teardown.stderr
        assert ec2.resources() == EMPTY
    finally:
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(bed.stop_machine, names))


def test_the_command_line_creates_stops_starts_kills_and_removes_an_ec2_machine(ec2: Emulator, bed_key, tmp_path: Path) -> None:
    """``dockyard-machine create -d amazonec2`` with the original's flags, then the commands its users type."""
    from ansible_collections.dockyard.machine.tests.e2e.test_cli import dm, shell

    key, pub = bed_key
    cloud = _fresh_cloud(ec2)
    store = tmp_path / "store"
    name = "ec2-cli"
    aws = dict(NO_AWS_ENV)
    # The endpoint as the command line takes it for every command (the original's variable for --amazonec2-endpoint).
    aws.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT": ec2.url})
    bed.start_machine(name, "bookworm-docker", "127.0.5.4", pub)
    try:
        bad = dm(store, "create", "-d", "amazonec2", "--amazonec2-endpoint", ec2.url, "--amazonec2-subnet-id", "subnet-0000000000000dead",
                 "--amazonec2-ami", cloud.ami, "--amazonec2-ssh-keypath", str(key), name, **aws)
        assert bad.returncode != 0 and "flag --amazonec2-subnet-id" in bad.stderr, bad.stdout + bad.stderr
        assert dm(store, "rm", "-y", name, **aws).returncode == 0 and ec2.resources() == EMPTY

        created = dm(store, "create", "-d", "amazonec2", "--amazonec2-endpoint", ec2.url, "--amazonec2-subnet-id", cloud.subnet,
                     "--amazonec2-ami", cloud.ami, "--amazonec2-use-private-address", "--amazonec2-ssh-user", "root",
                     "--amazonec2-ssh-keypath", str(key), "--amazonec2-tags", "team,web", name, **aws)
        assert created.returncode == 0, created.stdout + created.stderr
        assert "testing" not in (store / "machines" / name / "config.json").read_text()
        used = shell(store, 'eval "$(dockyard-machine env %s)" && docker version --format "{{.Server.Version}}"' % name)
        assert used.returncode == 0 and used.stdout.strip(), used.stdout + used.stderr
        assert dm(store, "status", name, **aws).stdout.strip() == "Running"
        # A command that names no endpoint is refused, naming what to set: the record does not choose where the
        # credentials' signed calls go (issue 15, item 3).
        ec2.start_recording()
        refused = dm(store, "stop", name, **dict(aws, AWS_ENDPOINT=""))
        assert refused.returncode != 0 and "AWS_ENDPOINT" in refused.stderr and ec2.url in refused.stderr, refused.stdout + refused.stderr
        assert ec2.recorded_actions() == []
        ec2.stop_recording()

        stopped = dm(store, "stop", name, **aws)
        assert stopped.returncode == 0 and 'Machine "%s" was stopped.' % name in stopped.stdout, stopped.stdout + stopped.stderr
        assert dm(store, "status", name, **aws).stdout.strip() == "Stopped"
        started = dm(store, "start", name, **aws)
        assert started.returncode == 0 and 'Machine "%s" was started.' % name in started.stdout, started.stdout + started.stderr
        killed = dm(store, "kill", name, **aws)
        assert killed.returncode == 0 and 'Machine "%s" was killed.' % name in killed.stdout, killed.stdout + killed.stderr
        assert dm(store, "status", name, **aws).stdout.strip() == "Stopped"

        removed = dm(store, "rm", "-y", name, **aws)
        assert removed.returncode == 0, removed.stdout + removed.stderr
        assert ec2.resources() == EMPTY
    finally:
        bed.stop_machine(name)


def test_the_awx_ec2_tag_inventory_source_lists_the_machines_the_driver_tagged(ec2: Emulator, tmp_path: Path) -> None:
    """awx/inventory/ec2_tags.aws_ec2.yml, as AWX's Amazon EC2 source runs it (amazon.aws.aws_ec2), on the emulator."""
    cloud = _fresh_cloud(ec2)
    client = ec2.client()
    tags = [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "tagged"}, {"Key": "dockyard-machine", "Value": "tagged"}]}]
    client.run_instances(ImageId=cloud.ami, MinCount=1, MaxCount=1, SubnetId=cloud.subnet, TagSpecifications=tags)
    client.run_instances(ImageId=cloud.ami, MinCount=1, MaxCount=1, SubnetId=cloud.subnet)  # not a machine of ours
    source = yaml.safe_load((REPO / "awx" / "inventory" / "ec2_tags.aws_ec2.yml").read_text())
    source["endpoint_url"] = ec2.url  # the test bed's EC2; in AWX the credential and region reach AWS itself
    config = tmp_path / "ec2_tags.aws_ec2.yml"
    config.write_text(yaml.safe_dump(source))
    env = dict(os.environ, **NO_AWS_ENV)
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    listed = subprocess.run(["ansible-inventory", "-i", str(config), "--list"], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert listed.returncode == 0, listed.stderr
    inventory = plain(json.loads(listed.stdout))
    assert inventory["docker_machine_amazonec2"]["hosts"] == ["tagged"]
    host = inventory["_meta"]["hostvars"]["tagged"]
    assert host["ansible_host"] == "127.0.5.4" and host["docker_machine_name"] == "tagged" and host["docker_machine_driver"] == "amazonec2"
