# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this plugin_util is internal to dockyard.machine; its API may change without notice.
"""What every command of the command line gets (the context, its command) and the loading steps they share."""

from __future__ import annotations

import os
import typing as t
from dataclasses import dataclass, field

from ansible_collections.dockyard.machine.plugins.module_utils._drivers import get_driver
from ansible_collections.dockyard.machine.plugins.module_utils._errors import InvalidNameError, MachineError, MachineNotFoundError
from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineStore, resolve_store_path
from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_flags import Flag, command_help
from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_messages import ERR_NO_DEFAULT, CLIError, flagged, go_quote, printable, program_name

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord

__all__ = ["Command", "Context", "DEFAULT_MACHINE", "engine_stopped_here", "is_running", "load_machine", "machine_manager", "target_name", "target_records"]


DEFAULT_MACHINE = "default"


def _call(*popenargs: t.Any, **kwargs: t.Any) -> int:
    """``subprocess.call``; subprocess is imported when a command first runs a program (ssh, scp), not at start-up."""
    import subprocess

    return subprocess.call(*popenargs, **kwargs)


@dataclass
class Context:
    """What every command gets: the global flags, the environment, and where to write."""

    argv: list[str]
    environ: t.Mapping[str, str]
    stdout: t.TextIO
    stderr: t.TextIO
    stdin: t.TextIO
    storage_path: str = ""
    debug: bool = False
    runner: t.Callable[..., int] = field(default=_call)
    #: The command being run (its help is printed with some errors).
    command: Command | None = None
    _stores: dict[str, MachineStore] = field(default_factory=dict, repr=False)

    @property
    def prog(self) -> str:
        """The program's name as invoked: the one name every message and help text of this command line uses."""
        return program_name(self.argv[0] if self.argv else "")

    @property
    def store(self) -> MachineStore:
        """The store the global flags and the environment name (one object per command line)."""
        if self.storage_path not in self._stores:
            self._stores[self.storage_path] = MachineStore(resolve_store_path(self.storage_path or None, self.environ))
        return self._stores[self.storage_path]

    def command_help(self) -> str:
        return self.command.help_text(self.prog) if self.command is not None else ""

    def out(self, text: str = "") -> None:
        """A line of output; control characters in it (a record's, an engine's) are shown escaped."""
        self.stdout.write(printable(text) + "\n")

    def write(self, text: str) -> None:
        """Output made of record values (tables, scripts), control characters escaped."""
        self.stdout.write(printable(text))

    def err(self, text: str) -> None:
        self.stderr.write(printable(text) + "\n")

    def confirm(self, question: str) -> bool:
        """``confirmInput``: the question with `` (y/n): ``, yes when the answer starts with y."""
        self.stdout.write("%s (y/n): " % question)
        self.stdout.flush()
        answer = self.stdin.readline().strip()
        return bool(answer) and answer.lower().startswith("y")


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    handler: t.Callable[[Context, dict[str, t.Any], list[str]], int | None]
    description: str = ""
    flags: tuple[Flag, ...] = ()
    skip_flag_parsing: bool = False

    def help_text(self, prog: str) -> str:
        """The help; ``{prog}`` in the description is the program's name."""
        return command_help(prog, self.name, self.usage, self.description.replace("{prog}", prog), self.flags)


def load_machine(ctx: Context, name: str) -> MachineRecord:
    """The record, or the original's message for a machine that does not exist (an invalid name cannot)."""
    try:
        return ctx.store.load(name)
    except (MachineNotFoundError, InvalidNameError):
        raise CLIError(
            'Docker machine %s does not exist. Use "%s ls" to list machines. Use "%s create" to add a new one.' % (go_quote(name), ctx.prog, ctx.prog)
        ) from None


def target_name(ctx: Context, args: t.Sequence[str]) -> str:
    """``targetHost``: the first argument, else the machine ``default`` when it exists."""
    if args:
        return args[0]
    if os.path.isdir(os.path.join(ctx.store.machines_dir, DEFAULT_MACHINE)):
        return DEFAULT_MACHINE
    raise CLIError(ERR_NO_DEFAULT)


def target_records(ctx: Context, args: t.Sequence[str]) -> list[MachineRecord]:
    """``runAction``'s loading: every named machine (or ``default``); any load error stops all."""
    names = list(args) or [target_name(ctx, args)]
    records, errors = [], []
    for name in names:
        try:
            records.append(load_machine(ctx, name))
        except CLIError as exc:
            errors.append(exc.message)
        except MachineError as exc:
            errors.append(flagged(exc.msg))
    if errors:
        raise CLIError("\n".join(errors))
    return records


def machine_manager(ctx: Context, cloud_options: t.Mapping[str, t.Any] | None = None) -> t.Any:
    from ansible_collections.dockyard.machine.plugins.module_utils._machine import MachineManager

    return MachineManager(ctx.store, cloud_options=cloud_options)


def is_running(record: MachineRecord, timeout: float = 10.0) -> bool:
    """Whether the machine's driver says it runs now (bounded by ``timeout``)."""
    return get_driver(record.driver_name).state(record, timeout) == "Running"


def engine_stopped_here(record: MachineRecord) -> bool:
    """Whether ``stop`` stopped the engine of a host it does not power (generic): the host runs on, its engine does not."""
    driver = get_driver(record.driver_name)
    return driver.needs_ssh and not driver.supports_power and record.sidecar.get("Status") == "stopped"
