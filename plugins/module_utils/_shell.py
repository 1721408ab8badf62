# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""The text ``docker-machine env`` prints, byte for byte, for every shell it knows (pure functions).

Reference: docker-machine notes section 6 (``commands/env.go``).  Each line is
``<prefix><NAME><delimiter><value><suffix>``; the two hint lines follow.  The original never
escapes values, and neither do we; instead, a value holding a character that is special in the
target shell's syntax (it would end the string, end the line, expand, or start another command)
is refused for that shell.
One change on purpose: unsetting ``NO_PROXY`` prints the name only (the original glued the value on).
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from ansible_collections.dockyard.machine.plugins.module_utils._errors import MachineError

__all__ = [
    "NO_PROXY_NAMES",
    "SHELLS",
    "UNSAFE_VALUE_CHARS",
    "join_argv",
    "no_proxy_name",
    "no_proxy_value",
    "render_set",
    "render_unset",
    "usage_hint",
]

# Every shell the module offers; bash, sh and zsh share the POSIX syntax (the original's default branch).
SHELLS = ("bash", "sh", "zsh", "fish", "powershell", "cmd", "emacs", "tcsh")

# Lowercase first: the original uses ``no_proxy`` when it is set (non-empty), else ``NO_PROXY``.
NO_PROXY_NAMES = ("no_proxy", "NO_PROXY")

# Characters that no shell's line can carry: they end the line or the string in every one of them.
# docker-machine printed them anyway; we refuse with a message.
UNSAFE_VALUE_CHARS = "\n\r\0"


@dataclass(frozen=True)
class _Syntax:
    set_prefix: str
    set_delimiter: str
    set_suffix: str
    unset_prefix: str
    unset_delimiter: str
    unset_suffix: str
    comment: str
    eval_form: str  # "%s" is the command line
    # What the value's quoting cannot carry in this shell, on top of UNSAFE_VALUE_CHARS.
    unsafe: str
    # The escape character inside the quotes, if any: it is literal before an ordinary character,
    # but a doubled one collapses and a trailing one escapes the closing quote.
    escape: str = ""


# Inside POSIX double quotes `"`, `$` and backquote end the string or expand; a backslash escapes
# the character after it when that one is special (the closing quote too).
_POSIX = _Syntax("export ", '="', '"\n', "unset ", "", "\n", "#", "eval $(%s)", unsafe='"$`', escape="\\")

_SYNTAX: dict[str, _Syntax] = {
    "bash": _POSIX,
    "sh": _POSIX,
    "zsh": _POSIX,
    # fish: `$` expands and a backslash escapes inside double quotes.
    "fish": _Syntax("set -gx ", ' "', '";\n', "set -e ", "", ";\n", "#", "eval (%s)", unsafe='"$', escape="\\"),
    # The original's raw string `Remove-Item Env:\\` really holds two backslashes.
    # PowerShell: `$` expands, the backquote escapes, and the typographic double quotes close a
    # double-quoted string just as `"` does.
    "powershell": _Syntax(
        "$Env:", ' = "', '"\n', "Remove-Item Env:\\\\", "", "\n", "#", "& %s | Invoke-Expression", unsafe='"$`\u201c\u201d\u201e'
    ),
    # cmd: the value is not quoted at all, so every operator counts: `&` and `|` start another
    # command, `<` `>` redirect, `^` escapes, `%` and `!` expand, parentheses end the FOR block.
    "cmd": _Syntax("SET ", "=", "\n", "SET ", "=", "\n", "REM", '\t@FOR /f "tokens=*" %%i IN (\'%s\') DO @%%i', unsafe='"&|<>^%!()'),
    # Emacs Lisp strings: `"` ends them, and a backslash escapes (and vanishes) before any character.
    "emacs": _Syntax(
        '(setenv "',
        '" "',
        '")\n',
        '(setenv "',
        '" nil',
        ")\n",
        ";;",
        '(with-temp-buffer (shell-command "%s" (current-buffer)) (eval-buffer))',
        unsafe='"\\',
    ),
    # tcsh: as POSIX, and `!` is history substitution even inside double quotes.
    "tcsh": _Syntax("setenv ", ' "', '";\n', "unsetenv ", "", ";\n", ":", "eval `%s`", unsafe='"$`!', escape="\\"),
}


def _syntax(shell: str) -> _Syntax:
    try:
        return _SYNTAX[shell]
    except KeyError:
        raise MachineError("Unknown shell %r; choose one of: %s." % (shell, ", ".join(SHELLS)), option="shell") from None


def usage_hint(shell: str, command: str) -> str:
    """The two comment lines the original ends with; note the space after ``shell:``."""
    syntax = _syntax(shell)
    return "%s Run this command to configure your shell: \n%s %s\n" % (syntax.comment, syntax.comment, syntax.eval_form % command)


def join_argv(argv: t.Sequence[str], shell: str) -> str:
    """A command line for the hint: words joined by spaces; a word holding whitespace is quoted.

    cmd gets double quotes (its hint already wraps the line in single quotes); every other shell,
    emacs' double-quoted string included, gets single quotes.
    """
    quote = '"' if shell == "cmd" else "'"
    return " ".join(quote + word + quote if any(c.isspace() for c in word) or not word else word for word in argv)


def _check_value(name: str, value: str, shell: str, syntax: _Syntax) -> None:
    found = {c for c in value if c in UNSAFE_VALUE_CHARS or c in syntax.unsafe}
    if syntax.escape and (value.endswith(syntax.escape) or syntax.escape * 2 in value):
        found.add(syntax.escape)
    bad = sorted(found)
    if bad:
        raise MachineError(
            "The value of %s (%r) holds %s, which the %s output of docker-machine env cannot quote. "
            "Move the store (option 'store_path') or fix the value so that it holds none of these." % (name, value, ", ".join(repr(c) for c in bad), shell),
            variable=name,
        )


def render_set(env: t.Mapping[str, str], shell: str, command: str) -> str:
    """Lines setting ``env`` in its order (DOCKER_TLS_VERIFY, DOCKER_HOST, DOCKER_CERT_PATH,
    DOCKER_MACHINE_NAME, then NO_PROXY/no_proxy when asked), then the hint naming ``command``."""
    syntax = _syntax(shell)
    lines = []
    for name, value in env.items():
        _check_value(name, value, shell, syntax)
        lines.append(syntax.set_prefix + name + syntax.set_delimiter + value + syntax.set_suffix)
    return "".join(lines) + usage_hint(shell, command)


def render_unset(names: t.Sequence[str], shell: str, command: str) -> str:
    """Lines removing each variable in ``names`` (names only, never a value), then the hint."""
    syntax = _syntax(shell)
    lines = [syntax.unset_prefix + name + syntax.unset_delimiter + syntax.unset_suffix for name in names]
    return "".join(lines) + usage_hint(shell, command)


def no_proxy_name(environ: t.Mapping[str, str]) -> str:
    """``no_proxy`` when a non-empty lowercase one is set, else ``NO_PROXY`` (the original's rule)."""
    return NO_PROXY_NAMES[0] if environ.get(NO_PROXY_NAMES[0]) else NO_PROXY_NAMES[1]


def no_proxy_value(environ: t.Mapping[str, str], ip: str) -> tuple[str, str]:
    """The variable to set and its value with ``ip`` added once.

    The current value plus ``,<ip>``; just ``ip`` when empty; unchanged when ``ip`` is already a
    substring of it (the original's test, kept: ``10.0.0.1`` counts as present in ``10.0.0.10``).
    """
    name = no_proxy_name(environ)
    current = environ.get(name) or ""
    if not current:
        return name, ip
    if ip in current:
        return name, current
    return name, "%s,%s" % (current, ip)
