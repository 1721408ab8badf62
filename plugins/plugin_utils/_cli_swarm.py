# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this plugin_util is internal to dockyard.machine; its API may change without notice.
"""``create``'s ``--swarm*`` flags in their Swarm-mode meaning: ``--swarm`` joins the store's Swarm-mode cluster as a
worker, ``--swarm-master`` starts it (or joins it as a manager), ``--swarm-addr`` is the address the node advertises.
The flags that configured the retired standalone Swarm (its discovery service, strategy, image, listen address, extra
flags) have no Swarm-mode meaning and are refused, naming why."""

from __future__ import annotations

import typing as t

from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_messages import CLIError

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._swarm_node import SwarmJoin
    from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_flags import Flag

__all__ = ["STANDALONE_FLAGS", "join_swarm", "swarm_request"]

# The standalone Swarm's flags, and why Swarm mode has no use for each.
STANDALONE_FLAGS = {
    "swarm-discovery": "Swarm-mode nodes find each other through the managers (join tokens), with no discovery service",
    "swarm-strategy": "Swarm mode's scheduler spreads tasks itself (placement constraints and preferences go in the stack's deploy section)",
    "swarm-image": "Swarm mode is built into the engine; no swarm image runs",
    "swarm-host": "Swarm-mode nodes listen for the cluster on port 2377 and serve the Docker API on the engine's own port",
    "swarm-opt": "it passed flags to the standalone Swarm manager's container",
    "swarm-join-opt": "it passed flags to the standalone Swarm agent's container",
    "swarm-experimental": "it turned on the standalone Swarm's experimental features",
}


def swarm_request(opts: t.Mapping[str, t.Any], flags: t.Iterable[Flag], prog: str) -> SwarmJoin | None:
    """What the ``--swarm*`` flags ask for (None: no Swarm); a standalone Swarm flag given raises CLIError naming it."""
    defaults = {flag.key: flag.default for flag in flags}
    for key, why in STANDALONE_FLAGS.items():
        value = opts.get(key)
        if value and value != defaults.get(key):
            raise CLIError(
                "Error: --%s configured the standalone Swarm that Docker retired, which %s does not set up: %s. --swarm and "
                "--swarm-master make the machine a node of the store's Swarm-mode cluster without it. Remove --%s."
                % (key, prog, why, key)
            )
    wanted = bool(opts.get("swarm")) or bool(opts.get("swarm-master"))
    if not wanted:
        if opts.get("swarm-addr"):
            raise CLIError("Error: --swarm-addr is the address a Swarm-mode node advertises to the others; it needs --swarm or --swarm-master.")
        return None
    from ansible_collections.dockyard.machine.plugins.module_utils._swarm_node import SwarmJoin

    return SwarmJoin(manager=bool(opts.get("swarm-master")), advertise_addr=str(opts.get("swarm-addr") or ""))


def join_swarm(manager: t.Any, name: str, request: SwarmJoin) -> str:
    """The new machine ``name`` joins (or starts) the store's Swarm-mode cluster; returns the sentence saying what was done."""
    from ansible_collections.dockyard.machine.plugins.module_utils._swarm_node import join_cluster

    return join_cluster(manager.hosts, manager.store, name, request)
