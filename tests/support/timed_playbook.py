"""One timed ansible-playbook run of the end-to-end playbooks, for the benchmarks in bench/."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PLAYBOOKS = REPO / "tests" / "e2e" / "playbooks"


def playbook(name: str, extra: dict, *args: str) -> float:
    """Seconds one ansible-playbook run of tests/e2e/playbooks/NAME took; raises when it failed."""
    env = dict(os.environ)
    for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        env.pop(variable, None)
    started = time.monotonic()
    done = subprocess.run(["ansible-playbook", str(PLAYBOOKS / name), "-e", json.dumps(extra), *args],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=900, check=False)
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError("%s failed:\n%s%s" % (name, done.stdout[-4000:], done.stderr[-2000:]))
    return elapsed
