# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this plugin_util is internal to dockyard.machine; its API may change without notice.
"""What the ``swarm_cluster`` role does to a Swarm-mode cluster, decided from what its nodes report.

The role asks every host of its play for the engine's ``Swarm`` section (``docker info``) and one current
manager for the cluster's node list, then hands both to :func:`plan`, which says which host initializes the
cluster or runs the manager's side of every change, which hosts join, which leave and in what order, and
refuses (with the variable that forces it) a change that would leave the managers without a quorum.

Inputs and the result are plain data, so that the plan is unit-tested without Docker or Ansible.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

__all__ = ["FORCE_VARIABLE", "SwarmPlanError", "plan"]

# The role's variable that lets a change go ahead although the managers would lose their quorum.
FORCE_VARIABLE = "swarm_cluster_allow_quorum_loss"
ROLES = ("manager", "worker")
STATES = ("present", "absent")
# docker_swarm_info's short node list says "Leader" or the Raft reachability of each manager.
_REACHABLE = ("leader", "reachable")


class SwarmPlanError(ValueError):
    """The hosts' settings or the cluster's state do not allow a plan; the message says what to change."""


@dataclass(frozen=True)
class _Host:
    name: str
    role: str
    state: str
    local_state: str
    node_id: str
    manages: bool
    cluster_id: str


@dataclass
class _Cluster:
    node_ids: set[str] = field(default_factory=set)
    managers: set[str] = field(default_factory=set)
    reachable: set[str] = field(default_factory=set)


def _text(value: t.Any) -> str:
    return value if isinstance(value, str) else ""


def _host(entry: t.Any) -> _Host:
    if not isinstance(entry, t.Mapping) or not _text(entry.get("name")):
        raise SwarmPlanError("swarm_plan: each host needs a name, got %r" % (entry,))
    name = entry["name"]
    role = entry.get("role") or "worker"
    state = entry.get("state") or "present"
    if role not in ROLES:
        raise SwarmPlanError("%s: swarm_cluster_role must be manager or worker, not %r" % (name, role))
    if state not in STATES:
        raise SwarmPlanError("%s: swarm_cluster_state must be present or absent, not %r" % (name, state))
    swarm = entry.get("swarm") or {}
    if not isinstance(swarm, t.Mapping):
        raise SwarmPlanError("%s: the engine's Swarm section must be a dictionary" % name)
    local_state = _text(swarm.get("LocalNodeState")) or "inactive"
    if local_state not in ("inactive", "active"):
        raise SwarmPlanError(
            "%s: its engine's swarm state is '%s' (docker info, Swarm.LocalNodeState); only inactive and active nodes can be "
            "managed: unlock it (docker swarm unlock), or let it finish joining, or make it leave (docker swarm leave --force)"
            % (name, local_state))
    cluster = swarm.get("Cluster") or {}
    return _Host(
        name=name,
        role=role,
        state=state,
        local_state=local_state,
        node_id=_text(swarm.get("NodeID")) if local_state == "active" else "",
        manages=local_state == "active" and bool(swarm.get("ControlAvailable")),
        cluster_id=_text(cluster.get("ID")) if isinstance(cluster, t.Mapping) else "",
    )


def _cluster(nodes: t.Any) -> _Cluster:
    cluster = _Cluster()
    for node in nodes or []:
        if not isinstance(node, t.Mapping) or not _text(node.get("ID")):
            raise SwarmPlanError("swarm_plan: each cluster node needs an ID, got %r" % (node,))
        cluster.node_ids.add(node["ID"])
        status = _text(node.get("ManagerStatus")).lower()
        if status:
            cluster.managers.add(node["ID"])
            if status in _REACHABLE:
                cluster.reachable.add(node["ID"])
    return cluster


def _check_one_cluster(hosts: list[_Host], cluster: _Cluster) -> str:
    """The ID of the cluster the hosts are in ('' when none is); refuses hosts of two clusters."""
    cluster_ids = sorted({h.cluster_id for h in hosts if h.manages and h.cluster_id})
    if len(cluster_ids) > 1:
        raise SwarmPlanError(
            "The play's hosts are managers of %d different swarms (%s): one play manages one cluster; limit the play to "
            "the hosts of one of them" % (len(cluster_ids), ", ".join(
                "%s: %s" % (cid, ", ".join(h.name for h in hosts if h.cluster_id == cid)) for cid in cluster_ids)))
    strangers = [h.name for h in hosts if h.local_state == "active" and h.node_id not in cluster.node_ids]
    if strangers:
        where = ("the cluster that %s manages" % next(h.name for h in hosts if h.manages)) if cluster.node_ids else "a swarm"
        raise SwarmPlanError(
            "%s %s in a swarm whose managers are not among the play's hosts (not in %s): add a manager of that swarm to the "
            "play, or make %s leave it first (docker swarm leave)" % (
                ", ".join(strangers), "is" if len(strangers) == 1 else "are", where, "it" if len(strangers) == 1 else "them"))
    return cluster_ids[0] if cluster_ids else ""


def _quorum_error(leaving: list[_Host], added: int, cluster: _Cluster) -> str:
    """Why removing these managers would cost the cluster its quorum, or '' when it would not."""
    if not leaving:
        return ""
    gone = {h.node_id for h in leaving}
    total = len(cluster.managers - gone) + added
    reachable = len(cluster.reachable - gone) + added
    needed = total // 2 + 1
    if total > 0 and reachable >= needed:
        return ""
    names = ", ".join(h.name for h in leaving)
    if total == 0:
        consequence = "no manager would be left for the cluster's other nodes"
    else:
        consequence = "%d of the %d managers left would be reachable, and a quorum needs %d" % (reachable, total, needed)
    return ("Removing the manager%s %s from the swarm would break its quorum: %s. Keep %s, add managers first, or set %s: true "
            "to remove %s anyway" % ("s" if len(leaving) > 1 else "", names, consequence,
                                     "them" if len(leaving) > 1 else "it", FORCE_VARIABLE, "them" if len(leaving) > 1 else "it"))


def plan(hosts: t.Any, nodes: t.Any = None, *, converge: bool = True, allow_quorum_loss: bool = False) -> dict[str, t.Any]:
    """Decide the cluster's changes.

    ``hosts`` lists the play's hosts in play order: ``name``, ``role`` (manager or worker), ``state`` (present or
    absent) and ``swarm``, the engine's ``Swarm`` section of ``docker info`` (empty when it could not be read, as on
    a host whose Docker SDK is still missing in check mode: it is then taken as not in a swarm). ``nodes`` is
    docker_swarm_info's node list, read from the first host that manages a cluster (empty when none does).
    With ``converge`` false only the hosts whose state is absent change (they leave); the others only serve as
    managers.
    """
    if not isinstance(hosts, (list, tuple)):
        raise SwarmPlanError("swarm_plan: hosts must be a list")
    members = [_host(entry) for entry in hosts]
    cluster = _cluster(nodes)
    cluster_id = _check_one_cluster(members, cluster)

    def becomes_manager(host: _Host) -> bool:
        return host.state == "present" and (host.manages if not converge else host.role == "manager")

    staying = [h for h in members if h.state == "present"]
    current = [h for h in members if h.manages]
    # With a cluster, a change that leaves it no manager is the quorum check's to refuse.
    if converge and staying and not current and not any(h.role == "manager" for h in staying):
        raise SwarmPlanError(
            "No manager among the hosts that stay in the swarm (%s): give one swarm_cluster_role: manager, or put it in the "
            "managers' group (swarm_cluster_manager_group)" % ", ".join(h.name for h in staying))

    kept = [h for h in current if becomes_manager(h)]
    init = False
    if kept:
        manager = kept[0]
    elif current:
        joining_managers = [h for h in members if becomes_manager(h)]
        if converge and joining_managers:
            raise SwarmPlanError(
                "Every manager of the swarm among the play's hosts (%s) would stop being one while %s became managers: "
                "promote or join the new managers in one run and remove the old ones in the next"
                % (", ".join(h.name for h in current), ", ".join(h.name for h in joining_managers)))
        manager = current[0]
    elif converge and staying:
        manager = next(h for h in staying if h.role == "manager")
        init = True
    else:
        manager = None

    joins = [h.name for h in staying if converge and h.local_state == "inactive" and not (init and h is manager)]
    leaving = [h for h in members if h.state == "absent" and h.local_state == "active"]
    demoted = [h for h in members if converge and h.state == "present" and h.manages and h.role == "worker"]
    leaving_ids = {h.node_id for h in leaving}
    dissolve = bool(leaving) and not joins and cluster.node_ids <= leaving_ids
    added = len([h for h in staying if converge and h.role == "manager" and not h.manages])
    reason = "" if dissolve else _quorum_error([h for h in leaving + demoted if h.node_id in cluster.managers], added, cluster)
    if reason and not allow_quorum_loss:
        raise SwarmPlanError(reason)

    # Workers first, then managers; the host that runs the manager's side of each removal leaves last.
    ordered = sorted(leaving, key=lambda h: (h is manager, h.node_id in cluster.managers))
    safe = not reason
    steps = []
    for host in ordered:
        was_manager = host.node_id in cluster.managers
        last = host is manager
        demote = was_manager and safe and not last
        steps.append({
            "name": host.name,
            "node_id": host.node_id,
            "manager": was_manager,
            "demote": demote,
            # A manager that cannot be demoted leaves with --force (docker swarm leave refuses it otherwise).
            "force": was_manager and not demote,
            # `docker node rm` takes workers (and demoted managers) only; the last node takes the cluster with it.
            "remove": not last and (demote or not was_manager),
        })
    return {
        "manager": manager.name if manager else "",
        "init": init,
        "cluster_id": cluster_id,
        "join": joins,
        "configure": [h.name for h in staying] if converge else [],
        "leave": steps,
        "dissolve": dissolve,
        "quorum_warning": reason,
    }
