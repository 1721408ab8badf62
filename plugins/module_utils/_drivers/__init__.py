# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""The driver registry: a driver name maps to its class; nothing else knows the names."""

from __future__ import annotations

import typing as t

from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2 import AmazonEC2Driver
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2_refresh import refresh_machines as refresh_amazonec2
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.base import Driver
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.batch import BatchRefresher
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.generic import GenericDriver
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.none import NoneDriver
from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError

__all__ = ["BATCH_REFRESHERS", "DRIVERS", "add_driver_options", "batch_refresher", "cloud_options", "get_driver", "task_ssh_config"]

DRIVERS: dict[str, type[Driver]] = {cls.name: cls for cls in (GenericDriver, NoneDriver, AmazonEC2Driver)}
# Drivers that can describe many machines in one cloud call (see batch.py).
BATCH_REFRESHERS: dict[str, BatchRefresher] = {AmazonEC2Driver.name: refresh_amazonec2}


def get_driver(name: str, cloud_options: t.Mapping[str, t.Any] | None = None) -> Driver:
    """The driver ``name``; ``cloud_options`` are the task's options for its cloud (see ``cloud_options``)."""
    try:
        return DRIVERS[name](cloud_options)
    except KeyError:
        raise DriverError(
            "Driver %r is not supported; the supported drivers are: %s." % (name, ", ".join(sorted(DRIVERS))),
            option="driver",
        ) from None


def batch_refresher(name: str) -> BatchRefresher | None:
    """The batch refresher of driver ``name``; None when its machines are only asked one by one."""
    return BATCH_REFRESHERS.get(name)


def add_driver_options(argument_spec: dict) -> dict:
    """Add ``driver`` (choices from the registry), each driver's nested options and the top-level options a driver's
    cloud takes (amazon.aws's region, endpoint_url, credentials ...) to a module's spec."""
    argument_spec["driver"] = {"type": "str", "choices": sorted(n for n, cls in DRIVERS.items() if cls.option_spec)}
    for name, cls in DRIVERS.items():
        if cls.option_spec:
            argument_spec[name] = {"type": "dict", "options": cls.option_spec}
        for option, spec in cls.task_option_spec().items():
            argument_spec.setdefault(option, spec)
    return argument_spec


def cloud_options(params: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The task's values of every driver's top-level cloud options (for ``get_driver`` and MachineManager)."""
    names = {option for cls in DRIVERS.values() for option in cls.task_option_spec()}
    return {k: params[k] for k in names if params.get(k) is not None}


def task_ssh_config(params: t.Mapping[str, t.Any]) -> str:
    """The SSH client configuration (ssh -F) a task passed in its driver's options; empty when none.

    Only this one is used: the copy a record keeps in its sidecar never chooses what ssh runs.
    """
    for name in DRIVERS:
        options = params.get(name)
        if isinstance(options, dict) and options.get("ssh_config"):
            return str(options["ssh_config"])
    return ""
