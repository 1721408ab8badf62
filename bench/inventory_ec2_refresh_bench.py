# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: EC2 API calls and wall time of ``ansible-inventory --list`` over amazonec2 machines, with ec2_refresh.

Starts the test bed's EC2 emulator (moto's server on a free 127.0.0.1 port), launches the instances there (VPC
127.0.0.0/16, subnet 127.0.8.0/24: loopback private addresses; every tenth instance stopped), writes one
amazonec2 record per instance into a temporary store (shaped as the original's create writes them, using the
private address), and lists the store with the docker_machine inventory plugin three ways:

- ``ec2_refresh: true``  (state and address from batched DescribeInstances calls)
- ``live_state: true``   (the per-machine state check: one DescribeInstances per machine; state_timeout 30)
- neither                (the store only: no API call)

It prints the EC2 API calls the emulator received per run (counted by moto's request recorder, not by the
plugin) and the median wall time.  Issue 6 item 9: "the number of EC2 API calls ... per inventory refresh of
100 machines".  Figures, not a timed test.

    make bench-inventory-ec2
    PYTHONPATH=.build/collections .venv/bin/python bench/inventory_ec2_refresh_bench.py --machines 500 --runs 3
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path

import yaml

from ansible_collections.dockyard.machine.tests.support.ec2_emulator import CREDENTIALS, REGION, Emulator, emulator
from ansible_collections.dockyard.machine.tests.support.inventory_json import plain

REPO = Path(__file__).resolve().parents[1]
FIXTURE_STORE = REPO / "tests" / "fixtures" / "docker-machine-store"
FIXTURE_ROOT = "/home/operator/.docker/machine"
PLUGIN = "dockyard.machine.docker_machine"
SUBNET = "127.0.8.0/24"  # moto hands out .4, .5, ...: room for 250 instances
MODES = {
    "ec2_refresh": {"ec2_refresh": True},
    "live_state": {"live_state": True, "state_timeout": 30},  # each machine's own call: generous, so none is Timeout
    "store only": {},
}


def launch(ec2: Emulator, count: int) -> list[dict[str, t.Any]]:
    client = ec2.client()
    vpc = client.create_vpc(CidrBlock="127.0.0.0/16")["Vpc"]["VpcId"]
    subnet = client.create_subnet(VpcId=vpc, CidrBlock=SUBNET, AvailabilityZone=REGION + "a")["Subnet"]["SubnetId"]
    instances = client.run_instances(ImageId="ami-1e749f67", MinCount=count, MaxCount=count, SubnetId=subnet)["Instances"]
    stopped = [i["InstanceId"] for i in instances[::10]]
    if stopped:
        client.stop_instances(InstanceIds=stopped)
    return instances


def write_store(root: Path, ec2: Emulator, instances: t.Sequence[t.Mapping[str, t.Any]]) -> None:
    """One amazonec2 record per instance, from the fixture's aws-sandbox record (the original's create wrote it)."""
    template = (FIXTURE_STORE / "machines" / "aws-sandbox" / "config.json").read_text().replace(FIXTURE_ROOT, str(root))
    shutil.copytree(FIXTURE_STORE / "certs", root / "certs")
    (root / "machines").mkdir(parents=True)
    for index, instance in enumerate(instances):
        name = "ec2-%04d" % index
        doc = json.loads(template.replace("aws-sandbox", name))
        address = instance["PrivateIpAddress"]
        doc["Driver"].update(
            InstanceId=instance["InstanceId"], Region=REGION, Endpoint=ec2.url, UsePrivateIP=True, IPAddress=address,
            PrivateIPAddress=address, AccessKey="", SecretKey="",
        )
        folder = root / "machines" / name
        folder.mkdir(mode=0o700)
        (folder / "config.json").write_text(json.dumps(doc, indent=4))
        os.chmod(folder / "config.json", 0o600)


class Bench:
    def __init__(self, workdir: Path, ec2: Emulator) -> None:
        self.workdir = workdir
        self.ec2 = ec2
        collections_dir = workdir / "collections"
        (collections_dir / "ansible_collections" / "dockyard").mkdir(parents=True, exist_ok=True)
        link = collections_dir / "ansible_collections" / "dockyard" / "machine"
        if not link.exists():
            link.symlink_to(REPO)
        self.ansible_inventory = str(Path(sys.executable).with_name("ansible-inventory"))
        self.env = dict(os.environ, **CREDENTIALS)
        self.env.pop("MACHINE_STORAGE_PATH", None)
        self.env.update(
            ANSIBLE_COLLECTIONS_PATH=str(collections_dir),
            ANSIBLE_INVENTORY_ENABLED=PLUGIN,
            ANSIBLE_INVENTORY_CACHE="False",
            AWS_CONFIG_FILE=str(workdir / "no-aws-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(workdir / "no-aws-credentials"),
            AWS_EC2_METADATA_DISABLED="true",
            AWS_ENDPOINT=ec2.url,  # live_state asks each machine's driver, which takes the endpoint from here
        )

    def config(self, store: Path, mode: str) -> Path:
        path = self.workdir / ("%s.docker_machine.yml" % mode.replace(" ", "_"))
        options = dict(MODES[mode])
        if options.get("ec2_refresh"):
            options["cloud_endpoint_url"] = self.ec2.url  # the records' endpoint: a record's own is asked only when passed
        path.write_text(yaml.safe_dump(dict({"plugin": PLUGIN, "store_path": str(store)}, **options)))
        return path

    def run(self, config: Path) -> tuple[float, list[str], dict[str, t.Any]]:
        """(wall seconds, the API actions the emulator received, the listing)."""
        self.ec2.start_recording()
        started = time.perf_counter()
        result = subprocess.run(
            [self.ansible_inventory, "-i", str(config), "--list"],
            env=self.env, cwd=str(self.workdir), capture_output=True, text=True, check=False,
        )
        elapsed = time.perf_counter() - started
        actions = self.ec2.recorded_actions()
        self.ec2.stop_recording()
        if result.returncode != 0 or "WARNING" in result.stderr:
            raise SystemExit("ansible-inventory failed or warned on %s:\n%s" % (config, result.stderr))
        return elapsed, actions, json.loads(result.stdout)


def check(mode: str, listing: dict[str, t.Any], instances: t.Sequence[t.Mapping[str, t.Any]]) -> None:
    """The listing holds what the emulator says: every machine, its address, and (when asked) its state."""
    hostvars = plain(listing["_meta"]["hostvars"])
    if len(hostvars) != len(instances):
        raise SystemExit("%s: %d hosts listed, expected %d" % (mode, len(hostvars), len(instances)))
    for index, instance in enumerate(instances):
        host = hostvars["ec2-%04d" % index]
        expected = "Stopped" if index % 10 == 0 else "Running"
        if host["ansible_host"] != instance["PrivateIpAddress"]:
            raise SystemExit("%s: ec2-%04d has address %s, the emulator says %s" % (mode, index, host["ansible_host"], instance["PrivateIpAddress"]))
        if MODES[mode] and host.get("docker_machine_state") != expected:
            raise SystemExit("%s: ec2-%04d is %s, expected %s" % (mode, index, host.get("docker_machine_state"), expected))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--machines", type=int, default=100, help="amazonec2 machines (instances in the emulator); at most 250")
    parser.add_argument("--runs", type=int, default=5, help="runs per mode; the median wall time is reported")
    parser.add_argument("--json", action="store_true", help="also print every run as JSON")
    args = parser.parse_args(argv)
    if not 1 <= args.machines <= 250:
        parser.error("--machines must be between 1 and 250 (the emulator's subnet %s)" % SUBNET)

    workdir = Path(tempfile.mkdtemp(prefix="dockyard-inventory-ec2-bench-"))
    rows = []
    try:
        with emulator(workdir) as ec2:
            instances = launch(ec2, args.machines)
            store = workdir / "store"
            write_store(store, ec2, instances)
            bench = Bench(workdir, ec2)
            print("ansible-inventory --list over %d amazonec2 machines in the EC2 emulator (%s), %d runs per mode" % (args.machines, ec2.url, args.runs))
            print("%-12s  %18s  %16s  %s" % ("mode", "EC2 calls per run", "median wall (s)", "calls by action"))
            for mode in MODES:
                config = bench.config(store, mode)
                times, calls = [], []
                for _run in range(args.runs):
                    elapsed, actions, listing = bench.run(config)
                    check(mode, listing, instances)
                    times.append(elapsed)
                    calls.append(actions)
                counts = sorted({len(c) for c in calls})
                by_action = collections.Counter(calls[-1])
                shown = ", ".join("%s %d" % item for item in sorted(by_action.items())) or "-"
                print("%-12s  %18s  %16.3f  %s" % (mode, "/".join(map(str, counts)), statistics.median(times), shown), flush=True)
                rows.append({"mode": mode, "machines": args.machines, "times": times, "calls": [len(c) for c in calls]})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
