# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests for _certs: certificate shape against docker-machine's, and chains checked by openssl and a TLS handshake."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from ansible_collections.dockyard.machine.plugins.module_utils import _certs
from ansible_collections.dockyard.machine.plugins.module_utils._errors import CertError

# The store the original docker-machine wrote (kept in the repository; the shared copy is the fallback).
FIXTURE_STORE = next(
    (p for p in (Path(__file__).parents[3] / "fixtures" / "docker-machine-store",
                 Path("/work/shared/fixtures/docker-machine-store")) if p.is_dir()),
    Path(__file__).parents[3] / "fixtures" / "docker-machine-store",
)
NOW = datetime(2026, 3, 14, 15, 9, 26, 535897, tzinfo=timezone.utc)
NOT_BEFORE = datetime(2026, 3, 14, 15, 4, tzinfo=timezone.utc)  # NOW truncated to the minute, minus 5 min
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl CLI not installed")


# --- fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_ca() -> _certs.CertPair:
    return _certs.new_ca("alice")


@pytest.fixture(scope="module")
def ecdsa_ca() -> _certs.CertPair:
    return _certs.new_ca("alice", key_type="ecdsa")


@pytest.fixture(scope="module")
def cas(rsa_ca, ecdsa_ca) -> dict[str, _certs.CertPair]:
    return {"rsa": rsa_ca, "ecdsa": ecdsa_ca}


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A private copy of the files we read from the fixture store (the original is read-only)."""
    wanted = ["certs/ca.pem", "certs/ca-key.pem", "certs/cert.pem", "certs/key.pem",
              "machines/m1/server.pem", "machines/m1/server-key.pem", "machines/m2/server.pem"]
    for rel in wanted:
        dest = tmp_path / "store" / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURE_STORE / rel, dest)
    return tmp_path / "store"


@pytest.fixture
def fixture_ca(store: Path) -> _certs.CertPair:
    return _certs.load_pair((store / "certs/ca.pem").read_bytes(), (store / "certs/ca-key.pem").read_bytes())


def cert(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def ext(c: x509.Certificate, cls):
    return c.extensions.get_extension_for_class(cls)


def ext_layout(c: x509.Certificate) -> list[tuple[str, bool]]:
    return [(e.oid.dotted_string, e.critical) for e in c.extensions]


def openssl_verify(tmp_path: Path, ca_pem: bytes, cert_pem: bytes, purpose: str | None = None,
                   at: datetime | None = None) -> subprocess.CompletedProcess:
    (tmp_path / "ca.pem").write_bytes(ca_pem)
    (tmp_path / "leaf.pem").write_bytes(cert_pem)
    cmd = [OPENSSL, "verify", "-x509_strict", "-CAfile", str(tmp_path / "ca.pem")]
    if purpose:
        cmd += ["-purpose", purpose]
    if at:
        cmd += ["-attime", str(int(at.timestamp()))]
    return subprocess.run(cmd + [str(tmp_path / "leaf.pem")], capture_output=True, text=True, check=False)


def assert_verified(res: subprocess.CompletedProcess) -> None:
    assert res.returncode == 0 and res.stdout.strip().endswith(": OK"), res.stdout + res.stderr


# --- shape: validity, subject, serial ------------------------------------------------------------


@pytest.mark.parametrize("key_type", _certs.KEY_TYPES)
def test_validity_window_is_docker_machines(key_type):
    ca = _certs.new_ca("alice", key_type=key_type, now=NOW)
    client = _certs.new_client(ca, "alice.<bootstrap>", key_type=key_type, now=NOW)
    server = _certs.new_server(ca, "alice.m1", ["10.0.0.5"], key_type=key_type, now=NOW)
    for pair in (ca, client, server):
        c = cert(pair.cert_pem)
        assert c.not_valid_before_utc == NOT_BEFORE
        assert c.not_valid_after_utc - c.not_valid_before_utc == timedelta(days=1080)
        assert c.not_valid_after_utc == datetime(2029, 2, 26, 15, 4, tzinfo=timezone.utc)


@pytest.mark.parametrize("now", [
    datetime(2026, 3, 14, 16, 9, 59, 999999, tzinfo=timezone(timedelta(hours=1))),  # other zone, same instant minute
    datetime(2026, 3, 14, 15, 9, 0),  # naive is taken as UTC
])
def test_not_before_from_other_clocks(now):
    assert _certs.inspect_cert(_certs.new_ca("alice", now=now).cert_pem).not_before == NOT_BEFORE


def test_default_now_is_the_current_minute_minus_five():
    before = datetime.now(timezone.utc)
    info = _certs.inspect_cert(_certs.new_ca("alice").cert_pem)
    after = datetime.now(timezone.utc)
    assert info.not_before.second == 0
    assert before.replace(second=0, microsecond=0) - timedelta(minutes=5) <= info.not_before
    assert info.not_before <= after - timedelta(minutes=5)


def test_subject_is_only_the_org_and_issuer_is_the_ca(rsa_ca):
    ca = cert(rsa_ca.cert_pem)
    client = cert(_certs.new_client(rsa_ca, "alice.<bootstrap>").cert_pem)
    server = cert(_certs.new_server(rsa_ca, "alice.m1", ["localhost"]).cert_pem)
    assert ca.subject == ca.issuer
    for c, org in ((ca, "alice"), (client, "alice.<bootstrap>"), (server, "alice.m1")):
        assert [(a.oid, a.value) for a in c.subject] == [(NameOID.ORGANIZATION_NAME, org)]
        assert not c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        assert c.issuer.public_bytes() == ca.subject.public_bytes()


def test_serials_are_random_128_bit(rsa_ca):
    serials = [cert(_certs.new_client(rsa_ca, "x", key_type="ecdsa").cert_pem).serial_number for dummy in range(20)]
    assert len(set(serials)) == 20
    assert all(1 <= s < 2**128 for s in serials)
    assert max(s.bit_length() for s in serials) > 120  # drawn from the whole 128-bit range


# --- shape: extensions ---------------------------------------------------------------------------


@pytest.mark.parametrize("key_type", _certs.KEY_TYPES)
def test_ca_extensions(key_type, cas):
    c = cert(_certs.new_ca("alice", key_type=key_type).cert_pem)
    ku = ext(c, x509.KeyUsage)
    assert ku.critical
    assert (ku.value.digital_signature, ku.value.key_encipherment, ku.value.key_agreement, ku.value.key_cert_sign) == (True,) * 4
    assert not (ku.value.content_commitment or ku.value.data_encipherment or ku.value.crl_sign)
    bc = ext(c, x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length is None
    assert ext(c, x509.SubjectKeyIdentifier).value == x509.SubjectKeyIdentifier.from_public_key(c.public_key())
    with pytest.raises(x509.ExtensionNotFound):
        ext(c, x509.ExtendedKeyUsage)
    with pytest.raises(x509.ExtensionNotFound):
        ext(c, x509.SubjectAlternativeName)


@pytest.mark.parametrize("ca_type", _certs.KEY_TYPES)
@pytest.mark.parametrize("key_type", _certs.KEY_TYPES)
def test_client_extensions(ca_type, key_type, cas):
    c = cert(_certs.new_client(cas[ca_type], "alice.<bootstrap>", key_type=key_type).cert_pem)
    ku = ext(c, x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature
    assert not (ku.value.key_encipherment or ku.value.key_agreement or ku.value.key_cert_sign)
    assert list(ext(c, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    bc = ext(c, x509.BasicConstraints)
    assert bc.critical and bc.value.ca is False
    ca_ski = ext(cert(cas[ca_type].cert_pem), x509.SubjectKeyIdentifier).value.digest
    assert ext(c, x509.AuthorityKeyIdentifier).value.key_identifier == ca_ski
    with pytest.raises(x509.ExtensionNotFound):
        ext(c, x509.SubjectAlternativeName)


@pytest.mark.parametrize("ca_type", _certs.KEY_TYPES)
@pytest.mark.parametrize("key_type", _certs.KEY_TYPES)
def test_server_extensions(ca_type, key_type, cas):
    c = cert(_certs.new_server(cas[ca_type], "alice.m1", ["10.0.0.5", "localhost"], key_type=key_type).cert_pem)
    ku = ext(c, x509.KeyUsage)
    assert ku.critical
    assert (ku.value.digital_signature, ku.value.key_encipherment, ku.value.key_agreement) == (True, True, True)
    assert not ku.value.key_cert_sign
    assert list(ext(c, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert ext(c, x509.BasicConstraints).value.ca is False


def test_server_client_auth_adds_the_eku(rsa_ca):
    c = cert(_certs.new_server(rsa_ca, "alice.m1", ["localhost"], client_auth=True).cert_pem)
    assert list(ext(c, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]


def test_server_sans_ip_vs_dns_deduplicated(rsa_ca):
    sans = ["10.0.0.5", "docker.example.com", "LOCALHOST", "2001:db8::1", "localhost", "10.0.0.5",
            "2001:DB8:0::1", " ", "192.168.99.100"]
    san = ext(cert(_certs.new_server(rsa_ca, "alice.m1", sans).cert_pem), x509.SubjectAlternativeName)
    assert not san.critical
    assert san.value.get_values_for_type(x509.DNSName) == ["docker.example.com", "LOCALHOST"]
    assert [str(ip) for ip in san.value.get_values_for_type(x509.IPAddress)] == ["10.0.0.5", "2001:db8::1", "192.168.99.100"]
    # Go writes all DNS names before all IP addresses
    assert [type(n) for n in san.value] == [x509.DNSName] * 2 + [x509.IPAddress] * 3


def test_extensions_match_the_fixture_store_exactly(fixture_ca, store):
    """Same extensions, in the same order, with the same criticality and values as docker-machine's."""
    ours = {
        "ca": cert(_certs.new_ca("unknown").cert_pem),
        "client": cert(_certs.new_client(fixture_ca, "unknown.<bootstrap>").cert_pem),
        "server": cert(_certs.new_server(fixture_ca, "unknown.m1", ["127.0.0.11", "localhost"]).cert_pem),
    }
    theirs = {
        "ca": cert((store / "certs/ca.pem").read_bytes()),
        "client": cert((store / "certs/cert.pem").read_bytes()),
        "server": cert((store / "machines/m1/server.pem").read_bytes()),
    }
    for kind, ours_c in ours.items():
        assert ext_layout(ours_c) == ext_layout(theirs[kind]), kind
        for e in theirs[kind].extensions:
            if e.oid != ExtensionOID.SUBJECT_KEY_IDENTIFIER or kind != "ca":  # the CA's SKI is its own key's
                assert ours_c.extensions.get_extension_for_oid(e.oid).value == e.value, (kind, e.oid)
        assert ours_c.signature_hash_algorithm.name == theirs[kind].signature_hash_algorithm.name == "sha256"
        assert ours_c.subject == theirs[kind].subject
        assert ours_c.version == x509.Version.v3


# --- keys ----------------------------------------------------------------------------------------


def test_rsa_keys_are_pkcs1_2048_e65537(rsa_ca):
    for pair in (rsa_ca, _certs.new_client(rsa_ca, "a"), _certs.new_server(rsa_ca, "a", ["h"])):
        assert pair.key_pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----\n")
        assert pair.key_pem.rstrip().endswith(b"-----END RSA PRIVATE KEY-----")
        key = serialization.load_pem_private_key(pair.key_pem, password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        assert key.key_size == 2048 and key.public_key().public_numbers().e == 65537
        assert pair.cert_pem.startswith(b"-----BEGIN CERTIFICATE-----\n")
        assert _certs.key_matches_cert(pair.key_pem, pair.cert_pem)


def test_ecdsa_keys_are_sec1_p256(ecdsa_ca, rsa_ca):
    for pair in (ecdsa_ca, _certs.new_client(rsa_ca, "a", key_type="ecdsa"),
                 _certs.new_server(rsa_ca, "a", ["h"], key_type="ecdsa")):
        assert pair.key_pem.startswith(b"-----BEGIN EC PRIVATE KEY-----\n")
        key = serialization.load_pem_private_key(pair.key_pem, password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)
        assert _certs.key_matches_cert(pair.key_pem, pair.cert_pem)
    info = _certs.inspect_cert(ecdsa_ca.cert_pem)
    assert (info.key_type, info.key_size) == ("ecdsa", 256)
    assert cert(ecdsa_ca.cert_pem).signature_algorithm_oid == x509.SignatureAlgorithmOID.ECDSA_WITH_SHA256


def test_leaf_signature_follows_the_ca_key(ecdsa_ca):
    leaf = cert(_certs.new_server(ecdsa_ca, "a", ["h"], key_type="rsa").cert_pem)
    assert leaf.signature_algorithm_oid == x509.SignatureAlgorithmOID.ECDSA_WITH_SHA256
    assert isinstance(leaf.public_key(), rsa.RSAPublicKey)


# --- independent chain checks with openssl -------------------------------------------------------


@needs_openssl
@pytest.mark.parametrize("ca_type", _certs.KEY_TYPES)
@pytest.mark.parametrize("key_type", _certs.KEY_TYPES)
def test_openssl_verifies_chains_and_purposes(tmp_path, cas, ca_type, key_type):
    ca = cas[ca_type]
    server = _certs.new_server(ca, "alice.m1", ["127.0.0.1", "localhost"], key_type=key_type)
    client = _certs.new_client(ca, "alice.<bootstrap>", key_type=key_type)
    assert_verified(openssl_verify(tmp_path, ca.cert_pem, server.cert_pem, "sslserver"))
    assert_verified(openssl_verify(tmp_path, ca.cert_pem, client.cert_pem, "sslclient"))
    # openssl does refuse the wrong purpose and the wrong CA, so the checks above mean something
    assert openssl_verify(tmp_path, ca.cert_pem, server.cert_pem, "sslclient").returncode != 0
    assert openssl_verify(tmp_path, ca.cert_pem, client.cert_pem, "sslserver").returncode != 0
    other = cas["ecdsa" if ca_type == "rsa" else "rsa"]
    assert openssl_verify(tmp_path, other.cert_pem, server.cert_pem, "sslserver").returncode != 0


@needs_openssl
def test_openssl_accepts_client_auth_server_as_client(tmp_path, rsa_ca):
    server = _certs.new_server(rsa_ca, "alice.swarm", ["localhost"], client_auth=True)
    assert_verified(openssl_verify(tmp_path, rsa_ca.cert_pem, server.cert_pem, "sslclient"))


@needs_openssl
def test_server_issued_by_the_fixture_ca_verifies(tmp_path, fixture_ca, store):
    ca_info = _certs.inspect_cert(fixture_ca.cert_pem)
    when = ca_info.not_before + timedelta(days=1)  # independent of the wall clock
    server = _certs.new_server(fixture_ca, "unknown.m3", ["127.0.0.13", "localhost"], now=when)
    assert_verified(openssl_verify(tmp_path, (store / "certs/ca.pem").read_bytes(), server.cert_pem, "sslserver", at=when))
    _certs.verify_signed_by(server.cert_pem, fixture_ca.cert_pem, now=when)
    issued = cert(server.cert_pem)
    ca = cert(fixture_ca.cert_pem)
    assert issued.issuer.public_bytes() == ca.subject.public_bytes()  # byte-identical, as Go's chain builder needs
    assert ext(issued, x509.AuthorityKeyIdentifier).value.key_identifier == ext(ca, x509.SubjectKeyIdentifier).value.digest


@needs_openssl
def test_fixture_store_chain_itself_verifies(tmp_path, store):
    ca_pem = (store / "certs/ca.pem").read_bytes()
    when = _certs.inspect_cert(ca_pem).not_before + timedelta(days=1)
    assert_verified(openssl_verify(tmp_path, ca_pem, (store / "machines/m1/server.pem").read_bytes(), "sslserver", at=when))


# --- verify_signed_by ----------------------------------------------------------------------------


def test_verify_signed_by_accepts_own_chain(cas):
    for ca in cas.values():
        _certs.verify_signed_by(_certs.new_server(ca, "a", ["h"]).cert_pem, ca.cert_pem)
        _certs.verify_signed_by(_certs.new_client(ca, "a").cert_pem, ca.cert_pem)


def test_verify_signed_by_rejects_another_ca(rsa_ca, ecdsa_ca):
    leaf = _certs.new_client(rsa_ca, "alice.<bootstrap>").cert_pem
    with pytest.raises(CertError, match="not signed by") as err:
        _certs.verify_signed_by(leaf, ecdsa_ca.cert_pem)
    assert err.value.details["reason"] == "not_signed"


def test_verify_signed_by_checks_the_signature_not_just_the_name(rsa_ca):
    twin = _certs.new_ca("alice")  # same subject O=alice, different key
    assert cert(twin.cert_pem).subject == cert(rsa_ca.cert_pem).subject
    with pytest.raises(CertError, match="not signed by") as err:
        _certs.verify_signed_by(_certs.new_server(rsa_ca, "a", ["h"]).cert_pem, twin.cert_pem)
    assert err.value.details["reason"] == "not_signed"


def test_verify_signed_by_rejects_expired_and_not_yet_valid(rsa_ca):
    now = datetime.now(timezone.utc)
    old = _certs.new_server(rsa_ca, "a", ["h"], now=now - timedelta(days=1081)).cert_pem
    with pytest.raises(CertError, match="expired") as err:
        _certs.verify_signed_by(old, rsa_ca.cert_pem)
    assert err.value.details["reason"] == "expired"
    fresh = _certs.new_server(rsa_ca, "a", ["h"]).cert_pem
    with pytest.raises(CertError, match="not yet valid") as err:
        _certs.verify_signed_by(fresh, rsa_ca.cert_pem, now=now - timedelta(hours=1))
    assert err.value.details["reason"] == "not_yet_valid"


def test_verify_signed_by_rejects_an_expired_ca():
    now = datetime.now(timezone.utc)
    ca = _certs.new_ca("old", now=now - timedelta(days=1100))
    leaf = _certs.new_client(ca, "old.<bootstrap>", now=now - timedelta(days=1000)).cert_pem
    with pytest.raises(CertError, match="CA certificate .* expired") as err:
        _certs.verify_signed_by(leaf, ca.cert_pem)
    assert err.value.details["reason"] == "ca_expired"


def test_verify_signed_by_rejects_a_leaf_as_ca(rsa_ca):
    leaf = _certs.new_client(rsa_ca, "a").cert_pem
    with pytest.raises(CertError, match="not a CA") as err:
        _certs.verify_signed_by(leaf, leaf)
    assert err.value.details["reason"] == "not_a_ca"


# --- inspect_cert and CertInfo -------------------------------------------------------------------


def test_inspect_fixture_m1_server(store):
    info = _certs.inspect_cert((store / "machines/m1/server.pem").read_bytes())
    assert info.subject_org == "unknown.m1" and info.issuer_org == "unknown"
    assert info.ip_addresses == ("127.0.0.11",) and info.dns_names == ("localhost",)
    assert info.covers("127.0.0.11") and info.covers("localhost") and info.covers("LocalHost")
    assert not info.covers("127.0.0.99") and not info.covers("m1") and not info.covers("")
    assert not info.is_ca and (info.key_type, info.key_size) == ("rsa", 2048)
    assert info.not_after - info.not_before == timedelta(days=1080)
    assert info.not_before.second == 0 and info.not_before.tzinfo is not None
    assert info.serial == cert((store / "machines/m1/server.pem").read_bytes()).serial_number
    assert _certs.inspect_cert((store / "certs/ca.pem").read_bytes()).is_ca


def test_inspect_what_we_made(rsa_ca):
    pem = _certs.new_server(rsa_ca, "alice.m1", ["10.1.2.3", "fe80::1", "Docker.Example.com"], now=NOW).cert_pem
    info = _certs.inspect_cert(pem)
    assert info == _certs.CertInfo(
        subject_org="alice.m1", issuer_org="alice", serial=cert(pem).serial_number,
        not_before=NOT_BEFORE, not_after=NOT_BEFORE + timedelta(days=1080), is_ca=False,
        dns_names=("Docker.Example.com",), ip_addresses=("10.1.2.3", "fe80::1"), key_type="rsa", key_size=2048,
    )
    assert info.covers("docker.example.COM") and info.covers("FE80:0:0::1") and info.covers(" 10.1.2.3 ")
    assert not info.covers("10.1.2.33") and not info.covers("example.com") and not info.covers("*.example.com")


def test_expiry_arithmetic(rsa_ca):
    info = _certs.inspect_cert(_certs.new_client(rsa_ca, "a", now=NOW).cert_pem)
    end = NOT_BEFORE + timedelta(days=1080)
    assert info.expires_in(end - timedelta(days=30)) == timedelta(days=30)
    assert info.expires_in(end + timedelta(seconds=1)) == timedelta(seconds=-1)
    assert not info.is_expired(end) and info.is_expired(end + timedelta(seconds=1))
    # without ``now`` the real clock is used
    real_now = datetime.now(timezone.utc)
    assert not _certs.inspect_cert(_certs.new_client(rsa_ca, "a").cert_pem).is_expired()
    assert _certs.inspect_cert(_certs.new_client(rsa_ca, "a", now=real_now - timedelta(days=1081)).cert_pem).is_expired()
    fresh = _certs.inspect_cert(_certs.new_client(rsa_ca, "a").cert_pem)
    assert timedelta(days=1079, hours=23) < fresh.expires_in() <= timedelta(days=1080)


@pytest.mark.parametrize("garbage", [b"", b"hello", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"])
def test_inspect_garbage_raises(garbage):
    with pytest.raises(CertError):
        _certs.inspect_cert(garbage)


def test_inspect_a_key_is_not_a_cert(rsa_ca):
    with pytest.raises(CertError, match="not a valid PEM certificate"):
        _certs.inspect_cert(rsa_ca.key_pem)


# --- key_matches_cert and load_pair --------------------------------------------------------------


def test_key_matches_cert_on_fixture(store):
    key = (store / "machines/m1/server-key.pem").read_bytes()
    assert _certs.key_matches_cert(key, (store / "machines/m1/server.pem").read_bytes())
    assert not _certs.key_matches_cert(key, (store / "machines/m2/server.pem").read_bytes())
    assert _certs.key_matches_cert((store / "certs/key.pem").read_bytes(), (store / "certs/cert.pem").read_bytes())


def test_load_pair_returns_the_bytes_unchanged(store, fixture_ca):
    assert fixture_ca.cert_pem == (store / "certs/ca.pem").read_bytes()
    assert fixture_ca.key_pem == (store / "certs/ca-key.pem").read_bytes()


def test_load_pair_rejects_mismatch_and_garbage(store, rsa_ca):
    with pytest.raises(CertError, match="does not belong"):
        _certs.load_pair((store / "certs/ca.pem").read_bytes(), rsa_ca.key_pem)
    with pytest.raises(CertError):
        _certs.load_pair(b"junk", rsa_ca.key_pem)
    with pytest.raises(CertError):
        _certs.load_pair(rsa_ca.cert_pem, b"junk")
    with pytest.raises(CertError):
        _certs.key_matches_cert(rsa_ca.cert_pem, rsa_ca.cert_pem)


def test_encrypted_key_is_refused(rsa_ca):
    key = serialization.load_pem_private_key(rsa_ca.key_pem, password=None)
    locked = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                               serialization.BestAvailableEncryption(b"secret"))
    with pytest.raises(CertError):
        _certs.load_pair(rsa_ca.cert_pem, locked)


# --- bad input -----------------------------------------------------------------------------------


def test_bad_arguments_raise_cert_error(rsa_ca):
    with pytest.raises(CertError, match="unsupported key type"):
        _certs.new_ca("a", key_type="dsa")
    with pytest.raises(CertError, match="organization"):
        _certs.new_ca("")
    with pytest.raises(CertError, match="single string"):
        _certs.new_server(rsa_ca, "a", "localhost")
    with pytest.raises(CertError, match="at least one SAN"):
        _certs.new_server(rsa_ca, "a", ["", "  "])
    leaf = _certs.new_client(rsa_ca, "a")
    with pytest.raises(CertError, match="not a CA"):
        _certs.new_server(leaf, "a", ["h"])
    with pytest.raises(CertError, match="does not belong"):
        _certs.new_client(_certs.CertPair(rsa_ca.cert_pem, leaf.key_pem), "a")


def test_default_org_user(monkeypatch):
    monkeypatch.setenv("USER", "bob")
    assert _certs.default_org_user() == "bob"
    monkeypatch.setenv("USER", "")
    assert _certs.default_org_user() == "unknown"
    monkeypatch.delenv("USER")
    assert _certs.default_org_user() == "unknown"


# --- a real TLS handshake on 127.0.0.1 -----------------------------------------------------------


def tls_exchange(tmp_path: Path, ca: _certs.CertPair, server: _certs.CertPair, client: _certs.CertPair) -> dict:
    """Serve one mutual-TLS connection on 127.0.0.1 and connect to it; report what each side saw."""
    for name, data in (("ca.pem", ca.cert_pem), ("server.pem", server.cert_pem), ("server-key.pem", server.key_pem),
                       ("cert.pem", client.cert_pem), ("key.pem", client.key_pem)):
        (tmp_path / name).write_bytes(data)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(tmp_path / "server.pem", tmp_path / "server-key.pem")
    server_ctx.load_verify_locations(cadata=ca.cert_pem.decode())
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # check_hostname and CERT_REQUIRED by default
    client_ctx.load_verify_locations(cadata=ca.cert_pem.decode())
    client_ctx.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")

    out: dict = {}
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(10)

    def serve() -> None:
        try:
            conn = listener.accept()[0]
            conn.settimeout(10)
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                out["peer"] = dict(x[0] for x in tls.getpeercert()["subject"])
                tls.sendall(b"ok")
        except (ssl.SSLError, OSError) as exc:
            out["server_error"] = exc

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with socket.create_connection(listener.getsockname(), timeout=10) as raw:
            with client_ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                out["reply"] = tls.recv(2)
    except (ssl.SSLError, OSError) as exc:
        out["client_error"] = exc
    finally:
        thread.join(15)
        listener.close()
    assert not thread.is_alive()
    return out


@pytest.mark.parametrize("ca_type,server_type,client_type", [("rsa", "rsa", "rsa"), ("rsa", "ecdsa", "rsa"),
                                                             ("ecdsa", "rsa", "ecdsa")])
def test_mutual_tls_handshake(tmp_path, cas, ca_type, server_type, client_type):
    ca = cas[ca_type]
    server = _certs.new_server(ca, "alice.m1", ["127.0.0.1", "localhost"], key_type=server_type)
    client = _certs.new_client(ca, "alice.<bootstrap>", key_type=client_type)
    out = tls_exchange(tmp_path, ca, server, client)
    assert "client_error" not in out and "server_error" not in out, out
    assert out["reply"] == b"ok"
    assert out["peer"] == {"organizationName": "alice.<bootstrap>"}


def test_handshake_fails_with_a_client_cert_from_another_ca(tmp_path, rsa_ca, ecdsa_ca):
    server = _certs.new_server(rsa_ca, "alice.m1", ["127.0.0.1"])
    stranger = _certs.new_client(ecdsa_ca, "alice.<bootstrap>")
    out = tls_exchange(tmp_path, rsa_ca, server, stranger)
    assert isinstance(out.get("server_error"), ssl.SSLError), out
    assert "peer" not in out and out.get("reply") != b"ok"


def test_handshake_fails_when_the_san_does_not_cover_the_address(tmp_path, rsa_ca):
    server = _certs.new_server(rsa_ca, "alice.m1", ["127.0.0.2", "localhost"])  # the IP changed (pain point #1)
    client = _certs.new_client(rsa_ca, "alice.<bootstrap>")
    out = tls_exchange(tmp_path, rsa_ca, server, client)
    assert isinstance(out.get("client_error"), ssl.SSLCertVerificationError), out
    assert "127.0.0.1" in str(out["client_error"])
