# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this plugin_util is internal to dockyard.machine; its API may change without notice.
"""Go's flag package behind codegangsta/cli, as docker-machine's command line parses and shows flags.

Flags may follow the first argument, ``-x=value`` and ``-x value`` both work, ``--`` ends them; the messages for a
flag that is not defined or does not parse are Go's own. ``Flag.help_line`` and ``command_help`` render the help.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from ansible_collections.dockyard.machine.plugins.plugin_utils._gotemplate import tabwrite

__all__ = ["Flag", "HELP_FLAG", "UsageError", "command_help", "help_tabwrite", "leading_flags", "parse_flags"]


class UsageError(Exception):
    """A flag the command does not know, or a flag value that does not parse (Go's flag messages)."""

    def __init__(self, message: str, command: t.Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.command = command


@dataclass(frozen=True)
class Flag:
    """One flag; ``names`` long name first (``("unset", "u")``); kind is bool, string, int or slice."""

    names: tuple[str, ...]
    kind: str
    usage: str
    default: t.Any = None
    env: str = ""

    @property
    def key(self) -> str:
        return self.names[0]

    def help_line(self) -> str:
        shown = ", ".join(("-" if len(n) == 1 else "--") + n for n in self.names)
        if self.kind == "string":
            shown += ' "%s"' % self.default if self.default else " "
        elif self.kind == "int":
            shown += ' "%s"' % self.default
        elif self.kind == "slice":
            shown += " [--%s option --%s option]" % (self.key, self.key)
        env = " [$%s]" % self.env if self.env else ""
        return "%s\t%s%s" % (shown, self.usage, env)


HELP_FLAG = Flag(("help", "h"), "bool", "show help")


def help_tabwrite(text: str) -> str:
    """codegangsta/cli's help writer: ``tabwriter.NewWriter(out, 0, 8, 1, '\\t', 0)``."""
    return tabwrite(text, minwidth=0, tabwidth=8, padding=1, padchar="\t")


def command_help(prog: str, name: str, usage: str, description: str, flags: t.Sequence[Flag]) -> str:
    """A command's help as docker-machine's CommandHelpTemplate prints it: usage line (``[OPTIONS]`` when the command
    has flags), description, then the command's own flags (``--help`` works but is not listed, as in the original)."""
    text = "Usage: %s %s%s [arg...]\n\n%s" % (prog, name, " [OPTIONS]" if flags else "", usage)
    if description:
        text += "\n\nDescription:\n   %s" % description
    if flags:
        text += "\n\nOptions:\n   \n" + "\n".join("   " + f.help_line() for f in flags)
    return help_tabwrite(text + "\n")


def _bool(text: str, name: str) -> bool:
    lowered = text.lower() if text in ("TRUE", "True", "FALSE", "False") else text
    if lowered in ("1", "t", "true", "T"):
        return True
    if lowered in ("0", "f", "false", "F"):
        return False
    raise UsageError('invalid boolean value "%s" for -%s: strconv.ParseBool: parsing "%s": invalid syntax' % (text, name, text), None)


def parse_flags(flags: t.Sequence[Flag], args: t.Sequence[str], environ: t.Mapping[str, str], command: t.Any = None) -> tuple[dict[str, t.Any], list[str]]:
    """Values for ``flags`` and the remaining arguments, as codegangsta/cli parses a command line.

    Arguments before the first flag are moved after the flags (so ``env web1 --shell fish`` works);
    ``--`` ends the flags; Go's flag parsing then stops at the first argument that is not a flag.
    """
    by_name = {name: flag for flag in flags for name in flag.names}
    values: dict[str, t.Any] = {}
    for flag in flags:
        if flag.kind == "slice":
            values[flag.key] = []
        elif flag.kind == "bool":
            values[flag.key] = False
        else:
            values[flag.key] = flag.default
        raw = environ.get(flag.env) if flag.env else None
        if raw:
            try:
                values[flag.key] = _typed(flag, raw, flag.key) if flag.kind != "slice" else [v.strip() for v in raw.split(",")]
            except UsageError:
                pass
    words = list(args)
    first_flag = next((i for i, w in enumerate(words) if w.startswith("-")), None)
    terminator = words.index("--") if "--" in words else None
    if first_flag is not None and (terminator is None or first_flag < terminator):
        regular = words[:first_flag]
        if terminator is not None:
            words = words[first_flag:terminator] + regular + words[terminator:]
        else:
            words = words[first_flag:] + regular
    seen_slices: set[str] = set()
    while words:
        word = words[0]
        if len(word) < 2 or word[0] != "-":
            break
        dashes = 2 if word.startswith("--") else 1
        if word == "--":
            words.pop(0)
            break
        name = word[dashes:]
        if not name or name[0] in "-=":
            raise UsageError("bad flag syntax: %s" % word, command)
        words.pop(0)
        value: str | None = None
        if "=" in name:
            name, value = name.split("=", 1)
        flag = by_name.get(name)
        if flag is None:
            raise UsageError("flag provided but not defined: -%s" % name, command)
        if flag.kind == "bool":
            values[flag.key] = _typed(flag, value, name) if value is not None else True
            continue
        if value is None:
            if not words:
                raise UsageError("flag needs an argument: -%s" % name, command)
            value = words.pop(0)
        if flag.kind == "slice":
            if flag.key not in seen_slices:
                values[flag.key] = []
                seen_slices.add(flag.key)
            values[flag.key].append(value)
        else:
            values[flag.key] = _typed(flag, value, name)
    return values, words


def _typed(flag: Flag, value: str | None, name: str) -> t.Any:
    if flag.kind == "bool":
        return _bool(value or "", name)
    if flag.kind == "int":
        try:
            return int(value or "", 0)
        except ValueError:
            raise UsageError('invalid value "%s" for flag -%s: strconv.ParseInt: parsing "%s": invalid syntax' % (value, name, value), None) from None
    return value


def leading_flags(flags: t.Sequence[Flag], words: t.Sequence[str]) -> list[str]:
    """The words before a command's name: flags, and the values of those ``flags`` that take one."""
    takes_value = {n for f in flags if f.kind != "bool" for n in f.names}
    part: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word == "--" or not word.startswith("-") or len(word) < 2:
            break
        part.append(word)
        name = word.lstrip("-")
        if "=" not in name and name in takes_value and index + 1 < len(words):
            part.append(words[index + 1])
            index += 1
        index += 1
    return part
