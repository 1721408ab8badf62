# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: stack_deploy_defaults
short_description: Give a Compose definition's services replicas and update settings their deploy section does not say
version_added: 1.1.0
author:
  - dockyard.machine developers (@dockyard)
description:
  - For C(docker stack deploy), each service of a Compose definition gets O(replicas) and O(update_config) where its own
    C(deploy) section does not set them. What a service's C(deploy) says always wins; a service in C(global) mode gets no
    replicas.
  - The C(dockyard.machine.compose_stack) role's swarm mode uses it (its C(compose_stack_replicas) and
    C(compose_stack_update_config)).
options:
  _input:
    description: A Compose definition (the contents of C(compose.yaml)).
    type: dict
    required: true
  replicas:
    description: Replicas of each replicated service whose C(deploy) has none; V(0) adds none.
    type: int
    default: 0
  update_config:
    description: Keys of C(deploy.update_config) (C(parallelism), C(delay), C(order), C(failure_action) ...) added where a service does not set them.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Two replicas, rolled one at a time with the new task started first, unless a service says otherwise
  ansible.builtin.copy:
    content: "{{ definition | dockyard.machine.stack_deploy_defaults(replicas=2, update_config={'order': 'start-first'}) | to_nice_yaml }}"
    dest: /opt/compose/web/compose.swarm.yaml
    mode: "0644"
"""

RETURN = r"""
_value:
  description: The definition with the defaults added (a copy; the input is not changed).
  type: dict
"""

import copy
import typing as t

from ansible.errors import AnsibleFilterError


def stack_deploy_defaults(definition: t.Any, replicas: t.Any = 0, update_config: t.Any = None) -> dict[str, t.Any]:
    """The definition with replicas and update settings added where its services' deploy sections lack them."""
    if not isinstance(definition, t.Mapping):
        raise AnsibleFilterError("stack_deploy_defaults expects a Compose definition (a dictionary), not %s" % type(definition).__name__)
    try:
        count = int(replicas or 0)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("stack_deploy_defaults: replicas must be a number, not %r" % (replicas,)) from exc
    if count < 0:
        raise AnsibleFilterError("stack_deploy_defaults: replicas must not be negative (got %d)" % count)
    update = update_config or {}
    if not isinstance(update, t.Mapping):
        raise AnsibleFilterError("stack_deploy_defaults: update_config must be a dictionary, not %r" % (update_config,))
    result = copy.deepcopy(dict(definition))
    services = result.get("services") or {}
    if not isinstance(services, t.Mapping):
        raise AnsibleFilterError("stack_deploy_defaults: the definition's services must be a dictionary")
    for name, service in services.items():
        if service is None:
            service = services[name] = {}
        if not isinstance(service, t.MutableMapping):
            raise AnsibleFilterError("stack_deploy_defaults: service %s must be a dictionary" % name)
        deploy = service.get("deploy") or {}
        if count and deploy.get("mode", "replicated") == "replicated" and "replicas" not in deploy:
            deploy["replicas"] = count
        if update:
            deploy["update_config"] = dict(update, **(deploy.get("update_config") or {}))
        if deploy:
            service["deploy"] = deploy
    return result


class FilterModule:
    """dockyard.machine's Compose-for-Swarm filter."""

    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"stack_deploy_defaults": stack_deploy_defaults}
