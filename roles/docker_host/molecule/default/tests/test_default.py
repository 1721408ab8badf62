"""docker_host on the test bed's machines: the engine runs, TLS answers our client only, daemon.json is ours."""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils._daemon_config import DaemonConfig, render_dropin

STORE = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "store")
ADDRESS = {"role-docker-host-bookworm": "127.0.0.210", "role-docker-host-trixie": "127.0.0.211"}


def _tls_context(client_cert: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=os.path.join(STORE, "certs", "ca.pem"))
    if client_cert:
        context.load_cert_chain(os.path.join(STORE, "certs", "cert.pem"), os.path.join(STORE, "certs", "key.pem"))
    return context


def _name(host) -> str:
    return host.backend.get_hostname()


def test_engine_runs_and_starts_at_boot(host):
    docker = host.service("docker")
    assert docker.is_running and docker.is_enabled


def test_tls_port_is_listening(host):
    assert host.socket("tcp://0.0.0.0:2376").is_listening


def test_our_client_certificate_is_served(host):
    connection = http.client.HTTPSConnection(ADDRESS[_name(host)], 2376, context=_tls_context(client_cert=True), timeout=20)
    connection.request("GET", "/version")
    response = connection.getresponse()
    assert response.status == 200
    assert json.loads(response.read())["ApiVersion"]


def test_a_client_without_our_certificate_is_refused(host):
    with socket.create_connection((ADDRESS[_name(host)], 2376), timeout=20) as raw:
        with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
            with _tls_context(client_cert=False).wrap_socket(raw, server_hostname=ADDRESS[_name(host)]) as tls:
                # TLS 1.3: the server's refusal arrives with the first read.
                tls.sendall(b"GET /version HTTP/1.0\r\n\r\n")
                assert tls.recv(1) == b""
                raise ConnectionResetError("closed without an answer")


def test_daemon_json_has_rotation_and_live_restore_and_no_flags(host):
    config = json.loads(host.file("/etc/docker/daemon.json").content_string)
    size = "5m" if _name(host).endswith("trixie") else "10m"
    assert config == {"live-restore": True, "log-driver": "json-file", "log-opts": {"max-file": "3", "max-size": size}}
    info = json.loads(host.check_output("docker info --format '{{json .}}'"))
    assert info["LiveRestoreEnabled"] is True and info["LoggingDriver"] == "json-file"
    assert "purpose=molecule" in info["Labels"] and "provider=generic" in info["Labels"]


def test_dropin_is_the_one_the_module_writes(host):
    dropin = host.file("/etc/systemd/system/docker.service.d/10-machine.conf")
    assert dropin.mode == 0o644
    assert dropin.content_string == render_dropin(DaemonConfig(provider="generic", labels=("purpose=molecule",)))
    assert host.file("/etc/docker/server-key.pem").mode == 0o600


def test_compose_v2_where_the_distribution_has_it(host):
    result = host.run("docker compose version --short")
    if _name(host).endswith("trixie"):
        assert result.rc == 0 and result.stdout.strip().startswith("2.")
    else:
        assert result.rc != 0


def test_users_in_the_docker_group(host):
    if _name(host).endswith("trixie"):
        assert "docker" in host.user("alice").groups
