# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docker_machine_env module run in-process against a moved copy of the original tool's store.

The TLS check meets a small fake engine on 127.0.0.1 that demands a client certificate signed by
the store's CA (the end-to-end test against a real engine lives in tests/e2e).
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import threading
import typing as t
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils import _certs
from ansible_collections.dockyard.machine.plugins.modules import docker_machine_env
from ansible_collections.dockyard.machine.tests.support.module_run import run_module as run_module_main
from ansible_collections.dockyard.machine.tests.support.tls_engine import free_loopback_port

DOCKER = shutil.which("docker") or ("/usr/local/bin/docker" if os.path.exists("/usr/local/bin/docker") else None)
needs_docker = pytest.mark.skipif(DOCKER is None, reason="docker CLI not installed")
FAKE_VERSION = "99.1.2-fake"
M1_ID = "ca0df2c95aa144c1d0ff2ff3c8f967fdc1de9ef0c4120b3726416701b519d619"  # sha256("m1")


def run_module(args: dict[str, t.Any], capsys: pytest.CaptureFixture[str]) -> dict[str, t.Any]:
    return run_module_main(docker_machine_env.main, args, capsys)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "no_proxy", "DOCKER_CONFIG", "MACHINE_STORAGE_PATH", "DOCKER_HOST", "DOCKER_CONTEXT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def store(fixture_store: Path) -> Path:
    return fixture_store


def point_machine_at(store: Path, name: str, ip: str, port: int) -> None:
    config = store / "machines" / name / "config.json"
    doc = json.loads(config.read_text())
    doc["Driver"]["IPAddress"] = ip
    doc["Driver"]["EnginePort"] = port
    config.write_text(json.dumps(doc, indent=4))


# --- a fake engine: TLS with a required client certificate, /_ping, /version, /info and Swarm's calls -------


@dataclass
class FakeEngine:
    port: int
    client_subjects: list[t.Any] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    # /info's Swarm section; /swarm answers with ``cluster`` (its JoinTokens) when it is set, 503 otherwise.
    swarm: dict[str, t.Any] = field(default_factory=lambda: {"LocalNodeState": "inactive", "NodeID": ""})
    cluster: dict[str, t.Any] = field(default_factory=dict)
    live_restore: bool = False
    # POSTed calls: (path, JSON body); ``refuse`` answers a path with (status, message).
    posted: list[tuple[str, t.Any]] = field(default_factory=list)
    refuse: dict[str, tuple[int, str]] = field(default_factory=dict)


def start_engine(tmp_path: Path, ca: _certs.CertPair, client_ca_file: Path) -> tuple[FakeEngine, ThreadingHTTPServer]:
    server_pair = _certs.new_server(ca, "operator.fake", ["127.0.0.1", "localhost"])
    cert_file, key_file = tmp_path / "engine-cert.pem", tmp_path / "engine-key.pem"
    cert_file.write_bytes(server_pair.cert_pem)
    key_file.write_bytes(server_pair.key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert_file), str(key_file))
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cafile=str(client_ca_file))
    state = FakeEngine(port=0)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self, with_body: bool) -> None:
            state.paths.append(self.path)
            state.client_subjects.append(self.connection.getpeercert().get("subject"))
            status, kind, body = 404, "application/json", b'{"message":"not here"}'
            if self.path.rstrip("/").endswith("/_ping"):
                status, kind, body = 200, "text/plain", b"OK"
            elif self.path.rstrip("/").endswith("/version"):
                version = {"Version": FAKE_VERSION, "ApiVersion": "1.41", "MinAPIVersion": "1.12", "Os": "linux", "Arch": "amd64"}
                status, body = 200, json.dumps(version).encode()
            elif self.path.rstrip("/").endswith("/info"):
                info = {"ServerVersion": FAKE_VERSION, "LiveRestoreEnabled": state.live_restore, "Swarm": state.swarm}
                status, body = 200, json.dumps(info).encode()
            elif self.path.rstrip("/").endswith("/swarm") and state.cluster:
                status, body = 200, json.dumps(state.cluster).encode()
            elif self.path.rstrip("/").endswith("/swarm"):
                status, body = 503, b'{"message":"This node is not a swarm manager."}'
            self.send_response(status)
            self.send_header("Api-Version", "1.41")
            self.send_header("Ostype", "linux")
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._answer(True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._answer(False)

        def do_POST(self) -> None:  # noqa: N802
            sent = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.paths.append(self.path)
            state.posted.append((self.path, json.loads(sent) if sent else None))
            status, message = state.refuse.get(self.path, (200, ""))
            body = json.dumps({"message": message}).encode() if message else b'"node-id"'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: t.Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state, server


@pytest.fixture
def engine(store: Path, tmp_path: Path) -> t.Iterator[FakeEngine]:
    """An engine whose certificate the store's CA signed, reached as machine m1."""
    ca = _certs.load_pair((store / "certs" / "ca.pem").read_bytes(), (store / "certs" / "ca-key.pem").read_bytes())
    state, server = start_engine(tmp_path, ca, store / "certs" / "ca.pem")
    point_machine_at(store, "m1", "127.0.0.1", state.port)
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def stranger_engine(store: Path, tmp_path: Path) -> t.Iterator[FakeEngine]:
    """An engine whose certificate another CA signed: the check must refuse it."""
    state, server = start_engine(tmp_path, _certs.new_ca("stranger"), store / "certs" / "ca.pem")
    point_machine_at(store, "m1", "127.0.0.1", state.port)
    yield state
    server.shutdown()
    server.server_close()


# --- set mode ------------------------------------------------------------------------------------


def test_bash_env_of_a_moved_store(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"name": "m1", "store_path": str(store), "verify_tls": False}, capsys)
    machine_dir = str(store / "machines" / "m1")
    assert result["changed"] is False
    # The store was written under /home/operator/.docker/machine; the variables point where it is now.
    assert result["env"] == {
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_HOST": "tcp://127.0.0.11:2376",
        "DOCKER_CERT_PATH": machine_dir,
        "DOCKER_MACHINE_NAME": "m1",
    }
    assert list(result["env"]) == ["DOCKER_TLS_VERIFY", "DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_MACHINE_NAME"]
    assert result["script"] == (
        'export DOCKER_TLS_VERIFY="1"\n'
        'export DOCKER_HOST="tcp://127.0.0.11:2376"\n'
        'export DOCKER_CERT_PATH="' + machine_dir + '"\n'
        'export DOCKER_MACHINE_NAME="m1"\n'
        "# Run this command to configure your shell: \n"
        "# eval $(dockyard-machine -s %s env m1)\n" % store
    )
    assert result["docker"] == {
        "docker_host": "tcp://127.0.0.11:2376",
        "tls": True,
        "validate_certs": True,
        "ca_path": machine_dir + "/ca.pem",
        "client_cert": machine_dir + "/cert.pem",
        "client_key": machine_dir + "/key.pem",
    }
    assert "/home/operator" not in json.dumps(result)
    assert "docker_version" not in result and "context" not in result and "diff" not in result


def test_store_path_from_the_environment(store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MACHINE_STORAGE_PATH", str(store))
    result = run_module({"name": "m2", "verify_tls": False}, capsys)
    assert result["env"]["DOCKER_CERT_PATH"] == str(store / "machines" / "m2")
    assert result["env"]["DOCKER_HOST"] == "tcp://127.0.0.12:2376"


def test_amazonec2_machine(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"name": "aws-sandbox", "store_path": str(store), "verify_tls": False, "shell": "tcsh"}, capsys)
    assert result["env"]["DOCKER_HOST"] == "tcp://127.0.5.4:2376"
    assert result["script"].splitlines()[1] == 'setenv DOCKER_HOST "tcp://127.0.5.4:2376";'
    assert result["script"].splitlines()[-1] == ": eval `dockyard-machine -s %s env --shell tcsh aws-sandbox`" % store


def test_fish_with_no_proxy(store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("no_proxy", "example.com")
    result = run_module({"name": "m1", "store_path": str(store), "verify_tls": False, "shell": "fish", "no_proxy": True}, capsys)
    assert list(result["env"])[-1] == "no_proxy"
    assert result["env"]["no_proxy"] == "example.com,127.0.0.11"
    lines = result["script"].splitlines()
    assert lines[4] == 'set -gx no_proxy "example.com,127.0.0.11";'
    assert lines[6] == "# eval (dockyard-machine -s %s env --shell fish --no-proxy m1)" % store


def test_no_proxy_already_listing_the_ip_is_kept(store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.11,example.com")
    result = run_module({"name": "m1", "store_path": str(store), "verify_tls": False, "no_proxy": True}, capsys)
    assert result["env"]["NO_PROXY"] == "127.0.0.11,example.com"


def test_cmd_script(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"name": "m1", "store_path": str(store), "verify_tls": False, "shell": "cmd"}, capsys)
    assert result["script"].split("\n")[-3:] == [
        "REM Run this command to configure your shell: ",
        "REM \t@FOR /f \"tokens=*\" %%i IN ('dockyard-machine -s %s env --shell cmd m1') DO @%%i" % store,
        "",
    ]


# --- the TLS check -------------------------------------------------------------------------------


def test_verify_tls_against_a_closed_port_fails_clearly(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_loopback_port()
    point_machine_at(store, "m1", "127.0.0.1", port)
    result = run_module({"name": "m1", "store_path": str(store), "timeout": 5}, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith("Error checking TLS connection to machine m1: Cannot reach the Docker engine at 127.0.0.1:%d" % port)
    assert result["msg"].endswith("Set verify_tls=false to skip this check.")
    assert result["step"] == "verify_tls"
    assert result["machine"] == "m1"
    assert result["url"] == "tcp://127.0.0.1:%d" % port


def test_verify_tls_against_an_engine(engine: FakeEngine, store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"name": "m1", "store_path": str(store)}, capsys)
    assert result.get("failed") is not True, result
    assert result["docker_version"] == FAKE_VERSION
    assert result["env"]["DOCKER_HOST"] == "tcp://127.0.0.1:%d" % engine.port
    assert engine.paths == ["/version"]
    # The engine saw the store's client certificate (docker-machine's Org is "<user>.<bootstrap>").
    subject = dict(item for rdn in engine.client_subjects[0] for item in rdn)
    assert subject["organizationName"].endswith(".<bootstrap>")


def test_verify_tls_refuses_an_engine_the_store_ca_did_not_sign(stranger_engine: FakeEngine, store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"name": "m1", "store_path": str(store)}, capsys)
    assert result["failed"] is True
    assert 'There was an error validating certificates for host "127.0.0.1:%d"' % stranger_engine.port in result["msg"]
    assert "env" not in result and "script" not in result
    assert stranger_engine.paths == []


# --- option rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "option", "words"),
    [
        ({"verify_tls": False}, "name", "'name' is required unless 'unset'"),
        ({"unset": True, "name": "m1"}, "name", "Expected no machine name when option 'unset' is true"),
        ({"unset": True, "docker_context": True}, "name", "set option 'name' (or 'context_name')"),
        ({"name": "m1", "context_name": "web"}, "context_name", "only used with docker_context=true"),
        ({"name": "m1", "docker_context": True, "context_name": "default"}, "context_name", "reserved"),
        ({"name": "m1", "docker_context": True, "context_name": "x"}, "context_name", "at least two characters"),
    ],
)
def test_option_rules_name_the_option(args: dict[str, t.Any], option: str, words: str, store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module(dict(args, store_path=str(store), docker_config=str(tmp_path / "dc")), capsys)
    assert result["failed"] is True
    assert result["option"] == option
    assert words in result["msg"]
    assert not (tmp_path / "dc").exists()


def test_unknown_machine(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"name": "nope", "store_path": str(store), "verify_tls": False}, capsys)
    assert result["failed"] is True
    assert 'Docker machine "nope" does not exist' in result["msg"]


def test_unknown_shell_is_refused_by_the_argspec(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"name": "m1", "store_path": str(store), "shell": "csh"}, capsys)
    assert result["failed"] is True
    assert "shell" in result["msg"] and "csh" in result["msg"]


# --- unset mode ----------------------------------------------------------------------------------


def test_unset_needs_no_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("NO_PROXY", "example.com")
    result = run_module({"unset": True, "no_proxy": True, "store_path": str(tmp_path / "absent")}, capsys)
    assert result["changed"] is False
    assert result["unset_names"] == ["DOCKER_TLS_VERIFY", "DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_MACHINE_NAME", "NO_PROXY"]
    assert result["script"] == (
        "unset DOCKER_TLS_VERIFY\n"
        "unset DOCKER_HOST\n"
        "unset DOCKER_CERT_PATH\n"
        "unset DOCKER_MACHINE_NAME\n"
        "unset NO_PROXY\n"
        "# Run this command to configure your shell: \n"
        "# eval $(dockyard-machine env --no-proxy -u)\n"
    )
    assert "env" not in result and "docker" not in result


def test_unset_powershell(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"unset": True, "shell": "powershell"}, capsys)
    assert result["script"].splitlines()[0] == "Remove-Item Env:\\\\DOCKER_TLS_VERIFY"


# --- Docker CLI contexts -------------------------------------------------------------------------


def test_context_check_mode_then_create_then_idempotent(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docker_config = tmp_path / "dc"
    args = {"name": "m1", "store_path": str(store), "verify_tls": False, "docker_context": True, "docker_config": str(docker_config)}

    checked = run_module(dict(args, _ansible_check_mode=True, _ansible_diff=True), capsys)
    assert checked["changed"] is True
    assert checked["context"] == "m1"
    assert checked["diff"]["before"] == {}
    assert checked["diff"]["after"]["meta"]["Endpoints"]["docker"]["Host"] == "tcp://127.0.0.11:2376"
    assert not docker_config.exists()

    created = run_module(args, capsys)
    assert created["changed"] is True
    assert "diff" not in created
    meta = json.loads((docker_config / "contexts" / "meta" / M1_ID / "meta.json").read_text())
    assert meta["Metadata"] == {"Description": "dockyard.machine: %s" % store}
    assert (docker_config / "contexts" / "tls" / M1_ID / "docker" / "key.pem").read_bytes() == (store / "machines" / "m1" / "key.pem").read_bytes()

    again = run_module(dict(args, _ansible_diff=True), capsys)
    assert again["changed"] is False
    assert again["diff"]["before"] == again["diff"]["after"]
    assert run_module(dict(args, _ansible_check_mode=True), capsys)["changed"] is False


def test_context_from_docker_config_env(store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "envdc"))
    result = run_module({"name": "m2", "store_path": str(store), "verify_tls": False, "docker_context": True, "context_name": "machine-m2"}, capsys)
    assert result["context"] == "machine-m2"
    meta = json.loads(next((tmp_path / "envdc" / "contexts" / "meta").glob("*/meta.json")).read_text())
    assert meta["Name"] == "machine-m2"
    assert meta["Endpoints"]["docker"]["Host"] == "tcp://127.0.0.12:2376"


def test_unset_removes_the_context(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docker_config = tmp_path / "dc"
    run_module({"name": "m1", "store_path": str(store), "verify_tls": False, "docker_context": True, "docker_config": str(docker_config)}, capsys)
    args = {"unset": True, "name": "m1", "docker_context": True, "docker_config": str(docker_config)}
    assert run_module(dict(args, _ansible_check_mode=True), capsys)["changed"] is True
    assert (docker_config / "contexts" / "meta" / M1_ID).is_dir()
    removed = run_module(args, capsys)
    assert removed["changed"] is True and removed["context"] == "m1"
    assert removed["script"].startswith("unset DOCKER_TLS_VERIFY\n")
    assert not (docker_config / "contexts" / "meta" / M1_ID).exists()
    assert not (docker_config / "contexts" / "tls" / M1_ID).exists()
    assert run_module(args, capsys)["changed"] is False


@needs_docker
def test_docker_cli_reaches_the_engine_through_our_context(engine: FakeEngine, store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docker_config = tmp_path / "dc"
    result = run_module({"name": "m1", "store_path": str(store), "docker_context": True, "docker_config": str(docker_config)}, capsys)
    assert result["changed"] is True
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env["DOCKER_CONFIG"] = str(docker_config)
    answer = subprocess.run(
        [DOCKER, "--context", "m1", "version", "--format", "{{.Server.Version}}"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert answer.stdout.strip() == FAKE_VERSION, answer.stderr
    assert any(path.endswith("/version") and path != "/version" for path in engine.paths)  # the CLI's /vX.Y/version


@needs_docker
def test_script_variables_work_for_the_docker_cli(engine: FakeEngine, store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What `eval $(docker-machine env m1)` gave users: the docker CLI reaches the engine with these variables."""
    result = run_module({"name": "m1", "store_path": str(store)}, capsys)
    script = result["script"]
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env["DOCKER_CONFIG"] = str(store.parent / "empty-docker-config")
    answer = subprocess.run(
        [bash, "-c", script + "\n%s version --format '{{.Server.Version}}'" % DOCKER],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert answer.stdout.strip() == FAKE_VERSION, answer.stderr
