# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this plugin_util is internal to dockyard.machine; its API may change without notice.
"""Beyond the original: ``export`` and ``import`` move machines between stores as one bundle file."""

from __future__ import annotations

import os
import typing as t

from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_context import Context, load_machine
from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_flags import Flag
from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_messages import CLIError, flagged

__all__ = ["PASSPHRASE_FLAG", "cmd_export", "cmd_import"]


PASSPHRASE_ENV = "DOCKYARD_MACHINE_PASSPHRASE"
PASSPHRASE_FLAG = Flag(("passphrase-file",), "string", "Read the bundle's passphrase from this file (or set $%s)" % PASSPHRASE_ENV, "")


def _passphrase(ctx: Context, opts: dict[str, t.Any]) -> str | None:
    """The passphrase from --passphrase-file or the environment: never from the command line, where others can read it."""
    path = opts["passphrase-file"]
    if path:
        try:
            with open(os.path.expanduser(path), encoding="utf-8") as handle:
                return handle.readline().rstrip("\r\n")
        except OSError as exc:
            raise CLIError("Cannot read the passphrase file %s: %s. Fix flag --passphrase-file." % (path, exc.strerror)) from None
    return ctx.environ.get(PASSPHRASE_ENV) or None


def cmd_export(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    from ansible_collections.dockyard.machine.plugins.module_utils._bundle import export_to_file

    if not opts["output"]:
        raise CLIError("Error: name the bundle file with -o/--output FILE")
    for name in args:
        load_machine(ctx, name)
    report = export_to_file(ctx.store, opts["output"], args or None, include_ca_key=opts["include-ca-key"], passphrase=_passphrase(ctx, opts))
    for warning in report.warnings:
        ctx.err(flagged(warning))
    ctx.out("%s %s to %s" % ("Exported" if report.changed else "Unchanged:", ", ".join(report.machines) or "no machine", report.path))
    return 0


def cmd_import(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    from ansible_collections.dockyard.machine.plugins.module_utils._bundle import import_from_file

    if not args:
        raise CLIError("Error: name the bundle file: %s import FILE [NAME...]" % ctx.prog)
    report = import_from_file(ctx.store, args[0], args[1:] or None, passphrase=_passphrase(ctx, opts))
    for warning in report.warnings:
        ctx.err(flagged(warning))
    for name in report.imported:
        ctx.out("Imported %s" % name)
    for name in report.unchanged:
        ctx.out("%s is already in the store as the bundle has it" % name)
    return 0
