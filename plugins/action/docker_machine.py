# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs the docker_machine module with the AWS options a play sets for amazon.aws.

ansible-core resolves ``module_defaults: group/amazon.aws.aws`` from amazon.aws's own list of modules, which
another collection cannot join. Plays that reach AWS usually set exactly that, so this plugin takes the standard
AWS options (region, endpoint_url, credentials, profile ...) from it for docker_machine. Precedence: the task's own
arguments, then ``group/dockyard.machine.aws`` or ``group/dockyard.machine.docker_machine`` (applied by ansible-core
before this runs), then ``group/amazon.aws.aws``. Nothing else is taken from that group.
"""

from __future__ import annotations

import typing as t

from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

# The group of amazon.aws whose AWS options apply here too.
AWS_GROUP = "group/amazon.aws.aws"


def _canonical_names() -> dict[str, str]:
    """Every AWS option name and alias -> the option's name."""
    from ansible_collections.dockyard.machine.plugins.module_utils._drivers.aws_access import task_option_spec

    names = {}
    for name, spec in task_option_spec().items():
        for each in (name, *(spec.get("aliases") or [])):
            names[each] = name
    return names


def aws_group_defaults(module_defaults: t.Any, given: t.Iterable[str]) -> dict[str, t.Any]:
    """The AWS options of every ``group/amazon.aws.aws`` entry of a task's module_defaults (later entries win), by
    option name, without those the task already has under any of their names."""
    canonical = _canonical_names()
    taken = {canonical[name] for name in given if name in canonical}
    merged: dict[str, t.Any] = {}
    entries = module_defaults if isinstance(module_defaults, list) else [module_defaults or {}]
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get(AWS_GROUP), dict):
            for name, value in entry[AWS_GROUP].items():
                if name in canonical and canonical[name] not in taken:
                    merged[canonical[name]] = value
    return merged


class ActionModule(ActionBase):
    """As ansible.builtin's normal action (check mode, async with ``poll: 0``), with the module's arguments completed."""

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        # Templated as one mapping: a default that resolves to omit drops out, as in any module's arguments.
        args.update(self._templar.template(aws_group_defaults(self._task.module_defaults, args)))
        wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
        result = merge_hash(
            result, self._execute_module(module_name="dockyard.machine.docker_machine", module_args=args, task_vars=task_vars, wrap_async=wrap_async)
        )
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
