# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: swarm_plan
short_description: What the swarm_cluster role changes in a Swarm-mode cluster
version_added: 1.1.0
author:
  - dockyard.machine developers (@dockyard)
description:
  - Decides, from the swarm state each host's engine reports and the cluster's node list, which host initializes the
    cluster or runs the manager's side of each change, which hosts join, and which leave and in what order (workers
    first; the host that runs the removals last).
  - A refusal is returned in C(error) (the other keys are then empty) for the role to fail with.
  - Refuses, naming the variable C(swarm_cluster_allow_quorum_loss), a change that removes or demotes managers so that
    the managers left could not form a quorum (none left, or fewer reachable than a majority). When every node of the
    cluster leaves, the cluster is dissolved and no quorum is needed.
  - Refuses hosts that are managers of two different swarms, hosts in a swarm none of the play's managers manages,
    and nodes whose swarm state is neither inactive nor active (locked, pending, error).
  - The C(dockyard.machine.swarm_cluster) role's own plan; other uses are not supported.
options:
  _input:
    description:
      - The play's hosts in play order, each a dictionary with C(name), C(role) (V(manager) or V(worker)), C(state)
        (V(present) or V(absent)) and C(swarm), the C(Swarm) section of C(docker info) (empty when unknown).
    type: list
    elements: dict
    required: true
  nodes:
    description: The cluster's nodes as M(community.docker.docker_swarm_info) lists them (C(ID), C(ManagerStatus)); empty without a cluster.
    type: list
    elements: dict
    default: []
  converge:
    description: When V(false), only the hosts whose state is V(absent) change; the others only serve as managers.
    type: bool
    default: true
  allow_quorum_loss:
    description: Go ahead although the managers would lose their quorum.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: The plan
  ansible.builtin.set_fact:
    plan: "{{ hosts_swarm | dockyard.machine.swarm_plan(nodes=cluster_nodes) }}"
  vars:
    hosts_swarm:
      - {name: m1, role: manager, state: present, swarm: {LocalNodeState: inactive}}
      - {name: w1, role: worker, state: present, swarm: {LocalNodeState: inactive}}
    cluster_nodes: []
"""

RETURN = r"""
_value:
  description: The plan.
  type: dict
  contains:
    manager:
      description: The host that initializes the cluster or runs the manager's side of each change; empty when there is nothing to manage.
      type: str
    init:
      description: Whether RV(_value.manager) initializes a new cluster.
      type: bool
    cluster_id:
      description: The ID of the cluster the hosts are in; empty before it exists.
      type: str
    join:
      description: Hosts that join the cluster.
      type: list
      elements: str
    configure:
      description: Hosts whose node settings (role, availability, labels) are applied.
      type: list
      elements: str
    leave:
      description:
        - Hosts that leave, in order, each with C(name), C(node_id), C(manager) (it was one), C(demote) (demoted first),
          C(force) (leaves with C(--force)) and C(remove) (taken off the managers' node list afterwards).
      type: list
      elements: dict
    dissolve:
      description: Every node of the cluster leaves.
      type: bool
    quorum_warning:
      description: Why the change breaks the managers' quorum, when it was allowed anyway; else empty.
      type: str
    error:
      description: Why no plan can be made (what to change, naming the variable); empty when there is a plan.
      type: str
"""

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.dockyard.machine.plugins.plugin_utils._swarm import SwarmPlanError, plan


def swarm_plan(hosts: t.Any, nodes: t.Any = None, converge: bool = True, allow_quorum_loss: bool = False) -> dict[str, t.Any]:
    """The swarm_cluster role's plan. A refusal is returned as ``error`` (the role fails with it as its message);
    input that is not what the role passes is a filter error."""
    if not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError("swarm_plan expects the list of hosts, not %s" % type(hosts).__name__)
    try:
        return dict(plan(hosts, nodes, converge=bool(converge), allow_quorum_loss=bool(allow_quorum_loss)), error="")
    except SwarmPlanError as exc:
        return {"error": str(exc), "manager": "", "init": False, "cluster_id": "", "join": [], "configure": [], "leave": [],
                "dissolve": False, "quorum_warning": ""}


class FilterModule:
    """dockyard.machine's Swarm filter."""

    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"swarm_plan": swarm_plan}
