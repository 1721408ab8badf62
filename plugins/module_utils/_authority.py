# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""The store's certificate authority: its CA and client pair (made once, under a lock), and the server certificates
it issues to machines, kept in their folders."""

from __future__ import annotations

import os
import typing as t
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ansible_collections.dockyard.machine.plugins.module_utils import _certs
from ansible_collections.dockyard.machine.plugins.module_utils._errors import CertError, StoreError
from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord, MachineStore

__all__ = [
    "CA_FILES",
    "CERT_MODE",
    "CLIENT_FILES",
    "KEY_MODE",
    "CertificateAuthority",
    "StoreAuthority",
    "cert_summary",
    "ensure_certificates",
    "read_authority",
    "read_pair",
    "server_needs_reissue",
    "write_pair",
]

CA_FILES = ("ca.pem", "ca-key.pem")
CLIENT_FILES = ("cert.pem", "key.pem")
CERT_MODE = 0o644  # what the original leaves on certificates; keys are 0600
KEY_MODE = 0o600
RENEW_BEFORE = timedelta(days=30)  # a server certificate closer than this to its end is re-issued


@dataclass(frozen=True)
class CertificateAuthority:
    """The store's CA and client pair, and what bootstrapping changed."""

    ca: _certs.CertPair
    client: _certs.CertPair
    created: tuple[str, ...]


def read_pair(store: MachineStore, cert_name: str, key_name: str) -> _certs.CertPair | None:
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


def write_pair(store: MachineStore, pair: _certs.CertPair, cert_name: str, key_name: str) -> None:
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
        ca = read_pair(store, *CA_FILES)
        if ca is None or _certs.inspect_cert(ca.cert_pem).is_expired(now):
            ca = _certs.new_ca(user, key_type=key_type, now=now)
            write_pair(store, ca, *CA_FILES)
            created.append("ca")
        client = read_pair(store, *CLIENT_FILES)
        if client is None or _client_needs_renewal(client, ca, now):
            client = _certs.new_client(ca, "%s.<bootstrap>" % user, key_type=key_type, now=now)
            write_pair(store, client, *CLIENT_FILES)
            created.append("client")
    return CertificateAuthority(ca=ca, client=client, created=tuple(created))


def _client_needs_renewal(client: _certs.CertPair, ca: _certs.CertPair, now: datetime | None) -> bool:
    try:
        _certs.verify_signed_by(client.cert_pem, ca.cert_pem, now=now)
    except CertError:
        return True
    return False


def server_needs_reissue(pair: _certs.CertPair, ca: _certs.CertPair, sans: t.Sequence[str], now: datetime | None) -> bool:
    try:
        _certs.verify_signed_by(pair.cert_pem, ca.cert_pem, now=now)
    except CertError:
        return True
    info = _certs.inspect_cert(pair.cert_pem)
    return info.expires_in(now) < RENEW_BEFORE or not all(info.covers(name) for name in sans)


def read_authority(store: MachineStore) -> CertificateAuthority:
    ca = read_pair(store, *CA_FILES)
    client = read_pair(store, *CLIENT_FILES)
    if ca is None or client is None:
        raise CertError("The store %s has no complete CA and client certificate." % store.root, path=store.certs_dir)
    return CertificateAuthority(ca=ca, client=client, created=())


def cert_summary(pair: _certs.CertPair, ca: _certs.CertPair | None, window: timedelta, now: datetime | None) -> dict[str, t.Any]:
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


class StoreAuthority:
    """The store's CA at work: machines' server certificates issued, kept and put back, the client files copied into
    machine folders, the CA read and backed up."""

    def __init__(self, store: MachineStore, *, org_user: str, now: datetime | None = None) -> None:
        self.store = store
        self.org_user = org_user
        self.now = now

    def ensure(self, key_type: str = "rsa") -> CertificateAuthority:
        """The CA and client pair, made first when the store has none (``ensure_certificates``)."""
        return ensure_certificates(self.store, key_type=key_type, org_user=self.org_user, now=self.now)

    def read(self) -> CertificateAuthority:
        """The CA and client pair the store has; a CertError when it has none."""
        return read_authority(self.store)

    @staticmethod
    def server_sans(record: MachineRecord, driver: t.Any) -> list[str]:
        """The original's rule: extra SANs, the machine's address, localhost."""
        return [*(record.auth_options.get("ServerCertSANs") or []), driver.ip(record), "localhost"]

    def copy_client_files(self, name: str, driver_files: t.Mapping[str, tuple[str, int]]) -> bool:
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

    def server_certificate(
        self, record: MachineRecord, driver: t.Any, authority: CertificateAuthority, key_type: str, *, force: bool = False
    ) -> tuple[_certs.CertPair, bool]:
        """The machine's server pair, re-issued when missing, foreign, expiring or not covering its names."""
        sans = self.server_sans(record, driver)
        current = self.current_server_pair(record)
        if not force and current is not None and not server_needs_reissue(current, authority.ca, sans, self.now):
            return current, False
        pair = self.new_server_pair(record, authority.ca, sans, key_type)
        self.write_server_pair(record, pair)
        return pair, True

    def new_server_pair(self, record: MachineRecord, ca: _certs.CertPair, sans: t.Sequence[str], key_type: str) -> _certs.CertPair:
        return _certs.new_server(ca, "%s.%s" % (self.org_user, record.name), sans, key_type=key_type, now=self.now)

    def write_server_pair(self, record: MachineRecord, pair: _certs.CertPair) -> None:
        # Key first: a reader that finds the certificate always finds its key.
        self.store.write_file(record.auth_options["ServerKeyPath"], pair.key_pem, KEY_MODE)
        self.store.write_file(record.auth_options["ServerCertPath"], pair.cert_pem, CERT_MODE)

    def server_files(self, record: MachineRecord) -> dict[str, tuple[bytes, int]]:
        """The machine's server certificate and key as they are on disk, to put back after a failed re-issue."""
        files = {}
        for key, mode in (("ServerCertPath", CERT_MODE), ("ServerKeyPath", KEY_MODE)):
            path = record.auth_options.get(key) or ""
            if path and os.path.isfile(path):
                files[path] = (self.store.read_bytes(path), mode)
        return files

    def current_server_pair(self, record: MachineRecord) -> _certs.CertPair | None:
        """The machine's server pair as its folder holds it; None when missing or unreadable."""
        cert_path, key_path = str(record.auth_options.get("ServerCertPath") or ""), str(record.auth_options.get("ServerKeyPath") or "")
        if not (os.path.isfile(cert_path) and os.path.isfile(key_path)):
            return None
        try:
            return _certs.load_pair(self.store.read_bytes(cert_path), self.store.read_bytes(key_path))
        except CertError:
            return None

    def backup(self, authority: CertificateAuthority) -> str:
        """Keep the store's CA and client pair (as read from it) in ``certs/backup-<UTC time>/``; returns that folder."""
        stamp = (self.now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
        folder = "backup-%s" % stamp
        suffix = 1
        while os.path.lexists(self.store.cert_path(folder)):
            suffix += 1
            folder = "backup-%s-%d" % (stamp, suffix)
        write_pair(self.store, authority.ca, *("%s/%s" % (folder, name) for name in CA_FILES))
        write_pair(self.store, authority.client, *("%s/%s" % (folder, name) for name in CLIENT_FILES))
        return self.store.cert_path(folder)
