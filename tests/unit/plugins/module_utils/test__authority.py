"""The store's certificate authority: CA and client bootstrap, exactly once under a race."""

from __future__ import annotations

import multiprocessing
import os
import stat
import subprocess
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils import _authority, _certs
from ansible_collections.dockyard.machine.plugins.module_utils._errors import CertError
from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineStore


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_bootstrap_creates_ca_and_client_once(tmp_path):
    store = MachineStore(str(tmp_path / "store"))
    first = _authority.ensure_certificates(store, org_user="alice")
    assert first.created == ("ca", "client")
    certs = tmp_path / "store" / "certs"
    assert sorted(os.listdir(certs)) == ["ca-key.pem", "ca.pem", "cert.pem", "key.pem"]
    assert _mode(certs / "ca-key.pem") == 0o600 and _mode(certs / "key.pem") == 0o600
    assert _mode(certs) == 0o700 and _mode(tmp_path / "store") == 0o700
    assert _certs.inspect_cert((certs / "ca.pem").read_bytes()).subject_org == "alice"
    assert _certs.inspect_cert((certs / "cert.pem").read_bytes()).subject_org == "alice.<bootstrap>"
    # Checked by an independent tool, not by our own code.
    verify = subprocess.run(
        ["openssl", "verify", "-purpose", "sslclient", "-CAfile", str(certs / "ca.pem"), str(certs / "cert.pem")],
        capture_output=True, text=True, check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    second = _authority.ensure_certificates(store, org_user="alice")
    assert second.created == ()
    assert second.ca.cert_pem == first.ca.cert_pem


def test_the_originals_certificates_are_kept(fixture_store):
    before = {p: (fixture_store / "certs" / p).read_bytes() for p in os.listdir(fixture_store / "certs")}
    result = _authority.ensure_certificates(MachineStore(str(fixture_store)), now=datetime(2027, 1, 1, tzinfo=timezone.utc))
    assert result.created == ()
    assert {p: (fixture_store / "certs" / p).read_bytes() for p in before} == before


def _bootstrap(root: str, barrier, results) -> None:
    barrier.wait(10)
    outcome = _authority.ensure_certificates(MachineStore(root), org_user="race")
    results.put((outcome.created, outcome.ca.cert_pem))


def test_ten_racing_processes_make_exactly_one_ca(tmp_path):
    root = str(tmp_path / "store")
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(10), ctx.Queue()
    workers = [ctx.Process(target=_bootstrap, args=(root, barrier, results)) for dummy in range(10)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=60) for dummy in workers]
    for worker in workers:
        worker.join(10)
        assert worker.exitcode == 0
    created = [c for c, dummy in outcomes]
    assert sum("ca" in c for c in created) == 1
    assert sum("client" in c for c in created) == 1
    on_disk = (tmp_path / "store" / "certs" / "ca.pem").read_bytes()
    assert {pem for dummy, pem in outcomes} == {on_disk}


def test_an_expired_ca_is_replaced_and_the_client_reissued(tmp_path):
    store = MachineStore(str(tmp_path / "store"))
    old = _authority.ensure_certificates(store, org_user="bob", now=datetime(2020, 1, 1, tzinfo=timezone.utc))
    later = datetime(2020, 1, 1, tzinfo=timezone.utc) + timedelta(days=1081)
    new = _authority.ensure_certificates(store, org_user="bob", now=later)
    assert new.created == ("ca", "client")
    assert new.ca.cert_pem != old.ca.cert_pem
    _certs.verify_signed_by(new.client.cert_pem, new.ca.cert_pem, now=later)


def test_a_ca_key_without_its_certificate_is_refused(tmp_path):
    store = MachineStore(str(tmp_path / "store"))
    _authority.ensure_certificates(store, org_user="carol")
    os.unlink(tmp_path / "store" / "certs" / "ca.pem")
    with pytest.raises(CertError) as info:
        _authority.ensure_certificates(store, org_user="carol")
    assert str(tmp_path / "store" / "certs" / "ca-key.pem") in info.value.msg
    assert (tmp_path / "store" / "certs" / "ca-key.pem").exists()


def test_ecdsa_bootstrap(tmp_path):
    result = _authority.ensure_certificates(MachineStore(str(tmp_path / "s")), key_type="ecdsa", org_user="dave")
    info = _certs.inspect_cert(result.ca.cert_pem)
    assert info.key_type == "ecdsa" and info.key_size == 256
