#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_machine_env
short_description: Environment, shell script and Docker CLI context for a machine, like C(docker-machine env)
version_added: 1.0.0
description:
  - Returns what C(docker-machine env) prints, byte for byte, for bash, sh, zsh, fish, PowerShell, cmd, Emacs
    and tcsh, plus the same values as a dictionary for the C(environment) keyword and as options for every
    C(community.docker) module (C(module_defaults) of C(group/community.docker.docker)).
  - E(DOCKER_CERT_PATH) is the machine's folder in the store where it is now, so a store moved or copied from
    another computer works.
  - Before answering it checks the engine with a real TLS call using the store's client certificate, as
    the original does; O(verify_tls=false) skips that.
  - With O(docker_context=true) it also creates or updates a Docker CLI context for the machine (the
    modern replacement for C(eval $(docker-machine env))); then C(docker --context NAME ...) or
    C(docker context use NAME) reaches the machine. The context's files are written directly; no
    C(docker) binary is needed.
  - With O(unset=true) it returns the text that removes the variables again, like C(docker-machine env -u),
    and with O(docker_context=true) removes the machine's context.
  - The last two lines of RV(script) are the original's usage hint. They name the command that prints the
    same script in a shell, C(dockyard-machine env NAME) (with C(--shell), C(--no-proxy), C(-u) and
    C(-s STORE) as needed), as the original named C(docker-machine env NAME). The C(dockyard-machine)
    command comes with this collection; the README says how to put it on E(PATH).
author:
  - dockyard.machine developers (@dockyard)
extends_documentation_fragment:
  - dockyard.machine._store
  - dockyard.machine._store.ATTRIBUTES
requirements:
  - none beyond ansible-core
attributes:
  check_mode:
    description: Nothing is written in check mode; C(changed) tells whether the Docker context would change.
    support: full
  diff_mode:
    description: Shows the Docker context before and after (certificate files as SHA-256 fingerprints).
    support: full
options:
  name:
    description:
      - The machine.
      - Required unless O(unset=true). With O(unset=true) it may only be given together with
        O(docker_context=true), to say which machine's context to remove (the original refuses a name with C(-u)).
    type: str
  shell:
    description:
      - The shell to write RV(script) for. V(bash), V(sh) and V(zsh) get the same POSIX text.
    type: str
    choices: [bash, sh, zsh, fish, powershell, cmd, emacs, tcsh]
    default: bash
  unset:
    description:
      - Return the text that removes the variables instead of setting them (C(docker-machine env -u)). No
        machine is read and no connection is made.
    type: bool
    default: false
  no_proxy:
    description:
      - Add the machine's IP address to E(NO_PROXY) (or to E(no_proxy) when a non-empty lowercase one is set
        on the controller), as C(docker-machine env --no-proxy). The address is not added again when the
        current value already contains it.
      - With O(unset=true), the variable is removed too (only its name is printed; the original printed its
        value glued to the name).
    type: bool
    default: false
  verify_tls:
    description:
      - Connect to the engine over TLS, verifying its certificate against the store's CA and presenting the
        store's client certificate, and fail when that does not work. RV(docker_version) is then returned.
      - Set to V(false) to get the values of a machine that is not running.
    type: bool
    default: true
  timeout:
    description:
      - Seconds the TLS check may take.
    type: float
    default: 20
  docker_context:
    description:
      - "Create or update a Docker CLI context named after the machine (or O(context_name)) with the machine's
        URL and copies of its CA, client certificate and key. The context's description is
        C(dockyard.machine: STORE_PATH)."
      - With O(unset=true), remove that context instead; O(name) or O(context_name) then says which one. When it
        is the current context in C(config.json), that setting is removed too, so the Docker CLI goes back to its
        default, like C(docker context rm -f).
    type: bool
    default: false
  context_name:
    description:
      - The name of the Docker context, when not the machine's name. The Docker CLI refuses one-character
        names and keeps V(default) for itself, so machines named like that need this option.
      - Only used with O(docker_context=true).
    type: str
  docker_config:
    description:
      - The Docker CLI configuration folder where contexts live.
      - When not set, E(DOCKER_CONFIG) on the controller is used, and without it C(~/.docker).
      - Only used with O(docker_context=true).
    type: path
notes:
  - The values in RV(script) are not escaped (the original does not escape them either). A value holding
    a double quote, C($), a backquote or a line break is refused instead of printed.
seealso:
  - name: docker-machine env reference
    description: The command this module replaces.
    link: https://github.com/docker/machine/blob/master/docs/reference/env.md
  - module: dockyard.machine.docker_machine_info
"""

EXAMPLES = r"""
- name: Connection values for web1 (checks its engine over TLS first)
  dockyard.machine.docker_machine_env:
    name: web1
  delegate_to: localhost
  register: web1_env

- name: Drive web1's engine with community.docker modules
  module_defaults:
    group/community.docker.docker: "{{ web1_env.docker }}"
  delegate_to: localhost
  block:
    - name: Run nginx on web1
      community.docker.docker_container:
        name: web
        image: nginx:stable
        published_ports: ["80:80"]

    - name: Engine facts of web1
      community.docker.docker_host_info:

- name: Run the docker CLI against web1 with the same variables a shell would get
  ansible.builtin.command: docker ps
  environment: "{{ web1_env.env }}"
  delegate_to: localhost
  changed_when: false

- name: Write a fish script that sets the variables (source it in a shell)
  dockyard.machine.docker_machine_env:
    name: web1
    shell: fish
    no_proxy: true
    verify_tls: false
  delegate_to: localhost
  register: web1_fish

- name: Save the script
  ansible.builtin.copy:
    content: "{{ web1_fish.script }}"
    dest: ~/.config/fish/web1.fish
    mode: "0600"
  delegate_to: localhost

- name: A Docker CLI context for web1 (then `docker --context web1 ps`)
  dockyard.machine.docker_machine_env:
    name: web1
    docker_context: true
  delegate_to: localhost

- name: Text that removes the variables again, and remove web1's context
  dockyard.machine.docker_machine_env:
    unset: true
    name: web1
    docker_context: true
  delegate_to: localhost
  register: unset_web1
"""

RETURN = r"""
env:
  description:
    - The variables C(docker-machine env) sets, in its order; E(NO_PROXY) or E(no_proxy) last with O(no_proxy=true).
    - Use it with the C(environment) keyword.
  returned: when O(unset=false)
  type: dict
  sample:
    DOCKER_TLS_VERIFY: "1"
    DOCKER_HOST: tcp://203.0.113.5:2376
    DOCKER_CERT_PATH: /home/me/.docker/machine/machines/web1
    DOCKER_MACHINE_NAME: web1
unset_names:
  description: The variables RV(script) removes, in order.
  returned: when O(unset=true)
  type: list
  elements: str
  sample: [DOCKER_TLS_VERIFY, DOCKER_HOST, DOCKER_CERT_PATH, DOCKER_MACHINE_NAME]
script:
  description:
    - The text C(docker-machine env) (or C(env -u)) prints for O(shell), ending with the two usage-hint lines.
  returned: always
  type: str
  sample: |
    export DOCKER_TLS_VERIFY="1"
    export DOCKER_HOST="tcp://203.0.113.5:2376"
    export DOCKER_CERT_PATH="/home/me/.docker/machine/machines/web1"
    export DOCKER_MACHINE_NAME="web1"
    # Run this command to configure your shell:
    # eval $(dockyard-machine env web1)
docker:
  description:
    - Connection options for every C(community.docker) module; use the whole dictionary as
      C(module_defaults) of C(group/community.docker.docker).
  returned: when O(unset=false)
  type: dict
  contains:
    docker_host:
      description: The engine URL.
      type: str
      sample: tcp://203.0.113.5:2376
    tls:
      description: Always V(true).
      type: bool
    validate_certs:
      description: Always V(true); the engine's certificate is verified against RV(docker.ca_path).
      type: bool
    ca_path:
      description: The CA certificate.
      type: str
      sample: /home/me/.docker/machine/machines/web1/ca.pem
    client_cert:
      description: The client certificate.
      type: str
      sample: /home/me/.docker/machine/machines/web1/cert.pem
    client_key:
      description: The client key.
      type: str
      sample: /home/me/.docker/machine/machines/web1/key.pem
docker_version:
  description: The engine version the TLS check got.
  returned: when O(unset=false) and O(verify_tls=true)
  type: str
  sample: 26.1.5
context:
  description: The Docker CLI context created, updated or removed.
  returned: when O(docker_context=true)
  type: str
  sample: web1
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockyard.machine.plugins.module_utils._common import STORE_ARGS, fail_from, store_from
from ansible_collections.dockyard.machine.plugins.module_utils._env import EnvRequest, machine_env
from ansible_collections.dockyard.machine.plugins.module_utils._errors import MachineError
from ansible_collections.dockyard.machine.plugins.module_utils._shell import SHELLS


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            STORE_ARGS,
            name=dict(type="str"),
            shell=dict(type="str", choices=list(SHELLS), default="bash"),
            unset=dict(type="bool", default=False),
            no_proxy=dict(type="bool", default=False),
            verify_tls=dict(type="bool", default=True),
            timeout=dict(type="float", default=20),
            docker_context=dict(type="bool", default=False),
            context_name=dict(type="str"),
            docker_config=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    request = EnvRequest(
        name=params["name"],
        shell=params["shell"],
        unset=params["unset"],
        no_proxy=params["no_proxy"],
        verify_tls=params["verify_tls"],
        timeout=params["timeout"],
        docker_context=params["docker_context"],
        context_name=params["context_name"],
        docker_config=params["docker_config"],
    )
    try:
        result = machine_env(store_from(module, must_exist=not params["unset"]), request, check_mode=module.check_mode, diff_mode=module._diff)
    except MachineError as error:
        fail_from(module, error)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
