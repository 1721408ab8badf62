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
