"""The swarm_cluster role's plan: who initializes, joins and leaves, and when quorum refuses."""

from __future__ import annotations

import pytest

from ansible_collections.dockyard.machine.plugins.filter.swarm_plan import FilterModule
from ansible_collections.dockyard.machine.plugins.plugin_utils._swarm import FORCE_VARIABLE, SwarmPlanError, plan


def inactive(name, role="worker", state="present"):
    return {"name": name, "role": role, "state": state, "swarm": {"LocalNodeState": "inactive", "NodeID": ""}}


def member(name, role="worker", state="present", manages=False, cluster="c1"):
    swarm = {"LocalNodeState": "active", "NodeID": "id-" + name, "ControlAvailable": manages}
    if manages:
        swarm["Cluster"] = {"ID": cluster}
    return {"name": name, "role": role, "state": state, "swarm": swarm}


def node(name, manager=None):
    return {"ID": "id-" + name, "Hostname": name, "Status": "ready", "Availability": "active", "ManagerStatus": manager}


def test_a_new_cluster_is_initialized_on_the_first_manager_and_the_others_join():
    result = plan([inactive("w1"), inactive("m1", "manager"), inactive("m2", "manager")])
    assert result["manager"] == "m1" and result["init"] is True
    assert result["join"] == ["w1", "m2"] and result["configure"] == ["w1", "m1", "m2"] and result["leave"] == []


def test_a_formed_cluster_changes_nothing_and_keeps_its_manager():
    hosts = [member("m1", "manager", manages=True), member("w1"), member("w2")]
    result = plan(hosts, [node("m1", "Leader"), node("w1"), node("w2")])
    assert (result["manager"], result["init"], result["join"], result["leave"]) == ("m1", False, [], [])
    assert result["cluster_id"] == "c1"


def test_a_new_node_joins_through_the_manager_already_in_charge():
    # m2 is listed first and designated manager, but m1 already manages the cluster: no second cluster is made.
    hosts = [inactive("m2", "manager"), member("m1", "manager", manages=True)]
    result = plan(hosts, [node("m1", "Leader")])
    assert result["manager"] == "m1" and result["init"] is False and result["join"] == ["m2"]


def test_a_leaving_worker_is_drained_left_and_removed():
    hosts = [member("m1", "manager", manages=True), member("w1", state="absent"), member("w2")]
    result = plan(hosts, [node("m1", "Leader"), node("w1"), node("w2")])
    assert result["leave"] == [{"name": "w1", "node_id": "id-w1", "manager": False, "demote": False, "force": False, "remove": True}]
    assert result["dissolve"] is False and result["configure"] == ["m1", "w2"]


def test_removing_the_only_manager_is_refused_naming_the_variable():
    hosts = [member("m1", "manager", "absent", manages=True), member("w1"), member("w2")]
    with pytest.raises(SwarmPlanError, match="no manager would be left") as refused:
        plan(hosts, [node("m1", "Leader"), node("w1"), node("w2")])
    assert FORCE_VARIABLE in str(refused.value) and "m1" in str(refused.value)


def test_forcing_the_loss_makes_the_manager_leave_with_force_last():
    hosts = [member("m1", "manager", "absent", manages=True), member("w1", state="absent"), member("w2")]
    result = plan(hosts, [node("m1", "Leader"), node("w1"), node("w2")], allow_quorum_loss=True)
    assert [s["name"] for s in result["leave"]] == ["w1", "m1"]
    assert result["leave"][1] == {"name": "m1", "node_id": "id-m1", "manager": True, "demote": False, "force": True, "remove": False}
    assert "no manager would be left" in result["quorum_warning"]


def test_one_of_three_managers_leaves_demoted_and_removed():
    hosts = [member("m1", "manager", manages=True), member("m2", "manager", "absent", manages=True), member("m3", "manager", manages=True)]
    result = plan(hosts, [node("m1", "Leader"), node("m2", "Reachable"), node("m3", "Reachable")])
    assert result["leave"] == [{"name": "m2", "node_id": "id-m2", "manager": True, "demote": True, "force": False, "remove": True}]


def test_a_reachable_manager_cannot_leave_while_another_is_unreachable():
    hosts = [member("m1", "manager", manages=True), member("m2", "manager", "absent", manages=True)]
    nodes = [node("m1", "Leader"), node("m2", "Reachable"), node("m3", "Unreachable")]
    with pytest.raises(SwarmPlanError, match="1 of the 2 managers left would be reachable, and a quorum needs 2"):
        plan(hosts, nodes)


def test_demoting_the_only_manager_is_refused_too():
    hosts = [member("m1", "worker", manages=True), member("w1", "manager")]
    with pytest.raises(SwarmPlanError, match="Every manager of the swarm"):
        plan(hosts, [node("m1", "Leader"), node("w1")])


def test_when_every_node_leaves_the_cluster_is_dissolved_without_force():
    hosts = [member("m1", "manager", "absent", manages=True), member("w1", state="absent")]
    result = plan(hosts, [node("m1", "Leader"), node("w1")])
    assert result["dissolve"] is True and [s["name"] for s in result["leave"]] == ["w1", "m1"]
    assert result["leave"][1]["force"] is True and result["leave"][1]["remove"] is False and result["leave"][0]["remove"] is True


def test_a_node_the_cluster_does_not_list_is_in_another_swarm():
    hosts = [member("m1", "manager", manages=True), member("x1")]
    with pytest.raises(SwarmPlanError, match="x1 is in a swarm whose managers are not among the play's hosts"):
        plan(hosts, [node("m1", "Leader")])


def test_managers_of_two_clusters_are_refused():
    hosts = [member("m1", "manager", manages=True, cluster="a"), member("m2", "manager", manages=True, cluster="b")]
    with pytest.raises(SwarmPlanError, match="managers of 2 different swarms"):
        plan(hosts, [node("m1", "Leader"), node("m2", "Reachable")])


def test_no_manager_among_the_hosts_is_refused():
    with pytest.raises(SwarmPlanError, match="swarm_cluster_role: manager"):
        plan([inactive("a"), inactive("b")])


@pytest.mark.parametrize("state", ["locked", "pending", "error"])
def test_a_node_in_a_state_we_cannot_manage_is_named(state):
    with pytest.raises(SwarmPlanError, match="a: its engine's swarm state is '%s'" % state):
        plan([{"name": "a", "role": "manager", "swarm": {"LocalNodeState": state}}])


def test_leave_only_changes_nothing_but_the_leaving_hosts():
    hosts = [member("m1", manages=True), member("w1", state="absent"), inactive("spare")]
    result = plan(hosts, [node("m1", "Leader"), node("w1")], converge=False)
    assert result["manager"] == "m1" and result["join"] == [] and result["configure"] == []
    assert [s["name"] for s in result["leave"]] == ["w1"]


def test_unknown_state_in_check_mode_is_taken_as_not_in_a_swarm():
    result = plan([{"name": "m1", "role": "manager", "swarm": {}}])
    assert result["init"] is True and result["manager"] == "m1"


def test_the_filter_returns_a_refusal_as_error():
    swarm_plan = FilterModule().filters()["swarm_plan"]
    refused = swarm_plan([inactive("a")])
    assert "swarm_cluster_role: manager" in refused["error"] and refused["leave"] == []
    assert swarm_plan([inactive("a", "manager")])["error"] == ""
