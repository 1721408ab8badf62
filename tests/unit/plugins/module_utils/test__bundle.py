"""Bundles: moving machines from one store to another, safely, and idempotently."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import tarfile
import typing as t
from datetime import datetime, timezone
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.dockyard.machine.plugins.module_utils import _bundle, _machine
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2 import AmazonEC2Driver
from ansible_collections.dockyard.machine.plugins.module_utils._endpoint import endpoint_for
from ansible_collections.dockyard.machine.plugins.module_utils._errors import InvalidNameError, StoreError
from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineStore
from ansible_collections.dockyard.machine.tests.conftest import FIXTURE_MACHINES, FIXTURE_ROOT

DRIVER_PATHS = ("StorePath", "SSHKeyPath")
AUTH_PATHS = ("CertDir", "CaCertPath", "CaPrivateKeyPath", "ServerCertPath", "ServerKeyPath", "ClientKeyPath", "ClientCertPath", "StorePath")
OPENSSL = shutil.which("openssl")


def _terminating(instance_id: str) -> dict:
    """EC2's answer to terminate_instances for an instance it knows (it names the instance, as it does again later)."""
    return {"InstanceId": instance_id, "CurrentState": {"Code": 32, "Name": "shutting-down"}, "PreviousState": {"Code": 16, "Name": "running"}}


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _config(root: Path, name: str) -> dict[str, t.Any]:
    return json.loads((root / "machines" / name / "config.json").read_text())


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (locks aside) with its bytes: 'nothing written' means this is unchanged."""
    if not root.exists():
        return {}
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            rel = str(path.relative_to(root))
            if not rel.startswith(".locks/"):
                out[rel] = path.read_bytes()
    return out


def _members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data)), mode="r:") as tar:
        return tar.getmembers()


@pytest.fixture
def store_a(fixture_store: Path) -> MachineStore:
    return MachineStore(str(fixture_store))


@pytest.fixture
def root_b(tmp_path: Path) -> Path:
    return tmp_path / "other-computer" / "dm-store"


# --- export -----------------------------------------------------------------------------------------------


def test_export_layout_order_and_manifest(store_a: MachineStore, fixture_store: Path) -> None:
    # Junk that must stay home: the original's backup (old paths, credentials) and a temp file.
    (fixture_store / "machines" / "m1" / "config.json.bak").write_text('{"AccessKey": "leak"}')
    (fixture_store / "machines" / "m1" / ".config.json.x.tmp").write_text("half")
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    data = _bundle.export_bundle(store_a, None, now=when)
    names = [m.name for m in _members(data)]
    m1_files = sorted(os.listdir(fixture_store / "machines" / "m1"))
    assert names[0] == "dockyard-bundle.json"
    assert names[1:4] == ["certs/ca.pem", "certs/cert.pem", "certs/key.pem"]
    # natural machine order, files sorted inside each
    machine_names = [n.split("/")[1] for n in names[4:]]
    assert machine_names == sorted(machine_names, key=FIXTURE_MACHINES.index)  # grouped, in the store's order
    assert list(dict.fromkeys(machine_names)) == list(FIXTURE_MACHINES)
    assert [n for n in names if n.startswith("machines/m1/")] == ["machines/m1/%s" % f for f in m1_files if f in (
        "ca.pem", "cert.pem", "config.json", "id_rsa", "id_rsa.pub", "key.pem", "server-key.pem", "server.pem")]
    assert not any(n.endswith((".bak", ".tmp")) or "ca-key" in n for n in names)
    bundle = _bundle.read_bundle(data)
    manifest = bundle.manifest
    assert manifest["FormatVersion"] == 1
    assert manifest["Machines"] == list(FIXTURE_MACHINES)
    assert manifest["SourceStore"] == str(fixture_store)
    assert manifest["Created"] == "2030-01-02T03:04:05Z"
    assert manifest["IncludesCaKey"] is False
    assert [f["Path"] for f in manifest["Files"]] == names[1:]
    # exported healed: the original's paths are gone, this store's are in; credentials never travel
    aws = json.loads(bundle.members["machines/aws-sandbox/config.json"].data)
    assert aws["Driver"]["SSHKeyPath"] == "%s/machines/aws-sandbox/id_rsa" % fixture_store
    assert aws["HostOptions"]["AuthOptions"]["CaCertPath"] == "%s/certs/ca.pem" % fixture_store
    assert aws["Driver"]["AccessKey"] == "" and aws["Driver"]["SecretKey"] == ""
    assert b"%s/" % FIXTURE_ROOT.encode() not in bundle.members["machines/m1/config.json"].data
    # deterministic apart from the creation time
    assert _bundle.export_bundle(store_a, None, now=when) == data


def test_export_modes_are_kept_but_keys_never_widened(store_a: MachineStore, fixture_store: Path) -> None:
    os.chmod(fixture_store / "certs" / "ca.pem", 0o644)
    os.chmod(fixture_store / "certs" / "key.pem", 0o644)  # a careless chmod on the source
    os.chmod(fixture_store / "machines" / "m1" / "server.pem", 0o644)
    os.chmod(fixture_store / "machines" / "m1" / "id_rsa", 0o755)
    modes = {m.name: stat.S_IMODE(m.mode) for m in _members(_bundle.export_bundle(store_a, ["m1"]))}
    assert modes["certs/ca.pem"] == 0o644
    assert modes["certs/key.pem"] == 0o600
    assert modes["machines/m1/server.pem"] == 0o644
    assert modes["machines/m1/id_rsa"] == 0o600
    assert modes["machines/m1/server-key.pem"] == 0o600
    assert modes["machines/m1/config.json"] == 0o600


def test_export_with_ca_key(store_a: MachineStore, fixture_store: Path) -> None:
    bundle = _bundle.read_bundle(_bundle.export_bundle(store_a, ["m2"], include_ca_key=True))
    assert bundle.members["certs/ca-key.pem"].data == (fixture_store / "certs" / "ca-key.pem").read_bytes()
    assert bundle.members["certs/ca-key.pem"].mode == 0o600
    assert bundle.manifest["IncludesCaKey"] is True
    assert bundle.machines == ["m2"]
    assert not any(p.startswith("machines/m1/") for p in bundle.members)


def test_export_errors(store_a: MachineStore, fixture_store: Path, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match='"nope" does not exist'):
        _bundle.export_bundle(store_a, ["nope"])
    with pytest.raises(InvalidNameError):
        _bundle.export_bundle(store_a, ["../m1"])
    with pytest.raises(StoreError, match="no machines to export"):
        _bundle.export_bundle(MachineStore(str(tmp_path / "empty")), None)
    with pytest.raises(StoreError, match="passphrase is empty"):
        _bundle.export_bundle(store_a, None, passphrase="")
    (fixture_store / "certs" / "cert.pem").unlink()
    with pytest.raises(StoreError, match="cert.pem is missing"):
        _bundle.export_bundle(store_a, ["m1"])


# --- round trips ------------------------------------------------------------------------------------------


def test_round_trip_into_an_empty_store_elsewhere(store_a: MachineStore, fixture_store: Path, root_b: Path) -> None:
    data = _bundle.export_bundle(store_a, None)
    store_b = MachineStore(str(root_b))
    report = _bundle.import_bundle(store_b, data)
    assert report.imported == list(FIXTURE_MACHINES)
    assert report.unchanged == [] and report.changed is True
    assert report.ca_installed is True and report.repointed == []
    assert report.source_store == str(fixture_store)
    assert any("without the CA key" in w for w in report.warnings)
    # certificates: the bundle's, no CA key (not exported), modes kept
    for name in ("ca.pem", "cert.pem", "key.pem"):
        assert (root_b / "certs" / name).read_bytes() == (fixture_store / "certs" / name).read_bytes()
    assert not (root_b / "certs" / "ca-key.pem").exists()
    assert _mode(root_b / "certs" / "key.pem") == 0o600
    assert _mode(root_b) == 0o700 and _mode(root_b / "machines") == 0o700 and _mode(root_b / "certs") == 0o700
    for name in FIXTURE_MACHINES:
        folder_a, folder_b = fixture_store / "machines" / name, root_b / "machines" / name
        assert sorted(os.listdir(folder_b)) == sorted(os.listdir(folder_a))
        for filename in os.listdir(folder_a):
            if filename != "config.json":
                assert (folder_b / filename).read_bytes() == (folder_a / filename).read_bytes(), filename
                assert _mode(folder_b / filename) == 0o600
        assert _mode(folder_b) == 0o700 and _mode(folder_b / "config.json") == 0o600
        doc = _config(root_b, name)
        for key in DRIVER_PATHS:
            assert doc["Driver"][key] == str(root_b) or doc["Driver"][key].startswith(str(root_b) + "/"), (name, key)
        for key in AUTH_PATHS:
            assert doc["HostOptions"]["AuthOptions"][key].startswith(str(root_b) + "/"), (name, key)
        assert doc["HostOptions"]["AuthOptions"]["ClientCertPath"] == "%s/certs/cert.pem" % root_b
        assert doc["HostOptions"]["AuthOptions"]["ServerKeyPath"] == "%s/machines/%s/server-key.pem" % (root_b, name)
        text = (folder_b / "config.json").read_text()
        assert str(fixture_store) not in text and FIXTURE_ROOT not in text
        record = store_b.load(name)
        assert record.healed == () and record.migrated_from is None
    # the user's own key outside the store is left as it was recorded
    assert _config(root_b, "m1")["Driver"]["SSHKey"] == "/home/operator/.ssh/id_rsa"
    assert _config(root_b, "aws-sandbox")["Driver"]["AccessKey"] == ""
    # the connection the CLI and community.docker get: all under B
    endpoint = endpoint_for(store_b, store_b.load("m1"))
    assert endpoint.url == "tcp://127.0.0.11:2376"
    assert endpoint.cert_path == "%s/machines/m1" % root_b
    for path in (endpoint.tls.ca, endpoint.tls.cert, endpoint.tls.key):
        assert path.startswith(str(root_b) + "/machines/m1/") and os.path.isfile(path)
    assert store_b.names() == list(FIXTURE_MACHINES)  # no staging folder left visible
    assert [e for e in os.listdir(root_b / "machines") if e.startswith(".")] == []


def test_reimport_is_unchanged(store_a: MachineStore, root_b: Path) -> None:
    data = _bundle.export_bundle(store_a, None)
    store_b = MachineStore(str(root_b))
    _bundle.import_bundle(store_b, data)
    before = _tree(root_b)
    again = _bundle.import_bundle(store_b, _bundle.export_bundle(store_a, None))
    assert again.changed is False and again.imported == [] and again.unchanged == list(FIXTURE_MACHINES)
    assert again.ca_installed is False and again.warnings == []
    assert _tree(root_b) == before


def test_encrypted_round_trip(store_a: MachineStore, fixture_store: Path, root_b: Path) -> None:
    data = _bundle.export_bundle(store_a, ["m1"], passphrase="correct horse")
    assert data.startswith(b"DYMBUNDLE1") and _bundle.is_encrypted(data)
    assert b"PRIVATE KEY" not in data and b"\x1f\x8b" != data[:2]
    salt_and_nonce = data[10:38]
    assert _bundle.export_bundle(store_a, ["m1"], passphrase="correct horse")[10:38] != salt_and_nonce  # fresh salt/nonce
    store_b = MachineStore(str(root_b))
    report = _bundle.import_bundle(store_b, data, passphrase="correct horse")
    assert report.imported == ["m1"] and report.encrypted is True
    assert (root_b / "machines" / "m1" / "id_rsa").read_bytes() == (fixture_store / "machines" / "m1" / "id_rsa").read_bytes()
    assert store_b.load("m1").auth_options["CaCertPath"] == "%s/certs/ca.pem" % root_b


@pytest.mark.parametrize(
    "passphrase, words",
    [(None, "bundle is encrypted. Set option 'passphrase'"), ("wrong", "passphrase is wrong or the file is damaged"), ("", "passphrase is empty")],
)
def test_encrypted_bundle_needs_the_right_passphrase(store_a: MachineStore, root_b: Path, passphrase: str | None, words: str) -> None:
    data = _bundle.export_bundle(store_a, None, passphrase="s3cret")
    with pytest.raises(StoreError, match=words) as raised:
        _bundle.import_bundle(MachineStore(str(root_b)), data, passphrase=passphrase)
    assert raised.value.details.get("option") == "passphrase"
    assert not root_b.exists()


def test_tampered_encrypted_bundle_is_refused(store_a: MachineStore, root_b: Path) -> None:
    data = bytearray(_bundle.export_bundle(store_a, ["m1"], passphrase="s3cret"))
    data[-40] ^= 0x01
    with pytest.raises(StoreError, match="wrong or the file is damaged"):
        _bundle.import_bundle(MachineStore(str(root_b)), bytes(data), passphrase="s3cret")
    with pytest.raises(StoreError, match="truncated"):
        _bundle.import_bundle(MachineStore(str(root_b)), bytes(data[:30]), passphrase="s3cret")
    assert not root_b.exists()


def test_plain_bundle_with_a_passphrase_imports_with_a_warning(store_a: MachineStore, root_b: Path) -> None:
    report = _bundle.import_bundle(MachineStore(str(root_b)), _bundle.export_bundle(store_a, ["m1"]), passphrase="unused")
    assert report.imported == ["m1"]
    assert any("not encrypted" in w for w in report.warnings)


# --- conflicts and certificate authorities ----------------------------------------------------------------


def test_a_different_machine_of_the_same_name_is_refused(store_a: MachineStore, fixture_store: Path, root_b: Path) -> None:
    store_b = MachineStore(str(root_b))
    _bundle.import_bundle(store_b, _bundle.export_bundle(store_a, ["m1"]))
    before = _tree(root_b)
    doc = _config(fixture_store, "m1")
    doc["Driver"]["IPAddress"] = "192.0.2.99"
    (fixture_store / "machines" / "m1" / "config.json").write_text(json.dumps(doc, indent=4))
    with pytest.raises(StoreError, match='Machine "m1" already exists .* Remove it first') as raised:
        _bundle.import_bundle(store_b, _bundle.export_bundle(store_a, None))
    assert raised.value.machine == "m1"
    assert _tree(root_b) == before  # neither m1 touched nor m2/aws-sandbox added
    # a changed key file is a different machine too
    (fixture_store / "machines" / "m1" / "config.json").write_text(json.dumps(_config(root_b, "m1"), indent=4))
    (root_b / "machines" / "m1" / "id_rsa").write_bytes(b"another key")
    with pytest.raises(StoreError, match='"m1" already exists'):
        _bundle.import_bundle(store_b, _bundle.export_bundle(store_a, ["m1"]))


def test_check_mode_writes_nothing(store_a: MachineStore, root_b: Path) -> None:
    report = _bundle.import_bundle(MachineStore(str(root_b)), _bundle.export_bundle(store_a, None), check_mode=True)
    assert report.changed is True and report.imported == list(FIXTURE_MACHINES) and report.ca_installed is True
    assert not root_b.exists()


def test_import_only_some_names(store_a: MachineStore, root_b: Path) -> None:
    data = _bundle.export_bundle(store_a, None)
    store_b = MachineStore(str(root_b))
    assert _bundle.import_bundle(store_b, data, names=["m2"]).imported == ["m2"]
    assert store_b.names() == ["m2"]
    with pytest.raises(StoreError, match="does not hold web9"):
        _bundle.import_bundle(store_b, data, names=["web9"])


def test_destination_with_another_ca_keeps_it_and_repoints_the_machine(store_a: MachineStore, fixture_store: Path, root_b: Path) -> None:
    store_b = MachineStore(str(root_b))
    _machine.ensure_certificates(store_b, org_user="bob")
    certs_before = _tree(root_b / "certs")
    data = _bundle.export_bundle(store_a, ["m1", "m2"], include_ca_key=True)
    report = _bundle.import_bundle(store_b, data)
    assert report.imported == ["m1", "m2"] and report.repointed == ["m1", "m2"] and report.ca_installed is False
    assert sum("different CA" in w for w in report.warnings) == 2
    assert _tree(root_b / "certs") == certs_before
    folder = root_b / "machines" / "m1"
    auth = _config(root_b, "m1")["HostOptions"]["AuthOptions"]
    assert auth["CaCertPath"] == str(folder / "ca.pem")
    assert auth["ClientCertPath"] == str(folder / "cert.pem")
    assert auth["ClientKeyPath"] == str(folder / "key.pem")
    assert auth["CaPrivateKeyPath"] == str(folder / "ca-key.pem")
    assert auth["CertDir"] == str(root_b / "certs")
    assert (folder / "ca.pem").read_bytes() == (fixture_store / "certs" / "ca.pem").read_bytes()
    assert (folder / "ca-key.pem").read_bytes() == (fixture_store / "certs" / "ca-key.pem").read_bytes()
    assert _mode(folder / "ca-key.pem") == 0o600
    endpoint = endpoint_for(store_b, store_b.load("m1"))
    assert endpoint.tls.ca == str(folder / "ca.pem") and endpoint.tls.key == str(folder / "key.pem")
    if OPENSSL:  # an independent check: the machine's server certificate chains to the CA it points at
        verify = subprocess.run(
            ["openssl", "verify", "-CAfile", auth["CaCertPath"], auth["ServerCertPath"]], capture_output=True, text=True, check=False
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
        stranger = subprocess.run(
            ["openssl", "verify", "-CAfile", str(root_b / "certs" / "ca.pem"), auth["ServerCertPath"]], capture_output=True, text=True, check=False
        )
        assert stranger.returncode != 0
    again = _bundle.import_bundle(store_b, data)
    assert again.changed is False and again.unchanged == ["m1", "m2"]


def test_another_ca_without_the_ca_key_never_points_at_ours(store_a: MachineStore, root_b: Path) -> None:
    store_b = MachineStore(str(root_b))
    _machine.ensure_certificates(store_b, org_user="bob")
    report = _bundle.import_bundle(store_b, _bundle.export_bundle(store_a, ["m1"]))
    auth = _config(root_b, "m1")["HostOptions"]["AuthOptions"]
    assert auth["CaPrivateKeyPath"] == str(root_b / "machines" / "m1" / "ca-key.pem")
    assert not (root_b / "machines" / "m1" / "ca-key.pem").exists()
    assert any("cannot be re-issued" in w for w in report.warnings)


def test_another_ca_leaves_a_record_that_already_uses_its_own_folder(store_a: MachineStore, fixture_store: Path, root_b: Path) -> None:
    # A none machine of ours: the engine's own client files, copied into the machine folder.
    folder_a = fixture_store / "machines" / "m1"
    engine_ca = (folder_a / "server.pem").read_bytes()  # any PEM that is not the store's CA
    (folder_a / "ca.pem").write_bytes(engine_ca)
    doc = _config(fixture_store, "m1")
    for key, filename in (("CaCertPath", "ca.pem"), ("ClientCertPath", "cert.pem"), ("ClientKeyPath", "key.pem")):
        doc["HostOptions"]["AuthOptions"][key] = str(folder_a / filename)
    doc["HostOptions"]["AuthOptions"]["ClientCertPath"] = "/srv/engine-certs/cert.pem"  # --tls-client-cert outside the store
    (folder_a / "config.json").write_text(json.dumps(doc, indent=4))
    store_b = MachineStore(str(root_b))
    _machine.ensure_certificates(store_b, org_user="bob")
    _bundle.import_bundle(store_b, _bundle.export_bundle(store_a, ["m1"]))
    folder_b = root_b / "machines" / "m1"
    auth = _config(root_b, "m1")["HostOptions"]["AuthOptions"]
    assert auth["CaCertPath"] == str(folder_b / "ca.pem")
    assert (folder_b / "ca.pem").read_bytes() == engine_ca  # its own file, not replaced by the store's CA
    assert auth["ClientCertPath"] == "/srv/engine-certs/cert.pem"  # not ours to move
    assert auth["CaPrivateKeyPath"] == str(folder_b / "ca-key.pem")


def test_export_warns_about_files_outside_the_store(store_a: MachineStore, fixture_store: Path, tmp_path: Path) -> None:
    doc = _config(fixture_store, "m2")
    doc["HostOptions"]["AuthOptions"]["ClientCertPath"] = "/srv/engine-certs/cert.pem"
    (fixture_store / "machines" / "m2" / "config.json").write_text(json.dumps(doc, indent=4))
    report = _bundle.export_to_file(store_a, str(tmp_path / "b.dymbundle"), passphrase="p")
    assert report.warnings == [
        "Machine m2: its record names files outside the store, which the bundle does not carry: AuthOptions.ClientCertPath=/srv/engine-certs/cert.pem."
    ]


def test_destination_with_the_same_ca(store_a: MachineStore, fixture_store: Path, root_b: Path) -> None:
    shutil.copytree(fixture_store / "certs", root_b / "certs")
    report = _bundle.import_bundle(MachineStore(str(root_b)), _bundle.export_bundle(store_a, ["m1"]))
    assert report.imported == ["m1"] and report.repointed == [] and report.ca_installed is False
    assert report.warnings == []
    assert _config(root_b, "m1")["HostOptions"]["AuthOptions"]["CaCertPath"] == str(root_b / "certs" / "ca.pem")


def test_import_with_the_ca_key_installs_it(store_a: MachineStore, fixture_store: Path, root_b: Path) -> None:
    report = _bundle.import_bundle(MachineStore(str(root_b)), _bundle.export_bundle(store_a, ["m1"], include_ca_key=True))
    assert report.ca_installed is True and report.warnings == []
    assert (root_b / "certs" / "ca-key.pem").read_bytes() == (fixture_store / "certs" / "ca-key.pem").read_bytes()
    assert _mode(root_b / "certs" / "ca-key.pem") == 0o600
    # and the destination can now bootstrap from it without making a new CA
    assert _machine.ensure_certificates(MachineStore(str(root_b))).created == ()


# --- hostile bundles: crafted by hand, each refused with nothing written -------------------------------------


def _file(name: str, data: bytes = b"x", mode: int = 0o600) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    return info, data


def _special(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info, b""


def _craft(entries: list[tuple[tarfile.TarInfo, bytes]], machines: list[str], *, listed: list[str] | None = None, manifest_last: bool = False) -> bytes:
    """A gzip'd tar built without our code; the manifest lists every entry (or ``listed``) with true digests."""
    digests = {info.name: hashlib.sha256(data).hexdigest() for info, data in entries}
    manifest = {
        "Format": "dockyard.machine bundle",
        "FormatVersion": 1,
        "Created": "2030-01-01T00:00:00Z",
        "SourceStore": "/home/eve/.docker/machine",
        "Machines": machines,
        "IncludesCaKey": False,
        "Files": [{"Path": p, "Mode": "0600", "Size": 1, "SHA256": digests.get(p, "0" * 64)} for p in (listed if listed is not None else digests)],
    }
    head = _file("dockyard-bundle.json", json.dumps(manifest).encode())
    ordered = [*entries, head] if manifest_last else [head, *entries]
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info, data in ordered:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return gzip.compress(raw.getvalue())


def _good(store_a: MachineStore) -> list[tuple[tarfile.TarInfo, bytes]]:
    bundle = _bundle.read_bundle(_bundle.export_bundle(store_a, ["m1"]))
    return [_file(p, m.data, m.mode) for p, m in bundle.members.items()]


def test_a_crafted_good_bundle_imports(store_a: MachineStore, root_b: Path) -> None:
    # The control for the hostile cases below: the crafting helper itself makes importable bundles.
    report = _bundle.import_bundle(MachineStore(str(root_b)), _craft(_good(store_a), ["m1"]))
    assert report.imported == ["m1"]


HOSTILE = {
    "dotdot": (lambda good: [*good, _file("../evil")], ["m1"], r"'\.\./evil' has an unsafe path"),
    "dotdot-inside": (lambda good: [*good, _file("machines/m1/../../../evil")], ["m1"], "unsafe path"),
    "absolute": (lambda good: [*good, _file("/tmp/evil")], ["m1"], "'/tmp/evil' has an absolute"),
    "symlink": (
        lambda good: [e for e in good if e[0].name != "machines/m1/id_rsa"] + [_special("machines/m1/id_rsa", tarfile.SYMTYPE, "/etc/shadow")],
        ["m1"],
        "'machines/m1/id_rsa' is a symlink",
    ),
    "hardlink": (lambda good: [*good, _special("machines/m1/hl", tarfile.LNKTYPE, "/etc/passwd")], ["m1"], "is a hard link"),
    "device": (lambda good: [*good, _special("machines/m1/dev", tarfile.CHRTYPE)], ["m1"], "device or special file"),
    "directory": (lambda good: [*good, _special("machines/m1/sub", tarfile.DIRTYPE)], ["m1"], "is a directory"),
    "outside-known-places": (lambda good: [*good, _file("certs/../../x")], ["m1"], "unsafe path"),
    "unknown-cert": (lambda good: [*good, _file("certs/evil.pem")], ["m1"], "not a store certificate or a file of a machine folder"),
    "top-level-file": (lambda good: [*good, _file("evil.sh")], ["m1"], "not a store certificate"),
    "nested-in-machine": (lambda good: [*good, _file("machines/m1/sub/x")], ["m1"], "not a store certificate"),
    "unlisted-machine": (lambda good: [*good, _file("machines/evil/config.json", b"{}")], ["m1"], "machine 'evil', which the manifest does not list"),
    "bad-name-member": (lambda good: [*good, _file("machines/bad_name/config.json", b"{}")], ["m1"], "'bad_name', which is not a valid machine name"),
    "bad-name-manifest": (lambda good: good, ["m1", "bad_name"], "lists 'bad_name', which is not a valid machine name"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_bundles_are_refused_and_nothing_is_written(case: str, store_a: MachineStore, root_b: Path) -> None:
    build, machines, words = HOSTILE[case]
    with pytest.raises(StoreError, match=words) as raised:
        _bundle.import_bundle(MachineStore(str(root_b)), _craft(build(_good(store_a)), machines))
    assert "Nothing was imported" in raised.value.msg
    assert not root_b.exists()


def test_bad_names_are_typed(store_a: MachineStore, root_b: Path) -> None:
    with pytest.raises(InvalidNameError):
        _bundle.import_bundle(MachineStore(str(root_b)), _craft([*_good(store_a), _file("machines/bad_name/x")], ["m1"]))


def test_hostile_bundle_refused_even_into_a_populated_store(store_a: MachineStore, root_b: Path) -> None:
    store_b = MachineStore(str(root_b))
    _machine.ensure_certificates(store_b, org_user="bob")
    before = _tree(root_b)
    with pytest.raises(StoreError, match="is a symlink"):
        _bundle.import_bundle(store_b, _craft([*_good(store_a), _special("machines/m1/zz", tarfile.SYMTYPE, "../../certs/ca-key.pem")], ["m1"]))
    assert _tree(root_b) == before
    assert not (root_b / "machines").exists() or os.listdir(root_b / "machines") == []


def test_members_the_manifest_does_not_list_are_refused(store_a: MachineStore, root_b: Path) -> None:
    good = _good(store_a)
    listed = [info.name for info, dummy in good]
    with pytest.raises(StoreError, match="'machines/m1/extra' is not listed in the manifest"):
        _bundle.import_bundle(MachineStore(str(root_b)), _craft([*good, _file("machines/m1/extra")], ["m1"], listed=listed))
    with pytest.raises(StoreError, match="manifest lists machines/m1/ghost, which the archive does not hold"):
        _bundle.import_bundle(MachineStore(str(root_b)), _craft(good, ["m1"], listed=[*listed, "machines/m1/ghost"]))
    assert not root_b.exists()


def test_edited_member_and_misplaced_manifest_are_refused(store_a: MachineStore, root_b: Path) -> None:
    good = _good(store_a)
    data = _craft(good, ["m1"])
    # swap the bytes of id_rsa after the manifest's digests were computed
    raw = gzip.decompress(data)
    original = dict((i.name, d) for i, d in good)["machines/m1/id_rsa"]
    forged = gzip.compress(raw.replace(original, original.replace(b"A", b"B", 1)))
    with pytest.raises(StoreError, match="does not match its SHA-256"):
        _bundle.import_bundle(MachineStore(str(root_b)), forged)
    with pytest.raises(StoreError, match="manifest is not the first member|does not start with the manifest"):
        _bundle.import_bundle(MachineStore(str(root_b)), _craft(good, ["m1"], manifest_last=True))
    assert not root_b.exists()


def test_not_a_bundle_and_bombs(root_b: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store_b = MachineStore(str(root_b))
    with pytest.raises(StoreError, match="neither a dockyard.machine bundle"):
        _bundle.import_bundle(store_b, b"PK\x03\x04 a zip file")
    with pytest.raises(StoreError, match="not a valid tar archive|no manifest"):
        _bundle.import_bundle(store_b, gzip.compress(b"just text, not a tar" * 40))
    many = [_file("machines/m1/f%05d" % i) for i in range(_bundle.MAX_MEMBERS + 1)]
    with pytest.raises(StoreError, match="more than %d members" % _bundle.MAX_MEMBERS):
        _bundle.import_bundle(store_b, _craft(many, ["m1"]))
    monkeypatch.setattr(_bundle, "MAX_BUNDLE_BYTES", 1024 * 1024)
    with pytest.raises(StoreError, match="unpacks to more than 1 MiB"):
        _bundle.import_bundle(store_b, gzip.compress(b"\0" * (2 * 1024 * 1024)))
    assert not root_b.exists()


def test_future_format_is_refused(store_a: MachineStore, root_b: Path) -> None:
    entries = _good(store_a)
    data = _craft(entries, ["m1"])
    raw = gzip.decompress(data).replace(b'"FormatVersion": 1', b'"FormatVersion": 7')
    with pytest.raises(StoreError, match="format version 7; this dockyard.machine reads up to 1"):
        _bundle.import_bundle(MachineStore(str(root_b)), gzip.compress(raw))


# --- files (what the module calls) ----------------------------------------------------------------------------


def test_export_to_file_is_idempotent(store_a: MachineStore, fixture_store: Path, tmp_path: Path) -> None:
    path = tmp_path / "out" / "machines.dymbundle"
    checked = _bundle.export_to_file(store_a, str(path), check_mode=True)
    assert checked.changed is True and not path.exists()
    first = _bundle.export_to_file(store_a, str(path), now=datetime(2030, 1, 1, tzinfo=timezone.utc))
    assert first.changed is True and _mode(path) == 0o600 and first.machines == list(FIXTURE_MACHINES)
    assert any("unencrypted" in w for w in first.warnings)
    written = path.read_bytes()
    second = _bundle.export_to_file(store_a, str(path), now=datetime(2031, 1, 1, tzinfo=timezone.utc))
    assert second.changed is False and second.previous_machines == list(FIXTURE_MACHINES)
    assert path.read_bytes() == written
    (fixture_store / "machines" / "not_a_machine").mkdir()
    report = _bundle.export_to_file(store_a, str(path))
    assert report.changed is False and any("machines/not_a_machine is not a machine" in w for w in report.warnings)
    assert _bundle.export_to_file(store_a, str(path), ["m1"]).changed is True  # other machines
    assert _bundle.read_bundle(path.read_bytes()).machines == ["m1"]
    (fixture_store / "machines" / "m1" / "server.pem").write_bytes(b"re-issued")
    assert _bundle.export_to_file(store_a, str(path), ["m1"]).changed is True  # other content
    os.chmod(path, 0o644)
    fixed = _bundle.export_to_file(store_a, str(path), ["m1"])
    assert fixed.changed is True and _mode(path) == 0o600


def test_export_to_file_encrypted_is_idempotent(store_a: MachineStore, tmp_path: Path) -> None:
    path = tmp_path / "machines.dymbundle"
    assert _bundle.export_to_file(store_a, str(path), passphrase="one").changed is True
    written = path.read_bytes()
    again = _bundle.export_to_file(store_a, str(path), passphrase="one")
    assert again.changed is False and path.read_bytes() == written and again.warnings == []
    assert _bundle.export_to_file(store_a, str(path), passphrase="two").changed is True
    assert _bundle.read_bundle(path.read_bytes(), "two").machines == list(FIXTURE_MACHINES)
    assert _bundle.export_to_file(store_a, str(path)).changed is True  # encrypted -> plain is a change
    assert not _bundle.is_encrypted(path.read_bytes())


def test_import_from_a_missing_file(root_b: Path, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist. Check option 'path'"):
        _bundle.import_from_file(MachineStore(str(root_b)), str(tmp_path / "nope.dymbundle"))


# --- the sidecar is untrusted data --------------------------------------------------------------------------

PINNED_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


def test_import_keeps_only_inert_sidecar_data_and_warns_about_the_rest(store_a: MachineStore, fixture_store: Path, root_b: Path) -> None:
    evil_config = fixture_store / "evil_ssh_config"
    evil_config.write_text("Host *\n  ProxyCommand touch /tmp/pwned\n")
    sidecar = {
        "SchemaVersion": 1,
        "Status": "running",
        "HostKeys": [PINNED_KEY, "ssh-rsa AAAA\nevil.example ssh-rsa AAAA"],
        "SSHConfig": str(evil_config),
        "ProxyJump": "attacker@bastion.example",
        "LocalCommand": "touch /tmp/pwned",
    }
    (fixture_store / "machines" / "m1" / "dockyard-machine.json").write_text(json.dumps(sidecar))
    data = _bundle.export_bundle(store_a, ["m1"])
    store_b = MachineStore(str(root_b))
    report = _bundle.import_bundle(store_b, data)
    assert report.imported == ["m1"]
    imported = json.loads((root_b / "machines" / "m1" / "dockyard-machine.json").read_text())
    assert imported == {"SchemaVersion": 1, "Status": "running", "HostKeys": [PINNED_KEY]}
    assert store_b.load("m1").sidecar.get("SSHConfig") is None
    dropped = [w for w in report.warnings if "its sidecar" in w]
    assert dropped == [
        "Machine m1: its sidecar dockyard-machine.json carries settings that could run commands on this controller, or facts "
        "not of the shape its owner writes, which were not imported: HostKeys (an entry that is not one 'type base64' key), "
        "LocalCommand, ProxyJump, SSHConfig. "
        "Set options 'ssh_config' and 'proxy_jump' of dockyard.machine.docker_machine if this machine needs them."
    ]
    # importing the same bundle again finds the machine unchanged, and says again what it left out
    again = _bundle.import_bundle(store_b, data)
    assert again.unchanged == ["m1"] and again.changed is False
    assert [w for w in again.warnings if "its sidecar" in w] == dropped


def test_export_carries_no_credential_of_any_driver(store_a: MachineStore, fixture_store: Path) -> None:
    # A record the original wrote for DigitalOcean keeps its API token in plain text.
    config = fixture_store / "machines" / "m1" / "config.json"
    doc = json.loads(config.read_text())
    doc["DriverName"] = "digitalocean"
    doc["Driver"]["AccessToken"] = "do-token-leak"
    config.write_text(json.dumps(doc))
    data = gzip.decompress(_bundle.export_bundle(store_a, ["m1"]))
    assert b"do-token-leak" not in data


def _pax_record(keyword: str, value: str) -> bytes:
    """One PAX record, ``LENGTH keyword=value\\n``, whose LENGTH counts every byte of the record, its own digits too."""
    body = " %s=%s\n" % (keyword, value)
    length = len(body)
    while len(str(length)) + len(body) != length:
        length = len(str(length)) + len(body)
    return ("%d%s" % (length, body)).encode()


def test_the_crafted_pax_record_is_what_tarfile_reads() -> None:
    # Python's tar parser (strict since 3.11.4 / 3.12) refuses a record whose length is off by one byte.
    record = _pax_record("comment", "chained")
    assert record == b"19 comment=chained\n" and len(record) == 19
    header = tarfile.TarInfo("././@PaxHeader")
    header.type, header.size = tarfile.XHDTYPE, len(record)
    member = tarfile.TarInfo("file")
    data = header.tobuf(format=tarfile.USTAR_FORMAT) + record.ljust(512, b"\0") + member.tobuf(format=tarfile.USTAR_FORMAT) + b"\0" * 1024
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert tar.getmembers()[0].pax_headers == {"comment": "chained"}


def _pax_chain(count: int, good: list[tuple[tarfile.TarInfo, bytes]], machines: list[str]) -> bytes:
    """A good bundle whose second member is preceded by ``count`` extended (PAX) headers in a row."""
    raw = bytearray(gzip.decompress(_craft(good, machines)))
    # The manifest is the first member: its header block and its data, rounded up to whole blocks.
    manifest_size = int(raw[124:136].rstrip(b"\0 ").decode(), 8)
    at = 512 + -(-manifest_size // 512) * 512
    record = _pax_record("comment", "chained")
    header = tarfile.TarInfo("././@PaxHeader")
    header.type, header.size = tarfile.XHDTYPE, len(record)
    block = header.tobuf(format=tarfile.USTAR_FORMAT) + record.ljust(512, b"\0")
    return gzip.compress(bytes(raw[:at]) + block * count + bytes(raw[at:]))


def test_a_chain_of_extended_headers_is_refused_not_a_crash(store_a: MachineStore, root_b: Path) -> None:
    good = _good(store_a)
    # The crafting is sound: one extended header before a member is an ordinary PAX archive.
    assert _bundle.import_bundle(MachineStore(str(root_b)), _pax_chain(1, good, ["m1"])).imported == ["m1"]
    shutil.rmtree(root_b)
    with pytest.raises(StoreError, match="extended headers in a row") as raised:
        _bundle.import_bundle(MachineStore(str(root_b)), _pax_chain(400, good, ["m1"]))
    assert "Nothing was imported" in raised.value.msg
    assert not root_b.exists()


def test_engine_settings_that_run_programs_are_not_imported(store_a: MachineStore, root_b: Path) -> None:
    """dockerd flags and environment from a bundle would run programs as root on the host at the next re-issue."""
    record = store_a.load("m1")
    engine = record.config["HostOptions"]["EngineOptions"]
    engine.update(
        ArbitraryFlags=["add-runtime=evil=/tmp/evil", "userland-proxy-path=/tmp/evil"],
        Env=["LD_PRELOAD=/tmp/evil.so", "HTTP_PROXY=http://user:s3cret@proxy:3128"],
        InstallURL="https://evil.example/install.sh",
        Labels=["env=prod"],
    )
    store_a.save(record)
    report = _bundle.import_bundle(MachineStore(str(root_b)), _bundle.export_bundle(store_a, ["m1"]))
    imported = json.loads((root_b / "machines" / "m1" / "config.json").read_text())["HostOptions"]["EngineOptions"]
    assert imported["ArbitraryFlags"] == [] and imported["Env"] == [] and imported["InstallURL"] == "https://get.docker.com"
    assert imported["Labels"] == ["env=prod"]  # data, not a program: kept
    warning = next(w for w in report.warnings if "run programs" in w)
    assert "add-runtime" in warning and "LD_PRELOAD" in warning and "HTTP_PROXY" in warning and "InstallURL" in warning
    assert "s3cret" not in warning and "/tmp/evil" not in warning
    assert "engine.options" in warning and "engine.env" in warning


# --- a driver's sidecar facts travel with its machine --------------------------------------------------------


class _StubbedEC2(AmazonEC2Driver):
    """The amazonec2 driver with its one seam, ``client``, answering from a Stubber."""

    def __init__(self) -> None:
        super().__init__({"region": "us-east-1", "endpoint_url": "http://127.0.0.1:5055"})  # the fixture record's
        self.ec2 = boto3.client("ec2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
        self.stub = Stubber(self.ec2)

    def client(self, record, timeout, *, retries=False):
        return self.ec2


def test_an_imported_ec2_machine_keeps_its_elastic_ip_and_security_group_so_absent_removes_them(
    store_a: MachineStore, fixture_store: Path, root_b: Path
) -> None:
    # What a create with elastic_ip: true records: the group it made (and its name before it had an ID), the launch's
    # client token, the address it allocated.
    config = fixture_store / "machines" / "aws-sandbox" / "config.json"
    doc = json.loads(config.read_text())
    doc["Driver"].update({"SecurityGroupIds": ["sg-0a1b2c3d4e5f60718"], "SecurityGroupNames": ["dockyard-machine-aws-sandbox-1a2b3c4d"]})
    config.write_text(json.dumps(doc))
    sidecar = {
        "SchemaVersion": 1,
        "Status": "running",
        "PendingSecurityGroup": "dockyard-machine-aws-sandbox-1a2b3c4d",
        "CreatedSecurityGroups": ["sg-0a1b2c3d4e5f60718"],
        "ClientToken": "dockyard-aws-sandbox-0123456789abcdef",
        "ElasticIp": {"AllocationId": "eipalloc-0123456789abcdef0", "PublicIp": "127.0.0.7"},
    }
    (fixture_store / "machines" / "aws-sandbox" / "dockyard-machine.json").write_text(json.dumps(sidecar))
    store_b = MachineStore(str(root_b))
    report = _bundle.import_bundle(store_b, _bundle.export_bundle(store_a, ["aws-sandbox"]))
    assert report.imported == ["aws-sandbox"] and not [w for w in report.warnings if "sidecar" in w]
    record = store_b.load("aws-sandbox")
    assert {k: v for k, v in record.sidecar.items() if k != "SchemaVersion"} == {k: v for k, v in sidecar.items() if k != "SchemaVersion"}

    driver = _StubbedEC2()
    assert driver.cloud_resources(record) == [
        "EC2 instance i-98e1d95081bb710d5 in us-east-1",
        "key pair aws-sandbox in us-east-1",
        "security group sg-0a1b2c3d4e5f60718 in us-east-1",
        "Elastic IP 127.0.0.7 (eipalloc-0123456789abcdef0) in us-east-1",
    ]
    stub = driver.stub
    stub.add_response("terminate_instances", {"TerminatingInstances": [_terminating("i-98e1d95081bb710d5")]}, {"InstanceIds": ["i-98e1d95081bb710d5"]})
    stub.add_response(
        "describe_instances", {"Reservations": [{"Instances": [{"InstanceId": "i-98e1d95081bb710d5", "State": {"Name": "terminated", "Code": 48}}]}]}
    )
    stub.add_response("release_address", {}, {"AllocationId": "eipalloc-0123456789abcdef0"})
    stub.add_response("delete_key_pair", {}, {"KeyName": "aws-sandbox"})
    stub.add_response(
        "describe_security_groups",
        {"SecurityGroups": [{"GroupId": "sg-0a1b2c3d4e5f60718", "GroupName": "dockyard-machine-aws-sandbox-1a2b3c4d"}]},
        {"GroupIds": ["sg-0a1b2c3d4e5f60718"]},
    )
    stub.add_response("describe_instances", {"Reservations": []})
    stub.add_response("delete_security_group", {}, {"GroupId": "sg-0a1b2c3d4e5f60718"})
    with stub:
        driver.remove_cloud_resources(record, timeout=10)
    stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("ElasticIp", {"AllocationId": 7, "PublicIp": "127.0.0.7"}, "ElasticIp (not an Elastic IP's allocation ID and address)"),
        ("ElasticIp", {"PublicIp": "127.0.0.7"}, "ElasticIp (not an Elastic IP's allocation ID and address)"),
        ("CreatedSecurityGroups", "sg-0a1b2c3d", "CreatedSecurityGroups (not a list)"),
        ("Adopted", "i-0abc; rm -rf /", "Adopted (not an EC2 instance ID)"),
    ],
)
def test_a_driver_fact_of_the_wrong_shape_is_left_out_by_name(
    store_a: MachineStore, fixture_store: Path, root_b: Path, key: str, value: t.Any, why: str
) -> None:
    (fixture_store / "machines" / "aws-sandbox" / "dockyard-machine.json").write_text(json.dumps({"Status": "running", key: value}))
    report = _bundle.import_bundle(MachineStore(str(root_b)), _bundle.export_bundle(store_a, ["aws-sandbox"]))
    assert MachineStore(str(root_b)).load("aws-sandbox").sidecar == {"Status": "running", "SchemaVersion": 1}
    assert any(why in w for w in report.warnings), report.warnings


def test_another_drivers_facts_are_not_kept(store_a: MachineStore, fixture_store: Path, root_b: Path) -> None:
    # m1 is a generic machine: an Elastic IP in its sidecar is nothing this store would ever remove.
    (fixture_store / "machines" / "m1" / "dockyard-machine.json").write_text(json.dumps({"ElasticIp": {"AllocationId": "eipalloc-1", "PublicIp": ""}}))
    report = _bundle.import_bundle(MachineStore(str(root_b)), _bundle.export_bundle(store_a, ["m1"]))
    assert "ElasticIp" not in MachineStore(str(root_b)).load("m1").sidecar
    assert any("ElasticIp" in w for w in report.warnings)
