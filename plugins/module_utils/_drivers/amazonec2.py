# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""AWS EC2 instances (docker-machine's ``amazonec2`` driver): reading records and live state.

Credentials always come from the standard AWS chain at call time (environment, profile, instance
role); the plain-text keys old stores hold are never used or shown.
"""

from __future__ import annotations

import typing as t

from ansible_collections.dockyard.machine.plugins.module_utils._drivers.base import Driver
from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord

__all__ = ["AmazonEC2Driver"]

# The security group the original creates once per VPC and shares between its machines.
ORIGINAL_SECURITY_GROUP = "docker-machine"

# drivers/amazonec2: instance state name -> docker-machine state
_STATE_MAP = {
    "pending": "Starting",
    "running": "Running",
    "stopping": "Stopping",
    "shutting-down": "Stopping",
    "stopped": "Stopped",
    "terminated": "Error",
}


class AmazonEC2Driver(Driver):
    name = "amazonec2"
    needs_ssh = True
    supports_power = True
    has_cloud_resources = True

    def engine_port(self, record: MachineRecord) -> int:
        return 2376  # fixed in the original: no option

    def client(self, record: MachineRecord, timeout: float) -> t.Any:
        # Imported here: boto3 costs a quarter second, which every listing and inventory run would pay.
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise DriverError("The amazonec2 driver needs the Python packages boto3 and botocore on the controller.", machine=record.name) from None
        config = Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1})
        endpoint = record.driver.get("Endpoint") or None
        return boto3.client("ec2", region_name=record.driver.get("Region") or "us-east-1", endpoint_url=endpoint, config=config)

    def state(self, record: MachineRecord, timeout: float) -> str:
        instance_id = record.driver.get("InstanceId")
        if not instance_id:
            return "Error"
        client = self.client(record, timeout)
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            reply = client.describe_instances(InstanceIds=[instance_id])
        except (BotoCoreError, ClientError) as exc:
            raise DriverError("Cannot read the state of EC2 instance %s: %s" % (instance_id, exc), machine=record.name) from exc
        for reservation in reply.get("Reservations", []):
            for instance in reservation.get("Instances", []):
                return _STATE_MAP.get(instance.get("State", {}).get("Name", ""), "Error")
        return "Error"

    # -- cloud resources --

    def _region(self, record: MachineRecord) -> str:
        return str(record.driver.get("Region") or "us-east-1")

    def _security_group_ids(self, record: MachineRecord) -> list[str]:
        ids = [str(i) for i in record.driver.get("SecurityGroupIds") or [] if i]
        legacy = record.driver.get("SecurityGroupId")  # pre-2016 records: a single value, merged with the list
        if legacy and legacy not in ids:
            ids.append(str(legacy))
        return ids

    def _own_key_pair(self, record: MachineRecord) -> str:
        """The key pair create imported for this machine; never one the user named (ExistingKey)."""
        return "" if record.driver.get("ExistingKey") else str(record.driver.get("KeyName") or "")

    def cloud_resources(self, record: MachineRecord) -> list[str]:
        region = self._region(record)
        found = []
        if record.driver.get("InstanceId"):
            found.append("EC2 instance %s" % record.driver["InstanceId"])
        if self._own_key_pair(record):
            found.append("key pair %s" % self._own_key_pair(record))
        return ["%s in %s" % (what, region) for what in found]

    def remove_cloud_resources(self, record: MachineRecord, timeout: float) -> list[str]:
        """Terminate the instance, delete the key pair imported for it, and each of its security groups that we or the
        original created (ours, or the original's shared ``docker-machine``) once no other instance uses it."""
        from botocore.exceptions import BotoCoreError, ClientError, WaiterError

        removed: list[str] = []
        region = self._region(record)
        step = "connect to EC2"
        try:
            client = self.client(record, min(timeout, 30.0))  # a missing profile fails here
            instance_id = str(record.driver.get("InstanceId") or "")
            if instance_id:
                step = "terminate EC2 instance %s" % instance_id
                self._terminate(client, instance_id, timeout)
                removed.append("EC2 instance %s in %s" % (instance_id, region))
            key_name = self._own_key_pair(record)
            if key_name:
                step = "delete key pair %s" % key_name
                client.delete_key_pair(KeyName=key_name)  # no error when it is gone already
                removed.append("key pair %s in %s" % (key_name, region))
            for group_id in self._security_group_ids(record):
                step = "delete security group %s" % group_id
                if self._delete_group_if_unused(client, group_id, instance_id, record):
                    removed.append("security group %s in %s" % (group_id, region))
        except (BotoCoreError, ClientError, WaiterError) as exc:
            left = [r for r in self.cloud_resources(record) if r not in removed]
            raise DriverError(
                "Cannot remove the cloud resources of machine %s (step '%s'): %s. Still there: %s. Nothing was removed from the "
                "store. Give AWS credentials for %s (the environment's AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
                "AWS_PROFILE) and run again, or set option 'force' to remove the record and leave them running (and billed)."
                % (record.name, step, exc, ", ".join(left) or "nothing else we created", region),
                machine=record.name,
                step="remove cloud resources",
                option="force",
                cloud_resources=left,
            ) from exc
        return removed

    @staticmethod
    def _terminate(client: t.Any, instance_id: str, timeout: float) -> None:
        """Terminate the instance and wait until EC2 says it is (bounded); one that is gone already is done."""
        from botocore.exceptions import ClientError

        try:
            client.terminate_instances(InstanceIds=[instance_id])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvalidInstanceID.NotFound":
                return
            raise
        delay = 2
        client.get_waiter("instance_terminated").wait(InstanceIds=[instance_id], WaiterConfig={"Delay": delay, "MaxAttempts": max(1, int(timeout // delay))})

    @staticmethod
    def _delete_group_if_unused(client: t.Any, group_id: str, instance_id: str, record: MachineRecord) -> bool:
        from botocore.exceptions import ClientError

        try:
            groups = client.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvalidGroup.NotFound":
                return False
            raise
        created = set(record.sidecar.get("CreatedSecurityGroups") or [])
        if not groups or (group_id not in created and groups[0].get("GroupName") != ORIGINAL_SECURITY_GROUP):
            return False  # a group the user gave: never ours to delete
        users = client.describe_instances(
            Filters=[
                {"Name": "instance.group-id", "Values": [group_id]},
                {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped", "shutting-down"]},
            ]
        )
        if any(i.get("InstanceId") != instance_id for r in users.get("Reservations", []) for i in r.get("Instances", [])):
            return False  # another machine still uses it
        client.delete_security_group(GroupId=group_id)
        return True
