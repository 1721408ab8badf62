# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""An existing Docker daemon URL with no SSH (docker-machine's ``none`` driver)."""

from __future__ import annotations

import typing as t

from ansible_collections.dockyard.machine.plugins.module_utils._drivers.base import Driver
from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord

__all__ = ["NoneDriver"]


class NoneDriver(Driver):
    name = "none"
    needs_ssh = False
    supports_power = False
    has_cloud_resources = False

    def ip(self, record: MachineRecord) -> str:
        # The original stores host:port here (drivers/none: GetIP returns the URL's host part with port).
        return record.ip_address

    def url(self, record: MachineRecord) -> str:
        url = str(record.driver.get("URL") or "")
        if not url:
            raise DriverError("Machine %s (driver none) has no URL in its record." % record.name, machine=record.name)
        return url

    def state(self, record: MachineRecord, timeout: float) -> str:
        return "Running"
