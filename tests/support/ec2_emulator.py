"""The EC2 API emulator of the test bed: moto's server on a loopback port, and the resources a test counts.

Only its API is ever dialled (127.0.0.1); the addresses it invents for instances are never connected to.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import typing as t
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ansible_collections.dockyard.machine.tests.support.tls_engine import free_loopback_port

REGION = "us-east-1"
# Credentials the emulator accepts; any process talking to it gets them through its environment.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
LIVE_STATES = ["pending", "running", "stopping", "stopped", "shutting-down"]


@dataclass
class Emulator:
    url: str
    process: subprocess.Popen

    def client(self) -> t.Any:
        import boto3

        return boto3.client("ec2", region_name=REGION, endpoint_url=self.url, aws_access_key_id="testing", aws_secret_access_key="testing")

    def reset(self) -> None:
        """Forget every resource (moto's own reset call)."""
        request = urllib.request.Request(self.url + "/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - loopback only
            pass

    def resources(self) -> dict[str, list[str]]:
        """What a create may leave behind: live instances, key pairs, non-default security groups, Elastic IPs."""
        ec2 = self.client()
        instances = [
            i["InstanceId"]
            for r in ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": LIVE_STATES}])["Reservations"]
            for i in r["Instances"]
        ]
        return {
            "instances": sorted(instances),
            "key_pairs": sorted(k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]),
            "security_groups": sorted(g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"] != "default"),
            "addresses": sorted(a.get("AllocationId", "") for a in ec2.describe_addresses()["Addresses"]),
        }


@contextlib.contextmanager
def emulator(workdir: Path) -> t.Iterator[Emulator]:
    port = free_loopback_port()
    program = shutil.which("moto_server")
    assert program, "moto_server is not installed: run `make venv`"
    log = open(workdir / "moto.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen([program, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
    url = "http://127.0.0.1:%d" % port
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/moto-api/", timeout=2):  # noqa: S310 - loopback only
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("moto_server did not start: %s" % (workdir / "moto.log").read_text(errors="replace"))
                time.sleep(0.2)
        yield Emulator(url=url, process=process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
