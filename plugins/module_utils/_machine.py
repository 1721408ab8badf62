# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""Orchestration: the only code that sequences steps and writes the store."""

from __future__ import annotations

import concurrent.futures
import contextlib
import copy
import os
import time
import typing as t
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from ansible_collections.dockyard.machine.plugins.module_utils import _certs
from ansible_collections.dockyard.machine.plugins.module_utils._daemon_config import DaemonConfig, render_dropin
from ansible_collections.dockyard.machine.plugins.module_utils._drivers import get_driver
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.base import HostContext
from ansible_collections.dockyard.machine.plugins.module_utils._endpoint import endpoint_for
from ansible_collections.dockyard.machine.plugins.module_utils._engine import TLSFiles, engine_version
from ansible_collections.dockyard.machine.plugins.module_utils._errors import (
    CertError,
    DriverError,
    EngineError,
    MachineError,
    StoreError,
)
from ansible_collections.dockyard.machine.plugins.module_utils._provision import EngineInstall, Provisioner, ProvisionRequest, checked_version
from ansible_collections.dockyard.machine.plugins.module_utils._spec import EngineSpec, MachineSpec
from ansible_collections.dockyard.machine.plugins.module_utils._ssh import SSHSession, SSHTarget, subprocess_runner
from ansible_collections.dockyard.machine.plugins.module_utils._store import (
    MachineRecord,
    MachineStore,
    auth_options_document,
    natural_key,
    new_config,
    validate_name,
)

__all__ = ["CertificateAuthority", "EngineSpec", "MachineManager", "MachineSpec", "Outcome", "RotationOutcome", "ensure_certificates"]

CA_FILES = ("ca.pem", "ca-key.pem")
CLIENT_FILES = ("cert.pem", "key.pem")
CERT_MODE = 0o644  # what the original leaves on certificates; keys are 0600
KEY_MODE = 0o600


@dataclass(frozen=True)
class CertificateAuthority:
    """The store's CA and client pair, and what bootstrapping changed."""

    ca: _certs.CertPair
    client: _certs.CertPair
    created: tuple[str, ...]


def _read_pair(store: MachineStore, cert_name: str, key_name: str) -> _certs.CertPair | None:
    cert_path, key_path = store.cert_path(cert_name), store.cert_path(key_name)
    has_cert, has_key = os.path.exists(cert_path), os.path.exists(key_path)
    if not has_cert and not has_key:
        return None
    if not has_cert:
        # The original refuses here too: a key without its certificate is a half-finished bootstrap.
        raise CertError(
            "%s exists but %s does not: an earlier bootstrap was interrupted. Move the key away (or restore the "
            "certificate) and run again." % (key_path, cert_path),
            path=key_path,
        )
    if not has_key:
        raise CertError("%s exists but its key %s does not. Restore the key or move both away." % (cert_path, key_path), path=cert_path)
    return _certs.load_pair(store.read_bytes(cert_path), store.read_bytes(key_path))


def _write_pair(store: MachineStore, pair: _certs.CertPair, cert_name: str, key_name: str) -> None:
    # Key first: a reader that finds the certificate always finds its key.
    store.write_file(store.cert_path(key_name), pair.key_pem, KEY_MODE)
    store.write_file(store.cert_path(cert_name), pair.cert_pem, CERT_MODE)


def ensure_certificates(
    store: MachineStore,
    *,
    key_type: str = "rsa",
    org_user: str | None = None,
    now: datetime | None = None,
) -> CertificateAuthority:
    """Create the CA and client certificate once, under a cross-process lock.

    Like docker-machine's BootstrapCertificates: a valid pair is never replaced, an expired one is.
    Unlike it, a client certificate that the current CA did not sign is re-issued (a rotated CA).
    """
    user = org_user or _certs.default_org_user()
    store.ensure_layout()
    created: list[str] = []
    with store.certs_lock():
        ca = _read_pair(store, *CA_FILES)
        if ca is None or _certs.inspect_cert(ca.cert_pem).is_expired(now):
            ca = _certs.new_ca(user, key_type=key_type, now=now)
            _write_pair(store, ca, *CA_FILES)
            created.append("ca")
        client = _read_pair(store, *CLIENT_FILES)
        if client is None or _client_needs_renewal(client, ca, now):
            client = _certs.new_client(ca, "%s.<bootstrap>" % user, key_type=key_type, now=now)
            _write_pair(store, client, *CLIENT_FILES)
            created.append("client")
    return CertificateAuthority(ca=ca, client=client, created=tuple(created))


def _client_needs_renewal(client: _certs.CertPair, ca: _certs.CertPair, now: datetime | None) -> bool:
    try:
        _certs.verify_signed_by(client.cert_pem, ca.cert_pem, now=now)
    except CertError:
        return True
    return False


# --- Machine lifecycle --------------------------------------------------------------------------------

RENEW_BEFORE = timedelta(days=30)  # a server certificate closer than this to its end is re-issued
ENGINE_WAIT = 60.0  # seconds the engine may take to answer over TLS after a restart
HOST_KEY_ALIAS = "dockyard-machine-%s"
ROTATION_DIR = "rotation"  # certs/rotation: a rotation's new material until the store switches to it
MAX_PARALLEL_HOSTS = 8


@dataclass(frozen=True)
class HostWork:
    """How to work on a host: bounds and choices that are not part of the record."""

    timeout: float = 120.0
    install: EngineInstall = EngineInstall(enabled=False)
    key_type: str = "rsa"
    reset_host_key: bool = False
    settled: bool = False  # a host set up before: a refused connection or login fails at once


@dataclass
class Outcome:
    """What a lifecycle call did (or, in check mode, would do)."""

    changed: bool = False
    status: str = ""
    machine: dict[str, t.Any] | None = None
    docker: dict[str, t.Any] | None = None
    env: dict[str, str] | None = None
    docker_version: str = ""
    steps: list[str] = field(default_factory=list)  # words for users; what the code acts on is in the flags below
    warnings: list[str] = field(default_factory=list)
    diff: dict[str, t.Any] = field(default_factory=dict)
    #: A session pinned host keys in the record's sidecar (the caller saves the record).
    host_keys_pinned: bool = False
    #: The host or its engine was (in check mode: would be) started, stopped or restarted.
    powered: bool = False

    def result(self) -> dict[str, t.Any]:
        out: dict[str, t.Any] = {"changed": self.changed, "status": self.status, "steps": self.steps}
        for key in ("machine", "docker", "env"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.docker_version:
            out["docker_version"] = self.docker_version
        return out


@dataclass
class RotationOutcome(Outcome):
    """What ``rotate`` did: besides the steps, the machines it could not re-issue or left alone, and the CA backup."""

    failed_machines: list[str] = field(default_factory=list)
    skipped_machines: list[str] = field(default_factory=list)
    ca_backup: str = ""


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
        # The SSH client configuration (ssh -F) the task passed. A record's own (kept in its sidecar)
        # is never used: a shared store or an imported record must not choose what ssh runs here.
        self.ssh_config = ssh_config
        self.check_mode = check_mode
        self.ssh_runner = ssh_runner
        self.engine_probe = engine_probe
        self.org_user = org_user or _certs.default_org_user()
        self.now = now

    def _driver(self, name: str) -> t.Any:
        return get_driver(name, self.cloud_options)

    # -- present ------------------------------------------------------------------------------------
    def present(self, spec: MachineSpec) -> Outcome:
        validate_name(spec.name)
        driver = self._driver(spec.driver)
        options = driver.validate(spec.driver_options)
        if options.get("ssh_config") and not self.ssh_config:
            self.ssh_config = options["ssh_config"]  # passed by this task, as the driver's option
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
            self._converge(spec, driver, options, record, outcome)
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

    def _converge(self, spec: MachineSpec, driver: t.Any, options: t.Mapping[str, t.Any], record: MachineRecord, outcome: Outcome) -> None:
        authority = ensure_certificates(self.store, key_type=spec.key_type, org_user=self.org_user, now=self.now)
        if authority.created:
            outcome.steps.append("certificates")
        # A first registration of a machine with nothing to resume (no host we change, no cloud
        # resources) that fails leaves the store as it was, instead of a record of an engine we never reached.
        undo_on_failure = not self.store.exists(spec.name) and not driver.needs_ssh and not driver.has_cloud_resources
        with self.store.lock(spec.name):
            self.store.save(record)  # intent recorded before anything happens on the host
            try:
                with self._recording_failure(record):
                    if driver.creates_hosts:
                        outcome.steps.extend(driver.ensure_host(record, options, self._host_context(record, spec.timeout)))
                    if self._copy_local_files(spec.name, driver.local_files(spec.name, self.store.root, options)):
                        outcome.steps.append("local files")
                    if driver.needs_ssh:
                        host = HostWork(timeout=spec.timeout, install=spec.engine.install, key_type=spec.key_type, reset_host_key=spec.ssh_host_key_reset)
                        self._converge_host(record, driver, authority, host, outcome)
                    outcome.docker_version = self._verify_engine(record)
            except MachineError:
                if undo_on_failure:
                    self.store.remove(spec.name)
                raise
            self._mark_running(record, outcome)

    def _host_context(self, record: MachineRecord, timeout: float) -> HostContext:
        """What a driver that makes hosts may do to the store: save ``record`` (after each resource), write its files."""
        return HostContext(
            machine_dir=self.store.machine_dir(record.name),
            timeout=timeout,
            save=lambda: self.store.save(record),
            write_file=self.store.write_file,
        )

    @contextlib.contextmanager
    def _recording_failure(self, record: MachineRecord) -> t.Iterator[None]:
        """A failure leaves its step and message in the sidecar (``ls`` and the next run see them)."""
        try:
            yield
        except MachineError as exc:
            record.sidecar["Status"] = "error"
            record.sidecar["LastError"] = {"Step": exc.step or "", "Message": exc.msg}
            self.store.save(record)
            if exc.machine is None:
                exc.machine = record.name
            raise

    def _mark_running(self, record: MachineRecord, outcome: Outcome) -> None:
        record.sidecar["Status"] = "running"
        record.sidecar.pop("LastError", None)
        if self.store.save(record) and "record" not in outcome.steps:
            outcome.steps.append("record")

    def _converge_host(
        self, record: MachineRecord, driver: t.Any, authority: CertificateAuthority, host: HostWork, outcome: Outcome, *, force_cert: bool = False
    ) -> None:
        server, issued = self._server_certificate(record, driver, authority, host.key_type, force=force_cert)
        if issued:
            outcome.steps.append("server certificate")
        self._provision(record, driver, authority.ca.cert_pem, server, host, outcome)

    def _copy_local_files(self, name: str, driver_files: t.Mapping[str, tuple[str, int]]) -> bool:
        """The client certificates (DOCKER_CERT_PATH) and the driver's files, copied into the machine folder."""
        machine_dir = self.store.machine_dir(name)
        files = {
            os.path.join(machine_dir, "ca.pem"): (self.store.cert_path("ca.pem"), CERT_MODE),
            os.path.join(machine_dir, "cert.pem"): (self.store.cert_path("cert.pem"), CERT_MODE),
            os.path.join(machine_dir, "key.pem"): (self.store.cert_path("key.pem"), KEY_MODE),
        }
        files.update(driver_files)
        changed = False
        for target, (source, mode) in files.items():
            try:
                data = self.store.read_bytes(source)
            except StoreError as exc:
                raise StoreError(exc.msg, step="copy local files", path=source) from exc
            changed = self.store.write_file(target, data, mode) or changed
        return changed

    @staticmethod
    def server_sans(record: MachineRecord, driver: t.Any) -> list[str]:
        """The original's rule: extra SANs, the machine's address, localhost."""
        return [*(record.auth_options.get("ServerCertSANs") or []), driver.ip(record), "localhost"]

    def _server_certificate(
        self, record: MachineRecord, driver: t.Any, authority: CertificateAuthority, key_type: str, *, force: bool = False
    ) -> tuple[_certs.CertPair, bool]:
        """The machine's server pair, re-issued when missing, foreign, expiring or not covering its names."""
        cert_path, key_path = record.auth_options["ServerCertPath"], record.auth_options["ServerKeyPath"]
        sans = self.server_sans(record, driver)
        current = self._current_server_pair(cert_path, key_path)
        if not force and current is not None and not server_needs_reissue(current, authority.ca, sans, self.now):
            return current, False
        pair = self._new_server_pair(record, authority.ca, sans, key_type)
        self._write_server_pair(record, pair)
        return pair, True

    def _new_server_pair(self, record: MachineRecord, ca: _certs.CertPair, sans: t.Sequence[str], key_type: str) -> _certs.CertPair:
        return _certs.new_server(ca, "%s.%s" % (self.org_user, record.name), sans, key_type=key_type, now=self.now)

    def _write_server_pair(self, record: MachineRecord, pair: _certs.CertPair) -> None:
        # Key first: a reader that finds the certificate always finds its key.
        self.store.write_file(record.auth_options["ServerKeyPath"], pair.key_pem, KEY_MODE)
        self.store.write_file(record.auth_options["ServerCertPath"], pair.cert_pem, CERT_MODE)

    def _server_files(self, record: MachineRecord) -> dict[str, tuple[bytes, int]]:
        """The machine's server certificate and key as they are on disk, to put back after a failed re-issue."""
        files = {}
        for key, mode in (("ServerCertPath", CERT_MODE), ("ServerKeyPath", KEY_MODE)):
            path = record.auth_options.get(key) or ""
            if path and os.path.isfile(path):
                files[path] = (self.store.read_bytes(path), mode)
        return files

    def _current_server_pair(self, cert_path: str, key_path: str) -> _certs.CertPair | None:
        if not (os.path.isfile(cert_path) and os.path.isfile(key_path)):
            return None
        try:
            return _certs.load_pair(self.store.read_bytes(cert_path), self.store.read_bytes(key_path))
        except CertError:
            return None

    def _ssh_target(self, record: MachineRecord, driver: t.Any, timeout: float, reset_host_key: bool = False) -> SSHTarget:
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

    def _provision(self, record: MachineRecord, driver: t.Any, ca_pem: bytes, server: _certs.CertPair, host: HostWork, outcome: Outcome) -> None:
        request = ProvisionRequest(
            ca_pem=ca_pem,
            server_cert_pem=server.cert_pem,
            server_key_pem=server.key_pem,
            daemon=DaemonConfig.from_engine_options(record.engine_options, provider=driver.name, port=driver.engine_port(record)),
            install=host.install,
        )
        with self._session(record, driver, host.timeout, outcome, reset_host_key=host.reset_host_key, settled=host.settled) as session:
            report = Provisioner(session, check_mode=self.check_mode).provision(request)
        outcome.steps.extend(report.changed_steps)
        outcome.warnings.extend(report.warnings)

    @contextlib.contextmanager
    def _session(
        self, record: MachineRecord, driver: t.Any, timeout: float, outcome: Outcome, *, reset_host_key: bool = False, settled: bool = False
    ) -> t.Iterator[SSHSession]:
        """The one way this class reaches a host: an SSH session once the host answers, whose host keys
        are pinned in the record's sidecar at first contact (the caller saves the record).

        Records the original tool wrote hold no keys; the first session of ours pins what it saw, so
        every later one refuses a different key."""
        unused = self._unused_ssh_config(record)
        if unused and unused not in outcome.warnings:
            outcome.warnings.append(unused)
        try:
            with SSHSession(self._ssh_target(record, driver, timeout, reset_host_key), runner=self.ssh_runner) as session:
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

    def _unused_ssh_config(self, record: MachineRecord) -> str:
        """The warning for a record whose sidecar names an SSH configuration this task did not pass (empty if none)."""
        stored = str(record.sidecar.get("SSHConfig") or "")
        if not stored or stored == self.ssh_config:
            return ""
        return (
            "%s: its record names the SSH configuration %s, which this task did not pass, so it was not used (a record "
            "cannot choose the configuration ssh runs with). Pass it as the driver option ssh_config (docker_machine) or "
            "option ssh_config (docker_machine_certs) to use it." % (record.name, stored)
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
        with self._session(record, driver, timeout, outcome) as session:
            if outcome.host_keys_pinned and not self.check_mode:
                with self.store.lock(name):
                    self.store.save(record)
            yield session

    def _verify_engine(self, record: MachineRecord, tls: TLSFiles | None = None) -> str:
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

    def _plan_remote(self, spec: MachineSpec, driver: t.Any, record: MachineRecord, outcome: Outcome) -> None:
        """Check mode: what would change, found by reading only (store files, then the host over SSH)."""
        if not os.path.isfile(self.store.cert_path("ca.pem")):
            outcome.steps.append("certificates")
            if driver.needs_ssh:
                outcome.steps.append("provision")
            return
        authority = _read_authority(self.store)
        if not driver.has_host(record):
            outcome.steps.extend([driver.create_step, "server certificate", "provision"])
            return
        if driver.needs_ssh:
            current = self._current_server_pair(record.auth_options["ServerCertPath"], record.auth_options["ServerKeyPath"])
            if current is None or server_needs_reissue(current, authority.ca, self.server_sans(record, driver), self.now):
                outcome.steps.extend(["server certificate", "provision"])
                return
            host = HostWork(timeout=spec.timeout, install=spec.engine.install, key_type=spec.key_type, reset_host_key=spec.ssh_host_key_reset)
            try:
                self._provision(record, driver, authority.ca.cert_pem, current, host, outcome)
            except MachineError as exc:
                outcome.steps.append("provision")
                outcome.warnings.append("Check mode could not read the host: %s" % exc.msg)

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
            driver_options=driver.recorded_options(record),
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
                    self._cleanup_host(record, driver, timeout, outcome)
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

    def _cleanup_host(self, record: MachineRecord, driver: t.Any, timeout: float, outcome: Outcome) -> None:
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
            with self._session(record, driver, timeout, local, settled=True) as session:
                session.run(script, step="clean up host", timeout=timeout + 120)
        finally:
            outcome.warnings.extend(local.warnings)

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
            outcome.docker_version = self._verify_engine(record)
        endpoint = endpoint_for(self.store, record)
        outcome.docker, outcome.env, outcome.machine = endpoint.docker_options(), endpoint.env(), record.redacted()
        return outcome

    def _power_engine(self, record: MachineRecord, driver: t.Any, action: str, state: str, timeout: float, outcome: Outcome) -> None:
        with self._session(record, driver, timeout, outcome, settled=True) as session:
            active = session.run("systemctl is-active --quiet docker.service", step="engine state", check=False).rc == 0
            wanted = {"started": not active, "stopped": active, "restarted": True}[state]
            if wanted:
                outcome.steps.append("%s engine" % action)
                outcome.powered = True
                if not self.check_mode:
                    units = "docker.service docker.socket" if action == "stop" else "docker.service"
                    session.run("systemctl %s %s" % (action, units), step="%s engine" % action, timeout=timeout + 120)
        if outcome.host_keys_pinned and not self.check_mode:
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
        with self.store.lock(record.name), self._recording_failure(record):
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
            authority = _read_authority(self.store)
            host = HostWork(timeout=timeout, key_type=_certs.inspect_cert(authority.ca.cert_pem).key_type)
            if moved or outcome.powered:
                self._converge_host(record, driver, authority, host, outcome)
            self._mark_running(record, outcome)

    # -- certificates -------------------------------------------------------------------------------
    def certificate_report(self, names: t.Sequence[str] | None = None, *, renew_days: int = 30) -> dict[str, t.Any]:
        """Expiry of the CA and client certificate, and per machine: expiry, SANs, whether they cover its address."""
        window = timedelta(days=renew_days)
        report: dict[str, t.Any] = {"store": self.store.root, "machines": []}
        ca = _read_pair(self.store, *CA_FILES)
        client = _read_pair(self.store, *CLIENT_FILES)
        report["ca"] = _cert_summary(ca, None, window, self.now) if ca else None
        report["client"] = _cert_summary(client, ca, window, self.now) if client else None
        for record in self._records(names):
            report["machines"].append(self._machine_cert_summary(record, ca, window))
        return report

    def _records(self, names: t.Sequence[str] | None) -> list[MachineRecord]:
        if names:
            return [self.store.load(validate_name(n)) for n in names]
        records, errors = self.store.load_all()
        if errors:
            raise StoreError(
                "Some machine records cannot be read: %s. Fix or remove them, or name the machines to work on with option 'names'."
                % "; ".join(e.msg for e in errors),
            )
        return records

    def _machine_cert_summary(self, record: MachineRecord, ca: _certs.CertPair | None, window: timedelta) -> dict[str, t.Any]:
        driver = self._driver(record.driver_name)
        entry: dict[str, t.Any] = {"name": record.name, "driver": record.driver_name, "managed": driver.needs_ssh}
        if not driver.needs_ssh:
            entry["reasons"] = []
            return entry
        pair = self._current_server_pair(record.auth_options.get("ServerCertPath", ""), record.auth_options.get("ServerKeyPath", ""))
        sans = self.server_sans(record, driver)
        entry["address"] = driver.ip(record)
        entry["expected_sans"] = sans
        if pair is None:
            entry.update(reasons=["missing"], needs_reissue=True)
            return entry
        entry.update(_cert_summary(pair, ca, window, self.now))
        info = _certs.inspect_cert(pair.cert_pem)
        entry["sans"] = list(info.dns_names) + list(info.ip_addresses)
        entry["address_covered"] = info.covers(entry["address"])
        missing = [name for name in sans if not info.covers(name)]
        entry["missing_sans"] = missing
        if missing:
            entry["reasons"].append("SANs do not cover %s" % ", ".join(missing))
        entry["needs_reissue"] = bool(entry["reasons"])
        return entry

    def regenerate(
        self, names: t.Sequence[str] | None, *, ip_address: str | None = None, force: bool = False, renew_days: int = 30, timeout: float = 120.0
    ) -> Outcome:
        """Re-issue server certificates over SSH (never through the TLS endpoint) where needed, or always with ``force``."""
        if ip_address and (not names or len(names) != 1):
            raise MachineError("Option 'ip_address' needs exactly one machine in option 'names'.", option="ip_address")
        authority = _read_authority(self.store)
        outcome = Outcome(status="regenerated")
        for record in self._records(names):
            driver = self._driver(record.driver_name)
            if not driver.needs_ssh:
                outcome.warnings.append("%s (driver %s) has no server certificate of ours; skipped." % (record.name, record.driver_name))
                continue
            self._regenerate_one(record, driver, authority, ip_address, force, timedelta(days=renew_days), timeout, outcome)
        outcome.changed = bool(outcome.steps)
        return outcome

    def _regenerate_one(
        self,
        record: MachineRecord,
        driver: t.Any,
        authority: CertificateAuthority,
        ip_address: str | None,
        force: bool,
        window: timedelta,
        timeout: float,
        outcome: Outcome,
    ) -> None:
        steps: list[str] = []
        previous_ip = record.driver.get("IPAddress")
        if ip_address and ip_address != record.ip_address:
            record.driver["IPAddress"] = ip_address
            steps.append("address")
        summary = self._machine_cert_summary(record, authority.ca, window)
        if not (force or summary.get("needs_reissue") or steps):
            return
        if self.check_mode:
            outcome.steps.extend("%s: %s" % (record.name, step) for step in (*steps, "server certificate", "restart engine"))
            return
        local = Outcome()
        with self.store.lock(record.name), self._recording_failure(record):
            # The new address is recorded only together with the certificate that covers it, once the
            # engine answered with that certificate; until then the record and its files stay as they were.
            previous_files = self._server_files(record)
            try:
                host = HostWork(timeout=timeout, key_type=_certs.inspect_cert(authority.ca.cert_pem).key_type, settled=True)
                self._converge_host(record, driver, authority, host, local, force_cert=True)
                self._copy_local_files(record.name, {})
                self._verify_engine(record)
            except MachineError:
                record.driver["IPAddress"] = previous_ip
                for path, (data, mode) in previous_files.items():
                    self.store.write_file(path, data, mode)
                raise
            self._mark_running(record, local)
        outcome.steps.extend("%s: %s" % (record.name, step) for step in (*steps, *local.steps))
        outcome.warnings.extend(local.warnings)

    def rotate(
        self,
        *,
        key_type: str = "rsa",
        force: bool = False,
        renew_days: int = 30,
        timeout: float = 120.0,
        allow_partial: bool = False,
    ) -> RotationOutcome:
        """A new CA and client certificate, and every managed machine's server certificate re-issued from it.

        All or nothing: every managed host must answer over SSH first (in parallel, a refused
        connection fails at once); the new material is staged beside the old (``certs/rotation``);
        each host gets its new server certificate and must answer over TLS with the new client
        certificate; only then does the store switch, keeping the old CA as a dated backup. When a
        host fails, the hosts already switched are put back and the store is left as it was, unless
        ``allow_partial``: then the others switch and the failed ones keep their old files (their
        ``env`` keeps working) until ``regenerate`` re-issues them over SSH.

        Machines that brought their own certificates (driver none with its own CA) are left alone.
        """
        current = _read_authority(self.store)
        window = timedelta(days=renew_days)
        due = _cert_summary(current.ca, None, window, self.now)["reasons"] + _cert_summary(current.client, current.ca, window, self.now)["reasons"]
        if not force and not due:
            return RotationOutcome(status="current")
        staging = os.path.join(self.store.certs_dir, ROTATION_DIR)
        if os.path.lexists(staging):
            raise CertError(
                "An earlier rotation was interrupted: %s holds the CA it was switching to, and some hosts may trust only that CA "
                "now. To go back to the store's CA, move that folder away and run docker_machine_certs with action=regenerate and "
                "force=true (it re-issues every machine from the store's CA over SSH); then rotate again." % staging,
                step="rotate",
                path=staging,
            )
        records = self._records(None)
        outcome = RotationOutcome(status="rotated")
        managed: list[MachineRecord] = []
        follow_store: list[MachineRecord] = []  # driver none, using the store's client files
        for record in records:
            if self._driver(record.driver_name).needs_ssh:
                managed.append(record)
            elif self._brings_own_certificates(record):
                outcome.skipped_machines.append(record.name)
                outcome.warnings.append(
                    "%s (driver %s) uses its own CA and client certificate, which the rotation left as they are." % (record.name, record.driver_name)
                )
            else:
                follow_store.append(record)
                outcome.warnings.append("%s (driver %s) trusts the store's CA; its engine must be given the new ca.pem." % (record.name, record.driver_name))
        if self.check_mode:
            outcome.changed = True
            outcome.steps = ["ca", "client", *("%s: server certificate" % r.name for r in managed)]
            return outcome

        outcome.warnings.extend(w for w in map(self._unused_ssh_config, managed) if w)
        # 1. Every managed host answers over SSH, before anything is made or written.
        unreachable = self._in_parallel(managed, lambda record: self._preflight(record, timeout))
        if unreachable and not allow_partial:
            raise self._rotation_refused(unreachable, "could not be reached over SSH", changed=False)
        reachable = [r for r in managed if r.name not in unreachable]

        # 2. The new material, staged beside the old.
        ca = _certs.new_ca(self.org_user, key_type=key_type, now=self.now)
        client = _certs.new_client(ca, "%s.<bootstrap>" % self.org_user, key_type=key_type, now=self.now)
        authority = CertificateAuthority(ca=ca, client=client, created=("ca", "client"))
        servers = {r.name: self._new_server_pair(r, ca, self.server_sans(r, self._driver(r.driver_name)), key_type) for r in reachable}
        self._stage(staging, authority, servers)
        tls = TLSFiles(*(os.path.join(staging, name) for name in ("ca.pem", "cert.pem", "key.pem")))

        # 3. Each reachable host switches to its new certificate and must answer over TLS with the new client's.
        host = HostWork(timeout=timeout, key_type=key_type, settled=True)
        applied: list[str] = []

        def switch(record: MachineRecord) -> None:
            driver = self._driver(record.driver_name)
            with self.store.lock(record.name):
                applied.append(record.name)
                self._provision(record, driver, ca.cert_pem, servers[record.name], host, Outcome())
                self._verify_engine(record, tls)

        failed = self._in_parallel(reachable, switch)
        if failed and not allow_partial:
            put_back = self._in_parallel([r for r in reachable if r.name in applied], lambda record: self._restore_host(record, current, host))
            self.store.remove_folder(staging)
            raise self._rotation_refused(failed, "did not answer with their new certificate", changed=bool(applied), not_restored=put_back)

        # 4. The switch: old CA kept as a dated backup, the new material in place, each switched machine's files.
        switched = [r for r in reachable if r.name not in failed]
        with self.store.certs_lock():
            outcome.ca_backup = self._backup_authority(current)
            _write_pair(self.store, ca, *CA_FILES)
            _write_pair(self.store, client, *CLIENT_FILES)
        for record in switched:
            with self.store.lock(record.name):
                self._write_server_pair(record, servers[record.name])
                self._copy_local_files(record.name, {})
                self._mark_running(record, Outcome())
        for record in follow_store:
            self._copy_local_files(record.name, {})
        self.store.remove_folder(staging)
        outcome.changed = True
        outcome.steps = ["ca", "client", *("%s: server certificate" % r.name for r in switched)]
        problems = dict(unreachable, **failed)
        for name in sorted(problems, key=natural_key):
            outcome.failed_machines.append(name)
            outcome.warnings.append(
                "%s was not re-issued (%s); it keeps its old certificates until docker_machine_certs with action=regenerate, "
                "names=[%s] and force=true re-issues it over SSH." % (name, problems[name], name)
            )
        return outcome

    def _brings_own_certificates(self, record: MachineRecord) -> bool:
        """True for a machine whose CA is not the store's (driver none registered with the engine's own files)."""
        ca_path = record.auth_options.get("CaCertPath") or ""
        return bool(ca_path) and os.path.realpath(ca_path) != os.path.realpath(self.store.cert_path("ca.pem"))

    def _in_parallel(self, records: t.Sequence[MachineRecord], work: t.Callable[[MachineRecord], None]) -> dict[str, str]:
        """Run ``work`` for every record at once; the machines whose work raised a MachineError, with its message."""
        failures: dict[str, str] = {}
        if not records:
            return failures
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_HOSTS, len(records))) as pool:
            futures = {pool.submit(work, record): record.name for record in records}
            for future in concurrent.futures.as_completed(futures):
                try:
                    future.result()
                except MachineError as exc:
                    failures[futures[future]] = exc.msg
        return failures

    def _preflight(self, record: MachineRecord, timeout: float) -> None:
        with self._session(record, self._driver(record.driver_name), timeout, Outcome(), settled=True):
            pass

    def _stage(self, staging: str, authority: CertificateAuthority, servers: t.Mapping[str, _certs.CertPair]) -> None:
        """The new CA, client and server pairs as files in ``staging``: what the hosts switch to is never only in memory."""
        folder = os.path.relpath(staging, self.store.certs_dir)
        _write_pair(self.store, authority.ca, *("%s/%s" % (folder, name) for name in CA_FILES))
        _write_pair(self.store, authority.client, *("%s/%s" % (folder, name) for name in CLIENT_FILES))
        for name, pair in servers.items():
            _write_pair(self.store, pair, "%s/machines/%s/server.pem" % (folder, name), "%s/machines/%s/server-key.pem" % (folder, name))

    def _restore_host(self, record: MachineRecord, authority: CertificateAuthority, host: HostWork) -> None:
        """Put a host that switched back on the store's current CA and its own server certificate, and check it over TLS."""
        previous = self._current_server_pair(record.auth_options["ServerCertPath"], record.auth_options["ServerKeyPath"])
        if previous is None:
            raise CertError("%s has no server certificate in the store to go back to." % record.name, machine=record.name)
        self._provision(record, self._driver(record.driver_name), authority.ca.cert_pem, previous, host, Outcome())
        self._verify_engine(record)

    def _rotation_refused(self, failures: t.Mapping[str, str], what: str, *, changed: bool, not_restored: t.Mapping[str, str] | None = None) -> CertError:
        names = sorted(failures, key=natural_key)
        msg = "Nothing was rotated: %s %s (%s). The store keeps its CA and every machine its certificates" % (
            ", ".join(names),
            what,
            "; ".join("%s: %s" % (name, failures[name]) for name in names),
        )
        if changed:
            msg += "; the hosts that had switched were put back"
        msg += ". Bring them back and run again, or set allow_partial=true to rotate the others now."
        if not_restored:
            msg += " Could not put back %s: re-issue them with action=regenerate and force=true." % ", ".join(sorted(not_restored, key=natural_key))
        return CertError(msg, step="rotate", failed_machines=names, changed=changed)

    def _backup_authority(self, authority: CertificateAuthority) -> str:
        """Keep the store's CA and client pair (as read from it) in ``certs/backup-<UTC time>/``; returns that folder."""
        stamp = (self.now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
        folder = "backup-%s" % stamp
        suffix = 1
        while os.path.lexists(self.store.cert_path(folder)):
            suffix += 1
            folder = "backup-%s-%d" % (stamp, suffix)
        _write_pair(self.store, authority.ca, *("%s/%s" % (folder, name) for name in CA_FILES))
        _write_pair(self.store, authority.client, *("%s/%s" % (folder, name) for name in CLIENT_FILES))
        return self.store.cert_path(folder)


def server_needs_reissue(pair: _certs.CertPair, ca: _certs.CertPair, sans: t.Sequence[str], now: datetime | None) -> bool:
    try:
        _certs.verify_signed_by(pair.cert_pem, ca.cert_pem, now=now)
    except CertError:
        return True
    info = _certs.inspect_cert(pair.cert_pem)
    return info.expires_in(now) < RENEW_BEFORE or not all(info.covers(name) for name in sans)


def _read_authority(store: MachineStore) -> CertificateAuthority:
    ca = _read_pair(store, *CA_FILES)
    client = _read_pair(store, *CLIENT_FILES)
    if ca is None or client is None:
        raise CertError("The store %s has no complete CA and client certificate." % store.root, path=store.certs_dir)
    return CertificateAuthority(ca=ca, client=client, created=())


def _cert_summary(pair: _certs.CertPair, ca: _certs.CertPair | None, window: timedelta, now: datetime | None) -> dict[str, t.Any]:
    info = _certs.inspect_cert(pair.cert_pem)
    reasons = []
    if info.is_expired(now):
        reasons.append("expired")
    elif info.expires_in(now) < window:
        reasons.append("expires within %d days" % window.days)
    if ca is not None:
        try:
            _certs.verify_signed_by(pair.cert_pem, ca.cert_pem, now=now)
        except CertError as exc:
            if exc.details.get("reason") not in ("expired", "ca_expired"):
                reasons.append("not signed by the store's CA")
    return {
        "not_after": info.not_after.isoformat(),
        "expires_in_days": info.expires_in(now).days,
        "key_type": info.key_type,
        "reasons": reasons,
    }
