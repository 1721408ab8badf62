# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""Orchestration: the only code that sequences steps and writes the store."""

from __future__ import annotations

import os
import typing as t
from dataclasses import dataclass

from ansible_collections.dockyard.machine.plugins.module_utils import _certs
from ansible_collections.dockyard.machine.plugins.module_utils._errors import CertError

if t.TYPE_CHECKING:  # pragma: no cover
    from datetime import datetime

    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineStore

__all__ = ["CertificateAuthority", "ensure_certificates"]

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
