# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""The EC2 calls of an amazonec2 create, one function per step, each turning AWS's errors into one that names
the step and the option to fix.

The driver (amazonec2.py) sequences them and records each resource in the store before the next is made.
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.dockyard.machine.plugins.module_utils._drivers.aws_access import api_error_code
from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError

__all__ = [
    "CANONICAL",
    "LIVE_STATES",
    "OWNER_TAG",
    "LaunchError",
    "Network",
    "arm_instance_type",
    "find_ami",
    "find_network",
    "launch_error",
    "newest_lts_image",
]

# Tag on everything a create makes: the machine's name (a lost store finds its resources by it).
OWNER_TAG = "dockyard-machine"
# Instance states in which an instance exists (and costs).
LIVE_STATES = ["pending", "running", "stopping", "stopped", "shutting-down"]
# Canonical's account: the owner of the official Ubuntu images.
CANONICAL = "099720109477"
# ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20240423
_UBUNTU_NAME = re.compile(r"^ubuntu/images/[^/]+/ubuntu-[a-z]+-(\d\d)\.(\d\d)-(amd64|arm64)-server-(\d+(?:\.\d+)?)$")
# Graviton families (a "g" after the generation: t4g, m7g, c7gn, r8g ...) run arm64 images.
_ARM_FAMILY = re.compile(r"^[a-z]+\d+g[a-z]*\.")

# What a user can fix for each AWS error code: the option to change.
_OPTION_FOR_CODE = {
    "InvalidAMIID.NotFound": "amazonec2.ami",
    "InvalidAMIID.Malformed": "amazonec2.ami",
    "InvalidSubnetID.NotFound": "amazonec2.subnet_id",
    "InvalidSubnet": "amazonec2.subnet_id",
    "InvalidVpcID.NotFound": "amazonec2.vpc_id",
    "InvalidKeyPair.NotFound": "amazonec2.keypair_name",
    "InvalidKeyPair.Duplicate": "name",
    "InvalidGroup.NotFound": "amazonec2.security_groups",
    "InvalidParameterValue": "amazonec2",
    "InvalidInstanceType": "amazonec2.instance_type",
    "Unsupported": "amazonec2.instance_type",
    "InsufficientInstanceCapacity": "amazonec2.instance_type",
    "InstanceLimitExceeded": "amazonec2.instance_type",
    "VcpuLimitExceeded": "amazonec2.instance_type",
    "AddressLimitExceeded": "amazonec2.elastic_ip",
    "MaxSpotInstanceCountExceeded": "amazonec2.request_spot_instance",
    "SpotMaxPriceTooLow": "amazonec2.spot_price",
    "AuthFailure": "access_key",
    "UnauthorizedOperation": "access_key",
    "InvalidClientTokenId": "access_key",
    "SignatureDoesNotMatch": "secret_key",
    "OptInRequired": "region",
}
_HINT_FOR_CODE = {
    "InsufficientInstanceCapacity": "EC2 has no capacity for this instance type in this zone now: try another amazonec2.zone or amazonec2.instance_type",
    "InstanceLimitExceeded": "the account's instance quota is reached: remove machines or ask AWS for a higher quota",
    "VcpuLimitExceeded": "the account's vCPU quota is reached: remove machines, pick a smaller amazonec2.instance_type or ask AWS for a higher quota",
    "AddressLimitExceeded": "the account's Elastic IP quota is reached: release addresses or set amazonec2.elastic_ip to false",
    "AuthFailure": "AWS refused the credentials: check access_key and secret_key (or profile)",
    "UnauthorizedOperation": "the credentials may not do this: give them the EC2 permissions listed in the README",
}


class LaunchError(DriverError):
    """An EC2 call of a create failed; ``step`` says which, ``option`` what to change."""


def launch_error(machine: str, step: str, exc: BaseException, option: str = "") -> LaunchError:
    code = api_error_code(exc)
    option = _OPTION_FOR_CODE.get(code, option)
    hint = _HINT_FOR_CODE.get(code) or ("fix option %s" % option if option else "see the error")
    return LaunchError(
        "Creating machine %s failed at step '%s': %s (%s). Everything created so far is in the record: run the task again "
        "to resume, or state=absent to remove it." % (machine, step, exc, hint),
        machine=machine,
        step=step,
        option=option or None,
        aws_error_code=code or None,
    )


class Network(t.NamedTuple):
    vpc_id: str
    subnet_id: str
    zone: str


def find_network(client: t.Any, machine: str, region: str, vpc_id: str, subnet_id: str, zone: str) -> Network:
    """The subnet to launch in: the one given (checked against ``vpc_id``), else the VPC's (or the default VPC's)
    subnet in the zone, the zone's default one first (the original's rule)."""
    step = "find subnet"
    try:
        if subnet_id:
            subnets = client.describe_subnets(SubnetIds=[subnet_id])["Subnets"]
            subnet = subnets[0]
            if vpc_id and subnet["VpcId"] != vpc_id:
                raise LaunchError(
                    "Subnet %s is in VPC %s, not in amazonec2.vpc_id %s: fix option amazonec2.subnet_id or amazonec2.vpc_id."
                    % (subnet_id, subnet["VpcId"], vpc_id),
                    machine=machine,
                    step=step,
                    option="amazonec2.subnet_id",
                )
            return Network(subnet["VpcId"], subnet_id, subnet["AvailabilityZone"])
        if not vpc_id:
            step = "find the default VPC"
            vpcs = client.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
            if not vpcs:
                raise LaunchError(
                    "Region %s has no default VPC: set option amazonec2.vpc_id or amazonec2.subnet_id." % region,
                    machine=machine,
                    step=step,
                    option="amazonec2.subnet_id",
                )
            vpc_id = vpcs[0]["VpcId"]
        step = "find subnet"
        az = zone if len(zone) > 1 else region + zone
        subnets = client.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "availability-zone", "Values": [az]}])["Subnets"]
    except LaunchError:
        raise
    except Exception as exc:
        raise launch_error(machine, step, exc, "amazonec2.subnet_id") from exc
    if not subnets:
        raise LaunchError(
            "VPC %s has no subnet in zone %s: set option amazonec2.subnet_id, or amazonec2.zone to a zone that has one." % (vpc_id, az),
            machine=machine,
            step=step,
            option="amazonec2.zone",
        )
    subnet = next((s for s in subnets if s.get("DefaultForAz")), subnets[0])
    return Network(vpc_id, subnet["SubnetId"], subnet["AvailabilityZone"])


def arm_instance_type(instance_type: str) -> bool:
    return bool(_ARM_FAMILY.match(instance_type))


def newest_lts_image(images: t.Iterable[t.Mapping[str, t.Any]]) -> t.Mapping[str, t.Any] | None:
    """The image of the newest Ubuntu LTS release (YY.04, YY even) among Canonical's, its latest build first."""
    best: tuple[tuple[int, int, str, str], t.Mapping[str, t.Any]] | None = None
    for image in images:
        match = _UBUNTU_NAME.match(str(image.get("Name") or ""))
        if not match:
            continue
        year, month = int(match.group(1)), int(match.group(2))
        if month != 4 or year % 2:
            continue  # interim releases are supported for nine months only
        key = (year, month, str(image.get("CreationDate") or ""), match.group(4))
        if best is None or key > best[0]:
            best = (key, image)
    return best[1] if best else None


def find_ami(client: t.Any, machine: str, ami: str, owners: t.Sequence[str], instance_type: str) -> t.Mapping[str, t.Any]:
    """The image to launch: ``ami`` when given (it must exist), else the newest Ubuntu LTS for the instance's
    architecture, looked up now (the original's table of 2018 images went stale)."""
    step = "find AMI"
    try:
        if ami:
            images = client.describe_images(ImageIds=[ami])["Images"]
            if not images:
                raise LaunchError("AMI %s does not exist in this region: fix option amazonec2.ami." % ami, machine=machine, step=step, option="amazonec2.ami")
            return images[0]
        arch = "arm64" if arm_instance_type(instance_type) else "x86_64"
        images = client.describe_images(
            Owners=list(owners),
            Filters=[
                {"Name": "name", "Values": ["ubuntu/images/*/ubuntu-*-server-*"]},
                {"Name": "architecture", "Values": [arch]},
                {"Name": "state", "Values": ["available"]},
                {"Name": "root-device-type", "Values": ["ebs"]},
            ],
        )["Images"]
    except LaunchError:
        raise
    except Exception as exc:
        raise launch_error(machine, step, exc, "amazonec2.ami") from exc
    image = newest_lts_image(images)
    if image is None:
        raise LaunchError(
            "No Ubuntu LTS image for %s found in this region (owners %s): set option amazonec2.ami." % (arch, ", ".join(owners)),
            machine=machine,
            step=step,
            option="amazonec2.ami",
        )
    return image


def ingress_rules(ports: t.Sequence[tuple[int, str]], cidrs: t.Sequence[str]) -> list[dict[str, t.Any]]:
    """IpPermissions for ``ports`` ((port, protocol) pairs) from ``cidrs`` (IPv4 and IPv6)."""
    rules = []
    for port, protocol in ports:
        v4 = [{"CidrIp": c, "Description": "dockyard.machine"} for c in cidrs if ":" not in c]
        v6 = [{"CidrIpv6": c, "Description": "dockyard.machine"} for c in cidrs if ":" in c]
        rule: dict[str, t.Any] = {"IpProtocol": protocol, "FromPort": port, "ToPort": port}
        if v4:
            rule["IpRanges"] = v4
        if v6:
            rule["Ipv6Ranges"] = v6
        rules.append(rule)
    return rules


def missing_rules(existing: t.Sequence[t.Mapping[str, t.Any]], wanted: t.Sequence[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
    """The parts of ``wanted`` a group's IpPermissions do not hold yet (so a second run adds nothing)."""
    have = set()
    for perm in existing:
        for r in perm.get("IpRanges") or []:
            have.add((perm.get("IpProtocol"), perm.get("FromPort"), r.get("CidrIp")))
        for r in perm.get("Ipv6Ranges") or []:
            have.add((perm.get("IpProtocol"), perm.get("FromPort"), r.get("CidrIpv6")))
    missing = []
    for rule in wanted:
        v4 = [r for r in rule.get("IpRanges", []) if (rule["IpProtocol"], rule["FromPort"], r["CidrIp"]) not in have]
        v6 = [r for r in rule.get("Ipv6Ranges", []) if (rule["IpProtocol"], rule["FromPort"], r["CidrIpv6"]) not in have]
        if v4 or v6:
            part = {k: v for k, v in rule.items() if k not in ("IpRanges", "Ipv6Ranges")}
            if v4:
                part["IpRanges"] = v4
            if v6:
                part["Ipv6Ranges"] = v6
            missing.append(part)
    return missing
