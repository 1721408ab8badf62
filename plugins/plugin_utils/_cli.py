# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this plugin_util is internal to dockyard.machine; its API may change without notice.
"""``dockyard-machine``: docker-machine 0.16's command line on the collection's own code.

Every command parses its arguments the way the original does (``_cli_flags``: Go's flag package behind
codegangsta/cli) and then makes one call into the same module_utils the modules use: the store, the listing, the env
renderer, the machine manager and its certificates. Nothing here decides how a machine is listed, reached, created or
removed; the commands (``_cli_show``, ``_cli_manage``, ``_cli_create``, ``_cli_bundle``, ``_cli_complete``) only
print what those calls return in the original's words (``_cli_messages``). Messages the original prints are printed
byte for byte where they name no program; where they named ``docker-machine`` they name this command.

The console entry point lives in ``cli/`` (a small Python package); it imports ``main`` from here.
"""

from __future__ import annotations

import os
import sys
import typing as t
from dataclasses import replace

from ansible_collections.dockyard.machine.plugins.module_utils._errors import MachineError
from ansible_collections.dockyard.machine.plugins.module_utils._store import resolve_store_path
from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_bundle import PASSPHRASE_FLAG, cmd_export, cmd_import
from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_complete import cmd_completion, complete
from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_context import Command, Context
from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_create import CREATE_FLAGS, cmd_create, with_driver_flags
from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_flags import HELP_FLAG, Flag, UsageError, help_tabwrite, leading_flags, parse_flags
from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_manage import (
    cmd_certs,
    cmd_kill,
    cmd_mount,
    cmd_provision,
    cmd_regenerate_certs,
    cmd_rm,
    cmd_scp,
    cmd_ssh,
    cmd_upgrade,
    power_command,
)
from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_messages import CLIError, flagged
from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_show import (
    cmd_active,
    cmd_config,
    cmd_env,
    cmd_inspect,
    cmd_ip,
    cmd_ls,
    cmd_status,
    cmd_url,
    cmd_version,
    version_string,
)

__all__ = ["COMMANDS", "Context", "GLOBAL_FLAGS", "main", "version_string"]


NAME_ARG = "Argument is a machine name."
NAMES_ARG = "Argument(s) are one or more machine names."
TIMEOUT = Flag(("timeout", "t"), "int", "Timeout in seconds, default to 10s", 10)
SWARM_ENV = Flag(("swarm",), "bool", "Display the Swarm config instead of the Docker daemon")
COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command("active", "Print which machine is active", cmd_active, flags=(TIMEOUT,)),
        Command("config", "Print the connection config for machine", cmd_config, NAME_ARG, (SWARM_ENV,)),
        Command(
            "create",
            "Create a machine",
            cmd_create,
            "Run '{prog} create --driver name --help' to include the create flags for that driver in the help text.",
            CREATE_FLAGS,
        ),
        Command(
            "env",
            "Display the commands to set up the environment for the Docker client",
            cmd_env,
            NAME_ARG,
            (
                SWARM_ENV,
                Flag(
                    ("shell",),
                    "string",
                    "Force environment to be configured for a specified shell: [fish, cmd, powershell, tcsh, emacs], default is auto-detect",
                ),
                Flag(("unset", "u"), "bool", "Unset variables instead of setting them"),
                Flag(("no-proxy",), "bool", "Add machine IP to NO_PROXY environment variable"),
            ),
        ),
        Command(
            "inspect",
            "Inspect information about a machine",
            cmd_inspect,
            NAME_ARG,
            (Flag(("format", "f"), "string", "Format the output using the given go template.", ""),),
        ),
        Command("ip", "Get the IP address of a machine", cmd_ip, NAMES_ARG),
        Command("kill", "Kill a machine", cmd_kill, NAMES_ARG),
        Command(
            "ls",
            "List machines",
            cmd_ls,
            flags=(
                Flag(("quiet", "q"), "bool", "Enable quiet mode"),
                Flag(("filter",), "slice", "Filter output based on conditions provided"),
                TIMEOUT,
                Flag(("format", "f"), "string", "Pretty-print machines using a Go template"),
            ),
        ),
        Command("provision", "Re-provision existing machines", cmd_provision),
        Command(
            "regenerate-certs",
            "Regenerate TLS Certificates for a machine",
            cmd_regenerate_certs,
            NAMES_ARG,
            (Flag(("force", "f"), "bool", "Force rebuild and do not prompt"), Flag(("client-certs",), "bool", "Also regenerate client certificates and CA.")),
        ),
        Command("restart", "Restart a machine", power_command("restart"), NAMES_ARG),
        Command(
            "rm",
            "Remove a machine",
            cmd_rm,
            NAMES_ARG,
            (
                Flag(("force", "f"), "bool", "Remove local configuration even if machine cannot be removed, also implies an automatic yes (`-y`)"),
                Flag(("y",), "bool", "Assumes automatic yes to proceed with remove, without prompting further user confirmation"),
            ),
        ),
        Command("ssh", "Log into or run a command on a machine with SSH.", cmd_ssh, "Arguments are [machine-name] [command]", skip_flag_parsing=True),
        Command(
            "scp",
            "Copy files between machines",
            cmd_scp,
            "Arguments are [[user@]machine:][path] [[user@]machine:][path].",
            (
                Flag(("recursive", "r"), "bool", "Copy files recursively (required to copy directories)"),
                Flag(("delta", "d"), "bool", "Reduce amount of data sent over network by sending only the differences (uses rsync)"),
                Flag(("quiet", "q"), "bool", "Disables the progress meter as well as warning and diagnostic messages from ssh"),
            ),
        ),
        Command(
            "mount",
            "Mount or unmount a directory from a machine with SSHFS.",
            cmd_mount,
            "Arguments are [machine:][path] [mountpoint]",
            (Flag(("unmount", "u"), "bool", "Unmount instead of mount"),),
        ),
        Command("start", "Start a machine", power_command("start"), NAMES_ARG),
        Command("status", "Get the status of a machine", cmd_status, NAME_ARG),
        Command("stop", "Stop a machine", power_command("stop"), NAMES_ARG),
        Command("upgrade", "Upgrade a machine to the latest version of Docker", cmd_upgrade, NAMES_ARG),
        Command("url", "Get the URL of a machine", cmd_url, NAME_ARG),
        Command("version", "Show the Docker Machine version or a machine docker version", cmd_version),
        Command(
            "export",
            "Export machines (record, keys, certificates) to a bundle file another store can import",
            cmd_export,
            "Arguments are machine names; without them, every machine.",
            (
                Flag(("output", "o"), "string", "The bundle file to write", ""),
                Flag(("include-ca-key",), "bool", "Also export the CA key, so the importing store can re-issue certificates"),
                PASSPHRASE_FLAG,
            ),
        ),
        Command(
            "import",
            "Import machines from a bundle file into this store",
            cmd_import,
            "Arguments are the bundle file, then machine names; without them, every machine of the bundle.",
            (PASSPHRASE_FLAG,),
        ),
        Command(
            "certs",
            "Check the certificates of the store and its machines (expiry, addresses covered)",
            cmd_certs,
            "Arguments are check, then machine names; without them, every machine. Exits 1 when a certificate is due.",
            (Flag(("renew-days",), "int", "Certificates ending within this many days are due", 30),),
        ),
        Command("completion", "Print the shell completion script (bash or zsh)", cmd_completion, "Argument is bash or zsh."),
    )
}


def cmd_complete(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    for word in complete(args, ctx.environ, COMMANDS, GLOBAL_FLAGS):
        ctx.out(word)
    return 0


# Run by the completion script with the words typed so far; not listed in the help.
COMPLETE = Command("__complete", "", cmd_complete, skip_flag_parsing=True)
GLOBAL_FLAGS = (
    Flag(("debug", "D"), "bool", "Enable debug mode"),
    Flag(("storage-path", "s"), "string", "Configures storage path", "", "MACHINE_STORAGE_PATH"),
    Flag(("tls-ca-cert",), "string", "CA to verify remotes against", "", "MACHINE_TLS_CA_CERT"),
    Flag(("tls-ca-key",), "string", "Private key to generate certificates", "", "MACHINE_TLS_CA_KEY"),
    Flag(("tls-client-cert",), "string", "Client cert to use for TLS", "", "MACHINE_TLS_CLIENT_CERT"),
    Flag(("tls-client-key",), "string", "Private key used in client TLS auth", "", "MACHINE_TLS_CLIENT_KEY"),
    Flag(("github-api-token",), "string", "Token to use for requests to the Github API", "", "MACHINE_GITHUB_API_TOKEN"),
    Flag(("native-ssh",), "bool", "Use the native (Go-based) SSH implementation.", env="MACHINE_NATIVE_SSH"),
    Flag(("bugsnag-api-token",), "string", "BugSnag API token for crash reporting", "", "MACHINE_BUGSNAG_API_TOKEN"),
    HELP_FLAG,
    Flag(("version", "v"), "bool", "print the version"),
)


def app_help(prog: str, environ: t.Mapping[str, str]) -> str:
    """docker-machine's AppHelpTemplate: the global flags with their values (the store it would use), the commands and
    codegangsta/cli's help command."""
    text = "Usage: %s [OPTIONS] COMMAND [arg...]\n\nCreate and manage machines running Docker.\n\nVersion: %s\n\nOptions:\n" % (
        prog,
        version_string(prog).split(" version ", 1)[1],
    )
    shown = [replace(f, default=resolve_store_path(None, environ)) if f.key == "storage-path" else f for f in GLOBAL_FLAGS]
    text += "".join("  %s\n" % f.help_line() for f in shown)
    text += "  \nCommands:\n" + "".join("  %s\t%s\n" % (c.name, c.usage) for c in COMMANDS.values())
    text += "  help\tShows a list of commands or help for one command\n"
    text += "  \nRun '%s COMMAND --help' for more information on a command.\n" % prog
    return help_tabwrite(text)


def _run(ctx: Context, argv: list[str]) -> int:
    try:
        # Global flags come before the command; Go's flag parsing stops at the command's name.
        values, rest = parse_flags(GLOBAL_FLAGS, leading_flags(GLOBAL_FLAGS, argv[1:]), ctx.environ)
    except UsageError as exc:
        ctx.stdout.write("Incorrect Usage.\n\n" + app_help(ctx.prog, ctx.environ))
        raise CLIError(exc.message) from None
    tail = argv[1 + len(leading_flags(GLOBAL_FLAGS, argv[1:])) :]
    ctx.storage_path = values["storage-path"] or ""
    ctx.debug = values["debug"] or _env_bool(ctx.environ.get("MACHINE_DEBUG", ""))
    for name in ("tls-ca-cert", "tls-ca-key", "tls-client-cert", "tls-client-key"):
        if values[name]:
            raise CLIError("--%s is not offered: %s keeps the CA and client certificate in the store's certs folder." % (name, ctx.prog))
    if values["version"]:
        ctx.out(version_string(ctx.prog))
        return 0
    words = rest + tail
    if not words or values["help"]:
        ctx.stdout.write(app_help(ctx.prog, ctx.environ))
        return 0
    if words[0] == "help":
        if len(words) > 1 and words[1] in COMMANDS:
            ctx.stdout.write(COMMANDS[words[1]].help_text(ctx.prog))
        else:
            ctx.stdout.write(app_help(ctx.prog, ctx.environ))
        return 0
    command = COMPLETE if words[0] == COMPLETE.name else COMMANDS.get(words[0])
    if command is None:
        raise CLIError("%s: '%s' is not a %s command. See '%s --help'." % (ctx.prog, words[0], ctx.prog, ctx.prog))
    args = words[1:]
    if command.name == "create":
        # create's flags (and so its help) include those of the driver named with -d, as the original's do.
        command = with_driver_flags(ctx, command, args)
    ctx.command = command
    if command.skip_flag_parsing:
        return command.handler(ctx, {}, args) or 0
    try:
        opts, args = parse_flags(command.flags + (HELP_FLAG,), args, ctx.environ, command)
    except UsageError as exc:
        ctx.stdout.write("Incorrect Usage.\n\n" + command.help_text(ctx.prog))
        raise CLIError(exc.message) from None
    if opts.pop("help"):
        ctx.stdout.write(command.help_text(ctx.prog))
        return 0
    return command.handler(ctx, opts, args) or 0


def _env_bool(text: str) -> bool:
    return text.lower() in ("1", "t", "true")


def main(
    argv: t.Sequence[str] | None = None,
    *,
    environ: t.Mapping[str, str] | None = None,
    stdout: t.TextIO | None = None,
    stderr: t.TextIO | None = None,
    stdin: t.TextIO | None = None,
    runner: t.Callable[..., int] | None = None,
) -> int:
    """Run one command line; returns the exit code (0, or 1 after an error on stderr)."""
    ctx = Context(
        argv=list(sys.argv if argv is None else argv),
        environ=os.environ if environ is None else environ,
        stdout=stdout or sys.stdout,
        stderr=stderr or sys.stderr,
        stdin=stdin or sys.stdin,
    )
    if runner is not None:
        ctx.runner = runner
    try:
        return _run(ctx, ctx.argv)
    except CLIError as exc:
        ctx.stdout.flush()
        ctx.err(exc.message)
        return exc.code
    except MachineError as exc:
        ctx.stdout.flush()
        if ctx.debug:
            import traceback

            ctx.err("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip())
            for key in ("cmd", "rc", "stdout", "stderr"):
                if exc.details.get(key) not in (None, ""):
                    ctx.err("%s: %s" % (key, exc.details[key]))
        ctx.err(flagged(exc.msg))
        return 1
    except KeyboardInterrupt:
        return 130
