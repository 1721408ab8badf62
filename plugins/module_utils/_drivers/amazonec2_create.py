# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""An amazonec2 machine's instance brought to running: found again (a lost launch reply), adopted, started, or created
with its key pair, security group, launch and Elastic IP, each resource recorded in the store before the next is made;
a launch EC2 refuses takes back what was made for it.
"""

from __future__ import annotations

import os
import re
import secrets
import typing as t

from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2_adopt import adopt_instance
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2_launch import (
    CANONICAL,
    OWNER_TAG,
    LaunchError,
    find_ami,
    find_network,
    ingress_rules,
    launch_error,
    missing_rules,
)
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2_lookup import (
    address_of,
    describe_instance,
    find_launched,
    key_pair_exists,
    live_instance,
    region_of,
    wait_for,
)
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2_remove import own_key_pair
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.base import Driver
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.options import PAIRS
from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._drivers.base import HostContext
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord

__all__ = ["ENGINE_PORT", "PORT_SPEC", "USER_DATA_LIMIT", "ensure_instance", "launch", "tag_specifications", "wait_running"]

# The original's fixed engine port (no option) and swarm-less rule set.
ENGINE_PORT = 2376
USER_DATA_LIMIT = 16 * 1024  # EC2's limit for user data before base64
PORT_SPEC = re.compile(r"^(\d{1,5})(?:/(tcp|udp))?$")  # an open_ports entry: PORT or PORT/PROTOCOL


def ensure_instance(client: t.Any, record: MachineRecord, options: t.Mapping[str, t.Any], context: HostContext) -> list[str]:
    """Bring the machine's instance to running, creating what is missing, each resource recorded before the next.

    Returns the steps taken. The record's address is the instance's current one afterwards (a machine whose
    address changed gets a new server certificate from the caller, which sees the SANs no longer match).
    """
    d = record.driver
    steps: list[str] = []
    if not d.get("InstanceId"):
        found = find_launched(client, record)  # a launch whose reply was lost
        if found:
            d["InstanceId"] = found
            context.save()
    if not d.get("InstanceId") and (options.get("instance_id") or options.get("adopt")):
        _adopt(client, record, options, context, steps)
    if d.get("InstanceId"):
        instance = _converge_instance(client, record, options, context, steps)
    else:
        instance = _create(client, record, options, context, steps)
    address = address_of(record, instance)
    if not address:
        raise DriverError(
            "EC2 instance %s of machine %s has no %s address: set amazonec2.use_private_address to reach it on its private "
            "one, or launch it in a subnet that gives public addresses." % (d["InstanceId"], record.name, "public"),
            machine=record.name,
            step="read address",
            option="amazonec2.use_private_address",
        )
    if address != d.get("IPAddress") or instance.get("PrivateIpAddress", "") != d.get("PrivateIPAddress"):
        if d.get("IPAddress"):
            steps.append("address")
        d["IPAddress"], d["PrivateIPAddress"] = address, str(instance.get("PrivateIpAddress") or "")
        context.save()
    return steps


def _adopt(client: t.Any, record: MachineRecord, options: t.Mapping[str, t.Any], context: HostContext, steps: list[str]) -> None:
    """A store that does not know the machine (a lost laptop) takes over its running instance (amazonec2_adopt.py)."""
    adoption = adopt_instance(client, record.name, region_of(record), str(options.get("instance_id") or ""))
    record.driver.update(adoption.driver_fields)
    if adoption.created_groups:
        record.sidecar["CreatedSecurityGroups"] = list(adoption.created_groups)
    if adoption.elastic_ip:
        record.sidecar["ElasticIp"] = dict(adoption.elastic_ip)
    record.sidecar["Adopted"] = adoption.driver_fields["InstanceId"]
    context.save()
    steps.append("adopt instance")


def _converge_instance(
    client: t.Any, record: MachineRecord, options: t.Mapping[str, t.Any], context: HostContext, steps: list[str]
) -> dict[str, t.Any]:
    instance_id = str(record.driver["InstanceId"])
    instance = live_instance(client, record, "read instance", " and create it again")
    state = instance["State"]["Name"]
    if state in ("stopped", "stopping"):
        try:
            client.start_instances(InstanceIds=[instance_id])
        except Exception as exc:
            raise launch_error(record.name, "start instance", exc) from exc
        steps.append("start instance")
    if state != "running":
        instance = wait_running(client, record, instance_id, context.timeout)
    _ensure_elastic_ip(client, record, options, context, steps)
    if record.sidecar.get("ElasticIp"):
        instance = describe_instance(client, instance_id) or instance
    return instance


def _create(client: t.Any, record: MachineRecord, options: t.Mapping[str, t.Any], context: HostContext, steps: list[str]) -> dict[str, t.Any]:
    d, side = record.driver, record.sidecar
    name = record.name
    network = find_network(client, name, region_of(record), str(d.get("VpcId") or ""), str(d.get("SubnetId") or ""), str(d.get("Zone") or "a"))
    image = find_ami(client, name, str(d.get("AMI") or ""), options.get("ami_owners") or [CANONICAL], str(d["InstanceType"]))
    d.update({"VpcId": network.vpc_id, "SubnetId": network.subnet_id, "Zone": network.zone, "AMI": image["ImageId"]})
    d["DeviceName"] = d.get("DeviceName") or str(image.get("RootDeviceName") or "/dev/sda1")
    context.save()
    _ensure_key_pair(client, record, options, context, steps)
    _ensure_security_groups(client, record, options, network.vpc_id, context, steps)
    try:
        instance_id = launch(client, record, options, context)
    except LaunchError as exc:
        # EC2 refused the launch (capacity, quota, a bad parameter): no instance exists, so what was made for it
        # goes too, and the failure leaves nothing in EC2.
        exc.msg = "%s %s" % (exc.msg, _undo_before_launch(client, record, context))
        exc.args = (exc.msg,)
        raise
    steps.append("launch instance")
    instance = wait_running(client, record, instance_id, context.timeout)
    _ensure_elastic_ip(client, record, options, context, steps)
    if side.get("ElasticIp"):
        instance = describe_instance(client, instance_id) or instance
    return instance


def _undo_before_launch(client: t.Any, record: MachineRecord, context: HostContext) -> str:
    """Delete the key pair and security group made for a launch that EC2 refused; returns what to tell the user."""
    d, side = record.driver, record.sidecar
    left = []
    if find_launched(client, record):
        return "An instance was launched after all: run the task again to resume, or state=absent to remove it."
    key_name = own_key_pair(record)
    try:
        if key_name:
            client.delete_key_pair(KeyName=key_name)
            d["KeyName"] = ""
        for group_id in list(side.get("CreatedSecurityGroups") or []):
            client.delete_security_group(GroupId=group_id, aws_retry=True)
            side["CreatedSecurityGroups"].remove(group_id)
            d["SecurityGroupIds"] = [g for g in d.get("SecurityGroupIds") or [] if g != group_id]
        side.pop("PendingSecurityGroup", None)
        side.pop("ClientToken", None)
    except Exception as exc:  # what is left stays in the record, for absent
        left.append(str(exc))
    context.save()
    if left:
        return "Removing the key pair and security group made for it failed (%s): state=absent removes them." % left[0]
    return "The key pair and security group made for it were removed: nothing was left in EC2."


def tag_specifications(record: MachineRecord, *kinds: str) -> list[dict[str, t.Any]]:
    """TagSpecifications (amazon.aws's) for what a create makes: Name, ours, and the user's tags from the record.

    ``Name`` and the ownership tag are the machine's whatever the record's tags say (they find its resources again)."""
    from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_specifications

    tags = {"Name": record.name, OWNER_TAG: record.name}
    tags.update((k, v) for k, v in PAIRS.decode(Driver.tag_text(record)).items() if k not in tags)
    return boto3_tag_specifications(tags, list(kinds))


def _ensure_key_pair(client: t.Any, record: MachineRecord, options: t.Mapping[str, t.Any], context: HostContext, steps: list[str]) -> None:
    d = record.driver
    step = "key pair"
    try:
        if d.get("ExistingKey"):
            client.describe_key_pairs(KeyNames=[d["KeyName"]])
            return
        if not d.get("KeyName"):
            # A name of its own: the original's plain machine name collided with leftovers (#661).
            d["KeyName"] = "%s-%s" % (record.name, secrets.token_hex(4))
            context.save()
        elif key_pair_exists(client, d["KeyName"]):
            return
        public = _public_key(record, options, context)
        client.import_key_pair(
            KeyName=d["KeyName"], PublicKeyMaterial=public, TagSpecifications=tag_specifications(record, "key-pair")
        )
    except LaunchError:
        raise
    except Exception as exc:
        raise launch_error(record.name, step, exc, "amazonec2.keypair_name") from exc
    steps.append("key pair")


def _public_key(record: MachineRecord, options: t.Mapping[str, t.Any], context: HostContext) -> bytes:
    """The public key to import: the user's (ssh_keypath's .pub), else a new key made in the machine folder (0600)."""
    key = options.get("ssh_keypath")
    if key:
        with open(key + ".pub", "rb") as handle:
            return handle.read(16 * 1024).strip()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    private_path = os.path.join(context.machine_dir, "id_rsa")
    if os.path.isfile(private_path) and os.path.isfile(private_path + ".pub"):  # made by a create that died later
        with open(private_path + ".pub", "rb") as handle:
            return handle.read(16 * 1024).strip()
    made = ed25519.Ed25519PrivateKey.generate() if options.get("key_type", "ed25519") == "ed25519" else rsa.generate_private_key(65537, 3072)
    private = made.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    public = made.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    context.write_file(private_path, private, 0o600)
    context.write_file(private_path + ".pub", public + b" " + record.name.encode() + b"\n", 0o600)
    record.driver["SSHKeyPath"] = private_path
    context.save()
    return public


def _ensure_security_groups(
    client: t.Any, record: MachineRecord, options: t.Mapping[str, t.Any], vpc_id: str, context: HostContext, steps: list[str]
) -> None:
    """The groups the user named (used as they are, never changed), or one of the machine's own with ingress from
    ``security_group_cidrs`` on SSH, the engine and ``open_ports`` (the original opened 0.0.0.0/0 on a shared group)."""
    d, side = record.driver, record.sidecar
    step = "security group"
    try:
        if d.get("SecurityGroupReadOnly"):
            d["SecurityGroupIds"] = _group_ids(client, list(d.get("SecurityGroupNames") or []), vpc_id, record.name)
            context.save()
            return
        group_name = side.get("PendingSecurityGroup") or "dockyard-machine-%s-%s" % (record.name, secrets.token_hex(4))
        if not side.get("PendingSecurityGroup"):
            side["PendingSecurityGroup"] = group_name
            context.save()
        found = client.describe_security_groups(Filters=[{"Name": "group-name", "Values": [group_name]}, {"Name": "vpc-id", "Values": [vpc_id]}])
        groups = found["SecurityGroups"]
        if groups:
            group_id, permissions = groups[0]["GroupId"], groups[0].get("IpPermissions") or []
        else:
            group_id = client.create_security_group(
                GroupName=group_name,
                Description="dockyard.machine %s" % record.name,
                VpcId=vpc_id,
                TagSpecifications=tag_specifications(record, "security-group"),
            )["GroupId"]
            permissions = []
            steps.append("security group")
        side["CreatedSecurityGroups"] = sorted(set(side.get("CreatedSecurityGroups") or []) | {group_id})
        d["SecurityGroupIds"], d["SecurityGroupNames"] = [group_id], [group_name]
        context.save()
        ports = [(record.ssh_port, "tcp"), (ENGINE_PORT, "tcp")]
        for spec in d.get("OpenPorts") or []:
            match = PORT_SPEC.match(str(spec))
            if match:
                ports.append((int(match.group(1)), match.group(2) or "tcp"))
        missing = missing_rules(permissions, ingress_rules(ports, options.get("security_group_cidrs") or ["0.0.0.0/0"]))
        if missing:
            client.authorize_security_group_ingress(GroupId=group_id, IpPermissions=missing, aws_retry=True)
    except LaunchError:
        raise
    except Exception as exc:
        raise launch_error(record.name, step, exc, "amazonec2.security_groups") from exc


def _group_ids(client: t.Any, names: list[str], vpc_id: str, machine: str) -> list[str]:
    ids = [n for n in names if n.startswith("sg-")]
    by_name = [n for n in names if not n.startswith("sg-")]
    if by_name:
        found = client.describe_security_groups(Filters=[{"Name": "group-name", "Values": by_name}, {"Name": "vpc-id", "Values": [vpc_id]}])
        named = {g["GroupName"]: g["GroupId"] for g in found["SecurityGroups"]}
        missing = [n for n in by_name if n not in named]
        if missing:
            raise LaunchError(
                "Security group %s does not exist in VPC %s: fix option amazonec2.security_groups (names or IDs of existing "
                "groups), or leave it empty to have one made for the machine." % (", ".join(missing), vpc_id),
                machine=machine,
                step="security group",
                option="amazonec2.security_groups",
            )
        ids += [named[n] for n in by_name]
    return ids


def launch(client: t.Any, record: MachineRecord, options: t.Mapping[str, t.Any], context: HostContext) -> str:
    d, side = record.driver, record.sidecar
    if not side.get("ClientToken"):
        # Recorded before the call: a launch whose reply is lost is found again by it (and never made twice).
        side["ClientToken"] = "dockyard-%s-%s" % (record.name[:40], secrets.token_hex(8))
        context.save()
    request: dict[str, t.Any] = {
        "ImageId": d["AMI"],
        "InstanceType": d["InstanceType"],
        "MinCount": 1,
        "MaxCount": 1,
        "ClientToken": side["ClientToken"],
        "KeyName": d["KeyName"],
        "Placement": {"AvailabilityZone": d["Zone"]},
        "NetworkInterfaces": [
            {"DeviceIndex": 0, "SubnetId": d["SubnetId"], "Groups": list(d["SecurityGroupIds"]), "AssociatePublicIpAddress": not d.get("PrivateIPOnly")}
        ],
        "BlockDeviceMappings": [
            {"DeviceName": d["DeviceName"], "Ebs": {"VolumeSize": int(d["RootSize"]), "VolumeType": d["VolumeType"], "DeleteOnTermination": True}}
        ],
        "Monitoring": {"Enabled": bool(d.get("Monitoring"))},
        "EbsOptimized": bool(d.get("UseEbsOptimizedInstance")),
        "MetadataOptions": {
            "HttpTokens": options.get("metadata_tokens") or "required",
            "HttpPutResponseHopLimit": int(options.get("metadata_hop_limit") or 1),
            "HttpEndpoint": "enabled",
        },
        "TagSpecifications": tag_specifications(record, "instance", "volume"),
    }
    if d.get("IamInstanceProfile"):
        request["IamInstanceProfile"] = {"Name": d["IamInstanceProfile"]}
    if options.get("user_data"):
        # The file the task passed (a record's UserDataFile is never read), as it is: botocore base64-encodes UserData.
        with open(options["user_data"], "rb") as handle:
            request["UserData"] = handle.read(USER_DATA_LIMIT + 1)
    if d.get("RequestSpotInstance"):
        spot: dict[str, t.Any] = {"SpotInstanceType": "one-time", "InstanceInterruptionBehavior": "terminate"}
        if d.get("SpotPrice"):
            spot["MaxPrice"] = str(d["SpotPrice"])
        request["InstanceMarketOptions"] = {"MarketType": "spot", "SpotOptions": spot}
    try:
        reply = client.run_instances(**request)
    except Exception as exc:
        raise launch_error(record.name, "launch instance", exc, "amazonec2.instance_type") from exc
    d["InstanceId"] = reply["Instances"][0]["InstanceId"]
    context.save()
    return str(d["InstanceId"])


def wait_running(client: t.Any, record: MachineRecord, instance_id: str, timeout: float) -> dict[str, t.Any]:
    from botocore.exceptions import WaiterError

    try:
        wait_for(client, "instance_running", instance_id, timeout)
    except WaiterError as exc:
        raise DriverError(
            "EC2 instance %s of machine %s did not reach 'running' within %d s (%s). It is in the record: run again to wait "
            "longer (option timeout), or state=absent to remove it." % (instance_id, record.name, timeout, exc),
            machine=record.name,
            step="wait for running",
            option="timeout",
        ) from exc
    except Exception as exc:
        raise launch_error(record.name, "wait for running", exc) from exc
    return describe_instance(client, instance_id) or {}


def _ensure_elastic_ip(client: t.Any, record: MachineRecord, options: t.Mapping[str, t.Any], context: HostContext, steps: list[str]) -> None:
    """With option elastic_ip, an address of the machine's own: its certificate never changes across stop and start."""
    side = record.sidecar
    if not options.get("elastic_ip") and not side.get("ElasticIp"):
        return
    step = "elastic ip"
    try:
        if not side.get("ElasticIp"):
            allocation = client.allocate_address(Domain="vpc", TagSpecifications=tag_specifications(record, "elastic-ip"))
            side["ElasticIp"] = {"AllocationId": allocation["AllocationId"], "PublicIp": allocation.get("PublicIp", "")}
            context.save()
            steps.append("elastic ip")
        allocation_id = side["ElasticIp"]["AllocationId"]
        current = client.describe_addresses(AllocationIds=[allocation_id])["Addresses"]
        if not current or current[0].get("InstanceId") != record.driver["InstanceId"]:
            client.associate_address(AllocationId=allocation_id, InstanceId=record.driver["InstanceId"], aws_retry=True)
    except Exception as exc:
        raise launch_error(record.name, step, exc, "amazonec2.elastic_ip") from exc
