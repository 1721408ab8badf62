#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_machine
short_description: Create, converge, power and remove Docker machines, like C(docker-machine create) and C(rm)
version_added: 1.0.0
description:
  - Manages one machine of a docker-machine store. The record it writes is the one the original Docker Machine
    writes, so the original binary can C(ls), C(env), C(inspect), C(ssh), C(regenerate-certs) and C(rm) it.
  - O(state=present) means the machine is in the store, Docker is installed on its host, the engine listens
    with TLS on its port, and a real TLS call with the store's client certificate worked. A second run changes
    nothing. Changed engine options (labels, registries, mirrors, storage driver, flags, environment) are applied
    to the host in place, without a re-create.
  - The engine's listen and TLS flags go into the systemd drop-in the original uses, rendered as it renders it;
    C(live-restore) goes into C(daemon.json), so re-issuing certificates never stops containers.
  - A create that fails records its status and last error in the store's sidecar file; running the task again
    resumes it. O(state=absent) always works, on half-created records too.
author:
  - dockyard.machine developers (@dockyard)
extends_documentation_fragment:
  - dockyard.machine._store
  - dockyard.machine._store.ATTRIBUTES
  - dockyard.machine._drivers.GENERIC
  - dockyard.machine._drivers.NONE
  - dockyard.machine._drivers.AMAZONEC2
  - dockyard.machine._drivers.DIGITALOCEAN
  - dockyard.machine._aws
requirements:
  - cryptography (certificates)
  - the OpenSSH client (C(ssh)) on the controller, for every driver but V(none)
  - boto3 and botocore, for the V(amazonec2) driver
attributes:
  check_mode:
    description:
      - Reports what would change without writing anything. The host is only read over SSH (checksums of the
        files that would be written, whether the engine runs).
    support: full
  diff_mode:
    description: The machine's record before and after, cloud credentials redacted.
    support: full
options:
  name:
    description: Machine name. Letters, digits, V(.) and V(-); the first character a letter or digit.
    type: str
    required: true
  state:
    description:
      - V(present) creates the machine or brings it to the options given.
      - V(absent) removes it from the store (and, with O(cleanup=true), our configuration from its host).
      - V(started), V(stopped) and V(restarted) power the machine. For V(amazonec2) and V(digitalocean) machines they start,
        stop or reboot the EC2 instance or the droplet; after a start that gave the instance another address, the record and the server certificate are
        updated in the same task, so Docker over TLS works right after. For V(generic) hosts, which this collection does
        not own, they start, stop or restart the Docker engine on the host.
    type: str
    choices: [present, absent, started, stopped, restarted]
    default: present
  driver:
    description:
      - Where the machine lives. Required with O(state=present).
      - Each driver takes its options from the option of the same name.
    type: str
    choices: [amazonec2, digitalocean, generic, none]
  engine:
    description: How to install the Docker engine when it is missing, and how to configure it.
    type: dict
    default: {}
    suboptions:
      install:
        description: Install the engine when the host has none. With V(false) a host without Docker is an error.
        type: bool
        default: true
      source:
        description:
          - Where the engine comes from. V(docker) is Docker's official package repository. V(distro) is the distribution's own
            packages (C(docker.io) on Debian and Ubuntu). V(script) runs O(engine.install_url) with C(sh), as the original did.
        type: str
        choices: [docker, distro, script]
        default: docker
      install_url:
        description: The install script for O(engine.source=script) (the original's C(--engine-install-url)).
        type: str
        default: https://get.docker.com
      version:
        description:
          - Engine version to install, for example V(26.1) (a package version prefix). Empty means the newest.
          - Only used when the engine is installed; an engine already present is not changed.
        type: str
        default: ""
      labels:
        description: Engine labels, V(KEY=VALUE) (C(--engine-label)). V(provider=DRIVER) is always added.
        type: list
        elements: str
        default: []
      insecure_registries:
        description: Registries reached without TLS verification (C(--engine-insecure-registry)).
        type: list
        elements: str
        default: []
      registry_mirrors:
        description: Registry mirrors (C(--engine-registry-mirror)).
        type: list
        elements: str
        default: []
      storage_driver:
        description: Storage driver (C(--engine-storage-driver)). Empty means V(overlay2), the original's choice for these systems.
        type: str
        default: ""
      env:
        description: Environment of the engine's service, V(KEY=VALUE) (C(--engine-env)).
        type: list
        elements: str
        default: []
      options:
        description:
          - "Further engine flags (C(--engine-opt)), as a dictionary: V(log-driver) set to V(journald) becomes C(--log-driver=journald).
            An empty value gives a flag without value; a list repeats the flag (V(dns) set to V([192.0.2.53, 192.0.2.54]))."
        type: dict
        default: {}
  tls_san:
    description: Extra names and addresses for the server certificate (C(--tls-san)); its IP and V(localhost) are always in it.
    type: list
    elements: str
    default: []
  key_type:
    description: Key type of the certificates created (CA and client on an empty store, server certificates). RSA is the original's.
    type: str
    choices: [rsa, ecdsa]
    default: rsa
  ssh_host_key_reset:
    description:
      - Forget the pinned SSH host key and pin the one the host presents now. Use it only when the host was rebuilt on purpose.
    type: bool
    default: false
  cleanup:
    description:
      - With O(state=absent), also remove our engine configuration from the host (systemd drop-in and certificates under
        C(/etc/docker)); the engine restarts with its package defaults. The original left them in place.
      - When the host cannot be reached the record is still removed, with a warning.
    type: bool
    default: false
  force:
    description:
      - With O(state=absent), remove the record even when the machine's cloud resources (an EC2 instance, the key pair
        imported for it) cannot be removed, for example without AWS credentials. They are named in a warning and keep
        running, and costing.
      - Without it, such a task fails naming those resources, and the record stays so that a later run can remove them.
      - Like the original's C(rm -f).
      - With O(state=stopped) on an V(amazonec2) or V(digitalocean) machine, a forced stop (the instance or droplet gets no
        chance to shut down cleanly), like the original's C(kill).
    type: bool
    default: false
  timeout:
    description: Seconds to wait for SSH to answer and for each step's connection.
    type: float
    default: 120
notes:
  - For the V(none) driver nothing is written to the engine's host; for V(generic) hosts, O(state=absent) without
    O(cleanup) leaves Docker running as it is.
seealso:
  - module: dockyard.machine.docker_machine_env
  - module: dockyard.machine.docker_machine_info
"""

EXAMPLES = r"""
- name: A Docker host on an existing server, reached over SSH
  dockyard.machine.docker_machine:
    name: web1
    driver: generic
    generic:
      ip_address: 203.0.113.5
      ssh_user: admin
      ssh_key: ~/.ssh/id_ed25519
    engine:
      source: distro
      labels: [role=web]
      options:
        log-driver: journald
  delegate_to: localhost
  register: web1

- name: Use it with community.docker
  community.docker.docker_container:
    name: hello
    image: nginx:stable
  module_defaults:
    group/community.docker.docker: "{{ web1.docker }}"
  delegate_to: localhost

- name: Register an engine that already has TLS with its own certificates
  dockyard.machine.docker_machine:
    name: legacy
    driver: none
    none:
      url: tcp://198.51.100.7:2376
      ca_cert: files/legacy/ca.pem
      client_cert: files/legacy/cert.pem
      client_key: files/legacy/key.pem
  delegate_to: localhost

- name: An EC2 machine; region and credentials from module_defaults, as for every amazon.aws module
  dockyard.machine.docker_machine:
    name: aws1
    driver: amazonec2
    amazonec2:
      instance_type: t3.small
      subnet_id: subnet-0123456789abcdef0
      security_group_cidrs: [198.51.100.0/24]
      open_ports: ["8080"]
      elastic_ip: true
      tags: {team: web}
  module_defaults:
    group/amazon.aws.aws:
      region: eu-west-1
      profile: ops
  delegate_to: localhost

- name: A DigitalOcean droplet with a reserved IP and a firewall of its own; the token from DIGITALOCEAN_ACCESS_TOKEN
  dockyard.machine.docker_machine:
    name: do1
    driver: digitalocean
    digitalocean:
      region: fra1
      size: s-1vcpu-2gb
      reserved_ip: true
      firewall_cidrs: [198.51.100.0/24]
      tags: [team-web]
  delegate_to: localhost

- name: Stop it (with force, a forced stop); a later state=started updates its address and certificate
  dockyard.machine.docker_machine:
    name: aws1
    state: stopped
  module_defaults:
    group/amazon.aws.aws:
      region: eu-west-1
      profile: ops
  delegate_to: localhost

- name: Restart the engine of web1
  dockyard.machine.docker_machine:
    name: web1
    state: restarted
  delegate_to: localhost

- name: Remove web1 and our configuration from its host
  dockyard.machine.docker_machine:
    name: web1
    state: absent
    cleanup: true
  delegate_to: localhost
"""

RETURN = r"""
status:
  description: The machine's status afterwards (V(running), V(absent), V(started), ...).
  returned: always
  type: str
  sample: running
steps:
  description: What changed (or would change in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: [certificates, record, server certificate, install engine, daemon configuration, restart engine]
machine:
  description: The machine's record as C(docker-machine inspect) shows it, cloud credentials redacted.
  returned: when the machine exists afterwards
  type: dict
docker:
  description: Options for every C(community.docker) module (use with C(module_defaults) of C(group/community.docker.docker)).
  returned: when the machine exists afterwards
  type: dict
  contains:
    docker_host:
      description: The engine's URL.
      type: str
      sample: tcp://203.0.113.5:2376
    tls:
      description: Always V(true).
      type: bool
    validate_certs:
      description: Always V(true).
      type: bool
    ca_path:
      description: CA certificate in the machine's folder.
      type: str
    client_cert:
      description: Client certificate in the machine's folder.
      type: str
    client_key:
      description: Client key in the machine's folder.
      type: str
env:
  description: The variables C(docker-machine env) sets.
  returned: when the machine exists afterwards
  type: dict
  sample:
    DOCKER_TLS_VERIFY: "1"
    DOCKER_HOST: tcp://203.0.113.5:2376
    DOCKER_CERT_PATH: /home/me/.docker/machine/machines/web1
    DOCKER_MACHINE_NAME: web1
docker_version:
  description: The engine's version, from the TLS call that checked it.
  returned: when the engine was checked
  type: str
  sample: 26.1.5
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockyard.machine.plugins.module_utils._common import STORE_ARGS, fail_from, require_cryptography, store_from
from ansible_collections.dockyard.machine.plugins.module_utils._drivers import add_driver_options, cloud_options, task_ssh_config
from ansible_collections.dockyard.machine.plugins.module_utils._errors import MachineError
from ansible_collections.dockyard.machine.plugins.module_utils._machine import MachineManager
from ansible_collections.dockyard.machine.plugins.module_utils._spec import SPEC_ARGS, MachineSpec


def main() -> None:
    argument_spec = add_driver_options(
        dict(
            STORE_ARGS,
            name=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent", "started", "stopped", "restarted"], default="present"),
            cleanup=dict(type="bool", default=False),
            force=dict(type="bool", default=False),
            **SPEC_ARGS,
        )
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, required_if=[("state", "present", ["driver"])])
    require_cryptography(module)
    params = module.params
    manager = MachineManager(store_from(module), check_mode=module.check_mode, ssh_config=task_ssh_config(params), cloud_options=cloud_options(params))
    try:
        if params["state"] == "present":
            outcome = manager.present(MachineSpec.from_params(params))
        elif params["state"] == "absent":
            outcome = manager.absent(params["name"], cleanup=params["cleanup"], timeout=params["timeout"], force=params["force"])
        else:
            outcome = manager.power(params["name"], params["state"], timeout=params["timeout"], force=params["force"])
    except MachineError as error:
        fail_from(module, error)
    for warning in outcome.warnings:
        module.warn(warning)
    result = outcome.result()
    if module._diff:
        result["diff"] = outcome.diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
