# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""digitalocean machines refreshed in batches: state and address of many droplets from a few listing calls.

The droplets are listed once, page by page (200 a page), by the tag every create puts on them
(``dockyard-machine``); droplets the original made (untagged) that the listing did not show are asked one by one.
The whole refresh is bounded by the settings' timeout; every failure becomes the machines' state (``Error`` or
``Timeout`` with a reason), never an exception.

The token comes from DIGITALOCEAN_ACCESS_TOKEN; the API from ``settings.endpoint_url`` (else DigitalOcean's). A
record that names another API (sidecar ``APIURL``) is not asked: a record never chooses where the token goes.
"""

from __future__ import annotations

import dataclasses
import os
import time
import typing as t

from ansible_collections.dockyard.machine.plugins.module_utils._drivers.batch import RefreshReport, Refreshed, RefreshSettings
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.digitalocean import (
    FLEET_TAG,
    STATE_MAP,
    TOKEN_ENV,
    DigitalOceanDriver,
    address_of,
)
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.digitalocean_api import DEFAULT_API_URL, DigitalOceanAPI
from ansible_collections.dockyard.machine.plugins.module_utils._errors import MachineError

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord

__all__ = ["refresh_machines"]

_DRIVER = DigitalOceanDriver()

#: ``(token, base_url, timeout) -> DigitalOceanAPI``: the seam tests use.
ApiFactory = t.Callable[[str, str, float], DigitalOceanAPI]


def _record_id(record: MachineRecord) -> int:
    try:
        return max(0, int(record.driver.get("DropletID") or 0))
    except (TypeError, ValueError):
        return 0


def _outcome(record: MachineRecord, droplet: t.Mapping[str, t.Any] | None, report: RefreshReport) -> Refreshed:
    number = _record_id(record)
    if droplet is None:
        report.warnings.append(
            "Docker machine %r: its droplet %d was not found (deleted, or in another account); its state is Error. state=absent of "
            "dockyard.machine.docker_machine removes the record." % (record.name, number)
        )
        return Refreshed(state="Error", error="droplet %d not found" % number)
    status = str(droplet.get("status") or "")
    refreshed = Refreshed(state=STATE_MAP.get(status, "Error"))
    if refreshed.state == "Error":
        refreshed.error = "droplet %d is %r" % (number, status)
    address = address_of(record, droplet)
    if address:
        moved = dataclasses.replace(record, config=dict(record.config, Driver=dict(record.driver, IPAddress=address)))
        refreshed.address, refreshed.url = address, _DRIVER.url(moved)
    return refreshed


def refresh_machines(records: t.Sequence[MachineRecord], settings: RefreshSettings, *, api_factory: ApiFactory | None = None) -> RefreshReport:
    """State and address of every digitalocean record, from tag listings (paginated) and, for untagged droplets, one
    request each. Never raises for what the API answers or fails to answer."""
    started = time.monotonic()
    deadline = started + settings.timeout
    report = RefreshReport()
    base_url = str(settings.endpoint_url or "").rstrip("/")
    asked: list[MachineRecord] = []
    for record in records:
        recorded = str(record.sidecar.get("APIURL") or "").rstrip("/")
        if not _record_id(record):
            report.machines[record.name] = Refreshed(state="Error", error="its record names no droplet (DropletID is empty)")
            report.warnings.append("Docker machine %r: its record names no droplet (its create stopped before the droplet); its state is Error." % record.name)
        elif recorded and recorded != (base_url or DEFAULT_API_URL):
            reason = (
                "its droplet is at the DigitalOcean API %s, which the refresh does not ask (set the inventory's option cloud_endpoint_url "
                "to it: a record never chooses where the token goes)" % recorded
            )
            report.machines[record.name] = Refreshed(state="Error", error=reason)
            report.warnings.append("Docker machine %r: %s; its state is Error." % (record.name, reason))
        else:
            asked.append(record)
    if not asked:
        return report
    factory = api_factory or (lambda token, url, timeout: DigitalOceanAPI(token, url, timeout=timeout, attempts=1))
    where = base_url or DEFAULT_API_URL
    api = None
    try:
        api = factory(os.environ.get(TOKEN_ENV, ""), base_url, max(0.1, settings.timeout))
        # Every droplet a create made carries FLEET_TAG: one listing (200 a page) answers for all of them.
        found = {int(d.get("id") or 0): d for d in api.droplets(tag=FLEET_TAG)}
        if time.monotonic() > deadline:
            raise TimeoutError("the refresh took longer than %g s" % settings.timeout)
        for record in asked:
            number = _record_id(record)
            if number not in found:
                droplet = api.droplet(number)
                if droplet is not None:
                    found[number] = droplet
            report.machines[record.name] = _outcome(record, found.get(number), report)
            if time.monotonic() > deadline:
                raise TimeoutError("the refresh took longer than %g s" % settings.timeout)
    except (MachineError, OSError) as exc:
        state = "Timeout" if isinstance(exc, TimeoutError) or "did not answer" in str(exc) else "Error"
        reason = "cannot ask the DigitalOcean API at %s: %s" % (where, getattr(exc, "msg", exc))
        left = [r.name for r in asked if r.name not in report.machines]
        for name in left:
            report.machines[name] = Refreshed(state=state, error=reason)
        report.warnings.append("DigitalOcean refresh: %s; %d machine(s) show %s: %s." % (reason, len(left), state, ", ".join(left)))
    report.calls += api.calls if api is not None else 0
    report.details.append("DigitalOcean %s: %d request(s) for %d machine(s) in %.2f s" % (where, report.calls, len(asked), time.monotonic() - started))
    return report
