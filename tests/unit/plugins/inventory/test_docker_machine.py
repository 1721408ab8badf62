"""The docker_machine inventory plugin against a real store folder (a moved copy of the original's store)."""

from __future__ import annotations

import importlib
import json
import os
import shlex
import shutil
import socket
import stat
import time
import typing as t
from pathlib import Path

import pytest
import yaml
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader, inventory_loader
from ansible.utils.collection_loader import AnsibleCollectionConfig

import ansible_collections
import ansible_collections.dockyard.machine as collection_package
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.options import PAIRS
from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError
from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineStore
from ansible_collections.dockyard.machine.plugins.plugin_utils import _inventory
from ansible_collections.dockyard.machine.tests.conftest import FIXTURE_ROOT
from ansible_collections.dockyard.machine.tests.support.tls_engine import free_loopback_port

PLUGIN = "dockyard.machine.docker_machine"
EXPECTED_HOSTS = {"m1": "127.0.0.11", "m2": "127.0.0.12", "aws-sandbox": "127.0.5.4"}
# Values the fixture's aws-sandbox record holds in plain text, and distinctive ones the tests put there.
FIXTURE_SECRETS = ("x", "y")
PLANTED_SECRETS = {"AccessKey": "AKIAPLANTEDACCESSKEY", "SecretKey": "planted/secret+key", "SessionToken": "planted-session-token"}
SECRET_NAMES = {"AccessKey", "SecretKey", "SessionToken"}


class RecordingDisplay:
    """Stands in for the plugin's ``display``: keeps warnings, ignores the chatter."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warning(self, msg: str, *args: t.Any, **kwargs: t.Any) -> None:
        self.warnings.append(msg)

    def __getattr__(self, name: str) -> t.Callable[..., None]:
        return lambda *args, **kwargs: None


@pytest.fixture(scope="module", autouse=True)
def plugin_loader() -> None:
    """Let Ansible's plugin loader find this collection, as ansible-inventory's start-up does.

    Under plain pytest the collection package may have been imported before Ansible's collection finder
    existed, so it lacks the metadata (meta/runtime.yml) the loader needs; reloading the package through the
    finder adds it without replacing any module object.  Under ``ansible-test units`` both are no-ops.
    The finder gets every folder that holds collections (this one's, and the amazon.aws ours imports).
    """
    if AnsibleCollectionConfig.collection_finder is None:
        init_plugin_loader([str(Path(p).parent) for p in ansible_collections.__path__])
    importlib.reload(collection_package)
    # Likewise amazon.aws, when a test before this one imported it (the amazonec2 driver's clients).
    import ansible_collections.amazon.aws as amazon_aws

    importlib.reload(amazon_aws)


class Run(t.NamedTuple):
    inventory: InventoryData
    warnings: list[str]

    def hostvars(self, name: str) -> dict[str, t.Any]:
        return dict(self.inventory.get_host(name).vars)

    def all_hostvars(self) -> dict[str, dict[str, t.Any]]:
        return {name: self.hostvars(name) for name in self.inventory.hosts}

    def group_hosts(self, group: str) -> set[str]:
        return {host.name for host in self.inventory.groups[group].get_hosts()}


def run_plugin(
    config_dir: Path,
    store: Path,
    parse_cache: bool = True,
    state_probe: t.Callable[..., str] | None = None,
    config_name: str = "stage.docker_machine.yml",
    **options: t.Any,
) -> Run:
    """Write a config file and let a fresh plugin instance parse it, as ansible-inventory would."""
    config = {"plugin": PLUGIN, "store_path": str(store)}
    config.update(options)
    path = config_dir / config_name
    path.write_text(yaml.safe_dump(config))
    plugin = inventory_loader.get(PLUGIN)
    assert plugin is not None, "the plugin loader cannot find %s" % PLUGIN
    display = RecordingDisplay()
    plugin.display = display
    if state_probe is not None:
        plugin.state_probe = state_probe
    assert plugin.verify_file(str(path))
    inventory = InventoryData()
    plugin.parse(inventory, DataLoader(), str(path), cache=parse_cache)
    if options.get("cache"):
        plugin.update_cache_if_changed()  # what the inventory manager does after every parse
    return Run(inventory, display.warnings)


def leaves(value: t.Any, trail: str = "") -> t.Iterator[tuple[str, t.Any]]:
    """Every (path, scalar) in nested host variables; dict keys are yielded as scalars too."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield "%s{key}" % trail, key
            yield from leaves(item, "%s.%s" % (trail, key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from leaves(item, "%s[%d]" % (trail, index))
    else:
        yield trail, value


def edit_config(store: Path, name: str, change: t.Callable[[dict[str, t.Any]], None]) -> None:
    path = store / "machines" / name / "config.json"
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, indent=4))


def add_machine_folder(store: Path, name: str, config_text: str | None) -> Path:
    folder = store / "machines" / name
    folder.mkdir(mode=0o700)
    if config_text is not None:
        (folder / "config.json").write_text(config_text)
        os.chmod(folder / "config.json", 0o600)
    return folder / "config.json"


# --- what is listed -------------------------------------------------------------------------------


def test_lists_the_three_machines_with_their_addresses(fixture_store: Path, tmp_path: Path) -> None:
    run = run_plugin(tmp_path, fixture_store)
    assert set(run.inventory.hosts) == set(EXPECTED_HOSTS)
    for name, address in EXPECTED_HOSTS.items():
        hostvars = run.hostvars(name)
        assert hostvars["ansible_host"] == address
        assert hostvars["ansible_port"] == 22
        assert hostvars["ansible_user"] == "root"
        assert hostvars["docker_machine_name"] == name
        assert hostvars["docker_machine_url"] == "tcp://%s:2376" % address
        assert hostvars["dm_DOCKER_HOST"] == "tcp://%s:2376" % address
        assert hostvars["dm_DOCKER_TLS_VERIFY"] == "1"
        assert hostvars["dm_DOCKER_MACHINE_NAME"] == name
        assert hostvars["docker_machine_labels"] == []
        assert hostvars["docker_machine_tags"] == {}
        assert hostvars["dm_tags"] == ""
        assert "docker_machine_state" not in hostvars  # live_state is off: not checked, not set
    assert run.hostvars("aws-sandbox")["docker_machine_driver"] == "amazonec2"
    assert run.hostvars("m1")["docker_machine_driver"] == "generic"
    assert run.warnings == []


def test_paths_point_into_the_moved_store(fixture_store: Path, tmp_path: Path) -> None:
    run = run_plugin(tmp_path, fixture_store)
    root = str(fixture_store)
    for name in EXPECTED_HOSTS:
        hostvars = run.hostvars(name)
        machine_dir = os.path.join(root, "machines", name)
        assert hostvars["ansible_ssh_private_key_file"] == os.path.join(machine_dir, "id_rsa")
        assert hostvars["dm_DOCKER_CERT_PATH"] == machine_dir
        docker = hostvars["docker_machine_docker"]
        assert docker == {
            "docker_host": hostvars["docker_machine_url"],
            "tls": True,
            "validate_certs": True,
            "ca_path": os.path.join(machine_dir, "ca.pem"),
            "client_cert": os.path.join(machine_dir, "cert.pem"),
            "client_key": os.path.join(machine_dir, "key.pem"),
        }
        assert hostvars["docker_machine_env"] == {
            "DOCKER_TLS_VERIFY": "1",
            "DOCKER_HOST": hostvars["docker_machine_url"],
            "DOCKER_CERT_PATH": machine_dir,
            "DOCKER_MACHINE_NAME": name,
        }
        for trail, value in leaves(hostvars):
            if isinstance(value, str) and value.startswith("/"):
                assert value.startswith(root + "/"), "%s.%s = %s is outside the store" % (name, trail, value)
                assert os.path.exists(value), "%s.%s = %s does not exist" % (name, trail, value)
                assert FIXTURE_ROOT not in value


def test_ca_paths_fall_back_to_the_store_certs_when_the_machine_folder_has_none(fixture_store: Path, tmp_path: Path) -> None:
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (fixture_store / "machines" / "m2" / name).unlink()
    docker = run_plugin(tmp_path, fixture_store).hostvars("m2")["docker_machine_docker"]
    certs = str(fixture_store / "certs")
    assert (docker["ca_path"], docker["client_cert"], docker["client_key"]) == tuple(os.path.join(certs, f) for f in ("ca.pem", "cert.pem", "key.pem"))


def test_no_secret_reaches_the_host_variables(fixture_store: Path, tmp_path: Path) -> None:
    fixture_run = run_plugin(tmp_path, fixture_store)
    for name, hostvars in fixture_run.all_hostvars().items():
        for trail, value in leaves(hostvars):
            assert value not in FIXTURE_SECRETS, "%s%s exposes a credential" % (name, trail)
            assert value not in SECRET_NAMES, "%s%s names a credential field" % (name, trail)

    edit_config(fixture_store, "aws-sandbox", lambda doc: doc["Driver"].update(PLANTED_SECRETS))
    planted_run = run_plugin(tmp_path, fixture_store)
    dumped = json.dumps(planted_run.all_hostvars())
    assert "aws-sandbox" in planted_run.inventory.hosts
    for secret in PLANTED_SECRETS.values():
        assert secret not in dumped
    assert "PRIVATE KEY" not in dumped and "BEGIN CERTIFICATE" not in dumped  # paths only, never contents


def test_amazonec2_tags_and_engine_labels(fixture_store: Path, tmp_path: Path) -> None:
    edit_config(fixture_store, "aws-sandbox", lambda doc: doc["Driver"].update(Tags="team,web,env,prod,dangling"))
    edit_config(fixture_store, "m1", lambda doc: doc["HostOptions"]["EngineOptions"].update(Labels=["role=web", "zone=a"]))
    edit_config(fixture_store, "m2", lambda doc: doc["Driver"].update(Tags="k,v"))  # generic: no tag format
    run = run_plugin(tmp_path, fixture_store)
    aws = run.hostvars("aws-sandbox")
    assert aws["docker_machine_tags"] == {"team": "web", "env": "prod"}
    assert aws["dm_tags"] == "team,web,env,prod,dangling"
    assert run.hostvars("m1")["docker_machine_labels"] == ["role=web", "zone=a"]
    assert run.hostvars("m2")["docker_machine_tags"] == {}
    assert run.hostvars("m2")["dm_tags"] == "k,v"


def test_none_driver_machine_uses_the_url_host_and_no_ssh(fixture_store: Path, tmp_path: Path) -> None:
    def to_none(doc: dict[str, t.Any]) -> None:
        doc["DriverName"] = "none"
        doc["Driver"] = {"IPAddress": "127.0.0.21:2376", "MachineName": "m2", "SSHUser": "", "SSHPort": 0, "SSHKeyPath": "",
                         "StorePath": doc["Driver"]["StorePath"], "URL": "tcp://127.0.0.21:2376"}

    edit_config(fixture_store, "m2", to_none)
    hostvars = run_plugin(tmp_path, fixture_store).hostvars("m2")
    assert hostvars["ansible_host"] == "127.0.0.21"
    assert hostvars["docker_machine_url"] == "tcp://127.0.0.21:2376"
    assert not {"ansible_port", "ansible_user", "ansible_ssh_private_key_file"} & set(hostvars)


def test_machine_of_an_unsupported_driver_is_listed_without_docker_values(fixture_store: Path, tmp_path: Path) -> None:
    edit_config(fixture_store, "m2", lambda doc: doc.update(DriverName="virtualbox"))
    run = run_plugin(tmp_path, fixture_store)
    hostvars = run.hostvars("m2")
    assert hostvars["ansible_host"] == "127.0.0.12"
    assert hostvars["docker_machine_driver"] == "virtualbox"
    assert "docker_machine_url" not in hostvars
    assert run.group_hosts("docker_machine_virtualbox") == {"m2"}
    assert any("'m2'" in w and "virtualbox" in w for w in run.warnings)


def test_store_data_is_never_templated(fixture_store: Path, tmp_path: Path) -> None:
    edit_config(fixture_store, "m1", lambda doc: doc["HostOptions"]["EngineOptions"].update(Labels=["evil={{ 6 * 7 }}"]))
    run = run_plugin(tmp_path, fixture_store, strict=True, compose={"label_text": "docker_machine_labels | join(',')"})
    assert run.hostvars("m1")["label_text"] == "evil={{ 6 * 7 }}"


def test_store_data_from_the_cache_is_never_templated(fixture_store: Path, tmp_path: Path) -> None:
    edit_config(fixture_store, "m1", lambda doc: doc["HostOptions"]["EngineOptions"].update(Labels=["evil={{ 6 * 7 }}"]))
    options = dict(cache_options(tmp_path), strict=True, compose={"label_text": "docker_machine_labels | join(',')"})
    run_plugin(tmp_path, fixture_store, **options)
    shutil.rmtree(fixture_store)
    assert run_plugin(tmp_path, fixture_store, **options).hostvars("m1")["label_text"] == "evil={{ 6 * 7 }}"


def test_make_unsafe_untrusts_every_template_string() -> None:
    """Even a string some earlier layer trusted (a cache decoder, say) leaves make_unsafe untrusted."""
    template = pytest.importorskip("ansible.template")
    if not hasattr(template, "trust_as_template"):
        pytest.skip("ansible-core before 2.19 marks unsafe strings by type")
    trusted = template.trust_as_template("{{ 6 * 7 }}")
    assert template.is_trusted_as_template(trusted)
    marked = _inventory.make_unsafe({"labels": [trusted], template.trust_as_template("{{ k }}"): {"n": 1, "plain": "a,b"}})
    assert marked == {"labels": ["{{ 6 * 7 }}"], "{{ k }}": {"n": 1, "plain": "a,b"}}
    assert not template.is_trusted_as_template(marked["labels"][0])
    assert not any(template.is_trusted_as_template(key) for key in marked)


# --- groups and constructed features -----------------------------------------------------------------


def test_groups_by_driver(fixture_store: Path, tmp_path: Path) -> None:
    run = run_plugin(tmp_path, fixture_store)
    assert run.group_hosts("docker_machine_generic") == {"m1", "m2"}
    assert run.group_hosts("docker_machine_amazonec2") == {"aws-sandbox"}


def test_group_by_driver_can_be_turned_off(fixture_store: Path, tmp_path: Path) -> None:
    run = run_plugin(tmp_path, fixture_store, group_by_driver=False)
    assert not [g for g in run.inventory.groups if g.startswith("docker_machine_")]
    assert set(run.inventory.hosts) == set(EXPECTED_HOSTS)


def test_driver_group_names_are_sanitized() -> None:
    assert _inventory.driver_group_name("generic") == "docker_machine_generic"
    assert _inventory.driver_group_name("my-driver.v2") == "docker_machine_my_driver_v2"


def test_compose_sees_the_plugin_variables(fixture_store: Path, tmp_path: Path) -> None:
    compose = {
        "engine_api": "docker_machine_url | replace('tcp://', 'https://')",
        "cert_dir": "dm_DOCKER_CERT_PATH",
        "ca_file": "docker_machine_docker.ca_path",
    }
    run = run_plugin(tmp_path, fixture_store, strict=True, compose=compose)
    m1 = run.hostvars("m1")
    assert m1["engine_api"] == "https://127.0.0.11:2376"
    assert m1["cert_dir"] == str(fixture_store / "machines" / "m1")
    assert m1["ca_file"] == str(fixture_store / "machines" / "m1" / "ca.pem")
    assert run.hostvars("aws-sandbox")["engine_api"] == "https://127.0.5.4:2376"


def test_keyed_and_conditional_groups_on_plugin_variables(fixture_store: Path, tmp_path: Path) -> None:
    run = run_plugin(
        tmp_path,
        fixture_store,
        strict=True,
        keyed_groups=[{"key": "docker_machine_driver", "prefix": "driver"}],
        groups={"ec2": "docker_machine_driver == 'amazonec2'", "subnet_0": "ansible_host.startswith('127.0.0.')"},
    )
    assert run.group_hosts("driver_generic") == {"m1", "m2"}
    assert run.group_hosts("driver_amazonec2") == {"aws-sandbox"}
    assert run.group_hosts("ec2") == {"aws-sandbox"}
    assert run.group_hosts("subnet_0") == {"m1", "m2"}


# --- broken records ------------------------------------------------------------------------------------


def test_half_written_record_is_skipped_with_a_warning_naming_the_file(fixture_store: Path, tmp_path: Path) -> None:
    broken = add_machine_folder(fixture_store, "m3", '{"ConfigVersion": 3, "Dri')
    run = run_plugin(tmp_path, fixture_store)
    assert set(run.inventory.hosts) == set(EXPECTED_HOSTS)
    assert len(run.warnings) == 1
    assert str(broken) in run.warnings[0]
    assert "m3" in run.warnings[0]


def test_folder_without_config_is_skipped_with_a_warning(fixture_store: Path, tmp_path: Path) -> None:
    missing = add_machine_folder(fixture_store, "m4", None)
    run = run_plugin(tmp_path, fixture_store)
    assert set(run.inventory.hosts) == set(EXPECTED_HOSTS)
    assert len(run.warnings) == 1
    assert str(missing) in run.warnings[0]


def test_invalid_folder_name_is_skipped_with_a_warning(fixture_store: Path, tmp_path: Path) -> None:
    folder = fixture_store / "machines" / "-bad name"
    shutil.copytree(fixture_store / "machines" / "m1", folder)
    run = run_plugin(tmp_path, fixture_store)
    assert set(run.inventory.hosts) == set(EXPECTED_HOSTS)
    assert len(run.warnings) == 1
    assert str(folder) in run.warnings[0]


def test_record_with_wrong_field_types_is_skipped(fixture_store: Path, tmp_path: Path) -> None:
    edit_config(fixture_store, "m2", lambda doc: doc["Driver"].update(SSHPort="twenty-two"))
    run = run_plugin(tmp_path, fixture_store)
    assert set(run.inventory.hosts) == {"m1", "aws-sandbox"}
    assert len(run.warnings) == 1
    assert str(fixture_store / "machines" / "m2" / "config.json") in run.warnings[0]


def test_missing_store_gives_no_hosts_and_a_warning(tmp_path: Path) -> None:
    run = run_plugin(tmp_path, tmp_path / "nowhere")
    assert list(run.inventory.hosts) == []
    assert len(run.warnings) == 1 and str(tmp_path / "nowhere") in run.warnings[0]


def test_empty_store_gives_no_hosts_and_no_warning(tmp_path: Path) -> None:
    (tmp_path / "store" / "machines").mkdir(parents=True)
    run = run_plugin(tmp_path, tmp_path / "store")
    assert list(run.inventory.hosts) == [] and run.warnings == []


# --- pinned SSH host keys -------------------------------------------------------------------------------

ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOmTIP0X4NwqzRBG6aL5v3CEm7gYyGm5eVQ0yJ7aM2d1"
ECDSA = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEXAMPLEKEY+/="


def pin_host_keys(store: Path, name: str, keys: list[str]) -> None:
    """What docker_machine's first contact leaves in the sidecar."""
    sidecar = store / "machines" / name / "dockyard-machine.json"
    doc = json.loads(sidecar.read_text()) if sidecar.exists() else {"SchemaVersion": 1, "Status": "running"}
    doc["HostKeys"] = keys
    sidecar.write_text(json.dumps(doc, indent=4))


def ssh_options(common_args: str) -> dict[str, str]:
    """ansible_ssh_common_args as Ansible's ssh connection splits it (shlex), as a dict of -o options."""
    words = shlex.split(common_args)
    assert words[0::2] == ["-o"] * (len(words) // 2) and len(words) % 2 == 0, words
    return dict(word.split("=", 1) for word in words[1::2])


def test_pinned_host_keys_are_the_only_ones_ssh_accepts(fixture_store: Path, tmp_path: Path) -> None:
    pin_host_keys(fixture_store, "m1", [ECDSA, ED25519])
    run = run_plugin(tmp_path, fixture_store)
    options = ssh_options(run.hostvars("m1")["ansible_ssh_common_args"])
    assert options["StrictHostKeyChecking"] == "yes"
    assert options["HostKeyAlias"] == "dockyard-machine-m1"
    assert options["GlobalKnownHostsFile"] == "/dev/null"
    known_hosts = Path(options["UserKnownHostsFile"])
    assert known_hosts.parent == fixture_store and known_hosts.name == "dockyard-known_hosts"
    assert stat.S_IMODE(known_hosts.stat().st_mode) == 0o600
    assert known_hosts.read_text() == "dockyard-machine-m1 %s\ndockyard-machine-m1 %s\n" % (ECDSA, ED25519)
    # Machines without pinned keys keep the user's own host key policy.
    assert "ansible_ssh_common_args" not in run.hostvars("m2")
    assert run.warnings == []


def test_every_pinned_machine_is_in_the_one_file_under_its_own_alias(fixture_store: Path, tmp_path: Path) -> None:
    pin_host_keys(fixture_store, "m1", [ED25519])
    pin_host_keys(fixture_store, "m2", [ECDSA])
    run = run_plugin(tmp_path, fixture_store)
    m1, m2 = (ssh_options(run.hostvars(name)["ansible_ssh_common_args"]) for name in ("m1", "m2"))
    assert m1["UserKnownHostsFile"] == m2["UserKnownHostsFile"]
    assert (m1["HostKeyAlias"], m2["HostKeyAlias"]) == ("dockyard-machine-m1", "dockyard-machine-m2")
    assert Path(m1["UserKnownHostsFile"]).read_text() == "dockyard-machine-m1 %s\ndockyard-machine-m2 %s\n" % (ED25519, ECDSA)


def test_a_rebuilt_and_re_pinned_host_replaces_its_keys_in_the_file(fixture_store: Path, tmp_path: Path) -> None:
    pin_host_keys(fixture_store, "m1", [ED25519])
    run_plugin(tmp_path, fixture_store)
    pin_host_keys(fixture_store, "m1", [ECDSA])
    options = ssh_options(run_plugin(tmp_path, fixture_store).hostvars("m1")["ansible_ssh_common_args"])
    assert Path(options["UserKnownHostsFile"]).read_text() == "dockyard-machine-m1 %s\n" % ECDSA


def test_a_store_path_with_spaces_and_quotes_survives_shlex(fixture_store: Path, tmp_path: Path) -> None:
    odd = tmp_path / "my store's \"machines\" ;&|"
    shutil.move(str(fixture_store), str(odd))
    pin_host_keys(odd, "m1", [ED25519])
    options = ssh_options(run_plugin(tmp_path, odd).hostvars("m1")["ansible_ssh_common_args"])
    assert options["UserKnownHostsFile"] == str(odd / "dockyard-known_hosts")


@pytest.mark.parametrize(
    "bad_key",
    [
        ED25519 + "\n* ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ",  # a second line matching every host
        "@revoked * " + ED25519,
        "ssh-ed25519",
        "ssh-ed25519 not;base64",
        42,
    ],
)
def test_a_malformed_pinned_key_is_left_out_with_a_warning(bad_key: t.Any, fixture_store: Path, tmp_path: Path) -> None:
    pin_host_keys(fixture_store, "m1", [bad_key, ECDSA])
    run = run_plugin(tmp_path, fixture_store)
    options = ssh_options(run.hostvars("m1")["ansible_ssh_common_args"])
    assert Path(options["UserKnownHostsFile"]).read_text() == "dockyard-machine-m1 %s\n" % ECDSA
    assert any("'m1'" in w and "HostKeys" in w for w in run.warnings), run.warnings


def test_only_malformed_keys_leave_the_host_to_the_users_policy(fixture_store: Path, tmp_path: Path) -> None:
    pin_host_keys(fixture_store, "m1", ["garbage"])
    run = run_plugin(tmp_path, fixture_store)
    assert "ansible_ssh_common_args" not in run.hostvars("m1")
    assert not (fixture_store / "dockyard-known_hosts").exists()


def test_a_store_that_cannot_be_written_gets_the_file_in_the_cache_folder(fixture_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read-only store: the file goes to $XDG_CACHE_HOME/dockyard.machine, never next to the store."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    pin_host_keys(fixture_store, "m1", [ED25519])
    (fixture_store / "dockyard-known_hosts").mkdir()  # stands in for a read-only store: the file cannot be replaced
    run = run_plugin(tmp_path, fixture_store)
    known_hosts = Path(ssh_options(run.hostvars("m1")["ansible_ssh_common_args"])["UserKnownHostsFile"])
    assert known_hosts.parent == tmp_path / "xdg-cache" / "dockyard.machine"
    assert known_hosts.read_text() == "dockyard-machine-m1 %s\n" % ED25519
    assert stat.S_IMODE(known_hosts.stat().st_mode) == 0o600
    assert stat.S_IMODE(known_hosts.parent.stat().st_mode) == 0o700
    assert run.warnings == []
    assert not (fixture_store / "dockyard-known_hosts").is_file()


def test_when_no_file_can_be_written_the_hosts_keep_the_users_policy(fixture_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "not-a-folder"))
    pin_host_keys(fixture_store, "m1", [ED25519])
    (fixture_store / "dockyard-known_hosts").mkdir()
    run = run_plugin(tmp_path, fixture_store)
    assert "ansible_ssh_common_args" not in run.hostvars("m1")
    assert len(run.warnings) == 1 and "pinned SSH host keys" in run.warnings[0] and str(fixture_store) in run.warnings[0]


def test_pinned_keys_of_a_machine_without_ssh_are_not_used(fixture_store: Path, tmp_path: Path) -> None:
    def to_none(doc: dict[str, t.Any]) -> None:
        doc["DriverName"] = "none"
        doc["Driver"] = {"IPAddress": "127.0.0.21:2376", "MachineName": "m2", "SSHUser": "", "SSHPort": 0, "SSHKeyPath": "",
                         "StorePath": doc["Driver"]["StorePath"], "URL": "tcp://127.0.0.21:2376"}

    edit_config(fixture_store, "m2", to_none)
    pin_host_keys(fixture_store, "m2", [ED25519])
    assert "ansible_ssh_common_args" not in run_plugin(tmp_path, fixture_store).hostvars("m2")


def test_compose_can_still_replace_the_ssh_arguments(fixture_store: Path, tmp_path: Path) -> None:
    pin_host_keys(fixture_store, "m1", [ED25519])
    run = run_plugin(tmp_path, fixture_store, compose={"ansible_ssh_common_args": "ansible_ssh_common_args ~ ' -o ProxyJump=bastion'"})
    assert run.hostvars("m1")["ansible_ssh_common_args"].endswith(" -o ProxyJump=bastion")
    assert "HostKeyAlias=dockyard-machine-m1" in run.hostvars("m1")["ansible_ssh_common_args"]


# --- cache ---------------------------------------------------------------------------------------------


def cache_options(tmp_path: Path) -> dict[str, t.Any]:
    return {"cache": True, "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": str(tmp_path / "cache")}


def test_cache_serves_hosts_when_the_store_is_gone(fixture_store: Path, tmp_path: Path) -> None:
    first = run_plugin(tmp_path, fixture_store, **cache_options(tmp_path))
    assert os.listdir(tmp_path / "cache"), "nothing was written to the cache"
    shutil.rmtree(fixture_store)
    second = run_plugin(tmp_path, fixture_store, **cache_options(tmp_path))
    assert second.all_hostvars() == first.all_hostvars()
    assert second.group_hosts("docker_machine_generic") == {"m1", "m2"}
    # --flush-cache (parse's cache argument false) reads the store again: it is gone now.
    flushed = run_plugin(tmp_path, fixture_store, parse_cache=False, **cache_options(tmp_path))
    assert list(flushed.inventory.hosts) == []
    # ...and that fresh (empty) answer replaced the cached one.
    assert list(run_plugin(tmp_path, fixture_store, **cache_options(tmp_path)).inventory.hosts) == []


def test_cache_is_not_used_unless_enabled(fixture_store: Path, tmp_path: Path) -> None:
    run_plugin(tmp_path, fixture_store, cache_plugin="ansible.builtin.jsonfile", cache_connection=str(tmp_path / "cache"))
    assert not (tmp_path / "cache").exists() or not os.listdir(tmp_path / "cache")
    shutil.rmtree(fixture_store)
    assert list(run_plugin(tmp_path, fixture_store).inventory.hosts) == []


def test_cache_written_for_another_store_is_not_used(fixture_store: Path, tmp_path: Path) -> None:
    run_plugin(tmp_path, fixture_store, **cache_options(tmp_path))
    other = tmp_path / "other-store"
    shutil.copytree(fixture_store, other)
    shutil.rmtree(other / "machines" / "m2")
    assert set(run_plugin(tmp_path, other, **cache_options(tmp_path)).inventory.hosts) == {"m1", "aws-sandbox"}


def test_cached_scan_rejects_foreign_payloads() -> None:
    scan = _inventory.StoreScan(store_path="/s", live_state=False, hosts={"m1": {"ansible_host": "127.0.0.11"}})
    payload = json.loads(json.dumps(scan.payload()))
    assert _inventory.cached_scan(payload, store_path="/s", live_state=False) == scan
    assert _inventory.cached_scan(payload, store_path="/other", live_state=False) is None
    assert _inventory.cached_scan(payload, store_path="/s", live_state=True) is None
    assert _inventory.cached_scan(dict(payload, format=0), store_path="/s", live_state=False) is None
    assert _inventory.cached_scan("garbage", store_path="/s", live_state=False) is None


# --- live state ------------------------------------------------------------------------------------------


@pytest.fixture
def listening_port() -> t.Iterator[int]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server.getsockname()[1]
    server.close()


@pytest.fixture
def closed_port() -> int:
    return free_loopback_port()


def point_at(store: Path, name: str, port: int) -> None:
    edit_config(store, name, lambda doc: doc["Driver"].update(IPAddress="127.0.0.1", SSHPort=port))


def test_live_state_asks_the_generic_driver(fixture_store: Path, tmp_path: Path, listening_port: int, closed_port: int) -> None:
    shutil.rmtree(fixture_store / "machines" / "aws-sandbox")  # its driver would call an EC2 API
    point_at(fixture_store, "m1", listening_port)
    point_at(fixture_store, "m2", closed_port)
    run = run_plugin(tmp_path, fixture_store, live_state=True, state_timeout=2)
    assert run.hostvars("m1")["docker_machine_state"] == "Running"
    assert run.hostvars("m2")["docker_machine_state"] == "Stopped"
    required = run_plugin(tmp_path, fixture_store, live_state=True, running_required=True, state_timeout=2)
    assert set(required.inventory.hosts) == {"m1"}


def test_running_required_checks_state_by_itself(fixture_store: Path, tmp_path: Path) -> None:
    states = {"m1": "Running", "m2": "Stopped", "aws-sandbox": "Running"}
    run = run_plugin(tmp_path, fixture_store, running_required=True, state_probe=lambda record, timeout: states[record.name])
    assert set(run.inventory.hosts) == {"m1", "aws-sandbox"}
    assert run.hostvars("aws-sandbox")["docker_machine_state"] == "Running"


def test_failed_and_slow_state_checks(fixture_store: Path, tmp_path: Path) -> None:
    def probe(record: t.Any, timeout: float) -> str:
        if record.name == "aws-sandbox":
            raise DriverError("Cannot read the state of EC2 instance i-1: boom", machine=record.name)
        if record.name == "m2":
            time.sleep(timeout + 3)  # ignores its bound; the plugin must not wait for it
        return "Running"

    started = time.monotonic()
    run = run_plugin(tmp_path, fixture_store, live_state=True, state_timeout=0.2, state_probe=probe)
    assert time.monotonic() - started < 3
    assert run.hostvars("m1")["docker_machine_state"] == "Running"
    assert "docker_machine_state_error" not in run.hostvars("m1")
    assert run.hostvars("m2")["docker_machine_state"] == "Timeout"
    assert run.hostvars("aws-sandbox")["docker_machine_state"] == "Error"
    assert "boom" in run.hostvars("aws-sandbox")["docker_machine_state_error"]


def test_state_checks_run_in_parallel() -> None:
    records = [type("Record", (), {"name": "m%d" % i})() for i in range(20)]

    def slow(record: t.Any, timeout: float) -> str:
        time.sleep(0.2)
        return "Running"

    started = time.monotonic()
    states = _inventory.probe_states(records, slow, timeout=1.0)
    assert time.monotonic() - started < 1.5  # 20 x 0.2 s one after another would be 4 s
    assert states == {"m%d" % i: ("Running", "") for i in range(20)}


def test_invalid_state_timeout_is_refused(fixture_store: Path, tmp_path: Path) -> None:
    from ansible.errors import AnsibleParserError

    with pytest.raises(AnsibleParserError, match="state_timeout"):
        run_plugin(tmp_path, fixture_store, live_state=True, state_timeout=0)


# --- helpers and file names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", {}),
        (None, {}),
        ("team,web", {"team": "web"}),
        ("a,1,b,2", {"a": "1", "b": "2"}),
        ("a,1,b", {"a": "1"}),
    ],
)
def test_parse_pair_tags(raw: t.Any, expected: dict[str, str]) -> None:
    assert PAIRS.decode(raw) == expected


@pytest.mark.parametrize(
    ("name", "accepted"),
    [
        ("stage.docker_machine.yml", True),
        ("stage.docker_machine.yaml", True),
        ("docker_machine.yml", True),
        ("stage.yml", False),
        ("stagedocker_machine.yml", False),
        ("stage.docker_machine.json", False),
    ],
)
def test_verify_file(tmp_path: Path, name: str, accepted: bool) -> None:
    path = tmp_path / name
    path.write_text("plugin: %s\n" % PLUGIN)
    assert inventory_loader.get(PLUGIN).verify_file(str(path)) is accepted


def test_verify_file_refuses_a_missing_file(tmp_path: Path) -> None:
    assert not inventory_loader.get(PLUGIN).verify_file(str(tmp_path / "stage.docker_machine.yml"))


def test_scan_store_reads_each_record_once(fixture_store: Path) -> None:
    """The mapping module on its own: plain data, the three machines, one warning per broken folder."""
    add_machine_folder(fixture_store, "m3", "[]")
    scan = _inventory.scan_store(MachineStore(str(fixture_store)))
    assert list(scan.hosts) == ["aws-sandbox", "m1", "m2"]
    assert json.loads(json.dumps(scan.hosts)) == scan.hosts
    assert len(scan.warnings) == 1 and "m3" in scan.warnings[0]


@pytest.mark.parametrize(
    ("field", "value"), [("IPAddress", "-oProxyCommand=touch /tmp/pwned"), ("IPAddress", "127.0.0.12 -v"), ("SSHUser", "-oProxyCommand=x")]
)
def test_a_record_address_or_user_ssh_would_read_as_an_option_is_skipped_with_a_warning(
    fixture_store: Path, tmp_path: Path, field: str, value: str
) -> None:
    """Issue 15, item 2: the collection's SSH rule (the one _ssh applies) before anything becomes ansible_host or
    ansible_user; the machine is left out, named in the warning, and the others are listed."""
    edit_config(fixture_store, "m2", lambda doc: doc["Driver"].update({field: value}))
    run = run_plugin(tmp_path, fixture_store)
    assert set(run.inventory.hosts) == {"m1", "aws-sandbox"}
    assert len(run.warnings) == 1 and "'m2'" in run.warnings[0] and value in run.warnings[0], run.warnings
