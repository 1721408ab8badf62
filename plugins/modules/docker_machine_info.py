#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_machine_info
short_description: List docker-machine machines or inspect one, like C(docker-machine ls) and C(inspect)
version_added: 1.0.0
description:
  - Without O(name), lists every machine of the store like C(docker-machine ls) does, with its driver,
    live state, Docker URL, engine version and error, and returns a ready C(ls)-style text table.
  - With O(name), returns that machine's C(inspect) data (cloud credentials redacted), its live status,
    IP address and URL.
  - Hosts are queried in parallel; every network step is bounded by O(timeout), so an unreachable
    host shows C(Stopped) or C(Timeout) instead of holding up the list.
  - The engine version comes from a real TLS call with the store's client certificate; the server
    certificate is always verified.
author:
  - dockyard.machine developers (@dockyard)
extends_documentation_fragment:
  - dockyard.machine._store
  - dockyard.machine._store.ATTRIBUTES
requirements:
  - boto3 and botocore, only for the live state of V(amazonec2) machines (without them each such machine lists with an error naming the package)
attributes:
  check_mode:
    description: Only reads; runs the same in check mode.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: N/A
options:
  name:
    description:
      - A machine to inspect. Without it, every machine is listed.
    type: str
  filters:
    description:
      - Only list machines that match, as C(docker-machine ls --filter). Keys are V(name) (a regular
        expression searched in the name), V(driver), V(state) and V(label) (V(KEY=VALUE) among the
        engine labels). A list value matches any of its items; several keys must all match.
      - Ignored with O(name).
    type: dict
    default: {}
  timeout:
    description:
      - Seconds each network step (state check, engine version) may take per host.
    type: float
    default: 10
"""

EXAMPLES = r"""
- name: List every machine of the default store
  dockyard.machine.docker_machine_info:
  delegate_to: localhost
  register: machines

- name: Print the docker-machine ls table
  ansible.builtin.debug:
    msg: "{{ machines.table }}"

- name: Running generic machines whose name starts with web
  dockyard.machine.docker_machine_info:
    store_path: /srv/machines
    filters:
      driver: generic
      state: Running
      name: "^web"
    timeout: 3
  delegate_to: localhost
  register: web

- name: Inspect one machine
  dockyard.machine.docker_machine_info:
    name: web1
  delegate_to: localhost
  register: web1
"""

RETURN = r"""
machines:
  description: One entry per machine listed, in the order C(docker-machine ls) prints them.
  returned: when O(name) is not set
  type: list
  elements: dict
  contains:
    name:
      description: Machine name.
      type: str
      sample: web1
    active:
      description:
        - Whether the machine runs and its URL equals E(DOCKER_HOST) on the controller (the V(*) of the RV(table)).
        - A bool here and in RV(machine.active) alike.
      type: bool
      sample: false
    driver:
      description: Driver name, V(not found) when the record cannot be loaded.
      type: str
      sample: generic
    state:
      description: Live state (V(Running), V(Stopped), V(Error), V(Timeout), ...).
      type: str
      sample: Running
    url:
      description: Docker URL when the machine runs.
      type: str
      sample: tcp://203.0.113.5:2376
    swarm:
      description:
        - The SWARM column. For a record of the original's standalone Swarm, the name of its master (V(NAME (master)) on
          the master), as the original shows it.
        - For a machine in a Swarm-mode cluster, V(NAME (manager)) on a manager, else the name of a listed machine that
          manages its cluster (the manager's address when none is listed); empty otherwise.
      type: str
      sample: ""
    docker_version:
      description: Engine version as V(vX.Y.Z), V(Unknown) when the TLS call failed.
      type: str
      sample: v26.1.5
    error:
      description: Why the state or version could not be read.
      type: str
      sample: ""
    response_time_ms:
      description: How long the host took to answer.
      type: int
      sample: 42
names:
  description: The names listed, like C(docker-machine ls -q).
  returned: when O(name) is not set
  type: list
  elements: str
  sample: [web1, web2]
table:
  description: The C(docker-machine ls) table as text.
  returned: when O(name) is not set
  type: str
  sample: "NAME   ACTIVE   DRIVER    STATE     URL   SWARM   DOCKER   ERRORS\n"
machine:
  description: The machine asked for in O(name).
  returned: when O(name) is set
  type: dict
  contains:
    name:
      description: Machine name.
      type: str
    driver:
      description: Driver name.
      type: str
    status:
      description: Live state, as C(docker-machine status) prints it.
      type: str
    ip:
      description: Address of the machine, as C(docker-machine ip) prints it.
      type: str
    url:
      description: Docker URL, empty when the machine does not run.
      type: str
    active:
      description: Whether the machine's URL equals E(DOCKER_HOST).
      type: bool
    docker_version:
      description: Engine version as V(vX.Y.Z).
      type: str
    error:
      description: Why the state or version could not be read.
      type: str
    inspect:
      description: The machine record as C(docker-machine inspect) shows it, with cloud credentials redacted.
      type: dict
    healed_paths:
      description: Record fields whose paths pointed at another store folder and were resolved under this one.
      type: list
      elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockyard.machine.plugins.module_utils._common import STORE_ARGS, fail_from, store_from
from ansible_collections.dockyard.machine.plugins.module_utils._errors import MachineError
from ansible_collections.dockyard.machine.plugins.module_utils._listing import (
    MachineFilter,
    describe_machine,
    list_machines,
    render_table,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            STORE_ARGS,
            name=dict(type="str"),
            filters=dict(type="dict", default={}),
            timeout=dict(type="float", default=10),
        ),
        supports_check_mode=True,
    )
    store = store_from(module, must_exist=True)
    docker_host = os.environ.get("DOCKER_HOST")
    timeout = module.params["timeout"]
    try:
        if module.params["name"]:
            machine = describe_machine(store, module.params["name"], timeout=timeout, docker_host=docker_host)
            module.exit_json(changed=False, machine=machine)
        rows = list_machines(store, timeout=timeout, docker_host=docker_host, machine_filter=MachineFilter(module.params["filters"]))
    except MachineError as error:
        fail_from(module, error)
    module.exit_json(changed=False, machines=[row.as_dict() for row in rows], names=[row.name for row in rows], table=render_table(rows))


if __name__ == "__main__":
    main()
