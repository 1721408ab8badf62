"""End-to-end fixtures: a real TLS Docker engine whose CA is a store's, and real ansible-playbook runs."""

from __future__ import annotations

import json
import os
import subprocess
import typing as t
from dataclasses import dataclass
from pathlib import Path

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils import _certs, _machine
from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineStore
from ansible_collections.dockyard.machine.tests.conftest import FIXTURE_STORE, copy_store
from ansible_collections.dockyard.machine.tests.support import bed
from ansible_collections.dockyard.machine.tests.support.tls_engine import TLSEngine, tls_engine

REPO = Path(__file__).resolve().parents[2]
PLAYBOOKS = Path(__file__).parent / "playbooks"


@dataclass
class EngineStore:
    """A store whose CA signed the running engine's server certificate."""

    root: Path
    engine: TLSEngine


@pytest.fixture(scope="session")
def engine_store(tmp_path_factory) -> t.Iterator[EngineStore]:
    base = tmp_path_factory.mktemp("engine")
    store = MachineStore(str(base / "store"))
    authority = _machine.ensure_certificates(store)
    server = _certs.new_server(authority.ca, "%s.engine" % _certs.default_org_user(), ["127.0.0.1"])
    (base / "server.pem").write_bytes(server.cert_pem)
    (base / "server-key.pem").write_bytes(server.key_pem)
    os.chmod(base / "server-key.pem", 0o600)
    with tls_engine(base / "dockerd", Path(store.cert_path("ca.pem")), base / "server.pem", base / "server-key.pem") as engine:
        yield EngineStore(root=base / "store", engine=engine)


@pytest.fixture(scope="session")
def bed_key(tmp_path_factory) -> tuple[Path, Path]:
    """The test bed's images with Docker, and an SSH key pair the machines authorize: (private, public)."""
    bed.ensure_images("bookworm-docker")
    return bed.ssh_keypair(tmp_path_factory.mktemp("keys"))


def docker_cli(env_vars: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """The docker CLI with only the given DOCKER_* variables, as after `eval $(docker-machine env)`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env.update(env_vars)
    return subprocess.run(["docker", *args], capture_output=True, text=True, env=env, timeout=120, check=False)


def run_playbook(
    playbook: str,
    extra_vars: dict[str, t.Any],
    *,
    check: bool = False,
    env: dict[str, str] | None = None,
    inventory: Path | None = None,
    forks: int | None = None,
) -> subprocess.CompletedProcess:
    argv = ["ansible-playbook", str(PLAYBOOKS / playbook), "-e", json.dumps(extra_vars)]
    if check:
        argv.append("--check")
    if inventory is not None:
        argv += ["-i", str(inventory)]
    if forks is not None:
        argv += ["--forks", str(forks)]
    full_env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    # requests lets these variables override a per-session CA file (psf/requests#3829), so with them
    # set community.docker would verify our engine against the system CAs instead of ca_path.
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        full_env.pop(name, None)
    full_env.update(env or {})
    return subprocess.run(argv, capture_output=True, text=True, env=full_env, cwd=REPO, timeout=600, check=False)


def recap(output: str, host: str = "localhost") -> dict[str, int]:
    """One host's line of PLAY RECAP as numbers."""
    for line in output.splitlines():
        if line.split(" ", 1)[0] == host and "ok=" in line:
            return {k: int(v) for k, v in (field.split("=") for field in line.split(":", 1)[1].split())}
    raise AssertionError("no PLAY RECAP line in:\n" + output)


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    """The store the original Docker Machine wrote, copied to another folder; its generic machines on
    127.0.0.188-189, where nothing listens (the fixture's own addresses may be another test's)."""
    store = copy_store(FIXTURE_STORE, tmp_path / "old" / "machine")
    for name, ip in (("m1", "127.0.0.188"), ("m2", "127.0.0.189")):
        config = store / "machines" / name / "config.json"
        doc = json.loads(config.read_text())
        doc["Driver"]["IPAddress"] = ip
        config.write_text(json.dumps(doc, indent=4))
    return store
