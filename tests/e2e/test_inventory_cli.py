"""``ansible-inventory --list`` with the docker_machine inventory plugin, as users and AWX run it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import typing as t
from pathlib import Path

import pytest
import yaml

from ansible_collections.dockyard.machine.tests.e2e.conftest import run_playbook
from ansible_collections.dockyard.machine.tests.support import bed
from ansible_collections.dockyard.machine.tests.support.inventory_json import plain

COLLECTION_ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_INVENTORY = Path(sys.executable).with_name("ansible-inventory")
PLUGIN = "dockyard.machine.docker_machine"
EXPECTED_HOSTS = {"m1": "127.0.0.11", "m2": "127.0.0.12", "aws-sandbox": "127.0.5.4"}


@pytest.fixture
def collections_path(tmp_path: Path) -> str:
    """A collections folder holding this checkout as dockyard.machine (other collections: site-packages)."""
    root = tmp_path / "collections"
    (root / "ansible_collections" / "dockyard").mkdir(parents=True)
    (root / "ansible_collections" / "dockyard" / "machine").symlink_to(COLLECTION_ROOT)
    return str(root)


class Listing(t.NamedTuple):
    inventory: dict[str, t.Any]
    stderr: str

    @property
    def hostvars(self) -> dict[str, dict[str, t.Any]]:
        return plain(self.inventory["_meta"]["hostvars"])

    def group(self, name: str) -> set[str]:
        return set(self.inventory.get(name, {}).get("hosts", []))


def ansible_inventory(config: Path, collections_path: str, *extra: str, environ: dict[str, str] | None = None) -> Listing:
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=collections_path,
        ANSIBLE_INVENTORY_ENABLED=PLUGIN,
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
    )
    env.pop("MACHINE_STORAGE_PATH", None)
    env.update(environ or {})
    result = subprocess.run(
        [str(ANSIBLE_INVENTORY), "-i", str(config), "--list", *extra],
        env=env,
        cwd=str(config.parent),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, "ansible-inventory failed (%d):\n%s" % (result.returncode, result.stderr)
    return Listing(json.loads(result.stdout), result.stderr)


def write_config(folder: Path, **options: t.Any) -> Path:
    path = folder / "stage.docker_machine.yml"
    path.write_text(yaml.safe_dump({"plugin": PLUGIN, **options}))
    return path


def assert_fixture_machines(listing: Listing, store: Path) -> None:
    hostvars = listing.hostvars
    assert set(hostvars) == set(EXPECTED_HOSTS)
    for name, address in EXPECTED_HOSTS.items():
        machine_dir = str(store / "machines" / name)
        host = hostvars[name]
        assert host["ansible_host"] == address
        assert host["ansible_ssh_private_key_file"] == machine_dir + "/id_rsa"
        assert host["dm_DOCKER_CERT_PATH"] == machine_dir
        assert host["docker_machine_docker"]["ca_path"] == machine_dir + "/ca.pem"
        assert host["docker_machine_docker"]["client_cert"] == machine_dir + "/cert.pem"
        assert host["docker_machine_docker"]["client_key"] == machine_dir + "/key.pem"
        assert host["docker_machine_docker"]["docker_host"] == "tcp://%s:2376" % address
    assert listing.group("docker_machine_generic") == {"m1", "m2"}
    assert listing.group("docker_machine_amazonec2") == {"aws-sandbox"}


def test_lists_a_moved_store(fixture_store: Path, tmp_path: Path, collections_path: str) -> None:
    config = write_config(
        tmp_path,
        store_path=str(fixture_store),
        strict=True,
        compose={"engine_api": "docker_machine_url | replace('tcp://', 'https://')"},
        keyed_groups=[{"key": "docker_machine_driver", "prefix": "driver"}],
    )
    listing = ansible_inventory(config, collections_path)
    assert_fixture_machines(listing, fixture_store)
    assert listing.hostvars["m1"]["engine_api"] == "https://127.0.0.11:2376"
    assert listing.group("driver_generic") == {"m1", "m2"}
    aws = listing.hostvars["aws-sandbox"]
    assert not {"AccessKey", "SecretKey", "SessionToken"} & set(aws)
    assert "x" not in aws.values() and "y" not in aws.values()
    assert "WARNING" not in listing.stderr


def test_store_path_from_machine_storage_path(fixture_store: Path, tmp_path: Path, collections_path: str) -> None:
    config = write_config(tmp_path)
    listing = ansible_inventory(config, collections_path, environ={"MACHINE_STORAGE_PATH": str(fixture_store)})
    assert_fixture_machines(listing, fixture_store)


def test_broken_record_is_skipped_with_a_warning(fixture_store: Path, tmp_path: Path, collections_path: str) -> None:
    broken = fixture_store / "machines" / "m3" / "config.json"
    broken.parent.mkdir(mode=0o700)
    broken.write_text('{"ConfigVersion": 3, "Dri')
    listing = ansible_inventory(write_config(tmp_path, store_path=str(fixture_store)), collections_path)
    assert set(listing.hostvars) == set(EXPECTED_HOSTS)
    assert str(broken) in " ".join(listing.stderr.split())


def test_a_record_address_ssh_would_read_as_an_option_never_reaches_a_play(fixture_store: Path, tmp_path: Path, collections_path: str) -> None:
    """Issue 15, item 2: a shared store's record whose address is ``-oProxyCommand=...`` is left out with a warning
    naming the machine; a play over the inventory runs nothing on the controller for it."""
    marker = tmp_path / "proxy-command-ran"
    record = fixture_store / "machines" / "m2" / "config.json"
    doc = json.loads(record.read_text())
    doc["Driver"]["IPAddress"] = "-oProxyCommand=touch %s" % marker
    record.write_text(json.dumps(doc, indent=4))
    config = write_config(tmp_path, store_path=str(fixture_store))
    listing = ansible_inventory(config, collections_path)
    assert set(listing.hostvars) == set(EXPECTED_HOSTS) - {"m2"}
    warning = " ".join(listing.stderr.split())
    assert "'m2'" in warning and "-oProxyCommand" in warning and "not a host or user name ssh can take" in warning, listing.stderr
    pinged = ansible_ping(config.rename(tmp_path / "machines.docker_machine.yml"), "m2", collections_path, tmp_path / "home")
    assert "-oProxyCommand" not in pinged.stdout and not marker.exists(), pinged.stdout + pinged.stderr


def test_second_run_is_served_from_the_cache(fixture_store: Path, tmp_path: Path, collections_path: str) -> None:
    cache_dir = tmp_path / "inventory-cache"
    config = write_config(
        tmp_path,
        store_path=str(fixture_store),
        cache=True,
        cache_plugin="ansible.builtin.jsonfile",
        cache_connection=str(cache_dir),
    )
    first = ansible_inventory(config, collections_path)
    assert_fixture_machines(first, fixture_store)
    assert os.listdir(cache_dir), "the first run wrote no cache file"

    moved_away = tmp_path / "renamed-store"
    shutil.move(str(fixture_store), str(moved_away))
    second = ansible_inventory(config, collections_path)
    assert second.inventory == first.inventory

    flushed = ansible_inventory(config, collections_path, "--flush-cache")
    assert flushed.hostvars == {}


def ansible_ping(config: Path, host: str, collections_path: str, home: Path) -> subprocess.CompletedProcess:
    """``ansible -i CONFIG HOST -m ping`` with Ansible's default host key checking and a HOME of its own.

    ssh's control socket goes to a short folder of its own: under a pytest-xdist worker's HOME its path passes the
    108 bytes a Unix socket's path may have (ssh: "too long for Unix domain socket")."""
    control_dir = tempfile.mkdtemp(prefix="cp-")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "MACHINE_"))}
    env.update(
        HOME=str(home),
        ANSIBLE_SSH_CONTROL_PATH_DIR=control_dir,
        ANSIBLE_CONFIG=str(COLLECTION_ROOT / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=collections_path,
        ANSIBLE_INVENTORY_ENABLED=PLUGIN,
        ANSIBLE_HOST_KEY_CHECKING="True",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
    )
    try:
        return subprocess.run(
            [str(ANSIBLE_INVENTORY.with_name("ansible")), "-i", str(config), host, "-m", "ping"],
            env=env,
            cwd=str(config.parent),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        shutil.rmtree(control_dir, ignore_errors=True)


def test_plays_reach_a_machine_with_the_pinned_host_key_and_refuse_a_rebuilt_one(bed_key, tmp_path: Path, collections_path: str) -> None:
    key, pub = bed_key
    name, address = "im-ping", "127.0.0.160"
    store = tmp_path / "store"
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    # An unrelated known_hosts: nothing in it vouches for the machine.
    unrelated_key = "AAAAC3NzaC1lZDI1NTE5AAAAIOmTIP0X4NwqzRBG6aL5v3CEm7gYyGm5eVQ0yJ7aM2d1"
    key_type = pub.read_text().split(" ", 2)[0]
    (home / ".ssh" / "known_hosts").write_text(f"unrelated.example.test {key_type} {unrelated_key}\n")
    bed.start_machine(name, "bookworm-docker", address, pub)
    try:
        extra = {
            "machine": name,
            "store_path": str(store),
            "generic": {"ip_address": address, "ssh_key": str(key)},
            "engine": {"source": "distro"},
            "results_file": str(tmp_path / "result.json"),
        }
        created = run_playbook("machine.yml", extra)
        assert created.returncode == 0, created.stdout + created.stderr
        assert json.loads((store / "machines" / name / "dockyard-machine.json").read_text())["HostKeys"]
        config = write_config(tmp_path, store_path=str(store))
        config = config.rename(tmp_path / "machines.docker_machine.yml")

        reached = ansible_ping(config, name, collections_path, home)
        assert reached.returncode == 0, reached.stdout + reached.stderr
        assert '"ping": "pong"' in reached.stdout
        known_hosts = (store / "dockyard-known_hosts").read_text()
        assert known_hosts.startswith("dockyard-machine-%s " % name)
        # Nothing was learned into the user's known_hosts on the way.
        assert address not in (home / ".ssh" / "known_hosts").read_text()

        bed.start_machine(name, "bookworm-docker", address, pub)  # rebuilt: new host keys on the same address
        refused = ansible_ping(config, name, collections_path, home)
        assert refused.returncode != 0
        assert "Host key verification failed" in refused.stdout + refused.stderr, refused.stdout + refused.stderr
    finally:
        bed.stop_machine(name)
