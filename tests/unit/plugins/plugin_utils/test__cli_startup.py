# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start-up of ``dockyard-machine``: the commands scripts and inventories call often import only what they use.

Each command runs in a Python process of its own, as the console command (this checkout's ``cli/`` entry point,
then the collection), against a moved copy of the original's store whose machine ``m1`` is a small TLS engine on
127.0.0.1 (so ``url``, ``config``, ``env`` and ``active`` do their whole work). What the process imported is read from
``sys.modules`` when it ends. Neither Ansible nor a cloud SDK may be among it, nor the cloud drivers' modules for a
generic machine, nor the TLS client for the commands that never talk to an engine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import typing as t
from pathlib import Path

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils import _certs
from ansible_collections.dockyard.machine.tests.conftest import CHECKOUT
from ansible_collections.dockyard.machine.tests.unit.plugins.modules.test_docker_machine_env import start_engine
from ansible_collections.dockyard.machine.tests.unit.plugins.plugin_utils.test__cli import set_driver

# Runs the command as its console script does, then writes the names of every module the process imported and the
# file the command line was loaded from.
PROBE = """
import json, runpy, sys
report = sys.argv.pop(1)
if sys.flags.no_site:
    try:
        import sitecustomize  # the test suite's network guard, which -S skips
    except ImportError:
        pass
sys.argv[0] = "dockyard-machine"
code = 0
try:
    runpy.run_module("dockyard_machine_cli", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code
cli = sys.modules.get("ansible_collections.dockyard.machine.plugins.plugin_utils._cli")
with open(report, "w") as handle:
    json.dump({"modules": sorted(sys.modules), "cli": getattr(cli, "__file__", None)}, handle)
sys.exit(code)
"""
DRIVERS = "ansible_collections.dockyard.machine.plugins.module_utils._drivers."
# Packages none of these commands uses: Ansible itself, the cloud SDKs, the crypto library (certificates are only made
# by create, regenerate-certs, import).
NEVER = ("ansible", "boto3", "botocore", "cryptography")
CLOUD_DRIVERS = (DRIVERS + "amazonec2", DRIVERS + "aws_access", DRIVERS + "digitalocean")
# What only a command that talks to an engine over TLS needs.
TLS_CLIENT = ("ssl", "_ssl", "http.client")
CLI_FILE = Path("ansible_collections", "dockyard", "machine", "plugins", "plugin_utils", "_cli.py")


def imported(names: t.Iterable[str], packages: t.Iterable[str]) -> list[str]:
    """The modules of ``names`` that are one of ``packages`` or inside one (a prefix ending in a module name matches
    that module's siblings that start the same, as amazonec2_create for amazonec2)."""
    chosen = tuple(packages)
    return sorted(n for n in names if any(n == p or n.startswith(p + ".") or (p.startswith(DRIVERS) and n.startswith(p)) for p in chosen))


class Probe:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.count = 0

    def run(self, args: t.Sequence[str], env: t.Mapping[str, str], *, no_site: bool = False) -> tuple[subprocess.CompletedProcess, dict[str, t.Any]]:
        self.count += 1
        report = self.tmp_path / ("modules-%d.json" % self.count)
        argv = [sys.executable] + (["-S"] if no_site else []) + ["-c", PROBE, str(report), *args]
        done = subprocess.run(argv, env=dict(env), cwd=str(self.tmp_path), capture_output=True, text=True, timeout=120, check=False)
        assert report.exists(), done.stderr
        return done, json.loads(report.read_text())


@pytest.fixture
def stores(fixture_store: Path, tmp_path: Path) -> t.Iterator[tuple[Path, Path, int]]:
    """(the moved store, the same without its EC2 machine), m1 of both being an engine the store's CA signed."""
    ca = _certs.load_pair((fixture_store / "certs" / "ca.pem").read_bytes(), (fixture_store / "certs" / "ca-key.pem").read_bytes())
    state, server = start_engine(tmp_path, ca, fixture_store / "certs" / "ca.pem")
    set_driver(fixture_store, "m1", IPAddress="127.0.0.1", EnginePort=state.port, SSHPort=state.port)
    set_driver(fixture_store, "m2", IPAddress="127.0.0.189")
    generic_only = tmp_path / "generic-only"
    shutil.copytree(fixture_store, generic_only, symlinks=True)
    shutil.rmtree(generic_only / "machines" / "aws-sandbox")
    yield fixture_store, generic_only, state.port
    server.shutdown()
    server.server_close()


def checkout_env(store: Path) -> dict[str, str]:
    """This checkout's entry point first, then the collection on PYTHONPATH as the test suite puts it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "MACHINE_", "DOCKER_"))}
    env.update(
        PYTHONPATH=os.pathsep.join([str(CHECKOUT / "cli"), os.environ.get("PYTHONPATH", "")]),
        MACHINE_STORAGE_PATH=str(store),
        SHELL="/bin/bash",
    )
    return env


@pytest.mark.parametrize(
    ("args", "store_kind", "needs_tls"),
    [
        (["ip", "m1"], "full", False),
        (["ip", "aws-sandbox"], "full", False),
        (["inspect", "m1"], "full", False),
        (["inspect", "aws-sandbox"], "full", False),
        (["inspect", "-f", "{{.Driver.IPAddress}}", "m1"], "full", False),
        (["ls", "-q"], "full", False),
        (["status", "m1"], "full", True),
        (["url", "m1"], "full", True),
        (["config", "m1"], "full", True),
        (["env", "m1"], "full", True),
        (["env", "--shell=sh", "m1"], "full", True),
        (["env", "-u"], "full", False),
        (["active"], "generic", True),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_the_everyday_commands_import_neither_ansible_nor_cloud_code(
    stores: tuple[Path, Path, int], tmp_path: Path, args: list[str], store_kind: str, needs_tls: bool
) -> None:
    full, generic_only, port = stores
    env = checkout_env(full if store_kind == "full" else generic_only)
    env["DOCKER_HOST"] = "tcp://127.0.0.1:%d" % port
    done, report = Probe(tmp_path).run(args, env)
    modules = report["modules"]
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), "the command printed nothing"
    if args[0] in ("ip", "url") and args[1] == "m1":
        assert done.stdout.strip() in ("127.0.0.1", "tcp://127.0.0.1:%d" % port)
    if args == ["active"]:
        assert done.stdout == "m1\n"
    assert imported(modules, NEVER) == []
    if "aws-sandbox" not in args:
        assert imported(modules, CLOUD_DRIVERS) == []
    else:
        assert imported(modules, (DRIVERS + "digitalocean",)) == []
    if not needs_tls:
        assert imported(modules, TLS_CLIENT) == []


def galaxy_env(tmp_path: Path, store: Path) -> dict[str, str]:
    """A process that finds the collection only where ``ansible-galaxy collection install`` puts it (not on sys.path):
    no site (so no .pth of this venv names a checkout), Python's and the venv's libraries on PYTHONPATH instead."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "MACHINE_", "DOCKER_"))}
    netguard = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p.endswith("netguard")]
    env.update(
        PYTHONPATH=os.pathsep.join([str(CHECKOUT / "cli"), *netguard, sysconfig.get_paths()["purelib"]]),
        MACHINE_STORAGE_PATH=str(store),
        HOME=str(tmp_path / "home"),
    )
    return env


def installed_collection(root: Path) -> Path:
    """``root``/ansible_collections/dockyard/machine: this checkout, as ansible-galaxy lays out a collection."""
    (root / "ansible_collections" / "dockyard").mkdir(parents=True)
    (root / "ansible_collections" / "dockyard" / "machine").symlink_to(CHECKOUT)
    return root


def test_a_collection_in_ansible_s_default_place_is_found_without_importing_ansible(stores: tuple[Path, Path, int], tmp_path: Path) -> None:
    env = galaxy_env(tmp_path, stores[0])
    installed_collection(tmp_path / "home" / ".ansible" / "collections")
    done, report = Probe(tmp_path).run(["ip", "m1"], env, no_site=True)
    assert (done.returncode, done.stdout) == (0, "127.0.0.1\n"), done.stderr
    assert report["cli"] == str(tmp_path / "home" / ".ansible" / "collections" / CLI_FILE)
    assert imported(report["modules"], NEVER) == []


def test_a_collection_on_ansible_collections_path_is_found_without_importing_ansible(stores: tuple[Path, Path, int], tmp_path: Path) -> None:
    env = galaxy_env(tmp_path, stores[0])
    env["ANSIBLE_COLLECTIONS_PATH"] = str(installed_collection(tmp_path / "elsewhere"))
    done, report = Probe(tmp_path).run(["inspect", "-f", "{{.Driver.IPAddress}}", "m1"], env, no_site=True)
    assert (done.returncode, done.stdout) == (0, "127.0.0.1\n"), done.stderr
    assert report["cli"] == str(tmp_path / "elsewhere" / CLI_FILE)
    assert imported(report["modules"], NEVER) == []


def test_an_ansible_cfg_that_sets_the_collections_path_is_read_by_ansible(stores: tuple[Path, Path, int], tmp_path: Path) -> None:
    """Where ansible.cfg may move the path, Ansible's own config reads it (relative to the file, templates and all)."""
    env = galaxy_env(tmp_path, stores[0])
    installed_collection(tmp_path / "from-cfg")
    (tmp_path / "ansible.cfg").write_text("[defaults]\ncollections_path = ./from-cfg\n")
    os.chmod(tmp_path, 0o755)
    done, report = Probe(tmp_path).run(["ip", "m1"], env, no_site=True)
    assert (done.returncode, done.stdout) == (0, "127.0.0.1\n"), done.stderr
    assert report["cli"] == str(tmp_path / "from-cfg" / CLI_FILE)
    assert "ansible.constants" in report["modules"]
