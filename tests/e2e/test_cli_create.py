"""``dockyard-machine create`` as the original's users and scripts run it, against real engines and the real command."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ansible_collections.dockyard.machine.plugins.module_utils import _certs, _machine
from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineStore
from ansible_collections.dockyard.machine.tests.e2e.test_cli import dm, shell
from ansible_collections.dockyard.machine.tests.support.tls_engine import free_loopback_port, tls_engine


def _ls_row(store: Path, name: str) -> list[str]:
    """The columns of ``name``'s row in the default ``ls`` table (ERRORS last, whatever its spaces)."""
    listed = dm(store, "ls")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    header = listed.stdout.splitlines()[0]
    row = next(line for line in listed.stdout.splitlines()[1:] if line.split()[0] == name)
    starts = [header.index(column) for column in ("NAME", "ACTIVE", "DRIVER", "STATE", "URL", "SWARM", "DOCKER", "ERRORS")]
    return [row[a:b].strip() for a, b in zip(starts, starts[1:] + [len(row)])]


def test_create_none_registers_an_engine_before_it_is_up(tmp_path: Path) -> None:
    """The original's way to register an engine that does not exist yet: recorded at once (HOST:PORT read as Docker
    reads it), listed, refused by env until the engine listens, then used as it is."""
    store = tmp_path / "store"
    port = free_loopback_port()  # nothing listens there yet
    url = "tcp://127.0.0.1:%d" % port
    started = time.monotonic()
    created = dm(store, "create", "-d", "none", "--url", "127.0.0.1:%d" % port, "later1")
    took = time.monotonic() - started
    assert created.returncode == 0, created.stdout + created.stderr
    assert took < 20, "create waited %.0f s for an engine the original never checks" % took
    assert created.stdout.splitlines() == [
        "Creating CA: %s" % (store / "certs" / "ca.pem"),
        "Creating client certificate: %s" % (store / "certs" / "cert.pem"),
        "Running pre-create checks...",
        "Creating machine...",
        "To see how to connect your Docker Client to the Docker Engine running on this virtual machine, run: dockyard-machine env later1",
    ]
    driver = json.loads((store / "machines" / "later1" / "config.json").read_text())["Driver"]
    assert (driver["URL"], driver["IPAddress"]) == (url, "127.0.0.1:%d" % port)

    assert dm(store, "url", "later1").stdout == url + "\n"
    name, active, kind, state, listed_url, _swarm, _docker, errors = _ls_row(store, "later1")
    assert (name, active, kind, state, listed_url) == ("later1", "-", "none", "Running", url)
    assert errors, "ls says why it cannot query the engine"
    refused = dm(store, "env", "later1")
    assert refused.returncode == 1 and refused.stdout == "" and "127.0.0.1:%d" % port in refused.stderr

    # The engine comes up where the record says, with a certificate from the store's CA: env and docker just work.
    authority = _machine.ensure_certificates(MachineStore(str(store)))
    server = _certs.new_server(authority.ca, "%s.later1" % _certs.default_org_user(), ["127.0.0.1"])
    (tmp_path / "server.pem").write_bytes(server.cert_pem)
    (tmp_path / "server-key.pem").write_bytes(server.key_pem)
    os.chmod(tmp_path / "server-key.pem", 0o600)
    with tls_engine(tmp_path / "dockerd", store / "certs" / "ca.pem", tmp_path / "server.pem", tmp_path / "server-key.pem", port=port):
        used = shell(store, 'eval "$(dockyard-machine env later1)" && echo "$DOCKER_HOST" && docker version --format "{{.Server.Version}}"')
        assert used.returncode == 0, used.stdout + used.stderr
        host, version = used.stdout.split()
        assert host == url and version
        row = _ls_row(store, "later1")
        assert (row[3], row[6], row[7]) == ("Running", "v" + version, "")
