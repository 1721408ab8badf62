# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""``docker-machine env`` as one call: store -> record -> endpoint -> TLS check -> text -> Docker context."""

from __future__ import annotations

import os
import typing as t
from dataclasses import dataclass

from ansible_collections.dockyard.machine.plugins.module_utils._drivers import get_driver
from ansible_collections.dockyard.machine.plugins.module_utils._errors import EngineError, MachineError
from ansible_collections.dockyard.machine.plugins.module_utils._store import resolve_store_path

# The endpoint, shell and Docker context code is imported by the calls that use it: every command of the command line
# imports this module for CLI_NAME, and most of them never render an environment.
if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._endpoint import Endpoint
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord, MachineStore

__all__ = ["CLI_NAME", "EnvRequest", "MODULE_FQCN", "hint_argv", "machine_env"]

# The hint lines name the command that prints this script again, as the original named
# `docker-machine env <name>`: our console command, which a user can paste.
MODULE_FQCN = "dockyard.machine.docker_machine_env"
# The console command of this collection (cli/ in the repository): what a user pastes.
CLI_NAME = "dockyard-machine"
DEFAULT_SHELL = "bash"


@dataclass(frozen=True)
class EnvRequest:
    """The module's options, minus the store."""

    name: str | None = None
    shell: str = DEFAULT_SHELL
    unset: bool = False
    no_proxy: bool = False
    verify_tls: bool = True
    timeout: float = 20
    docker_context: bool = False
    context_name: str | None = None
    docker_config: str | None = None
    # The command line the hint lines name; empty: the dockyard-machine command for this request.
    hint: tuple[str, ...] = ()

    @property
    def context(self) -> str | None:
        """The Docker context this request creates or removes (None without docker_context)."""
        if not self.docker_context:
            return None
        return self.context_name or self.name

    def check(self) -> None:
        """The rules between options; each error names the option to change."""
        if self.context_name and not self.docker_context:
            raise MachineError("Option 'context_name' is only used with docker_context=true.", option="context_name")
        if not self.unset:
            if not self.name:
                raise MachineError("Option 'name' is required unless 'unset' is true.", option="name")
        elif self.name and not self.docker_context:
            raise MachineError(
                "Expected no machine name when option 'unset' is true: the variables are removed whatever machine set "
                "them. Remove option 'name' (it only picks the context to remove, with docker_context=true).",
                option="name",
            )
        elif self.docker_context and not self.context:
            raise MachineError(
                "With unset=true and docker_context=true, set option 'name' (or 'context_name') to the context to remove.",
                option="name",
            )
        if self.context is not None:
            from ansible_collections.dockyard.machine.plugins.module_utils._docker_context import validate_context_name

            validate_context_name(self.context)


def hint_argv(request: EnvRequest, store_root: str | None = None) -> list[str]:
    """The command the hint lines name: the ``dockyard-machine env`` line that prints this script again.

    ``store_root`` is added as ``-s`` when it is not the store the command finds by itself.
    """
    argv = [CLI_NAME]
    if store_root and not request.unset and store_root != resolve_store_path(None, {}):
        argv += ["-s", store_root]
    argv.append("env")
    if request.shell != DEFAULT_SHELL:
        argv += ["--shell", request.shell]
    if request.no_proxy:
        argv.append("--no-proxy")
    argv += ["-u"] if request.unset else [str(request.name)]
    return argv


def machine_env(
    store: MachineStore,
    request: EnvRequest,
    *,
    check_mode: bool = False,
    diff_mode: bool = False,
    environ: t.Mapping[str, str] | None = None,
    record: MachineRecord | None = None,
) -> dict[str, t.Any]:
    """The module result: ``changed``, ``script`` and either ``env``/``docker`` (set) or ``unset_names``.

    ``record``: the machine's, when the caller loaded it already (the command line, which checked it its own way).

    Only the Docker context is ever written, so ``changed`` is true only when it was (or, in check
    mode, would be) created, updated or removed.
    """
    from ansible_collections.dockyard.machine.plugins.module_utils._docker_context import ensure_context, remove_context
    from ansible_collections.dockyard.machine.plugins.module_utils._endpoint import ENV_NAMES, check_connection, endpoint_for
    from ansible_collections.dockyard.machine.plugins.module_utils._shell import join_argv, no_proxy_name, no_proxy_value, render_set, render_unset

    request.check()
    env_vars = os.environ if environ is None else environ
    command = join_argv(request.hint or hint_argv(request, store.root), request.shell)
    result: dict[str, t.Any] = {"changed": False}

    if request.unset:
        names = list(ENV_NAMES) + ([no_proxy_name(env_vars)] if request.no_proxy else [])
        result.update(unset_names=names, script=render_unset(names, request.shell, command))
        if request.context is not None:
            changed, diff = remove_context(request.context, request.docker_config, check_mode)
            result.update(changed=changed, context=request.context)
            if diff_mode:
                result["diff"] = diff
        return result

    name = t.cast(str, request.name)
    record = record if record is not None and record.name == name else store.load(name)
    if request.verify_tls:
        check = check_connection(store, record, request.timeout)
        if check.error is not None:
            raise EngineError(
                "Error checking TLS connection to machine %s: %s Set verify_tls=false to skip this check." % (name, check.error.msg.rstrip(".") + "."),
                step="verify_tls",
                machine=name,
                **check.error.details,
            ) from check.error
        endpoint = t.cast("Endpoint", check.endpoint)
        result["docker_version"] = check.version
    else:
        endpoint = endpoint_for(store, record)
    env = endpoint.env()
    if request.no_proxy:
        variable, value = no_proxy_value(env_vars, get_driver(record.driver_name).ip(record))
        env[variable] = value
    result.update(env=env, script=render_set(env, request.shell, command), docker=endpoint.docker_options())
    if request.context is not None:
        changed, diff = ensure_context(
            request.context,
            endpoint.url,
            endpoint.tls,
            request.docker_config,
            check_mode,
            description="dockyard.machine: %s" % store.root,
        )
        result.update(changed=changed, context=request.context)
        if diff_mode:
            result["diff"] = diff
    return result
