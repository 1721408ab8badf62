# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""Docker Machine compatible TLS material: make, read and check certificates and keys.

Everything here works on PEM bytes in memory; nothing reads or writes files.  The certificates
have the exact shape docker-machine's ``libmachine/cert`` produces (Subject ``O=<org>`` only,
NotBefore = now truncated to the minute minus 5 minutes, 1080 days, the same extensions in the
same order), so the original binary and the Docker CLI trust what we issue and vice versa.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import typing as t
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ansible_collections.dockyard.machine.plugins.module_utils._errors import CertError

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = exc

__all__ = [
    "HAS_CRYPTOGRAPHY",
    "CRYPTOGRAPHY_IMPORT_ERROR",
    "KEY_TYPES",
    "VALIDITY_DAYS",
    "CertPair",
    "CertInfo",
    "default_org_user",
    "new_ca",
    "new_client",
    "new_server",
    "inspect_cert",
    "verify_signed_by",
    "key_matches_cert",
    "issued_with_key",
    "check_private_key",
    "load_pair",
    "split_pair",
]

KEY_TYPES = ("rsa", "ecdsa")  # rsa = RSA 2048 (docker-machine's only kind), ecdsa = P-256
VALIDITY_DAYS = 1080
RSA_BITS = 2048
BACKDATE = timedelta(minutes=5)  # docker-machine's allowance for VM clock skew
SERIAL_LIMIT = 2**128


@dataclass(frozen=True)
class CertPair:
    """A certificate and its private key, both PEM."""

    cert_pem: bytes
    key_pem: bytes


@dataclass(frozen=True)
class CertInfo:
    """What the rest of the collection needs to know about one certificate."""

    subject_org: str
    issuer_org: str
    serial: int
    not_before: datetime  # timezone-aware, UTC
    not_after: datetime  # timezone-aware, UTC
    is_ca: bool
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    key_type: str  # "rsa", "ecdsa", or the lowercase algorithm name of anything else
    key_size: int  # bits (RSA modulus, EC curve); 0 when unknown

    def expires_in(self, now: datetime | None = None) -> timedelta:
        """Time left until NotAfter (negative once expired)."""
        return self.not_after - _utc(now)

    def is_expired(self, now: datetime | None = None) -> bool:
        """True once ``now`` is past NotAfter (Go's rule: valid up to and including NotAfter)."""
        return _utc(now) > self.not_after

    def covers(self, address: str) -> bool:
        """True when ``address`` is one of the IP SANs, or (case-insensitively) one of the DNS SANs."""
        address = address.strip()
        ip = _parse_ip(address)
        if ip is not None:
            return any(_parse_ip(a) == ip for a in self.ip_addresses)
        wanted = address.lower()
        return bool(wanted) and any(name.lower() == wanted for name in self.dns_names)


def default_org_user() -> str:
    """The user part of docker-machine's Org: ``$USER``, or ``unknown`` when unset or empty."""
    return os.environ.get("USER") or "unknown"


def new_ca(org: str, *, key_type: str = "rsa", now: datetime | None = None) -> CertPair:
    """A self-signed CA like docker-machine's ``certs/ca.pem`` (Org is usually ``$USER``)."""
    name = _org_name(org)
    key = _new_key(key_type)
    builder = (
        _template(name, name, key.public_key(), now)
        .add_extension(_key_usage(key_encipherment=True, key_agreement=True, key_cert_sign=True), critical=True)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return _finish(builder, key, key)


def new_client(ca: CertPair, org: str, *, key_type: str = "rsa", now: datetime | None = None) -> CertPair:
    """A client certificate like ``certs/cert.pem`` (Org is usually ``$USER.<bootstrap>``)."""
    ca_cert, ca_key = _load_ca(ca)
    subject = _org_name(org)
    key = _new_key(key_type)
    builder = (
        _template(subject, ca_cert.subject, key.public_key(), now)
        .add_extension(_key_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    )
    builder = _leaf_tail(builder, ca_cert)
    return _finish(builder, key, ca_key)


def new_server(
    ca: CertPair,
    org: str,
    sans: t.Sequence[str],
    *,
    key_type: str = "rsa",
    now: datetime | None = None,
    client_auth: bool = False,
) -> CertPair:
    """A server certificate like ``machines/<name>/server.pem`` (Org is usually ``$USER.<name>``).

    Each SAN becomes an IP SAN when it parses as an IP address, else a DNS SAN; duplicates are
    dropped and the given order is kept within each kind.  As Go's encoder does, DNS names are
    written before IP addresses.  ``client_auth`` adds the clientAuth EKU (docker-machine does
    that for swarm masters).
    """
    ca_cert, ca_key = _load_ca(ca)
    subject, san = _org_name(org), _san(sans)
    key = _new_key(key_type)
    usages = [ExtendedKeyUsageOID.SERVER_AUTH] + ([ExtendedKeyUsageOID.CLIENT_AUTH] if client_auth else [])
    builder = (
        _template(subject, ca_cert.subject, key.public_key(), now)
        .add_extension(_key_usage(key_encipherment=True, key_agreement=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    )
    builder = _leaf_tail(builder, ca_cert).add_extension(san, critical=False)
    return _finish(builder, key, ca_key)


def inspect_cert(cert_pem: bytes) -> CertInfo:
    """Read the facts of a PEM certificate; CertError when it is not one."""
    cert = _load_cert(cert_pem)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = tuple(san.get_values_for_type(x509.DNSName))
        ip_addresses = tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        dns_names, ip_addresses = (), ()
    key_type, key_size = _key_facts(cert.public_key())
    return CertInfo(
        subject_org=_first_org(cert.subject),
        issuer_org=_first_org(cert.issuer),
        serial=cert.serial_number,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        is_ca=_is_ca(cert),
        dns_names=dns_names,
        ip_addresses=ip_addresses,
        key_type=key_type,
        key_size=key_size,
    )


def verify_signed_by(cert_pem: bytes, ca_pem: bytes, *, now: datetime | None = None) -> None:
    """Check that ``cert_pem`` was issued by the CA in ``ca_pem`` and that both are valid at ``now``.

    Raises CertError whose message names the reason and whose ``details["reason"]`` is one of
    ``not_a_ca``, ``not_signed``, ``not_yet_valid``, ``expired``, ``ca_not_yet_valid``, ``ca_expired``.
    """
    cert = _load_cert(cert_pem)
    ca = _load_cert(ca_pem, what="CA certificate")
    ca_org = _first_org(ca.subject)
    if not _is_ca(ca):
        raise CertError(f"certificate O={ca_org} is not a CA certificate", reason="not_a_ca")
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise CertError(
            f"certificate O={_first_org(cert.subject)} (issuer O={_first_org(cert.issuer)}) "
            f"is not signed by the CA O={ca_org}: {exc or type(exc).__name__}",
            reason="not_signed",
        ) from exc
    moment = _utc(now)
    for which, c, prefix in (("certificate", cert, ""), ("CA certificate", ca, "ca_")):
        if moment < c.not_valid_before_utc:
            raise CertError(
                f"{which} O={_first_org(c.subject)} is not yet valid (NotBefore {c.not_valid_before_utc.isoformat()})",
                reason=prefix + "not_yet_valid",
                not_before=c.not_valid_before_utc.isoformat(),
            )
        if moment > c.not_valid_after_utc:
            raise CertError(
                f"{which} O={_first_org(c.subject)} expired on {c.not_valid_after_utc.isoformat()}",
                reason=prefix + "expired",
                not_after=c.not_valid_after_utc.isoformat(),
            )


def key_matches_cert(key_pem: bytes, cert_pem: bytes) -> bool:
    """True when the private key belongs to the certificate; CertError when either does not parse."""
    return _spki(_load_key(key_pem).public_key()) == _spki(_load_cert(cert_pem).public_key())


def issued_with_key(cert_pem: bytes, key_pem: bytes) -> bool:
    """True when ``cert_pem``'s signature was made with the private key ``key_pem`` (a certificate that key issued).

    Works without the issuer's certificate: a CA key whose certificate is lost still shows what it signed.
    CertError when either does not parse.
    """
    cert = _load_cert(cert_pem)
    public_key = _load_key(key_pem).public_key()
    hash_algorithm = cert.signature_hash_algorithm
    try:
        if isinstance(public_key, rsa.RSAPublicKey) and hash_algorithm is not None:
            public_key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), hash_algorithm)
        elif isinstance(public_key, ec.EllipticCurvePublicKey) and hash_algorithm is not None:
            public_key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hash_algorithm))
        else:
            return False
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def check_private_key(key_pem: bytes) -> None:
    """CertError (reason ``invalid``) unless ``key_pem`` is an unencrypted PEM private key."""
    _load_key(key_pem)


def split_pair(data: bytes) -> CertPair:
    """A key and its certificate kept in one PEM file (the key first), checked like load_pair."""
    data = _as_bytes(data)
    start = data.find(b"-----BEGIN CERTIFICATE-----")
    if start <= 0:
        raise CertError("the file does not hold a private key followed by its certificate", reason="invalid")
    return load_pair(data[start:], data[:start])


def load_pair(cert_pem: bytes, key_pem: bytes) -> CertPair:
    """Check that both parse and belong together; return them unchanged as a CertPair."""
    cert_pem, key_pem = _as_bytes(cert_pem), _as_bytes(key_pem)
    if not key_matches_cert(key_pem, cert_pem):
        raise CertError("the private key does not belong to the certificate", reason="key_mismatch")
    return CertPair(cert_pem=cert_pem, key_pem=key_pem)


# --- helpers -------------------------------------------------------------------------------------


def _utc(now: datetime | None) -> datetime:
    """``now`` as an aware UTC datetime (naive values are taken as UTC)."""
    if now is None:
        return datetime.now(timezone.utc)
    if now.tzinfo is None:
        return now.replace(tzinfo=timezone.utc)
    return now.astimezone(timezone.utc)


def _as_bytes(data: bytes | str) -> bytes:
    return data.encode("ascii", "replace") if isinstance(data, str) else bytes(data)


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _require() -> None:
    if not HAS_CRYPTOGRAPHY:
        raise CertError(f"the Python library 'cryptography' is required: {CRYPTOGRAPHY_IMPORT_ERROR}", reason="missing_library")


def _new_key(key_type: str) -> t.Any:
    _require()
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    if key_type == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1())
    raise CertError(f"unsupported key type {key_type!r}; expected one of {', '.join(KEY_TYPES)}")


def _org_name(org: str) -> x509.Name:
    _require()
    if not isinstance(org, str) or not org:
        raise CertError(f"certificate organization must be a non-empty string, got {org!r}")
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)])


def _template(subject: x509.Name, issuer: x509.Name, public_key: t.Any, now: datetime | None) -> x509.CertificateBuilder:
    not_before = _utc(now).replace(second=0, microsecond=0) - BACKDATE
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(secrets.randbelow(SERIAL_LIMIT - 1) + 1)
        .not_valid_before(not_before)
        .not_valid_after(not_before + timedelta(days=VALIDITY_DAYS))
    )


def _key_usage(*, key_encipherment: bool = False, key_agreement: bool = False, key_cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=key_agreement,
        key_cert_sign=key_cert_sign,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _leaf_tail(builder: x509.CertificateBuilder, ca_cert: x509.Certificate) -> x509.CertificateBuilder:
    """BasicConstraints CA:FALSE, then an AuthorityKeyIdentifier when the CA has an SKI (as Go does)."""
    builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    try:
        ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:  # CAs made by Go < 1.15 carry no SKI
        return builder
    return builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)


def _san(sans: t.Sequence[str]) -> x509.SubjectAlternativeName:
    if isinstance(sans, (str, bytes)):
        raise CertError("server certificate SANs must be a list of names or IP addresses, not a single string")
    dns: dict[str, str] = {}
    ips: dict[t.Any, None] = {}
    for entry in sans:
        entry = str(entry).strip()
        if not entry:
            continue
        ip = _parse_ip(entry)
        if ip is not None:
            ips.setdefault(ip, None)
        else:
            dns.setdefault(entry.lower(), entry)
    if not dns and not ips:
        raise CertError("a server certificate needs at least one SAN (IP address or DNS name)")
    try:
        names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns.values()]
    except ValueError as exc:
        raise CertError(f"invalid DNS name in SANs: {exc}") from exc
    return x509.SubjectAlternativeName(names + [x509.IPAddress(ip) for ip in ips])


def _finish(builder: x509.CertificateBuilder, key: t.Any, signing_key: t.Any) -> CertPair:
    cert = builder.sign(signing_key, hashes.SHA256())
    return CertPair(
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ),
    )


def _load_cert(cert_pem: bytes, *, what: str = "certificate") -> x509.Certificate:
    _require()
    try:
        return x509.load_pem_x509_certificate(_as_bytes(cert_pem))
    except (ValueError, TypeError) as exc:
        raise CertError(f"{what} is not a valid PEM certificate: {exc}", reason="invalid") from exc


def _load_key(key_pem: bytes) -> t.Any:
    _require()
    try:
        key = serialization.load_pem_private_key(_as_bytes(key_pem), password=None)
    except TypeError as exc:  # encrypted key, no password
        raise CertError(f"private key cannot be used: {exc}", reason="invalid") from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise CertError(f"private key is not a valid PEM key: {exc}", reason="invalid") from exc
    return key


def _load_ca(ca: CertPair) -> tuple[x509.Certificate, t.Any]:
    cert = _load_cert(ca.cert_pem, what="CA certificate")
    if not _is_ca(cert):
        raise CertError(f"certificate O={_first_org(cert.subject)} is not a CA certificate", reason="not_a_ca")
    key = _load_key(ca.key_pem)
    if _spki(key.public_key()) != _spki(cert.public_key()):
        raise CertError("the CA private key does not belong to the CA certificate", reason="key_mismatch")
    return cert, key


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _spki(public_key: t.Any) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _first_org(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return str(values[0].value) if values else ""


def _key_facts(public_key: t.Any) -> tuple[str, int]:
    if isinstance(public_key, rsa.RSAPublicKey):
        return "rsa", public_key.key_size
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return "ecdsa", public_key.curve.key_size
    name = type(public_key).__name__.lower().replace("publickey", "").lstrip("_")
    return name or "unknown", int(getattr(public_key, "key_size", 0) or 0)
