# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""How to reach one machine's engine: one source for env variables and community.docker options.

``docker_machine_env``, ``docker_machine_info``, ``docker_machine`` and the inventory plugin all
take their connection values from here, so they can never disagree.
"""

from __future__ import annotations

import os
import typing as t
from dataclasses import dataclass

from ansible_collections.dockyard.machine.plugins.module_utils._drivers import get_driver
from ansible_collections.dockyard.machine.plugins.module_utils._engine import TLSFiles, engine_version
from ansible_collections.dockyard.machine.plugins.module_utils._errors import EngineError

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._drivers.base import Driver
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord, MachineStore

__all__ = ["ConnectionCheck", "Endpoint", "ENV_NAMES", "check_connection", "endpoint_for", "error_cause"]

# The variables `docker-machine env` sets, in its order.
ENV_NAMES = ("DOCKER_TLS_VERIFY", "DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_MACHINE_NAME")


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: str
    cert_path: str  # DOCKER_CERT_PATH: <store>/machines/<name> at the store's current location
    tls: TLSFiles

    def env(self) -> dict[str, str]:
        return {
            "DOCKER_TLS_VERIFY": "1",
            "DOCKER_HOST": self.url,
            "DOCKER_CERT_PATH": self.cert_path,
            "DOCKER_MACHINE_NAME": self.name,
        }

    def docker_options(self) -> dict[str, t.Any]:
        """The options every community.docker module takes (``module_defaults: group/community.docker.docker``)."""
        return {
            "docker_host": self.url,
            "tls": True,
            "validate_certs": True,
            "ca_path": self.tls.ca,
            "client_cert": self.tls.cert,
            "client_key": self.tls.key,
        }


def _tls_files(store: MachineStore, record: MachineRecord, machine_dir: str) -> tuple[str, TLSFiles]:
    """DOCKER_CERT_PATH and the three files in it.

    The machine folder's copies when all three exist (the original's DOCKER_CERT_PATH).  The original's
    ``none`` driver never made those copies (its #908, #2270): then the record's own files are used,
    and DOCKER_CERT_PATH is their folder when the Docker CLI can read them there by their usual names.
    """
    local = TLSFiles(*(os.path.join(machine_dir, f) for f in ("ca.pem", "cert.pem", "key.pem")))
    if all(os.path.isfile(p) for p in (local.ca, local.cert, local.key)):
        return machine_dir, local
    auth = record.auth_options
    recorded = TLSFiles(
        ca=auth.get("CaCertPath") or store.cert_path("ca.pem"),
        cert=auth.get("ClientCertPath") or store.cert_path("cert.pem"),
        key=auth.get("ClientKeyPath") or store.cert_path("key.pem"),
    )
    folder = os.path.dirname(recorded.ca)
    if recorded == TLSFiles(*(os.path.join(folder, f) for f in ("ca.pem", "cert.pem", "key.pem"))):
        return folder, recorded
    return machine_dir, recorded


def endpoint_for(store: MachineStore, record: MachineRecord, driver: Driver | None = None) -> Endpoint:
    """Raises DriverError when the record has no usable URL."""
    url = (driver or get_driver(record.driver_name)).url(record)
    cert_path, tls = _tls_files(store, record, store.machine_dir(record.name))
    return Endpoint(name=record.name, url=url, cert_path=cert_path, tls=tls)


@dataclass(frozen=True)
class ConnectionCheck:
    """One check of a machine's engine: its host runs (when asked), then a TLS call with the store's client certificate.

    ``version`` when the engine answered; otherwise ``error`` (or ``running`` false) and ``cause`` say why. Callers
    render it in their own words: the module's (``docker_machine_env``) or the original's (``dockyard-machine env``).
    """

    endpoint: Endpoint | None
    version: str = ""
    running: bool = True
    error: EngineError | None = None

    @property
    def ok(self) -> bool:
        return self.running and self.error is None

    @property
    def cause(self) -> str:
        """Why the check failed, as the failing layer says it ("connection refused", a certificate's verify message)."""
        if not self.running:
            return "Host is not running"
        return "" if self.error is None else error_cause(self.error)


def error_cause(error: EngineError) -> str:
    """Why an engine call failed, as the failing layer says it ("Connection refused", a certificate's verify message)."""
    cause = error.__cause__
    if cause is None:
        return error.msg
    return getattr(cause, "verify_message", None) or getattr(cause, "strerror", None) or str(cause) or error.msg


def check_connection(store: MachineStore, record: MachineRecord, timeout: float, *, running_first: bool = False) -> ConnectionCheck:
    """The one TLS check of a machine's engine (``docker-machine env``'s ``DefaultConnChecker``): with ``running_first``,
    a host its driver reaches over SSH must be running first; then ``/version`` over TLS, bounded by ``timeout``.

    Raises DriverError when the record has no usable URL.
    """
    driver = get_driver(record.driver_name)
    if running_first and driver.needs_ssh and driver.state(record, min(timeout, 10.0)) != "Running":
        return ConnectionCheck(endpoint=None, running=False)
    endpoint = endpoint_for(store, record, driver)
    try:
        answer = engine_version(endpoint.url, endpoint.tls, timeout)
    except EngineError as exc:
        return ConnectionCheck(endpoint=endpoint, error=exc)
    return ConnectionCheck(endpoint=endpoint, version=str(answer.get("Version") or ""))
