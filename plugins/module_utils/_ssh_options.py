# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""The ssh options a user passes through to a machine: ``dockyard-machine ssh NAME [OPTIONS] [--] [COMMAND]``.

The original appended the words after the machine's name to its ssh command line after ``user@host``, where
ssh reads options up to the first word that is not one (or up to ``--``) and the rest is the remote command.
They are read here the same way (ssh's getopt, OpenSSH's option letters), so ``-C``, ``-o Opt=val``, ``-t`` or
``-L`` reach ssh and the command reaches the host.

Refused, with a message naming the option, are the few that would undo what the SSH layer guarantees: the
pinned host key (in the original these could not be set either: its own ``StrictHostKeyChecking=no`` came
first, and ssh keeps the first value), the shared connection, and the address and port, which come from the
machine's record. ``-l USER`` (or ``-o User=USER``) logs in as USER, over a connection of its own.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass

from ansible_collections.dockyard.machine.plugins.module_utils._errors import SSHError

__all__ = ["PassedSSHArgs", "REFUSED_KEYWORDS", "checked_login", "split_ssh_args"]

# OpenSSH's option letters (ssh(1), OpenSSH 8 and 9): without a value, and with one.
FLAGS = frozenset("46AaCfGgKkNnqsTtVvXxYy")
FLAGS_WITH_VALUE = frozenset("BbcDEeFIiJLlmopQRwW")

_PINNING = "the machine's host key is pinned in its record and always checked"
_SHARED = "the command runs over the one connection opened and closed for it"
_ADDRESS = "the machine's address and SSH port come from its record (the inspect command shows them)"

REFUSED_FLAGS = {"M": _SHARED, "O": _SHARED, "S": _SHARED, "p": _ADDRESS}
#: ssh_config keywords (lower case) refused in ``-o``, and why.
REFUSED_KEYWORDS = {
    "stricthostkeychecking": _PINNING,
    "userknownhostsfile": _PINNING,
    "globalknownhostsfile": _PINNING,
    "hostkeyalias": _PINNING,
    "knownhostscommand": _PINNING,
    "verifyhostkeydns": _PINNING,
    "nohostauthenticationforlocalhost": _PINNING,
    "controlmaster": _SHARED,
    "controlpath": _SHARED,
    "controlpersist": _SHARED,
    "hostname": _ADDRESS,
    "port": _ADDRESS,
}
_KEYWORD = re.compile(r"\s*([^\s=]*)\s*=?\s*(.*?)\s*", re.DOTALL)


@dataclass(frozen=True)
class PassedSSHArgs:
    """What the user typed after the machine's name: ssh options, the login user they name (or ""), the remote command."""

    options: tuple[str, ...] = ()
    user: str = ""
    command: tuple[str, ...] = ()


def checked_login(user: str, where: str) -> str:
    """``user`` when it passes the SSH layer's name rule (``_ssh.is_ssh_name``), else an SSHError naming ``where``."""
    # Loaded when used: the command line's start-up does not load the SSH layer.
    from ansible_collections.dockyard.machine.plugins.module_utils._ssh import is_ssh_name

    if not is_ssh_name(user):
        raise SSHError("%r is not a user name (it is empty, starts with '-', or holds spaces or control characters): fix %s." % (user, where), option=where)
    return user


def _refuse(option: str, reason: str) -> SSHError:
    return SSHError("The ssh option %s is not offered: %s." % (option, reason), option=option)


def _keyword(text: str) -> tuple[str, str]:
    """``Keyword=value``, ``Keyword value`` or ``Keyword = value``, as ssh reads an ``-o`` option.

    ssh unquotes the keyword (``"StrictHostKeyChecking" no`` counts): quotes and backslashes are dropped before it
    is compared, and a keyword that is still not letters and digits is refused.
    """
    found = _KEYWORD.fullmatch(re.sub(r"[\"'\\]", "", text))
    keyword, value = (found.group(1), found.group(2)) if found else ("", "")
    if not keyword.isalnum() or not keyword.isascii():
        raise SSHError("%r is not an ssh option: -o takes Keyword=value (see ssh_config(5))." % text, option="-o")
    return keyword, value


def split_ssh_args(words: t.Sequence[str]) -> PassedSSHArgs:
    """Options (each as separate words, ``-o`` and its value apart) up to the command, as ssh's getopt reads them."""
    options: list[str] = []
    users: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word == "--":
            index += 1
            break
        if not word.startswith("-") or word == "-":
            break
        position = 1
        while position < len(word):
            letter = word[position]
            if letter in FLAGS:
                options.append("-" + letter)
                position += 1
                continue
            if letter not in FLAGS_WITH_VALUE and letter not in REFUSED_FLAGS:
                raise SSHError("Unknown ssh option -%s (in %r). Put the remote command after --." % (letter, word), option="-" + letter)
            if letter in REFUSED_FLAGS:
                raise _refuse("-" + letter, REFUSED_FLAGS[letter])
            value = word[position + 1 :]
            if not value:
                index += 1
                if index >= len(words):
                    raise SSHError("The ssh option -%s needs a value." % letter, option="-" + letter)
                value = words[index]
            if letter == "l":
                users.append(value)
            elif letter == "o":
                keyword, rest = _keyword(value)
                if keyword.lower() in REFUSED_KEYWORDS:
                    raise _refuse("-o %s" % keyword, REFUSED_KEYWORDS[keyword.lower()])
                if keyword.lower() == "user":
                    users.append(rest)
                else:
                    options.extend(("-o", value))
            else:
                options.extend(("-" + letter, value))
            break
        index += 1
    # ssh keeps the first value it reads.
    user = checked_login(users[0], "the login name of -l or -o User") if users else ""
    return PassedSSHArgs(options=tuple(options), user=user, command=tuple(words[index:]))
