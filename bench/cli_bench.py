# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: ``dockyard-machine ls`` and ``env -u`` next to the modules that do the same, over a generated store.

The store is the inventory benchmark's (generic machines on 127.10.x.y, where nothing listens, so every
machine answers Stopped at once). Each command runs as a subprocess, as a user runs it; the figure is the
median wall time of the runs.

    make bench-cli
    PYTHONPATH=.build/collections .venv/bin/python bench/cli_bench.py --size 1000 --runs 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ansible_collections.dockyard.machine.bench.inventory_bench import generate_store


def timed(argv: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _attempt in range(runs):
        started = time.monotonic()
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, check=False)
        times.append(time.monotonic() - started)
        if done.returncode != 0:
            raise SystemExit("%s failed (exit %d):\n%s%s" % (" ".join(argv), done.returncode, done.stdout, done.stderr))
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dym-cli-bench-") as scratch:
        store = Path(scratch) / "store"
        generate_store(store, args.size)
        env = dict(os.environ, MACHINE_STORAGE_PATH=str(store), SHELL="/bin/bash", ANSIBLE_NOCOLOR="1")
        env.pop("DOCKER_HOST", None)
        module = ["ansible", "localhost", "-m"]
        pairs = [
            ("ls", ["dockyard-machine", "ls", "-t", "2"], module + ["dockyard.machine.docker_machine_info", "-a", "timeout=2"]),
            ("ls -q", ["dockyard-machine", "ls", "-q"], None),
            ("env -u", ["dockyard-machine", "env", "-u"], module + ["dockyard.machine.docker_machine_env", "-a", "unset=true"]),
        ]
        print("%d machines, median of %d runs" % (args.size, args.runs))
        for label, command, equivalent in pairs:
            ours = timed(command, env, args.runs)
            line = "dockyard-machine %-7s %6.2f s" % (label, ours)
            if equivalent:
                line += "   module (ansible localhost -m %s) %6.2f s" % (equivalent[3], timed(equivalent, env, args.runs))
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
