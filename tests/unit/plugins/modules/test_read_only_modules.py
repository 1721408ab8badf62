"""What the modules that only read a store do with a store that is not there, and the option names they share."""

from __future__ import annotations

import pytest

from ansible_collections.dockyard.machine.plugins.modules import (
    docker_machine_bundle,
    docker_machine_certs,
    docker_machine_env,
    docker_machine_info,
)
from ansible_collections.dockyard.machine.tests.support.module_run import run_module

READ_ONLY = {
    "docker_machine_info": (docker_machine_info.main, {}),
    "docker_machine_env": (docker_machine_env.main, {"name": "web1"}),
    "docker_machine_certs": (docker_machine_certs.main, {}),
    "docker_machine_bundle exported": (docker_machine_bundle.main, {"state": "exported", "path": "/nonexistent-dir/b.tar"}),
}


@pytest.mark.parametrize("module", sorted(READ_ONLY))
def test_a_store_path_that_does_not_exist_fails_naming_the_option(module, tmp_path, capsys):
    main, args = READ_ONLY[module]
    missing = tmp_path / "no-such-store"
    result = run_module(main, dict(args, store_path=str(missing)), capsys)
    assert result["failed"] is True
    assert "'store_path'" in result["msg"] and str(missing) in result["msg"]
    assert not missing.exists()


def test_an_empty_store_folder_lists_nothing_and_succeeds(tmp_path, capsys):
    result = run_module(docker_machine_info.main, {"store_path": str(tmp_path)}, capsys)
    assert not result.get("failed")
    assert result["machines"] == [] and result["names"] == []


def test_certs_takes_names_and_keeps_name_as_its_alias(fixture_store, capsys):
    by_names = run_module(docker_machine_certs.main, {"store_path": str(fixture_store), "names": ["m1"]}, capsys)
    by_name = run_module(docker_machine_certs.main, {"store_path": str(fixture_store), "name": ["m1"]}, capsys)
    assert [m["name"] for m in by_names["certificates"]["machines"]] == ["m1"]
    assert by_name["certificates"] == by_names["certificates"]
