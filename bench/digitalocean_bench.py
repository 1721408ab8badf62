# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: digitalocean machines on the test bed (the DigitalOcean API emulator on 127.0.0.1, each droplet a
machine container on 127.0.9.x), next to a generic create of the same kind of host, as bench/ec2_bench.py does for EC2.

Figures, each from real ansible-playbook runs:

- one digitalocean create, end to end (API calls, the droplet's boot, SSH, provisioning, Docker over TLS), and the
  same without the container's start (the emulator's stand-in for the droplet's boot, which a real droplet spends
  on DigitalOcean's side), next to a generic create of a container started beforehand;
- five digitalocean machines in one play (forks=5);
- API requests per create, per ``stopped`` and per ``started``, as the emulator counted them, next to the original's.

    make bench-digitalocean   # or: PYTHONPATH=.build/collections .venv/bin/python bench/digitalocean_bench.py

It prints figures; it asserts nothing. Machines it starts are removed at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from ansible_collections.dockyard.machine.tests.support import bed
from ansible_collections.dockyard.machine.tests.support.do_emulator import TOKEN, Emulator, emulator
from ansible_collections.dockyard.machine.tests.support.do_machines import IMAGE, Cloud
from ansible_collections.dockyard.machine.tests.support.timed_playbook import playbook

# drivers/digitalocean (godo): GET /v2/regions (pre-create check), POST /v2/account/keys, POST /v2/droplets, GET
# /v2/droplets/ID until it has a public address; then one GET /v2/droplets/ID for every GetIP/GetState while it
# provisions (each SSH command resolves the address again).
ORIGINAL_CREATE = "4 or more, plus one GET /v2/droplets/ID per SSH command while provisioning"
ORIGINAL_STOP = "1 (shutdown action; no wait)"
ORIGINAL_START = "1 (power_on action; no wait; the certificate is not re-issued)"


def do_vars(do: Emulator, work: Path, store: Path, state: str = "present", **options: object) -> dict:
    return {"store_path": str(store), "machine_state": state, "results_dir": str(work), "do_options": dict(options), "do_api_url": do.url}


def generic_create(work: Path, key: Path, pub: Path, index: int) -> float:
    name = "dobench-g%d" % index
    machine = bed.start_machine(name, IMAGE, "127.0.9.250", pub)
    try:
        extra = {
            "machine": name,
            "store_path": str(work / ("generic%d" % index)),
            "generic": {"ip_address": machine.ip, "ssh_key": str(key)},
            "engine": {"source": "distro"},
            "results_file": str(work / "result.json"),
        }
        return playbook("machine.yml", extra)
    finally:
        bed.stop_machine(name)


def do_create(cloud: Cloud, work: Path, index: int) -> dict[str, float]:
    do = cloud.fresh()
    name = "dobench-d%d" % index
    store = work / ("do-%d" % index)
    try:
        seconds = playbook("do_machine.yml", dict(do_vars(do, work, store), machine=name))
        created = len(do.requests)
        playbook("do_machine.yml", dict(do_vars(do, work, store, "stopped"), machine=name))
        stopped = len(do.requests)
        playbook("do_machine.yml", dict(do_vars(do, work, store, "started"), machine=name))
        started = len(do.requests)
        playbook("do_machine.yml", dict(do_vars(do, work, store, "absent"), machine=name))
        return {"seconds": seconds, "boot": cloud.boot_seconds[-1], "create": created, "stop": stopped - created, "start": started - stopped}
    finally:
        cloud.stop_all()


def five_in_one_play(cloud: Cloud, work: Path) -> tuple[float, int]:
    do = cloud.fresh()
    names = ["dobench-f%d" % n for n in range(1, 6)]
    inventory = work / "five.ini"
    inventory.write_text("[dofleet]\n%s\n" % "\n".join(names))
    store = work / "five"
    try:
        seconds = playbook("do_machine.yml", dict(do_vars(do, work, store), target="dofleet"), "-i", str(inventory), "--forks", "5")
        made = len(do.requests)
        playbook("do_machine.yml", dict(do_vars(do, work, store, "absent"), target="dofleet"), "-i", str(inventory), "--forks", "5")
        return seconds, made
    finally:
        cloud.stop_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--runs", type=int, default=3, help="creates of each kind (median printed)")
    args = parser.parse_args()
    bed.ensure_images(IMAGE)
    os.environ["DIGITALOCEAN_ACCESS_TOKEN"] = TOKEN  # the playbooks' token, as AWX's credential type injects it
    with tempfile.TemporaryDirectory(prefix="do-bench-") as tmp:
        work = Path(tmp)
        key, pub = bed.ssh_keypair(work / "keys")
        (work / "droplet-keys").mkdir()
        with emulator() as state:
            cloud = Cloud(state, work / "droplet-keys")
            generic = [generic_create(work, key, pub, n) for n in range(args.runs)]
            runs = [do_create(cloud, work, n) for n in range(args.runs)]
            five, five_calls = five_in_one_play(cloud, work)
    g, d = statistics.median(generic), statistics.median(r["seconds"] for r in runs)
    boot = statistics.median(r["boot"] for r in runs)
    print("digitalocean on the test bed (API emulator on 127.0.0.1, machine image %s, %d runs each, medians)" % (IMAGE, args.runs))
    print("  generic create of the same kind of host        %6.1f s" % g)
    print("  digitalocean create, end to end                 %6.1f s   (the droplet's boot, a container start, included: %.1f s)" % (d, boot))
    print("  digitalocean create without the boot            %6.1f s   (%.2fx generic)" % (d - boot, (d - boot) / g))
    print("  five digitalocean machines in one play          %6.1f s   (forks=5; %.2fx one)" % (five, five / d))
    print("API requests (as the emulator counted them)           ours   the original")
    print("  per create                                        %4d   %s" % (statistics.median(r["create"] for r in runs), ORIGINAL_CREATE))
    print("  per create, five in one play (each)               %4d" % (five_calls // 5))
    print("  per state=stopped                                 %4d   %s" % (statistics.median(r["stop"] for r in runs), ORIGINAL_STOP))
    print("  per state=started                                 %4d   %s" % (statistics.median(r["start"] for r in runs), ORIGINAL_START))


if __name__ == "__main__":
    main()
