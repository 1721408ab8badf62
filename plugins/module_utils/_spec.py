# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""What a user asks for with ``state: present``: the machine and engine specs, built one way from params or a record.

The module and the command line build the same params dict and call ``MachineSpec.from_params``; ``provision``
rebuilds the spec a record holds with ``EngineSpec.from_record``.  The argument specs here own the defaults.
"""

from __future__ import annotations

import copy
import typing as t
from dataclasses import dataclass

from ansible_collections.dockyard.machine.plugins.module_utils._provision import INSTALL_SOURCES, EngineInstall
from ansible_collections.dockyard.machine.plugins.module_utils._store import DEFAULT_INSTALL_URL, engine_options_document

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord

__all__ = ["ENGINE_ARGS", "SPEC_ARGS", "EngineSpec", "MachineSpec", "install_source_for"]

ENGINE_ARGS: dict[str, dict[str, t.Any]] = dict(
    install=dict(type="bool", default=True),
    source=dict(type="str", choices=list(INSTALL_SOURCES), default="docker"),
    install_url=dict(type="str", default=DEFAULT_INSTALL_URL),
    version=dict(type="str", default=""),
    labels=dict(type="list", elements="str", default=[]),
    insecure_registries=dict(type="list", elements="str", default=[]),
    registry_mirrors=dict(type="list", elements="str", default=[]),
    storage_driver=dict(type="str", default=""),
    env=dict(type="list", elements="str", default=[]),
    options=dict(type="dict", default={}),
)

# The options of ``state: present`` that make a MachineSpec (besides the driver's own, under the driver's name).
SPEC_ARGS: dict[str, dict[str, t.Any]] = dict(
    engine=dict(type="dict", default={}, options=ENGINE_ARGS),
    tls_san=dict(type="list", elements="str", default=[]),
    key_type=dict(type="str", choices=["rsa", "ecdsa"], default="rsa"),
    ssh_host_key_reset=dict(type="bool", default=False),
    timeout=dict(type="float", default=120),
)


def _filled(params: t.Mapping[str, t.Any], argument_spec: t.Mapping[str, t.Mapping[str, t.Any]]) -> dict[str, t.Any]:
    """``params`` with every option it leaves out (or sets to None) at the argument spec's default."""
    return {key: copy.deepcopy(spec.get("default")) if params.get(key) is None else params[key] for key, spec in argument_spec.items()}


def install_source_for(install_url: str) -> str:
    """The install source a record or a command line that names only a URL means: its own URL is a script."""
    return "script" if install_url and install_url != DEFAULT_INSTALL_URL else "docker"


def _flag_pairs(options: t.Mapping[str, t.Any]) -> tuple[tuple[str, str], ...]:
    """``engine.options`` as (flag, value) pairs: None is a flag without value, a list repeats the flag."""
    pairs: list[tuple[str, str]] = []
    for key, value in options.items():
        for one in value if isinstance(value, (list, tuple)) else [value]:
            pairs.append((str(key), "" if one is None else str(one)))
    return tuple(pairs)


@dataclass(frozen=True)
class EngineSpec:
    """The ``engine`` option: how to install the engine and how to configure it."""

    install: EngineInstall = EngineInstall()
    labels: tuple[str, ...] = ()
    insecure_registries: tuple[str, ...] = ()
    registry_mirrors: tuple[str, ...] = ()
    storage_driver: str = ""
    env: tuple[str, ...] = ()
    options: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_params(cls, engine_params: t.Mapping[str, t.Any] | None) -> EngineSpec:
        """The ``engine`` option's value (the module's, or the one the command line builds from its --engine-* flags)."""
        params = _filled(engine_params or {}, ENGINE_ARGS)
        return cls(
            install=EngineInstall(enabled=bool(params["install"]), source=params["source"], install_url=params["install_url"], version=params["version"]),
            labels=tuple(params["labels"]),
            insecure_registries=tuple(params["insecure_registries"]),
            registry_mirrors=tuple(params["registry_mirrors"]),
            storage_driver=params["storage_driver"],
            env=tuple(params["env"]),
            options=_flag_pairs(params["options"]),
        )

    @classmethod
    def from_record(cls, record: MachineRecord) -> EngineSpec:
        """What a record holds (its EngineOptions, and the install choices our sidecar keeps); records the original wrote too."""
        engine = record.engine_options
        installed = record.sidecar.get("Engine") or {}
        install_url = str(engine.get("InstallURL") or DEFAULT_INSTALL_URL)
        flags = [str(f) for f in engine.get("ArbitraryFlags") or []]
        return cls(
            install=EngineInstall(
                enabled=bool(installed.get("Install", True)),
                source=str(installed.get("Source") or install_source_for(install_url)),
                install_url=install_url,
                version=str(installed.get("Version") or ""),
            ),
            labels=tuple(str(v) for v in engine.get("Labels") or []),
            insecure_registries=tuple(str(v) for v in engine.get("InsecureRegistry") or []),
            registry_mirrors=tuple(str(v) for v in engine.get("RegistryMirror") or []),
            storage_driver=str(engine.get("StorageDriver") or ""),
            env=tuple(str(v) for v in engine.get("Env") or []),
            options=tuple((f.split("=", 1)[0], f.split("=", 1)[1] if "=" in f else "") for f in flags),
        )

    def engine_options(self) -> dict[str, t.Any]:
        """The record's EngineOptions, as the original's --engine-* flags would have filled it."""
        return engine_options_document(
            arbitrary_flags=["%s=%s" % (k, v) if v != "" else k for k, v in self.options],
            env=self.env,
            insecure_registries=self.insecure_registries,
            labels=self.labels,
            storage_driver=self.storage_driver,
            registry_mirrors=self.registry_mirrors,
            install_url=self.install.install_url,
        )


@dataclass(frozen=True)
class MachineSpec:
    """What the user asked for with ``state: present``."""

    name: str
    driver: str
    driver_options: t.Mapping[str, t.Any]
    engine: EngineSpec = EngineSpec()
    tls_san: tuple[str, ...] = ()
    key_type: str = "rsa"
    ssh_host_key_reset: bool = False
    timeout: float = 120.0

    @classmethod
    def from_params(cls, params: t.Mapping[str, t.Any]) -> MachineSpec:
        """The spec the module's params (or the command line's, built the same way) ask for; the driver's options are under its name."""
        filled = _filled(params, SPEC_ARGS)
        driver = str(params["driver"])
        return cls(
            name=str(params["name"]),
            driver=driver,
            driver_options=params.get(driver) or {},
            engine=EngineSpec.from_params(filled["engine"]),
            tls_san=tuple(filled["tls_san"]),
            key_type=filled["key_type"],
            ssh_host_key_reset=bool(filled["ssh_host_key_reset"]),
            timeout=float(filled["timeout"]),
        )
