# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this plugin_util is internal to dockyard.machine; its API may change without notice.
"""The original's commands that change or reach machines: rm, start, stop, restart, kill, provision,
regenerate-certs, ssh, scp, mount, upgrade; and ours, ``certs check``."""

from __future__ import annotations

import os
import typing as t

from ansible_collections.dockyard.machine.plugins.module_utils._drivers import get_driver
from ansible_collections.dockyard.machine.plugins.module_utils._errors import MachineError
from ansible_collections.dockyard.machine.plugins.module_utils._ssh_options import checked_login, split_ssh_args
from ansible_collections.dockyard.machine.plugins.module_utils._store import NAME_PATTERN
from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_context import (
    DEFAULT_MACHINE,
    Context,
    is_running,
    load_machine,
    machine_manager,
    target_name,
    target_records,
)
from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_messages import ERR_NO_MACHINE_SPECIFIED, CLIError, already_stopped, flagged, go_quote
from ansible_collections.dockyard.machine.plugins.plugin_utils._gotemplate import tabwrite

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._ssh import SSHSession
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord

__all__ = [
    "cmd_certs",
    "cmd_kill",
    "cmd_mount",
    "cmd_provision",
    "cmd_regenerate_certs",
    "cmd_rm",
    "cmd_scp",
    "cmd_ssh",
    "cmd_upgrade",
    "power_command",
    "relay_copy",
]


def cmd_rm(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    if not args:
        ctx.stdout.write(ctx.command_help())
        raise CLIError(ERR_NO_MACHINE_SPECIFIED)
    force = opts["force"]
    ctx.out("About to remove %s" % ", ".join(args))
    ctx.out("WARNING: This action will delete both local reference and remote instance.")
    if not (force or opts["y"] or ctx.confirm("Are you sure?")):
        return 0
    manager = machine_manager(ctx)
    errors: list[str] = []

    def collect(message: str) -> None:
        if force:
            ctx.err(message)
        errors.append(message)

    for name in args:
        failed = False
        try:
            load_machine(ctx, name)
        except CLIError as exc:
            collect("Error removing host %s: %s" % (go_quote(name), exc.message))
            failed = True
        except MachineError as exc:
            collect("Error removing host %s: %s" % (go_quote(name), flagged(exc.msg)))
            failed = True
        if failed and not force:
            continue
        try:
            removed = NAME_PATTERN.fullmatch(name) is not None and ctx.store.exists(name) and manager.absent(name, force=force).status == "absent"
        except MachineError as exc:
            ctx.err(flagged(exc.msg))
            removed = False
        if removed:
            ctx.out("Successfully removed %s" % name)
        else:
            collect('Can\'t remove "%s"' % name)
    if errors and not force:
        raise CLIError("\n".join(errors))
    return 0


_POWER = {
    # command: (state for the manager, -ing word, past word, state it ends in, hint word)
    "start": ("started", "Starting", "started", "running", "Started"),
    "stop": ("stopped", "Stopping", "stopped", "stopped", ""),
    "restart": ("restarted", "Restarting", "restarted", "", "Restarted"),
}


def power_command(action: str) -> t.Callable[[Context, dict[str, t.Any], list[str]], int]:
    state, doing, done, end_state, hint = _POWER[action]

    def run(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
        records = target_records(ctx, args)
        manager = machine_manager(ctx)
        errors = []
        for record in records:
            ctx.out("%s %s..." % (doing, go_quote(record.name)))
            if _host_is_down(record):
                # The original's words for a host that is down: stop finds it stopped; start (and restart, which starts
                # a stopped host) asks the driver, which cannot start a host it does not own.
                if action == "stop":
                    errors.append(already_stopped(record.name))
                    continue
                if action == "restart":
                    ctx.out("Starting %s..." % go_quote(record.name))
                errors.append(get_driver(record.driver_name).unsupported("start", "started"))
                continue
            try:
                outcome = manager.power(record.name, state)
            except MachineError as exc:
                errors.append(flagged(exc.msg))
                continue
            if end_state and not outcome.powered:
                errors.append("Machine %s is already %s." % (go_quote(record.name), end_state))
                continue
            if action != "restart":
                ctx.out("Machine %s was %s." % (go_quote(record.name), done))
        if errors:
            raise CLIError("\n".join(errors))
        if hint:
            ctx.out("%s machines may have new IP addresses. You may need to re-run the `%s env` command." % (hint, ctx.prog))
        return 0

    return run


def _host_is_down(record: MachineRecord) -> bool:
    """A host we reach over SSH but do not power (generic) whose SSH port does not answer: the original's Stopped."""
    driver = get_driver(record.driver_name)
    return driver.needs_ssh and not driver.supports_power and not is_running(record)


def cmd_kill(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    """A forced stop where the driver powers the host (EC2); the original's messages elsewhere."""
    errors = []
    manager = machine_manager(ctx)
    for record in target_records(ctx, args):
        ctx.out("Killing %s..." % go_quote(record.name))
        if _host_is_down(record):
            errors.append(already_stopped(record.name))
            continue
        if not get_driver(record.driver_name).supports_power:
            errors.append(get_driver(record.driver_name).unsupported("kill", "killed"))
            continue
        try:
            manager.power(record.name, "stopped", force=True)
        except MachineError as exc:
            errors.append(flagged(exc.msg))
            continue
        ctx.out("Machine %s was killed." % go_quote(record.name))
    if errors:
        raise CLIError("\n".join(errors))
    return 0


def cmd_provision(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    """The record's own options applied again: engine installed if missing, configuration and certificates brought back."""
    records = target_records(ctx, args)
    manager = machine_manager(ctx)
    errors = []
    for record in records:
        try:
            spec = manager.recorded_spec(record.name)
            if get_driver(record.driver_name).needs_ssh:
                ctx.out("Waiting for SSH to be available...")
                ctx.out("Detecting the provisioner...")
            manager.present(spec)
        except MachineError as exc:
            errors.append(flagged(exc.msg))
    if errors:
        raise CLIError("\n".join(errors))
    return 0


def cmd_regenerate_certs(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    if not opts["force"] and not ctx.confirm("Regenerate TLS machine certs?  Warning: this is irreversible."):
        return 0
    ctx.out("Regenerating TLS certificates")
    records = target_records(ctx, args)
    manager = machine_manager(ctx)
    try:
        if opts["client-certs"]:
            outcome = manager.rotate(force=True)
        else:
            outcome = manager.regenerate([r.name for r in records], force=True)
    except MachineError as exc:
        for warning in exc.details.get("warnings") or ():
            ctx.err(warning)
        raise CLIError(flagged(exc.msg)) from None
    for warning in outcome.warnings:
        ctx.err(warning)
    return 0


def cmd_certs(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    if not args or args[0] != "check":
        raise CLIError("Error: the certs command takes one action: %s certs check [NAME...]" % ctx.prog)
    for name in args[1:]:
        load_machine(ctx, name)
    report = machine_manager(ctx).certificate_report(args[1:] or None, renew_days=int(opts["renew-days"]))
    lines = ["NAME\tEXPIRES\tADDRESS\tCOVERED\tDUE"]

    def due(entry: dict[str, t.Any] | None) -> str:
        return "; ".join(entry["reasons"]) if entry and entry.get("reasons") else "-"

    for label, entry in (("(CA)", report["ca"]), ("(client)", report["client"])):
        lines.append("%s\t%s\t\t\t%s" % (label, entry["not_after"][:10] if entry else "missing", due(entry) if entry else "missing"))
    for entry in report["machines"]:
        if not entry.get("managed"):
            lines.append("%s\t-\t-\t-\tnot ours (driver %s)" % (entry["name"], entry["driver"]))
            continue
        expires = entry["not_after"][:10] if "not_after" in entry else "missing"
        covered = {True: "yes", False: "no"}.get(entry.get("address_covered"), "-")
        lines.append("%s\t%s\t%s\t%s\t%s" % (entry["name"], expires, entry.get("address", ""), covered, due(entry)))
    ctx.stdout.write(tabwrite("\n".join(lines) + "\n"))
    return 1 if any(e.get("needs_reissue") for e in report["machines"]) or due(report["ca"]) != "-" or due(report["client"]) != "-" else 0


def cmd_ssh(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    if args and args[0] in ("-help", "--help", "-h"):
        ctx.stdout.write(ctx.command_help())
        return 0
    record = load_machine(ctx, target_name(ctx, args))
    # The words after the name: ssh options, then the command (as ssh reads them after user@host in the original).
    passed = split_ssh_args(args[1:])
    if not get_driver(record.driver_name).needs_ssh:
        raise CLIError("Error: Cannot run SSH command: machine %s (driver %s) has no SSH access" % (go_quote(record.name), record.driver_name))
    if not is_running(record):
        raise CLIError("Error: Cannot run SSH command: Host %s is not running" % go_quote(record.name))
    with machine_manager(ctx).user_session(record.name) as session:
        return ctx.runner(session.user_argv(passed.command, options=passed.options, user=passed.user))


def _location(spec: str) -> tuple[str, str, str]:
    """``[user@]machine:path`` -> (machine, user or "", path)."""
    host, path = spec.split(":", 1)
    user = ""
    if "@" in host:
        user, host = host.split("@", 1)
        checked_login(user, "the user in %s" % spec)
    return host, user, path


def _scp_side(ctx: Context, spec: str) -> tuple[str, str, str]:
    """``[[user@]machine:]path`` -> (machine or "", user, path); ``localhost:`` is a local path."""
    if ":" not in spec:
        return "", "", spec
    host, user, path = _location(spec)
    if host == "localhost":
        return "", "", path
    return host, user, path


def cmd_scp(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    if len(args) != 2:
        ctx.stdout.write(ctx.command_help())
        raise CLIError("Improper number of arguments")
    (src_host, src_user, src_path), (dst_host, dst_user, dst_path) = (_scp_side(ctx, a) for a in args)
    if src_host and dst_host and opts["delta"]:
        raise CLIError("--delta copies between a machine and this computer only (rsync cannot copy between two remote hosts): leave it out.")
    tool = "rsync" if opts["delta"] else "scp"
    import shutil  # here, not with the module: the other commands start without it

    if not shutil.which(tool):
        raise CLIError(
            "You must have a copy of the rsync binary locally to use the --delta option"
            if opts["delta"]
            else "You must have a copy of the scp binary locally to use the scp feature"
        )
    records = [_scp_record(ctx, host) for host in (src_host, dst_host) if host]
    if not records:
        return ctx.runner([tool] + (["-r"] if opts["recursive"] else []) + ["--", src_path, dst_path])
    _check_running(records)
    copy = {"recursive": opts["recursive"], "quiet": opts["quiet"], "delta": opts["delta"]}
    manager = machine_manager(ctx)
    if src_host and dst_host:
        with manager.user_session(records[0].name) as from_session, manager.user_session(records[1].name) as to_session:
            return relay_copy(ctx.runner, (from_session, src_user, src_path), (to_session, dst_user, dst_path), copy)
    user = src_user if src_host else dst_user
    with manager.user_session(records[0].name) as session:
        source = session.remote_path(src_path, user) if src_host else src_path
        destination = session.remote_path(dst_path, user) if dst_host else dst_path
        return ctx.runner(session.copy_argv(source, destination, user=user, **copy))


def relay_copy(
    runner: t.Callable[[list[str]], int],
    source: tuple[SSHSession, str, str],
    destination: tuple[SSHSession, str, str],
    copy: t.Mapping[str, t.Any],
) -> int:
    """Copy ``(session, user, path)`` to another machine's ``(session, user, path)`` through this computer.

    The original ran ``scp -3`` (which also relays through this computer) with one set of ssh options for both
    hosts. Here the files go through a private folder of this computer, each machine over its own session: its own
    pinned host key, port, key and user. The folder is removed afterwards.
    """
    import tempfile  # loaded when used: the command line's start-up stays small

    (src_session, src_user, src_path), (dst_session, dst_user, dst_path) = source, destination
    with tempfile.TemporaryDirectory(prefix="dym-scp-") as relay:
        fetched = runner(src_session.copy_argv(src_session.remote_path(src_path, src_user), relay, user=src_user, **copy))
        if fetched != 0:
            return fetched
        files = sorted(os.path.join(relay, entry) for entry in os.listdir(relay))
        if not files:
            raise CLIError("Nothing was copied from %s." % src_session.remote_path(src_path, src_user))
        return runner(dst_session.copy_argv(files, dst_session.remote_path(dst_path, dst_user), user=dst_user, **copy))


def _scp_record(ctx: Context, machine: str) -> MachineRecord:
    try:
        return load_machine(ctx, machine)
    except CLIError as exc:
        raise CLIError("Error loading host: %s" % exc.message) from None


def _check_running(records: t.Iterable[MachineRecord]) -> None:
    for record in records:
        if get_driver(record.driver_name).needs_ssh and not is_running(record):
            raise CLIError("Error: Cannot run SSH command: Host %s is not running" % go_quote(record.name))


def cmd_upgrade(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    """The engine of each machine upgraded through the provisioner: the install source and version pin it was installed
    with (its record's), then restarted; the original's messages."""
    records = target_records(ctx, args)
    manager = machine_manager(ctx)
    errors = []
    for record in records:
        try:
            if get_driver(record.driver_name).supports_power and not is_running(record):
                ctx.out("Starting machine so machine can be upgraded...")
                manager.power(record.name, "started")
            ctx.out("Upgrading docker...")
            outcome = manager.upgrade(record.name)
        except MachineError as exc:
            errors.append(flagged(exc.msg))
            continue
        if "restart engine" in outcome.steps:
            ctx.out("Restarting docker...")
    if errors:
        raise CLIError("\n".join(errors))
    return 0


# Where the programs mount needs come from, for the message when one is missing.
SSHFS_PACKAGES = "the package sshfs (Debian, Ubuntu: apt-get install sshfs; Fedora, RHEL: dnf install fuse-sshfs)"
FUSERMOUNT_PACKAGES = "the package fuse3 (Debian, Ubuntu: apt-get install fuse3; Fedora, RHEL: dnf install fuse3)"


def cmd_mount(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    """``[[user@]machine:][path] [mountpoint]`` mounted with sshfs (the mountpoint defaults to the path), or unmounted with ``-u``."""
    if len(args) not in (1, 2):
        ctx.stdout.write(ctx.command_help())
        raise CLIError("Improper number of arguments")
    import shutil  # here, not with the module: the other commands start without it

    machine, user, path = _location(args[0] if ":" in args[0] else "%s:%s" % (DEFAULT_MACHINE, args[0]))
    mountpoint = args[1] if len(args) > 1 else path
    if opts["unmount"]:
        search = ctx.environ.get("PATH")
        program = shutil.which("fusermount3", path=search) or shutil.which("fusermount", path=search)
        if not program:
            raise CLIError("You must have a copy of the fusermount binary locally to use the unmount option: install %s." % FUSERMOUNT_PACKAGES)
        _scp_record(ctx, machine)
        return ctx.runner([program, "-u", "--", mountpoint])
    if not shutil.which("sshfs", path=ctx.environ.get("PATH")):
        raise CLIError("You must have a copy of the sshfs binary locally to use the mount feature: install %s." % SSHFS_PACKAGES)
    record = _scp_record(ctx, machine)
    _check_running([record])
    with machine_manager(ctx).user_session(record.name) as session:
        return ctx.runner(session.mount_argv(path, mountpoint, user=user))
