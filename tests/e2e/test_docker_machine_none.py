"""docker_machine with the none driver: registering an engine that already listens with TLS."""

from __future__ import annotations

import json

from ansible_collections.dockyard.machine.tests.e2e.conftest import recap, run_playbook
from ansible_collections.dockyard.machine.tests.support import return_docs


def test_none_driver_registers_checks_and_removes(engine_store, tmp_path):
    results = tmp_path / "result.json"
    extra = {
        "machine": "reg1",
        "store_path": str(engine_store.root),
        "machine_driver": "none",
        # HOST:PORT without a scheme, as Docker reads DOCKER_HOST: recorded as tcp://HOST:PORT.
        "none_driver": {"url": engine_store.engine.url.split("//", 1)[1]},
        "results_file": str(results),
    }
    created = run_playbook("machine.yml", extra)
    assert created.returncode == 0, created.stdout + created.stderr
    result = json.loads(results.read_text())
    assert result["changed"] is True and result["docker_version"]
    machine_dir = engine_store.root / "machines" / "reg1"
    # The original's none driver left DOCKER_CERT_PATH empty (its #908); ours copies the client files.
    assert sorted(p.name for p in machine_dir.iterdir()) == ["ca.pem", "cert.pem", "config.json", "dockyard-machine.json", "key.pem"]
    assert result["env"]["DOCKER_CERT_PATH"] == str(machine_dir)
    config = json.loads((machine_dir / "config.json").read_text())
    assert config["DriverName"] == "none" and config["Driver"]["URL"] == engine_store.engine.url
    assert config["Driver"]["IPAddress"] == engine_store.engine.url.split("//")[1]

    planned = run_playbook("machine.yml", extra, check=True)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    returned = [result, json.loads(results.read_text())]

    again = run_playbook("machine.yml", extra)
    assert recap(again.stdout)["changed"] == 0, again.stdout
    returned.append(json.loads(results.read_text()))

    stopped = run_playbook("machine.yml", dict(extra, machine_state="stopped"))
    assert stopped.returncode != 0
    assert "cannot be stopped" in stopped.stdout

    removed = run_playbook("machine.yml", dict(extra, machine_state="absent"))
    assert removed.returncode == 0 and not machine_dir.exists()
    returned.append(json.loads(results.read_text()))
    # Every key returned is in RETURN, and every documented key was returned by one of these runs.
    assert return_docs.compare("docker_machine", returned) == (set(), set(), set())


def test_none_driver_with_the_engines_own_certificates(engine_store, tmp_path):
    """Client files given by the user are copied into the machine folder and used for the TLS check."""
    certs = engine_store.root / "certs"
    results = tmp_path / "result.json"
    extra = {
        "machine": "own-certs",
        "store_path": str(tmp_path / "other-store"),
        "machine_driver": "none",
        "none_driver": {
            "url": engine_store.engine.url,
            "ca_cert": str(certs / "ca.pem"),
            "client_cert": str(certs / "cert.pem"),
            "client_key": str(certs / "key.pem"),
        },
        "results_file": str(results),
    }
    created = run_playbook("machine.yml", extra)
    assert created.returncode == 0, created.stdout + created.stderr
    machine_dir = tmp_path / "other-store" / "machines" / "own-certs"
    assert (machine_dir / "ca.pem").read_bytes() == (certs / "ca.pem").read_bytes()
    assert oct((machine_dir / "key.pem").stat().st_mode & 0o777) == "0o600"
    assert json.loads(results.read_text())["docker_version"]
    # The record points at those copies, so the original binary's ls checks with them too.
    auth = json.loads((machine_dir / "config.json").read_text())["HostOptions"]["AuthOptions"]
    assert auth["CaCertPath"] == str(machine_dir / "ca.pem") and auth["ClientKeyPath"] == str(machine_dir / "key.pem")


def test_bad_none_registrations_leave_nothing_behind(engine_store, tmp_path):
    """A URL that is no engine address is refused naming none.url; an engine that does not trust the store leaves no record."""
    store = tmp_path / "store"
    extra = {"machine": "reg-bad", "store_path": str(store), "machine_driver": "none", "results_file": str(tmp_path / "r.json")}
    not_tcp = run_playbook("machine.yml", dict(extra, none_driver={"url": "udp://" + engine_store.engine.url.split("//", 1)[1]}))
    assert not_tcp.returncode != 0 and "none.url" in not_tcp.stdout and "tcp://" in not_tcp.stdout
    assert not store.exists()

    # A new store has its own CA, which the engine never heard of: the TLS check fails.
    untrusted = run_playbook("machine.yml", dict(extra, none_driver={"url": engine_store.engine.url}))
    assert untrusted.returncode != 0 and "validating certificates" in untrusted.stdout, untrusted.stdout
    assert not (store / "machines" / "reg-bad").exists()
