# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs the docker_machine module with the cloud options a play sets for the cloud's own collection.

ansible-core resolves a collection's ``module_defaults`` group (``group/amazon.aws.aws``) from that collection's own
list of modules, which another collection cannot join. Plays that reach a cloud usually set exactly that, so this
plugin takes a driver's task-level options (for EC2: region, endpoint_url, credentials, profile ...) from the groups
the driver declares (the driver registry says which), for tasks of that driver. Precedence: the task's own arguments,
then ``group/dockyard.machine.aws`` or ``group/dockyard.machine.docker_machine`` (applied by ansible-core before this
runs), then the driver's groups. Nothing else is taken from those groups.
"""

from __future__ import annotations

import typing as t

from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.dockyard.machine.plugins.module_utils._drivers import group_defaults


class ActionModule(ActionBase):
    """As ansible.builtin's normal action (check mode, async with ``poll: 0``), with the module's arguments completed."""

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        # Templated as one mapping: a default that resolves to omit drops out, as in any module's arguments.
        args.update(self._templar.template(group_defaults(self._task.module_defaults, args)))
        wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
        result = merge_hash(
            result, self._execute_module(module_name="dockyard.machine.docker_machine", module_args=args, task_vars=task_vars, wrap_async=wrap_async)
        )
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
