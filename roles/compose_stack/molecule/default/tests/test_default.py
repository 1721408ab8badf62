"""compose_stack on a test bed machine: the shipped, built web app runs, is healthy and answers from the controller."""

from __future__ import annotations

import json
import urllib.request

import pytest

testinfra_hosts = ["role-compose-stack-trixie"]


def _containers(host, project: str) -> list[dict]:
    out = host.check_output("docker compose -p %s ps --all --format json" % project)
    # Compose 2.21+ prints one JSON object per line.
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_webapp_is_running_and_healthy(host):
    (web,) = _containers(host, "webapp")
    assert web["Service"] == "web" and web["State"] == "running" and web["Health"] == "healthy"
    assert web["Image"] == "role-webapp:1"


def test_webapp_answers_from_the_controller():
    with urllib.request.urlopen("http://127.0.0.212:8080/", timeout=20) as response:
        assert response.status == 200
        assert "Hello from a dockyard.machine machine" in response.read().decode()


def test_base_image_came_from_the_controller(host):
    inspect = json.loads(host.check_output("docker image inspect role-webapp-base:1"))
    assert inspect[0]["Config"]["Labels"] == {"dockyard.webapp-base": "1"}
    assert not host.file("/var/tmp").listdir() or not any(n.startswith("compose_stack-") for n in host.file("/var/tmp").listdir())


def test_project_files_are_on_the_host(host):
    assert host.file("/opt/compose/webapp/compose.yaml").is_file
    env = host.file("/opt/compose/webapp/.env")
    assert env.mode == 0o600 and 'WEBAPP_PORT="8080"' in env.content_string.splitlines()


def test_inline_definition_runs(host):
    (files,) = _containers(host, "inline")
    assert files["State"] == "running"
    assert host.run("curl -fsS -o /dev/null http://127.0.0.1:8081/busybox").rc == 0


def test_env_values_reach_the_containers_as_given(host):
    """Compose read the .env the role wrote: no interpolation of $, quotes and line breaks kept, UTF-8 as such."""
    env = json.loads(host.check_output("docker inspect -f '{{json .Config.Env}}' inline-files-1"))
    assert 'DOLLAR=pa$word ${HOME} $$x $' in env
    assert 'QUOTES=say "hi" \'yo\' C:\\x\\' in env
    assert "GREETING=café ☕" in env
    assert "LINES=one\ntwo" in env
    dotenv = host.file("/opt/compose/inline/.env").content  # bytes
    assert 'GREETING="café ☕"'.encode() in dotenv and b"\\u00e9" not in dotenv


def test_a_bad_variable_name_wrote_no_env_file(host):
    assert not host.file("/opt/compose/badenv/.env").exists
    assert _containers(host, "badenv") == []


@pytest.mark.parametrize("project", ["gone", "nocompose"])
def test_nothing_else_runs(host, project):
    assert _containers(host, project) == []
    assert not host.file("/opt/compose/%s" % project).exists


def test_controller_mode_from_a_debian_13_controller(host):
    """compose_stack run by ansible-playbook on a controller with Compose v2, through the engine's TLS endpoint."""
    command = "ANSIBLE_COLLECTIONS_PATH=/root/collections ANSIBLE_NOCOLOR=1 ansible-playbook -i localhost, /root/controller_mode.yml"
    first = host.run(command)
    assert first.rc == 0, first.stdout + first.stderr
    second = host.run(command)
    assert second.rc == 0, second.stdout + second.stderr
    recap = [line for line in second.stdout.splitlines() if line.startswith("localhost") and "ok=" in line]
    assert recap and "changed=0 " in recap[0], second.stdout
    (web,) = _containers(host, "remote")
    assert web["Health"] == "healthy" and web["Image"] == "role-webapp-remote:1"
    assert "Hello from a dockyard.machine machine" in host.check_output("curl -fsS http://127.0.0.1:8082/")
    # The project's files are on the controller's side; nothing went to /opt/compose.
    assert not host.file("/opt/compose/remote").exists


def test_tls_endpoint_refuses_a_client_without_our_certificate(host):
    assert host.run("curl -sS --cacert /root/machine-certs/ca.pem https://127.0.0.1:2376/version").rc != 0
    assert host.run("curl -fsS --cacert /root/machine-certs/ca.pem --cert /root/machine-certs/cert.pem "
                    "--key /root/machine-certs/key.pem https://127.0.0.1:2376/version").rc == 0
