"""The docker-machine store: compatibility both ways, healing, migrations, atomic writes, locks."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import stat
from pathlib import Path

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils import _store
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.base import base_fields
from ansible_collections.dockyard.machine.plugins.module_utils._errors import (
    InvalidNameError,
    MachineNotFoundError,
    StoreError,
)
from ansible_collections.dockyard.machine.tests.conftest import FIXTURE_MACHINES, FIXTURE_ROOT, FIXTURE_STORE

PATH_KEYS = [
    ("Driver", "StorePath"),
    ("Driver", "SSHKeyPath"),
    ("AuthOptions", "CertDir"),
    ("AuthOptions", "CaCertPath"),
    ("AuthOptions", "CaPrivateKeyPath"),
    ("AuthOptions", "ServerCertPath"),
    ("AuthOptions", "ServerKeyPath"),
    ("AuthOptions", "ClientKeyPath"),
    ("AuthOptions", "ClientCertPath"),
    ("AuthOptions", "StorePath"),
]


def _section(doc: dict, name: str) -> dict:
    return doc["Driver"] if name == "Driver" else doc["HostOptions"]["AuthOptions"]


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# --- names -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["web1", "a", "A-b.c", "9lives", "m.1-x"])
def test_valid_names_pass(name):
    assert _store.validate_name(name) == name


@pytest.mark.parametrize("name", ["", "../x", "a/b", "-a", ".a", "a_b", "a b", "web1\n", "é", None, 3])
def test_invalid_names_are_refused_before_any_file_is_touched(tmp_path, name):
    store = _store.MachineStore(str(tmp_path / "store"))
    with pytest.raises(InvalidNameError) as info:
        store.machine_dir(name)
    assert "option 'name'" in info.value.msg
    assert info.value.details["option"] == "name"
    with pytest.raises(InvalidNameError):
        store.lock(name)
    assert not (tmp_path / "store").exists()


def test_the_longest_allowed_name_makes_every_file_it_derives(tmp_path):
    name = "a" * _store.MAX_NAME_LENGTH
    store = _store.MachineStore(str(tmp_path / "store"))
    with store.lock(name):
        store.save(_store.MachineRecord(name=name, config=_store.new_config(name, store.root, "none", {"MachineName": name})))
    assert store.load(name).name == name


@pytest.mark.parametrize("length", [_store.MAX_NAME_LENGTH + 1, 243, 300])
def test_overlong_names_are_refused_with_the_limit(tmp_path, length):
    store = _store.MachineStore(str(tmp_path / "store"))
    with pytest.raises(InvalidNameError) as info:
        with store.lock("a" * length):
            pass
    assert "at most %d" % _store.MAX_NAME_LENGTH in info.value.msg
    assert info.value.details["option"] == "name"
    assert not (tmp_path / "store").exists()


# --- reading the original's store ---------------------------------------------------------------------


def test_lists_the_fixture_machines_in_natural_order(fixture_store):
    store = _store.MachineStore(str(fixture_store))
    (fixture_store / "machines" / "m10").mkdir()
    (fixture_store / "machines" / ".hidden").mkdir()
    assert store.names() == ["aws-sandbox", "m1", "m2", "m10"]


def test_a_moved_store_loads_with_paths_under_its_new_location(fixture_store):
    store = _store.MachineStore(str(fixture_store))
    for name in FIXTURE_MACHINES:
        record = store.load(name)
        doc = record.config
        for section, key in PATH_KEYS:
            value = _section(doc, section)[key]
            assert value.startswith(str(fixture_store)), (name, section, key, value)
            assert os.path.exists(value), value
        assert len(record.healed) == len(PATH_KEYS)
        assert record.needs_write
        # The user's own key outside the store is left alone.
    assert store.load("m1").driver["SSHKey"] == "/home/operator/.ssh/id_rsa"


def test_an_unmoved_record_is_not_healed(fixture_store):
    store = _store.MachineStore(str(fixture_store))
    record = store.load("m1")
    store.save(record)
    again = store.load("m1")
    assert again.healed == ()
    assert not again.needs_write


def test_save_repairs_paths_and_changes_nothing_else(fixture_store):
    store = _store.MachineStore(str(fixture_store))
    assert store.save(store.load("m1")) is True
    written = (fixture_store / "machines" / "m1" / "config.json").read_text()
    original = (FIXTURE_STORE / "machines" / "m1" / "config.json").read_text()
    assert written == original.replace(FIXTURE_ROOT, str(fixture_store))
    assert _mode(fixture_store / "machines" / "m1" / "config.json") == 0o600
    assert _mode(fixture_store / "machines" / "m1") == 0o700
    # Saving again writes nothing.
    assert store.save(store.load("m1")) is False


def test_a_record_we_build_is_byte_identical_to_the_originals(tmp_path):
    driver = base_fields(
        "m1", FIXTURE_ROOT, ip_address="127.0.0.11", ssh_user="root", ssh_port=22, ssh_key_path=FIXTURE_ROOT + "/machines/m1/id_rsa"
    )
    driver.update(EnginePort=2376, SSHKey="/home/operator/.ssh/id_rsa")
    doc = _store.new_config("m1", FIXTURE_ROOT, "generic", driver)
    assert _store.dumps_config(doc) == (FIXTURE_STORE / "machines" / "m1" / "config.json").read_bytes()


def test_dumps_config_escapes_like_go(tmp_path):
    assert _store.dumps_config({"a": "<x&y>"}) == b'{\n    "a": "\\u003cx\\u0026y\\u003e"\n}'


def test_cloud_credentials_are_never_written_and_never_shown(fixture_store):
    store = _store.MachineStore(str(fixture_store))
    record = store.load("aws-sandbox")
    shown = record.redacted()["Driver"]
    assert shown["AccessKey"] == _store.REDACTED and shown["SecretKey"] == _store.REDACTED
    store.save(record)
    saved = json.loads((fixture_store / "machines" / "aws-sandbox" / "config.json").read_text())
    assert saved["Driver"]["AccessKey"] == "" and saved["Driver"]["SecretKey"] == ""
    assert saved["Driver"]["InstanceId"] == "i-98e1d95081bb710d5"


# --- damaged stores ---------------------------------------------------------------------------------------


def test_damaged_records_do_not_hide_the_others(fixture_store):
    machines = fixture_store / "machines"
    (machines / "half").mkdir()
    (machines / "half" / "config.json").write_text('{"ConfigVersion": 3, "Dri')
    (machines / "empty").mkdir()
    (machines / "bad_name").mkdir()
    (machines / "list").mkdir()
    (machines / "list" / "config.json").write_text("[1, 2]")
    records, errors = _store.MachineStore(str(fixture_store)).load_all()
    assert [r.name for r in records] == ["aws-sandbox", "m1", "m2"]
    by_name = {e.machine: e.msg for e in errors}
    assert set(by_name) == {"half", "empty", "bad_name", "list"}
    assert str(machines / "half" / "config.json") in by_name["half"] and "not valid JSON" in by_name["half"]
    assert "config.json is missing" in by_name["empty"]
    assert "Invalid machine name" in by_name["bad_name"]
    assert "JSON object" in by_name["list"]


def test_missing_machine_names_the_options(fixture_store):
    with pytest.raises(MachineNotFoundError) as info:
        _store.MachineStore(str(fixture_store)).load("nope")
    assert "'store_path'" in info.value.msg and "'name'" in info.value.msg


def test_a_config_from_the_future_is_refused(fixture_store):
    path = fixture_store / "machines" / "m1" / "config.json"
    doc = json.loads(path.read_text())
    doc["ConfigVersion"] = 4
    path.write_text(json.dumps(doc))
    with pytest.raises(StoreError, match="from the future"):
        _store.MachineStore(str(fixture_store)).load("m1")


def test_a_damaged_sidecar_never_makes_a_machine_unloadable(fixture_store):
    (fixture_store / "machines" / "m1" / _store.SIDECAR_NAME).write_text("{not json")
    assert _store.MachineStore(str(fixture_store)).load("m1").sidecar == {}


def test_sidecar_round_trip(fixture_store):
    store = _store.MachineStore(str(fixture_store))
    record = store.load("m1")
    record.sidecar["Status"] = "running"
    store.save(record)
    assert store.load("m1").sidecar == {"Status": "running", "SchemaVersion": 1}
    assert _mode(fixture_store / "machines" / "m1" / _store.SIDECAR_NAME) == 0o600


# --- migrations -------------------------------------------------------------------------------------------


def _v3(fixture_store: Path) -> dict:
    return json.loads((FIXTURE_STORE / "machines" / "m1" / "config.json").read_text())


def _v2_from(v3: dict) -> dict:
    doc = json.loads(json.dumps(v3))
    doc["ConfigVersion"] = 2
    del doc["Driver"]["StorePath"]
    return doc


def _v1_from(v3: dict) -> dict:
    doc = _v2_from(v3)
    auth = doc["HostOptions"]["AuthOptions"]
    auth["PrivateKeyPath"] = auth.pop("CaPrivateKeyPath")
    del auth["CertDir"]
    doc["ConfigVersion"] = 1
    doc["StorePath"] = auth["StorePath"]
    return doc


def _v0_from(v3: dict) -> dict:
    auth = v3["HostOptions"]["AuthOptions"]
    driver = dict(v3["Driver"])
    del driver["StorePath"]
    return {
        "Name": "m1",
        "Driver": driver,
        "DriverName": "generic",
        "StorePath": auth["StorePath"],
        "CaCertPath": auth["CaCertPath"],
        "PrivateKeyPath": auth["CaPrivateKeyPath"],
        "ServerCertPath": auth["ServerCertPath"],
        "ServerKeyPath": auth["ServerKeyPath"],
        "ClientCertPath": auth["ClientCertPath"],
        "ClientKeyPath": auth["ClientKeyPath"],
        "SwarmHost": "",
        "SwarmMaster": False,
        "SwarmDiscovery": "",
    }


@pytest.mark.parametrize("version,make", [(2, _v2_from), (1, _v1_from), (0, _v0_from)])
def test_old_config_versions_migrate_with_a_backup(fixture_store, version, make):
    v3 = _v3(fixture_store)
    old = make(v3)
    if version == 0:
        old.pop("ConfigVersion", None)
    path = fixture_store / "machines" / "m1" / "config.json"
    old_bytes = json.dumps(old).encode()
    path.write_bytes(old_bytes)
    store = _store.MachineStore(str(fixture_store))
    record = store.load("m1")
    assert record.migrated_from == version
    doc = record.config
    assert doc["ConfigVersion"] == 3
    auth = doc["HostOptions"]["AuthOptions"]
    root = str(fixture_store)
    assert doc["Driver"]["StorePath"] == root
    assert auth["CaPrivateKeyPath"] == root + "/certs/ca-key.pem"
    assert auth["CertDir"] == root + "/certs"
    assert auth["StorePath"] == root + "/machines/m1"
    assert doc["Driver"]["IPAddress"] == "127.0.0.11"
    # Reading never writes; the first save keeps the original as config.json.bak.
    assert not (path.parent / "config.json.bak").exists()
    store.save(record)
    assert json.loads((path.parent / "config.json.bak").read_bytes()) == old
    assert _mode(path.parent / "config.json.bak") == 0o600
    assert json.loads(path.read_text())["ConfigVersion"] == 3
    assert store.load("m1").migrated_from is None


def test_the_backup_of_a_migrated_record_holds_no_secret_and_is_never_readable_by_others(fixture_store):
    path = fixture_store / "machines" / "aws-sandbox" / "config.json"
    old = _v2_from(json.loads(path.read_text()))
    assert old["Driver"]["SecretKey"] == "y"
    path.write_text(json.dumps(old))
    store = _store.MachineStore(str(fixture_store))
    previous = os.umask(0)
    try:
        store.save(store.load("aws-sandbox"))
    finally:
        os.umask(previous)
    backup = path.parent / "config.json.bak"
    assert _mode(backup) == 0o600
    kept = json.loads(backup.read_text())
    assert kept["ConfigVersion"] == 2 and kept["Driver"]["Region"] == old["Driver"]["Region"]
    assert kept["Driver"]["AccessKey"] == kept["Driver"]["SecretKey"] == kept["Driver"]["SessionToken"] == ""
    assert b'"y"' not in backup.read_bytes() and b'"x"' not in backup.read_bytes()


@pytest.mark.parametrize(
    "key", ["AccessToken", "ClientSecret", "APISecretKey", "APIKey", "Password", "ApplicationCredentialSecret", "SomeNewDriverApiKey"]
)
def test_every_drivers_credentials_are_blanked_on_save_and_redacted_in_inspect(tmp_path, key):
    store = _store.MachineStore(str(tmp_path / "store"))
    driver = {"MachineName": "do1", "SSHKeyPath": "/k/id_rsa", "SSHUser": "root", key: "sekrit-value"}
    store.save(_store.MachineRecord(name="do1", config=_store.new_config("do1", store.root, "digitalocean", driver)))
    raw = (tmp_path / "store" / "machines" / "do1" / "config.json").read_text()
    assert "sekrit-value" not in raw
    record = store.load("do1")
    assert record.driver[key] == "" and record.driver["SSHKeyPath"] == "/k/id_rsa" and record.driver["SSHUser"] == "root"
    record.config["Driver"][key] = "sekrit-value"
    assert "sekrit-value" not in json.dumps(record.redacted())


# --- atomic writes and locks ------------------------------------------------------------------------------


def test_atomic_write_leaves_no_temp_files_and_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "d" / "config.json"
    assert _store.atomic_write(str(target), b"one") is True
    assert _store.atomic_write(str(target), b"one") is False
    assert _mode(target) == 0o600 and _mode(target.parent) == 0o700

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_store.os, "replace", broken_replace)
    with pytest.raises(OSError):
        _store.atomic_write(str(target), b"two")
    assert target.read_bytes() == b"one"
    assert sorted(p.name for p in target.parent.iterdir()) == ["config.json"]


def test_write_file_refuses_paths_outside_the_store(tmp_path):
    store = _store.MachineStore(str(tmp_path / "store"))
    with pytest.raises(StoreError, match="outside the store"):
        store.write_file(str(tmp_path / "store" / ".." / "evil.pem"), b"x")
    assert not (tmp_path / "evil.pem").exists()


def _hold_lock(root: str, ready, release) -> None:
    with _store.MachineStore(root).lock("m1"):
        ready.set()
        release.wait(10)


def test_machine_lock_excludes_other_processes(tmp_path):
    root = str(tmp_path / "store")
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(root, ready, release))
    holder.start()
    try:
        assert ready.wait(10)
        with pytest.raises(StoreError, match="Timed out"):
            with _store.MachineStore(root).lock("m1", timeout=0.3):
                pass
        with _store.MachineStore(root).lock("m2", timeout=0.3):
            pass  # another machine's lock is free
    finally:
        release.set()
        holder.join(10)
    with _store.MachineStore(root).lock("m1", timeout=2):
        pass


def test_resolve_store_path_precedence(tmp_path):
    assert _store.resolve_store_path("/a/b", {"MACHINE_STORAGE_PATH": "/c"}) == "/a/b"
    assert _store.resolve_store_path(None, {"MACHINE_STORAGE_PATH": "/c"}) == "/c"
    assert _store.resolve_store_path(None, {}) == os.path.expanduser("~/.docker/machine")


def _symlinked_machine(tmp_path: Path) -> tuple[_store.MachineStore, Path]:
    """A store whose machine folder ``m1`` is a symlink to a folder elsewhere that already holds files."""
    store = _store.MachineStore(str(tmp_path / "store"))
    store.ensure_layout()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "config.json").write_bytes(b"theirs")
    (elsewhere / "dockyard-machine.json").write_bytes(b"theirs too")
    os.symlink(elsewhere, tmp_path / "store" / "machines" / "m1")
    return store, elsewhere


def test_save_refuses_a_machine_folder_that_is_a_symlink_out_of_the_store(tmp_path):
    store, elsewhere = _symlinked_machine(tmp_path)
    config = _store.new_config("m1", store.root, "none", {"URL": "tcp://127.0.0.1:2376"})
    record = _store.MachineRecord(name="m1", config=config, sidecar={"Status": "running"})
    with pytest.raises(StoreError, match="is a symbolic link") as info:
        store.save(record)
    assert os.path.join(store.machines_dir, "m1") in info.value.msg
    assert (elsewhere / "config.json").read_bytes() == b"theirs"
    assert (elsewhere / "dockyard-machine.json").read_bytes() == b"theirs too"
    assert sorted(p.name for p in elsewhere.iterdir()) == ["config.json", "dockyard-machine.json"]


def test_save_refuses_a_machine_folder_that_is_a_symlink_to_another_machine(tmp_path):
    store = _store.MachineStore(str(tmp_path / "store"))
    store.ensure_layout()
    other = Path(store.machines_dir) / "m2"
    other.mkdir()
    os.symlink(other, Path(store.machines_dir) / "m1")
    record = _store.MachineRecord(name="m1", config=_store.new_config("m1", store.root, "none", {}))
    with pytest.raises(StoreError, match="symbolic link"):
        store.save(record)
    assert list(other.iterdir()) == []


def test_remove_refuses_a_symlinked_machine_folder_and_deletes_nothing(tmp_path):
    store, elsewhere = _symlinked_machine(tmp_path)
    with pytest.raises(StoreError, match="is a symbolic link"):
        store.remove("m1")
    assert sorted(p.name for p in elsewhere.iterdir()) == ["config.json", "dockyard-machine.json"]
    assert os.path.islink(os.path.join(store.machines_dir, "m1"))


def test_write_file_refuses_a_symlinked_machine_folder(tmp_path):
    store, elsewhere = _symlinked_machine(tmp_path)
    with pytest.raises(StoreError, match="is a symbolic link"):
        store.write_file(os.path.join(store.machine_dir("m1"), "server.pem"), b"x")
    assert not (elsewhere / "server.pem").exists()


def test_write_file_outside_the_store_says_what_to_run(tmp_path):
    store = _store.MachineStore(str(tmp_path / "store"))
    store.ensure_layout()
    with pytest.raises(StoreError, match="lies outside the store") as info:
        store.write_file(str(tmp_path / "server.pem"), b"x")
    assert "docker_machine with state=present" in info.value.msg
    assert not (tmp_path / "server.pem").exists()


# --- hostile files in a shared or copied store ---------------------------------------------------------


@pytest.fixture
def hang_guard():
    """Fail instead of hanging when a read blocks (the code before bounded reads blocked forever on a FIFO)."""
    import signal

    def expired(signum, frame):
        raise TimeoutError("a store read blocked")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(5)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_a_fifo_in_place_of_config_json_is_refused_and_hides_no_other_machine(fixture_store, hang_guard):
    config = fixture_store / "machines" / "m2" / "config.json"
    config.unlink()
    os.mkfifo(config, 0o600)
    store = _store.MachineStore(str(fixture_store))
    with pytest.raises(StoreError, match="not a regular file"):
        store.load("m2")
    records, errors = store.load_all()
    assert sorted(r.name for r in records) == ["aws-sandbox", "m1"]
    assert [e.machine for e in errors] == ["m2"]


def test_a_fifo_sidecar_or_certificate_does_not_hang(fixture_store, hang_guard):
    machine_dir = fixture_store / "machines" / "m1"
    os.mkfifo(machine_dir / _store.SIDECAR_NAME, 0o600)
    store = _store.MachineStore(str(fixture_store))
    assert store.load("m1").sidecar == {}
    (machine_dir / "server.pem").unlink()
    os.mkfifo(machine_dir / "server.pem", 0o600)
    with pytest.raises(StoreError, match="not a regular file"):
        store.read_bytes(str(machine_dir / "server.pem"))


def test_a_huge_config_json_is_refused_without_reading_it_whole(fixture_store):
    config = fixture_store / "machines" / "m1" / "config.json"
    with open(config, "ab") as handle:
        handle.truncate(_store.MAX_FILE_BYTES + 1)
    with pytest.raises(StoreError, match="larger than %d bytes" % _store.MAX_FILE_BYTES):
        _store.MachineStore(str(fixture_store)).load("m1")


def test_a_store_copied_while_the_original_still_exists_uses_its_own_files(fixture_store, tmp_path):
    """cp -a of a store: store B's records resolve to B's files, though A's are still there."""
    store_a = _store.MachineStore(str(fixture_store))
    for name in FIXTURE_MACHINES:
        store_a.save(store_a.load(name))  # A's records name A's files, which exist
    copy_b = tmp_path / "copy-b"
    shutil.copytree(fixture_store, copy_b, symlinks=True)
    store_b = _store.MachineStore(str(copy_b))
    for name in FIXTURE_MACHINES:
        record = store_b.load(name)
        for section, key in PATH_KEYS:
            value = _section(record.config, section)[key]
            assert value == str(copy_b) or value.startswith(str(copy_b) + os.sep), (name, section, key, value)
        assert record.needs_write
    # The files A has and B lacks are B's to make: the record points into B, never at A's.
    os.remove(copy_b / "machines" / "m1" / "server.pem")
    record = store_b.load("m1")
    assert record.auth_options["ServerCertPath"] == str(copy_b / "machines" / "m1" / "server.pem")


def test_a_store_reached_through_a_symbolic_link_is_not_healed(fixture_store, tmp_path):
    store = _store.MachineStore(str(fixture_store))
    store.save(store.load("m1"))
    link = tmp_path / "link-to-store"
    link.symlink_to(fixture_store)
    record = _store.MachineStore(str(link)).load("m1")
    assert record.healed == () and not record.needs_write
