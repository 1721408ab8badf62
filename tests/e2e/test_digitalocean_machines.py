"""digitalocean machines made by docker_machine against the DigitalOcean API emulator, provisioned over SSH, used over TLS.

The emulator (tests/support/do_emulator.py) runs in this process on 127.0.0.1; each droplet it creates is backed by a
machine container of the test bed, started on the droplet's public address (127.0.9.x) with the SSH keys the droplet
was created with, so a create goes API -> SSH -> provision -> Docker over TLS with the key the driver made and imported.
A droplet that powers on at another address, or gets a reserved IP, takes its container along. Only the emulator and
those loopback addresses are dialled. The token reaches the playbook as DIGITALOCEAN_ACCESS_TOKEN, as AWX's
credential type injects it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from ansible_collections.dockyard.machine.tests.e2e.conftest import docker_cli, recap, run_playbook
from ansible_collections.dockyard.machine.tests.e2e.test_inventory_cli import ansible_inventory
from ansible_collections.dockyard.machine.tests.e2e import test_inventory_cli as cli_tests
from ansible_collections.dockyard.machine.tests.support.do_emulator import TOKEN, Emulator, emulator
from ansible_collections.dockyard.machine.tests.support.do_machines import Cloud

EMPTY = {"droplets": [], "ssh_keys": [], "firewalls": [], "reserved_ips": []}
TOKEN_ENV = {"DIGITALOCEAN_ACCESS_TOKEN": TOKEN}
collections_path = cli_tests.collections_path


@pytest.fixture(scope="module")
def cloud(bed_key, tmp_path_factory) -> t.Iterator[Cloud]:
    with emulator() as state:
        made = Cloud(state, tmp_path_factory.mktemp("droplet-keys"))
        try:
            yield made
        finally:
            made.stop_all()


def _run(
    do: Emulator,
    tmp_path: Path,
    store: Path,
    state: str = "present",
    *,
    options: dict | None = None,
    inventory: Path | None = None,
    forks: int | None = None,
    **extra: t.Any,
) -> subprocess.CompletedProcess:
    results = tmp_path / "results"
    results.mkdir(exist_ok=True)
    do_options = {"firewall_cidrs": ["127.0.0.0/8"]}
    do_options.update(options or {})
    extra_vars = dict(store_path=str(store), machine_state=state, results_dir=str(results), do_options=do_options, do_api_url=do.url)
    extra_vars.update(extra)
    if inventory is not None:
        extra_vars["target"] = "dofleet"
    return run_playbook("do_machine.yml", extra_vars, env=TOKEN_ENV, inventory=inventory, forks=forks)


def _result(tmp_path: Path, name: str) -> dict[str, t.Any]:
    return json.loads((tmp_path / "results" / ("%s.json" % name)).read_text())


def _record(store: Path, name: str) -> dict[str, t.Any]:
    return json.loads((store / "machines" / name / "config.json").read_text())


def _sidecar(store: Path, name: str) -> dict[str, t.Any]:
    return json.loads((store / "machines" / name / "dockyard-machine.json").read_text())


def _tls_env(store: Path, name: str) -> dict[str, str]:
    record = _record(store, name)
    return {"DOCKER_HOST": "tcp://%s:2376" % record["Driver"]["IPAddress"], "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(store / "machines" / name)}


def _docker_version(store: Path, name: str) -> subprocess.CompletedProcess:
    return docker_cli(_tls_env(store, name), "version", "--format", "{{.Server.Version}}")


def _sans(cert: Path) -> str:
    return subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", str(cert)], capture_output=True, text=True, check=True).stdout


def test_create_tls_rerun_stop_start_on_a_new_address_and_absent(cloud: Cloud, tmp_path: Path) -> None:
    do = cloud.fresh()
    store = tmp_path / "store"
    name = "do-life"
    started = time.monotonic()
    created = _run(do, tmp_path, store, machine=name, options={"tags": ["team-web"]})
    assert created.returncode == 0, created.stdout + created.stderr
    print("one digitalocean machine, create to TLS: %.1f s" % (time.monotonic() - started))
    steps = _result(tmp_path, name)["steps"]
    assert {"ssh key", "create droplet", "firewall", "server certificate"} <= set(steps), steps
    record = _record(store, name)["Driver"]
    droplet = do.droplets[record["DropletID"]]
    assert record["IPAddress"] == droplet["networks"]["v4"][0]["ip_address"] and record["IPAddress"].startswith("127.0.9.")
    assert droplet["tags"][:2] == ["dockyard-machine", "dockyard-machine:%s" % name] and droplet["tags"][-1] == "team-web"
    assert record["AccessToken"] == "" and TOKEN not in json.dumps(_record(store, name)) + json.dumps(_sidecar(store, name))
    assert do.firewalls[_sidecar(store, name)["Firewall"]["Id"]]["droplet_ids"] == [record["DropletID"]]
    version = _docker_version(store, name)
    assert version.returncode == 0, version.stderr

    again = _run(do, tmp_path, store, machine=name, options={"tags": ["team-web"]})
    assert again.returncode == 0 and recap(again.stdout)["changed"] == 0, again.stdout

    stopped = _run(do, tmp_path, store, "stopped", machine=name)
    assert stopped.returncode == 0 and recap(stopped.stdout)["changed"] == 1, stopped.stdout + stopped.stderr
    assert do.droplets[record["DropletID"]]["status"] == "off"
    assert recap(_run(do, tmp_path, store, "stopped", machine=name).stdout)["changed"] == 0

    # The droplet powers on at another address (the emulator moves its container): re-issued in the same task.
    do.next_address[record["DropletID"]] = "127.0.9.77"
    up = _run(do, tmp_path, store, "started", machine=name)
    assert up.returncode == 0, up.stdout + up.stderr
    steps = _result(tmp_path, name)["steps"]
    assert {"start droplet", "address", "server certificate"} <= set(steps), steps
    assert _record(store, name)["Driver"]["IPAddress"] == "127.0.9.77"
    assert "IP Address:127.0.9.77" in _sans(store / "machines" / name / "server.pem")
    version = _docker_version(store, name)
    assert version.returncode == 0, version.stderr
    assert recap(_run(do, tmp_path, store, "started", machine=name).stdout)["changed"] == 0

    removed = _run(do, tmp_path, store, "absent", machine=name)
    assert removed.returncode == 0 and recap(removed.stdout)["changed"] == 1, removed.stdout + removed.stderr
    do.wait_idle()
    assert do.resources() == EMPTY
    assert not (store / "machines" / name).exists()


def test_a_reserved_ip_keeps_the_address_across_stop_and_start(cloud: Cloud, tmp_path: Path) -> None:
    do = cloud.fresh()
    store = tmp_path / "store"
    name = "do-fixed"
    created = _run(do, tmp_path, store, machine=name, options={"reserved_ip": True})
    assert created.returncode == 0, created.stdout + created.stderr
    address = _record(store, name)["Driver"]["IPAddress"]
    assert address in do.reserved_ips and do.reserved_ips[address]["droplet"]["id"] == _record(store, name)["Driver"]["DropletID"]
    assert _docker_version(store, name).returncode == 0
    assert _run(do, tmp_path, store, "stopped", machine=name).returncode == 0
    up = _run(do, tmp_path, store, "started", machine=name)
    assert up.returncode == 0 and "address" not in _result(tmp_path, name)["steps"], up.stdout
    assert _record(store, name)["Driver"]["IPAddress"] == address and _docker_version(store, name).returncode == 0
    assert _run(do, tmp_path, store, "absent", machine=name).returncode == 0
    do.wait_idle()
    assert do.resources() == EMPTY


def test_a_failure_after_the_droplet_exists_then_absent_leaves_nothing(cloud: Cloud, tmp_path: Path) -> None:
    do = cloud.fresh()
    store = tmp_path / "store"
    name = "do-broken"
    do.fail_next("POST", "^/v2/firewalls$", 422, {"id": "unprocessable_entity", "message": "You have reached the firewall limit."})
    failed = _run(do, tmp_path, store, machine=name, expect_failure=True)
    result = _result(tmp_path, name)
    assert result.get("failed") and result["step"] == "firewall", result
    assert "firewall limit" in result["msg"] and "state=absent" in result["msg"]
    assert len(do.droplets) == 1 and len(do.ssh_keys) == 1, failed.stdout
    assert _sidecar(store, name)["Status"] == "error"
    removed = _run(do, tmp_path, store, "absent", machine=name)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    do.wait_idle()
    assert do.resources() == EMPTY and not (store / "machines" / name).exists()


def test_adoption_after_the_store_is_lost(cloud: Cloud, tmp_path: Path) -> None:
    do = cloud.fresh()
    lost, store = tmp_path / "lost", tmp_path / "store"
    name = "do-adopt"
    assert _run(do, tmp_path, lost, machine=name).returncode == 0
    droplet_id = _record(lost, name)["Driver"]["DropletID"]
    backup = tmp_path / "backup_key"
    shutil.copy2(lost / "machines" / name / "id_rsa", backup)
    shutil.rmtree(lost)  # the laptop is gone; the droplet (and its container) keep running
    adopted = _run(do, tmp_path, store, machine=name, options={"adopt": True, "ssh_key_path": str(backup)})
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    steps = _result(tmp_path, name)["steps"]
    assert "adopt droplet" in steps and "create droplet" not in steps, steps
    assert _record(store, name)["Driver"]["DropletID"] == droplet_id and len(do.droplets) == 1
    version = _docker_version(store, name)
    assert version.returncode == 0, version.stderr
    assert _run(do, tmp_path, store, "absent", machine=name).returncode == 0
    do.wait_idle()
    assert do.resources() == EMPTY


def test_five_machines_in_one_play(cloud: Cloud, tmp_path: Path) -> None:
    do = cloud.fresh()
    store = tmp_path / "store"
    names = ["do-fleet%d" % n for n in range(1, 6)]
    inventory = tmp_path / "fleet.ini"
    inventory.write_text("[dofleet]\n%s\n" % "\n".join(names))
    started = time.monotonic()
    made = _run(do, tmp_path, store, inventory=inventory, forks=5)
    assert made.returncode == 0, made.stdout + made.stderr
    print("five digitalocean machines in one play (forks=5): %.1f s" % (time.monotonic() - started))
    with ThreadPoolExecutor(max_workers=5) as pool:
        versions = list(pool.map(lambda n: _docker_version(store, n), names))
    assert all(v.returncode == 0 for v in versions), [v.stderr for v in versions]
    assert len(do.droplets) == len(do.ssh_keys) == len(do.firewalls) == 5
    again = _run(do, tmp_path, store, inventory=inventory, forks=5)
    assert again.returncode == 0 and sum(recap(again.stdout, n)["changed"] for n in names) == 0, again.stdout
    gone = _run(do, tmp_path, store, "absent", inventory=inventory, forks=5)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    do.wait_idle()
    assert do.resources() == EMPTY


def test_the_inventory_refreshes_droplets_in_one_listing(cloud: Cloud, tmp_path: Path, collections_path: str) -> None:
    do = cloud.fresh()
    store = tmp_path / "store"
    names = ["do-inv1", "do-inv2"]
    for name in names:
        assert _run(do, tmp_path, store, machine=name).returncode == 0
    first = _record(store, names[0])["Driver"]
    assert _run(do, tmp_path, store, "stopped", machine=names[1]).returncode == 0
    # The first droplet moved behind the store's back (another controller started it elsewhere): the record is stale.
    do.next_address[first["DropletID"]] = "127.0.9.88"
    from ansible_collections.dockyard.machine.plugins.module_utils._drivers.digitalocean_api import DigitalOceanAPI

    api = DigitalOceanAPI(TOKEN, do.url)
    api.wait_action(api.droplet_action(first["DropletID"], "power_off"), 30, interval=0.2)
    api.wait_action(api.droplet_action(first["DropletID"], "power_on"), 60, interval=0.2)
    config = tmp_path / "machines.docker_machine.yml"
    config.write_text(yaml.safe_dump({"plugin": "dockyard.machine.docker_machine", "store_path": str(store), "ec2_refresh": True, "aws_endpoint_url": do.url}))
    do.requests.clear()
    listing = ansible_inventory(config, collections_path, environ=TOKEN_ENV)
    hosts = listing.hostvars
    assert hosts[names[0]]["ansible_host"] == "127.0.9.88" and hosts[names[0]]["docker_machine_state"] == "Running", listing.stderr
    assert hosts[names[0]]["docker_machine_docker"]["docker_host"] == "tcp://127.0.9.88:2376"
    assert hosts[names[1]]["docker_machine_state"] == "Stopped"
    assert [r for r in do.requests if r[1].startswith("/v2/droplets")] == [("GET", "/v2/droplets")]  # one listing, by tag
    for name in names:
        assert _run(do, tmp_path, store, "absent", machine=name).returncode == 0
    do.wait_idle()
    assert do.resources() == EMPTY


def test_the_command_line_as_the_tutorial_uses_it(cloud: Cloud, tmp_path: Path) -> None:
    """``dockyard-machine create -d digitalocean --digitalocean-access-token ... NAME``, then ``env`` and docker."""
    from ansible_collections.dockyard.machine.tests.e2e.test_cli import dm, shell

    do = cloud.fresh()
    store = tmp_path / "store"
    name = "do-cli"
    helped = dm(store, "create", "-d", "digitalocean", "--help")
    assert "--digitalocean-access-token" in helped.stdout and "--digitalocean-size" in helped.stdout, helped.stdout + helped.stderr
    created = dm(
        store,
        "create",
        "-d",
        "digitalocean",
        "--digitalocean-access-token",
        TOKEN,
        "--digitalocean-api-url",
        do.url,
        "--digitalocean-region",
        "ams3",
        "--digitalocean-tags",
        "team-web,env-test",
        name,
        DIGITALOCEAN_ACCESS_TOKEN="",
    )
    assert created.returncode == 0, created.stdout + created.stderr
    assert TOKEN not in (store / "machines" / name / "config.json").read_text() + (store / "machines" / name / "dockyard-machine.json").read_text()
    droplet = do.droplets[_record(store, name)["Driver"]["DropletID"]]
    assert droplet["region"]["slug"] == "ams3" and droplet["tags"][-2:] == ["team-web", "env-test"]
    used = shell(store, 'eval "$(dockyard-machine env %s)" && docker version --format "{{.Server.Version}}"' % name)
    assert used.returncode == 0 and used.stdout.strip(), used.stdout + used.stderr
    # Its record names the emulator's API: a command that does not name it too is refused, and the token goes nowhere.
    before = len(do.requests)
    refused = dm(store, "stop", name, DIGITALOCEAN_ACCESS_TOKEN=TOKEN)
    assert refused.returncode != 0 and do.url in refused.stdout + refused.stderr, refused.stdout + refused.stderr
    assert len(do.requests) == before and do.droplets[droplet["id"]]["status"] == "active"
    assert _run(do, tmp_path, store, "absent", machine=name).returncode == 0
    do.wait_idle()
    assert do.resources() == EMPTY


def test_a_bundle_moves_the_machine_and_absent_elsewhere_leaves_nothing(cloud: Cloud, tmp_path: Path) -> None:
    """The driver's sidecar facts (its firewall, reserved IP, the API it was made through) travel in a bundle: the store it
    is imported into removes everything the create made, as the store that made it would."""
    do = cloud.fresh()
    store_a, store_b = tmp_path / "a" / "machine", tmp_path / "elsewhere" / "b"
    name = "do-moved"
    created = _run(do, tmp_path, store_a, machine=name, options={"reserved_ip": True})
    assert created.returncode == 0, created.stdout + created.stderr
    made = do.resources()
    assert [len(made[kind]) for kind in ("droplets", "ssh_keys", "firewalls", "reserved_ips")] == [1, 1, 1, 1], made
    moved_result = tmp_path / "moved.json"
    extra = {
        "store_a": str(store_a),
        "store_b": str(store_b),
        "machine": name,
        "bundle": str(tmp_path / "moved.bundle"),
        "passphrase": "correct horse battery staple",
        "results_file": str(moved_result),
    }
    moved = run_playbook("move_store.yml", extra)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert json.loads(moved_result.read_text())["env_b"]["docker_version"]
    sidecar = _sidecar(store_b, name)
    assert sidecar["Firewall"]["Id"] == made["firewalls"][0] and sidecar["ReservedIp"] == {"Ip": made["reserved_ips"][0], "Created": True}
    assert sidecar["APIURL"] == do.url
    removed = _run(do, tmp_path, store_b, "absent", machine=name)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    do.wait_idle()
    assert do.resources() == EMPTY and not (store_b / "machines" / name).exists()
    again = _run(do, tmp_path, store_a, "absent", machine=name)
    assert again.returncode == 0, again.stdout + again.stderr
    assert not (store_a / "machines" / name).exists()
