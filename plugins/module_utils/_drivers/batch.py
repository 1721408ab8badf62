# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""Refreshing many machines of one driver at once: what a batch refresher is given and what it answers.

A driver whose cloud can describe many machines in one API call offers a batch refresher (the registry in
``_drivers/__init__.py`` maps the driver's ``name`` to it).  Callers such as the inventory never learn which
drivers these are: they ask the registry, hand over the records and apply the answers.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord

__all__ = ["BatchRefresher", "RefreshReport", "RefreshSettings", "Refreshed"]


@dataclass(frozen=True)
class RefreshSettings:
    """How to reach the cloud: an overall time bound, and optional overrides of the standard credential chain."""

    #: Seconds the whole refresh may take, every region and page together.
    timeout: float
    #: A named profile instead of the standard chain's choice; ``None``: the chain decides.
    profile: str | None = None
    #: An API endpoint for every machine, instead of the one each record names.
    endpoint_url: str | None = None
    #: Test seam: ``(region, endpoint_url, timeout) -> client``; ``None`` builds real clients.
    client_factory: t.Callable[[str, str | None, float], t.Any] | None = None


@dataclass
class Refreshed:
    """What the cloud says about one machine now."""

    #: One of the libmachine states (``Running``, ``Stopped``, ``Error``, ``Timeout`` ...).
    state: str
    #: The address to reach it at now; empty when the cloud gave none (the recorded one stays).
    address: str = ""
    #: The Docker URL at that address; empty with ``address``.
    url: str = ""
    #: Why the state is ``Error`` or ``Timeout``; empty otherwise.
    error: str = ""


@dataclass
class RefreshReport:
    """The answers per machine name, the warnings worth showing, and what it cost."""

    machines: dict[str, Refreshed] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: API requests sent, over every region and endpoint.
    calls: int = 0
    #: One line per (region, endpoint): requests, machines, seconds; for debug output.
    details: list[str] = field(default_factory=list)

    def merge(self, other: RefreshReport) -> None:
        self.machines.update(other.machines)
        self.warnings.extend(other.warnings)
        self.calls += other.calls
        self.details.extend(other.details)


BatchRefresher = t.Callable[[t.Sequence["MachineRecord"], RefreshSettings], RefreshReport]
