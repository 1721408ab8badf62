"""amazonec2's batch refresh, through botocore's Stubber: one DescribeInstances per region, endpoint and page."""

from __future__ import annotations

import time
import typing as t

import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.dockyard.machine.plugins.module_utils._drivers import batch_refresher
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2_lookup import machine_endpoint
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2_refresh import IDS_PER_CALL, PAGE_SIZE, refresh_machines
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.batch import RefreshSettings
from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError
from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord
from ansible_collections.dockyard.machine.tests.support.silent_port import silent_port
from ansible_collections.dockyard.machine.tests.support.tls_engine import free_loopback_port

FAKE_KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class StubbedEC2:
    """One stubbed client per (region, endpoint), each counting the DescribeInstances calls it is asked."""

    def __init__(self) -> None:
        self.clients: dict[tuple[str, str | None], t.Any] = {}
        self.stubs: dict[tuple[str, str | None], Stubber] = {}
        self.calls: dict[tuple[str, str | None], int] = {}
        self.timeouts: list[float] = []

    def stub(self, region: str, endpoint: str | None = None) -> Stubber:
        key = (region, endpoint)
        if key not in self.stubs:
            client = boto3.client("ec2", region_name=region, endpoint_url=endpoint, **FAKE_KEYS)
            self.calls[key] = 0

            def count(key: tuple[str, str | None] = key, **kwargs: t.Any) -> None:
                self.calls[key] += 1

            client.meta.events.register("before-parameter-build.ec2.DescribeInstances", count)
            self.clients[key] = client
            self.stubs[key] = Stubber(client)
            self.stubs[key].activate()
        return self.stubs[key]

    def factory(self, region: str, endpoint: str | None, timeout: float) -> t.Any:
        self.timeouts.append(timeout)
        self.stub(region, endpoint)
        return self.clients[(region, endpoint)]

    def settings(self, timeout: float = 10, endpoint_url: str | None = None) -> RefreshSettings:
        return RefreshSettings(timeout=timeout, endpoint_url=endpoint_url, client_factory=self.factory)

    def assert_all_answered(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


def _record(name: str, instance_id: str = "", region: str = "us-east-1", endpoint: str = "", **driver: t.Any) -> MachineRecord:
    fields = {"MachineName": name, "IPAddress": "127.0.5.4", "InstanceId": instance_id or "i-%s" % name, "Region": region, "Endpoint": endpoint}
    fields.update(driver)
    return MachineRecord(name=name, config={"Driver": fields, "DriverName": "amazonec2", "HostOptions": {}})


def _instance(instance_id: str, state: str = "running", private: str = "127.0.5.9", public: str = "") -> dict[str, t.Any]:
    instance: dict[str, t.Any] = {"InstanceId": instance_id, "State": {"Name": state, "Code": 16}, "PrivateIpAddress": private}
    if public:
        instance["PublicIpAddress"] = public
    return instance


def _expect(stub: Stubber, ids: list[str], instances: list[dict[str, t.Any]], next_token: str = "", token: str = "") -> None:
    params: dict[str, t.Any] = {"Filters": [{"Name": "instance-id", "Values": ids}], "MaxResults": PAGE_SIZE}
    if token:
        params["NextToken"] = token
    reply: dict[str, t.Any] = {"Reservations": [{"Instances": instances}] if instances else []}
    if next_token:
        reply["NextToken"] = next_token
    stub.add_response("describe_instances", reply, params)


def test_the_driver_registry_offers_the_refresher_for_amazonec2_only() -> None:
    assert batch_refresher("amazonec2") is refresh_machines
    assert batch_refresher("generic") is None and batch_refresher("none") is None


def test_hundreds_of_machines_cost_one_call_per_region_endpoint_and_200_ids() -> None:
    ec2 = StubbedEC2()
    east = [_record("east-%03d" % i, UsePrivateIP=True) for i in range(450)]
    west = [_record("west-%d" % i, region="eu-west-1", UsePrivateIP=True) for i in range(3)]
    east_ids = [r.driver["InstanceId"] for r in east]
    for start in range(0, 450, IDS_PER_CALL):
        chunk = east_ids[start:start + IDS_PER_CALL]
        _expect(ec2.stub("us-east-1"), chunk, [_instance(i, private="127.0.6.%d" % (n % 250 + 1)) for n, i in enumerate(chunk, start)])
    _expect(ec2.stub("eu-west-1"), [r.driver["InstanceId"] for r in west], [_instance(r.driver["InstanceId"]) for r in west])

    report = refresh_machines(east + west, ec2.settings())

    ec2.assert_all_answered()
    assert ec2.calls == {("us-east-1", None): 3, ("eu-west-1", None): 1}
    assert report.calls == 4 and len(report.details) == 2
    assert {r.state for r in report.machines.values()} == {"Running"} and len(report.machines) == 453
    assert report.machines["east-201"].address == "127.0.6.202" and report.machines["east-201"].url == "tcp://127.0.6.202:2376"
    assert report.warnings == []


def test_a_page_token_costs_one_more_call_for_the_same_ids() -> None:
    ec2 = StubbedEC2()
    records = [_record("a", UsePrivateIP=True), _record("b", UsePrivateIP=True)]
    ids = ["i-a", "i-b"]
    _expect(ec2.stub("us-east-1"), ids, [_instance("i-a", private="127.0.5.10")], next_token="page2")
    _expect(ec2.stub("us-east-1"), ids, [_instance("i-b", private="127.0.5.11")], token="page2")
    report = refresh_machines(records, ec2.settings())
    ec2.assert_all_answered()
    assert ec2.calls[("us-east-1", None)] == 2 == report.calls
    assert (report.machines["a"].address, report.machines["b"].address) == ("127.0.5.10", "127.0.5.11")


def test_the_address_is_the_private_ip_only_when_the_record_says_so() -> None:
    ec2 = StubbedEC2()
    records = [
        _record("private", UsePrivateIP=True),
        _record("private-only", PrivateIPOnly=True),
        _record("public"),
        _record("stopped"),
    ]
    _expect(
        ec2.stub("us-east-1"),
        ["i-private", "i-private-only", "i-public", "i-stopped"],
        [
            _instance("i-private", private="127.0.5.5", public="127.77.0.1"),
            _instance("i-private-only", private="127.0.5.6"),
            _instance("i-public", private="127.0.5.7", public="127.77.0.3"),
            _instance("i-stopped", state="stopped", private="127.0.5.8"),
        ],
    )
    report = refresh_machines(records, ec2.settings())
    got = {name: (r.state, r.address, r.url) for name, r in report.machines.items()}
    assert got == {
        "private": ("Running", "127.0.5.5", "tcp://127.0.5.5:2376"),
        "private-only": ("Running", "127.0.5.6", "tcp://127.0.5.6:2376"),
        "public": ("Running", "127.77.0.3", "tcp://127.77.0.3:2376"),
        "stopped": ("Stopped", "", ""),  # no public IP when stopped: the recorded address stays
    }


def test_terminated_and_vanished_instances_are_errors_with_a_warning_naming_them() -> None:
    ec2 = StubbedEC2()
    records = [_record("alive", UsePrivateIP=True), _record("ended"), _record("gone", instance_id="i-0gone"), _record("never", instance_id="", InstanceId="")]
    _expect(ec2.stub("us-east-1"), ["i-alive", "i-ended", "i-0gone"], [_instance("i-alive"), _instance("i-ended", state="terminated", private="")])
    report = refresh_machines(records, ec2.settings())
    ec2.assert_all_answered()
    assert report.machines["alive"].state == "Running"
    assert (report.machines["ended"].state, report.machines["ended"].error) == ("Error", "EC2 instance i-ended is terminated")
    assert report.machines["gone"].state == "Error" and report.machines["gone"].error == "EC2 instance i-0gone not found in us-east-1"
    assert report.machines["never"].state == "Error" and "InstanceId is empty" in report.machines["never"].error
    assert len(report.warnings) == 3
    assert any("'ended'" in w and "i-ended" in w and "terminated" in w for w in report.warnings)
    assert any("'gone'" in w and "i-0gone" in w and "not found" in w for w in report.warnings)
    assert report.calls == 1


def test_a_refused_region_is_one_warning_and_the_other_regions_still_answer() -> None:
    ec2 = StubbedEC2()
    ec2.stub("eu-west-1").add_client_error("describe_instances", service_error_code="AuthFailure", service_message="AWS was not able to validate")
    _expect(ec2.stub("us-east-1"), ["i-east"], [_instance("i-east")])
    report = refresh_machines([_record("west", region="eu-west-1"), _record("west2", region="eu-west-1"), _record("east")], ec2.settings())
    assert report.machines["east"].state == "Running"
    assert {report.machines[n].state for n in ("west", "west2")} == {"Error"}
    assert "AuthFailure" in report.machines["west"].error
    assert len(report.warnings) == 1 and "eu-west-1" in report.warnings[0] and "west, west2" in report.warnings[0]


def test_a_record_naming_another_endpoint_than_the_inventorys_is_not_asked() -> None:
    """Issue 15, item 3: a record's endpoint is used only when the inventory passes the same one (cloud_endpoint_url);
    a record naming another one (or one when the inventory names none) is Error with a warning naming the option, and
    no client is made for it: the credentials' signed calls never go there."""
    ec2 = StubbedEC2()
    passed = "http://127.0.0.1:7000"
    _expect(ec2.stub("us-east-1", passed), ["i-same", "i-aws"], [_instance("i-same"), _instance("i-aws")])
    records = [_record("same", endpoint=passed + "/"), _record("aws"), _record("elsewhere", endpoint="http://127.0.0.1:5055")]
    report = refresh_machines(records, ec2.settings(endpoint_url=passed))
    ec2.assert_all_answered()
    assert list(ec2.calls) == [("us-east-1", passed)] and report.calls == 1
    assert report.machines["same"].state == report.machines["aws"].state == "Running"
    refused = report.machines["elsewhere"]
    assert refused.state == "Error" and "cloud_endpoint_url" in refused.error and "http://127.0.0.1:5055" in refused.error
    assert [w for w in report.warnings if "'elsewhere'" in w and "cloud_endpoint_url" in w]

    alone = StubbedEC2()
    report = refresh_machines([_record("elsewhere", endpoint="http://127.0.0.1:5055")], alone.settings())
    assert report.machines["elsewhere"].state == "Error" and alone.calls == {} and report.calls == 0


@pytest.mark.parametrize(
    ("driver", "passed", "expected"),
    [
        ({"Endpoint": ""}, None, None),
        ({"Endpoint": ""}, "http://127.0.0.1:7000", "http://127.0.0.1:7000"),
        ({"Endpoint": "http://127.0.0.1:5055"}, "http://127.0.0.1:5055/", "http://127.0.0.1:5055"),
        ({"Endpoint": "ec2.example.test:8773"}, "https://ec2.example.test:8773", "https://ec2.example.test:8773"),
        ({"Endpoint": "ec2.example.test:8773", "DisableSSL": True}, "ec2.example.test:8773", "http://ec2.example.test:8773"),
        ({"Endpoint": "http://127.0.0.1:5055"}, None, "refused"),
        ({"Endpoint": "http://127.0.0.1:5055"}, "http://127.0.0.1:7000", "refused"),
        ({"Endpoint": "ec2.example.test:8773"}, "http://ec2.example.test:8773", "refused"),
    ],
)
def test_a_records_endpoint_is_used_only_when_the_same_is_passed(driver: dict[str, t.Any], passed: str | None, expected: str | None) -> None:
    """The original's bare host (HTTPS unless DisableSSL) is the same endpoint as its URL; any other is refused."""
    record = _record("m", **driver)
    if expected == "refused":
        with pytest.raises(DriverError) as info:
            machine_endpoint(record, passed, "endpoint_url")
        assert info.value.details["option"] == "endpoint_url" and "endpoint_url" in info.value.msg and info.value.machine == "m"
    else:
        assert machine_endpoint(record, passed, "endpoint_url") == expected


def test_a_silent_endpoint_is_a_timeout_within_the_bound(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """A real boto3 client (no stub) against a port that accepts and never answers: no retries, no hang."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_CONFIG_FILE": str(tmp_path / "none"),
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}.items():
        monkeypatch.setenv(name, value)
    with silent_port() as port:
        endpoint = "http://127.0.0.1:%d" % port
        records = [_record("slow-%d" % i, endpoint=endpoint) for i in range(3)] + [_record("far", region="eu-west-1", endpoint=endpoint)]
        started = time.monotonic()
        report = refresh_machines(records, RefreshSettings(timeout=1.0, endpoint_url=endpoint))
        elapsed = time.monotonic() - started
    assert elapsed < 2.5, "the refresh of two silent regions took %.1f s with a 1 s bound for both" % elapsed
    assert {r.state for r in report.machines.values()} == {"Timeout"} and len(report.machines) == 4
    assert len(report.warnings) == 2 and endpoint in report.warnings[0] and endpoint in report.warnings[1]


def test_a_dead_endpoint_is_an_error_at_once(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_CONFIG_FILE": str(tmp_path / "none"),
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}.items():
        monkeypatch.setenv(name, value)
    endpoint = "http://127.0.0.1:%d" % free_loopback_port()
    started = time.monotonic()
    report = refresh_machines([_record("down", endpoint=endpoint)], RefreshSettings(timeout=5.0, endpoint_url=endpoint))
    assert time.monotonic() - started < 3
    assert report.machines["down"].state == "Error" and "cannot connect" in report.machines["down"].error


def test_an_unknown_profile_is_an_error_for_every_machine_not_a_crash(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    report = refresh_machines([_record("a"), _record("b", region="eu-west-1")], RefreshSettings(timeout=2.0, profile="nosuch"))
    assert {r.state for r in report.machines.values()} == {"Error"}
    assert "nosuch" in report.machines["a"].error and report.calls == 0
    assert len(report.warnings) == 1
