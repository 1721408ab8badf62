"""swarm_cluster on three test bed machines: one manager, two workers, labels and availability as the variables say."""

from __future__ import annotations

import json

testinfra_hosts = ["role-swarm-manager"]


def _nodes(host) -> dict[str, dict]:
    ids = host.check_output("docker node ls -q").split()
    inspected = json.loads(host.check_output("docker node inspect %s" % " ".join(ids)))
    return {node["Description"]["Hostname"]: node for node in inspected}


def test_three_nodes_ready_one_manager(host):
    nodes = _nodes(host)
    assert sorted(nodes) == ["role-swarm-manager", "role-swarm-worker-bookworm", "role-swarm-worker-trixie"]
    assert {name: n["Status"]["State"] for name, n in nodes.items()} == dict.fromkeys(nodes, "ready")
    assert {name: n["Spec"]["Role"] for name, n in nodes.items()} == {
        "role-swarm-manager": "manager", "role-swarm-worker-bookworm": "worker", "role-swarm-worker-trixie": "worker"}
    assert nodes["role-swarm-manager"]["ManagerStatus"]["Leader"] is True


def test_labels_and_availability_from_host_variables(host):
    nodes = _nodes(host)
    assert nodes["role-swarm-worker-bookworm"]["Spec"].get("Labels") == {"disk": "hdd", "zone": "b"}
    assert nodes["role-swarm-worker-trixie"]["Spec"].get("Labels") == {"zone": "c"}
    assert nodes["role-swarm-worker-trixie"]["Spec"]["Availability"] == "pause"
    assert nodes["role-swarm-worker-bookworm"]["Spec"]["Availability"] == "active"


def test_the_manager_advertises_its_network_address(host):
    swarm = json.loads(host.check_output("docker info --format '{{json .Swarm}}'"))
    address = host.check_output("ip -4 -o addr show dev eth0").split()[3].split("/")[0]
    assert swarm["NodeAddr"] == address and swarm["LocalNodeState"] == "active" and swarm["ControlAvailable"] is True
