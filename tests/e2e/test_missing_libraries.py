"""The command line, docker_machine_info and the inventory in a Python that cannot import boto3 (amazon.aws's
requirement, absent from a bare ansible-core): a store holding an amazonec2 machine still lists every machine, that
one with an error naming the package to install."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

WITHOUT_BOTO3 = Path(__file__).resolve().parents[1] / "support" / "without_boto3"
HINT = "pip install boto3"


@pytest.fixture
def env(fixture_store: Path) -> dict[str, str]:
    """This run's environment with tests/support/without_boto3 first on PYTHONPATH, for every Python it starts."""
    result = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    result["PYTHONPATH"] = os.pathsep.join([str(WITHOUT_BOTO3)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    result.update(MACHINE_STORAGE_PATH=str(fixture_store), ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    return result


def run(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=300, check=False)


def test_the_python_here_cannot_import_boto3(env: dict[str, str]) -> None:
    for module in ("boto3", "botocore"):
        done = run(["python", "-c", "import %s" % module], env)
        assert done.returncode == 1 and "No module named '%s'" % module in done.stderr


def test_dockyard_machine_ls_lists_every_machine(env: dict[str, str]) -> None:
    done = run(["dockyard-machine", "ls", "-t", "2"], env)
    assert "Traceback" not in done.stderr, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines()[1:]}
    assert sorted(lines) == ["aws-sandbox", "m1", "m2"], done.stdout
    assert HINT in lines["aws-sandbox"] and " Error " in lines["aws-sandbox"]
    assert "boto3" not in lines["m1"] and "boto3" not in lines["m2"]


def test_docker_machine_info_lists_every_machine(env: dict[str, str], fixture_store: Path) -> None:
    done = run(["ansible", "localhost", "-o", "-m", "dockyard.machine.docker_machine_info", "-a", "store_path=%s timeout=2" % fixture_store], env)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.split(" => ", 1)[1])
    rows = {m["name"]: m for m in result["machines"]}
    assert sorted(rows) == ["aws-sandbox", "m1", "m2"]
    assert HINT in rows["aws-sandbox"]["error"] and rows["aws-sandbox"]["state"] == "Error"
    assert "boto3" not in rows["m1"]["error"] and "boto3" not in rows["m2"]["error"]


def test_the_inventory_with_ec2_refresh_keeps_every_host(env: dict[str, str], fixture_store: Path, tmp_path: Path) -> None:
    source = tmp_path / "machines.docker_machine.yml"
    # The endpoint the fixture's record names: a record's own is asked only when the inventory passes the same.
    source.write_text("plugin: dockyard.machine.docker_machine\nstore_path: %s\nec2_refresh: true\ncloud_endpoint_url: http://127.0.0.1:5055\n" % fixture_store)
    done = run(["ansible-inventory", "-i", str(source), "--list"], env)
    assert done.returncode == 0, done.stderr
    hostvars = json.loads(done.stdout)["_meta"]["hostvars"]
    assert sorted(hostvars) == ["aws-sandbox", "m1", "m2"]
    assert HINT in done.stderr  # the refresh's warning names the package
