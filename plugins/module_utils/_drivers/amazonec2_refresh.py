# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""amazonec2 machines refreshed in batches: state and address of many instances from few DescribeInstances calls.

One call per (region, endpoint) and per page, never one per machine; every (region, endpoint) is asked in
parallel, and the whole refresh is bounded by one timeout (connect and read timeouts of each client, no
retries, and a deadline after which a region that has not answered is reported as ``Timeout``).

The instances are asked for with an ``instance-id`` *filter* rather than ``InstanceIds``: with ``InstanceIds``
one unknown id fails the whole call (``InvalidInstanceID.NotFound``), with the filter it is simply absent from
the answer, which is how a terminated and purged instance is recognised.  EC2 takes at most 200 values in a
filter, so ids go in chunks of 200.

Credentials come from the standard AWS chain (environment, ``AWS_PROFILE``, shared files, instance role) or a
named profile; the plain-text keys old records hold are never used.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import typing as t

from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2 import _STATE_MAP, AmazonEC2Driver
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2_lookup import machine_endpoint
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.aws_access import DEFAULT_REGION, require_sdk
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.batch import RefreshReport, Refreshed, RefreshSettings
from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError, MachineError

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord

__all__ = ["IDS_PER_CALL", "PAGE_SIZE", "refresh_machines"]

#: Values EC2 accepts in one filter.
IDS_PER_CALL = 200
#: DescribeInstances' largest MaxResults: 200 ids fit in one page.
PAGE_SIZE = 1000
# Past the deadline, how long to wait for threads that are about to return before calling them Timeout.
GRACE_SECONDS = 0.25

_DRIVER = AmazonEC2Driver()

GroupKey = t.Tuple[str, t.Optional[str]]


def _where(region: str, endpoint: str | None) -> str:
    return "%s at %s" % (region, endpoint) if endpoint else region


def _real_client_factory(settings: RefreshSettings) -> t.Callable[[str, str | None, float], t.Any]:
    """Clients of one boto3 session (so the profile is read once): no retries, connect and read bounded."""
    require_sdk("Refreshing amazonec2 machines")
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    try:
        session = boto3.session.Session(profile_name=settings.profile or None)
    except BotoCoreError as exc:  # ProfileNotFound ...
        raise DriverError("Cannot use AWS profile %r: %s" % (settings.profile, exc), option="aws_profile") from exc

    def make(region: str, endpoint: str | None, timeout: float) -> t.Any:
        config = Config(connect_timeout=timeout, read_timeout=timeout, retries={"mode": "standard", "total_max_attempts": 1})
        return session.client("ec2", region_name=region, endpoint_url=endpoint, config=config)

    return make


def _chunks(items: t.Sequence[str], size: int) -> t.Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def _explain(exc: BaseException, where: str) -> tuple[str, str]:
    """(state, sentence) for an exception raised while asking EC2 in ``where``."""
    from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, NoCredentialsError, ReadTimeoutError

    if isinstance(exc, (ConnectTimeoutError, ReadTimeoutError)):
        return "Timeout", "the EC2 API in %s did not answer in time (%s)" % (where, exc)
    if isinstance(exc, NoCredentialsError):
        return "Error", (
            "no AWS credentials for the EC2 API in %s: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, "
            "or the inventory option aws_profile" % where
        )
    if isinstance(exc, EndpointConnectionError):
        return "Error", "cannot connect to the EC2 API in %s (%s)" % (where, exc)
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return "Error", "the EC2 API in %s refused DescribeInstances: %s %s" % (where, error.get("Code", ""), error.get("Message", ""))
    if isinstance(exc, MachineError):
        return "Error", "cannot ask the EC2 API in %s: %s" % (where, exc.msg)
    return "Error", "cannot ask the EC2 API in %s: %s: %s" % (where, type(exc).__name__, exc)


def _describe_group(client: t.Any, instance_ids: t.Sequence[str], report: RefreshReport) -> tuple[dict[str, dict[str, t.Any]], BaseException | None]:
    """Every instance EC2 knows among ``instance_ids`` (by id), and the exception that stopped the asking, if any."""
    found: dict[str, dict[str, t.Any]] = {}

    def count(**kwargs: t.Any) -> None:
        report.calls += 1

    # Fired once per API call, just before it is built (after any retry decision): an honest count of requests.
    client.meta.events.register("before-parameter-build.ec2.DescribeInstances", count)
    try:
        paginator = client.get_paginator("describe_instances")
        for chunk in _chunks(instance_ids, IDS_PER_CALL):
            pages = paginator.paginate(Filters=[{"Name": "instance-id", "Values": chunk}], PaginationConfig={"PageSize": PAGE_SIZE})
            for page in pages:
                for reservation in page.get("Reservations") or []:
                    for instance in reservation.get("Instances") or []:
                        if instance.get("InstanceId"):
                            found[instance["InstanceId"]] = instance
    except Exception as exc:  # every failure becomes the machines' state; the inventory must not crash
        return found, exc
    finally:
        client.meta.events.unregister("before-parameter-build.ec2.DescribeInstances", count)
    return found, None


def _outcome(record: MachineRecord, instance_id: str, instance: t.Mapping[str, t.Any] | None, where: str, report: RefreshReport) -> Refreshed:
    if instance is None:
        report.warnings.append(
            "Docker machine %r: its EC2 instance %s was not found in %s (terminated long ago, or in another account or "
            "region); its state is Error. state=absent of dockyard.machine.docker_machine removes the record."
            % (record.name, instance_id, where)
        )
        return Refreshed(state="Error", error="EC2 instance %s not found in %s" % (instance_id, where))
    ec2_state = str((instance.get("State") or {}).get("Name") or "")
    state = _STATE_MAP.get(ec2_state, "Error")
    refreshed = Refreshed(state=state)
    if ec2_state == "terminated":
        report.warnings.append(
            "Docker machine %r: its EC2 instance %s in %s is terminated; its state is Error. state=absent of "
            "dockyard.machine.docker_machine removes the record." % (record.name, instance_id, where)
        )
        refreshed.error = "EC2 instance %s is terminated" % instance_id
        return refreshed
    if state == "Error":
        refreshed.error = "EC2 instance %s is in the unknown state %r" % (instance_id, ec2_state)
    address = AmazonEC2Driver.address_of(record, instance)  # the original's GetIP rule
    if address:
        moved = dataclasses.replace(record, config=dict(record.config, Driver=dict(record.driver, IPAddress=address)))
        refreshed.address = address
        refreshed.url = _DRIVER.url(moved)
    return refreshed


def _refresh_group(key: GroupKey, records: t.Sequence[MachineRecord], client: t.Any) -> RefreshReport:
    region, endpoint = key
    where = _where(region, endpoint)
    report = RefreshReport()
    started = time.monotonic()
    by_id: dict[str, list[MachineRecord]] = {}
    for record in records:
        by_id.setdefault(str(record.driver.get("InstanceId")), []).append(record)
    found, failure = _describe_group(client, list(by_id), report)
    state, reason = "", ""
    if failure is not None:
        state, reason = _explain(failure, where)
        unanswered = [r.name for iid, rs in by_id.items() if iid not in found for r in rs]
        report.warnings.append("EC2 refresh: %s; %d machine(s) show %s: %s." % (reason, len(unanswered), state, ", ".join(unanswered)))
    for instance_id, group in by_id.items():
        for record in group:
            if failure is not None and instance_id not in found:
                report.machines[record.name] = Refreshed(state=state, error=reason)
            else:
                report.machines[record.name] = _outcome(record, instance_id, found.get(instance_id), where, report)
    report.details.append(
        "EC2 %s: %d DescribeInstances call(s) for %d machine(s) in %.2f s" % (where, report.calls, len(records), time.monotonic() - started)
    )
    return report


def refresh_machines(records: t.Sequence[MachineRecord], settings: RefreshSettings) -> RefreshReport:
    """State and address of every amazonec2 record, from one DescribeInstances per (region, endpoint) and page.

    Never raises for what EC2 answers or fails to answer: each machine gets a ``Refreshed`` (``Error`` or
    ``Timeout`` with a reason when it could not be asked) and the report carries the warnings.  Returns within
    ``settings.timeout`` seconds (plus a fraction of a second); a region still busy then is left to its daemon
    thread and reported as ``Timeout``.
    """
    deadline = time.monotonic() + settings.timeout
    report = RefreshReport()
    groups: dict[GroupKey, list[MachineRecord]] = {}
    for record in records:
        if not record.driver.get("InstanceId"):
            report.machines[record.name] = Refreshed(state="Error", error="its record names no EC2 instance (InstanceId is empty)")
            report.warnings.append(
                "Docker machine %r: its record names no EC2 instance (InstanceId is empty: its create stopped before the "
                "launch); its state is Error." % record.name
            )
            continue
        region = str(record.driver.get("Region") or DEFAULT_REGION)
        try:
            endpoint = machine_endpoint(record, settings.endpoint_url, "cloud_endpoint_url", " of the inventory")
        except DriverError as exc:  # a record naming another endpoint than the inventory's is not asked
            report.machines[record.name] = Refreshed(state="Error", error=exc.msg)
            report.warnings.append("Docker machine %r: %s Its state is Error." % (record.name, exc.msg))
            continue
        groups.setdefault((region, endpoint), []).append(record)
    if not groups:
        return report

    try:
        factory = settings.client_factory or _real_client_factory(settings)
    except MachineError as exc:
        for members in groups.values():
            for record in members:
                report.machines[record.name] = Refreshed(state="Error", error=exc.msg)
        report.warnings.append("EC2 refresh: %s; %d machine(s) show Error." % (exc.msg, sum(len(m) for m in groups.values())))
        return report

    # Clients are made here, one after the other (a boto3 session is not thread-safe); only the calls run in parallel.
    results: dict[GroupKey, RefreshReport] = {}
    lock = threading.Lock()
    threads: list[threading.Thread] = []
    for key, members in groups.items():
        remaining = max(0.1, deadline - time.monotonic())
        try:
            client = factory(key[0], key[1], remaining)
        except Exception as exc:  # a bad region or endpoint name: only its machines are affected
            failed = RefreshReport()
            state, reason = _explain(exc, _where(*key))
            for record in members:
                failed.machines[record.name] = Refreshed(state=state, error=reason)
            failed.warnings.append("EC2 refresh: %s; %d machine(s) show %s." % (reason, len(members), state))
            results[key] = failed
            continue

        def work(key: GroupKey = key, members: list[MachineRecord] = members, client: t.Any = client) -> None:
            outcome = _refresh_group(key, members, client)
            with lock:
                results[key] = outcome

        thread = threading.Thread(target=work, name="dockyard-ec2-refresh-%s" % key[0], daemon=True)
        thread.start()
        threads.append(thread)
    give_up = deadline + GRACE_SECONDS
    for thread in threads:
        thread.join(max(0.0, give_up - time.monotonic()))

    with lock:
        finished = dict(results)
    for key, members in groups.items():
        if key in finished:
            report.merge(finished[key])
            continue
        reason = "the EC2 API in %s did not answer within %g s" % (_where(*key), settings.timeout)
        for record in members:
            report.machines[record.name] = Refreshed(state="Timeout", error=reason)
        report.warnings.append("EC2 refresh: %s; %d machine(s) show Timeout: %s." % (reason, len(members), ", ".join(r.name for r in members)))
        report.details.append("EC2 %s: no answer within %g s" % (_where(*key), settings.timeout))
    return report
