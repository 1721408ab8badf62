# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drivers declare their options once; the registry derives the module's spec and the task-level options from that."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils import _drivers
from ansible_collections.dockyard.machine.plugins.module_utils._drivers import DRIVERS, add_driver_options, cloud_options, get_driver, group_defaults
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.base import Driver
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.options import PAIRS, DriverOption, from_fields, to_fields
from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord, new_config


class _RegionalDriver(Driver):
    """A driver of another cloud whose connection option is also called region."""

    name = "regional"
    TASK_OPTIONS = (DriverOption("region", flag="regional-region"),)
    DEFAULTS_GROUPS = ("group/other.cloud.all",)


@pytest.fixture
def with_regional(monkeypatch: pytest.MonkeyPatch) -> t.Iterator[None]:
    monkeypatch.setitem(DRIVERS, _RegionalDriver.name, _RegionalDriver)
    yield


def test_each_driver_option_spec_is_derived_from_its_declarations() -> None:
    for cls in DRIVERS.values():
        assert set(cls.option_spec) == {o.name for o in cls.OPTIONS}
    instance_type = DRIVERS["amazonec2"].option_spec["instance_type"]
    assert instance_type == {"type": "str", "default": "t3.micro"}


def test_a_task_option_two_drivers_declare_is_refused(with_regional: None) -> None:
    with pytest.raises(ValueError, match="both declare the task option 'region'"):
        add_driver_options({})


def test_a_driver_gets_only_the_task_options_it_declares() -> None:
    values = cloud_options({"region": "eu-west-1", "name": "m", "access_key": None})
    assert values == {"region": "eu-west-1"}
    assert get_driver("amazonec2", values).cloud_options == {"region": "eu-west-1"}
    assert get_driver("generic", values).cloud_options == {}


def test_module_defaults_groups_fill_only_the_task_options_of_the_driver_used() -> None:
    defaults = [{"group/amazon.aws.aws": {"region": "eu-west-1", "profile": "ops", "purge_tags": True}}]
    assert group_defaults(defaults, {"name": "m", "driver": "amazonec2"}) == {"region": "eu-west-1", "profile": "ops"}
    # A task of another driver takes nothing from it; a task without driver (its record says) takes the options.
    assert group_defaults(defaults, {"name": "m", "driver": "generic"}) == {}
    assert group_defaults(defaults, {"name": "m", "state": "absent"}) == {"region": "eu-west-1", "profile": "ops"}


def test_tags_are_written_and_read_with_the_declared_codec() -> None:
    tags = next(o for o in DRIVERS["amazonec2"].OPTIONS if o.name == "tags")
    assert tags.codec is PAIRS and tags.flag_kind == "string"
    assert to_fields([tags], {"tags": {"team": "web", "env": "prod"}}) == {"Tags": "env,prod,team,web"}
    assert from_fields([tags], {"Tags": "env,prod,team,web,odd"}) == {"tags": {"env": "prod", "team": "web"}}
    assert tags.from_flag("a,1,b,2") == {"a": "1", "b": "2"}
    with pytest.raises(ValueError):
        tags.from_flag("a,1,b")


@pytest.mark.parametrize("name", ["generic", "amazonec2"])
def test_a_record_written_from_options_gives_the_same_options_back(name: str, tmp_path: t.Any) -> None:
    key = tmp_path / "key"
    key.write_text("k")
    driver = get_driver(name, {"region": "eu-west-1"})
    options = {o.name: o.fallback() for o in driver.OPTIONS}
    if name == "generic":
        options.update(ip_address="192.0.2.1", ssh_user="admin", ssh_port=2222, ssh_key=str(key))
    else:
        options.update(ami="ami-1", instance_type="t3.small", tags={"team": "web"}, ssh_keypath=str(key), root_size=30)
    section = driver.driver_section("m1", str(tmp_path), options)
    record = MachineRecord(name="m1", config=new_config("m1", str(tmp_path), name, section), sidecar={})
    assert driver.recorded_options(record) == options


def test_every_driver_is_registered_once_under_its_name() -> None:
    assert all(name == cls.name for name, cls in _drivers.DRIVERS.items())


def test_whether_a_record_names_its_host_yet_is_the_driver_s_answer(tmp_path: t.Any) -> None:
    driver = get_driver("amazonec2", {"region": "eu-west-1"})
    section = driver.driver_section("m1", str(tmp_path), {o.name: o.fallback() for o in driver.OPTIONS})
    record = MachineRecord(name="m1", config=new_config("m1", str(tmp_path), "amazonec2", section), sidecar={})
    assert not driver.has_host(record)
    record.driver["InstanceId"] = "i-1"
    assert driver.has_host(record)
    assert get_driver("generic").has_host(record)
