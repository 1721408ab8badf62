# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this plugin_util is internal to dockyard.machine; its API may change without notice.
"""The command line's words: the original's messages, and module_utils' messages with option names as flags.

module_utils name the module option to fix (``Fix option generic.ssh_key.``); here the same message names the flag
that sets it (``Fix flag --generic-ssh-key.``). The drivers' flags come from their declarations.
"""

from __future__ import annotations

import json
import os
import re

from ansible_collections.dockyard.machine.plugins.module_utils._drivers import DRIVERS
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.options import flag_names
from ansible_collections.dockyard.machine.plugins.module_utils._env import CLI_NAME

__all__ = [
    "CLIError",
    "ERR_EXPECTED_ONE",
    "ERR_HOST_NOT_RUNNING",
    "ERR_INVALID_NAME",
    "ERR_NO_DEFAULT",
    "ERR_NO_MACHINE_SPECIFIED",
    "ERR_TOO_MANY",
    "OPTION_FLAGS",
    "SECRET_HELP",
    "already_stopped",
    "dial_error",
    "docker_version_error",
    "engine_stopped",
    "flagged",
    "go_quote",
    "printable",
    "program_name",
    "secret_on_command_line",
]


def program_name(argv0: str) -> str:
    """The program's name in every message, help text and hint: as invoked (``docker-machine`` through a symlink or an
    alias), as the original's ``filepath.Base(os.Args[0])``; ``dockyard-machine`` when run as ``python -m``."""
    base = os.path.basename(argv0)
    return CLI_NAME if base in ("", "__main__.py") else base


# The original's messages (commands/commands.go, libmachine/mcnerror).
ERR_NO_DEFAULT = 'Error: No machine name(s) specified and no "default" machine exists'
ERR_NO_MACHINE_SPECIFIED = "Error: Expected to get one or more machine names as arguments"
ERR_EXPECTED_ONE = "Error: Expected one machine name as an argument"
ERR_TOO_MANY = "Error: Too many arguments given"
ERR_INVALID_NAME = "Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -"
ERR_HOST_NOT_RUNNING = "Host is not running"  # drivers.ErrHostIsNotRunning

# Go's crypto/x509 words (Go 1.12, the original's last build) for the verify errors OpenSSL reports by code.
_EXPIRED = "x509: certificate has expired or is not yet valid"
_UNKNOWN_AUTHORITY = "x509: certificate signed by unknown authority"
_X509_WORDS = {9: _EXPIRED, 10: _EXPIRED, 18: _UNKNOWN_AUTHORITY, 19: _UNKNOWN_AUTHORITY, 20: _UNKNOWN_AUTHORITY, 21: _UNKNOWN_AUTHORITY}

# Module option names in module_utils' messages, and the flag that sets the same thing here.
OPTION_FLAGS = {
    "store_path": "-s/--storage-path",
    "name": "the machine name argument",
    "names": "the machine name arguments",
    "shell": "--shell",
    "filters": "--filter",
    "tls_san": "--tls-san",
    "driver": "-d/--driver",
    "engine.version": "--engine-install-url",
    "engine.labels": "--engine-label",
    "engine.env": "--engine-env",
    "engine.options": "--engine-opt",
    "engine.storage_driver": "--engine-storage-driver",
    "engine.insecure_registries": "--engine-insecure-registry",
    "engine.registry_mirrors": "--engine-registry-mirror",
    "ssh_host_key_reset": "(the docker_machine module's ssh_host_key_reset=true)",
    "passphrase": "--passphrase-file (or $DOCKYARD_MACHINE_PASSPHRASE)",
    "include_ca_key": "--include-ca-key",
    "path": "the bundle file argument",
    "force": "-f",
}


def _option_flags() -> dict[str, str]:
    """OPTION_FLAGS, then each driver's options (``amazonec2.instance_type``) and task-level options (``region``) ->
    their flags. Made when a message first names an option: it loads every driver, which most commands never need."""
    if not _DRIVER_FLAGS:
        for name, cls in DRIVERS.items():
            _DRIVER_FLAGS.update(flag_names(cls.OPTIONS, name))
            _DRIVER_FLAGS.update(flag_names(cls.TASK_OPTIONS, ""))
    return {**OPTION_FLAGS, **_DRIVER_FLAGS}


_DRIVER_FLAGS: dict[str, str] = {}
_OPTION_WORDS = re.compile(r"\b[Oo]ptions? '?([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)?)'?")


class CLIError(Exception):
    """What the original prints with ``log.Error`` before it exits 1 (or ``code``)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def flagged(message: str) -> str:
    """A module_util message with each module option it names replaced by this command's flag."""
    if not _OPTION_WORDS.search(message):
        return message
    flags = _option_flags()

    def swap(match: re.Match) -> str:
        flag = flags.get(match.group(1))
        if flag is None:
            return match.group(0)
        return flag if flag.startswith(("the ", "(")) else "flag %s" % flag

    return _OPTION_WORDS.sub(swap, message)


# A secret flag's help says this (its environment variable follows, as codegangsta/cli shows it).
SECRET_HELP = "%s (on a command line other users can read it, in ps and /proc/PID/cmdline: set the environment variable instead)"


def secret_on_command_line(flag: str, env: str) -> str:
    """The warning for a secret given as a flag: the original offered the environment only, no file."""
    return "Warning: --%s on the command line can be read by other users of this computer (ps, /proc/PID/cmdline); set %s in the environment instead." % (
        flag,
        env,
    )


def already_stopped(name: str) -> str:
    """``mcnerror.ErrHostAlreadyInState``: what stop and kill say of a host that is down."""
    return "Machine %s is already stopped." % go_quote(name)


def engine_stopped(prog: str, name: str) -> str:
    """A host that runs with its engine stopped (``stop`` of a host we do not power): said where the original says
    ``Host is not running``."""
    return "Engine is not running; start it with `%s start %s`" % (prog, name)


def dial_error(error: Exception, where: str) -> str:
    """Why a TLS connection to ``where`` (HOST:PORT) failed, as Go's ``tls.DialWithDialer`` says it in the original's
    certificate check: ``dial tcp HOST:PORT: connect: connection refused``, ``x509: ...``."""
    from ansible_collections.dockyard.machine.plugins.module_utils._endpoint import error_cause

    cause = error.__cause__
    code = getattr(cause, "verify_code", None)
    if code is not None:
        return _X509_WORDS.get(code) or str(getattr(cause, "verify_message", None) or cause).rstrip(".")
    if isinstance(cause, TimeoutError):
        return "dial tcp %s: i/o timeout" % where
    if _closed_during_handshake(cause):
        return "EOF"
    strerror = getattr(cause, "strerror", None)
    if isinstance(cause, OSError) and strerror and cause.errno is not None and not hasattr(cause, "library"):  # not an ssl.SSLError
        return "dial tcp %s: connect: %s" % (where, strerror[:1].lower() + strerror[1:])
    return error_cause(error).rstrip(".")  # type: ignore[arg-type]


def _closed_during_handshake(cause: BaseException | None) -> bool:
    """The other end closed during the TLS handshake: Go says ``EOF``. Python's ssl says it as SSLEOFError
    (UNEXPECTED_EOF_WHILE_READING) or, on some 3.11 releases with the same OpenSSL, as SSLZeroReturnError."""
    import ssl  # loaded already: a handshake was tried

    return isinstance(cause, (ssl.SSLEOFError, ssl.SSLZeroReturnError)) or getattr(cause, "reason", None) == "UNEXPECTED_EOF_WHILE_READING"


def docker_version_error(error: Exception, url: str) -> str:
    """Why ``ls`` (its ERRORS column) and ``version`` could not ask an engine, in the original's words
    (mcndockerclient over samalba/dockerclient, which asks ``/v1.15/version``)."""
    if isinstance(error.__cause__, ConnectionRefusedError):
        return "Unable to query docker version: Cannot connect to the docker engine endpoint"
    where = url.split("://", 1)[-1]
    return "Unable to query docker version: Get https://%s/v1.15/version: %s" % (where, dial_error(error, where))


# C0 controls but newline and tab, DEL, C1 controls, and the bidirectional overrides and isolates.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match) -> str:
    code = ord(match.group(0))
    return "\\x%02x" % code if code < 0x100 else "\\u%04x" % code


def printable(text: str) -> str:
    """``text`` as the terminal may receive it: control characters a record or an engine's answer holds are shown as
    escapes (``\\x1b``), so they cannot recolour, retitle or rewrite the user's terminal; newlines and tabs (the
    output's own layout) stay. Text without them, every normal value, is unchanged."""
    return _CONTROL.sub(_escape, text) if _CONTROL.search(text) else text


def go_quote(text: str) -> str:
    """Go's ``%q`` for the strings we print (names, paths)."""
    return json.dumps(text, ensure_ascii=False)
