#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_machine_certs
short_description: Check, re-issue and rotate the TLS certificates of docker-machine machines
version_added: 1.0.0
description:
  - V(check) reports the expiry of the store's CA and client certificate and, for each machine, the expiry of its
    server certificate and whether its SANs cover the machine's address. It never changes anything.
  - V(regenerate) re-issues server certificates where they are missing, expiring, signed by another CA or do not
    cover the machine's address and SANs (or always, with O(force=true)), and pushes them to the host over SSH,
    never through the TLS endpoint whose certificate is broken. The engine restarts with C(live-restore) on, so
    running containers keep running (the original's C(regenerate-certs) stopped them).
  - With O(ip_address), for a machine that moved to a new address, its record is updated and its certificate re-issued in one task.
  - V(rotate) makes a new CA and client certificate and re-issues every machine's server certificate from it, in
    one run, all or nothing. Every host must first answer over SSH (all hosts at once; a refused connection fails at
    once). The new material is staged in C(certs/rotation/) beside the old; each host gets its new certificate and must
    answer over TLS with the new client certificate; only then does the store switch, keeping the old CA and client
    certificate in C(certs/backup-<UTC time>/) (RV(ca_backup)). If a host fails, the hosts that had switched are put
    back, the store is left as it was, and the task fails listing RV(failed_machines) (unless O(allow_partial=true)).
  - Machines of driver V(none) registered with the engine's own CA and client certificate are left alone (RV(skipped_machines)).
  - Without O(force=true) it rotates only when the CA or client certificate is within O(renew_days) of its end.
author:
  - dockyard.machine developers (@dockyard)
extends_documentation_fragment:
  - dockyard.machine._store
  - dockyard.machine._store.ATTRIBUTES
requirements:
  - cryptography
  - the OpenSSH client (C(ssh)) on the controller, to re-issue server certificates
attributes:
  check_mode:
    description: Reports what would be re-issued or rotated without changing anything.
    support: full
  diff_mode:
    description: No diff; RV(steps) lists what changed.
    support: none
options:
  names:
    description:
      - Machines to work on. Without it, every machine of the store (RV(certificates) lists them all).
      - Like every option that selects several machines in this collection, it is O(names), with the alias O(name).
    type: list
    elements: str
    default: []
    aliases: [name]
  action:
    description: What to do.
    type: str
    choices: [check, regenerate, rotate]
    default: check
  ip_address:
    description:
      - The machine's new address, with O(action=regenerate) and exactly one machine in O(name). Only for drivers whose
        address is an option (V(generic)).
    type: str
  force:
    description: Re-issue (or rotate) even when the certificates are fine.
    type: bool
    default: false
  renew_days:
    description: Certificates that end within this many days count as due.
    type: int
    default: 30
  key_type:
    description: Key type of the new CA and client certificate with O(action=rotate).
    type: str
    choices: [rsa, ecdsa]
    default: rsa
  timeout:
    description: Seconds to wait for SSH on each host.
    type: float
    default: 120
  ssh_config:
    description:
      - An SSH client configuration file for the SSH connections of O(action=regenerate) and O(action=rotate) (C(ssh -F)),
        for example one an AWX credential injects. Without it, C(ssh) reads C(~/.ssh/config).
      - The configuration a machine's record names (from the O(dockyard.machine.docker_machine#module:generic.ssh_config)
        of an earlier task) is used only when it is passed here again (a record, which a shared store or a bundle may
        have written, never chooses what C(ssh) runs on this controller).
    type: path
  allow_partial:
    description:
      - With O(action=rotate), switch the store even when some hosts cannot be reached or do not answer with their new
        certificate. Those hosts keep their old certificates and their machine folder keeps the old client files, so
        C(env) still works for them, until O(action=regenerate) with O(force=true) re-issues them over SSH.
      - They are listed in RV(failed_machines), and the task does not fail.
    type: bool
    default: false
seealso:
  - module: dockyard.machine.docker_machine
"""

EXAMPLES = r"""
- name: Which certificates end within 60 days, and which machines moved away from their certificate
  dockyard.machine.docker_machine_certs:
    renew_days: 60
  delegate_to: localhost
  register: certs

- name: Re-issue what is due, for every machine
  dockyard.machine.docker_machine_certs:
    action: regenerate
  delegate_to: localhost

- name: web1 came back on another address
  dockyard.machine.docker_machine_certs:
    names: [web1]
    action: regenerate
    ip_address: 203.0.113.77
  delegate_to: localhost

- name: New CA and client certificate, every machine re-issued
  dockyard.machine.docker_machine_certs:
    action: rotate
    force: true
  delegate_to: localhost
"""

RETURN = r"""
certificates:
  description: The state of the certificates after the action (before it, in check mode).
  returned: always
  type: dict
  contains:
    store:
      description: The store.
      type: str
    ca:
      description: The CA's V(not_after), V(expires_in_days), V(key_type) and V(reasons) it is due (empty when fine).
      type: dict
    client:
      description: The same for the client certificate; V(reasons) also says when the CA did not sign it.
      type: dict
    machines:
      description:
        - One entry per machine. V(managed) is false for drivers whose engine is not ours (V(none)).
        - Managed ones add V(address), V(expected_sans), V(sans), V(address_covered), V(missing_sans), V(not_after),
          V(expires_in_days), V(reasons) and V(needs_reissue).
      type: list
      elements: dict
failed_machines:
  description:
    - The machines that O(action=rotate) could not re-issue (unreachable over SSH, or no answer over TLS with the new
      certificate). Its own key, because Ansible sets C(failed) on every failed task.
  returned: when O(action=rotate) ran, and when it failed for some machines
  type: list
  elements: str
  sample: [web2]
skipped_machines:
  description: The machines O(action=rotate) left alone because they use their own CA (driver V(none)).
  returned: when O(action=rotate) ran
  type: list
  elements: str
  sample: [registered1]
ca_backup:
  description: The folder that keeps the CA and client certificate the rotation replaced.
  returned: when O(action=rotate) switched the store
  type: str
  sample: /home/ops/.docker/machine/certs/backup-20261203T101500Z
steps:
  description: What changed (or would), each prefixed with the machine's name where it concerns one.
  returned: always
  type: list
  elements: str
  sample: ["web1: address", "web1: server certificate", "web1: server certificates", "web1: restart engine"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockyard.machine.plugins.module_utils._common import STORE_ARGS, fail_from, require_cryptography, store_from
from ansible_collections.dockyard.machine.plugins.module_utils._errors import MachineError
from ansible_collections.dockyard.machine.plugins.module_utils._machine import MachineManager, Outcome, RotationOutcome


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            STORE_ARGS,
            names=dict(type="list", elements="str", default=[], aliases=["name"]),
            action=dict(type="str", choices=["check", "regenerate", "rotate"], default="check"),
            ip_address=dict(type="str"),
            force=dict(type="bool", default=False),
            renew_days=dict(type="int", default=30),
            key_type=dict(type="str", choices=["rsa", "ecdsa"], default="rsa"),
            timeout=dict(type="float", default=120),
            allow_partial=dict(type="bool", default=False),
            ssh_config=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    require_cryptography(module)
    params = module.params
    manager = MachineManager(store_from(module, must_exist=True), check_mode=module.check_mode, ssh_config=params["ssh_config"] or "")
    names = params["names"] or None
    try:
        if params["action"] == "regenerate":
            outcome = manager.regenerate(
                names, ip_address=params["ip_address"], force=params["force"], renew_days=params["renew_days"], timeout=params["timeout"]
            )
        elif params["action"] == "rotate":
            outcome = manager.rotate(
                key_type=params["key_type"],
                force=params["force"],
                renew_days=params["renew_days"],
                timeout=params["timeout"],
                allow_partial=params["allow_partial"],
            )
        else:
            outcome = Outcome(status="checked")
        report = manager.certificate_report(names, renew_days=params["renew_days"])
    except MachineError as error:
        fail_from(module, error)
    for warning in outcome.warnings:
        module.warn(warning)
    result = dict(changed=outcome.changed, steps=outcome.steps, certificates=report)
    if isinstance(outcome, RotationOutcome):
        result.update(failed_machines=outcome.failed_machines, skipped_machines=outcome.skipped_machines)
        if outcome.ca_backup:
            result["ca_backup"] = outcome.ca_backup
    module.exit_json(**result)


if __name__ == "__main__":
    main()
