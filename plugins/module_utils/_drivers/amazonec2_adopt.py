# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""Adopting an EC2 instance into a store that does not know it (a lost store, another tool's machine).

The record is rebuilt from what EC2 says about the instance. What a create of ours made for the machine carries the
tag ``dockyard-machine=NAME`` and is claimed (removed with the machine later); anything else (a key pair or group of
the user's, or the original's) is only used, never deleted.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2_launch import LIVE_STATES, OWNER_TAG, LaunchError, launch_error
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.aws_access import api_error_code

__all__ = ["Adoption", "adopt_instance"]

STEP = "adopt instance"


@dataclass(frozen=True)
class Adoption:
    """What the record learns: its Driver fields, the groups and the Elastic IP that are the machine's own."""

    driver_fields: dict[str, t.Any]
    created_groups: tuple[str, ...] = ()
    elastic_ip: dict[str, str] = field(default_factory=dict)


def tagged_ours(tags: t.Any, machine: str) -> bool:
    """Whether EC2's tag list says a create of ours made the resource for ``machine``."""
    from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

    return boto3_tag_list_to_ansible_dict(tags or []).get(OWNER_TAG) == machine


def _find(client: t.Any, machine: str, region: str, instance_id: str) -> dict[str, t.Any]:
    """The instance ``instance_id``, or the one live instance tagged ``Name=machine``."""
    from botocore.exceptions import ClientError

    if instance_id:
        try:
            reservations = client.describe_instances(InstanceIds=[instance_id])["Reservations"]
        except ClientError as exc:
            if api_error_code(exc) not in ("InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"):
                raise
            reservations = []
        found = [i for r in reservations for i in r.get("Instances", []) if i.get("State", {}).get("Name") in LIVE_STATES]
        if not found:
            raise LaunchError(
                "There is no live EC2 instance %s in %s: fix option amazonec2.instance_id (or the region)." % (instance_id, region),
                machine=machine,
                step=STEP,
                option="amazonec2.instance_id",
            )
        return found[0]
    reply = client.describe_instances(Filters=[{"Name": "tag:Name", "Values": [machine]}, {"Name": "instance-state-name", "Values": LIVE_STATES}])
    found = [i for r in reply.get("Reservations", []) for i in r.get("Instances", [])]
    if len(found) != 1:
        raise LaunchError(
            "%s EC2 instance tagged Name=%s in %s%s: set option amazonec2.instance_id to the one to adopt."
            % ("No" if not found else "More than one", machine, region, "" if not found else " (%s)" % ", ".join(sorted(i["InstanceId"] for i in found))),
            machine=machine,
            step=STEP,
            option="amazonec2.instance_id",
        )
    return found[0]


def adopt_instance(client: t.Any, machine: str, region: str, instance_id: str = "") -> Adoption:
    """Find the instance (by ID, else by its Name tag) and read what the record needs from EC2."""
    try:
        instance = _find(client, machine, region, instance_id)
        ours = tagged_ours(instance.get("Tags"), machine)
        key_name = str(instance.get("KeyName") or "")
        key_ours = bool(key_name) and ours and tagged_ours(client.describe_key_pairs(KeyNames=[key_name])["KeyPairs"][0].get("Tags"), machine)
        groups = list(instance.get("SecurityGroups") or [])
        for interface in instance.get("NetworkInterfaces") or []:  # EC2 lists them here too; some clouds only here
            groups += [g for g in interface.get("Groups") or [] if g["GroupId"] not in {x["GroupId"] for x in groups}]
        created: list[str] = []
        if groups:
            described = client.describe_security_groups(GroupIds=[g["GroupId"] for g in groups])["SecurityGroups"]
            created = [g["GroupId"] for g in described if tagged_ours(g.get("Tags"), machine)]
        addresses = client.describe_addresses(Filters=[{"Name": "instance-id", "Values": [instance["InstanceId"]]}])["Addresses"]
    except LaunchError:
        raise
    except Exception as exc:
        raise launch_error(machine, STEP, exc, "amazonec2.instance_id") from exc
    own = [a for a in addresses if tagged_ours(a.get("Tags"), machine)]
    fields = {
        "InstanceId": instance["InstanceId"],
        "AMI": instance.get("ImageId") or "",
        "VpcId": instance.get("VpcId") or "",
        "SubnetId": instance.get("SubnetId") or "",
        "KeyName": key_name,
        "ExistingKey": not key_ours,  # a key pair that is not the machine's own is never deleted
        "SecurityGroupIds": [g["GroupId"] for g in groups],
        "SecurityGroupNames": [g.get("GroupName", "") for g in groups],
        "SecurityGroupReadOnly": not created,
        "PrivateIPAddress": str(instance.get("PrivateIpAddress") or ""),
    }
    if instance.get("InstanceType"):
        fields["InstanceType"] = instance["InstanceType"]
    if (instance.get("Placement") or {}).get("AvailabilityZone"):
        fields["Zone"] = instance["Placement"]["AvailabilityZone"]
    elastic = {"AllocationId": own[0]["AllocationId"], "PublicIp": own[0].get("PublicIp", "")} if own else {}
    return Adoption(driver_fields=fields, created_groups=tuple(created), elastic_ip=elastic)
