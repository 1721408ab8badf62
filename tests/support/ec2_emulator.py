"""The EC2 API emulator of the test bed: moto's server on a loopback port, and the resources a test counts.

Only its API is ever dialled (127.0.0.1); the addresses it invents for instances are never connected to.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import time
import typing as t
import urllib.parse
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
    #: Where moto's recorder appends each request it receives while recording is on.
    recording: Path | None = None

    def client(self) -> t.Any:
        import boto3

        return boto3.client("ec2", region_name=REGION, endpoint_url=self.url, aws_access_key_id="testing", aws_secret_access_key="testing")

    def reset(self) -> None:
        """Forget every resource (moto's own reset call)."""
        request = urllib.request.Request(self.url + "/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - loopback only
            pass

    def _moto_api(self, path: str) -> bytes:
        request = urllib.request.Request(self.url + "/moto-api/" + path, method="POST" if "download" not in path else "GET")
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 - loopback only
            return reply.read()

    def start_recording(self) -> None:
        """From now on, moto's recorder keeps every request the emulator receives (an empty record first)."""
        self._moto_api("recorder/reset-recording")
        self._moto_api("recorder/start-recording")

    def stop_recording(self) -> None:
        self._moto_api("recorder/stop-recording")

    def recorded_actions(self) -> list[str]:
        """The API action (``DescribeInstances`` ...) of each request received since ``start_recording``, in order."""
        actions = []
        for line in self._moto_api("recorder/download-recording").decode("utf-8").splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            body = entry.get("body") or ""
            if entry.get("body_encoded"):
                body = base64.b64decode(body).decode("utf-8", "replace")
            fields = urllib.parse.parse_qs(body) or urllib.parse.parse_qs(urllib.parse.urlsplit(entry.get("url", "")).query)
            actions.append((fields.get("Action") or ["?"])[0])
        return actions

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
    recording = workdir / "moto-requests.jsonl"  # moto's recorder writes here, only while a test records
    env = dict(os.environ, MOTO_RECORDER_FILEPATH=str(recording))
    process = subprocess.Popen([program, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env)
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
        yield Emulator(url=url, process=process, recording=recording)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
