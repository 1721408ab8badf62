# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""Work on a machine's host: SSH sessions whose host keys are pinned in the record, provisioning the engine with
the machine's server certificate, the TLS check of the engine, and removing our configuration from the host."""

from __future__ import annotations

import contextlib
import os
import time
import typing as t
from dataclasses import dataclass

from ansible_collections.dockyard.machine.plugins.module_utils import _certs
from ansible_collections.dockyard.machine.plugins.module_utils._daemon_config import DaemonConfig
from ansible_collections.dockyard.machine.plugins.module_utils._endpoint import endpoint_for
from ansible_collections.dockyard.machine.plugins.module_utils._errors import EngineError, MachineError
from ansible_collections.dockyard.machine.plugins.module_utils._outcome import Outcome
from ansible_collections.dockyard.machine.plugins.module_utils._provision import EngineInstall, Provisioner, ProvisionRequest
from ansible_collections.dockyard.machine.plugins.module_utils._ssh import SSHSession, SSHTarget

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._authority import CertificateAuthority, StoreAuthority
    from ansible_collections.dockyard.machine.plugins.module_utils._engine import TLSFiles
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord, MachineStore

__all__ = ["ENGINE_WAIT", "HOST_KEY_ALIAS", "HostWork", "Hosts"]

ENGINE_WAIT = 60.0  # seconds the engine may take to answer over TLS after a restart
HOST_KEY_ALIAS = "dockyard-machine-%s"


@dataclass(frozen=True)
class HostWork:
    """How to work on a host: bounds and choices that are not part of the record."""

    timeout: float = 120.0
    install: EngineInstall = EngineInstall(enabled=False)
    key_type: str = "rsa"
    reset_host_key: bool = False
    settled: bool = False  # a host set up before: a refused connection or login fails at once


class Hosts:
    """The one way machines' hosts are reached. ``ssh_runner`` and ``engine_probe`` are the seams tests use (a
    transcript, a fake engine); ``ssh_config`` is the SSH client configuration the task passed (ssh -F)."""

    def __init__(
        self,
        store: MachineStore,
        authority: StoreAuthority,
        *,
        check_mode: bool,
        ssh_runner: t.Callable[..., t.Any],
        engine_probe: t.Callable[..., dict[str, t.Any]],
        ssh_config: str = "",
    ) -> None:
        self.store = store
        self.authority = authority
        self.check_mode = check_mode
        self.ssh_runner = ssh_runner
        self.engine_probe = engine_probe
        # A record's own (kept in its sidecar) is never used: a shared store or an imported record must not choose
        # what ssh runs here.
        self.ssh_config = ssh_config

    def converge(
        self, record: MachineRecord, driver: t.Any, authority: CertificateAuthority, host: HostWork, outcome: Outcome, *, force_cert: bool = False
    ) -> None:
        server, issued = self.authority.server_certificate(record, driver, authority, host.key_type, force=force_cert)
        if issued:
            outcome.steps.append("server certificate")
        self.provision(record, driver, authority.ca.cert_pem, server, host, outcome)

    def ssh_target(self, record: MachineRecord, driver: t.Any, timeout: float, reset_host_key: bool = False) -> SSHTarget:
        key = record.ssh_key_path
        return SSHTarget(
            host=driver.ip(record),
            alias=HOST_KEY_ALIAS % record.name,
            port=record.ssh_port,
            user=record.ssh_user,
            key_path=key if key and os.path.isfile(key) else "",
            proxy_jump=str(record.sidecar.get("ProxyJump") or ""),
            config_file=self.ssh_config,
            pinned_host_keys=() if reset_host_key else tuple(record.sidecar.get("HostKeys") or ()),
            connect_timeout=int(min(max(timeout, 5), 30)),
        )

    def provision(self, record: MachineRecord, driver: t.Any, ca_pem: bytes, server: _certs.CertPair, host: HostWork, outcome: Outcome) -> None:
        request = ProvisionRequest(
            ca_pem=ca_pem,
            server_cert_pem=server.cert_pem,
            server_key_pem=server.key_pem,
            daemon=DaemonConfig.from_engine_options(record.engine_options, provider=driver.name, port=driver.engine_port(record)),
            install=host.install,
        )
        with self.session(record, driver, host.timeout, outcome, reset_host_key=host.reset_host_key, settled=host.settled) as session:
            report = Provisioner(session, check_mode=self.check_mode).provision(request)
        outcome.steps.extend(report.changed_steps)
        outcome.warnings.extend(report.warnings)

    def upgrade(self, record: MachineRecord, driver: t.Any, install: EngineInstall, timeout: float, outcome: Outcome) -> tuple[str, str]:
        """The engine upgraded from its install source within its pin; the versions before and after."""
        with self.session(record, driver, timeout, outcome, settled=True) as session:
            report, before, after = Provisioner(session, check_mode=self.check_mode).upgrade_engine(install)
        outcome.steps.extend(report.changed_steps)
        outcome.warnings.extend(report.warnings)
        return before, after

    @contextlib.contextmanager
    def session(
        self, record: MachineRecord, driver: t.Any, timeout: float, outcome: Outcome, *, reset_host_key: bool = False, settled: bool = False
    ) -> t.Iterator[SSHSession]:
        """The one way a host is reached: an SSH session once the host answers, whose host keys
        are pinned in the record's sidecar at first contact (the caller saves the record).

        Records the original tool wrote hold no keys; the first session of ours pins what it saw, so
        every later one refuses a different key."""
        unused = self.unused_ssh_config(record)
        if unused and unused not in outcome.warnings:
            outcome.warnings.append(unused)
        try:
            with SSHSession(self.ssh_target(record, driver, timeout, reset_host_key), runner=self.ssh_runner) as session:
                session.wait_until_reachable(timeout, settled=settled)
                learned = list(session.learned_host_keys())
                if learned and learned != list(record.sidecar.get("HostKeys") or []):
                    record.sidecar["HostKeys"] = learned
                    outcome.steps.append("pin host key")
                    outcome.host_keys_pinned = True
                yield session
        except MachineError as exc:
            if unused:  # the likely reason the login failed: said with the failure, not only in a lost result
                exc.details.setdefault("warnings", []).append(unused)
            raise

    def unused_ssh_config(self, record: MachineRecord) -> str:
        """The warning for a record whose sidecar names an SSH configuration this task did not pass (empty if none)."""
        stored = str(record.sidecar.get("SSHConfig") or "")
        if not stored or stored == self.ssh_config:
            return ""
        return (
            "%s: its record names the SSH configuration %s, which this task did not pass, so it was not used (a record "
            "cannot choose the configuration ssh runs with). Pass it as the driver option ssh_config (docker_machine) or "
            "option ssh_config (docker_machine_certs) to use it." % (record.name, stored)
        )

    def verify_engine(self, record: MachineRecord, tls: TLSFiles | None = None) -> str:
        """A real TLS call with the client certificate; retried while the engine starts."""
        endpoint = endpoint_for(self.store, record)
        deadline = time.monotonic() + ENGINE_WAIT
        while True:
            try:
                return str(self.engine_probe(endpoint.url, tls or endpoint.tls, 10).get("Version", ""))
            except EngineError as exc:
                if time.monotonic() >= deadline or "validating certificates" in exc.msg:
                    raise EngineError(exc.msg, step="verify TLS", machine=record.name, **exc.details) from exc
                time.sleep(1)

    def clean_up(self, record: MachineRecord, driver: t.Any, timeout: float, outcome: Outcome) -> None:
        """Remove our engine configuration; the engine goes back to its package defaults (no TCP listener)."""
        from ansible_collections.dockyard.machine.plugins.module_utils._daemon_config import (
            DROPIN_PATH,
            REMOTE_CA,
            REMOTE_SERVER_CERT,
            REMOTE_SERVER_KEY,
        )

        script = (
            "rm -f {d} {ca} {cert} {key}; rmdir {dir} 2>/dev/null || true; systemctl daemon-reload; "
            "systemctl restart docker.socket 2>/dev/null || true; systemctl restart docker.service"
        ).format(d=DROPIN_PATH, ca=REMOTE_CA, cert=REMOTE_SERVER_CERT, key=REMOTE_SERVER_KEY, dir=os.path.dirname(DROPIN_PATH))
        local = Outcome()  # the record goes: a key pinned now is not a step of this task
        try:
            with self.session(record, driver, timeout, local, settled=True) as session:
                session.run(script, step="clean up host", timeout=timeout + 120)
        finally:
            outcome.warnings.extend(local.warnings)

    def preflight(self, record: MachineRecord, driver: t.Any, timeout: float) -> None:
        """The host answers over SSH (with its pinned key), or a MachineError says why not."""
        with self.session(record, driver, timeout, Outcome(), settled=True):
            pass
