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
from ansible_collections.dockyard.machine.tests.unit.plugins.plugin_utils.test__cli import run, set_config, set_driver


def _host_options(store: Path, name: str, **swarm: t.Any) -> None:
    set_config(store, name, ("HostOptions", "SwarmOptions"), **swarm)


@pytest.fixture
def stopped(fixture_store: Path) -> Path:
    """The original's store, its generic machines moved where nothing listens (stopped)."""
    set_driver(fixture_store, "m1", IPAddress="127.0.0.188")
    set_driver(fixture_store, "m2", IPAddress="127.0.0.189")
    return fixture_store


@pytest.fixture
def engines(fixture_store: Path, tmp_path: Path) -> t.Iterator[dict[str, FakeEngine]]:
    """m1 and m2 each reached at an engine of its own that the store's CA signed (running), and the engine of a machine
    that is not in the store yet ("new")."""
    ca = _certs.load_pair((fixture_store / "certs" / "ca.pem").read_bytes(), (fixture_store / "certs" / "ca-key.pem").read_bytes())
    started = {}
    for name in ("m1", "m2", "new"):
        folder = tmp_path / name
        folder.mkdir()
        state, server = start_engine(folder, ca, fixture_store / "certs" / "ca.pem")
        if name != "new":
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
    assert [engines[name].paths for name in ("m1", "m2")] == [["/info"], ["/info"]]
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


# --- create --swarm / --swarm-master ---------------------------------------------------------------

MANAGER = {"LocalNodeState": "active", "NodeID": "n1", "ControlAvailable": True, "Cluster": {"ID": "c1"},
           "RemoteManagers": [{"NodeID": "n1", "Addr": "172.18.0.2:2377"}]}
TOKENS = {"ID": "c1", "JoinTokens": {"Worker": "SWMTKN-1-worker-secret", "Manager": "SWMTKN-1-manager-secret"}}


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--swarm", "--swarm-discovery", "token://0ac5"], "swarm-discovery"),
        (["--swarm-master", "--swarm-strategy", "binpack"], "swarm-strategy"),
        (["--swarm", "--swarm-image", "swarm:1.2.9"], "swarm-image"),
        (["--swarm-master", "--swarm-host", "tcp://0.0.0.0:3377"], "swarm-host"),
        (["--swarm-master", "--swarm-opt", "replication=true"], "swarm-opt"),
        (["--swarm", "--swarm-join-opt", "heartbeat=5s"], "swarm-join-opt"),
        (["--swarm", "--swarm-experimental"], "swarm-experimental"),
    ],
)
def test_create_refuses_the_standalone_swarms_flags_naming_why(stopped: Path, flags: list[str], named: str) -> None:
    before = sorted(p.name for p in (stopped / "machines").iterdir())
    result = run(stopped, "create", "-d", "generic", "--generic-ip-address", "127.0.0.1", *flags, "new1")
    assert result.code == 1 and result.out == ""
    assert result.err.startswith("Error: --%s configured the standalone Swarm that Docker retired" % named), result.err
    assert "Remove --%s." % named in result.err and "Swarm-mode cluster" in result.err
    assert sorted(p.name for p in (stopped / "machines").iterdir()) == before


def test_create_refuses_swarm_addr_without_swarm(stopped: Path) -> None:
    result = run(stopped, "create", "-d", "generic", "--generic-ip-address", "127.0.0.1", "--swarm-addr", "eth0", "new1")
    assert result.code == 1 and "--swarm-addr" in result.err and "needs --swarm or --swarm-master" in result.err


def test_the_standalone_swarms_defaults_given_as_they_are_pass(stopped: Path) -> None:
    from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_create import CREATE_FLAGS
    from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_swarm import swarm_request

    opts = {flag.key: flag.default for flag in CREATE_FLAGS}
    assert swarm_request(dict(opts, swarm=False), CREATE_FLAGS, "dockyard-machine") is None
    joined = swarm_request(dict(opts, swarm=True, **{"swarm-strategy": "spread", "swarm-addr": "eth0"}), CREATE_FLAGS, "dockyard-machine")
    assert joined is not None and (joined.manager, joined.advertise_addr) == (False, "eth0")
    assert swarm_request(dict(opts, **{"swarm-master": True}), CREATE_FLAGS, "dockyard-machine").manager is True


def test_create_swarm_joins_the_stores_cluster_as_a_worker(engines: dict[str, FakeEngine], fixture_store: Path) -> None:
    engines["m1"].swarm, engines["m1"].cluster = MANAGER, TOKENS
    result = run(fixture_store, "create", "-d", "none", "--url", "tcp://127.0.0.1:%d" % engines["new"].port, "--swarm", "--swarm-addr", "eth0", "n1")
    assert result.code == 0, result.err
    assert "Configuring swarm...\nJoined the Swarm-mode cluster that m1 manages, as a worker.\n" in result.out
    joined = {"ListenAddr": "0.0.0.0:2377", "AdvertiseAddr": "eth0", "RemoteAddrs": ["172.18.0.2:2377"], "JoinToken": "SWMTKN-1-worker-secret"}
    assert engines["new"].posted == [("/swarm/join", joined)]
    assert "SWMTKN" not in result.out + result.err
    # The record is the original's: no standalone Swarm in its SwarmOptions.
    assert json.loads((fixture_store / "machines" / "n1" / "config.json").read_text())["HostOptions"]["SwarmOptions"]["IsSwarm"] is False


def test_create_swarm_master_starts_a_cluster_when_the_store_has_none(engines: dict[str, FakeEngine], fixture_store: Path) -> None:
    result = run(fixture_store, "create", "-d", "none", "--url", "tcp://127.0.0.1:%d" % engines["new"].port, "--swarm-master", "n1")
    assert result.code == 0, result.err
    assert "Started a Swarm-mode cluster; n1 manages it." in result.out
    assert engines["new"].posted == [("/swarm/init", {"ListenAddr": "0.0.0.0:2377"})]


def test_create_swarm_master_joins_an_existing_cluster_as_a_manager(engines: dict[str, FakeEngine], fixture_store: Path) -> None:
    engines["m1"].swarm, engines["m1"].cluster = MANAGER, TOKENS
    result = run(fixture_store, "create", "-d", "none", "--url", "tcp://127.0.0.1:%d" % engines["new"].port, "--swarm-master", "n1")
    assert result.code == 0, result.err
    assert "Joined the Swarm-mode cluster that m1 manages, as a manager." in result.out
    assert [(path, body["JoinToken"]) for path, body in engines["new"].posted] == [("/swarm/join", "SWMTKN-1-manager-secret")]


def test_create_swarm_without_a_manager_in_the_store_keeps_the_machine_and_says_what_to_do(engines: dict[str, FakeEngine], fixture_store: Path) -> None:
    result = run(fixture_store, "create", "-d", "none", "--url", "tcp://127.0.0.1:%d" % engines["new"].port, "--swarm", "n1")
    assert result.code == 1 and engines["new"].posted == []
    assert "No machine of the store manages a Swarm-mode cluster (aws-sandbox did not answer)" in result.err
    assert "create its first manager with --swarm-master" in result.err and "rm -y n1" in result.err


def test_create_swarm_refuses_two_clusters_and_an_engine_refusal_is_said_without_the_token(engines: dict[str, FakeEngine], fixture_store: Path) -> None:
    engines["m1"].swarm, engines["m1"].cluster = MANAGER, TOKENS
    url = "tcp://127.0.0.1:%d" % engines["new"].port
    engines["new"].refuse["/swarm/join"] = (500, "could not join with SWMTKN-1-worker-secret: timeout")
    refused = run(fixture_store, "create", "-d", "none", "--url", url, "--swarm", "n1")
    assert refused.code == 1 and "n1 could not join m1's cluster: " in refused.err and "SWMTKN-1-worker-secret" not in refused.err

    engines["m2"].swarm = dict(MANAGER, NodeID="n9", Cluster={"ID": "c9"})
    two = run(fixture_store, "create", "-d", "none", "--url", url, "--swarm", "n2")
    assert two.code == 1 and "Machines of the store manage 2 different Swarm-mode clusters (m1; m2)" in two.err, two.err
