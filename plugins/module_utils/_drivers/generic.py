# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""An existing host reached over SSH (docker-machine's ``generic`` driver)."""

from __future__ import annotations

import typing as t

from ansible_collections.dockyard.machine.plugins.module_utils._drivers.base import Driver, tcp_reachable

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord

__all__ = ["GenericDriver"]


class GenericDriver(Driver):
    name = "generic"
    needs_ssh = True
    supports_power = False
    has_cloud_resources = False

    def state(self, record: MachineRecord, timeout: float) -> str:
        # The original's rule: the SSH port answers -> Running, otherwise Stopped (never Error).
        return "Running" if tcp_reachable(self.ip(record), record.ssh_port, timeout) else "Stopped"
