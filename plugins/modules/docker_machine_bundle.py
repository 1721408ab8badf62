#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_machine_bundle
short_description: Move docker-machine machines between computers with one bundle file
version_added: 1.0.0
description:
  - With O(state=exported), writes the machines of the store, with their keys and certificates and the
    store's client certificate, into one bundle file (a gzip'd tar), optionally encrypted with a passphrase.
  - With O(state=imported), adds the machines of a bundle to the store. The paths inside each machine's
    C(config.json) are moved to the store's folder, so both this collection and the original
    C(docker-machine) binary can use the machines at once.
  - When the store has no certificates yet, it gets the bundle's. When it has the same CA, nothing
    changes there. When it has another CA, that CA is kept, and each imported machine uses its bundle's
    CA and client certificate from its own machine folder (a warning says so).
  - Import refuses, before writing anything, a bundle with a file that could land outside the store
    (absolute paths, V(..), links, devices), a file or machine its manifest does not list, an invalid
    machine name, or a machine that would replace a different machine of the same name. Importing the
    same machines again changes nothing. Each machine appears at once, never half-written.
  - The machines' C(config.json) never carry cloud credentials into the bundle.
  - A bundle is untrusted data. Import keeps from each machine's sidecar file only inert facts, each of the shape its owner
    writes (pinned host keys, status, last error, engine install setting, and what the machine's driver made in the cloud,
    such as an EC2 machine's own security group and Elastic IP, so that O(dockyard.machine.docker_machine#module:state=absent)
    removes them from the importing store too) and drops every setting that could run a command on the controller (SSH
    config file, jump host, any unknown key), with a warning naming what was dropped. Set
    O(dockyard.machine.docker_machine#module:generic.ssh_config) and O(dockyard.machine.docker_machine#module:generic.proxy_jump) again where needed.
author:
  - dockyard.machine developers (@dockyard)
extends_documentation_fragment:
  - dockyard.machine._store
  - dockyard.machine._store.ATTRIBUTES
attributes:
  check_mode:
    description: Reads the store and the bundle and reports what would change without writing anything.
    support: full
  diff_mode:
    description: The machine names in the bundle (export) or in the store (import), before and after.
    support: full
options:
  state:
    description:
      - V(exported) writes the bundle file O(path) from the store.
      - V(imported) reads the bundle file O(path) into the store.
    type: str
    required: true
    choices: [exported, imported]
  path:
    description:
      - The bundle file. Export writes it atomically with mode V(0600); import reads it.
    type: path
    required: true
  names:
    description:
      - Machines to export (default every machine of the store), or to import (default every machine of the bundle).
    type: list
    elements: str
    default: []
    aliases: [name]
  passphrase:
    description:
      - Export encrypts the bundle with this passphrase (scrypt and AES-256-GCM); import needs it to read an
        encrypted bundle.
      - Without it the bundle holds the machines' private keys unencrypted, and the module warns.
    type: str
  include_ca_key:
    description:
      - Export the store's CA private key too (C(certs/ca-key.pem)). It can sign certificates for every
        machine of the store; the importing side needs it only to re-issue server certificates or create
        machines with the same CA.
      - Only used with O(state=exported).
    type: bool
    default: false
notes:
  - A bundle is not byte-for-byte stable (creation time, random salt). Export reports a change only when the
    file is missing, unreadable with the given O(passphrase), or holds other machines or other file contents.
requirements:
  - cryptography (only with O(passphrase))
seealso:
  - module: dockyard.machine.docker_machine_info
"""

EXAMPLES = r"""
- name: Export every machine of the default store, encrypted
  dockyard.machine.docker_machine_bundle:
    state: exported
    path: /tmp/machines.dymbundle
    passphrase: "{{ bundle_passphrase }}"
  delegate_to: localhost

- name: Export two machines with the CA key, from another store
  dockyard.machine.docker_machine_bundle:
    state: exported
    store_path: /srv/machines
    names: [web1, web2]
    include_ca_key: true
    passphrase: "{{ bundle_passphrase }}"
    path: /tmp/web.dymbundle
  delegate_to: localhost

- name: Import the bundle on the new computer
  dockyard.machine.docker_machine_bundle:
    state: imported
    path: /tmp/machines.dymbundle
    passphrase: "{{ bundle_passphrase }}"
  delegate_to: localhost
  register: imported

- name: Show what came in
  ansible.builtin.debug:
    msg: "{{ imported.imported }}"
"""

RETURN = r"""
bundle_path:
  description:
    - The bundle file, absolute.
    - Not named C(path), for which Ansible would add the file's C(state), owner, group, mode and size to the result.
  returned: always
  type: str
  sample: /tmp/machines.dymbundle
machines:
  description: The machines in the bundle (export), or the machines of the bundle taken into account (import).
  returned: always
  type: list
  elements: str
  sample: [web1, web2]
encrypted:
  description: Whether the bundle is encrypted.
  returned: always
  type: bool
includes_ca_key:
  description: Whether the bundle holds the CA private key.
  returned: when O(state=exported)
  type: bool
imported:
  description: Machines added to the store (in check mode, that would be added).
  returned: when O(state=imported)
  type: list
  elements: str
  sample: [web1]
unchanged:
  description: Machines of the bundle the store already holds exactly.
  returned: when O(state=imported)
  type: list
  elements: str
  sample: [web2]
ca_installed:
  description: Whether the store had no certificates and got the bundle's.
  returned: when O(state=imported)
  type: bool
repointed:
  description:
    - Imported machines whose CA differs from the store's; they use the CA and client certificate in their own
      machine folder.
  returned: when O(state=imported)
  type: list
  elements: str
  sample: []
source_store:
  description: The store folder the bundle was exported from.
  returned: when O(state=imported)
  type: str
  sample: /home/alice/.docker/machine
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockyard.machine.plugins.module_utils._bundle import export_to_file, import_from_file
from ansible_collections.dockyard.machine.plugins.module_utils._common import STORE_ARGS, fail_from, require_cryptography, store_from
from ansible_collections.dockyard.machine.plugins.module_utils._errors import MachineError
from ansible_collections.dockyard.machine.plugins.module_utils._store import natural_key


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            STORE_ARGS,
            state=dict(type="str", required=True, choices=["exported", "imported"]),
            path=dict(type="path", required=True),
            names=dict(type="list", elements="str", default=[], aliases=["name"]),
            passphrase=dict(type="str", no_log=True),
            include_ca_key=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params["passphrase"] is not None:
        require_cryptography(module)
    store = store_from(module, must_exist=params["state"] == "exported")
    try:
        if params["state"] == "exported":
            export = export_to_file(
                store,
                params["path"],
                params["names"],
                include_ca_key=params["include_ca_key"],
                passphrase=params["passphrase"],
                check_mode=module.check_mode,
            )
            warnings = export.warnings
            result = dict(
                changed=export.changed,
                bundle_path=export.path,
                machines=export.machines,
                encrypted=export.encrypted,
                includes_ca_key=export.includes_ca_key,
            )
            diff = {"before": {"machines": export.previous_machines}, "after": {"machines": export.machines}}
        else:
            before = store.names()
            report = import_from_file(store, params["path"], params["names"], passphrase=params["passphrase"], check_mode=module.check_mode)
            warnings = report.warnings
            result = dict(
                changed=report.changed,
                bundle_path=report.path,
                machines=report.machines,
                encrypted=report.encrypted,
                imported=report.imported,
                unchanged=report.unchanged,
                ca_installed=report.ca_installed,
                repointed=report.repointed,
                source_store=report.source_store,
            )
            diff = {"before": {"machines": before}, "after": {"machines": sorted(set(before) | set(report.imported), key=natural_key)}}
    except MachineError as error:
        fail_from(module, error)
    for warning in warnings:
        module.warn(warning)
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
