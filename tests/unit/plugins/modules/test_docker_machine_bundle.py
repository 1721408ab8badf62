# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docker_machine_bundle module run in-process: export from one store, import into another."""

from __future__ import annotations

import json
import os
import stat
import typing as t
from pathlib import Path

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineStore
from ansible_collections.dockyard.machine.plugins.modules import docker_machine_bundle
from ansible_collections.dockyard.machine.tests.support.module_run import run_module as run_module_main
from ansible_collections.dockyard.machine.tests.conftest import FIXTURE_MACHINES


def run_module(args: dict[str, t.Any], capsys: pytest.CaptureFixture[str]) -> dict[str, t.Any]:
    WARNINGS.clear()
    return run_module_main(docker_machine_bundle.main, args, capsys)


WARNINGS: list[str] = []


def warnings(result: dict[str, t.Any]) -> list[str]:
    """What the module passed to module.warn during its last run.

    The result's own ``warnings`` cannot be used: once controller code is imported in the same
    process (other tests do), ansible-core sends module warnings to Display instead.
    """
    return list(WARNINGS)


@pytest.fixture(autouse=True)
def record_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docker_machine_bundle.AnsibleModule, "warn", lambda self, warning, *a, **k: WARNINGS.append(warning))


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MACHINE_STORAGE_PATH", raising=False)


def test_export_import_import_again(fixture_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "transfer" / "machines.dymbundle"
    root_b = tmp_path / "laptop" / "store"
    export = {"state": "exported", "store_path": str(fixture_store), "path": str(bundle), "passphrase": "hunter2 hunter2"}

    checked = run_module(dict(export, _ansible_check_mode=True, _ansible_diff=True), capsys)
    assert checked["changed"] is True and not bundle.exists()
    assert checked["diff"] == {"before": {"machines": []}, "after": {"machines": list(FIXTURE_MACHINES)}}

    exported = run_module(export, capsys)
    assert exported["changed"] is True
    assert exported["machines"] == list(FIXTURE_MACHINES) and exported["encrypted"] is True
    assert exported["bundle_path"] == str(bundle)
    # Not "path": for that key Ansible adds the file's attributes, which RETURN does not document.
    assert not {"path", "state", "owner", "group", "mode", "size", "uid", "gid"} & set(exported)
    assert stat.S_IMODE(os.stat(bundle).st_mode) == 0o600
    assert bundle.read_bytes().startswith(b"DYMBUNDLE1")
    assert "hunter2" not in json.dumps(exported)  # no_log
    assert run_module(export, capsys)["changed"] is False

    imp = {"state": "imported", "store_path": str(root_b), "path": str(bundle), "passphrase": "hunter2 hunter2"}
    planned = run_module(dict(imp, _ansible_check_mode=True, _ansible_diff=True), capsys)
    assert planned["changed"] is True and planned["imported"] == list(FIXTURE_MACHINES)
    assert planned["diff"] == {"before": {"machines": []}, "after": {"machines": list(FIXTURE_MACHINES)}}
    assert not root_b.exists()

    imported = run_module(dict(imp, _ansible_diff=True), capsys)
    assert imported["changed"] is True
    assert imported["imported"] == list(FIXTURE_MACHINES) and imported["unchanged"] == []
    assert imported["ca_installed"] is True and imported["repointed"] == []
    assert imported["source_store"] == str(fixture_store) and imported["encrypted"] is True
    assert any("without the CA key" in w for w in warnings(imported))
    assert MachineStore(str(root_b)).names() == list(FIXTURE_MACHINES)
    doc = json.loads((root_b / "machines" / "m2" / "config.json").read_text())
    assert doc["HostOptions"]["AuthOptions"]["ServerCertPath"] == "%s/machines/m2/server.pem" % root_b

    again = run_module(dict(imp, _ansible_diff=True), capsys)
    assert again["changed"] is False
    assert again["imported"] == [] and again["unchanged"] == list(FIXTURE_MACHINES)
    assert again["diff"]["before"] == again["diff"]["after"]
    assert run_module(dict(imp, _ansible_check_mode=True), capsys)["changed"] is False


def test_plain_export_warns_and_a_subset_imports(fixture_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "m.dymbundle"
    exported = run_module({"state": "exported", "store_path": str(fixture_store), "path": str(bundle), "names": ["m2", "m1"]}, capsys)
    assert exported["machines"] == ["m1", "m2"] and exported["encrypted"] is False
    assert any("unencrypted" in w for w in warnings(exported))
    root_b = tmp_path / "b"
    imported = run_module({"state": "imported", "store_path": str(root_b), "path": str(bundle), "names": ["m2"]}, capsys)
    assert imported["imported"] == ["m2"] and imported["machines"] == ["m2"]
    assert os.listdir(root_b / "machines") == ["m2"]


def test_store_path_from_the_environment_and_the_action_group_name(
    fixture_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MACHINE_STORAGE_PATH", str(fixture_store))
    result = run_module({"state": "exported", "path": str(tmp_path / "x.dymbundle"), "names": ["m1"]}, capsys)
    assert result["changed"] is True and result["machines"] == ["m1"]
    runtime = (Path(docker_machine_bundle.__file__).parents[2] / "meta" / "runtime.yml").read_text()
    assert "    - docker_machine_bundle\n" in runtime


@pytest.mark.parametrize(
    "state_args, words, fields",
    [
        ({"state": "imported", "passphrase": "not-it-at-all"}, "passphrase is wrong", {"option": "passphrase"}),
        ({"state": "imported"}, "bundle is encrypted. Set option 'passphrase'", {"option": "passphrase"}),
        ({"state": "exported", "names": ["bad_name"]}, "Invalid machine name 'bad_name'", {}),
        ({"state": "exported", "names": ["ghost"]}, '"ghost" does not exist', {"machine": "ghost"}),
    ],
)
def test_failures_are_typed_and_name_the_option(
    fixture_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], state_args: dict[str, t.Any], words: str, fields: dict[str, str]
) -> None:
    bundle = tmp_path / "enc.dymbundle"
    run_module({"state": "exported", "store_path": str(fixture_store), "path": str(bundle), "passphrase": "right"}, capsys)
    store = fixture_store if state_args["state"] == "exported" else tmp_path / "b"
    result = run_module(dict(state_args, store_path=str(store), path=str(bundle)), capsys)
    assert result["failed"] is True and words in result["msg"]
    for key, value in fields.items():
        assert result[key] == value
    assert not (tmp_path / "b").exists()


def test_conflicting_machine_fails_and_names_it(fixture_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "m.dymbundle"
    root_b = tmp_path / "b"
    run_module({"state": "exported", "store_path": str(fixture_store), "path": str(bundle)}, capsys)
    run_module({"state": "imported", "store_path": str(root_b), "path": str(bundle)}, capsys)
    (root_b / "machines" / "m1" / "server.pem").write_bytes(b"another server cert")
    result = run_module({"state": "imported", "store_path": str(root_b), "path": str(bundle)}, capsys)
    assert result["failed"] is True and result["machine"] == "m1"
    assert 'Machine "m1" already exists' in result["msg"] and "Remove it first" in result["msg"]


def test_missing_bundle_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"state": "imported", "store_path": str(tmp_path / "b"), "path": str(tmp_path / "none")}, capsys)
    assert result["failed"] is True and result["option"] == "path" and "does not exist" in result["msg"]
