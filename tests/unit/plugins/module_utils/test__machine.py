"""The orchestrator: the lifecycle through its seams (a transcript of the host, a fake engine), and the fleet's re-issue and rotation."""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
import typing as t
from datetime import datetime, timezone

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils import _certs
from ansible_collections.dockyard.machine.plugins.module_utils._errors import CertError, EngineError, MachineError, SSHError
from ansible_collections.dockyard.machine.plugins.module_utils._machine import EngineSpec, MachineManager, MachineSpec
from ansible_collections.dockyard.machine.plugins.module_utils._provision import EngineInstall
from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineStore
from ansible_collections.dockyard.machine.tests.unit.plugins.module_utils.fakes import HostsRunner, Step, TranscriptRunner


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# --- Lifecycle through the seams: a transcript for SSH, a stand-in engine for the TLS check -------------

BOOKWORM = 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'


def _host_with_docker(written: bool) -> list[Step]:
    answer = "written\n" if written else "unchanged\n"
    steps = [
        Step(r"^true$"),
        Step(r"^cat /etc/os-release$", stdout=BOOKWORM),
        Step(r"cloud-init"),
        Step(r"command -v dockerd"),
        Step(r"\[ -x /usr/bin/dockerd \]", stdout="present\n"),
        Step(r"cat /etc/docker/daemon\.json", stdout="" if written else '{\n  "live-restore": true\n}\n'),
        *[Step(r"echo unchanged", stdout=answer) for dummy in range(5)],
        Step(r"systemctl is-active --quiet docker\.service", rc=0 if not written else 3),
    ]
    if written:
        steps.append(Step(r"systemctl restart docker\.service"))
    return steps


class FakeEngine:
    """The TLS check's stand-in: answers /version, or fails the way a broken engine does."""

    def __init__(self, error: str | None = None) -> None:
        self.error = error
        self.calls: list[str] = []

    def __call__(self, url, tls, timeout):
        self.calls.append(url)
        if self.error:
            raise EngineError(self.error)
        return {"Version": "26.1.5"}


def _spec(tmp_path, **overrides) -> MachineSpec:
    key = tmp_path / "id_ed25519"
    if not key.exists():
        key.write_text("not really a key\n")
    options = {"ip_address": "127.0.0.9", "ssh_user": "root", "ssh_key": str(key), "ssh_port": 22, "engine_port": 2376}
    values = dict(name="web1", driver="generic", driver_options=options, engine=EngineSpec(install=EngineInstall(source="distro")), timeout=5)
    values.update(overrides)
    return MachineSpec(**values)


def test_present_creates_then_changes_nothing(tmp_path):
    store = MachineStore(str(tmp_path / "store"))
    engine = FakeEngine()
    first = MachineManager(store, ssh_runner=TranscriptRunner(_host_with_docker(True)), engine_probe=engine, org_user="ops").present(_spec(tmp_path))
    assert first.changed and first.status == "running" and first.docker_version == "26.1.5"
    assert first.steps[:4] == ["record", "certificates", "local files", "server certificate"]
    assert engine.calls == ["tcp://127.0.0.9:2376"]
    sidecar = json.loads((tmp_path / "store" / "machines" / "web1" / "dockyard-machine.json").read_text())
    assert sidecar["Status"] == "running" and "LastError" not in sidecar
    runner = TranscriptRunner(_host_with_docker(False))
    second = MachineManager(store, ssh_runner=runner, engine_probe=FakeEngine(), org_user="ops").present(_spec(tmp_path))
    assert runner.finished()
    assert (second.changed, second.steps) == (False, [])


def test_a_new_address_is_recorded_only_with_a_certificate_that_worked(tmp_path):
    store = MachineStore(str(tmp_path / "store"))
    MachineManager(store, ssh_runner=TranscriptRunner(_host_with_docker(True)), engine_probe=FakeEngine(), org_user="ops").present(_spec(tmp_path))
    machine_dir = tmp_path / "store" / "machines" / "web1"
    before = {name: (machine_dir / name).read_bytes() for name in ("server.pem", "server-key.pem")}
    refused = FakeEngine('There was an error validating certificates for host "127.0.0.10:2376": unknown authority')
    manager = MachineManager(store, ssh_runner=TranscriptRunner(_host_with_docker(True)), engine_probe=refused, org_user="ops")
    with pytest.raises(EngineError):
        manager.regenerate(["web1"], ip_address="127.0.0.10", timeout=5)
    record = store.load("web1")
    assert record.ip_address == "127.0.0.9"
    assert record.sidecar["LastError"]["Step"] == "verify TLS"
    assert {name: (machine_dir / name).read_bytes() for name in before} == before
    # The same re-issue that works records the address and the certificate that covers it.
    done = MachineManager(store, ssh_runner=TranscriptRunner(_host_with_docker(True)), engine_probe=FakeEngine(), org_user="ops").regenerate(
        ["web1"], ip_address="127.0.0.10", timeout=5
    )
    assert done.changed and store.load("web1").ip_address == "127.0.0.10"
    assert (machine_dir / "server.pem").read_bytes() != before["server.pem"]


class KeyLearningRunner(TranscriptRunner):
    """A transcript whose first contact leaves a host key in the session's known-hosts file, as ssh's accept-new does."""

    def __call__(self, argv, stdin, timeout):
        for word in argv:
            if word.startswith("UserKnownHostsFile="):
                path = word.split("=", 1)[1]
                if not os.path.exists(path):
                    with open(path, "w", encoding="utf-8") as handle:
                        handle.write("dockyard-machine-web1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFirstContactKey\n")
        return super().__call__(argv, stdin, timeout)


def test_power_pins_the_host_keys_of_a_record_that_had_none(tmp_path):
    store = MachineStore(str(tmp_path / "store"))
    MachineManager(store, ssh_runner=TranscriptRunner(_host_with_docker(True)), engine_probe=FakeEngine(), org_user="ops").present(_spec(tmp_path))
    assert not store.load("web1").sidecar.get("HostKeys")  # as in a record the original tool wrote
    runner = KeyLearningRunner([Step(r"^true$"), Step(r"systemctl is-active --quiet docker\.service", rc=0)])
    outcome = MachineManager(store, ssh_runner=runner, engine_probe=FakeEngine(), org_user="ops").power("web1", "started")
    assert runner.finished() and outcome.changed and outcome.steps == ["pin host key"]
    assert (outcome.host_keys_pinned, outcome.powered) == (True, False)  # the engine was running already
    assert store.load("web1").sidecar["HostKeys"] == ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFirstContactKey"]
    # From now on ssh is told to accept that key only.
    strict = TranscriptRunner([Step(r"^true$"), Step(r"systemctl is-active --quiet docker\.service", rc=0)])
    again = MachineManager(store, ssh_runner=strict, engine_probe=FakeEngine(), org_user="ops").power("web1", "started")
    assert not again.changed and "StrictHostKeyChecking=yes" in strict.calls[0][0]
    stop = TranscriptRunner(
        [Step(r"^true$"), Step(r"systemctl is-active --quiet docker\.service", rc=0), Step(r"systemctl stop docker\.service docker\.socket")]
    )
    stopped = MachineManager(store, ssh_runner=stop, engine_probe=FakeEngine(), org_user="ops").power("web1", "stopped")
    assert stop.finished() and (stopped.steps, stopped.powered, stopped.host_keys_pinned) == (["stop engine"], True, False)
    assert store.load("web1").sidecar["Status"] == "stopped"  # the engine is stopped, the host runs on
    start = TranscriptRunner([Step(r"^true$"), Step(r"systemctl is-active --quiet docker\.service", rc=3), Step(r"systemctl start docker\.service$")])
    started = MachineManager(store, ssh_runner=start, engine_probe=FakeEngine(), org_user="ops").power("web1", "started")
    assert start.finished() and started.steps == ["start engine"] and store.load("web1").sidecar["Status"] == "running"


def test_a_failed_step_is_recorded_and_the_error_names_the_machine(tmp_path):
    store = MachineStore(str(tmp_path / "store"))
    steps = _host_with_docker(True)[:3] + [Step(r"command -v dockerd", rc=1), Step(r"apt_retry", rc=100, stderr="E: Unable to locate package docker.io")]
    manager = MachineManager(store, ssh_runner=TranscriptRunner(steps), engine_probe=FakeEngine(), org_user="ops")
    with pytest.raises(SSHError) as info:
        manager.present(_spec(tmp_path))
    assert info.value.machine == "web1" and info.value.details["rc"] == 100
    record = store.load("web1")
    assert record.sidecar["Status"] == "error"
    assert record.sidecar["LastError"]["Step"] == "install engine (distro)"


def test_check_mode_on_an_empty_store_writes_nothing(tmp_path):
    outcome = MachineManager(MachineStore(str(tmp_path / "store")), check_mode=True, ssh_runner=TranscriptRunner([])).present(_spec(tmp_path))
    assert outcome.changed and outcome.steps == ["record", "certificates", "provision"]
    assert outcome.diff["before"] == {} and outcome.diff["after"]["Driver"]["IPAddress"] == "127.0.0.9"
    assert not (tmp_path / "store").exists()


def test_a_tls_failure_after_provisioning_is_recorded(tmp_path):
    store = MachineStore(str(tmp_path / "store"))
    engine = FakeEngine('There was an error validating certificates for host "127.0.0.9:2376": IP address mismatch')
    manager = MachineManager(store, ssh_runner=TranscriptRunner(_host_with_docker(True)), engine_probe=engine, org_user="ops")
    with pytest.raises(EngineError) as info:
        manager.present(_spec(tmp_path))
    assert info.value.step == "verify TLS" and len(engine.calls) == 1  # a certificate error is not retried
    assert store.load("web1").sidecar["LastError"]["Step"] == "verify TLS"


def test_absent_removes_a_half_written_record(tmp_path):
    store = MachineStore(str(tmp_path / "store"))
    (tmp_path / "store" / "machines" / "half").mkdir(parents=True)
    (tmp_path / "store" / "machines" / "half" / "config.json").write_text('{"ConfigVersion": 3, "Dri')
    outcome = MachineManager(store).absent("half", cleanup=True)
    assert outcome.changed and not (tmp_path / "store" / "machines" / "half").exists()
    assert MachineManager(store).absent("half").changed is False


def test_a_failed_none_registration_leaves_no_record(tmp_path):
    store = MachineStore(str(tmp_path / "s"))
    engine = FakeEngine('There was an error validating certificates for host "127.0.0.1:2376": unknown authority')
    spec = MachineSpec(name="reg", driver="none", driver_options={"url": "tcp://127.0.0.1:2376"})
    with pytest.raises(EngineError):
        MachineManager(store, ssh_runner=TranscriptRunner([]), engine_probe=engine).present(spec)
    assert store.names() == [] and not (tmp_path / "s" / "machines" / "reg").exists()
    # A machine that was registered before keeps its record when a later converge fails.
    MachineManager(store, ssh_runner=TranscriptRunner([]), engine_probe=FakeEngine()).present(spec)
    with pytest.raises(EngineError):
        MachineManager(store, ssh_runner=TranscriptRunner([]), engine_probe=engine).present(spec)
    assert store.names() == ["reg"]


def test_none_driver_needs_no_ssh(tmp_path):
    engine = FakeEngine()
    spec = MachineSpec(name="reg", driver="none", driver_options={"url": "tcp://127.0.0.1:2376"})
    outcome = MachineManager(MachineStore(str(tmp_path / "s")), ssh_runner=TranscriptRunner([]), engine_probe=engine).present(spec)
    assert outcome.changed and outcome.docker_version == "26.1.5"
    assert outcome.env["DOCKER_CERT_PATH"] == str(tmp_path / "s" / "machines" / "reg")
    with pytest.raises(MachineError, match="cannot be stopped"):
        MachineManager(MachineStore(str(tmp_path / "s"))).power("reg", "stopped")


@pytest.mark.parametrize(
    "engine,option",
    [
        (EngineSpec(labels=("a=b\nExecStartPre=/bin/touch /tmp/pwned",)), "engine.labels"),
        (EngineSpec(install=EngineInstall(version="1.0; touch /x")), "engine.version"),
    ],
)
def test_bad_engine_values_are_refused_before_the_store_or_host_is_touched(tmp_path, engine, option):
    runner = TranscriptRunner([])
    with pytest.raises(MachineError) as info:
        MachineManager(MachineStore(str(tmp_path / "store")), ssh_runner=runner, engine_probe=FakeEngine(), org_user="ops").present(
            _spec(tmp_path, engine=engine)
        )
    assert info.value.details["option"] == option
    assert runner.calls == [] and not (tmp_path / "store").exists()


# --- rotate: all or nothing, in parallel, with a backup, leaving user-supplied certificates alone -------------


class RotationEngine:
    """The TLS check's stand-in: engines in ``reject`` refuse the rotation's new client certificate."""

    def __init__(self, reject: t.Iterable[str] = ()) -> None:
        self.reject = set(reject)
        self.calls: list[tuple[str, str]] = []

    def __call__(self, url, tls, timeout):
        staged = "%srotation%s" % (os.sep, os.sep) in tls.ca
        self.calls.append((url, "new" if staged else "old"))
        if staged and url in self.reject:
            raise EngineError('There was an error validating certificates for host "%s": bad certificate' % url)
        return {"Version": "26.1.5"}


def _two_machines(tmp_path) -> MachineStore:
    store = MachineStore(str(tmp_path / "store"))
    for name, ip in (("web1", "127.0.0.9"), ("web2", "127.0.0.10")):
        spec = _spec(tmp_path, name=name, driver_options=dict(_spec(tmp_path).driver_options, ip_address=ip))
        MachineManager(store, ssh_runner=TranscriptRunner(_host_with_docker(True)), engine_probe=FakeEngine(), org_user="ops").present(spec)
    return store


def _files(store: MachineStore) -> dict[str, bytes]:
    """Every certificate and key of the store, by path."""
    found = {}
    for folder, dummy, names in os.walk(store.root):
        for name in names:
            if name.endswith(".pem"):
                found[os.path.relpath(os.path.join(folder, name), store.root)] = open(os.path.join(folder, name), "rb").read()
    return found


def _rotation_host() -> TranscriptRunner:
    """A host that answers the pre-flight login and one provisioning with new files."""
    return TranscriptRunner([Step(r"^true$"), *_host_with_docker(True)])


def test_rotate_with_a_stopped_host_fails_at_once_and_changes_nothing(tmp_path):
    store = _two_machines(tmp_path)
    before = _files(store)
    runner = HostsRunner({"127.0.0.9": TranscriptRunner([Step(r"^true$")]), "127.0.0.10": None})
    started = time.monotonic()
    with pytest.raises(CertError) as info:
        MachineManager(store, ssh_runner=runner, engine_probe=RotationEngine(), org_user="ops").rotate(force=True, timeout=60)
    assert time.monotonic() - started < 10, "a refused connection must not be retried for the whole timeout"
    assert runner.refused == ["127.0.0.10"]
    assert info.value.details["failed_machines"] == ["web2"] and info.value.details["changed"] is False
    assert "Nothing was rotated" in info.value.msg and "allow_partial=true" in info.value.msg
    assert _files(store) == before
    assert sorted(os.listdir(store.certs_dir)) == ["ca-key.pem", "ca.pem", "cert.pem", "key.pem"]


def test_rotate_puts_back_the_hosts_that_switched_when_one_does_not_answer_with_its_new_certificate(tmp_path):
    store = _two_machines(tmp_path)
    before = _files(store)
    # web1 switches, answers, and is put back: a second provisioning with its old files.
    web1 = TranscriptRunner([Step(r"^true$"), *_host_with_docker(True), *_host_with_docker(True)])
    web2 = _rotation_host()
    web2.steps.extend(_host_with_docker(True))  # web2 had switched too (its files were written): it is put back as well
    engine = RotationEngine(reject={"tcp://127.0.0.10:2376"})
    manager = MachineManager(store, ssh_runner=HostsRunner({"127.0.0.9": web1, "127.0.0.10": web2}), engine_probe=engine, org_user="ops")
    with pytest.raises(CertError) as info:
        manager.rotate(force=True, timeout=5)
    assert info.value.details["failed_machines"] == ["web2"] and info.value.details["changed"] is True
    assert "put back" in info.value.msg
    assert web1.finished() and web2.finished()
    assert ("tcp://127.0.0.9:2376", "old") in engine.calls  # checked over TLS with the store's own client certificate after
    assert _files(store) == before
    # What web1 was put back on is its own old server certificate and the store's CA.
    put_back = [stdin for argv, stdin in web1.calls[-12:] if stdin]
    assert before["machines/web1/server.pem"] in put_back and before["certs/ca.pem"] in put_back


def test_rotate_switches_every_host_keeps_a_dated_backup_and_leaves_own_certificates_alone(tmp_path):
    store = _two_machines(tmp_path)
    own = {}
    for name in ("ca.pem", "cert.pem", "key.pem"):
        own[name] = ("engine's own %s\n" % name).encode()
        (tmp_path / ("own-" + name)).write_bytes(own[name])
    registered = MachineSpec(
        name="reg",
        driver="none",
        driver_options={
            "url": "tcp://127.0.0.1:2376",
            "ca_cert": str(tmp_path / "own-ca.pem"),
            "client_cert": str(tmp_path / "own-cert.pem"),
            "client_key": str(tmp_path / "own-key.pem"),
        },
    )
    MachineManager(store, ssh_runner=TranscriptRunner([]), engine_probe=FakeEngine()).present(registered)
    before = _files(store)
    now = datetime(2026, 12, 3, 10, 15, 0, tzinfo=timezone.utc)
    runner = HostsRunner({"127.0.0.9": _rotation_host(), "127.0.0.10": _rotation_host()})
    outcome = MachineManager(store, ssh_runner=runner, engine_probe=RotationEngine(), org_user="ops", now=now).rotate(force=True, timeout=5)
    assert outcome.changed and outcome.failed_machines == [] and outcome.skipped_machines == ["reg"]
    assert set(outcome.steps) == {"ca", "client", "web1: server certificate", "web2: server certificate"}
    assert any("reg" in w and "left as they are" in w for w in outcome.warnings)
    after = _files(store)
    assert after["certs/ca.pem"] != before["certs/ca.pem"]
    backup = os.path.join(store.certs_dir, "backup-20261203T101500Z")
    assert outcome.ca_backup == backup
    for name in ("ca.pem", "ca-key.pem", "cert.pem", "key.pem"):
        assert after[os.path.join("certs", "backup-20261203T101500Z", name)] == before[os.path.join("certs", name)]
    assert _mode(os.path.join(backup, "ca-key.pem")) == 0o600
    for name in ("web1", "web2"):
        assert after["machines/%s/ca.pem" % name] == after["certs/ca.pem"]
        _certs.verify_signed_by(after["machines/%s/server.pem" % name], after["certs/ca.pem"], now=now)
    for name, data in own.items():
        assert after["machines/reg/%s" % name] == data
    assert not os.path.exists(os.path.join(store.certs_dir, "rotation"))


def test_rotate_with_allow_partial_switches_the_others_and_the_failed_keep_working_files(tmp_path):
    store = _two_machines(tmp_path)
    before = _files(store)
    runner = HostsRunner({"127.0.0.9": _rotation_host(), "127.0.0.10": None})
    outcome = MachineManager(store, ssh_runner=runner, engine_probe=RotationEngine(), org_user="ops").rotate(force=True, timeout=5, allow_partial=True)
    assert outcome.changed and outcome.failed_machines == ["web2"]
    assert outcome.steps == ["ca", "client", "web1: server certificate"]
    assert any("web2 was not re-issued" in w and "action=regenerate" in w for w in outcome.warnings)
    after = _files(store)
    assert after["certs/ca.pem"] != before["certs/ca.pem"] and after["machines/web1/ca.pem"] == after["certs/ca.pem"]
    # web2's folder still holds the client files its engine trusts, so its env keeps working until regenerate.
    assert {k: v for k, v in after.items() if k.startswith("machines/web2/")} == {k: v for k, v in before.items() if k.startswith("machines/web2/")}
    assert MachineManager(store).certificate_report(["web2"])["machines"][0]["needs_reissue"] is True


def test_an_interrupted_rotation_is_not_overwritten(tmp_path):
    store = _two_machines(tmp_path)
    os.makedirs(os.path.join(store.certs_dir, "rotation"))
    with pytest.raises(CertError) as info:
        MachineManager(store, ssh_runner=HostsRunner({}), org_user="ops").rotate(force=True)
    assert "interrupted" in info.value.msg and "action=regenerate" in info.value.msg


def test_a_store_copied_next_to_the_original_reissues_into_its_own_files(tmp_path):
    store_a = MachineStore(str(tmp_path / "store-a"))
    MachineManager(store_a, ssh_runner=TranscriptRunner(_host_with_docker(True)), engine_probe=FakeEngine(), org_user="ops").present(_spec(tmp_path))
    shutil.copytree(tmp_path / "store-a", tmp_path / "store-b", symlinks=True)
    a_files = _files(store_a)
    store_b = MachineStore(str(tmp_path / "store-b"))
    done = MachineManager(store_b, ssh_runner=TranscriptRunner(_host_with_docker(True)), engine_probe=FakeEngine(), org_user="ops").regenerate(
        ["web1"], force=True, timeout=5
    )
    assert done.changed
    assert _files(store_a) == a_files  # the original store is never written for the copy
    assert _files(store_b)["machines/web1/server.pem"] != a_files["machines/web1/server.pem"]
    saved = json.loads((tmp_path / "store-b" / "machines" / "web1" / "config.json").read_text())
    assert saved["HostOptions"]["AuthOptions"]["ServerCertPath"] == str(tmp_path / "store-b" / "machines" / "web1" / "server.pem")


def test_a_recorded_ssh_config_is_never_used_unless_the_task_passes_it(tmp_path):
    """A shared store's sidecar naming an ssh config (whose ProxyCommand would run here) does not reach ssh -F."""
    store = MachineStore(str(tmp_path / "store"))
    MachineManager(store, ssh_runner=TranscriptRunner(_host_with_docker(True)), engine_probe=FakeEngine(), org_user="ops").present(_spec(tmp_path))
    hostile = tmp_path / "hostile_config"
    hostile.write_text("Host *\n  ProxyCommand touch %s\n" % (tmp_path / "ran"))
    sidecar_path = tmp_path / "store" / "machines" / "web1" / "dockyard-machine.json"
    sidecar = json.loads(sidecar_path.read_text())
    sidecar["SSHConfig"] = str(hostile)
    sidecar_path.write_text(json.dumps(sidecar))
    runner = TranscriptRunner([Step(r"^true$"), Step(r"systemctl is-active --quiet docker\.service", rc=0)])
    outcome = MachineManager(store, ssh_runner=runner, engine_probe=FakeEngine(), org_user="ops").power("web1", "started")
    assert all("-F" not in argv and str(hostile) not in argv for argv, dummy in runner.calls)
    assert any(str(hostile) in w and "did not pass" in w for w in outcome.warnings)
    # Passed by the task, the same file is used.
    runner = TranscriptRunner([Step(r"^true$"), Step(r"systemctl is-active --quiet docker\.service", rc=0)])
    passed = MachineManager(store, ssh_runner=runner, engine_probe=FakeEngine(), org_user="ops", ssh_config=str(hostile)).power("web1", "started")
    assert runner.calls[0][0][runner.calls[0][0].index("-F") + 1] == str(hostile)
    assert not passed.warnings


def test_a_record_naming_controller_files_never_makes_provision_read_them(tmp_path):
    """Issue 15, item 1: a shared store's generic record whose SSHKey is the operator's private key; provision (the
    record's options applied again) uses the machine folder's copy and never copies the operator's key in (an export
    would carry it). Same class as the SSHConfig finding: files outside the store are read only when the task passes them."""
    store = MachineStore(str(tmp_path / "store"))
    MachineManager(store, ssh_runner=TranscriptRunner(_host_with_docker(True)), engine_probe=FakeEngine(), org_user="ops").present(_spec(tmp_path))
    operator = tmp_path / "home" / ".ssh"
    operator.mkdir(parents=True)
    (operator / "id_operator").write_text("-----BEGIN OPENSSH PRIVATE KEY----- the operator's own\n")
    (operator / "id_operator.pub").write_text("ssh-ed25519 AAAAoperator operator@laptop\n")
    record_path = tmp_path / "store" / "machines" / "web1" / "config.json"
    doc = json.loads(record_path.read_text())
    doc["Driver"]["SSHKey"] = str(operator / "id_operator")
    record_path.write_text(json.dumps(doc, indent=4))
    machine_dir = tmp_path / "store" / "machines" / "web1"

    manager = MachineManager(store, ssh_runner=TranscriptRunner(_host_with_docker(False)), engine_probe=FakeEngine(), org_user="ops")
    spec = manager.recorded_spec("web1")
    assert spec.driver_options["ssh_key"] == str(machine_dir / "id_ed25519")  # the copy the create made
    manager.present(spec)
    for path in machine_dir.iterdir():
        assert b"operator" not in path.read_bytes(), "%s holds the operator's key" % path

    # With the record's own copy gone as well (its SSHKeyPath names the operator's key), the record names no key at all.
    doc = json.loads(record_path.read_text())
    doc["Driver"].update(SSHKey=str(operator / "id_operator"), SSHKeyPath=str(operator / "id_operator"))
    record_path.write_text(json.dumps(doc, indent=4))
    assert manager.recorded_spec("web1").driver_options["ssh_key"] is None


def test_options_from_a_record_name_only_files_of_the_machine_folder(fixture_store):
    """Every driver: a file option given back from a record (amazonec2's UserDataFile and SSHPrivateKeyPath, generic's
    SSHKey, none's client files) names a file of the machine's folder or nothing (issue 15, item 1)."""
    from ansible_collections.dockyard.machine.plugins.module_utils._drivers import get_driver

    outside = fixture_store.parent / "operator-file"
    outside.write_text("the operator's\n")
    for name, fields in (("aws-sandbox", {"UserDataFile": str(outside), "SSHPrivateKeyPath": str(outside)}), ("m2", {"SSHKey": str(outside)})):
        path = fixture_store / "machines" / name / "config.json"
        doc = json.loads(path.read_text())
        doc["Driver"].update(fields)
        path.write_text(json.dumps(doc, indent=4))
    store = MachineStore(str(fixture_store))
    for name in ("aws-sandbox", "m1", "m2"):
        spec = MachineManager(store).recorded_spec(name)
        driver = get_driver(spec.driver)
        machine_dir = os.path.realpath(store.machine_dir(name))
        named = [spec.driver_options[o.name] for o in driver.OPTIONS if o.type == "path" and spec.driver_options.get(o.name)]
        read = [source for source, dummy in driver.local_files(name, store.root, spec.driver_options).values()]
        assert named and all(os.path.realpath(p).startswith(machine_dir + os.sep) for p in named + read), (name, named, read)
    assert MachineManager(store).recorded_spec("aws-sandbox").driver_options["user_data"] is None
