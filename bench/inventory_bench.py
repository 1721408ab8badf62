# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: ``ansible-inventory --list`` over the docker_machine plugin vs a static YAML inventory.

For each size it generates a docker-machine store of generic machines (records shaped exactly like the
fixture's ``m1/config.json``, every path pointing into the generated store, addresses from 127.0.0.0/8),
lists it once with our plugin, turns that listing into a static YAML inventory holding the same hosts, groups
and variables (checked identical), then times ``ansible-inventory --list`` (output to /dev/null) for both and
prints the median of the runs and the ratio.  Target (DESIGN.md section 10): ours <= 1.25x static at 1,000.

    make bench-inventory                                            # 100, 1000, 10000 machines, median of 5
    PYTHONPATH=.build/collections .venv/bin/python bench/inventory_bench.py --sizes 1000 --runs 9
"""

from __future__ import annotations

import argparse
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

from ansible_collections.dockyard.machine.tests.support.inventory_json import plain

REPO = Path(__file__).resolve().parents[1]
FIXTURE_STORE = REPO / "tests" / "fixtures" / "docker-machine-store"
FIXTURE_ROOT = "/home/operator/.docker/machine"
TEMPLATE_MACHINE = "m1"
MACHINE_FILES = ("ca.pem", "cert.pem", "key.pem", "id_rsa", "id_rsa.pub", "server.pem", "server-key.pem")
PLUGIN = "dockyard.machine.docker_machine"
TARGET_RATIO = 1.25

Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def machine_address(index: int) -> str:
    """127.10.0.1, 127.10.0.2 ... : loopback only, never .0 or .255 in the last octet."""
    return "127.%d.%d.%d" % (10 + index // (254 * 256), (index // 254) % 256, 1 + index % 254)


def generate_store(root: Path, count: int) -> None:
    """A store like the original writes: certs/, machines/<name>/{config.json, certs, keys}, 0700/0600."""
    template_text = (FIXTURE_STORE / "machines" / TEMPLATE_MACHINE / "config.json").read_text()
    template_dir = FIXTURE_STORE / "machines" / TEMPLATE_MACHINE
    shutil.copytree(FIXTURE_STORE / "certs", root / "certs")
    (root / "machines").mkdir(parents=True)
    for index in range(count):
        name = "bench-%05d" % index
        folder = root / "machines" / name
        folder.mkdir(mode=0o700)
        doc = json.loads(template_text.replace(FIXTURE_ROOT, str(root)).replace("/machines/m1", "/machines/" + name))
        doc["Name"] = name
        doc["Driver"]["MachineName"] = name
        doc["Driver"]["IPAddress"] = machine_address(index)
        (folder / "config.json").write_text(json.dumps(doc, indent=4))
        for filename in MACHINE_FILES:
            shutil.copyfile(template_dir / filename, folder / filename)
    for folder, _dirs, files in os.walk(root):
        os.chmod(folder, 0o700)
        for filename in files:
            os.chmod(os.path.join(folder, filename), 0o600)


def static_inventory(listing: dict[str, t.Any]) -> dict[str, t.Any]:
    """The same hosts, groups and variables as a YAML inventory (each host's variables written once)."""
    hostvars = plain(listing["_meta"]["hostvars"])
    children: dict[str, t.Any] = {}
    placed: set[str] = set()
    for group in listing["all"].get("children", []):
        hosts = listing.get(group, {}).get("hosts", [])
        if group == "ungrouped" or not hosts:
            continue
        entries = {}
        for name in hosts:
            entries[name] = None if name in placed else hostvars[name]
            placed.add(name)
        children[group] = {"hosts": entries}
    loose = {name: hostvars[name] for name in hostvars if name not in placed}
    all_group: dict[str, t.Any] = {"children": children}
    if loose:
        all_group["hosts"] = loose
    return {"all": all_group}


class Bench:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        collections = workdir / "collections"
        (collections / "ansible_collections" / "dockyard").mkdir(parents=True, exist_ok=True)
        link = collections / "ansible_collections" / "dockyard" / "machine"
        if not link.exists():
            link.symlink_to(REPO)
        self.ansible_inventory = str(Path(sys.executable).with_name("ansible-inventory"))
        self.base_env = dict(os.environ)
        self.base_env.pop("MACHINE_STORAGE_PATH", None)
        self.base_env.update(ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_INVENTORY_CACHE="False")

    def run(self, source: Path, enabled: str, stdout: t.Any) -> subprocess.CompletedProcess:
        env = dict(self.base_env, ANSIBLE_INVENTORY_ENABLED=enabled)
        command = [self.ansible_inventory, "-i", str(source), "--list"]
        result = subprocess.run(command, env=env, cwd=str(source.parent), stdout=stdout, stderr=subprocess.PIPE, text=True, check=False)
        if result.returncode != 0:
            raise SystemExit("ansible-inventory failed on %s:\n%s" % (source, result.stderr))
        if "WARNING" in (result.stderr or ""):
            raise SystemExit("ansible-inventory warned on %s:\n%s" % (source, result.stderr))
        return result

    def listing(self, source: Path, enabled: str) -> dict[str, t.Any]:
        return json.loads(self.run(source, enabled, subprocess.PIPE).stdout)

    def timed(self, source: Path, enabled: str, runs: int) -> list[float]:
        times = []
        with open(os.devnull, "w") as devnull:
            for _run in range(runs):
                started = time.perf_counter()
                self.run(source, enabled, devnull)
                times.append(time.perf_counter() - started)
        return times

    def size(self, count: int, runs: int) -> dict[str, t.Any]:
        folder = self.workdir / ("n%d" % count)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        store = folder / "store"
        generate_store(store, count)
        ours = folder / "bench.docker_machine.yml"
        ours.write_text(yaml.safe_dump({"plugin": PLUGIN, "store_path": str(store)}))
        listing = self.listing(ours, PLUGIN)
        if len(listing["_meta"]["hostvars"]) != count:
            raise SystemExit("the plugin listed %d hosts, expected %d" % (len(listing["_meta"]["hostvars"]), count))
        static = folder / "static.yml"
        with open(static, "w") as handle:
            yaml.dump(static_inventory(listing), handle, Dumper=Dumper, default_flow_style=False, sort_keys=False)
        static_listing = self.listing(static, "yaml")
        identical = plain(static_listing["_meta"]["hostvars"]) == plain(listing["_meta"]["hostvars"]) and all(
            set(static_listing.get(g, {}).get("hosts", [])) == set(listing.get(g, {}).get("hosts", []))
            for g in listing["all"]["children"]
        )
        if not identical:
            raise SystemExit("the static inventory does not list what the plugin lists (%d machines)" % count)
        # Interleave the two so that machine noise hits both alike.
        ours_times: list[float] = []
        static_times: list[float] = []
        for _round in range(runs):
            ours_times += self.timed(ours, PLUGIN, 1)
            static_times += self.timed(static, "yaml", 1)
        return {
            "machines": count,
            "ours": statistics.median(ours_times),
            "static": statistics.median(static_times),
            "ours_runs": ours_times,
            "static_runs": static_times,
            "static_bytes": static.stat().st_size,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per inventory; the median is reported")
    parser.add_argument("--workdir", type=Path, help="where stores are generated (default: a temporary folder, removed)")
    parser.add_argument("--json", action="store_true", help="also print every run as JSON")
    args = parser.parse_args(argv)

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dockyard-inventory-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    bench = Bench(workdir)
    rows = []
    try:
        print("ansible-inventory --list, median of %d runs (seconds); output to /dev/null" % args.runs)
        print("%10s  %12s  %12s  %7s" % ("machines", PLUGIN.rsplit(".", 1)[-1], "static YAML", "ratio"))
        for count in args.sizes:
            row = bench.size(count, args.runs)
            rows.append(row)
            print("%10d  %12.3f  %12.3f  %6.2fx" % (count, row["ours"], row["static"], row["ours"] / row["static"]), flush=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(rows, indent=2))
    at_target = [r for r in rows if r["machines"] == 1000]
    if at_target:
        ratio = at_target[0]["ours"] / at_target[0]["static"]
        print("target at 1,000 machines: <= %.2fx -> %.2fx %s" % (TARGET_RATIO, ratio, "met" if ratio <= TARGET_RATIO else "NOT met"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
