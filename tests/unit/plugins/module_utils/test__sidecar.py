"""Sidecar facts as data: a value is kept only with the shape its owner declared."""

from __future__ import annotations

import os
import re

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils import _drivers
from ansible_collections.dockyard.machine.plugins.module_utils._drivers import DRIVERS, sidecar_keys
from ansible_collections.dockyard.machine.plugins.module_utils._sidecar import SidecarKey, fits, kept_value, optional
from ansible_collections.dockyard.machine.plugins.module_utils._store import SIDECAR_KEYS

GROUPS = SidecarKey("Groups", [re.compile(r"sg-[0-9a-f]+")], "a security group ID")
ERROR = SidecarKey("LastError", {"Step": str, "Message": str}, "a step and a message")


@pytest.mark.parametrize(
    ("value", "shape", "expected"),
    [
        ("running", str, True),
        ("two\nlines", str, False),
        ("x" * 4097, str, False),
        (True, bool, True),
        (1, bool, False),
        (True, int, False),
        (22, int, True),
        ("sg-0a1b", re.compile(r"sg-[0-9a-f]+"), True),
        ("sg-0a1b; x", re.compile(r"sg-[0-9a-f]+"), False),
        ({"Step": "a", "Message": "b"}, {"Step": str, "Message": str}, True),
        ({"Step": "a"}, {"Step": str, "Message": str}, False),
        ({"Step": "a", "Message": "b", "Run": "c"}, {"Step": str, "Message": str}, False),
        ({"Step": "a", "Message": 1}, {"Step": str, "Message": str}, False),
        ({"Name": "fw"}, {"Name": str, "Id": optional(str)}, True),
        ({"Name": "fw", "Id": "7"}, {"Name": str, "Id": optional(str)}, True),
        ({"Id": "7"}, {"Name": str, "Id": optional(str)}, False),
        ({"Name": "fw", "Id": 7}, {"Name": str, "Id": optional(str)}, False),
        (["a", "b"], [str], True),
        ("a", [str], False),
    ],
)
def test_fits(value, shape, expected):
    assert fits(value, shape) is expected


def test_a_list_keeps_its_good_entries_and_says_why_the_others_went():
    assert kept_value(GROUPS, ["sg-01", "sg-02"]) == (["sg-01", "sg-02"], "")
    assert kept_value(GROUPS, ["sg-01", "evil"]) == (["sg-01"], "an entry that is not a security group ID")
    assert kept_value(GROUPS, ["evil"]) == (None, "an entry that is not a security group ID")
    assert kept_value(GROUPS, "sg-01") == (None, "not a list")
    assert kept_value(ERROR, {"Step": "x"}) == (None, "not a step and a message")


def test_every_driver_declares_keys_the_store_does_not_and_only_its_own_are_added():
    base = {key.name for key in SIDECAR_KEYS}
    for name, cls in DRIVERS.items():
        own = [key.name for key in cls.sidecar_keys]
        assert len(own) == len(set(own)) and not set(own) & base, name
        assert [key.name for key in sidecar_keys(name)] == [key.name for key in SIDECAR_KEYS] + own
    assert {key.name for key in sidecar_keys("amazonec2")} - base == {"PendingSecurityGroup", "CreatedSecurityGroups", "ClientToken", "ElasticIp", "Adopted"}
    assert sidecar_keys("virtualbox") == SIDECAR_KEYS


def _written_keys(driver: str) -> set[str]:
    """The sidecar keys the driver's own files assign (``side["X"] = ...``, ``sidecar.setdefault("X"``)."""
    folder = os.path.dirname(_drivers.__file__)
    written = re.compile(r"""(?:side|sidecar)\[["'](\w+)["']\]\s*=(?!=)|(?:side|sidecar)\.setdefault\(["'](\w+)["']""")
    keys: set[str] = set()
    for filename in sorted(os.listdir(folder)):
        if filename.startswith(driver) and filename.endswith(".py"):
            with open(os.path.join(folder, filename), encoding="utf-8") as handle:
                keys |= {a or b for a, b in written.findall(handle.read())}
    return keys


def test_every_sidecar_key_a_driver_writes_is_declared():
    """A key a driver writes but does not declare would be lost by a bundle (and what it names left in the cloud)."""
    assert _written_keys("amazonec2") == {"PendingSecurityGroup", "CreatedSecurityGroups", "ClientToken", "ElasticIp", "Adopted"}
    for name in DRIVERS:
        missing = _written_keys(name) - {key.name for key in sidecar_keys(name)}
        assert not missing, (name, missing)
