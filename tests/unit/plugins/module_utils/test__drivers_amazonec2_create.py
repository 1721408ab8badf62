"""amazonec2's create, through botocore's Stubber: what is called, in which order, what is recorded when, and the
errors a user reads. The end-to-end test against the EC2 emulator is tests/e2e/test_amazonec2_machines.py."""

from __future__ import annotations

import copy
import typing as t

import boto3
import pytest
from botocore.stub import ANY, Stubber

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from ansible_collections.dockyard.machine.plugins.module_utils._drivers import group_defaults
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2 import AmazonEC2Driver
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2_create import launch, tag_specifications, wait_running
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2_launch import (
    arm_instance_type,
    ingress_rules,
    missing_rules,
    newest_lts_image,
)
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.base import HostContext
from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError
from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord, new_config

RUNNING = {"Name": "running", "Code": 16}


def _terminating(instance_id: str) -> dict:
    """EC2's answer to terminate_instances for an instance it knows (it names the instance, as it does again later)."""
    return {"InstanceId": instance_id, "CurrentState": {"Code": 32, "Name": "shutting-down"}, "PreviousState": {"Code": 16, "Name": "running"}}


class StubbedDriver(AmazonEC2Driver):
    """The driver with its one seam, ``client``, answering from a Stubber (wrapped for ``aws_retry`` as amazon.aws wraps it)."""

    def __init__(self) -> None:
        super().__init__({"region": "us-east-1"})
        self.ec2 = boto3.client("ec2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
        self.stub = Stubber(self.ec2)

    def client(self, record, timeout, *, retries=False):
        return RetryingBotoClientWrapper(self.ec2, AWSRetry.jittered_backoff(retries=1, delay=0))


class Recorder:
    """A HostContext whose ``save`` keeps a copy of the record each time: what the store held when."""

    def __init__(self, record: MachineRecord, tmp_path) -> None:
        self.record = record
        self.saved: list[dict[str, t.Any]] = []
        self.files: dict[str, bytes] = {}
        self.context = HostContext(machine_dir=str(tmp_path), timeout=4, save=self.save, write_file=self.write)

    def save(self) -> None:
        self.saved.append({"driver": copy.deepcopy(self.record.driver), "sidecar": copy.deepcopy(self.record.sidecar)})

    def write(self, path: str, data: bytes, mode: int) -> bool:
        self.files[path] = data
        return True

    def first_save_with(self, where: str, key: str) -> int:
        return next(i for i, snap in enumerate(self.saved) if snap[where].get(key))


def _new_record(driver: AmazonEC2Driver, options: dict[str, t.Any]) -> MachineRecord:
    section = driver.driver_section("web1", "/store", options)
    return MachineRecord(name="web1", config=new_config("web1", "/store", "amazonec2", section), sidecar={})


def _options(**extra: t.Any) -> dict[str, t.Any]:
    options = {k: v.get("default") for k, v in AmazonEC2Driver.option_spec.items()}
    options.update(ami="ami-1", subnet_id="subnet-1", use_private_address=True)
    options.update(extra)
    return options


def _instance(state: dict[str, t.Any] | None = None, **extra: t.Any) -> dict[str, t.Any]:
    instance = {"InstanceId": "i-1", "State": state or RUNNING, "PrivateIpAddress": "10.0.0.4"}
    instance.update(extra)
    return {"Reservations": [{"Instances": [instance]}]}


def _stub_until_launch(stub: Stubber) -> None:
    """The calls of a create before RunInstances: subnet, image, key pair, the machine's own group and its rules."""
    subnet = {"SubnetId": "subnet-1", "VpcId": "vpc-1", "AvailabilityZone": "us-east-1a"}
    stub.add_response("describe_subnets", {"Subnets": [subnet]}, {"SubnetIds": ["subnet-1"]})
    stub.add_response("describe_images", {"Images": [{"ImageId": "ami-1", "RootDeviceName": "/dev/xvda"}]}, {"ImageIds": ["ami-1"]})
    stub.add_response("import_key_pair", {"KeyName": "k"}, {"KeyName": ANY, "PublicKeyMaterial": ANY, "TagSpecifications": ANY})
    stub.add_response("describe_security_groups", {"SecurityGroups": []}, {"Filters": ANY})
    stub.add_response("create_security_group", {"GroupId": "sg-9"}, {"GroupName": ANY, "Description": ANY, "VpcId": "vpc-1", "TagSpecifications": ANY})
    stub.add_response("authorize_security_group_ingress", {}, {"GroupId": "sg-9", "IpPermissions": ANY})


def _stub_launch(stub: Stubber, *, elastic_ip: bool = False) -> None:
    _stub_until_launch(stub)
    stub.add_response("run_instances", {"Instances": [{"InstanceId": "i-1"}]})
    stub.add_response("describe_instances", _instance(), {"InstanceIds": ["i-1"]})  # the waiter
    stub.add_response("describe_instances", _instance(), {"InstanceIds": ["i-1"]})
    if elastic_ip:
        stub.add_response("allocate_address", {"AllocationId": "eipalloc-1", "PublicIp": "198.51.100.1"}, {"Domain": "vpc", "TagSpecifications": ANY})
        stub.add_response("describe_addresses", {"Addresses": [{"AllocationId": "eipalloc-1"}]}, {"AllocationIds": ["eipalloc-1"]})


def test_each_resource_is_recorded_before_the_next_is_made(tmp_path) -> None:
    driver = StubbedDriver()
    options = _options()
    record = _new_record(driver, options)
    recorder = Recorder(record, tmp_path)
    _stub_launch(driver.stub)
    with driver.stub:
        steps = driver.ensure_host(record, options, recorder.context)
    driver.stub.assert_no_pending_responses()
    assert steps == ["key pair", "security group", "launch instance"]
    order = [
        recorder.first_save_with("driver", "KeyName"),
        recorder.first_save_with("sidecar", "PendingSecurityGroup"),
        recorder.first_save_with("driver", "SecurityGroupIds"),
        recorder.first_save_with("sidecar", "ClientToken"),
        recorder.first_save_with("driver", "InstanceId"),
        recorder.first_save_with("driver", "IPAddress"),
    ]
    assert order == sorted(order) and len(set(order)) == len(order), order
    # The key pair's name is the machine's plus a random part: no collision with a leftover of the same name (#661).
    assert record.driver["KeyName"].startswith("web1-") and record.driver["KeyName"] != "web1"
    # A key of the machine's own was made (no ssh_keypath): 0600 in the machine folder, its public half imported.
    assert sorted(recorder.files) == [str(tmp_path / "id_rsa"), str(tmp_path / "id_rsa.pub")]
    assert recorder.files[str(tmp_path / "id_rsa")].startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----")
    assert record.sidecar["CreatedSecurityGroups"] == ["sg-9"] and record.driver["IPAddress"] == "10.0.0.4"
    assert record.driver["DeviceName"] == "/dev/xvda"  # the image's root device, not the original's fixed /dev/sda1


def test_the_launch_request_carries_imdsv2_tags_on_instance_and_volumes_and_a_spot_market(tmp_path) -> None:
    driver = StubbedDriver()
    options = _options(
        request_spot_instance=True, spot_price="0.02", tags={"team": "web"}, iam_instance_profile="docker", monitoring=True, metadata_hop_limit=2
    )
    record = _new_record(driver, options)
    record.driver.update(KeyName="web1-k", VpcId="vpc-1", SubnetId="subnet-1", Zone="us-east-1a", DeviceName="/dev/xvda", SecurityGroupIds=["sg-9"])
    tags = [{"Key": "Name", "Value": "web1"}, {"Key": "dockyard-machine", "Value": "web1"}, {"Key": "team", "Value": "web"}]
    expected = {
        "ImageId": "ami-1",
        "InstanceType": "t3.micro",
        "MinCount": 1,
        "MaxCount": 1,
        "ClientToken": ANY,
        "KeyName": "web1-k",
        "Placement": {"AvailabilityZone": "us-east-1a"},
        "NetworkInterfaces": [{"DeviceIndex": 0, "SubnetId": "subnet-1", "Groups": ["sg-9"], "AssociatePublicIpAddress": True}],
        "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 16, "VolumeType": "gp3", "DeleteOnTermination": True}}],
        "Monitoring": {"Enabled": True},
        "EbsOptimized": False,
        "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2, "HttpEndpoint": "enabled"},
        "TagSpecifications": [{"ResourceType": "instance", "Tags": tags}, {"ResourceType": "volume", "Tags": tags}],
        "IamInstanceProfile": {"Name": "docker"},
        "InstanceMarketOptions": {
            "MarketType": "spot",
            "SpotOptions": {"SpotInstanceType": "one-time", "InstanceInterruptionBehavior": "terminate", "MaxPrice": "0.02"},
        },
    }
    driver.stub.add_response("run_instances", {"Instances": [{"InstanceId": "i-1"}]}, expected)
    with driver.stub:
        assert launch(driver.client(record, 4), record, options, Recorder(record, tmp_path).context) == "i-1"
    driver.stub.assert_no_pending_responses()


def test_an_api_error_after_the_launch_leaves_a_record_naming_everything_made(tmp_path) -> None:
    driver = StubbedDriver()
    options = _options(elastic_ip=True)
    record = _new_record(driver, options)
    _stub_launch(driver.stub, elastic_ip=True)
    driver.stub.add_client_error("associate_address", service_error_code="InvalidParameterValue", service_message="boom")
    driver.stub.add_client_error("associate_address", service_error_code="InvalidParameterValue", service_message="boom")
    with driver.stub, pytest.raises(DriverError) as info:
        driver.ensure_host(record, options, Recorder(record, tmp_path).context)
    assert info.value.step == "elastic ip" and info.value.details["option"] == "amazonec2"
    assert "state=absent" in info.value.msg
    made = driver.cloud_resources(record)
    assert made == [
        "EC2 instance i-1 in us-east-1",
        "key pair %s in us-east-1" % record.driver["KeyName"],
        "security group sg-9 in us-east-1",
        "Elastic IP 198.51.100.1 (eipalloc-1) in us-east-1",
    ]


def test_a_launch_whose_reply_was_lost_is_found_by_its_client_token_and_removed(tmp_path) -> None:
    driver = StubbedDriver()
    record = _new_record(driver, _options())
    record.sidecar["ClientToken"] = "dockyard-web1-abc"
    assert driver.cloud_resources(record) == ["the EC2 instance launched with client token dockyard-web1-abc, if any in us-east-1"]
    driver.stub.add_response("describe_instances", _instance(), {"Filters": [{"Name": "client-token", "Values": ["dockyard-web1-abc"]}, ANY]})
    driver.stub.add_response("terminate_instances", {"TerminatingInstances": [_terminating("i-1")]}, {"InstanceIds": ["i-1"]})
    driver.stub.add_response("describe_instances", _instance({"Name": "terminated", "Code": 48}), {"InstanceIds": ["i-1"]})
    with driver.stub:
        removed = driver.remove_cloud_resources(record, timeout=4)
    driver.stub.assert_no_pending_responses()
    assert removed == ["EC2 instance i-1 in us-east-1"]


def test_no_capacity_names_the_option_and_what_to_do(tmp_path) -> None:
    driver = StubbedDriver()
    options = _options()
    record = _new_record(driver, options)
    record.driver.update(KeyName="web1-k", VpcId="vpc-1", SubnetId="subnet-1", Zone="us-east-1a", DeviceName="/dev/xvda", SecurityGroupIds=["sg-9"])
    driver.stub.add_client_error("run_instances", service_error_code="InsufficientInstanceCapacity", service_message="none left")
    with driver.stub, pytest.raises(DriverError) as info:
        launch(driver.client(record, 4), record, options, Recorder(record, tmp_path).context)
    assert info.value.step == "launch instance" and info.value.details["option"] == "amazonec2.instance_type"
    assert "another amazonec2.zone or amazonec2.instance_type" in info.value.msg
    assert record.sidecar["ClientToken"]  # recorded before the call: a retry finds or makes exactly one instance


def test_an_instance_that_never_runs_fails_within_the_timeout(tmp_path) -> None:
    driver = StubbedDriver()
    record = _new_record(driver, _options())
    driver.stub.add_response("describe_instances", _instance({"Name": "pending", "Code": 0}), {"InstanceIds": ["i-1"]})
    with driver.stub, pytest.raises(DriverError) as info:
        wait_running(driver.client(record, 2), record, "i-1", timeout=2)
    assert info.value.step == "wait for running" and info.value.details["option"] == "timeout"
    assert "did not reach 'running' within 2 s" in info.value.msg


def test_the_newest_lts_image_is_chosen_not_an_interim_release_or_an_older_build() -> None:
    images = [
        {"ImageId": "ami-22", "Name": "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20250101", "CreationDate": "2025-01-01"},
        {"ImageId": "ami-2510", "Name": "ubuntu/images/hvm-ssd-gp3/ubuntu-questing-25.10-amd64-server-20251010", "CreationDate": "2025-10-10"},
        {"ImageId": "ami-24old", "Name": "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20240423", "CreationDate": "2024-04-23"},
        {"ImageId": "ami-24new", "Name": "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250601", "CreationDate": "2025-06-01"},
        {"ImageId": "ami-pro", "Name": "ubuntu-pro-server/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-pro-server-20250601"},
    ]
    assert newest_lts_image(images)["ImageId"] == "ami-24new"
    assert newest_lts_image(images[1:2]) is None


def test_the_ami_lookup_asks_canonical_for_the_instance_types_architecture(tmp_path) -> None:
    driver = StubbedDriver()
    options = _options(ami=None, instance_type="t4g.small")
    record = _new_record(driver, options)
    image = {"ImageId": "ami-arm", "Name": "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-20250601", "CreationDate": "2025-06-01"}
    driver.stub.add_response("describe_subnets", {"Subnets": [{"SubnetId": "subnet-1", "VpcId": "vpc-1", "AvailabilityZone": "us-east-1a"}]})
    driver.stub.add_response(
        "describe_images",
        {"Images": [image]},
        {
            "Owners": ["099720109477"],
            "Filters": [
                {"Name": "name", "Values": ["ubuntu/images/*/ubuntu-*-server-*"]},
                {"Name": "architecture", "Values": ["arm64"]},
                {"Name": "state", "Values": ["available"]},
                {"Name": "root-device-type", "Values": ["ebs"]},
            ],
        },
    )
    driver.stub.add_client_error("import_key_pair", service_error_code="UnauthorizedOperation")
    with driver.stub, pytest.raises(DriverError) as info:
        driver.ensure_host(record, options, Recorder(record, tmp_path).context)
    assert record.driver["AMI"] == "ami-arm"
    assert info.value.step == "key pair" and info.value.details["option"] == "access_key"
    assert arm_instance_type("c7gn.large") and not arm_instance_type("t3.micro") and not arm_instance_type("g5.xlarge")


def test_ingress_rules_already_there_are_not_added_again() -> None:
    wanted = ingress_rules([(22, "tcp"), (2376, "tcp")], ["203.0.113.0/24", "2001:db8::/32"])
    existing = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "203.0.113.0/24"}], "Ipv6Ranges": [{"CidrIpv6": "2001:db8::/32"}]}]
    missing = missing_rules(existing, wanted)
    assert [(r["FromPort"], [x["CidrIp"] for x in r["IpRanges"]], [x["CidrIpv6"] for x in r["Ipv6Ranges"]]) for r in missing] == [
        (2376, ["203.0.113.0/24"], ["2001:db8::/32"])
    ]
    assert missing_rules(existing + missing, wanted) == []


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({"security_group_cidrs": ["0.0.0.0/33"]}, "amazonec2.security_group_cidrs"),
        ({"open_ports": ["80/icmp"]}, "amazonec2.open_ports"),
        ({"keypair_name": "mine"}, "amazonec2.ssh_keypath"),
        ({"spot_price": "cheap"}, "amazonec2.spot_price"),
        ({"root_size": 0}, "amazonec2.root_size"),
    ],
)
def test_bad_options_are_refused_before_any_call(options: dict[str, t.Any], option: str) -> None:
    with pytest.raises(DriverError) as info:
        AmazonEC2Driver({"region": "us-east-1"}).validate(_options(**options))
    assert info.value.details["option"] == option and option in info.value.msg


def test_an_unknown_region_is_refused_without_a_call_unless_an_endpoint_is_given() -> None:
    with pytest.raises(DriverError) as info:
        AmazonEC2Driver({"region": "mars-north-1"}).validate(_options())
    assert info.value.details["option"] == "region" and "mars-north-1" in info.value.msg
    assert AmazonEC2Driver({"region": "mars-north-1", "endpoint_url": "http://127.0.0.1:1"}).validate(_options())["ami"] == "ami-1"


def test_group_amazon_aws_defaults_fill_only_aws_options_the_task_lacks() -> None:
    module_defaults = [
        {"group/amazon.aws.aws": {"region": "eu-west-1", "aws_access_key": "AKIA", "secret_key": "s", "purge_tags": True}},
        {"group/amazon.aws.aws": {"aws_region": "eu-central-1"}, "amazon.aws.ec2_instance": {"profile": "other"}},
    ]
    assert group_defaults(module_defaults, {"name": "web1", "aws_secret_key": "mine"}) == {"region": "eu-central-1", "access_key": "AKIA"}
    assert group_defaults(None, {}) == {}


def test_adopting_an_instance_of_another_tool_never_claims_its_key_pair_or_group(tmp_path) -> None:
    driver = StubbedDriver()
    options = _options(ami=None, subnet_id=None, instance_id="i-7", ssh_keypath=str(tmp_path / "key"))
    record = _new_record(driver, options)
    foreign = {
        "InstanceId": "i-7", "State": RUNNING, "PrivateIpAddress": "10.0.0.7", "PublicIpAddress": "198.51.100.7", "InstanceType": "m5.large",
        "ImageId": "ami-7", "VpcId": "vpc-7", "SubnetId": "subnet-7", "Placement": {"AvailabilityZone": "us-east-1b"}, "KeyName": "team-key",
        "SecurityGroups": [{"GroupId": "sg-team", "GroupName": "team"}], "Tags": [{"Key": "Name", "Value": "web1"}],
    }
    driver.stub.add_response("describe_instances", {"Reservations": [{"Instances": [foreign]}]}, {"InstanceIds": ["i-7"]})
    driver.stub.add_response("describe_security_groups", {"SecurityGroups": [{"GroupId": "sg-team", "GroupName": "team", "Tags": []}]},
                             {"GroupIds": ["sg-team"]})
    driver.stub.add_response("describe_addresses", {"Addresses": []}, {"Filters": [{"Name": "instance-id", "Values": ["i-7"]}]})
    driver.stub.add_response("describe_instances", {"Reservations": [{"Instances": [foreign]}]}, {"InstanceIds": ["i-7"]})
    with driver.stub:
        steps = driver.ensure_host(record, options, Recorder(record, tmp_path).context)
    driver.stub.assert_no_pending_responses()  # no key pair, group or instance was made
    assert steps == ["adopt instance"]
    d = record.driver
    assert (d["InstanceId"], d["InstanceType"], d["Zone"], d["KeyName"], d["IPAddress"]) == ("i-7", "m5.large", "us-east-1b", "team-key", "10.0.0.7")
    assert d["ExistingKey"] is True and d["SecurityGroupReadOnly"] is True and "CreatedSecurityGroups" not in record.sidecar
    assert driver.cloud_resources(record) == ["EC2 instance i-7 in us-east-1"]  # absent terminates it, and deletes nothing of theirs


def test_a_refused_launch_removes_the_key_pair_and_group_made_for_it(tmp_path) -> None:
    driver = StubbedDriver()
    options = _options()
    record = _new_record(driver, options)
    stub = driver.stub
    _stub_until_launch(stub)
    stub.add_client_error("run_instances", service_error_code="VcpuLimitExceeded", service_message="quota")
    stub.add_response("describe_instances", {"Reservations": []}, {"Filters": ANY})
    stub.add_response("delete_key_pair", {}, {"KeyName": ANY})
    stub.add_response("delete_security_group", {}, {"GroupId": "sg-9"})
    with stub, pytest.raises(DriverError) as info:
        driver.ensure_host(record, options, Recorder(record, tmp_path).context)
    stub.assert_no_pending_responses()
    assert info.value.step == "launch instance" and info.value.details["option"] == "amazonec2.instance_type"
    assert "vCPU quota" in info.value.msg and "nothing was left in EC2" in info.value.msg
    assert driver.cloud_resources(record) == []


def test_a_start_with_an_elastic_ip_keeps_the_address_and_without_one_takes_the_new_one(tmp_path) -> None:
    for elastic, public_after, expected in ((True, "198.51.100.1", "198.51.100.1"), (False, "203.0.113.77", "203.0.113.77")):
        driver = StubbedDriver()
        record = _new_record(driver, _options(use_private_address=False))
        record.driver.update(InstanceId="i-1", IPAddress="198.51.100.1")
        if elastic:
            record.sidecar["ElasticIp"] = {"AllocationId": "eipalloc-1", "PublicIp": "198.51.100.1"}
        stopped = _instance({"Name": "stopped", "Code": 80})
        driver.stub.add_response("describe_instances", stopped, {"InstanceIds": ["i-1"]})
        driver.stub.add_response("start_instances", {"StartingInstances": []}, {"InstanceIds": ["i-1"]})
        driver.stub.add_response("describe_instances", _instance(), {"InstanceIds": ["i-1"]})  # the waiter
        driver.stub.add_response("describe_instances", _instance(PublicIpAddress=public_after), {"InstanceIds": ["i-1"]})
        with driver.stub:
            assert driver.power(record, "start", timeout=4) is True
        assert record.ip_address == expected


def test_user_data_reaches_run_instances_as_the_file_holds_it_and_a_record_names_none(tmp_path) -> None:
    """botocore base64-encodes RunInstances' UserData itself: the request carries the file's bytes (issue 15, item 5).
    The file is the one the task passed; a record's UserDataFile naming a controller file is never read (item 1)."""
    script = tmp_path / "cloud-init.sh"
    script.write_bytes(b"#!/bin/sh\necho configured > /etc/motd\n")
    secret = tmp_path / "operator-secret"
    secret.write_bytes(b"not for EC2")
    for given, expected in ((str(script), script.read_bytes()), (None, None)):
        driver = StubbedDriver()
        options = _options(user_data=given)
        record = _new_record(driver, options)
        record.driver.update(KeyName="web1-k", VpcId="vpc-1", SubnetId="subnet-1", Zone="us-east-1a", DeviceName="/dev/xvda", SecurityGroupIds=["sg-9"])
        if given is None:
            record.driver["UserDataFile"] = str(secret)  # a shared store's record naming another file of the controller
        seen: list[dict] = []
        driver.ec2.meta.events.register("provide-client-params.ec2.RunInstances", lambda params, **kwargs: seen.append(dict(params)))
        driver.stub.add_response("run_instances", {"Instances": [{"InstanceId": "i-1"}]})
        with driver.stub:
            launch(driver.client(record, 4), record, options, Recorder(record, tmp_path).context)
        assert seen[0].get("UserData") == expected


def test_tags_the_record_cannot_hold_apart_are_refused_and_the_machines_own_tags_win(tmp_path) -> None:
    """A comma in a tag would become more tags in the record's "k,v,k,v" text, and rewrite the Name and ownership
    tags of what the create makes (issue 15, item 7)."""
    for tags in ({"team": "web,Name,other"}, {"a,dockyard-machine": "x"}, {"Name": "other"}, {"dockyard-machine": "other"}):
        with pytest.raises(DriverError) as info:
            AmazonEC2Driver({"region": "us-east-1"}).validate(_options(tags=tags))
        assert info.value.details["option"] == "amazonec2.tags" and "amazonec2.tags" in info.value.msg
    # A record written elsewhere (the original's, a bundle's) with such text: the machine's own tags still win.
    driver = StubbedDriver()
    record = _new_record(driver, _options())
    record.driver["Tags"] = "team,web,Name,other,dockyard-machine,other"
    specification = tag_specifications(record, "instance")
    assert {tag["Key"]: tag["Value"] for tag in specification[0]["Tags"]} == {"Name": "web1", "dockyard-machine": "web1", "team": "web"}
