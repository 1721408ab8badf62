"""GitLab Runner's docker+machine executor, replayed: the exact command lines its ``helpers/docker/machine_command.go``
runs (``docker-machine --bugsnag-api-token=no-report CMD ...``, each MachineOptions entry as ``--entry``) and the files
it reads itself (``$MACHINE_STORAGE_PATH/machines/*``), in the order its provider uses them.

The runner's usual amazonec2 options go to the EC2 emulator (moto's server on 127.0.0.1), GitLab's fork's metadata
flags and the original's flags that change nothing here included. The instance's address is a loopback address of
the test bed (subnet 127.0.13.0/28, "use private address"), where a machine container listens: the create provisions
it over SSH and the runner's Docker client reaches it over TLS, as on EC2. Only the emulator's API and that address
are dialled.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import typing as t
from pathlib import Path

import pytest

from ansible_collections.dockyard.machine.tests.e2e.conftest import docker_cli
from ansible_collections.dockyard.machine.tests.e2e.test_cli import cli_env
from ansible_collections.dockyard.machine.tests.support import bed
from ansible_collections.dockyard.machine.tests.support.ec2_emulator import CREDENTIALS, REGION, Emulator, emulator

SUBNET, INSTANCE_ADDRESS = "127.0.13.0/28", "127.0.13.4"
# The runner's machine names: "runner-<token>-<MachineName with %s filled>".
NAME = "runner-x7f3ab12-gitlab-docker-machine-1733460000-4f2a9c1d"


@pytest.fixture(scope="module")
def ec2(tmp_path_factory) -> t.Iterator[Emulator]:
    with emulator(tmp_path_factory.mktemp("moto")) as running:
        yield running


class Runner:
    """``newDockerMachineCommand``: the executable named ``docker-machine`` on PATH, the crash-report flag first."""

    def __init__(self, store: Path, bin_dir: Path, env: dict[str, str]) -> None:
        self.store = store
        self.program = bin_dir / "docker-machine"
        self.env = env

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        argv = [str(self.program), "--bugsnag-api-token=no-report", *args]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=self.env, check=False)

    def get(self, *args: str) -> str:
        """``machineCommand.get``: the trimmed output of a command that must succeed and print something."""
        result = self.run(*args)
        assert result.returncode == 0 and result.stdout.strip(), (args, result.stdout, result.stderr)
        return result.stdout.strip()

    def machine_names(self) -> list[str]:
        """``List``: the folders of machines/ that do not start with a dot, read directly."""
        folder = self.store / "machines"
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")) if folder.exists() else []

    def inspect_file(self, name: str) -> dict[str, t.Any]:
        """``Inspect``: machines/NAME/config.json read directly (DriverName, Driver)."""
        return json.loads((self.store / "machines" / name / "config.json").read_text())

    def exists(self, name: str) -> bool:
        """``Exist``: config.json is there and ``inspect NAME`` succeeds."""
        return (self.store / "machines" / name / "config.json").is_file() and self.run("inspect", name).returncode == 0


def test_the_runner_s_call_sequence_on_an_amazonec2_machine(ec2: Emulator, bed_key, tmp_path: Path) -> None:
    key, pub = bed_key
    ec2.reset()
    client = ec2.client()
    vpc = client.create_vpc(CidrBlock="127.0.0.0/16")["Vpc"]["VpcId"]
    subnet = client.create_subnet(VpcId=vpc, CidrBlock=SUBNET, AvailabilityZone=REGION + "a")["Subnet"]["SubnetId"]
    ami = client.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    # The runners' security group, made by their administrator; the configuration names it read-only.
    group = client.create_security_group(GroupName="ci-runners", Description="GitLab runners", VpcId=vpc)["GroupId"]
    rules_before = client.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["IpPermissions"]

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = shutil.which("dockyard-machine")
    assert program, "dockyard-machine is not on PATH: run `make venv` and put .venv/bin first on PATH"
    os.symlink(program, bin_dir / "docker-machine")  # the runner runs "docker-machine"
    store = tmp_path / "store"
    env = cli_env(store, **CREDENTIALS)
    env["PATH"] = "%s:%s" % (bin_dir, env["PATH"])
    # The runner's commands after create (status, stop, rm ...) name no endpoint: the runner process's environment does
    # (the original's AWS_ENDPOINT), as a record never chooses where the credentials' signed calls go (issue 15, item 3).
    env["AWS_ENDPOINT"] = ec2.url
    runner = Runner(store, bin_dir, env)
    # [runners.machine] MachineOptions of a runner configuration (its own usual ones, plus what the bed needs to reach
    # the instance: the emulator's endpoint, the AMI, the SSH user and key of the machine container).
    machine_options = [
        "amazonec2-endpoint=%s" % ec2.url,
        "amazonec2-region=%s" % REGION,
        "amazonec2-vpc-id=%s" % vpc,
        "amazonec2-subnet-id=%s" % subnet,
        "amazonec2-zone=a",
        "amazonec2-ami=%s" % ami,
        "amazonec2-use-private-address=true",
        "amazonec2-tags=runner-manager-name,gitlab-aws-autoscaler,gitlab,true,gitlab-runner-autoscale,true",
        "amazonec2-security-group=ci-runners",
        "amazonec2-security-group-readonly=true",
        "amazonec2-instance-type=m5.large",
        "amazonec2-root-size=20",
        "amazonec2-ssh-user=root",
        "amazonec2-ssh-keypath=%s" % key,
        "amazonec2-metadata-token=required",
        "amazonec2-metadata-token-response-hop-limit=2",
        "amazonec2-retries=10",
        "amazonec2-block-duration-minutes=60",
        "amazonec2-insecure-transport=true",
    ]
    bed.start_machine("gitlab-runner-1", "bookworm-docker", INSTANCE_ADDRESS, pub)
    try:
        # Create: docker-machine create --driver amazonec2 --opt=value ... NAME
        created = runner.run("create", "--driver", "amazonec2", *["--" + o for o in machine_options], NAME)
        assert created.returncode == 0, created.stdout + created.stderr
        assert created.stdout.splitlines()[-1] == (
            "To see how to connect your Docker Client to the Docker Engine running on this virtual machine, run: docker-machine env %s" % NAME
        )
        # Inspect and List read the store themselves.
        record = runner.inspect_file(NAME)
        assert record["DriverName"] == "amazonec2" and record["Driver"]["MachineName"] == NAME
        assert (record["Driver"]["RetryCount"], record["Driver"]["BlockDurationMinutes"], record["Driver"]["DisableSSL"]) == (10, 60, True)
        assert runner.machine_names() == [NAME]
        assert "testing" not in json.dumps(record), "credentials reached the record"

        # What EC2 was asked for: the hop limit and tokens of the metadata flags, the named group untouched.
        instance = client.describe_instances(InstanceIds=[record["Driver"]["InstanceId"]])["Reservations"][0]["Instances"][0]
        metadata = instance["MetadataOptions"]
        assert (metadata["HttpTokens"], metadata["HttpPutResponseHopLimit"], metadata["HttpEndpoint"]) == ("required", 2, "enabled")
        assert record["Driver"]["SecurityGroupIds"] == [group]
        assert [g["GroupId"] for g in instance["NetworkInterfaces"][0]["Groups"]] == [group]
        assert client.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["IpPermissions"] == rules_before
        assert {t_["Key"]: t_["Value"] for t_ in instance["Tags"]}["runner-manager-name"] == "gitlab-aws-autoscaler"

        # CanConnect (config), then Credentials: config, url, inspect -f StorePath; the runner's Docker client uses them.
        assert runner.run("config", NAME).returncode == 0
        url = runner.get("url", NAME)
        cert_path = runner.get("inspect", NAME, "-f", "{{.HostOptions.AuthOptions.StorePath}}")
        assert (url, cert_path) == ("tcp://%s:2376" % INSTANCE_ADDRESS, str(store / "machines" / NAME))
        assert {"ca.pem", "cert.pem", "key.pem"} <= set(os.listdir(cert_path))
        version = docker_cli({"DOCKER_HOST": url, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": cert_path}, "version", "--format", "{{.Server.Version}}")
        assert version.returncode == 0 and version.stdout.strip(), version.stderr
        assert runner.get("ip", NAME) == INSTANCE_ADDRESS
        assert runner.get("status", NAME) == "Running"
        provisioned = runner.run("provision", NAME)
        assert provisioned.returncode == 0, provisioned.stdout + provisioned.stderr
        assert runner.run("config", NAME).returncode == 0

        # removeMachine: Exist (config.json and inspect), stop, rm -y; then List no longer has it.
        assert runner.exists(NAME)
        stopped = runner.run("stop", NAME)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert runner.get("status", NAME) == "Stopped"
        removed = runner.run("rm", "-y", NAME)
        assert removed.returncode == 0, removed.stdout + removed.stderr
        assert runner.machine_names() == [] and not runner.exists(NAME)
        left = ec2.resources()
        # The instance and the key pair imported for it are gone; the administrator's group stays.
        assert (left["instances"], left["key_pairs"], left["security_groups"]) == ([], [], [group])
    finally:
        bed.stop_machine("gitlab-runner-1")
