"""docker_machine_env and docker_machine_info in real ansible-playbook runs against a real TLS engine."""

from __future__ import annotations

import json
import os
import subprocess

from ansible_collections.dockyard.machine.tests.e2e.conftest import recap, run_playbook
from ansible_collections.dockyard.machine.tests.support import return_docs
from ansible_collections.dockyard.machine.tests.support.machines import add_none_machine


def _engine_version(engine) -> str:
    """Asked over the engine's unix socket with the docker CLI: independent of our TLS code."""
    out = subprocess.run(
        ["docker", "-H", "unix://" + engine.socket_path, "version", "--format", "{{.Server.Version}}"],
        capture_output=True, text=True, check=True, timeout=60,
    )
    return out.stdout.strip()


def test_env_info_and_context_against_a_tls_engine(engine_store, tmp_path):
    machine_dir = add_none_machine(engine_store.root, "tls1", engine_store.engine.url)
    docker_config = tmp_path / "docker-config"
    results = tmp_path / "results.json"
    extra = {"store_path": str(engine_store.root), "machine": "tls1", "docker_config": str(docker_config), "results_file": str(results)}

    first = run_playbook("env_and_info.yml", extra)
    assert first.returncode == 0, first.stdout + first.stderr
    data = json.loads(results.read_text())
    version = _engine_version(engine_store.engine)

    env = data["env_bash"]
    assert env["env"] == {
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_HOST": engine_store.engine.url,
        "DOCKER_CERT_PATH": str(machine_dir),
        "DOCKER_MACHINE_NAME": "tls1",
    }
    assert env["docker_version"] == version
    assert env["script"].splitlines()[:4] == [
        'export DOCKER_TLS_VERIFY="1"',
        'export DOCKER_HOST="%s"' % engine_store.engine.url,
        'export DOCKER_CERT_PATH="%s"' % machine_dir,
        'export DOCKER_MACHINE_NAME="tls1"',
    ]
    assert data["env_fish"]["script"].splitlines()[1] == 'set -gx DOCKER_HOST "%s";' % engine_store.engine.url
    assert env["docker"]["ca_path"] == str(machine_dir / "ca.pem")
    # community.docker reached the same engine with those values.
    assert data["host_info"]["ServerVersion"] == version

    rows = {row["name"]: row for row in data["machines"]["machines"]}
    assert rows["tls1"]["state"] == "Running"
    assert rows["tls1"]["docker_version"] == "v" + version
    assert rows["tls1"]["url"] == engine_store.engine.url
    assert "tls1" in data["machines"]["table"]
    assert data["inspected"]["machine"]["status"] == "Running"
    assert data["inspected"]["machine"]["inspect"]["Driver"]["URL"] == engine_store.engine.url

    # Every key the modules returned is in their RETURN docs, and every documented key was returned.
    assert return_docs.compare("docker_machine_env", [data["env_bash"], data["env_fish"], data["env_unset"]]) == (set(), set(), set())
    assert return_docs.compare("docker_machine_info", [data["machines"], data["inspected"]]) == (set(), set(), set())
    assert isinstance(rows["tls1"]["active"], bool) and isinstance(data["inspected"]["machine"]["active"], bool)

    # The Docker CLI itself uses the context we wrote: no eval, no DOCKER_* variables.
    cli_env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    cli_env["DOCKER_CONFIG"] = str(docker_config)
    by_context = subprocess.run(
        ["docker", "--context", "tls1", "version", "--format", "{{.Server.Version}}"],
        capture_output=True, text=True, env=cli_env, timeout=60, check=False,
    )
    assert by_context.returncode == 0, by_context.stderr
    assert by_context.stdout.strip() == version

    # A second run changes nothing.
    second = run_playbook("env_and_info.yml", extra)
    assert second.returncode == 0, second.stdout + second.stderr
    assert recap(second.stdout)["changed"] == 0, second.stdout


def test_verify_tls_fails_clearly_when_the_certificate_does_not_cover_the_address(engine_store):
    # The engine's certificate covers 127.0.0.1 only; the same engine reached as "localhost" must be refused.
    url = engine_store.engine.url.replace("127.0.0.1", "localhost")
    add_none_machine(engine_store.root, "by-name", url)
    result = subprocess.run(
        ["ansible", "localhost", "-m", "dockyard.machine.docker_machine_env", "-a",
         "name=by-name store_path=%s" % engine_store.root],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode != 0
    assert "error validating certificates" in result.stdout
    assert "docker_machine_certs" in result.stdout
