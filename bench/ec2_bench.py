# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: amazonec2 machines on the test bed (moto's EC2 server on 127.0.0.1, machine containers on the
private addresses it gives), against DESIGN.md section 10 and issue 6's targets.

Figures, each from real ansible-playbook runs:

- one amazonec2 create, end to end (EC2 calls, SSH, provisioning, Docker over TLS), next to a generic create
  of the same kind of host (target: within 1.5x);
- five amazonec2 machines in one play (forks=5);
- EC2 API calls per create, per ``stopped`` and per ``started``, counted as the requests the emulator served,
  printed next to the original's (from its source, reference section 5.3).

    make bench-ec2          # or: PYTHONPATH=.build/collections .venv/bin/python bench/ec2_bench.py

It prints figures; it asserts nothing. Machines it starts are removed at the end.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ansible_collections.dockyard.machine.tests.support import bed
from ansible_collections.dockyard.machine.tests.support.timed_playbook import playbook
from ansible_collections.dockyard.machine.tests.support.ec2_emulator import REGION, Emulator, emulator

IMAGE = "bookworm-docker"
# The original's calls for one create with a given subnet and key (drivers/amazonec2, reference section 5.3):
# DescribeKeyPairs twice (pre-create check, then create), ImportKeyPair, DescribeSecurityGroups, CreateSecurityGroup
# and DescribeSecurityGroups until visible (first machine of a VPC), AuthorizeSecurityGroupIngress, RunInstances,
# DescribeInstances until it has an address and again until running, CreateTags: at least 10, and then one more
# DescribeInstances for every GetIP while it provisions (each SSH command resolves the address again).
ORIGINAL_CREATE = "10 or more, plus one DescribeInstances per SSH command while provisioning"
ORIGINAL_STOP = "1 (StopInstances; no wait)"
ORIGINAL_START = "2 or more (StartInstances, DescribeInstances until running); the certificate is not re-issued"


class Calls:
    """EC2 API requests the emulator served, read from its request log."""

    def __init__(self, log: Path) -> None:
        self.log = log

    def count(self) -> int:
        return sum(1 for line in self.log.read_text(errors="replace").splitlines() if '"POST / HTTP/' in line)


def fresh_cloud(ec2: Emulator) -> tuple[str, str]:
    ec2.reset()
    client = ec2.client()
    vpc = client.create_vpc(CidrBlock="127.0.0.0/16")["Vpc"]["VpcId"]
    subnet = client.create_subnet(VpcId=vpc, CidrBlock="127.0.5.0/28", AvailabilityZone=REGION + "a")["Subnet"]["SubnetId"]
    return subnet, client.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]


def ec2_vars(ec2: Emulator, work: Path, store: Path, key: Path, subnet: str, ami: str, state: str = "present") -> dict:
    return {
        "store_path": str(store), "machine_state": state, "endpoint": ec2.url, "results_dir": str(work),
        "ec2_options": {"ami": ami, "subnet_id": subnet, "use_private_address": True, "ssh_user": "root", "ssh_keypath": str(key)},
    }


def generic_create(work: Path, key: Path, pub: Path, index: int) -> float:
    name = "ec2bench-g%d" % index
    machine = bed.start_machine(name, IMAGE, "127.0.5.4", pub)
    try:
        extra = {"machine": name, "store_path": str(work / ("generic%d" % index)), "generic": {"ip_address": machine.ip, "ssh_key": str(key)},
                 "engine": {"source": "distro"}, "results_file": str(work / "result.json")}
        return playbook("machine.yml", extra)
    finally:
        bed.stop_machine(name)


def ec2_create(ec2: Emulator, calls: Calls, work: Path, key: Path, pub: Path, index: int) -> dict[str, float]:
    name = "ec2bench-e%d" % index
    subnet, ami = fresh_cloud(ec2)
    bed.start_machine(name, IMAGE, "127.0.5.4", pub)
    store = work / ("ec2-%d" % index)
    try:
        before = calls.count()
        seconds = playbook("ec2_machine.yml", dict(ec2_vars(ec2, work, store, key, subnet, ami), machine=name))
        created = calls.count()
        playbook("ec2_machine.yml", dict(ec2_vars(ec2, work, store, key, subnet, ami, "stopped"), machine=name))
        stopped = calls.count()
        playbook("ec2_machine.yml", dict(ec2_vars(ec2, work, store, key, subnet, ami, "started"), machine=name))
        started = calls.count()
        playbook("ec2_machine.yml", dict(ec2_vars(ec2, work, store, key, subnet, ami, "absent"), machine=name))
        return {"seconds": seconds, "create": created - before, "stop": stopped - created, "start": started - stopped}
    finally:
        bed.stop_machine(name)


def five_in_one_play(ec2: Emulator, calls: Calls, work: Path, key: Path, pub: Path) -> tuple[float, int]:
    names = ["ec2bench-f%d" % n for n in range(1, 6)]
    subnet, ami = fresh_cloud(ec2)
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda pair: bed.start_machine(pair[0], IMAGE, pair[1], pub), zip(names, ["127.0.5.%d" % n for n in range(4, 9)])))
    inventory = work / "five.ini"
    inventory.write_text("[ec2fleet]\n%s\n" % "\n".join(names))
    store = work / "five"
    try:
        before = calls.count()
        seconds = playbook("ec2_machine.yml", dict(ec2_vars(ec2, work, store, key, subnet, ami), target="ec2fleet"), "-i", str(inventory), "--forks", "5")
        made = calls.count() - before
        playbook("ec2_machine.yml", dict(ec2_vars(ec2, work, store, key, subnet, ami, "absent"), target="ec2fleet"), "-i", str(inventory), "--forks", "5")
        return seconds, made
    finally:
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(bed.stop_machine, names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--runs", type=int, default=3, help="creates of each kind (median printed)")
    args = parser.parse_args()
    bed.ensure_images(IMAGE)
    with tempfile.TemporaryDirectory(prefix="ec2-bench-") as tmp:
        work = Path(tmp)
        key, pub = bed.ssh_keypair(work / "keys")
        with emulator(work) as ec2:
            calls = Calls(work / "moto.log")
            generic = [generic_create(work, key, pub, n) for n in range(args.runs)]
            runs = [ec2_create(ec2, calls, work, key, pub, n) for n in range(args.runs)]
            five, five_calls = five_in_one_play(ec2, calls, work, key, pub)
    g, e = statistics.median(generic), statistics.median(r["seconds"] for r in runs)
    print("amazonec2 on the test bed (moto %s, machine image %s, %d runs each, medians)" % ("server on 127.0.0.1", IMAGE, args.runs))
    print("  generic create of the same kind of host   %6.1f s" % g)
    print("  amazonec2 create, end to end               %6.1f s   (%.2fx generic; target <= 1.5x)" % (e, e / g))
    print("  five amazonec2 machines in one play        %6.1f s   (forks=5; %.2fx one)" % (five, five / e))
    print("EC2 API calls (requests the emulator served)      ours   the original")
    print("  per create                                   %4d   %s" % (statistics.median(r["create"] for r in runs), ORIGINAL_CREATE))
    print("  per create, five in one play (each)          %4d" % (five_calls // 5))
    print("  per state=stopped                            %4d   %s" % (statistics.median(r["stop"] for r in runs), ORIGINAL_STOP))
    print("  per state=started                            %4d   %s" % (statistics.median(r["start"] for r in runs), ORIGINAL_START))


if __name__ == "__main__":
    main()
