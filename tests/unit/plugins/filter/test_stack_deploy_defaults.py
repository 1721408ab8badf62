"""stack_deploy_defaults: what a service's deploy section says wins; the role's defaults fill the gaps."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.dockyard.machine.plugins.filter.stack_deploy_defaults import FilterModule, stack_deploy_defaults

DEFINITION = {
    "services": {
        "web": {"image": "web:1"},
        "api": {"image": "api:1", "deploy": {"replicas": 5, "update_config": {"parallelism": 2}}},
        "agent": {"image": "agent:1", "deploy": {"mode": "global"}},
    },
    "networks": {"front": {}},
}


def test_gaps_are_filled_and_the_services_own_settings_win():
    out = stack_deploy_defaults(DEFINITION, replicas=2, update_config={"order": "start-first", "parallelism": 1})
    assert out["services"]["web"]["deploy"] == {"replicas": 2, "update_config": {"order": "start-first", "parallelism": 1}}
    assert out["services"]["api"]["deploy"] == {"replicas": 5, "update_config": {"order": "start-first", "parallelism": 2}}
    assert out["services"]["agent"]["deploy"] == {"mode": "global", "update_config": {"order": "start-first", "parallelism": 1}}
    assert out["networks"] == {"front": {}}
    # The input is not changed.
    assert "deploy" not in DEFINITION["services"]["web"]


def test_no_defaults_leave_the_definition_as_it_is():
    assert stack_deploy_defaults(DEFINITION) == DEFINITION
    assert FilterModule().filters()["stack_deploy_defaults"]({"services": {"x": None}}, replicas="3") == {"services": {"x": {"deploy": {"replicas": 3}}}}


@pytest.mark.parametrize("args, message", [
    (("not a dict",), "expects a Compose definition"),
    (({"services": {}}, "many"), "replicas must be a number"),
    (({"services": {}}, -1), "must not be negative"),
    (({"services": {}}, 1, ["order"]), "update_config must be a dictionary"),
    (({"services": {"x": "image"}}, 1), "service x must be a dictionary"),
])
def test_bad_input_is_named(args, message):
    with pytest.raises(AnsibleFilterError, match=message):
        stack_deploy_defaults(*args)
