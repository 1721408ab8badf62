"""amazonec2's removal of cloud resources, through botocore's Stubber: what is deleted, and what never is."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import ANY, Stubber

from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2 import AmazonEC2Driver
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.base import HostContext
from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError
from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord


def _terminating(instance_id: str) -> dict:
    """EC2's answer to terminate_instances for an instance it knows (it names the instance, as it does again later)."""
    return {"InstanceId": instance_id, "CurrentState": {"Code": 32, "Name": "shutting-down"}, "PreviousState": {"Code": 16, "Name": "running"}}


class StubbedDriver(AmazonEC2Driver):
    """The driver with its one seam, ``client``, answering from a Stubber."""

    def __init__(self) -> None:
        super().__init__({"region": "us-east-1"})
        self.ec2 = boto3.client("ec2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
        self.stub = Stubber(self.ec2)

    def client(self, record, timeout):
        return self.ec2


def _record(**driver) -> MachineRecord:
    fields = {"MachineName": "web1", "InstanceId": "i-0abc", "KeyName": "web1", "ExistingKey": False, "Region": "us-east-1", "SecurityGroupIds": ["sg-1"]}
    fields.update(driver)
    return MachineRecord(name="web1", config={"Driver": fields, "DriverName": "amazonec2", "HostOptions": {}})


def _terminated(stub: Stubber) -> None:
    stub.add_response("terminate_instances", {"TerminatingInstances": [_terminating("i-0abc")]}, {"InstanceIds": ["i-0abc"]})
    stub.add_response("describe_instances", {"Reservations": [{"Instances": [{"InstanceId": "i-0abc", "State": {"Name": "terminated", "Code": 48}}]}]},
                      {"InstanceIds": ["i-0abc"]})


def test_a_key_pair_the_user_named_and_a_group_the_user_gave_are_never_deleted() -> None:
    driver = StubbedDriver()
    _terminated(driver.stub)
    driver.stub.add_response("describe_security_groups", {"SecurityGroups": [{"GroupId": "sg-1", "GroupName": "web-team"}]}, {"GroupIds": ["sg-1"]})
    with driver.stub:
        removed = driver.remove_cloud_resources(_record(ExistingKey=True), timeout=10)
    driver.stub.assert_no_pending_responses()  # no delete_key_pair, no delete_security_group was called
    assert removed == ["EC2 instance i-0abc in us-east-1"]


def test_an_instance_already_gone_counts_as_removed_and_an_api_error_names_what_is_left() -> None:
    driver = StubbedDriver()
    driver.stub.add_client_error("terminate_instances", service_error_code="InvalidInstanceID.NotFound", expected_params={"InstanceIds": ["i-0abc"]})
    driver.stub.add_client_error("delete_key_pair", service_error_code="UnauthorizedOperation", service_message="not allowed")
    with driver.stub, pytest.raises(DriverError) as info:
        driver.remove_cloud_resources(_record(), timeout=10)
    assert info.value.details["cloud_resources"] == ["key pair web1 in us-east-1"]
    assert "delete key pair web1" in info.value.msg and "option 'force'" in info.value.msg


def test_a_record_has_a_host_once_it_names_its_instance() -> None:
    driver = AmazonEC2Driver({"region": "us-east-1"})
    assert driver.has_host(_record()) and not driver.has_host(_record(InstanceId=""))
    assert (driver.host_noun, driver.create_step) == ("instance", "launch instance")


def test_a_released_address_and_a_deleted_group_count_as_removed_and_their_error_codes_reach_the_user() -> None:
    driver = StubbedDriver()
    record = _record(ExistingKey=True, SecurityGroupIds=["sg-2"])
    record.sidecar.update({"ElasticIp": {"AllocationId": "eipalloc-1", "PublicIp": ""}, "CreatedSecurityGroups": ["sg-2"]})
    _terminated(driver.stub)
    driver.stub.add_client_error("release_address", service_error_code="InvalidAllocationID.NotFound", expected_params={"AllocationId": "eipalloc-1"})
    driver.stub.add_client_error("describe_security_groups", service_error_code="InvalidGroup.NotFound", expected_params={"GroupIds": ["sg-2"]})
    with driver.stub:
        removed = driver.remove_cloud_resources(record, timeout=10)
    driver.stub.assert_no_pending_responses()
    assert removed == ["EC2 instance i-0abc in us-east-1"]
    # Any other answer stops the removal, naming the step, the AWS error and what is left.
    other = StubbedDriver()
    _terminated(other.stub)
    other.stub.add_client_error(
        "release_address", service_error_code="AuthFailure", service_message="not yours", expected_params={"AllocationId": "eipalloc-1"}
    )
    with other.stub, pytest.raises(DriverError) as info:
        other.remove_cloud_resources(record, timeout=10)
    assert "release Elastic IP eipalloc-1" in info.value.msg and "AuthFailure" in info.value.msg
    assert "Elastic IP  (eipalloc-1) in us-east-1" in info.value.details["cloud_resources"]


def test_a_group_named_docker_machine_that_a_task_passed_is_the_users_and_stays() -> None:
    """Issue 15, item 4: ``security_groups: [docker-machine]`` is recorded as used (read-only), not made: absent leaves it.
    An adopted machine's own group goes, and the user's ``docker-machine`` group beside it stays."""
    passed = StubbedDriver()
    _terminated(passed.stub)
    passed.stub.add_response("describe_security_groups", {"SecurityGroups": [{"GroupId": "sg-1", "GroupName": "docker-machine"}]}, {"GroupIds": ["sg-1"]})
    record = _record(ExistingKey=True, SecurityGroupNames=["docker-machine"], SecurityGroupReadOnly=True)
    record.sidecar["ClientToken"] = "dockyard-web1-0123"
    with passed.stub:
        removed = passed.remove_cloud_resources(record, timeout=10)
    passed.stub.assert_no_pending_responses()  # no delete_security_group was called
    assert removed == ["EC2 instance i-0abc in us-east-1"]

    adopted = StubbedDriver()
    _terminated(adopted.stub)
    record = _record(ExistingKey=True, SecurityGroupIds=["sg-own", "sg-1"], SecurityGroupNames=["dockyard-machine-web1-ab", "docker-machine"])
    record.sidecar.update({"Adopted": "i-0abc", "CreatedSecurityGroups": ["sg-own"]})
    adopted.stub.add_response("describe_security_groups", {"SecurityGroups": [{"GroupId": "sg-own", "GroupName": "dockyard-machine-web1-ab"}]},
                              {"GroupIds": ["sg-own"]})
    adopted.stub.add_response("describe_instances", {"Reservations": []}, {"Filters": ANY})
    adopted.stub.add_response("delete_security_group", {}, {"GroupId": "sg-own"})
    adopted.stub.add_response("describe_security_groups", {"SecurityGroups": [{"GroupId": "sg-1", "GroupName": "docker-machine"}]}, {"GroupIds": ["sg-1"]})
    with adopted.stub:
        removed = adopted.remove_cloud_resources(record, timeout=10)
    adopted.stub.assert_no_pending_responses()
    assert removed == ["EC2 instance i-0abc in us-east-1", "security group sg-own in us-east-1"]


def test_the_originals_shared_docker_machine_group_goes_with_its_last_machine() -> None:
    """A record the original wrote (groups not read-only, nothing of ours noted): its shared group, once unused, goes."""
    driver = StubbedDriver()
    _terminated(driver.stub)
    driver.stub.add_response("describe_security_groups", {"SecurityGroups": [{"GroupId": "sg-1", "GroupName": "docker-machine"}]}, {"GroupIds": ["sg-1"]})
    driver.stub.add_response("describe_instances", {"Reservations": []}, {"Filters": ANY})
    driver.stub.add_response("delete_security_group", {}, {"GroupId": "sg-1"})
    with driver.stub:
        removed = driver.remove_cloud_resources(_record(ExistingKey=True, SecurityGroupNames=["docker-machine"], SecurityGroupReadOnly=False), timeout=10)
    driver.stub.assert_no_pending_responses()
    assert removed == ["EC2 instance i-0abc in us-east-1", "security group sg-1 in us-east-1"]


class _NoClients:
    """Stands in for the driver's AwsAccess: the endpoint the task passed, and every client asked of it."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint, self.region, self.asked = endpoint, "us-east-1", []

    def ec2(self, *args, **kwargs):
        self.asked.append(args)
        raise AssertionError("a client was made for %r" % (args,))


@pytest.mark.parametrize("passed", ["", "http://127.0.0.1:7000"])
def test_a_record_naming_another_endpoint_gets_no_signed_call_on_power_converge_or_absent(passed: str) -> None:
    """Issue 15, item 3: a record's Endpoint is used only when the task passes the same one; otherwise refused, naming
    option endpoint_url, before any client (and so any signed call) exists."""
    driver = AmazonEC2Driver({"region": "us-east-1"})
    driver.access = _NoClients(passed)
    record = _record(Endpoint="http://127.0.0.1:5055")
    calls = {
        "state": lambda: driver.state(record, 5),
        "power": lambda: driver.power(record, "start", 5),
        "converge": lambda: driver.ensure_host(record, {}, HostContext(machine_dir="/nowhere", timeout=5, save=lambda: None, write_file=lambda *a: False)),
        "absent": lambda: driver.remove_cloud_resources(record, 5),
    }
    for what, call in calls.items():
        with pytest.raises(DriverError) as info:
            call()
        assert info.value.details["option"] == "endpoint_url", what
        assert "http://127.0.0.1:5055" in info.value.msg and "endpoint_url" in info.value.msg and "AWS_ENDPOINT" in info.value.msg, what
    assert driver.access.asked == []


def test_the_command_lines_environment_passes_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """What names no endpoint (the command line's stop, rm, ls ...) takes AWS_ENDPOINT, the original's variable."""
    record = _record(Endpoint="http://127.0.0.1:5055")
    monkeypatch.setenv("AWS_ENDPOINT", "http://127.0.0.1:5055")
    assert AmazonEC2Driver().endpoint(record) == "http://127.0.0.1:5055"
    assert AmazonEC2Driver({"endpoint_url": "http://127.0.0.1:5055/"}).endpoint(record) == "http://127.0.0.1:5055"
    monkeypatch.delenv("AWS_ENDPOINT")
    assert AmazonEC2Driver().endpoint(_record()) == ""  # AWS's regional endpoint
