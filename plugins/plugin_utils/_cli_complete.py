# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this plugin_util is internal to dockyard.machine; its API may change without notice.
"""Shell completion: the bash/zsh script, and the candidates it asks the command line for (``__complete``)."""

from __future__ import annotations

import shlex
import typing as t

from ansible_collections.dockyard.machine.plugins.module_utils._drivers import DRIVERS
from ansible_collections.dockyard.machine.plugins.module_utils._errors import MachineError
from ansible_collections.dockyard.machine.plugins.module_utils._shell import SHELLS
from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineStore, resolve_store_path
from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_context import Command, Context
from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_create import driver_flags
from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_flags import HELP_FLAG, Flag
from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_messages import CLIError

__all__ = ["BASH_COMPLETION", "cmd_completion", "complete"]


# PROG: the program's name as invoked, quoted for the shell.
BASH_COMPLETION = r"""# PROG completion for bash: eval "$(PROG completion bash)" (for example in ~/.bashrc)
_dockyard_machine() {
    local IFS=$'\n'
    COMPREPLY=($("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:$COMP_CWORD}" 2>/dev/null))
    if [ ${#COMPREPLY[@]} -eq 0 ]; then
        COMPREPLY=($(compgen -f -- "${COMP_WORDS[COMP_CWORD]}"))
    fi
}
complete -F _dockyard_machine PROG
"""
ZSH_PREAMBLE = """# PROG completion for zsh: eval "$(PROG completion zsh)" (for example in ~/.zshrc)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
"""


def cmd_completion(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    if args != ["bash"] and args != ["zsh"]:
        raise CLIError("Error: name the shell: `%s completion bash` or `%s completion zsh`" % (ctx.prog, ctx.prog))
    ctx.stdout.write(((ZSH_PREAMBLE if args[0] == "zsh" else "") + BASH_COMPLETION).replace("PROG", shlex.quote(ctx.prog)))
    return 0


def _flag_words(flags: t.Iterable[Flag]) -> list[str]:
    return [("-" if len(n) == 1 else "--") + n for f in flags for n in f.names]


def complete(words: t.Sequence[str], environ: t.Mapping[str, str], commands: t.Mapping[str, Command], global_flags: t.Sequence[Flag]) -> list[str]:
    """Candidates for the last word of ``words`` (the words after the program name): commands, flags, shells, drivers, machine names."""
    if not words:
        words = [""]
    *before, current = words
    storage = ""
    index = 0
    while index < len(before) and before[index].startswith("-"):
        if before[index].lstrip("-") in ("s", "storage-path") and index + 1 < len(before):
            storage = before[index + 1]
            index += 1
        index += 1
    if index >= len(before):
        pool = _flag_words(global_flags) if current.startswith("-") else list(commands)
        if before and before[-1].lstrip("-") in ("s", "storage-path"):
            pool = []
        return [w for w in pool if w.startswith(current)]
    command = commands.get(before[index])
    if command is None:
        return []
    flags = command.flags + (tuple(f for name in DRIVERS for f in driver_flags(name)) if command.name == "create" else ())
    previous = before[-1] if len(before) > index + 1 else ""
    by_name = {n: f for f in flags for n in f.names}
    prev_flag = by_name.get(previous.lstrip("-").split("=", 1)[0]) if previous.startswith("-") and "=" not in previous else None
    if prev_flag is not None and prev_flag.kind != "bool":
        choices = {"shell": SHELLS, "driver": tuple(DRIVERS)}.get(prev_flag.key, ())
        return [c for c in choices if c.startswith(current)]
    if current.startswith("-"):
        return [w for w in _flag_words(flags + (HELP_FLAG,)) if w.startswith(current)]
    if command.name == "completion":
        return [w for w in ("bash", "zsh") if w.startswith(current)]
    if command.name in ("create", "active", "ls"):
        return []
    try:
        names = MachineStore(resolve_store_path(storage or None, environ)).names()
    except MachineError:
        names = []
    if command.name in ("scp", "mount"):
        return [n + ":" for n in names if (n + ":").startswith(current)]
    return [n for n in names if n.startswith(current)]
