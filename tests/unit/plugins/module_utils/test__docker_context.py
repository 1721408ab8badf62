# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests for _docker_context: the files `docker context create` writes, and the real docker CLI reading ours."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils import _docker_context as dc
from ansible_collections.dockyard.machine.plugins.module_utils._engine import TLSFiles
from ansible_collections.dockyard.machine.plugins.module_utils._errors import MachineError

DOCKER = shutil.which("docker") or ("/usr/local/bin/docker" if os.path.exists("/usr/local/bin/docker") else None)
needs_docker = pytest.mark.skipif(DOCKER is None, reason="docker CLI not installed")

URL = "tcp://127.0.0.11:2376"
# sha256("m1"), computed by hand with sha256sum: the folder name the docker CLI uses for context "m1".
M1_ID = "ca0df2c95aa144c1d0ff2ff3c8f967fdc1de9ef0c4120b3726416701b519d619"


@pytest.fixture
def tls(fixture_store: Path) -> TLSFiles:
    machine = fixture_store / "machines" / "m1"
    return TLSFiles(ca=str(machine / "ca.pem"), cert=str(machine / "cert.pem"), key=str(machine / "key.pem"))


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return tmp_path / "docker-config"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def docker_cli(config_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, DOCKER_CONFIG=str(config_dir))
    env.pop("DOCKER_CONTEXT", None)
    env.pop("DOCKER_HOST", None)
    return subprocess.run([DOCKER, *args], env=env, capture_output=True, text=True, timeout=60, check=False)


def snapshot(root: Path) -> dict[str, tuple[bytes, int, int]]:
    """Content, mode and inode of every file under root: a rewrite changes the inode."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            st = path.stat()
            out[str(path.relative_to(root))] = (path.read_bytes(), stat.S_IMODE(st.st_mode), st.st_ino)
    return out


# --- names and places ----------------------------------------------------------------------------


def test_resolve_docker_config_precedence(tmp_path: Path) -> None:
    assert dc.resolve_docker_config(str(tmp_path / "opt"), {"DOCKER_CONFIG": "/env"}) == str(tmp_path / "opt")
    assert dc.resolve_docker_config(None, {"DOCKER_CONFIG": "/env/dir"}) == "/env/dir"
    assert dc.resolve_docker_config(None, {"HOME": "/ignored"}) == os.path.expanduser("~/.docker")


@pytest.mark.parametrize("name", ["m1", "web-1.example", "a_b+c", "aws-sandbox"])
def test_context_names_the_cli_accepts(name: str) -> None:
    assert dc.validate_context_name(name) == name


@pytest.mark.parametrize("name", ["a", "default", "-x", "a/b", "", None, "web 1"])
def test_context_names_the_cli_refuses_name_the_option(name: object) -> None:
    with pytest.raises(dc.DockerContextError) as caught:
        dc.validate_context_name(name)
    assert isinstance(caught.value, MachineError)
    assert caught.value.details["option"] == "context_name"


def test_context_dirs_use_sha256_of_the_name(tmp_path: Path) -> None:
    meta, tls_dir = dc.context_dirs("m1", str(tmp_path))
    assert meta == str(tmp_path / "contexts" / "meta" / M1_ID)
    assert tls_dir == str(tmp_path / "contexts" / "tls" / M1_ID / "docker")


# --- create / update -----------------------------------------------------------------------------


def test_create_writes_the_cli_layout(tls: TLSFiles, config_dir: Path) -> None:
    changed, diff = dc.ensure_context("m1", URL, tls, str(config_dir), False, description="dockyard.machine: /s")
    assert changed is True
    meta = config_dir / "contexts" / "meta" / M1_ID / "meta.json"
    # Byte for byte what docker 28 writes for the same context (compact JSON, this key order).
    assert meta.read_bytes() == (
        b'{"Name":"m1","Metadata":{"Description":"dockyard.machine: /s"},'
        b'"Endpoints":{"docker":{"Host":"tcp://127.0.0.11:2376","SkipTLSVerify":false}}}'
    )
    tls_dir = config_dir / "contexts" / "tls" / M1_ID / "docker"
    for name, source in (("ca.pem", tls.ca), ("cert.pem", tls.cert), ("key.pem", tls.key)):
        assert (tls_dir / name).read_bytes() == Path(source).read_bytes()
        assert mode(tls_dir / name) == 0o600
    assert mode(tls_dir) == 0o700
    assert mode(tls_dir.parent) == 0o700
    assert mode(meta) == 0o600
    assert diff["before"] == {}
    assert diff["after"]["meta"]["Endpoints"]["docker"]["Host"] == URL
    assert sorted(diff["after"]["tls"]) == ["ca.pem", "cert.pem", "key.pem"]


def test_no_description_gives_empty_metadata(tls: TLSFiles, config_dir: Path) -> None:
    dc.ensure_context("m1", URL, tls, str(config_dir), False)
    meta = json.loads((config_dir / "contexts" / "meta" / M1_ID / "meta.json").read_text())
    assert meta["Metadata"] == {}


def test_second_call_changes_nothing(tls: TLSFiles, config_dir: Path) -> None:
    assert dc.ensure_context("m1", URL, tls, str(config_dir), False, description="d")[0] is True
    before = snapshot(config_dir)
    changed, diff = dc.ensure_context("m1", URL, tls, str(config_dir), False, description="d")
    assert changed is False
    assert diff["before"] == diff["after"]
    assert snapshot(config_dir) == before


def test_new_url_updates_the_context(tls: TLSFiles, config_dir: Path) -> None:
    dc.ensure_context("m1", URL, tls, str(config_dir), False)
    changed, diff = dc.ensure_context("m1", "tcp://127.0.0.12:2376", tls, str(config_dir), False)
    assert changed is True
    assert diff["before"]["meta"]["Endpoints"]["docker"]["Host"] == URL
    assert diff["after"]["meta"]["Endpoints"]["docker"]["Host"] == "tcp://127.0.0.12:2376"
    meta = json.loads((config_dir / "contexts" / "meta" / M1_ID / "meta.json").read_text())
    assert meta["Endpoints"]["docker"]["Host"] == "tcp://127.0.0.12:2376"


def test_replaced_client_cert_is_copied_again(tls: TLSFiles, config_dir: Path, fixture_store: Path) -> None:
    dc.ensure_context("m1", URL, tls, str(config_dir), False)
    machine = fixture_store / "machines" / "m1"
    # Any other valid pair stands for a re-issued client certificate.
    replaced = TLSFiles(ca=tls.ca, cert=str(machine / "server.pem"), key=str(machine / "server-key.pem"))
    changed, diff = dc.ensure_context("m1", URL, replaced, str(config_dir), False)
    assert changed is True
    assert diff["before"]["tls"]["cert.pem"] != diff["after"]["tls"]["cert.pem"]
    assert diff["before"]["tls"]["ca.pem"] == diff["after"]["tls"]["ca.pem"]
    copied = config_dir / "contexts" / "tls" / M1_ID / "docker"
    assert (copied / "cert.pem").read_bytes() == (machine / "server.pem").read_bytes()
    assert (copied / "key.pem").read_bytes() == (machine / "server-key.pem").read_bytes()


def test_diff_never_holds_key_material(tls: TLSFiles, config_dir: Path) -> None:
    _changed, diff = dc.ensure_context("m1", URL, tls, str(config_dir), True)
    text = json.dumps(diff)
    assert "PRIVATE KEY" not in text
    assert "CERTIFICATE" not in text
    assert diff["after"]["tls"]["key.pem"].startswith("sha256:")


def test_check_mode_writes_nothing(tls: TLSFiles, config_dir: Path) -> None:
    changed, _diff = dc.ensure_context("m1", URL, tls, str(config_dir), True)
    assert changed is True
    assert not config_dir.exists()
    dc.ensure_context("m1", URL, tls, str(config_dir), False)
    before = snapshot(config_dir)
    assert dc.ensure_context("m1", "tcp://127.0.0.99:2376", tls, str(config_dir), True)[0] is True
    assert dc.ensure_context("m1", URL, tls, str(config_dir), True)[0] is False
    assert snapshot(config_dir) == before


def test_damaged_metadata_is_rewritten(tls: TLSFiles, config_dir: Path) -> None:
    dc.ensure_context("m1", URL, tls, str(config_dir), False)
    meta = config_dir / "contexts" / "meta" / M1_ID / "meta.json"
    meta.write_text("{half")
    assert dc.ensure_context("m1", URL, tls, str(config_dir), False)[0] is True
    assert json.loads(meta.read_text())["Name"] == "m1"


def test_missing_machine_cert_is_a_clear_error(tls: TLSFiles, config_dir: Path) -> None:
    os.unlink(tls.key)
    with pytest.raises(dc.DockerContextError) as caught:
        dc.ensure_context("m1", URL, tls, str(config_dir), False)
    assert caught.value.details["path"] == tls.key
    assert "key.pem" in caught.value.msg
    assert not config_dir.exists()


def test_reserved_name_is_refused_before_any_write(tls: TLSFiles, config_dir: Path) -> None:
    with pytest.raises(dc.DockerContextError):
        dc.ensure_context("default", URL, tls, str(config_dir), False)
    assert not config_dir.exists()


# --- remove --------------------------------------------------------------------------------------


def test_remove_deletes_both_folders(tls: TLSFiles, config_dir: Path) -> None:
    dc.ensure_context("m1", URL, tls, str(config_dir), False)
    dc.ensure_context("m2", URL, tls, str(config_dir), False)
    changed, diff = dc.remove_context("m1", str(config_dir), False)
    assert changed is True
    assert diff["before"]["meta"]["Name"] == "m1"
    assert diff["after"] == {}
    assert not (config_dir / "contexts" / "meta" / M1_ID).exists()
    assert not (config_dir / "contexts" / "tls" / M1_ID).exists()
    assert dc.read_context("m2", str(config_dir)) is not None
    assert dc.remove_context("m1", str(config_dir), False)[0] is False


def test_remove_in_check_mode_keeps_everything(tls: TLSFiles, config_dir: Path) -> None:
    dc.ensure_context("m1", URL, tls, str(config_dir), False)
    before = snapshot(config_dir)
    assert dc.remove_context("m1", str(config_dir), True)[0] is True
    assert snapshot(config_dir) == before


def test_remove_of_the_current_context_resets_it_and_keeps_other_settings(tls: TLSFiles, config_dir: Path) -> None:
    dc.ensure_context("m1", URL, tls, str(config_dir), False)
    config = config_dir / "config.json"
    config.write_text(json.dumps({"auths": {"registry.example": {"auth": "eA=="}}, "currentContext": "m1", "psFormat": "x"}))
    config.chmod(0o640)
    changed, diff = dc.remove_context("m1", str(config_dir), True)
    assert changed is True and diff["before"]["current"] is True
    assert json.loads(config.read_text())["currentContext"] == "m1"  # check mode
    dc.remove_context("m1", str(config_dir), False)
    assert json.loads(config.read_text()) == {"auths": {"registry.example": {"auth": "eA=="}}, "psFormat": "x"}
    assert mode(config) == 0o640


def test_remove_leaves_another_current_context_alone(tls: TLSFiles, config_dir: Path) -> None:
    dc.ensure_context("m1", URL, tls, str(config_dir), False)
    config = config_dir / "config.json"
    config.write_text('{"currentContext": "other"}')
    dc.remove_context("m1", str(config_dir), False)
    assert config.read_text() == '{"currentContext": "other"}'


# --- the real docker CLI reads what we write (it only reads files here; no daemon is needed) -----


@needs_docker
def test_docker_cli_inspects_and_lists_our_context(tls: TLSFiles, config_dir: Path) -> None:
    dc.ensure_context("m1", URL, tls, str(config_dir), False, description="dockyard.machine: /s")
    inspected = docker_cli(config_dir, "context", "inspect", "m1")
    assert inspected.returncode == 0, inspected.stderr
    [context] = json.loads(inspected.stdout)
    assert context["Name"] == "m1"
    assert context["Endpoints"]["docker"] == {"Host": URL, "SkipTLSVerify": False}
    assert context["Metadata"] == {"Description": "dockyard.machine: /s"}
    assert context["TLSMaterial"] == {"docker": ["ca.pem", "cert.pem", "key.pem"]}
    assert context["Storage"]["TLSPath"] == str(config_dir / "contexts" / "tls" / M1_ID)

    listed = docker_cli(config_dir, "context", "ls", "--format", "{{json .}}")
    assert listed.returncode == 0, listed.stderr
    rows = {row["Name"]: row for row in map(json.loads, listed.stdout.splitlines())}
    assert rows["m1"]["DockerEndpoint"] == URL
    assert rows["m1"]["Description"] == "dockyard.machine: /s"
    assert rows["m1"]["Error"] == ""


@needs_docker
def test_context_made_by_the_cli_is_already_up_to_date(tls: TLSFiles, config_dir: Path) -> None:
    made = docker_cli(
        config_dir, "context", "create", "m1", "--description", "dockyard.machine: /s",
        "--docker", "host=%s,ca=%s,cert=%s,key=%s" % (URL, tls.ca, tls.cert, tls.key),
    )
    assert made.returncode == 0, made.stderr
    before = snapshot(config_dir)
    changed, _diff = dc.ensure_context("m1", URL, tls, str(config_dir), False, description="dockyard.machine: /s")
    assert changed is False
    assert snapshot(config_dir) == before


@needs_docker
def test_docker_cli_forgets_a_removed_current_context(tls: TLSFiles, config_dir: Path) -> None:
    dc.ensure_context("m1", URL, tls, str(config_dir), False)
    used = docker_cli(config_dir, "context", "use", "m1")
    assert used.returncode == 0, used.stderr
    assert docker_cli(config_dir, "context", "show").stdout.strip() == "m1"
    dc.remove_context("m1", str(config_dir), False)
    shown = docker_cli(config_dir, "context", "show")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "default"
    listed = docker_cli(config_dir, "context", "ls", "-q")
    assert "m1" not in listed.stdout.split()
