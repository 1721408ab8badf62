# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""Reading an amazonec2 machine's instance in EC2: describe it, require it alive, find a launch whose reply was lost,
and wait for a state. Each call is amazon.aws's per-call wrapper (module_utils/ec2.py): retries on throttling, and
"not found" is an empty answer rather than an error handled here.
"""

from __future__ import annotations

import typing as t

from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2_launch import LIVE_STATES, launch_error
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.aws_access import DEFAULT_REGION
from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord

__all__ = ["address_of", "describe_instance", "endpoint_url", "find_launched", "key_pair_exists", "live_instance", "machine_endpoint", "region_of", "wait_for"]

WAIT_DELAY = 2  # seconds between two looks of a waiter


def region_of(record: MachineRecord) -> str:
    return str(record.driver.get("Region") or DEFAULT_REGION)


def endpoint_url(endpoint: str, insecure: bool = False) -> str:
    """An EC2 endpoint as a URL: the original took a bare host (``ec2.example.com:8773``) too, with HTTPS unless
    ``DisableSSL`` (``--amazonec2-insecure-transport``); boto3 wants a URL, so the scheme is added the same way."""
    endpoint = str(endpoint or "").strip().rstrip("/")
    if endpoint and "://" not in endpoint:
        endpoint = ("http://" if insecure else "https://") + endpoint
    return endpoint


def machine_endpoint(record: MachineRecord, passed: str | None, option: str, elsewhere: str = "") -> str | None:
    """The EC2 endpoint to ask about ``record``'s machine: the one the task (or inventory) ``passed``, else AWS's regional
    one (None). A record that names an endpoint is asked there only when ``passed`` names the same: a record never
    chooses where the task's credentials sign calls (or whose answer becomes the machine's address), so another one is
    refused with a DriverError naming ``option`` (and ``elsewhere``, how else it is given)."""
    insecure = bool(record.driver.get("DisableSSL"))
    recorded = endpoint_url(str(record.driver.get("Endpoint") or ""), insecure)
    given = endpoint_url(passed or "", insecure)
    if recorded and recorded != given:
        raise DriverError(
            "Machine %s was made through the EC2 API at %s, and %s: set option %s%s to %s to manage it (a record never "
            "chooses where the credentials' signed calls go)."
            % (record.name, recorded, "this names %s" % given if given else "this names no endpoint", option, elsewhere, recorded),
            machine=record.name,
            option=option,
        )
    return given or None


def address_of(record: MachineRecord, instance: t.Mapping[str, t.Any]) -> str:
    """The original's GetIP rule: the private address with private_address_only or use_private_address, else the
    public one (an Elastic IP when associated)."""
    if record.driver.get("PrivateIPOnly") or record.driver.get("UsePrivateIP"):
        return str(instance.get("PrivateIpAddress") or "")
    return str(instance.get("PublicIpAddress") or "")


def _instances(reservations: t.Iterable[t.Mapping[str, t.Any]]) -> list[dict[str, t.Any]]:
    return [instance for reservation in reservations for instance in reservation.get("Instances", [])]


def describe_instance(client: t.Any, instance_id: str) -> dict[str, t.Any] | None:
    """The instance as EC2 describes it; None when EC2 does not know it (any more)."""
    from ansible_collections.amazon.aws.plugins.module_utils.ec2 import describe_instances

    return next(iter(_instances(describe_instances(client, InstanceIds=[instance_id]))), None)


def live_instance(client: t.Any, record: MachineRecord, step: str, remedy: str = "") -> dict[str, t.Any]:
    """The record's instance as EC2 describes it; an error naming ``step`` when it is gone or terminating."""
    instance_id = str(record.driver["InstanceId"])
    try:
        instance = describe_instance(client, instance_id)
    except Exception as exc:
        raise launch_error(record.name, "read instance", exc) from exc
    state = (instance or {}).get("State", {}).get("Name", "terminated")
    if instance is None or state in ("terminated", "shutting-down"):
        raise DriverError(
            "EC2 instance %s of machine %s is %s: remove the machine (state=absent)%s."
            % (instance_id, record.name, "gone" if instance is None else state, remedy),
            machine=record.name,
            step=step,
            option="state",
        )
    return instance


def find_launched(client: t.Any, record: MachineRecord) -> str:
    """The instance a launch with the record's client token made (its reply may have been lost); empty when none."""
    from ansible_collections.amazon.aws.plugins.module_utils.ec2 import describe_instances

    token = record.sidecar.get("ClientToken")
    if not token:
        return ""
    found = describe_instances(client, Filters=[{"Name": "client-token", "Values": [token]}, {"Name": "instance-state-name", "Values": LIVE_STATES}])
    return next((str(i["InstanceId"]) for i in _instances(found)), "")


def key_pair_exists(client: t.Any, key_name: str) -> bool:
    from ansible_collections.amazon.aws.plugins.module_utils.ec2 import describe_key_pairs

    return bool(describe_key_pairs(client, KeyNames=[key_name]))


def wait_for(client: t.Any, waiter: str, instance_id: str, timeout: float) -> None:
    """Wait (bounded by ``timeout``) until EC2's waiter ``waiter`` (``instance_running``, ...) is satisfied; botocore's
    WaiterError when it is not in time. The one way this driver waits."""
    client.get_waiter(waiter).wait(InstanceIds=[instance_id], WaiterConfig={"Delay": WAIT_DELAY, "MaxAttempts": max(1, int(timeout // WAIT_DELAY))})
