# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""Removing what an amazonec2 create made: the instance, the Elastic IP, the key pair imported for it and its own
security group (or the original's shared ``docker-machine`` one, once unused); never what the user named.

Each call is amazon.aws's per-call wrapper: what is gone already is an empty answer, so a second removal is a no-op.
"""

from __future__ import annotations

import typing as t

from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2_launch import LIVE_STATES
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2_lookup import find_launched, region_of, wait_for
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.aws_access import require_sdk
from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord

__all__ = ["ORIGINAL_SECURITY_GROUP", "cloud_resources", "made_by_original", "own_key_pair", "remove_cloud_resources", "security_group_ids"]

# The security group the original creates once per VPC and shares between its machines.
ORIGINAL_SECURITY_GROUP = "docker-machine"


def security_group_ids(record: MachineRecord) -> list[str]:
    ids = [str(i) for i in record.driver.get("SecurityGroupIds") or [] if i]
    legacy = record.driver.get("SecurityGroupId")  # pre-2016 records: a single value, merged with the list
    if legacy and legacy not in ids:
        ids.append(str(legacy))
    return ids


def made_by_original(record: MachineRecord) -> bool:
    """Whether the original's create made the record's groups: it made (or reused) its shared ``docker-machine`` group
    unless told the groups were read-only. A record of ours says what it made (``CreatedSecurityGroups``), uses the
    groups a task passed as they are (``SecurityGroupReadOnly``), and notes its launch or adoption."""
    ours = ("CreatedSecurityGroups", "PendingSecurityGroup", "ClientToken", "Adopted")
    return not record.driver.get("SecurityGroupReadOnly") and not any(record.sidecar.get(key) for key in ours)


def own_key_pair(record: MachineRecord) -> str:
    """The key pair create imported for this machine; never one the user named (ExistingKey)."""
    return "" if record.driver.get("ExistingKey") else str(record.driver.get("KeyName") or "")


def cloud_resources(record: MachineRecord) -> list[str]:
    region = region_of(record)
    side = record.sidecar
    found = []
    if record.driver.get("InstanceId"):
        found.append("EC2 instance %s" % record.driver["InstanceId"])
    elif side.get("ClientToken"):
        found.append("the EC2 instance launched with client token %s, if any" % side["ClientToken"])
    if own_key_pair(record):
        found.append("key pair %s" % own_key_pair(record))
    for group_id in side.get("CreatedSecurityGroups") or []:
        found.append("security group %s" % group_id)
    if side.get("PendingSecurityGroup") and not side.get("CreatedSecurityGroups"):
        found.append("security group %s, if it was made" % side["PendingSecurityGroup"])
    if side.get("ElasticIp"):
        found.append("Elastic IP %s (%s)" % (side["ElasticIp"].get("PublicIp", ""), side["ElasticIp"]["AllocationId"]))
    return ["%s in %s" % (what, region) for what in found]


def remove_cloud_resources(connect: t.Callable[[], t.Any], record: MachineRecord, timeout: float) -> list[str]:
    """Terminate the instance, release the Elastic IP, delete the key pair imported for it, and each of its security
    groups that we or the original created (ours, or the original's shared ``docker-machine``) once no other instance
    uses it. ``connect`` gives the EC2 client (it fails without credentials)."""
    require_sdk()
    from ansible_collections.amazon.aws.plugins.module_utils.ec2 import delete_key_pair, describe_security_groups
    from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
    from botocore.exceptions import BotoCoreError, ClientError, WaiterError

    removed: list[str] = []
    region = region_of(record)
    side = record.sidecar
    step = "connect to EC2"
    try:
        client = connect()  # a missing profile fails here
        step = "find the launched instance"
        instance_id = str(record.driver.get("InstanceId") or "") or find_launched(client, record)
        if instance_id:
            step = "terminate EC2 instance %s" % instance_id
            _terminate(client, instance_id, timeout)
            removed.append("EC2 instance %s in %s" % (instance_id, region))
        if side.get("ElasticIp"):
            step = "release Elastic IP %s" % side["ElasticIp"]["AllocationId"]
            _release_address(client, side["ElasticIp"]["AllocationId"])
        key_name = own_key_pair(record)
        if key_name:
            step = "delete key pair %s" % key_name
            delete_key_pair(client, key_name)  # no error when it is gone already
            removed.append("key pair %s in %s" % (key_name, region))
        groups = security_group_ids(record)
        if side.get("PendingSecurityGroup") and not side.get("CreatedSecurityGroups"):
            step = "find security group %s" % side["PendingSecurityGroup"]
            found = describe_security_groups(client, Filters=[{"Name": "group-name", "Values": [side["PendingSecurityGroup"]]}])
            side["CreatedSecurityGroups"] = [g["GroupId"] for g in found]
            groups += [g["GroupId"] for g in found if g["GroupId"] not in groups]
        for group_id in groups:
            step = "delete security group %s" % group_id
            if _delete_group_if_unused(client, group_id, instance_id, record):
                removed.append("security group %s in %s" % (group_id, region))
    except (AnsibleAWSError, BotoCoreError, ClientError, WaiterError, DriverError) as exc:
        left = [r for r in cloud_resources(record) if r not in removed]
        raise DriverError(
            "Cannot remove the cloud resources of machine %s (step '%s'): %s. Still there: %s. Nothing was removed from the "
            "store. Give AWS credentials for %s (options access_key and secret_key or profile, also through module_defaults "
            "group/amazon.aws.aws, or the environment's AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE) and run "
            "again, or set option 'force' to remove the record and leave them running (and billed)."
            % (record.name, step, getattr(exc, "msg", exc), ", ".join(left) or "nothing else we created", region),
            machine=record.name,
            step="remove cloud resources",
            option="force",
            cloud_resources=left,
        ) from exc
    return removed


def _terminate(client: t.Any, instance_id: str, timeout: float) -> None:
    """Terminate the instance and wait until EC2 says it is (bounded); one that is gone already is done."""
    from ansible_collections.amazon.aws.plugins.module_utils.ec2 import terminate_instances

    if terminate_instances(client, [instance_id]):  # nothing when EC2 does not know it
        wait_for(client, "instance_terminated", instance_id, timeout)


def _release_address(client: t.Any, allocation_id: str) -> None:
    """Release the Elastic IP; one released already is done."""
    from ansible_collections.amazon.aws.plugins.module_utils.ec2 import release_address
    from ansible_collections.amazon.aws.plugins.module_utils.exceptions import is_ansible_aws_error_code

    try:
        release_address(client, allocation_id)
    except is_ansible_aws_error_code(["InvalidAllocationID.NotFound", "InvalidAddress.NotFound"]):
        pass


def _delete_group_if_unused(client: t.Any, group_id: str, instance_id: str, record: MachineRecord) -> bool:
    """Delete a security group we (or the original) made once no other live instance uses it; True when deleted."""
    from ansible_collections.amazon.aws.plugins.module_utils.ec2 import delete_security_group, describe_instances, describe_security_groups

    groups = describe_security_groups(client, GroupIds=[group_id])  # nothing when it is gone already
    created = set(record.sidecar.get("CreatedSecurityGroups") or [])
    if not groups or (group_id not in created and not (made_by_original(record) and groups[0].get("GroupName") == ORIGINAL_SECURITY_GROUP)):
        return False  # a group the user gave (whatever its name): never ours to delete
    users = describe_instances(client, Filters=[{"Name": "instance.group-id", "Values": [group_id]}, {"Name": "instance-state-name", "Values": LIVE_STATES}])
    if any(i.get("InstanceId") != instance_id for r in users for i in r.get("Instances", [])):
        return False  # another machine still uses it
    return delete_security_group(client, group_id)
