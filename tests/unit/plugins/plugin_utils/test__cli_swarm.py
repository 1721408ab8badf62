# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SWARM column of ``ls`` and its ``swarm`` filter: the original's standalone Swarm from the records it wrote, Swarm
mode from what each engine's /info says (the fake engines of the env module's tests, one per machine)."""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils import _certs
from ansible_collections.dockyard.machine.tests.unit.plugins.modules.test_docker_machine_env import FAKE_VERSION, FakeEngine, start_engine
from ansible_collections.dockyard.machine.tests.unit.plugins.plugin_utils.test__cli import run, set_driver


def _host_options(store: Path, name: str, **swarm: t.Any) -> None:
    path = store / "machines" / name / "config.json"
    doc = json.loads(path.read_text())
    doc["HostOptions"]["SwarmOptions"].update(swarm)
    path.write_text(json.dumps(doc, indent=4))


@pytest.fixture
def stopped(fixture_store: Path) -> Path:
    """The original's store, its generic machines moved where nothing listens (stopped)."""
    set_driver(fixture_store, "m1", IPAddress="127.0.0.188")
    set_driver(fixture_store, "m2", IPAddress="127.0.0.189")
    return fixture_store


@pytest.fixture
def engines(fixture_store: Path, tmp_path: Path) -> t.Iterator[dict[str, FakeEngine]]:
    """m1 and m2 each reached at an engine of its own that the store's CA signed (running)."""
    ca = _certs.load_pair((fixture_store / "certs" / "ca.pem").read_bytes(), (fixture_store / "certs" / "ca-key.pem").read_bytes())
    started = {}
    for name in ("m1", "m2"):
        folder = tmp_path / name
        folder.mkdir()
        state, server = start_engine(folder, ca, fixture_store / "certs" / "ca.pem")
        set_driver(fixture_store, name, IPAddress="127.0.0.1", EnginePort=state.port, SSHPort=state.port)
        started[name] = (state, server)
    yield {name: state for name, (state, server) in started.items()}
    for state, server in started.values():
        server.shutdown()
        server.server_close()


def _column(result, name: str) -> str:
    """The SWARM cell of a row of `ls --format`'s `{{.Name}}|{{.Swarm}}` lines."""
    return dict(line.split("|", 1) for line in result.out.splitlines())[name]


def test_ls_shows_the_master_of_swarms_the_original_made(stopped: Path) -> None:
    _host_options(stopped, "m1", IsSwarm=True, Master=True, Discovery="token://0ac5")
    _host_options(stopped, "m2", IsSwarm=True, Agent=True, Discovery="token://0ac5")
    result = run(stopped, "ls", "--filter", "driver=generic", "-t", "2")
    assert result.code == 0, result.err
    assert result.out == (
        "NAME   ACTIVE   DRIVER    STATE     URL   SWARM         DOCKER    ERRORS\n"
        "m1     -        generic   Stopped         m1 (master)   Unknown   \n"
        "m2     -        generic   Stopped         m1            Unknown   \n"
    )
    # The original's filter: machines whose master is the one named.
    assert run(stopped, "ls", "-q", "--filter", "swarm=M1", "-t", "2").out == "m1\nm2\n"
    assert run(stopped, "ls", "-q", "--filter", "swarm=m2", "-t", "2").out == ""


def test_a_member_of_a_discovery_without_a_listed_master_shows_nothing_as_the_original(stopped: Path) -> None:
    _host_options(stopped, "m1", IsSwarm=True, Master=True, Discovery="token://0ac5")
    _host_options(stopped, "m2", IsSwarm=True, Agent=True, Discovery="token://other")
    result = run(stopped, "ls", "--filter", "driver=generic", "-t", "2", "--format", "{{.Name}}|{{.Swarm}}")
    assert result.out == "m1|m1 (master)\nm2|\n"
    # A master that is filtered out is not listed, so its agents show no master (the original computes it from the listed hosts).
    _host_options(stopped, "m2", Discovery="token://0ac5")
    assert run(stopped, "ls", "--filter", "name=m2", "-t", "2", "--format", "{{.Name}}|{{.Swarm}}").out == "m2|\n"


def test_ls_shows_the_manager_of_a_swarm_mode_cluster_from_the_engines(engines: dict[str, FakeEngine], fixture_store: Path) -> None:
    engines["m1"].swarm = {
        "LocalNodeState": "active",
        "NodeID": "n1",
        "ControlAvailable": True,
        "RemoteManagers": [{"NodeID": "n1", "Addr": "172.18.0.2:2377"}],
    }
    engines["m2"].swarm = {
        "LocalNodeState": "active",
        "NodeID": "n2",
        "ControlAvailable": False,
        "RemoteManagers": [{"NodeID": "n1", "Addr": "172.18.0.2:2377"}],
    }
    result = run(fixture_store, "ls", "--filter", "driver=generic", "-t", "5")
    assert result.code == 0, result.err
    rows = [line.split() for line in result.out.splitlines()[1:]]
    assert [row[:4] + row[5:] for row in rows] == [
        ["m1", "-", "generic", "Running", "m1", "(manager)", "v" + FAKE_VERSION],
        ["m2", "-", "generic", "Running", "m1", "v" + FAKE_VERSION],
    ]
    # One call per machine, as the original's: /info carries the version too.
    assert [engine.paths for engine in engines.values()] == [["/info"], ["/info"]]
    assert run(fixture_store, "ls", "-q", "--filter", "swarm=m1", "-t", "5").out == "m1\nm2\n"

    # A worker whose manager is not a machine of the listing shows the manager's address; a machine out of the swarm nothing.
    engines["m2"].swarm["RemoteManagers"] = [{"NodeID": "elsewhere", "Addr": "172.18.0.9:2377"}]
    assert _column(run(fixture_store, "ls", "--filter", "name=^m", "-t", "5", "--format", "{{.Name}}|{{.Swarm}}"), "m2") == "172.18.0.9:2377"
    engines["m2"].swarm = {"LocalNodeState": "inactive", "NodeID": ""}
    assert _column(run(fixture_store, "ls", "--filter", "name=^m", "-t", "5", "--format", "{{.Name}}|{{.Swarm}}"), "m2") == ""


def test_the_info_module_rows_carry_the_swarm_column_but_not_the_engine_section(engines: dict[str, FakeEngine], fixture_store: Path) -> None:
    from ansible_collections.dockyard.machine.plugins.module_utils._listing import list_machines
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineStore

    engines["m1"].swarm = {"LocalNodeState": "active", "NodeID": "n1", "ControlAvailable": True, "RemoteManagers": []}
    rows = {row.name: row.as_dict() for row in list_machines(MachineStore(str(fixture_store)), timeout=5, docker_host=None)}
    assert rows["m1"]["swarm"] == "m1 (manager)" and rows["m2"]["swarm"] == ""
    assert "swarm_node" not in rows["m1"]
