# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: ``dockyard-machine`` next to the modules that do the same, its start-up, and community.docker's inventory.

Three parts, each command run as a subprocess as a user runs it (the figure is the median wall time of the runs):

1. ``ls``, ``ls -q`` and ``env -u`` over the inventory benchmark's store (generic machines on 127.10.x.y, where
   nothing listens, so every machine answers Stopped at once), next to the modules that do the same.
2. Start-up: ``ip NAME`` and ``inspect NAME`` on that store.
3. community.docker's ``docker_machine`` inventory plugin (``ansible-inventory --list``), which runs
   ``docker-machine`` from PATH: ``ls -q --filter state=Running``, then ``inspect`` and ``env --shell=sh`` for each
   machine. Its ``docker-machine`` is a symlink to ours; the machines (``--hosts`` of them) are one real TLS Docker
   engine on 127.0.0.1 whose certificate the store's CA signed, so every call does its whole work.

With the original Docker Machine binary (``--original PATH`` or ``$DOCKER_MACHINE_ORIGINAL``), each figure is given for
it too, on the same stores, runs interleaved, and the inventory it yields must be the same as ours.

The commands run as a user's do: without the test suite's network guard (loaded into every Python process, it would
add its own imports to each start; every address here is loopback) and with Python's bytecode cache, warmed first.

    make bench-cli
    make bench-cli BENCH_ARGS="--original /path/to/docker-machine"
    PYTHONPATH=.build/collections .venv/bin/python bench/cli_bench.py --size 1000 --runs 5 --original ...
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

from ansible_collections.dockyard.machine.bench.inventory_bench import generate_store
from ansible_collections.dockyard.machine.plugins.module_utils import _certs
from ansible_collections.dockyard.machine.tests.support.tls_engine import tls_engine

OURS = "dockyard-machine"
ORIGINAL_ENV = "DOCKER_MACHINE_ORIGINAL"
INVENTORY_PLUGIN = "community.docker.docker_machine"
# Issue 16's targets: start-up no slower than the original; community.docker's inventory at most 1.2x the original's.
STARTUP_TARGET = 1.0
INVENTORY_TARGET = 1.2


def user_env(**extra: str) -> dict[str, str]:
    """The environment a user's shell gives the command: this checkout's collection, no test network guard, bytecode
    written and read as Python does by default."""
    env = dict(os.environ, SHELL="/bin/bash", ANSIBLE_NOCOLOR="1", **extra)
    for name in ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_MACHINE_NAME", "PYTHONDONTWRITEBYTECODE", "DOCKYARD_NETGUARD"):
        env.pop(name, None)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and not p.rstrip("/").endswith("netguard")]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def run(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=900, check=False)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit("%s failed (exit %d):\n%s%s" % (" ".join(argv), done.returncode, done.stdout, done.stderr))
    return took


def interleaved(commands: t.Mapping[str, list[str]], env: dict[str, str], runs: int) -> dict[str, float]:
    """The median wall time of each command, their runs taken in turn so that load on the machine hits all alike."""
    times: dict[str, list[float]] = {label: [] for label in commands}
    for _round in range(runs):
        for label, argv in commands.items():
            times[label].append(run(argv, env))
    return {label: statistics.median(values) for label, values in times.items()}


def ratio_line(label: str, ours: float, original: float | None, target: float) -> str:
    if original is None:
        return "%-44s ours %7.3f s" % (label, ours)
    ratio = ours / original
    return "%-44s ours %7.3f s   original %7.3f s   %5.2fx (target <= %.1fx: %s)" % (
        label,
        ours,
        original,
        ratio,
        target,
        "met" if ratio <= target else "NOT met",
    )


def modules_and_listing(store: Path, original: str | None, runs: int) -> None:
    env = user_env(MACHINE_STORAGE_PATH=str(store))
    module = ["ansible", "localhost", "-m"]
    rows = [
        ("ls", ["ls", "-t", "2"], module + ["dockyard.machine.docker_machine_info", "-a", "timeout=2"]),
        ("ls -q", ["ls", "-q"], None),
        ("env -u", ["env", "-u"], module + ["dockyard.machine.docker_machine_env", "-a", "unset=true"]),
    ]
    for label, args, equivalent in rows:
        commands = {"ours": [OURS, *args]}
        if equivalent:
            commands["module"] = equivalent
        if original:
            commands["original"] = [original, *args]
        medians = interleaved(commands, env, runs)
        line = "dockyard-machine %-7s %7.3f s" % (label, medians["ours"])
        if "module" in medians:
            line += "   module (ansible localhost -m %s) %7.3f s" % (equivalent[3], medians["module"])
        if "original" in medians:
            line += "   original %7.3f s" % medians["original"]
        print(line, flush=True)


def startup(store: Path, name: str, original: str | None, runs: int) -> None:
    env = user_env(MACHINE_STORAGE_PATH=str(store))
    for args in (["ip", name], ["inspect", name]):
        commands = {"ours": [OURS, *args]}
        if original:
            commands["original"] = [original, *args]
        medians = interleaved(commands, env, runs)
        print(ratio_line("docker-machine %s" % " ".join(args), medians["ours"], medians.get("original"), STARTUP_TARGET), flush=True)


def engine_store(root: Path, hosts: int) -> Path:
    """A store of ``hosts`` generic machines and the files of an engine its CA signed for 127.0.0.1."""
    store = root / "store"
    generate_store(store, hosts)
    ca = _certs.load_pair((store / "certs" / "ca.pem").read_bytes(), (store / "certs" / "ca-key.pem").read_bytes())
    server = _certs.new_server(ca, "%s.bench" % _certs.default_org_user(), ["127.0.0.1"])
    (root / "server.pem").write_bytes(server.cert_pem)
    (root / "server-key.pem").write_bytes(server.key_pem)
    os.chmod(root / "server-key.pem", 0o600)
    return store


def point_at(store: Path, port: int) -> None:
    """Every machine is the engine on 127.0.0.1:port (its SSH port too, so that each one counts as running)."""
    for config in sorted((store / "machines").glob("*/config.json")):
        doc = json.loads(config.read_text())
        doc["Driver"].update(IPAddress="127.0.0.1", SSHPort=port, EnginePort=port)
        config.write_text(json.dumps(doc, indent=4))


def inventory(root: Path, hosts: int, original: str | None, runs: int) -> None:
    store = engine_store(root, hosts)
    with tls_engine(root / "dockerd", store / "certs" / "ca.pem", root / "server.pem", root / "server-key.pem") as engine:
        point_at(store, engine.port)
        source = root / "bench.docker_machine.yml"
        source.write_text("plugin: %s\n" % INVENTORY_PLUGIN)
        argv = [str(Path(sys.executable).with_name("ansible-inventory")), "-i", str(source), "--list"]
        programs = {"ours": shutil.which(OURS)}
        if original:
            programs["original"] = original
        envs = {}
        for label, program in programs.items():
            if program is None:
                raise SystemExit("%s is not on PATH: run `make venv`" % OURS)
            folder = root / ("bin-" + label)
            folder.mkdir()
            (folder / "docker-machine").symlink_to(os.path.abspath(program))
            envs[label] = user_env(MACHINE_STORAGE_PATH=str(store), PATH=str(folder) + os.pathsep + os.environ["PATH"], ANSIBLE_INVENTORY_CACHE="False")
        listings = {}
        for label, env in envs.items():
            done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=900, check=False)
            if done.returncode != 0 or "WARNING" in done.stderr:
                raise SystemExit("ansible-inventory over %s failed or warned:\n%s" % (label, done.stderr))
            listings[label] = json.loads(done.stdout)["_meta"]["hostvars"]
            if len(listings[label]) != hosts:
                raise SystemExit("ansible-inventory over %s listed %d hosts, expected %d" % (label, len(listings[label]), hosts))
        if original and listings["ours"] != listings["original"]:
            raise SystemExit("community.docker's inventory differs over ours and over the original")
        times: dict[str, list[float]] = {label: [] for label in envs}
        for _round in range(runs):
            for label, env in envs.items():
                times[label].append(run(argv, env))
        medians = {label: statistics.median(values) for label, values in times.items()}
        label = "ansible-inventory (%s, %d hosts)" % (INVENTORY_PLUGIN, hosts)
        print(ratio_line(label, medians["ours"], medians.get("original"), INVENTORY_TARGET), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000, help="machines in the store of ls, env -u and the start-up figures")
    parser.add_argument("--runs", type=int, default=3, help="runs of each ls, env -u and inventory figure (the median is given)")
    parser.add_argument("--startup-runs", type=int, default=21, help="runs of each start-up figure")
    parser.add_argument("--hosts", type=int, default=10, help="machines of community.docker's inventory")
    parser.add_argument("--original", default=os.environ.get(ORIGINAL_ENV) or None, help="the original docker-machine binary (default: $%s)" % ORIGINAL_ENV)
    args = parser.parse_args(argv)
    if args.original and not os.access(args.original, os.X_OK):
        raise SystemExit("--original %s is not an executable file" % args.original)
    with tempfile.TemporaryDirectory(prefix="dym-cli-bench-") as scratch:
        store = Path(scratch) / "store"
        generate_store(store, args.size)
        first = sorted(p.name for p in (store / "machines").iterdir())[0]
        run([OURS, "ip", first], user_env(MACHINE_STORAGE_PATH=str(store)))  # writes the bytecode cache
        print("%d machines, median of %d runs%s" % (args.size, args.runs, "; original: %s" % args.original if args.original else ""), flush=True)
        modules_and_listing(store, args.original, args.runs)
        print("start-up, median of %d runs" % args.startup_runs, flush=True)
        startup(store, first, args.original, args.startup_runs)
        print("community.docker's inventory plugin over docker-machine on PATH, median of %d runs" % args.runs, flush=True)
        inventory(Path(scratch) / "inventory", args.hosts, args.original, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
