"""The store's certificate authority: CA and client bootstrap, exactly once under a race."""

from __future__ import annotations

import multiprocessing
import os
import signal
import stat
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

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


# --- a bootstrap killed at any step (issue 15 item 6) ---------------------------------------------------------------

# The bootstrap in a process of its own, on a store that reports each change it makes and waits for a line on stdin
# before going on: the test kills it (SIGKILL) right after any one change.
PAUSING_BOOTSTRAP = """
import sys
from ansible_collections.dockyard.machine.plugins.module_utils import _authority
from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineStore


class PausingStore(MachineStore):
    def _pause(self, what, path):
        print(what, path, flush=True)
        if not sys.stdin.readline():
            sys.exit(3)

    def write_file(self, path, data, mode=0o600):
        changed = super().write_file(path, data, mode)
        self._pause("wrote", path)
        return changed

    def remove_file(self, path):
        removed = super().remove_file(path)
        self._pause("removed", path)
        return removed

    def move_file(self, source, target):
        super().move_file(source, target)
        self._pause("moved", source)


_authority.ensure_certificates(PausingStore(sys.argv[1]), org_user="kill")
print("done", flush=True)
"""


def _pausing_bootstrap(root: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.Popen(
        [sys.executable, "-c", PAUSING_BOOTSTRAP, str(root)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )


def _bootstrap_steps(root: Path, kill_after: int | None) -> list[str]:
    """Run the bootstrap, let it make ``kill_after`` changes and kill it after the next one; the changes it reported."""
    proc = _pausing_bootstrap(root)
    assert proc.stdin is not None and proc.stdout is not None
    steps: list[str] = []
    try:
        for line in proc.stdout:
            if line.strip() == "done":
                break
            steps.append(line.strip())
            if kill_after is not None and len(steps) > kill_after:
                proc.send_signal(signal.SIGKILL)
                break
            proc.stdin.write("\n")
            proc.stdin.flush()
    finally:
        proc.wait(30)
    return steps


def _whole_or_nothing(certs: Path) -> dict[str, str]:
    """Per pair: 'nothing', 'whole' or 'pending' (its one-file form, which the next run puts in place); else fails."""
    states = {}
    for cert, key in (_authority.CA_FILES, _authority.CLIENT_FILES):
        has = ((certs / cert).exists(), (certs / key).exists())
        pending = (certs / (".%s.pending" % cert)).exists()
        if pending:
            states[cert] = "pending"
        elif has == (True, True):
            states[cert] = "whole"
        else:
            assert has == (False, False), "%s/%s left half: %s" % (cert, key, sorted(os.listdir(certs)))
            states[cert] = "nothing"
    return states


def test_a_bootstrap_killed_after_any_step_leaves_nothing_or_a_whole_pair_and_the_next_run_finishes_it(tmp_path):
    steps = _bootstrap_steps(tmp_path / "complete", None)
    # Each pair: its pending file, key, certificate, pending file removed.
    assert len(steps) >= 4, steps
    seen = set()
    for kill_after in range(len(steps)):
        root = tmp_path / ("killed-%d" % kill_after)
        done = _bootstrap_steps(root, kill_after)
        assert len(done) == kill_after + 1
        certs = root / "certs"
        states = _whole_or_nothing(certs)
        seen.update(states.values())
        pending_ca = (certs / ".ca.pem.pending").read_bytes() if states["ca.pem"] == "pending" else None
        # Readers (no lock) see the pair the next run will keep, or none; never an error.
        store = MachineStore(str(root))
        ca = _authority.read_pair(store, *_authority.CA_FILES)
        assert (ca is None) == (states["ca.pem"] == "nothing")

        result = _authority.ensure_certificates(store, org_user="kill")
        assert sorted(os.listdir(certs)) == ["ca-key.pem", "ca.pem", "cert.pem", "key.pem"]
        assert result.warnings == ()
        _certs.verify_signed_by(result.client.cert_pem, result.ca.cert_pem)
        if pending_ca is not None:  # finished, not started over: what a reader saw is what stays
            assert pending_ca == result.ca.key_pem + result.ca.cert_pem and "ca" not in result.created
        verify = subprocess.run(
            ["openssl", "verify", "-CAfile", str(certs / "ca.pem"), str(certs / "cert.pem")], capture_output=True, text=True, check=False
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
    assert seen == {"nothing", "pending", "whole"}


def test_a_key_an_older_version_left_without_its_certificate_and_that_signed_nothing_is_set_aside(tmp_path):
    store = MachineStore(str(tmp_path / "store"))
    certs = tmp_path / "store" / "certs"
    certs.mkdir(parents=True)
    orphan = _certs.new_ca("old", now=None).key_pem
    (certs / "ca-key.pem").write_bytes(orphan)  # what a kill between the old code's two writes left
    with pytest.raises(CertError, match="was interrupted"):
        _authority.read_authority(store)

    result = _authority.ensure_certificates(store, org_user="erin", now=datetime(2026, 12, 6, tzinfo=timezone.utc))
    assert result.created == ("ca", "client")
    assert (certs / "orphaned-20261206T000000Z" / "ca-key.pem").read_bytes() == orphan
    assert result.ca.key_pem != orphan
    assert len(result.warnings) == 1 and "signed nothing" in result.warnings[0] and "orphaned-20261206T000000Z" in result.warnings[0]
    assert _mode(certs / "orphaned-20261206T000000Z") == 0o700 and _mode(certs / "orphaned-20261206T000000Z" / "ca-key.pem") == 0o600


def test_a_client_key_without_its_certificate_is_set_aside_and_the_client_reissued(tmp_path):
    store = MachineStore(str(tmp_path / "store"))
    first = _authority.ensure_certificates(store, org_user="finn")
    os.unlink(tmp_path / "store" / "certs" / "cert.pem")
    result = _authority.ensure_certificates(store, org_user="finn")
    assert result.created == ("client",) and result.ca == first.ca
    assert len(result.warnings) == 1 and "key.pem" in result.warnings[0]


def _machine_folder(store_root: Path, name: str, files: dict[str, bytes]) -> None:
    folder = store_root / "machines" / name
    folder.mkdir(parents=True)
    for filename, data in files.items():
        (folder / filename).write_bytes(data)


def test_a_ca_key_whose_certificate_a_machine_folder_keeps_is_refused_naming_the_copy(tmp_path):
    store = MachineStore(str(tmp_path / "store"))
    authority = _authority.ensure_certificates(store, org_user="gail")
    _machine_folder(tmp_path / "store", "m1", {"ca.pem": authority.ca.cert_pem})
    for name in ("ca.pem", "cert.pem", "key.pem"):
        os.unlink(tmp_path / "store" / "certs" / name)
    with pytest.raises(CertError) as info:
        _authority.ensure_certificates(store, org_user="gail")
    assert "Copy it to %s" % (tmp_path / "store" / "certs" / "ca.pem") in info.value.msg
    assert str(tmp_path / "store" / "machines" / "m1" / "ca.pem") in info.value.msg
    assert sorted(os.listdir(tmp_path / "store" / "certs")) == ["ca-key.pem"]


def test_a_ca_key_that_signed_a_machines_certificate_is_refused_and_kept(tmp_path):
    store = MachineStore(str(tmp_path / "store"))
    authority = _authority.ensure_certificates(store, org_user="hal")
    server = _certs.new_server(authority.ca, "hal.m2", ["127.0.0.1"])
    _machine_folder(tmp_path / "store", "m2", {"server.pem": server.cert_pem})
    for name in ("ca.pem", "cert.pem", "key.pem"):
        os.unlink(tmp_path / "store" / "certs" / name)
    with pytest.raises(CertError) as info:
        _authority.ensure_certificates(store, org_user="hal")
    assert "signed certificates in use (%s)" % (tmp_path / "store" / "machines" / "m2" / "server.pem") in info.value.msg
    assert (tmp_path / "store" / "certs" / "ca-key.pem").read_bytes() == authority.ca.key_pem


def test_a_key_that_does_not_parse_is_refused(tmp_path):
    certs = tmp_path / "store" / "certs"
    certs.mkdir(parents=True)
    (certs / "ca-key.pem").write_bytes(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")
    with pytest.raises(CertError, match="cannot be read"):
        _authority.ensure_certificates(MachineStore(str(tmp_path / "store")), org_user="ivy")
    assert sorted(os.listdir(certs)) == ["ca-key.pem"]


class _ReadOnlyCerts(MachineStore):
    """A store whose certs/ the job cannot write (AWX: a job without the CA's volume, README "The store's volumes")."""

    def write_file(self, path, data, mode=0o600):
        raise PermissionError(13, "Permission denied", path)


def test_a_store_whose_certs_folder_cannot_be_written_fails_naming_it(tmp_path):
    store = _ReadOnlyCerts(str(tmp_path / "store"))
    with pytest.raises(CertError) as info:
        _authority.ensure_certificates(store, org_user="jo")
    assert "Cannot write the store's CA and client certificate in %s: Permission denied" % store.certs_dir in info.value.msg
    assert "instance group that mounts the CA's volume" in info.value.msg
