# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""The driver registry: a driver name maps to its class; nothing else knows the names."""

from __future__ import annotations

import typing as t

from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError
from ansible_collections.dockyard.machine.plugins.module_utils._store import SIDECAR_KEYS

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._drivers.base import Driver
    from ansible_collections.dockyard.machine.plugins.module_utils._drivers.batch import BatchRefresher
    from ansible_collections.dockyard.machine.plugins.module_utils._sidecar import SidecarKey

__all__ = [
    "BATCH_REFRESHERS",
    "DRIVERS",
    "add_driver_options",
    "batch_refresher",
    "cloud_options",
    "get_driver",
    "group_defaults",
    "sidecar_keys",
    "task_option_spec",
    "task_ssh_config",
]


# Each driver's module is imported when that driver is first used, not with the registry: a command that reads one
# generic machine's record never loads the cloud drivers. The imports are plain statements inside functions, so that
# Ansible's module packer (it scans a module_util's source for imports) still ships every driver with the modules.
def _generic() -> type[Driver]:
    from ansible_collections.dockyard.machine.plugins.module_utils._drivers.generic import GenericDriver

    return GenericDriver


def _none() -> type[Driver]:
    from ansible_collections.dockyard.machine.plugins.module_utils._drivers.none import NoneDriver

    return NoneDriver


def _amazonec2() -> type[Driver]:
    from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2 import AmazonEC2Driver

    return AmazonEC2Driver


def _amazonec2_refresh() -> BatchRefresher:
    from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2_refresh import refresh_machines

    return refresh_machines


def _digitalocean() -> type[Driver]:
    from ansible_collections.dockyard.machine.plugins.module_utils._drivers.digitalocean import DigitalOceanDriver

    return DigitalOceanDriver


def _digitalocean_refresh() -> BatchRefresher:
    from ansible_collections.dockyard.machine.plugins.module_utils._drivers.digitalocean_refresh import refresh_machines

    return refresh_machines


class _Registry(t.MutableMapping[str, t.Any]):
    """Name -> value, each value loaded by its loader on first access. Names are known without loading anything
    (``in``, iteration, ``sorted``); ``items()`` and ``values()`` load every one."""

    def __init__(self, loaders: t.Mapping[str, t.Callable[[], t.Any]]) -> None:
        self._loaders = dict(loaders)
        self._loaded: dict[str, t.Any] = {}

    def __getitem__(self, name: str) -> t.Any:
        if name not in self._loaded:
            self._loaded[name] = self._loaders[name]()
        return self._loaded[name]

    def __setitem__(self, name: str, value: t.Any) -> None:
        self._loaders[name] = lambda: value
        self._loaded[name] = value

    def __delitem__(self, name: str) -> None:
        del self._loaders[name]
        self._loaded.pop(name, None)

    def __iter__(self) -> t.Iterator[str]:
        return iter(list(self._loaders))

    def __len__(self) -> int:
        return len(self._loaders)

    def __contains__(self, name: object) -> bool:
        return name in self._loaders

    def __repr__(self) -> str:
        return "<registry of %s>" % ", ".join(self._loaders)


#: Driver name -> its class (the driver's module is imported on first access).
DRIVERS: t.MutableMapping[str, type[Driver]] = _Registry({"generic": _generic, "none": _none, "amazonec2": _amazonec2, "digitalocean": _digitalocean})
#: Drivers that can describe many machines in one cloud call (see batch.py).
BATCH_REFRESHERS: t.MutableMapping[str, BatchRefresher] = _Registry({"amazonec2": _amazonec2_refresh, "digitalocean": _digitalocean_refresh})


def get_driver(name: str, cloud_options: t.Mapping[str, t.Any] | None = None) -> Driver:
    """The driver ``name``; it gets those of ``cloud_options`` (the task's top-level cloud options, see ``cloud_options``)
    that it declares itself, never another driver's."""
    try:
        cls = DRIVERS[name]
    except KeyError:
        raise DriverError(
            "Driver %r is not supported; the supported drivers are: %s." % (name, ", ".join(sorted(DRIVERS))),
            option="driver",
        ) from None
    own = cls.task_option_spec() if cloud_options else {}
    return cls({k: v for k, v in (cloud_options or {}).items() if k in own})


def sidecar_keys(name: str) -> tuple[SidecarKey, ...]:
    """The sidecar facts a machine of driver ``name`` may hold: the store's for every machine, then the driver's own
    (none for a driver this version does not offer)."""
    cls = DRIVERS.get(name)
    return SIDECAR_KEYS + (cls.sidecar_keys if cls is not None else ())


def batch_refresher(name: str) -> BatchRefresher | None:
    """The batch refresher of driver ``name``; None when its machines are only asked one by one."""
    return BATCH_REFRESHERS.get(name)


def task_option_spec() -> dict[str, dict[str, t.Any]]:
    """Every driver's task-level options (each declared by one driver: a name two drivers declare is refused)."""
    spec: dict[str, dict[str, t.Any]] = {}
    owners: dict[str, str] = {}
    for name, cls in DRIVERS.items():
        for option, entry in cls.task_option_spec().items():
            if option in owners:
                raise ValueError("Drivers %s and %s both declare the task option %r: give one of them its own name." % (owners[option], name, option))
            owners[option] = name
            spec[option] = entry
    return spec


def add_driver_options(argument_spec: dict) -> dict:
    """Add ``driver`` (choices from the registry), each driver's nested options and the top-level options a driver's
    cloud takes (declared by that driver) to a module's spec."""
    argument_spec["driver"] = {"type": "str", "choices": sorted(n for n, cls in DRIVERS.items() if cls.option_spec)}
    for name, cls in DRIVERS.items():
        if cls.option_spec:
            argument_spec[name] = {"type": "dict", "options": cls.option_spec}
    for option, spec in task_option_spec().items():
        if option in argument_spec:
            raise ValueError("A driver's task option %r is also an option of the module: give it another name." % option)
        argument_spec[option] = spec
    return argument_spec


def cloud_options(params: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The task's values of the drivers' top-level cloud options (for ``get_driver``, which hands each driver its own)."""
    names = task_option_spec()
    return {k: params[k] for k in names if params.get(k) is not None}


def group_defaults(module_defaults: t.Any, args: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The task-level options that drivers' ``module_defaults`` groups give a task, by option name, without those the
    task has under any of their names; later entries win.

    A group fills only the options of the driver that declares it, and only for a task of that driver or a task that
    names none (a machine's record says which).
    """
    chosen = args.get("driver")
    entries = module_defaults if isinstance(module_defaults, list) else [module_defaults or {}]
    merged: dict[str, t.Any] = {}
    for name, cls in DRIVERS.items():
        if not cls.DEFAULTS_GROUPS or (chosen and chosen != name):
            continue
        canonical = {each: option for option, spec in cls.task_option_spec().items() for each in (option, *(spec.get("aliases") or ()))}
        taken = {canonical[key] for key in args if key in canonical}
        for entry in entries:
            for group in cls.DEFAULTS_GROUPS:
                values = entry.get(group) if isinstance(entry, dict) else None
                for key, value in (values.items() if isinstance(values, dict) else ()):
                    if key in canonical and canonical[key] not in taken:
                        merged[canonical[key]] = value
    return merged


def task_ssh_config(params: t.Mapping[str, t.Any]) -> str:
    """The SSH client configuration (ssh -F) a task passed in its driver's options; empty when none.

    Only this one is used: the copy a record keeps in its sidecar never chooses what ssh runs.
    """
    for name in DRIVERS:
        options = params.get(name)
        if isinstance(options, dict) and options.get("ssh_config"):
            return str(options["ssh_config"])
    return ""
