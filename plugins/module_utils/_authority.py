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
    warnings: tuple[str, ...] = ()


# A pair is written as one file first (key, then certificate: ``.<certificate name>.pending`` beside them), then as its
# two files, then the pending file goes. A kill at any point leaves nothing, or the pending pair (which the next
# bootstrap puts in place and readers use meanwhile), or the whole pair.
PENDING_SUFFIX = ".pending"


def pending_path(store: MachineStore, cert_name: str) -> str:
    folder, name = os.path.split(cert_name)
    return store.cert_path(os.path.join(folder, ".%s%s" % (name, PENDING_SUFFIX)))


def _read_pending(store: MachineStore, cert_name: str) -> _certs.CertPair | None:
    path = pending_path(store, cert_name)
    if not os.path.lexists(path):
        return None
    try:
        return _certs.split_pair(store.read_bytes(path))
    except CertError as exc:
        raise CertError(
            "%s is not a pending key and certificate of this collection (%s). Move it away and run again." % (path, exc.msg),
            path=path,
        ) from exc


def read_pair(store: MachineStore, cert_name: str, key_name: str) -> _certs.CertPair | None:
    """The pair as the store holds it: None when it has neither file; the pending pair while a bootstrap finishes."""
    pending = _read_pending(store, cert_name)
    if pending is not None:
        return pending
    cert_path, key_path = store.cert_path(cert_name), store.cert_path(key_name)
    has_cert, has_key = os.path.exists(cert_path), os.path.exists(key_path)
    if not has_cert and not has_key:
        return None
    if not has_cert:
        raise CertError(
            "%s exists but %s does not: a bootstrap of an earlier version was interrupted. Run docker_machine with "
            "state=present (or dockyard-machine create): it sets aside a key that signed nothing and makes a new pair, "
            "and says what to restore otherwise." % (key_path, cert_path),
            path=key_path,
        )
    if not has_key:
        raise CertError("%s exists but its key %s does not. Restore the key or move both away." % (cert_path, key_path), path=cert_path)
    return _certs.load_pair(store.read_bytes(cert_path), store.read_bytes(key_path))


def write_pair(store: MachineStore, pair: _certs.CertPair, cert_name: str, key_name: str) -> None:
    """Put ``pair`` in place so that a kill at any moment leaves the old pair, the pending one, or the new one."""
    store.write_file(pending_path(store, cert_name), pair.key_pem + pair.cert_pem, KEY_MODE)
    _install_pair(store, pair, cert_name, key_name)


def _install_pair(store: MachineStore, pair: _certs.CertPair, cert_name: str, key_name: str) -> None:
    # Key first: a reader that finds the certificate always finds its key.
    store.write_file(store.cert_path(key_name), pair.key_pem, KEY_MODE)
    store.write_file(store.cert_path(cert_name), pair.cert_pem, CERT_MODE)
    store.remove_file(pending_path(store, cert_name))


def _finish_pending(store: MachineStore, cert_name: str, key_name: str) -> bool:
    """Put a pending pair (left by a killed bootstrap or rotation) in place; True when there was one."""
    pending = _read_pending(store, cert_name)
    if pending is None:
        return False
    _install_pair(store, pending, cert_name, key_name)
    return True


def _signed_with(store: MachineStore, key_pem: bytes) -> tuple[list[str], list[str]]:
    """The store's certificates ``key_pem`` signed, and those that are its own certificate (copies of a lost ca.pem)."""
    candidates = [store.cert_path(name) for name in ("cert.pem", "ca.pem")]
    for name in store.names():
        folder = os.path.join(store.machines_dir, name)
        candidates.extend(os.path.join(folder, filename) for filename in ("ca.pem", "cert.pem", "server.pem"))
    signed, own = [], []
    for path in candidates:
        try:
            cert_pem = store.read_bytes(path)
        except StoreError:
            continue  # missing or not a file: nothing it signed
        try:
            if _certs.key_matches_cert(key_pem, cert_pem):
                own.append(path)
            elif _certs.issued_with_key(cert_pem, key_pem):
                signed.append(path)
        except CertError:
            continue
    return signed, own


def _recover_orphan_key(store: MachineStore, cert_name: str, key_name: str, *, stamp: str) -> str | None:
    """A key without its certificate and no pending pair (an older version's interrupted bootstrap).

    When the key signed nothing in the store and no certificate of it is kept anywhere in it, it is of no use: it is
    moved to ``certs/orphaned-<UTC time>/`` (never deleted) and a warning returned, so that a new pair is made.
    Otherwise the store refuses, naming what to restore.
    """
    cert_path, key_path = store.cert_path(cert_name), store.cert_path(key_name)
    if os.path.lexists(cert_path) or not os.path.lexists(key_path):
        return None
    key_pem = store.read_bytes(key_path)
    try:
        _certs.check_private_key(key_pem)
    except CertError as exc:
        raise CertError(
            "%s exists but %s does not, and the key cannot be read (%s): it is not one this collection made. Restore "
            "its certificate %s, or move the key away, and run again." % (key_path, cert_path, exc.msg, cert_path),
            path=key_path,
        ) from exc
    signed, own = _signed_with(store, key_pem)
    if own:
        raise CertError(
            "%s exists but %s does not, and %s holds that key's certificate. Copy it to %s and run again."
            % (key_path, cert_path, own[0], cert_path),
            path=key_path,
        )
    if signed:
        raise CertError(
            "%s exists but %s does not, and it signed certificates in use (%s): a new pair would lock those machines out. "
            "Restore %s (from a backup, or from the computer this store came from) and run again; the key was left in "
            "place." % (key_path, cert_path, ", ".join(signed), cert_path),
            path=key_path,
        )
    target = store.cert_path(os.path.join("orphaned-%s" % stamp, os.path.basename(key_name)))
    store.move_file(key_path, target)
    os.chmod(target, KEY_MODE)
    return (
        "%s had no certificate (a bootstrap of an earlier version was interrupted) and signed nothing in the store: it was "
        "moved to %s and a new pair made." % (key_path, target)
    )


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
    A bootstrap killed half-way is finished (its pending pair put in place); a key without its certificate that an
    older version left is set aside when it signed nothing, and refused otherwise.
    """
    user = org_user or _certs.default_org_user()
    store.ensure_layout()
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    try:
        return _bootstrap(store, key_type=key_type, user=user, now=now, stamp=stamp)
    except OSError as exc:
        raise CertError(
            "Cannot write the store's CA and client certificate in %s: %s. Issuing certificates needs that folder "
            "writable (in AWX: the job template runs in the instance group that mounts the CA's volume there)."
            % (store.certs_dir, exc.strerror or exc),
            path=exc.filename or store.certs_dir,
        ) from exc


def _bootstrap(store: MachineStore, *, key_type: str, user: str, now: datetime | None, stamp: str) -> CertificateAuthority:
    created: list[str] = []
    warnings: list[str] = []
    with store.certs_lock():
        for cert_name, key_name in (CA_FILES, CLIENT_FILES):
            if not _finish_pending(store, cert_name, key_name):
                warning = _recover_orphan_key(store, cert_name, key_name, stamp=stamp)
                if warning:
                    warnings.append(warning)
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
    return CertificateAuthority(ca=ca, client=client, created=tuple(created), warnings=tuple(warnings))


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
