"""The inventory plugin's ec2_refresh: amazonec2 machines' state and address from a stubbed EC2 API."""

from __future__ import annotations

import typing as t
from pathlib import Path

import boto3
import pytest
from ansible.errors import AnsibleParserError
from botocore.stub import Stubber

from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2_refresh import PAGE_SIZE
from ansible_collections.dockyard.machine.plugins.plugin_utils import _inventory
from ansible_collections.dockyard.machine.tests.unit.plugins.inventory import test_docker_machine as plugin_tests
from ansible_collections.dockyard.machine.tests.unit.plugins.inventory.test_docker_machine import PLUGIN, inventory_loader, run_plugin

# The module-scoped fixture that lets Ansible's plugin loader find this collection.
plugin_loader = plugin_tests.plugin_loader

# What the fixture store's aws-sandbox record holds.
INSTANCE = "i-98e1d95081bb710d5"
ENDPOINT = "http://127.0.0.1:5055"
RECORDED = "127.0.5.4"


class OneRegion:
    """A stubbed EC2 client for the fixture's region and endpoint, and what the plugin asked of it."""

    def __init__(self, state: str = "running", private: str = "127.0.5.9", gone: bool = False) -> None:
        self.client = boto3.client("ec2", region_name="us-east-1", endpoint_url=ENDPOINT, aws_access_key_id="testing", aws_secret_access_key="testing")
        self.stub = Stubber(self.client)
        self.asked: list[tuple[str, str | None, float]] = []
        instance = {"InstanceId": INSTANCE, "State": {"Name": state, "Code": 16}, "PrivateIpAddress": private, "PublicIpAddress": "127.66.0.1"}
        params = {"Filters": [{"Name": "instance-id", "Values": [INSTANCE]}], "MaxResults": PAGE_SIZE}
        self.stub.add_response("describe_instances", {"Reservations": [] if gone else [{"Instances": [instance]}]}, params)
        self.stub.activate()

    def factory(self, region: str, endpoint: str | None, timeout: float) -> t.Any:
        self.asked.append((region, endpoint, timeout))
        return self.client


@pytest.fixture
def ec2(monkeypatch: pytest.MonkeyPatch) -> t.Iterator[OneRegion]:
    """Every plugin instance of this test makes its EC2 clients here."""
    region = OneRegion()
    monkeypatch.setattr(type(inventory_loader.get(PLUGIN)), "cloud_client_factory", staticmethod(region.factory))
    yield region


def test_the_driver_neutral_option_names_do_what_their_former_names_did(fixture_store: Path, tmp_path: Path, ec2: OneRegion) -> None:
    run = run_plugin(tmp_path, fixture_store, cloud_refresh=True, cloud_refresh_timeout=4, cloud_endpoint_url=ENDPOINT)
    ec2.stub.assert_no_pending_responses()
    assert [(region, endpoint) for region, endpoint, _timeout in ec2.asked] == [("us-east-1", ENDPOINT)] and ec2.asked[0][2] <= 4
    assert run.hostvars("aws-sandbox")["ansible_host"] == "127.0.5.9"


def test_the_refreshed_address_replaces_the_recorded_one_everywhere(fixture_store: Path, tmp_path: Path, ec2: OneRegion) -> None:
    run = run_plugin(tmp_path, fixture_store, ec2_refresh=True, ec2_refresh_timeout=4, aws_endpoint_url=ENDPOINT)
    ec2.stub.assert_no_pending_responses()
    assert [(region, endpoint) for region, endpoint, _timeout in ec2.asked] == [("us-east-1", ENDPOINT)] and ec2.asked[0][2] <= 4
    aws = run.hostvars("aws-sandbox")
    url = "tcp://127.0.5.9:2376"
    assert aws["ansible_host"] == "127.0.5.9", "UsePrivateIP: the private address, not the public one"
    assert aws["docker_machine_state"] == "Running" and "docker_machine_state_error" not in aws
    urls = (aws["docker_machine_url"], aws["docker_machine_docker"]["docker_host"], aws["docker_machine_env"]["DOCKER_HOST"], aws["dm_DOCKER_HOST"])
    assert urls == (url,) * 4
    for name in ("m1", "m2"):  # generic machines: not asked, as without the option
        assert "docker_machine_state" not in run.hostvars(name)
    assert len(run.warnings) == 1 and "aws-sandbox" in run.warnings[0] and RECORDED in run.warnings[0] and "127.0.5.9" in run.warnings[0]
    assert '"IPAddress": "%s"' % RECORDED in (fixture_store / "machines" / "aws-sandbox" / "config.json").read_text(), "the store is not written"


def test_with_live_state_the_others_are_still_probed_one_by_one(fixture_store: Path, tmp_path: Path, ec2: OneRegion) -> None:
    probed: list[str] = []

    def probe(record: t.Any, timeout: float) -> str:
        probed.append(record.name)
        return "Stopped"

    run = run_plugin(tmp_path, fixture_store, state_probe=probe, live_state=True, ec2_refresh=True, cloud_endpoint_url=ENDPOINT)
    assert sorted(probed) == ["m1", "m2"], "aws-sandbox comes from the batch, not from a call of its own"
    assert {n: run.hostvars(n)["docker_machine_state"] for n in ("aws-sandbox", "m1", "m2")} == {"aws-sandbox": "Running", "m1": "Stopped", "m2": "Stopped"}


def test_running_required_leaves_out_a_stopped_instance(fixture_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    region = OneRegion(state="stopped")
    monkeypatch.setattr(type(inventory_loader.get(PLUGIN)), "cloud_client_factory", staticmethod(region.factory))
    run = run_plugin(
        tmp_path, fixture_store, state_probe=lambda record, timeout: "Running", running_required=True, ec2_refresh=True, cloud_endpoint_url=ENDPOINT
    )
    assert set(run.inventory.hosts) == {"m1", "m2"}


def test_a_vanished_instance_is_listed_as_error_with_a_warning(fixture_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    region = OneRegion(gone=True)
    monkeypatch.setattr(type(inventory_loader.get(PLUGIN)), "cloud_client_factory", staticmethod(region.factory))
    run = run_plugin(tmp_path, fixture_store, ec2_refresh=True, cloud_endpoint_url=ENDPOINT)
    aws = run.hostvars("aws-sandbox")
    assert aws["docker_machine_state"] == "Error" and INSTANCE in aws["docker_machine_state_error"]
    assert aws["ansible_host"] == RECORDED
    assert any("'aws-sandbox'" in w and INSTANCE in w and "not found" in w for w in run.warnings)


def test_the_cache_of_a_run_without_refresh_is_not_used_with_it(fixture_store: Path, tmp_path: Path, ec2: OneRegion) -> None:
    cache = {"cache": True, "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": str(tmp_path / "cache")}
    run_plugin(tmp_path, fixture_store, **cache)
    run = run_plugin(tmp_path, fixture_store, ec2_refresh=True, cloud_endpoint_url=ENDPOINT, **cache)
    assert run.hostvars("aws-sandbox")["docker_machine_state"] == "Running" and len(ec2.asked) == 1
    again = run_plugin(tmp_path, fixture_store, ec2_refresh=True, cloud_endpoint_url=ENDPOINT, **cache)
    assert again.hostvars("aws-sandbox")["ansible_host"] == "127.0.5.9" and len(ec2.asked) == 1, "the refreshed listing came from the cache"


def test_cached_scan_tells_refreshed_payloads_apart() -> None:
    scan = _inventory.StoreScan(store_path="/s", live_state=False, cloud_refresh=True, hosts={"aws": {"ansible_host": "127.0.5.9"}})
    payload = scan.payload()
    assert _inventory.cached_scan(payload, store_path="/s", live_state=False, cloud_refresh=True) == scan
    assert _inventory.cached_scan(payload, store_path="/s", live_state=False) is None


def test_invalid_refresh_timeout_is_refused(fixture_store: Path, tmp_path: Path) -> None:
    with pytest.raises(AnsibleParserError, match="cloud_refresh_timeout"):
        run_plugin(tmp_path, fixture_store, ec2_refresh=True, ec2_refresh_timeout=0)


def test_a_cloud_answer_that_ssh_would_read_as_an_option_never_reaches_ansible_host(
    fixture_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15, item 2: the refresh's answer passes the collection's SSH address rule before it becomes ansible_host."""
    hostile = OneRegion(private="-oProxyCommand=touch /tmp/pwned")
    monkeypatch.setattr(type(inventory_loader.get(PLUGIN)), "cloud_client_factory", staticmethod(hostile.factory))
    run = run_plugin(tmp_path, fixture_store, cloud_refresh=True, cloud_refresh_timeout=4, cloud_endpoint_url=ENDPOINT)
    aws = run.hostvars("aws-sandbox")
    assert aws["ansible_host"] == RECORDED and aws["docker_machine_url"] == "tcp://%s:2376" % RECORDED
    assert any("aws-sandbox" in w and "-oProxyCommand" in w and "not a host name ssh can take" in w for w in run.warnings), run.warnings


def test_a_record_naming_an_endpoint_the_inventory_does_not_pass_is_not_asked(fixture_store: Path, tmp_path: Path, ec2: OneRegion) -> None:
    """Issue 15, item 3: the fixture record names http://127.0.0.1:5055; without cloud_endpoint_url naming the same, no
    client is made for it (the credentials sign nothing for that endpoint), and its address stays the recorded one."""
    for options in ({}, {"cloud_endpoint_url": "http://127.0.0.1:7000"}):
        run = run_plugin(tmp_path, fixture_store, cloud_refresh=True, cloud_refresh_timeout=4, **options)
        assert ec2.asked == []
        aws = run.hostvars("aws-sandbox")
        assert (aws["docker_machine_state"], aws["ansible_host"]) == ("Error", RECORDED) and "cloud_endpoint_url" in aws["docker_machine_state_error"]
        assert any("'aws-sandbox'" in w and "cloud_endpoint_url" in w and ENDPOINT in w for w in run.warnings), run.warnings
