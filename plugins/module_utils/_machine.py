# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""The lifecycle of machines: plan, create or resume, converge, power and remove; the only code that sequences steps
and writes the store.  Host work is in _hosts.py, the store's CA in _authority.py, fleet re-issue and rotation in _fleet.py."""

from __future__ import annotations

import contextlib
import copy
import os
import typing as t
from datetime import datetime

from ansible_collections.dockyard.machine.plugins.module_utils import _certs
from ansible_collections.dockyard.machine.plugins.module_utils._authority import (
    CertificateAuthority,
    StoreAuthority,
    ensure_certificates,
    server_needs_reissue,
)
from ansible_collections.dockyard.machine.plugins.module_utils._daemon_config import DaemonConfig, render_dropin
from ansible_collections.dockyard.machine.plugins.module_utils._drivers import get_driver
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.base import HostContext
from ansible_collections.dockyard.machine.plugins.module_utils._endpoint import endpoint_for
from ansible_collections.dockyard.machine.plugins.module_utils._engine import engine_version
from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError, MachineError, StoreError
from ansible_collections.dockyard.machine.plugins.module_utils._fleet import Fleet, RotationOutcome
from ansible_collections.dockyard.machine.plugins.module_utils._hosts import HOST_KEY_ALIAS, Hosts, HostWork
from ansible_collections.dockyard.machine.plugins.module_utils._outcome import Outcome, mark_recorded, mark_running, recording_failure
from ansible_collections.dockyard.machine.plugins.module_utils._provision import checked_version
from ansible_collections.dockyard.machine.plugins.module_utils._spec import EngineSpec, MachineSpec
from ansible_collections.dockyard.machine.plugins.module_utils._ssh import SSHSession, subprocess_runner
from ansible_collections.dockyard.machine.plugins.module_utils._store import (
    MachineRecord,
    MachineStore,
    auth_options_document,
    new_config,
    validate_name,
)

__all__ = [
    "HOST_KEY_ALIAS",
    "CertificateAuthority",
    "EngineSpec",
    "MachineManager",
    "MachineSpec",
    "Outcome",
    "RotationOutcome",
    "ensure_certificates",
]


class MachineManager:
    """Create, converge, power and remove machines.  The only writer of the store.

    ``ssh_runner`` and ``engine_probe`` are the seams tests use (a transcript, a fake engine).
    """

    def __init__(
        self,
        store: MachineStore,
        *,
        check_mode: bool = False,
        ssh_runner: t.Callable[..., t.Any] = subprocess_runner,
        engine_probe: t.Callable[..., dict[str, t.Any]] = engine_version,
        org_user: str | None = None,
        now: datetime | None = None,
        ssh_config: str = "",
        cloud_options: t.Mapping[str, t.Any] | None = None,
    ) -> None:
        self.store = store
        # The task's options for reaching clouds (amazon.aws's region, endpoint_url, credentials ...); held in memory only.
        self.cloud_options = dict(cloud_options or {})
        self.check_mode = check_mode
        self.authority = StoreAuthority(store, org_user=org_user or _certs.default_org_user(), now=now)
        # ssh_config: the SSH client configuration (ssh -F) the task passed; a record's own is never used.
        self.hosts = Hosts(store, self.authority, check_mode=check_mode, ssh_runner=ssh_runner, engine_probe=engine_probe, ssh_config=ssh_config)
        self.fleet = Fleet(self.authority, self.hosts, self._driver, check_mode=check_mode)

    def _driver(self, name: str) -> t.Any:
        return get_driver(name, self.cloud_options)

    # -- the fleet's work, as docker_machine_certs and the command line ask for it (_fleet.py) ----------------
    def certificate_report(self, names: t.Sequence[str] | None = None, *, renew_days: int = 30) -> dict[str, t.Any]:
        return self.fleet.certificate_report(names, renew_days=renew_days)

    def regenerate(self, names: t.Sequence[str] | None, **options: t.Any) -> Outcome:
        return self.fleet.regenerate(names, **options)

    def rotate(self, **options: t.Any) -> RotationOutcome:
        return self.fleet.rotate(**options)

    # -- present ------------------------------------------------------------------------------------
    def present(self, spec: MachineSpec, *, reach_engine: bool = True) -> Outcome:
        """Make the machine ``spec`` describes, or converge it, and check its engine over TLS.

        ``reach_engine=False`` (the original's ``create -d none``, which registers an engine that may not be up yet):
        for a driver with no host of ours to provision, the machine is recorded without reaching its engine; ``env``
        and ``config`` check it when it is used.
        """
        validate_name(spec.name)
        driver = self._driver(spec.driver)
        options = driver.validate(spec.driver_options)
        if not reach_engine and (driver.needs_ssh or driver.creates_hosts):
            raise DriverError("A machine of driver %s is reached while it is made: it cannot be only recorded." % driver.name, machine=spec.name)
        if options.get("ssh_config") and not self.hosts.ssh_config:
            self.hosts.ssh_config = options["ssh_config"]  # passed by this task, as the driver's option
        existing = self._load_existing(spec.name)
        if existing is not None and existing.driver_name != spec.driver:
            raise DriverError(
                "Machine %s already exists with driver %s, not %s. Remove it first (state=absent) or keep option 'driver' as it is."
                % (spec.name, existing.driver_name, spec.driver),
                machine=spec.name,
                option="driver",
            )
        record = self._desired_record(spec, driver, options, existing)
        # Engine values that cannot reach the host safely are refused before the store or a host is touched.
        checked_version(spec.engine.install.version)
        render_dropin(DaemonConfig.from_engine_options(record.engine_options, provider=driver.name, port=driver.engine_port(record)))
        outcome = Outcome(diff={"before": existing.redacted() if existing else {}, "after": record.redacted()})
        if existing is None or existing.needs_write or existing.document() != record.document():
            outcome.steps.append("record")
        if self.check_mode:
            self._plan_remote(spec, driver, record, outcome)
        else:
            self._converge(spec, driver, options, record, outcome, reach_engine=reach_engine)
        outcome.changed = bool(outcome.steps)
        outcome.status = str(record.sidecar.get("Status", ""))
        outcome.machine = record.redacted()
        endpoint = endpoint_for(self.store, record)
        outcome.docker, outcome.env = endpoint.docker_options(), endpoint.env()
        return outcome

    def _load_existing(self, name: str) -> MachineRecord | None:
        if not self.store.exists(name):
            return None
        try:
            return self.store.load(name)
        except StoreError:
            # A half-written record (killed create): it is rebuilt from the options, as a resume.
            return None

    def _desired_record(self, spec: MachineSpec, driver: t.Any, options: t.Mapping[str, t.Any], existing: MachineRecord | None) -> MachineRecord:
        root = self.store.root
        section = driver.driver_section(spec.name, root, options)
        engine_options = spec.engine.engine_options()
        if existing is None:
            doc = new_config(spec.name, root, spec.driver, section, engine_options=engine_options, server_cert_sans=spec.tls_san)
            sidecar: dict[str, t.Any] = {"Status": "creating"}
        else:
            doc = copy.deepcopy(existing.config)
            # What the driver learned while it worked (instance IDs, addresses) stays; the options give the rest.
            learned = set(driver.cloud_fields) & set(doc["Driver"])
            doc["Driver"].update({k: v for k, v in section.items() if k not in learned})
            doc["HostOptions"].setdefault("EngineOptions", {}).update(engine_options)
            auth = doc["HostOptions"].setdefault("AuthOptions", {})
            auth["ServerCertSANs"] = list(spec.tls_san)
            # Converging issues from this store's CA into this store's files, so the record must name them (an
            # imported machine may still point at another store's CA; the original's regenerate-certs would sign
            # with that key).
            defaults = auth_options_document(root, spec.name)
            for key in ("CertDir", "CaCertPath", "CaPrivateKeyPath", "ClientCertPath", "ClientKeyPath", "ServerCertPath", "ServerKeyPath", "StorePath"):
                auth[key] = defaults[key]
            sidecar = copy.deepcopy(existing.sidecar)
            sidecar.setdefault("Status", "creating")
        doc["HostOptions"]["AuthOptions"].update(driver.auth_paths(spec.name, root, options))
        sidecar["Engine"] = {"Install": spec.engine.install.enabled, "Source": spec.engine.install.source, "Version": spec.engine.install.version}
        # SSH settings the original's record cannot hold.
        for option, key in (("proxy_jump", "ProxyJump"), ("ssh_config", "SSHConfig")):
            if options.get(option):
                sidecar[key] = options[option]
            else:
                sidecar.pop(key, None)
        return MachineRecord(name=spec.name, config=doc, sidecar=sidecar)

    def _converge(
        self, spec: MachineSpec, driver: t.Any, options: t.Mapping[str, t.Any], record: MachineRecord, outcome: Outcome, *, reach_engine: bool = True
    ) -> None:
        authority = self.authority.ensure(spec.key_type)
        if authority.created:
            outcome.steps.append("certificates")
        outcome.warnings.extend(authority.warnings)
        # A first registration of a machine with nothing to resume (no host we change, no cloud
        # resources) that fails leaves the store as it was, instead of a record of an engine we never reached.
        undo_on_failure = not self.store.exists(spec.name) and not driver.needs_ssh and not driver.has_cloud_resources
        with self.store.lock(spec.name):
            self.store.save(record)  # intent recorded before anything happens on the host
            try:
                with recording_failure(self.store, record):
                    if driver.creates_hosts:
                        outcome.steps.extend(driver.ensure_host(record, options, self._host_context(record, spec.timeout)))
                    if self.authority.copy_client_files(spec.name, driver.local_files(spec.name, self.store.root, options)):
                        outcome.steps.append("local files")
                    if driver.needs_ssh:
                        host = HostWork(timeout=spec.timeout, install=spec.engine.install, key_type=spec.key_type, reset_host_key=spec.ssh_host_key_reset)
                        self.hosts.converge(record, driver, authority, host, outcome)
                    if reach_engine:
                        outcome.docker_version = self.hosts.verify_engine(record)
            except MachineError:
                if undo_on_failure:
                    self.store.remove(spec.name)
                raise
            if reach_engine:
                mark_running(self.store, record, outcome)
            else:
                mark_recorded(self.store, record, outcome)

    def _host_context(self, record: MachineRecord, timeout: float) -> HostContext:
        """What a driver that makes hosts may do to the store: save ``record`` (after each resource), write its files."""
        return HostContext(
            machine_dir=self.store.machine_dir(record.name),
            timeout=timeout,
            save=lambda: self.store.save(record),
            write_file=self.store.write_file,
        )

    @contextlib.contextmanager
    def user_session(self, name: str, *, timeout: float = 60.0) -> t.Iterator[SSHSession]:
        """An SSH session to machine ``name`` for a user's own commands (``ssh``, ``scp``).

        The host key is checked against the one pinned in the record, or pinned at this first contact
        and saved, as for every session of ours.
        """
        record = self.store.load(name)
        driver = self._driver(record.driver_name)
        if not driver.needs_ssh:
            raise DriverError("Machine %s (driver %s) is not reached over SSH." % (name, record.driver_name), machine=name)
        outcome = Outcome()
        with self.hosts.session(record, driver, timeout, outcome) as session:
            if outcome.host_keys_pinned and not self.check_mode:
                with self.store.lock(name):
                    self.store.save(record)
            yield session

    def _plan_remote(self, spec: MachineSpec, driver: t.Any, record: MachineRecord, outcome: Outcome) -> None:
        """Check mode: what would change, found by reading only (store files, then the host over SSH)."""
        if not os.path.isfile(self.store.cert_path("ca.pem")):
            outcome.steps.append("certificates")
            if driver.needs_ssh:
                outcome.steps.append("provision")
            return
        authority = self.authority.read()
        if not driver.has_host(record):
            outcome.steps.extend([driver.create_step, "server certificate", "provision"])
            return
        if driver.needs_ssh:
            current = self.authority.current_server_pair(record)
            if current is None or server_needs_reissue(current, authority.ca, self.authority.server_sans(record, driver), self.authority.now):
                outcome.steps.extend(["server certificate", "provision"])
                return
            host = HostWork(timeout=spec.timeout, install=spec.engine.install, key_type=spec.key_type, reset_host_key=spec.ssh_host_key_reset)
            try:
                self.hosts.provision(record, driver, authority.ca.cert_pem, current, host, outcome)
            except MachineError as exc:
                outcome.steps.append("provision")
                outcome.warnings.append("Check mode could not read the host: %s" % exc.msg)

    # -- upgrade ------------------------------------------------------------------------------------
    def upgrade(self, name: str, *, timeout: float = 120.0) -> Outcome:
        """``docker-machine upgrade``: the engine upgraded on the host from the record's install source, within its
        version pin (the same choices create and provision install with); the engine answers over TLS afterwards."""
        record = self.store.load(name)
        driver = self._driver(record.driver_name)
        if not driver.needs_ssh:
            raise DriverError(
                "Machine %s (driver %s) has no host this collection reaches: upgrade the engine where it runs." % (name, record.driver_name), machine=name
            )
        outcome = Outcome(status="running")
        before, after = self.hosts.upgrade(record, driver, EngineSpec.from_record(record).install, timeout, outcome)
        if outcome.host_keys_pinned and not self.check_mode:
            with self.store.lock(name):
                self.store.save(record)
        outcome.changed = bool(outcome.steps)
        outcome.diff = {"before": {"engine": before}, "after": {"engine": after}}
        if not self.check_mode:
            outcome.docker_version = self.hosts.verify_engine(record)
        return outcome

    # -- provision ----------------------------------------------------------------------------------
    def recorded_spec(self, name: str, *, timeout: float = 120.0) -> MachineSpec:
        """What ``present`` needs to bring machine ``name`` to what its record holds (``docker-machine provision``).

        It works on records the original wrote: their engine options, SANs and driver fields are the spec.
        """
        record = self.store.load(name)
        driver = self._driver(record.driver_name)
        return MachineSpec(
            name=name,
            driver=record.driver_name,
            driver_options=driver.options_from_record(record, self.store.machine_dir(name)),
            engine=EngineSpec.from_record(record),
            tls_san=tuple(str(v) for v in record.auth_options.get("ServerCertSANs") or []),
            timeout=timeout,
        )

    # -- absent -------------------------------------------------------------------------------------
    def absent(self, name: str, *, cleanup: bool = False, timeout: float = 60.0, force: bool = False) -> Outcome:
        """Remove the machine: its cloud resources first (the record stays when they cannot be removed, unless
        ``force``), then, with ``cleanup``, our configuration on its host, then the record."""
        validate_name(name)
        if not self.store.exists(name):
            return Outcome(changed=False, status="absent")
        record = self._load_existing(name)
        outcome = Outcome(changed=True, status="absent", diff={"before": record.redacted() if record else {"Name": name}, "after": {}})
        driver = self._driver(record.driver_name) if record is not None else None
        in_cloud = driver.cloud_resources(record) if driver is not None and driver.has_cloud_resources else []
        if in_cloud:
            outcome.steps.append("remove cloud resources")
        outcome.steps.append("remove record")
        if self.check_mode:
            return outcome
        with self.store.lock(name):
            if record is not None and driver is not None and cleanup and driver.needs_ssh:
                try:
                    self.hosts.clean_up(record, driver, timeout, outcome)
                    outcome.steps.insert(0, "clean up host")
                except MachineError as exc:
                    outcome.warnings.append("The record was removed, but cleaning up the host failed: %s" % exc.msg)
            if in_cloud:
                try:
                    driver.remove_cloud_resources(record, timeout)
                except MachineError as exc:
                    if not force:
                        raise
                    outcome.warnings.append(
                        "The record of %s was removed with force=true, but its cloud resources were not: %s"
                        % (name, ", ".join(exc.details.get("cloud_resources") or in_cloud))
                    )
            self.store.remove(name)
        return outcome

    # -- power --------------------------------------------------------------------------------------
    def power(self, name: str, state: str, *, timeout: float = 60.0, force: bool = False) -> Outcome:
        """``started``, ``stopped`` or ``restarted``. Machines whose driver owns the host (EC2) power the host; hosts we
        do not own (generic) get their engine powered. ``force`` with ``stopped``: a forced stop (the original's kill)."""
        record = self.store.load(name)
        driver = self._driver(record.driver_name)
        if not driver.needs_ssh and not driver.supports_power:
            raise DriverError("Hosts without a driver cannot be %s (driver %s)." % (state, record.driver_name), machine=name, option="state")
        action = {"started": "start", "stopped": "stop", "restarted": "restart"}[state]
        outcome = Outcome(status=state)
        if driver.supports_power:
            self._power_host(record, driver, action, timeout, force, outcome)
        else:
            self._power_engine(record, driver, action, state, timeout, outcome)
        outcome.changed = bool(outcome.steps)
        if state != "stopped" and not self.check_mode:
            outcome.docker_version = self.hosts.verify_engine(record)
        endpoint = endpoint_for(self.store, record)
        outcome.docker, outcome.env, outcome.machine = endpoint.docker_options(), endpoint.env(), record.redacted()
        return outcome

    def _power_engine(self, record: MachineRecord, driver: t.Any, action: str, state: str, timeout: float, outcome: Outcome) -> None:
        with self.hosts.session(record, driver, timeout, outcome, settled=True) as session:
            active = session.run("systemctl is-active --quiet docker.service", step="engine state", check=False).rc == 0
            wanted = {"started": not active, "stopped": active, "restarted": True}[state]
            if wanted:
                outcome.steps.append("%s engine" % action)
                outcome.powered = True
                if not self.check_mode:
                    units = "docker.service docker.socket" if action == "stop" else "docker.service"
                    session.run("systemctl %s %s" % (action, units), step="%s engine" % action, timeout=timeout + 120)
        # The record says when the engine was stopped here (the host runs on): the command line's url and env say so.
        status = "stopped" if state == "stopped" else "running" if record.sidecar.get("Status") == "stopped" else record.sidecar.get("Status")
        if (outcome.host_keys_pinned or status != record.sidecar.get("Status")) and not self.check_mode:
            if status:
                record.sidecar["Status"] = status
            with self.store.lock(record.name):
                self.store.save(record)

    def _power_host(self, record: MachineRecord, driver: t.Any, action: str, timeout: float, force: bool, outcome: Outcome) -> None:
        """Power the host through its driver. A host that comes back on another address gets the record and a server
        certificate for that address in this same task (the original needed a manual regenerate-certs)."""
        if self.check_mode:
            state = driver.state(record, min(timeout, 30))
            if {"start": state != "Running", "stop": state != "Stopped" or force, "restart": True}[action]:
                outcome.steps.append("%s %s" % (action, driver.host_noun))
                outcome.powered = True
            return
        with self.store.lock(record.name), recording_failure(self.store, record):
            previous_ip = record.ip_address
            if driver.power(record, action, timeout, force=force):
                outcome.steps.append("%s %s" % (action, driver.host_noun))
                outcome.powered = True
            if action == "stop":
                record.sidecar["Status"] = "stopped"
                self.store.save(record)
                return
            moved = record.ip_address != previous_ip
            if moved:
                outcome.steps.append("address")
            # Booting: SSH may refuse for a while (not settled). The server certificate is re-issued when the new
            # address is not in it; the engine is checked by the caller.
            authority = self.authority.read()
            host = HostWork(timeout=timeout, key_type=_certs.inspect_cert(authority.ca.cert_pem).key_type)
            if moved or outcome.powered:
                self.hosts.converge(record, driver, authority, host, outcome)
            mark_running(self.store, record, outcome)
