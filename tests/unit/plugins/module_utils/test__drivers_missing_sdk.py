"""A store with an amazonec2 machine, in a Python that cannot import boto3: that machine's error, the rest works."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils import _listing
from ansible_collections.dockyard.machine.plugins.module_utils._drivers import batch_refresher, get_driver
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.batch import RefreshSettings
from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError
from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineStore


@pytest.fixture
def without_boto3(monkeypatch: pytest.MonkeyPatch) -> None:
    """``import boto3`` and ``import botocore`` fail as they do where the packages are not installed (None in
    sys.modules is how Python marks a module that must not be imported)."""
    monkeypatch.setitem(sys.modules, "boto3", None)
    monkeypatch.setitem(sys.modules, "botocore", None)


def test_listing_shows_the_missing_package_on_the_amazonec2_machine_only(fixture_store: Path, without_boto3: None) -> None:
    rows = {row.name: row for row in _listing.list_machines(MachineStore(str(fixture_store)), timeout=1.0, docker_host=None)}
    assert sorted(rows) == ["aws-sandbox", "m1", "m2"]
    aws = rows["aws-sandbox"]
    assert aws.state == "Error"
    assert "pip install boto3" in aws.error and "amazonec2" in aws.error and sys.executable in aws.error
    for name in ("m1", "m2"):
        assert rows[name].driver == "generic" and "boto3" not in rows[name].error


def test_each_amazonec2_call_to_aws_names_the_package(fixture_store: Path, without_boto3: None, monkeypatch: pytest.MonkeyPatch) -> None:
    record = MachineStore(str(fixture_store)).load("aws-sandbox")
    monkeypatch.setenv("AWS_ENDPOINT", "http://127.0.0.1:5055")  # the fixture record's, as the command line passes it
    driver = get_driver("amazonec2")
    for call in (lambda: driver.state(record, 1.0), lambda: driver.remove_cloud_resources(record, 1.0)):
        with pytest.raises(DriverError, match=r"pip install boto3"):
            call()
    # What needs no AWS still works: the record's own address and URL.
    assert driver.url(record).startswith("tcp://")


def test_the_batch_refresh_marks_its_machines_with_the_missing_package(fixture_store: Path, without_boto3: None) -> None:
    record = MachineStore(str(fixture_store)).load("aws-sandbox")
    refresher = batch_refresher("amazonec2")
    assert refresher is not None
    report = refresher([record], RefreshSettings(timeout=1.0, endpoint_url="http://127.0.0.1:5055"))
    assert report.machines["aws-sandbox"].state == "Error"
    assert "pip install boto3" in report.machines["aws-sandbox"].error
