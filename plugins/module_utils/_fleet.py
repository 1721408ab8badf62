# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""The store's machines as a fleet: their certificates reported, re-issued over SSH, and the CA rotated under all of them."""

from __future__ import annotations

import concurrent.futures
import os
import typing as t
from dataclasses import dataclass, field
from datetime import timedelta

from ansible_collections.dockyard.machine.plugins.module_utils import _certs
from ansible_collections.dockyard.machine.plugins.module_utils._authority import (
    CA_FILES,
    CLIENT_FILES,
    CertificateAuthority,
    cert_summary,
    read_pair,
    write_pair,
)
from ansible_collections.dockyard.machine.plugins.module_utils._engine import TLSFiles
from ansible_collections.dockyard.machine.plugins.module_utils._errors import CertError, MachineError, StoreError
from ansible_collections.dockyard.machine.plugins.module_utils._hosts import HostWork
from ansible_collections.dockyard.machine.plugins.module_utils._outcome import Outcome, mark_running, recording_failure
from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord, natural_key, validate_name

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._authority import StoreAuthority
    from ansible_collections.dockyard.machine.plugins.module_utils._drivers.base import Driver
    from ansible_collections.dockyard.machine.plugins.module_utils._hosts import Hosts

__all__ = ["Fleet", "RotationOutcome"]

ROTATION_DIR = "rotation"  # certs/rotation: a rotation's new material until the store switches to it
MAX_PARALLEL_HOSTS = 8


@dataclass
class RotationOutcome(Outcome):
    """What ``rotate`` did: besides the steps, the machines it could not re-issue or left alone, and the CA backup."""

    failed_machines: list[str] = field(default_factory=list)
    skipped_machines: list[str] = field(default_factory=list)
    ca_backup: str = ""


class Fleet:
    """Certificates across the store's machines: the report, re-issue over SSH (never through the TLS endpoint), and the
    rotation of the store's CA with every managed machine's server certificate."""

    def __init__(self, authority: StoreAuthority, hosts: Hosts, driver: t.Callable[[str], Driver], *, check_mode: bool = False) -> None:
        self.authority = authority
        self.store = authority.store
        self.now = authority.now
        self.hosts = hosts
        self._driver = driver
        self.check_mode = check_mode

    def certificate_report(self, names: t.Sequence[str] | None = None, *, renew_days: int = 30) -> dict[str, t.Any]:
        """Expiry of the CA and client certificate, and per machine: expiry, SANs, whether they cover its address."""
        window = timedelta(days=renew_days)
        report: dict[str, t.Any] = {"store": self.store.root, "machines": []}
        ca = read_pair(self.store, *CA_FILES)
        client = read_pair(self.store, *CLIENT_FILES)
        report["ca"] = cert_summary(ca, None, window, self.now) if ca else None
        report["client"] = cert_summary(client, ca, window, self.now) if client else None
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
        pair = self.authority.current_server_pair(record)
        sans = self.authority.server_sans(record, driver)
        entry["address"] = driver.ip(record)
        entry["expected_sans"] = sans
        if pair is None:
            entry.update(reasons=["missing"], needs_reissue=True)
            return entry
        entry.update(cert_summary(pair, ca, window, self.now))
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
        authority = self.authority.read()
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
        with self.store.lock(record.name), recording_failure(self.store, record):
            # The new address is recorded only together with the certificate that covers it, once the
            # engine answered with that certificate; until then the record and its files stay as they were.
            previous_files = self.authority.server_files(record)
            try:
                host = HostWork(timeout=timeout, key_type=_certs.inspect_cert(authority.ca.cert_pem).key_type, settled=True)
                self.hosts.converge(record, driver, authority, host, local, force_cert=True)
                self.authority.copy_client_files(record.name, {})
                self.hosts.verify_engine(record)
            except MachineError:
                record.driver["IPAddress"] = previous_ip
                for path, (data, mode) in previous_files.items():
                    self.store.write_file(path, data, mode)
                raise
            mark_running(self.store, record, local)
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
        current = self.authority.read()
        window = timedelta(days=renew_days)
        due = cert_summary(current.ca, None, window, self.now)["reasons"] + cert_summary(current.client, current.ca, window, self.now)["reasons"]
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

        outcome.warnings.extend(w for w in map(self.hosts.unused_ssh_config, managed) if w)
        # 1. Every managed host answers over SSH, before anything is made or written.
        unreachable = self._in_parallel(managed, lambda record: self.hosts.preflight(record, self._driver(record.driver_name), timeout))
        if unreachable and not allow_partial:
            raise self._rotation_refused(unreachable, "could not be reached over SSH", changed=False)
        reachable = [r for r in managed if r.name not in unreachable]

        # 2. The new material, staged beside the old.
        ca = _certs.new_ca(self.authority.org_user, key_type=key_type, now=self.now)
        client = _certs.new_client(ca, "%s.<bootstrap>" % self.authority.org_user, key_type=key_type, now=self.now)
        authority = CertificateAuthority(ca=ca, client=client, created=("ca", "client"))
        servers = {r.name: self.authority.new_server_pair(r, ca, self.authority.server_sans(r, self._driver(r.driver_name)), key_type) for r in reachable}
        self._stage(staging, authority, servers)
        tls = TLSFiles(*(os.path.join(staging, name) for name in ("ca.pem", "cert.pem", "key.pem")))

        # 3. Each reachable host switches to its new certificate and must answer over TLS with the new client's.
        host = HostWork(timeout=timeout, key_type=key_type, settled=True)
        applied: list[str] = []

        def switch(record: MachineRecord) -> None:
            driver = self._driver(record.driver_name)
            with self.store.lock(record.name):
                applied.append(record.name)
                self.hosts.provision(record, driver, ca.cert_pem, servers[record.name], host, Outcome())
                self.hosts.verify_engine(record, tls)

        failed = self._in_parallel(reachable, switch)
        if failed and not allow_partial:
            put_back = self._in_parallel([r for r in reachable if r.name in applied], lambda record: self._restore_host(record, current, host))
            self.store.remove_folder(staging)
            raise self._rotation_refused(failed, "did not answer with their new certificate", changed=bool(applied), not_restored=put_back)

        # 4. The switch: old CA kept as a dated backup, the new material in place, each switched machine's files.
        switched = [r for r in reachable if r.name not in failed]
        with self.store.certs_lock():
            outcome.ca_backup = self.authority.backup(current)
            write_pair(self.store, ca, *CA_FILES)
            write_pair(self.store, client, *CLIENT_FILES)
        for record in switched:
            with self.store.lock(record.name):
                self.authority.write_server_pair(record, servers[record.name])
                self.authority.copy_client_files(record.name, {})
                mark_running(self.store, record, Outcome())
        for record in follow_store:
            self.authority.copy_client_files(record.name, {})
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

    def _stage(self, staging: str, authority: CertificateAuthority, servers: t.Mapping[str, _certs.CertPair]) -> None:
        """The new CA, client and server pairs as files in ``staging``: what the hosts switch to is never only in memory."""
        folder = os.path.relpath(staging, self.store.certs_dir)
        write_pair(self.store, authority.ca, *("%s/%s" % (folder, name) for name in CA_FILES))
        write_pair(self.store, authority.client, *("%s/%s" % (folder, name) for name in CLIENT_FILES))
        for name, pair in servers.items():
            write_pair(self.store, pair, "%s/machines/%s/server.pem" % (folder, name), "%s/machines/%s/server-key.pem" % (folder, name))

    def _restore_host(self, record: MachineRecord, authority: CertificateAuthority, host: HostWork) -> None:
        """Put a host that switched back on the store's current CA and its own server certificate, and check it over TLS."""
        previous = self.authority.current_server_pair(record)
        if previous is None:
            raise CertError("%s has no server certificate in the store to go back to." % record.name, machine=record.name)
        self.hosts.provision(record, self._driver(record.driver_name), authority.ca.cert_pem, previous, host, Outcome())
        self.hosts.verify_engine(record)

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
