# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""A machine of the store becomes a node of the store's Swarm-mode cluster (``create --swarm``, ``--swarm-master``).

The cluster is found the way the original found its master (among the store's machines): the machines whose engines
say they manage a Swarm-mode cluster. A ``--swarm-master`` machine starts one when there is none, and joins the one
there is as a manager otherwise; a ``--swarm`` machine joins it as a worker. Everything goes through each engine's
TLS endpoint (``/info``, ``/swarm``, ``/swarm/init``, ``/swarm/join``), except ``live-restore``, which Swarm mode
refuses and which only ``daemon.json`` on the host can turn off (over SSH, then a reload: no container stops).
Join tokens are read from the manager and sent to the new node only; no message carries one.
"""

from __future__ import annotations

import concurrent.futures
import json
import re
import time
import typing as t
from dataclasses import dataclass

from ansible_collections.dockyard.machine.plugins.module_utils._daemon_config import DAEMON_JSON_PATH, LIVE_RESTORE, dump_daemon_json
from ansible_collections.dockyard.machine.plugins.module_utils._drivers import get_driver
from ansible_collections.dockyard.machine.plugins.module_utils._endpoint import endpoint_for
from ansible_collections.dockyard.machine.plugins.module_utils._engine import engine_call
from ansible_collections.dockyard.machine.plugins.module_utils._errors import EngineError, MachineError, ProvisionError
from ansible_collections.dockyard.machine.plugins.module_utils._outcome import Outcome

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._hosts import Hosts
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord, MachineStore

__all__ = ["SwarmJoin", "SwarmNodeError", "join_cluster"]

SWARM_PORT = 2377
_TOKEN = re.compile(r"SWMTKN-[0-9A-Za-z-]+")


class SwarmNodeError(MachineError):
    """The machine could not become a node of the store's Swarm-mode cluster."""


@dataclass(frozen=True)
class SwarmJoin:
    """What ``create --swarm``/``--swarm-master`` ask: the node's role and the addresses it uses for the cluster."""

    manager: bool
    advertise_addr: str = ""
    listen_addr: str = "0.0.0.0:%d" % SWARM_PORT
    timeout: float = 20.0


@dataclass(frozen=True)
class _Member:
    name: str
    url: str
    tls: t.Any
    swarm: dict[str, t.Any]
    live_restore: bool = False

    @property
    def manages(self) -> bool:
        return self.swarm.get("LocalNodeState") == "active" and self.swarm.get("ControlAvailable") is True

    @property
    def cluster_id(self) -> str:
        cluster = self.swarm.get("Cluster")
        return str(cluster.get("ID") or "") if isinstance(cluster, dict) else ""

    @property
    def manager_addrs(self) -> list[str]:
        managers = self.swarm.get("RemoteManagers") or []
        return sorted(str(m["Addr"]) for m in managers if isinstance(m, dict) and isinstance(m.get("Addr"), str) and m["Addr"])


def _scrubbed(text: str) -> str:
    return _TOKEN.sub("SWMTKN-********", text)


def _info(store: MachineStore, record: MachineRecord, timeout: float, engine: t.Callable[..., t.Any]) -> _Member:
    endpoint = endpoint_for(store, record)
    answer = engine(endpoint.url, endpoint.tls, timeout, "/info")
    answer = answer if isinstance(answer, dict) else {}
    swarm = answer.get("Swarm")
    return _Member(record.name, endpoint.url, endpoint.tls, swarm if isinstance(swarm, dict) else {}, answer.get("LiveRestoreEnabled") is True)


def _managers(store: MachineStore, name: str, timeout: float, engine: t.Callable[..., t.Any]) -> tuple[list[_Member], list[str]]:
    """The store's other machines whose engines manage a Swarm-mode cluster (in the store's order), and the names of
    those that could not be asked."""
    records, _errors = store.load_all()
    others = [r for r in records if r.name != name]
    if not others:
        return [], []
    found: dict[str, _Member] = {}
    silent: list[str] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(16, len(others))) as pool:
        futures = {r.name: pool.submit(_info, store, r, timeout, engine) for r in others}
        for record in others:
            try:
                found[record.name] = futures[record.name].result()
            except MachineError:
                silent.append(record.name)
    order = store.names()
    return sorted((m for m in found.values() if m.manages), key=lambda m: order.index(m.name) if m.name in order else len(order)), silent


def _live_restore_off(hosts: Hosts, record: MachineRecord, node: _Member, request: SwarmJoin, engine: t.Callable[..., t.Any], outcome: Outcome) -> None:
    """``"live-restore": false`` in the host's daemon.json, then a reload (live-restore is reloadable: no container stops)."""
    driver = get_driver(record.driver_name)
    if not driver.needs_ssh:
        raise SwarmNodeError(
            "%s's engine runs with live-restore, which Swarm mode refuses, and its driver (%s) gives no SSH access to change that. "
            'Set "live-restore": false in its %s and reload the engine, then run the command again.' % (record.name, record.driver_name, DAEMON_JSON_PATH),
            machine=record.name,
        )
    with hosts.session(record, driver, request.timeout * 3, outcome, settled=True) as session:
        current = session.run("cat %s 2>/dev/null || true" % DAEMON_JSON_PATH, step="read daemon.json").stdout
        try:
            values = json.loads(current) if current.strip() else {}
        except ValueError:
            values = None
        if not isinstance(values, dict):
            raise ProvisionError("%s on %s is not a JSON object; fix it, then run the command again." % (DAEMON_JSON_PATH, record.name), step="swarm")
        values[LIVE_RESTORE] = False
        session.put_file(DAEMON_JSON_PATH, dump_daemon_json(values).encode(), mode=0o644, step="live-restore off")
        session.run("systemctl reload docker.service", step="reload engine")
    outcome.steps.append("live-restore off")
    deadline = time.monotonic() + request.timeout
    while True:
        answer = engine(node.url, node.tls, request.timeout, "/info")
        if not (isinstance(answer, dict) and answer.get("LiveRestoreEnabled")):
            return
        if time.monotonic() > deadline:
            raise SwarmNodeError("%s's engine still runs with live-restore %g s after its reload." % (record.name, request.timeout), machine=record.name)
        time.sleep(0.5)


def _post(engine: t.Callable[..., t.Any], node: _Member, path: str, body: dict[str, t.Any], timeout: float, what: str) -> None:
    try:
        engine(node.url, node.tls, timeout, path, body)
    except EngineError as exc:
        said = _scrubbed(exc.msg)
        hint = ""
        if "advertise" in said.lower():
            hint = " Name the address the other nodes reach it at with --swarm-addr (an address or an interface name such as eth0)."
        raise SwarmNodeError("%s could not %s: %s%s" % (node.name, what, said, hint), machine=node.name) from None


def join_cluster(
    hosts: Hosts,
    store: MachineStore,
    name: str,
    request: SwarmJoin,
    *,
    engine: t.Callable[..., t.Any] = engine_call,
) -> str:
    """Make machine ``name`` a node of the store's Swarm-mode cluster (or start one); returns what was done, in a sentence.

    ``engine`` is the one seam to the engines (tests pass fake engines' calls through it).
    """
    record = store.load(name)
    node = _info(store, record, request.timeout, engine)
    state = node.swarm.get("LocalNodeState") or "inactive"
    if state == "active":
        return "%s is already a node of a Swarm-mode cluster (%s); nothing changed." % (name, "a manager" if node.manages else "a worker")
    if state != "inactive":
        raise SwarmNodeError(
            "%s's engine is in swarm state '%s' (docker info); only an engine outside any swarm can join one: let it finish, or make it "
            "leave (docker swarm leave --force), then run the command again." % (name, state),
            machine=name,
        )
    managers, silent = _managers(store, name, request.timeout, engine)
    clusters: dict[str, list[str]] = {}
    for manager in managers:
        clusters.setdefault(manager.cluster_id, []).append(manager.name)
    if len(clusters) > 1:
        raise SwarmNodeError(
            "Machines of the store manage %d different Swarm-mode clusters (%s); --swarm joins the store's one cluster. Join one of "
            "them with the dockyard.machine.swarm_cluster role (playbooks/swarm.yml), which names the managers." % (
                len(clusters), "; ".join(", ".join(names) for names in clusters.values())),
            machine=name,
        )
    if not managers and not request.manager:
        unanswered = " (%s did not answer)" % ", ".join(silent) if silent else ""
        raise SwarmNodeError(
            "No machine of the store manages a Swarm-mode cluster%s, so %s has none to join: create its first manager with "
            "--swarm-master." % (unanswered, name),
            machine=name,
        )
    if node.live_restore:
        _live_restore_off(hosts, record, node, request, engine, Outcome())
    addresses = {"ListenAddr": request.listen_addr}
    if request.advertise_addr:
        addresses["AdvertiseAddr"] = request.advertise_addr
    if not managers:
        _post(engine, node, "/swarm/init", addresses, request.timeout * 3, "start a Swarm-mode cluster")
        return "Started a Swarm-mode cluster; %s manages it." % name
    leader = managers[0]
    cluster = engine(leader.url, leader.tls, request.timeout, "/swarm")
    tokens = cluster.get("JoinTokens") if isinstance(cluster, dict) else None
    token = tokens.get("Manager" if request.manager else "Worker") if isinstance(tokens, dict) else None
    remote = leader.manager_addrs
    if not isinstance(token, str) or not token or not remote:
        raise SwarmNodeError("%s did not say how to join its Swarm-mode cluster (no join token or manager address in /swarm and /info)." % leader.name,
                             machine=name)
    role = "manager" if request.manager else "worker"
    _post(engine, node, "/swarm/join", dict(addresses, RemoteAddrs=remote, JoinToken=token), request.timeout * 3, "join %s's cluster" % leader.name)
    return "Joined the Swarm-mode cluster that %s manages, as a %s." % (leader.name, role)
