"""The digitalocean driver against the API emulator (in this process, over HTTP) and a scripted transport: the request
sequence of a create, what is recorded when, resuming, undoing a refused create, power through actions, removal of
what it made and never of what the user made, adoption, the batch refresh, and records the original wrote."""

from __future__ import annotations

import copy
import json
import os
import typing as t

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils._drivers import BATCH_REFRESHERS, DRIVERS, add_driver_options, cloud_options, get_driver
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.base import HostContext
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.batch import RefreshSettings
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.digitalocean import DigitalOceanDriver
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.digitalocean_api import DigitalOceanAPI, Reply
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.digitalocean_create import key_fingerprint
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.digitalocean_refresh import refresh_machines
from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError
from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord, new_config
from ansible_collections.dockyard.machine.tests.support.do_emulator import TOKEN, Emulator, emulator

USER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@laptop"
EMPTY = {"droplets": [], "ssh_keys": [], "firewalls": [], "reserved_ips": []}


class Recorder:
    """A HostContext whose ``save`` keeps a copy of the record each time: what the store held when."""

    def __init__(self, record: MachineRecord, tmp_path) -> None:
        self.record = record
        self.saved: list[dict[str, t.Any]] = []
        self.context = HostContext(machine_dir=str(tmp_path), timeout=10, save=self.save, write_file=self.write)

    def save(self) -> None:
        self.saved.append({"driver": copy.deepcopy(self.record.driver), "sidecar": copy.deepcopy(self.record.sidecar)})

    @staticmethod
    def write(path: str, data: bytes, mode: int) -> bool:
        with open(path, "wb") as handle:
            handle.write(data)
        os.chmod(path, mode)
        return True


class FastDriver(DigitalOceanDriver):
    """The driver with its client seam answering at once (no waiting between polls)."""

    def __init__(self, url: str, transport: t.Any = None, token: str = TOKEN) -> None:
        super().__init__({"digitalocean_api_url": url, "digitalocean_access_token": token})
        self.transport = transport

    def make_api(self, token: str, base_url: str, timeout: float) -> DigitalOceanAPI:
        return (
            DigitalOceanAPI(token, base_url, timeout=timeout, transport=self.transport, sleep=lambda s: None)
            if self.transport
            else DigitalOceanAPI(token, base_url, timeout=timeout, sleep=lambda s: None)
        )


@pytest.fixture(scope="module")
def running() -> t.Iterator[Emulator]:
    with emulator() as state:
        yield state


@pytest.fixture
def do(running: Emulator) -> Emulator:
    running.reset()
    return running


def _record(driver: DigitalOceanDriver, tmp_path, name: str = "web1", **options: t.Any) -> tuple[MachineRecord, dict[str, t.Any]]:
    checked = driver.validate(options)
    section = driver.driver_section(name, str(tmp_path), checked)
    return MachineRecord(name=name, config=new_config(name, str(tmp_path), "digitalocean", section)), checked


def _paths(do: Emulator, since: int = 0) -> list[str]:
    return ["%s %s" % (m, p) for m, p in do.requests[since:]]


def test_registered_with_its_options_and_refresher() -> None:
    assert DRIVERS["digitalocean"] is DigitalOceanDriver and BATCH_REFRESHERS["digitalocean"] is refresh_machines
    module_spec = add_driver_options({})
    spec = module_spec["digitalocean"]["options"]
    assert module_spec["digitalocean_access_token"] == {"type": "str", "no_log": True}
    assert spec["ssh_key_fingerprint"] == {"type": "str", "no_log": False}
    assert spec["region"]["default"] == "nyc3" and spec["size"]["default"] == "s-1vcpu-1gb" and spec["ssh_user"]["default"] == "root"
    flags = {o.flag for o in DigitalOceanDriver.OPTIONS + DigitalOceanDriver.TASK_OPTIONS}
    original = {
        "access-token",
        "backups",
        "image",
        "ipv6",
        "monitoring",
        "private-networking",
        "region",
        "size",
        "ssh-key-fingerprint",
        "ssh-key-path",
        "ssh-port",
        "ssh-user",
        "tags",
        "userdata",
    }
    assert {"digitalocean-" + f for f in original} <= flags
    # The token and API reach this driver only, with every state; nothing of the machine does.
    params = {"digitalocean_access_token": "t", "digitalocean_api_url": "http://127.0.0.1:1", "digitalocean": {"region": "ams3"}, "region": "us-east-1"}
    assert get_driver("digitalocean", cloud_options(params)).cloud_options == {"digitalocean_access_token": "t", "digitalocean_api_url": "http://127.0.0.1:1"}
    assert "digitalocean_access_token" not in get_driver("amazonec2", cloud_options(params)).cloud_options


def test_create_records_each_resource_before_the_next_and_writes_no_token(do: Emulator, tmp_path) -> None:
    driver = FastDriver(do.url)
    record, options = _record(driver, tmp_path, tags=["team:web,env"], firewall_cidrs=["127.0.0.0/8"], reserved_ip=True)
    recorder = Recorder(record, tmp_path)
    steps = driver.ensure_host(record, options, recorder.context)
    do.wait_idle()
    assert steps == ["ssh key", "create droplet", "firewall", "reserved ip", "assign reserved ip"]
    calls = [c for c in _paths(do) if not c.startswith("GET /v2/actions")]
    assert calls[:4] == ["GET /v2/regions", "POST /v2/account/keys", "POST /v2/droplets", "GET /v2/droplets/%d" % record.driver["DropletID"]]
    assert calls[-6:] == [
        "GET /v2/firewalls",
        "POST /v2/firewalls",
        "GET /v2/firewalls/%s" % record.sidecar["Firewall"]["Id"],
        "POST /v2/reserved_ips",
        "GET /v2/reserved_ips/%s" % record.sidecar["ReservedIp"]["Ip"],
        "POST /v2/reserved_ips/%s/actions" % record.sidecar["ReservedIp"]["Ip"],
    ]
    # Recorded before the next resource: the key's id before the create token, the token before the droplet's id, ...
    order = [
        next(i for i, snap in enumerate(recorder.saved) if snap[where].get(key))
        for where, key in (("driver", "SSHKeyID"), ("sidecar", "CreateToken"), ("driver", "DropletID"), ("sidecar", "Firewall"), ("sidecar", "ReservedIp"))
    ]
    assert order == sorted(order) and len(set(order)) == len(order)
    droplet = do.droplets[record.driver["DropletID"]]
    assert droplet["tags"][:2] == ["dockyard-machine", "dockyard-machine:web1"] and droplet["tags"][3:] == ["team:web", "env"]
    assert do.droplet_keys[droplet["id"]] == [open(tmp_path / "id_rsa.pub").read().split(" web1")[0].strip()]
    assert oct(os.stat(tmp_path / "id_rsa").st_mode & 0o777) == "0o600"
    firewall = do.firewalls[record.sidecar["Firewall"]["Id"]]
    assert sorted((r["ports"], tuple(r["sources"]["addresses"])) for r in firewall["inbound_rules"]) == [("22", ("127.0.0.0/8",)), ("2376", ("127.0.0.0/8",))]
    assert firewall["droplet_ids"] == [droplet["id"]]
    assert record.ip_address == record.sidecar["ReservedIp"]["Ip"] and do.reserved_ips[record.ip_address]["droplet"]["id"] == droplet["id"]
    assert TOKEN not in json.dumps(record.config) + json.dumps(recorder.saved) and record.driver["AccessToken"] == ""
    assert record.sidecar["APIURL"] == do.url

    # A second run changes nothing and makes nothing.
    before = len(do.requests)
    assert driver.ensure_host(record, options, recorder.context) == []
    assert not any(c.startswith("POST") for c in _paths(do, before))


def test_remove_takes_everything_it_made_and_nothing_of_the_users(do: Emulator, tmp_path) -> None:
    driver = FastDriver(do.url)
    theirs = do.add_ssh_key("laptop", USER_KEY)
    their_wall = do.add_firewall("office")
    their_ip = do.add_reserved_ip("nyc3")
    key = tmp_path / "user_key"
    key.write_text("private")
    (tmp_path / "user_key.pub").write_text(USER_KEY)
    record, options = _record(
        driver,
        tmp_path,
        ssh_key_path=str(key),
        ssh_key_fingerprint=theirs["fingerprint"],
        firewalls=[their_wall["id"]],
        reserved_ip_address=their_ip["ip"],
        firewall_cidrs=["10.0.0.0/8"],
    )
    driver.ensure_host(record, options, Recorder(record, tmp_path).context)
    do.wait_idle()
    assert record.driver["SSHKeyID"] == theirs["id"] and record.ip_address == their_ip["ip"]
    assert do.firewalls[their_wall["id"]]["droplet_ids"] == [record.driver["DropletID"]]
    assert driver.cloud_resources(record) == [
        "DigitalOcean droplet %d" % record.driver["DropletID"],
        "DigitalOcean firewall %s" % record.sidecar["Firewall"]["Id"],
    ]
    removed = driver.remove_cloud_resources(record, 10)
    assert len(removed) == 2
    assert do.resources() == {"droplets": [], "ssh_keys": [theirs["id"]], "firewalls": [their_wall["id"]], "reserved_ips": [their_ip["ip"]]}


def test_a_droplet_digitalocean_refuses_takes_the_key_made_for_it_along(do: Emulator, tmp_path) -> None:
    driver = FastDriver(do.url)
    record, options = _record(driver, tmp_path, image="windows-95")
    recorder = Recorder(record, tmp_path)
    with pytest.raises(DriverError) as caught:
        driver.ensure_host(record, options, recorder.context)
    assert caught.value.step == "create droplet" and "invalid image" in caught.value.msg and "nothing was left in DigitalOcean" in caught.value.msg
    assert do.resources() == EMPTY and record.driver["SSHKeyID"] == 0 and "CreateToken" not in record.sidecar and not driver.has_host(record)
    assert driver.cloud_resources(record) == []


def test_a_bad_region_or_size_is_named_before_anything_is_made(do: Emulator, tmp_path) -> None:
    driver = FastDriver(do.url)
    for options, option in (({"region": "mars1"}, "digitalocean.region"), ({"size": "s-64vcpu"}, "digitalocean.size")):
        record, checked = _record(driver, tmp_path, **options)
        with pytest.raises(DriverError) as caught:
            driver.ensure_host(record, checked, Recorder(record, tmp_path).context)
        assert caught.value.details["option"] == option, caught.value.msg
    assert do.resources() == EMPTY


def test_a_lost_create_answer_is_found_again_by_its_token_and_never_made_twice(do: Emulator, tmp_path) -> None:
    driver = FastDriver(do.url)
    record, options = _record(driver, tmp_path)
    do.fail_next("POST", "^/v2/droplets$", 503)
    # The emulator answers 503 without making it; as DigitalOcean might have made it, the token stays and is searched.
    with pytest.raises(DriverError, match="Whether the droplet was made is not known"):
        driver.ensure_host(record, options, Recorder(record, tmp_path).context)
    token = record.sidecar["CreateToken"]
    assert driver.cloud_resources(record) == [
        "DigitalOcean the droplet tagged dockyard-create:%s, if any" % token,
        "DigitalOcean SSH key %d" % record.driver["SSHKeyID"],
    ]
    steps = driver.ensure_host(record, options, Recorder(record, tmp_path).context)
    do.wait_idle()
    assert steps == ["create droplet"] and len(do.droplets) == 1 and len(do.ssh_keys) == 1 and record.sidecar["CreateToken"] == token
    assert f"dockyard-create:{token}" in do.droplets[record.driver["DropletID"]]["tags"]


def test_a_failure_after_the_droplet_exists_resumes_then_absent_removes_all(do: Emulator, tmp_path) -> None:
    driver = FastDriver(do.url)
    record, options = _record(driver, tmp_path, firewall_cidrs=["127.0.0.0/8"])
    do.fail_next("POST", "^/v2/firewalls$", 422, {"id": "unprocessable_entity", "message": "Firewall limit reached."})
    with pytest.raises(DriverError) as caught:
        driver.ensure_host(record, options, Recorder(record, tmp_path).context)
    assert caught.value.step == "firewall" and "Firewall limit reached" in caught.value.msg and "run the task again to resume" in caught.value.msg
    assert record.driver["DropletID"] and record.sidecar["Firewall"]["Name"]
    driver.remove_cloud_resources(record, 10)
    assert do.resources() == EMPTY


def test_power_through_droplet_actions_and_a_new_address(do: Emulator, tmp_path) -> None:
    driver = FastDriver(do.url)
    record, options = _record(driver, tmp_path)
    driver.ensure_host(record, options, Recorder(record, tmp_path).context)
    number = record.driver["DropletID"]
    assert driver.state(record, 5) == "Running"
    assert driver.power(record, "start", 10) is False
    assert driver.power(record, "stop", 10) is True and driver.state(record, 5) == "Stopped"
    assert driver.power(record, "stop", 10) is False and driver.power(record, "stop", 10, force=True) is False
    assert do.actions[max(do.actions)]["type"] == "shutdown"
    assert driver.power(record, "start", 10) is True and do.actions[max(do.actions)]["type"] == "power_on"
    do.requests.clear()
    assert driver.power(record, "stop", 10, force=True) is True
    assert ("POST", "/v2/droplets/%d/actions" % number) in do.requests and do.actions[max(do.actions)]["type"] == "power_off"
    do.next_address[number] = "127.0.9.99"
    assert driver.power(record, "start", 10) is True and record.ip_address == "127.0.9.99"
    assert driver.power(record, "restart", 10) is True and do.actions[max(do.actions)]["type"] == "reboot"


def test_adoption_by_tag_takes_back_the_key_and_firewall_it_made(do: Emulator, tmp_path) -> None:
    driver = FastDriver(do.url)
    (tmp_path / "lost").mkdir()
    first, options = _record(driver, tmp_path / "lost", firewall_cidrs=["127.0.0.0/8"])
    driver.ensure_host(first, options, Recorder(first, tmp_path / "lost").context)
    do.wait_idle()
    key = tmp_path / "lost" / "id_rsa"
    os.remove(str(key) + ".pub")  # only the private key was backed up
    record, checked = _record(driver, tmp_path, ssh_key_path=str(key), adopt=True)
    steps = driver.ensure_host(record, checked, Recorder(record, tmp_path).context)
    assert steps[0] == "adopt droplet" and record.driver["DropletID"] == first.driver["DropletID"]
    assert record.driver["SSHKeyID"] == first.driver["SSHKeyID"] and record.driver["SSHKeyFingerprint"] == ""
    assert record.sidecar["Firewall"]["Id"] == first.sidecar["Firewall"]["Id"] and record.ip_address == first.ip_address
    driver.remove_cloud_resources(record, 10)
    assert do.resources() == EMPTY


def test_adoption_finds_nothing_or_too_much(do: Emulator, tmp_path) -> None:
    driver = FastDriver(do.url)
    key = tmp_path / "k"
    key.write_text("x")
    (tmp_path / "k.pub").write_text(USER_KEY)
    record, checked = _record(driver, tmp_path, ssh_key_path=str(key), adopt=True)
    with pytest.raises(DriverError, match="no droplet tagged dockyard-machine:web1 or named web1"):
        driver.ensure_host(record, checked, Recorder(record, tmp_path).context)
    assert do.resources() == EMPTY


def test_a_record_naming_another_api_is_refused_before_the_token_goes_anywhere(tmp_path) -> None:
    sent: list[str] = []
    driver = FastDriver("", transport=lambda m, u, h, b, to: sent.append(u) or Reply(200, {}, b"{}"))
    record = _record(driver, tmp_path)[0]
    record.driver["DropletID"] = 5
    record.sidecar["APIURL"] = "http://127.0.0.1:9"
    with pytest.raises(DriverError, match="set option digitalocean_api_url to http://127.0.0.1:9") as caught:
        driver.state(record, 5)
    assert caught.value.details["option"] == "digitalocean_api_url" and sent == []


def test_the_create_sequence_through_a_scripted_transport(tmp_path) -> None:
    """The seam itself: every request the driver sends, in order, answered from a script (no emulator)."""
    answers = [
        (200, {"regions": [{"slug": "nyc3", "available": True, "sizes": ["s-1vcpu-1gb"]}], "links": {}}),
        (201, {"ssh_key": {"id": 11, "fingerprint": "aa", "name": "dockyard-machine-web1", "public_key": "k"}}),
        (202, {"droplet": {"id": 21, "status": "new", "networks": {"v4": []}}}),
        (200, {"droplet": {"id": 21, "status": "new", "networks": {"v4": []}}}),
        (200, {"droplet": {"id": 21, "status": "active", "networks": {"v4": [{"ip_address": "127.0.9.7", "type": "public"}]}}}),
    ]
    sent: list[tuple[str, str, t.Any]] = []

    def transport(method, url, headers, body, timeout):
        sent.append((method, url.split("/v2/", 1)[1], json.loads(body) if body else None))
        status, doc = answers.pop(0)
        return Reply(status, {}, json.dumps(doc).encode())

    driver = FastDriver("https://api.example.test", transport=transport, token="tok")
    record, options = _record(driver, tmp_path)
    driver.ensure_host(record, options, Recorder(record, tmp_path).context)
    assert [(m, p.split("?")[0]) for m, p, _body in sent] == [
        ("GET", "regions"),
        ("POST", "account/keys"),
        ("POST", "droplets"),
        ("GET", "droplets/21"),
        ("GET", "droplets/21"),
    ]
    create = sent[2][2]
    assert {k: create[k] for k in ("name", "region", "size", "image", "ssh_keys")} == {
        "name": "web1",
        "region": "nyc3",
        "size": "s-1vcpu-1gb",
        "image": "ubuntu-24-04-x64",
        "ssh_keys": [11],
    }
    assert record.ip_address == "127.0.9.7" and record.driver["DropletID"] == 21 and record.sidecar["APIURL"] == "https://api.example.test"


def test_a_record_the_original_wrote_loads_lists_and_is_removed(do: Emulator, tmp_path) -> None:
    api = DigitalOceanAPI(TOKEN, do.url)
    key = api.create_ssh_key("old1", USER_KEY)
    made = api.create_droplet({"name": "old1", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "ubuntu-22-04-x64", "ssh_keys": [key["id"]]})
    do.wait_idle()
    # drivers/digitalocean's Driver struct as docker-machine 0.16 wrote it (the token in plain text).
    section = {
        "IPAddress": "127.0.9.10",
        "MachineName": "old1",
        "SSHUser": "root",
        "SSHPort": 22,
        "SSHKeyPath": str(tmp_path / "machines/old1/id_rsa"),
        "StorePath": str(tmp_path),
        "SwarmMaster": False,
        "SwarmHost": "",
        "SwarmDiscovery": "",
        "AccessToken": "dop_v1_leaked",
        "DropletID": made["id"],
        "DropletName": "old1",
        "Image": "ubuntu-22-04-x64",
        "Region": "nyc3",
        "SSHKeyID": key["id"],
        "SSHKeyFingerprint": "",
        "SSHKey": "",
        "Size": "s-1vcpu-1gb",
        "IPv6": False,
        "Backups": False,
        "PrivateNetworking": False,
        "UserDataFile": "",
        "Monitoring": False,
        "Tags": "",
    }
    record = MachineRecord(name="old1", config=new_config("old1", str(tmp_path), "digitalocean", section))
    driver = FastDriver(do.url)
    assert driver.url(record) == "tcp://127.0.9.10:2376" and driver.state(record, 5) == "Running" and driver.has_host(record)
    record.driver["Tags"] = "team:web,env, blue"
    assert driver.tags(record) == {"team": "web", "env": "", "blue": ""}
    record.driver["Tags"] = ""
    assert driver.recorded_options(record)["image"] == "ubuntu-22-04-x64" and "digitalocean_access_token" not in driver.recorded_options(record)
    refreshed = refresh_machines([record], RefreshSettings(timeout=5, endpoint_url=do.url), api_factory=lambda tok, url, to: DigitalOceanAPI(TOKEN, url))
    assert refreshed.machines["old1"].state == "Running" and refreshed.calls == 2  # the tag listing, then its own GET (untagged)
    driver.remove_cloud_resources(record, 10)
    assert do.resources() == EMPTY


def test_a_record_naming_someone_elses_key_never_deletes_it(do: Emulator, tmp_path) -> None:
    theirs = do.add_ssh_key("laptop", USER_KEY)
    driver = FastDriver(do.url)
    record = _record(driver, tmp_path)[0]
    record.driver["SSHKeyID"] = theirs["id"]
    with pytest.raises(DriverError, match="not deleted"):
        driver.remove_cloud_resources(record, 5)
    assert do.resources()["ssh_keys"] == [theirs["id"]]


def test_the_batch_refresh_lists_droplets_by_tag_in_pages(do: Emulator, tmp_path, monkeypatch) -> None:
    driver = FastDriver(do.url)
    records = []
    for n in range(5):
        (tmp_path / str(n)).mkdir()
        record, options = _record(driver, tmp_path / str(n), name="m%d" % n)
        driver.ensure_host(record, options, Recorder(record, tmp_path / str(n)).context)
        records.append(record)
    do.wait_idle()
    DigitalOceanAPI(TOKEN, do.url).droplet_action(records[0].driver["DropletID"], "power_off")
    do.wait_idle()
    gone = copy.deepcopy(records[1])
    gone.driver["DropletID"] = 1
    monkeypatch.setenv("DIGITALOCEAN_ACCESS_TOKEN", TOKEN)
    import ansible_collections.dockyard.machine.plugins.module_utils._drivers.digitalocean_api as api_module

    monkeypatch.setattr(api_module, "PER_PAGE", 2)
    do.requests.clear()
    report = refresh_machines(records + [dataclass_renamed(gone, "lost")], RefreshSettings(timeout=10, endpoint_url=do.url))
    assert [report.machines["m%d" % n].state for n in range(5)] == ["Stopped", "Running", "Running", "Running", "Running"]
    assert report.machines["m2"].url == "tcp://%s:2376" % records[2].ip_address
    assert report.machines["lost"].state == "Error" and any("droplet 1 was not found" in w for w in report.warnings)
    assert do.count("GET", "/v2/droplets") == 4  # three pages of two, then the lost one by id
    wrong = refresh_machines(records[:1], RefreshSettings(timeout=10, endpoint_url="http://127.0.0.1:9"))
    assert wrong.machines["m0"].state == "Error" and "does not ask" in wrong.machines["m0"].error


def dataclass_renamed(record: MachineRecord, name: str) -> MachineRecord:
    return MachineRecord(name=name, config=record.config, sidecar=record.sidecar)


def test_bad_options_name_the_option(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("DIGITALOCEAN_ACCESS_TOKEN", raising=False)
    with pytest.raises(DriverError, match="requires an access token") as caught:
        DigitalOceanDriver().validate({})
    assert caught.value.details["option"] == "digitalocean_access_token"
    monkeypatch.setenv("DIGITALOCEAN_ACCESS_TOKEN", "from-the-environment")
    assert DigitalOceanDriver().validate({})["region"] == "nyc3"
    driver = DigitalOceanDriver({"digitalocean_access_token": "t"})
    for options, option in (
        ({"ssh_key_path": str(tmp_path / "nope")}, "digitalocean.ssh_key_path"),
        ({"adopt": True}, "digitalocean.ssh_key_path"),
        ({"userdata": str(tmp_path / "nope")}, "digitalocean.userdata"),
        ({"tags": ["bad tag"]}, "digitalocean.tags"),
        ({"firewall_cidrs": ["everywhere"]}, "digitalocean.firewall_cidrs"),
        ({"reserved_ip": True, "reserved_ip_address": "127.0.9.1"}, "digitalocean.reserved_ip"),
        ({"reserved_ip_address": "nine"}, "digitalocean.reserved_ip_address"),
    ):
        with pytest.raises(DriverError) as caught:
            driver.validate(options)
        assert caught.value.details["option"] == option, (options, caught.value.msg)


def test_key_fingerprint_is_digitaloceans_md5_format() -> None:
    assert key_fingerprint(USER_KEY) == "%s" % key_fingerprint(USER_KEY.rsplit(" ", 1)[0])
    assert len(key_fingerprint(USER_KEY).split(":")) == 16


def test_user_data_is_the_tasks_file_never_the_one_a_record_names(do: Emulator, tmp_path) -> None:
    """Issue 15, item 1: a record's UserDataFile naming a controller file is never read; the task's file is sent."""
    secret = tmp_path / "operator-secret"
    secret.write_text("AWS_SECRET_ACCESS_KEY=not-for-a-droplet\n")
    script = tmp_path / "cloud-init.sh"
    script.write_text("#!/bin/sh\necho configured\n")
    driver = FastDriver(do.url)
    for name, given, expected in (("ud-record", None, None), ("ud-task", str(script), script.read_text())):
        record, options = _record(driver, tmp_path, name=name, userdata=given)
        record.driver["UserDataFile"] = str(secret) if given is None else record.driver["UserDataFile"]
        driver.ensure_host(record, options, Recorder(record, tmp_path).context)
        assert do.droplets[record.driver["DropletID"]]["user_data"] == expected
