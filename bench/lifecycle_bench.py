# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: machine lifecycle on the test bed, against the targets of DESIGN.md section 10.

Three figures, each from real ansible-playbook runs against machine containers (systemd + sshd) on
loopback addresses:

- one ``generic`` create on a host that already has Docker (target: first try succeeds, <= 10 s);
- ten machines created by one play with ``--forks 10`` on an empty store, against one machine's
  time (target: <= 1.5x, exactly one CA);
- one server-certificate regeneration with ``force=true`` (target: no slower than the original,
  whose regenerate-certs re-runs the whole provisioning; running containers survive, which the
  end-to-end tests check).

    make bench-lifecycle          # or: PYTHONPATH=.build/collections .venv/bin/python bench/lifecycle_bench.py

It prints figures; it asserts nothing.  Machines it starts are removed at the end.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ansible_collections.dockyard.machine.tests.support import bed
from ansible_collections.dockyard.machine.tests.support.timed_playbook import playbook

IMAGE = "bookworm-docker"


def one_create(work: Path, key: Path, pub: Path, index: int) -> float:
    name, ip = "bench%d" % index, "127.0.0.%d" % (100 + index)
    machine = bed.start_machine(name, IMAGE, ip, pub)
    try:
        extra = {"machine": name, "store_path": str(work / ("store%d" % index)), "generic": {"ip_address": machine.ip, "ssh_key": str(key)},
                 "engine": {"source": "distro"}, "results_file": str(work / "result.json")}
        return playbook("machine.yml", extra)
    finally:
        bed.stop_machine(name)


def fleet_create(work: Path, key: Path, pub: Path, size: int) -> tuple[float, int]:
    fleet = [("bfleet%d" % n, "127.0.0.%d" % (120 + n)) for n in range(1, size + 1)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda m: bed.start_machine(m[0], IMAGE, m[1], pub), fleet))
    try:
        store = work / "fleet-store"
        inventory = work / "fleet.ini"
        lines = ["[fleet]"] + ["%s machine_ip=%s ansible_connection=local" % (n, ip) for n, ip in fleet]
        lines += ["", "[fleet:vars]", "store_path=%s" % store, "ssh_key=%s" % key]
        inventory.write_text("\n".join(lines) + "\n")
        elapsed = playbook("fleet.yml", {}, "-i", str(inventory), "--forks", str(size))
        cas = len(list((store / "certs").glob("ca.pem")))
        return elapsed, cas
    finally:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(bed.stop_machine, [n for n, dummy in fleet]))


def regeneration(work: Path, key: Path, pub: Path) -> float:
    machine = bed.start_machine("bregen", IMAGE, "127.0.0.140", pub)
    try:
        store = work / "regen-store"
        playbook("machine.yml", {"machine": "bregen", "store_path": str(store), "generic": {"ip_address": machine.ip, "ssh_key": str(key)},
                                 "engine": {"source": "distro"}, "results_file": str(work / "result.json")})
        return playbook("certs.yml", {"store_path": str(store), "machines": ["bregen"], "certs_action": "regenerate", "force": True,
                                      "results_file": str(work / "certs.json")})
    finally:
        bed.stop_machine("bregen")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--runs", type=int, default=3, help="single-machine creates to take the median of")
    parser.add_argument("--fleet", type=int, default=10, help="machines in the one-play fleet")
    args = parser.parse_args()
    bed.ensure_images(IMAGE)
    with tempfile.TemporaryDirectory(prefix="dyk-bench-") as scratch:
        work = Path(scratch)
        key, pub = bed.ssh_keypair(work / "keys")
        singles = [one_create(work, key, pub, n) for n in range(args.runs)]
        single = statistics.median(singles)
        fleet, cas = fleet_create(work, key, pub, args.fleet)
        regen = regeneration(work, key, pub)
    print("Each figure is the wall time of a whole ansible-playbook run (Ansible's own start-up included).")
    print("%-52s %8s   %s" % ("what", "seconds", "target"))
    runs = ", ".join("%.1f" % s for s in singles)
    print("%-52s %8.1f   <= 10 s, first try (runs: %s)" % ("generic create, Docker present (median)", single, runs))
    label = "%d machines, one play, forks=%d" % (args.fleet, args.fleet)
    print("%-52s %8.1f   <= %.1f s (1.5 x one machine); CAs made: %d" % (label, fleet, 1.5 * single, cas))
    print("%-52s %8.2f   <= 1.5" % ("fleet / one machine", fleet / single))
    print("%-52s %8.1f   <= the original's regenerate-certs (a full re-provision)" % ("server certificate regeneration (force)", regen))


if __name__ == "__main__":
    main()
