# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this plugin_util is internal to dockyard.machine; its API may change without notice.
"""``dockyard-machine``: docker-machine 0.16's command line on the collection's own code.

Every command parses its arguments the way the original does (Go's flag package behind
codegangsta/cli: flags may follow the first argument, ``-x=value`` and ``-x value``, ``--``
ends them) and then makes one call into the same module_utils the modules use: the store, the
listing, the env renderer, the machine manager and its certificates. Nothing here decides how a
machine is listed, reached, created or removed; it only prints what those calls return in the
original's words. Messages the original prints are printed byte for byte where they name no
program; where they named ``docker-machine`` they name this command.

The console entry point lives in ``cli/`` (a small Python package); it imports ``main`` from here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import traceback
import typing as t
from dataclasses import dataclass, field, replace

from ansible_collections.dockyard.machine.plugins.module_utils._drivers import DRIVERS, cloud_options, get_driver
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.options import DriverOption, defaults, flag_names
from ansible_collections.dockyard.machine.plugins.module_utils._endpoint import endpoint_for
from ansible_collections.dockyard.machine.plugins.module_utils._engine import engine_version
from ansible_collections.dockyard.machine.plugins.module_utils._env import CLI_NAME, EnvRequest, machine_env
from ansible_collections.dockyard.machine.plugins.module_utils._errors import (
    EngineError,
    InvalidNameError,
    MachineError,
    MachineNotFoundError,
)
from ansible_collections.dockyard.machine.plugins.module_utils._listing import MachineFilter, list_machines, render_table
from ansible_collections.dockyard.machine.plugins.module_utils._shell import SHELLS
from ansible_collections.dockyard.machine.plugins.module_utils._store import (
    DEFAULT_INSTALL_URL,
    NAME_PATTERN,
    MachineStore,
    dumps_config,
    resolve_store_path,
)
from ansible_collections.dockyard.machine.plugins.plugin_utils._gotemplate import Record, Template, TemplateError, go_json, tabwrite

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord

__all__ = ["COMMANDS", "Context", "main", "parse_flags", "version_string"]

PROG = CLI_NAME
DEFAULT_MACHINE = "default"
LS_FORMAT = "table {{ .Name }}\t{{ .Active }}\t{{ .DriverName}}\t{{ .State }}\t{{ .URL }}\t{{ .Swarm }}\t{{ .DockerVersion }}\t{{ .Error}}"
LS_HEADERS = {
    "Name": "NAME",
    "Active": "ACTIVE",
    "ActiveHost": "ACTIVE_HOST",
    "ActiveSwarm": "ACTIVE_SWARM",
    "DriverName": "DRIVER",
    "State": "STATE",
    "URL": "URL",
    "SwarmOptions": "SWARM_OPTIONS",
    "Swarm": "SWARM",
    "EngineOptions": "ENGINE_OPTIONS",
    "Error": "ERRORS",
    "DockerVersion": "DOCKER",
    "ResponseTime": "RESPONSE",
}
FILTER_KEYS = ("swarm", "driver", "state", "name", "label")
ENV_CHECK_TIMEOUT = 20.0  # the original's TLS dial in `env` and `config`

# The original's messages (commands/commands.go, libmachine/mcnerror).
ERR_NO_DEFAULT = 'Error: No machine name(s) specified and no "default" machine exists'
ERR_NO_MACHINE_SPECIFIED = "Error: Expected to get one or more machine names as arguments"
ERR_EXPECTED_ONE = "Error: Expected one machine name as an argument"
ERR_TOO_MANY = "Error: Too many arguments given"
ERR_INVALID_NAME = "Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -"

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


def _driver_option_flags() -> dict[str, str]:
    """Each driver's options (``amazonec2.instance_type``) and task-level options (``region``) -> their flags."""
    flags: dict[str, str] = {}
    for name, cls in DRIVERS.items():
        flags.update(flag_names(cls.OPTIONS, name))
        flags.update(flag_names(cls.TASK_OPTIONS, ""))
    return flags


OPTION_FLAGS.update(_driver_option_flags())
_OPTION_WORDS = re.compile(r"\b[Oo]ptions? '?([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)?)'?")


class CLIError(Exception):
    """What the original prints with ``log.Error`` before it exits 1 (or ``code``)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class UsageError(CLIError):
    """A flag the command does not know, or a flag value that does not parse (Go's flag messages)."""

    def __init__(self, message: str, command: Command | None) -> None:
        super().__init__(message)
        self.command = command


def flagged(message: str) -> str:
    """A module_util message with each module option it names replaced by this command's flag."""

    def swap(match: re.Match) -> str:
        flag = OPTION_FLAGS.get(match.group(1))
        if flag is None:
            return match.group(0)
        return flag if flag.startswith(("the ", "(")) else "flag %s" % flag

    return _OPTION_WORDS.sub(swap, message)


def go_quote(text: str) -> str:
    """Go's ``%q`` for the strings we print (names, paths)."""
    return json.dumps(text, ensure_ascii=False)


# --- Flags: Go's flag package behind codegangsta/cli ----------------------------------------------


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
        if self.kind == "string" and self.default:
            shown += ' "%s"' % self.default
        elif self.kind == "int":
            shown += ' "%s"' % self.default
        elif self.kind == "slice":
            shown += " [--%s option --%s option]" % (self.key, self.key)
        env = " [$%s]" % self.env if self.env else ""
        return "%s\t%s%s" % (shown, self.usage, env)


HELP_FLAG = Flag(("help", "h"), "bool", "show help")


def _bool(text: str, name: str) -> bool:
    lowered = text.lower() if text in ("TRUE", "True", "FALSE", "False") else text
    if lowered in ("1", "t", "true", "T"):
        return True
    if lowered in ("0", "f", "false", "F"):
        return False
    raise UsageError('invalid boolean value "%s" for -%s: strconv.ParseBool: parsing "%s": invalid syntax' % (text, name, text), None)


def parse_flags(
    flags: t.Sequence[Flag], args: t.Sequence[str], environ: t.Mapping[str, str], command: Command | None = None
) -> tuple[dict[str, t.Any], list[str]]:
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


# --- Commands -------------------------------------------------------------------------------------


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
    runner: t.Callable[..., int] = field(default=subprocess.call)

    @property
    def store(self) -> MachineStore:
        return MachineStore(resolve_store_path(self.storage_path or None, self.environ))

    def out(self, text: str = "") -> None:
        self.stdout.write(text + "\n")

    def err(self, text: str) -> None:
        self.stderr.write(text + "\n")

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

    def help_text(self) -> str:
        flags = self.flags + (HELP_FLAG,)
        text = "Usage: %s %s%s [arg...]\n\n%s" % (PROG, self.name, " [OPTIONS]" if flags else "", self.usage)
        if self.description:
            text += "\n\nDescription:\n   %s" % self.description
        text += "\n\nOptions:\n   \n" + "\n".join("   " + f.help_line() for f in flags)
        return tabwrite(text + "\n")


def _load(ctx: Context, name: str) -> MachineRecord:
    """The record, or the original's message for a machine that does not exist (an invalid name cannot)."""
    try:
        return ctx.store.load(name)
    except (MachineNotFoundError, InvalidNameError):
        raise CLIError(
            'Docker machine %s does not exist. Use "%s ls" to list machines. Use "%s create" to add a new one.' % (go_quote(name), PROG, PROG)
        ) from None


def _target(ctx: Context, args: t.Sequence[str]) -> str:
    """``targetHost``: the first argument, else the machine ``default`` when it exists."""
    if args:
        return args[0]
    if os.path.isdir(os.path.join(ctx.store.machines_dir, DEFAULT_MACHINE)):
        return DEFAULT_MACHINE
    raise CLIError(ERR_NO_DEFAULT)


def _targets(ctx: Context, args: t.Sequence[str]) -> list[MachineRecord]:
    """``runAction``'s loading: every named machine (or ``default``); any load error stops all."""
    names = list(args) or [_target(ctx, args)]
    records, errors = [], []
    for name in names:
        try:
            records.append(_load(ctx, name))
        except CLIError as exc:
            errors.append(exc.message)
        except MachineError as exc:
            errors.append(flagged(exc.msg))
    if errors:
        raise CLIError("\n".join(errors))
    return records


def _is_running(record: MachineRecord, timeout: float = 10.0) -> bool:
    return get_driver(record.driver_name).state(record, timeout) == "Running"


def _check_connection(ctx: Context, record: MachineRecord, prefix: str) -> str:
    """``check.DefaultConnChecker``: the URL, then a TLS call with the client certificate; the URL."""
    driver = get_driver(record.driver_name)
    if driver.needs_ssh and not _is_running(record):
        raise CLIError("%s: Host is not running" % prefix)
    endpoint = endpoint_for(ctx.store, record)
    try:
        engine_version(endpoint.url, endpoint.tls, ENV_CHECK_TIMEOUT)
    except EngineError as exc:
        # The underlying error, as the original shows Go's (for example "connection refused").
        cause = exc.__cause__
        reason = exc.msg
        if cause is not None:
            reason = getattr(cause, "verify_message", None) or getattr(cause, "strerror", None) or str(cause) or exc.msg
        where = endpoint.url.split("://", 1)[-1]
        raise CLIError(
            "%s: Error checking and/or regenerating the certs: There was an error validating certificates for host %s: %s\n"
            "You can attempt to regenerate them using '%s regenerate-certs [name]'.\n"
            "Be advised that this will trigger a Docker daemon restart which might stop running containers.\n" % (prefix, go_quote(where), reason, PROG)
        ) from exc
    return endpoint.url


def _hint_program(argv0: str) -> list[str]:
    """argv[0] as the hint line shows it: the bare name when that is what PATH finds (the usual case), else as given.

    Run as ``python -m dockyard_machine_cli``, the hint names the command when it is on PATH, else that module run.
    """
    base = os.path.basename(argv0)
    if base == "__main__.py":
        return [PROG] if shutil.which(PROG) else [sys.executable, "-m", "dockyard_machine_cli"]
    found = shutil.which(base)
    try:
        if found and (argv0 == base or os.path.samefile(found, argv0)):
            return [base]
    except OSError:
        pass
    return [argv0]


# ls -------------------------------------------------------------------------------------------------


def _parse_filters(raw: t.Sequence[str]) -> dict[str, list[str]]:
    filters: dict[str, list[str]] = {}
    for item in raw:
        if "=" not in item:
            raise CLIError("Unsupported filter syntax")
        key, value = item.split("=", 1)
        key = key.lower()
        if key not in FILTER_KEYS:
            raise CLIError("Unsupported filter key '%s'" % key)
        filters.setdefault(key, []).append(value)
    return filters


def _parse_format(text: str | None, funcs: t.Iterable[str] = ()) -> tuple[Template, bool]:
    chosen = text or LS_FORMAT
    table = chosen.startswith("table")
    if table:
        chosen = chosen[len("table") :]
    chosen = chosen.strip(" ").replace("\\t", "\t").replace("\\n", "\n")
    try:
        return Template(chosen + "\n", funcs), table
    except TemplateError as exc:
        raise CLIError(str(exc)) from None


def _duration(ms: int) -> str:
    """Go's ``time.Duration`` text for a whole number of milliseconds."""
    if ms == 0:
        return "0s"
    if ms < 1000:
        return "%dms" % ms
    minutes, rest = divmod(ms, 60000)
    seconds = ("%.3f" % (rest / 1000.0)).rstrip("0").rstrip(".") + "s"
    return ("%dm" % minutes if minutes else "") + seconds


def cmd_ls(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    filters = _parse_filters(opts["filter"])
    if "swarm" in filters:
        raise CLIError("Filter key 'swarm' is not offered: %s does not create or track Swarm clusters. Remove --filter swarm=..." % PROG)
    try:
        machine_filter = MachineFilter(filters)
    except MachineError as exc:
        raise CLIError(flagged(exc.msg)) from None
    store = ctx.store
    if opts["quiet"] and "state" not in filters:
        records, _errors = store.load_all()
        for record in records:
            if machine_filter.matches_record(record):
                ctx.out(record.name)
        return 0
    template, table = _parse_format(opts["format"])
    rows = list_machines(store, timeout=float(opts["timeout"]), docker_host=ctx.environ.get("DOCKER_HOST"), machine_filter=machine_filter)
    if opts["quiet"]:
        for row in rows:
            if row.driver != "not found":
                ctx.out(row.name)
        return 0
    if not opts["format"]:
        ctx.stdout.write(render_table(rows))
        return 0
    options: dict[str, dict[str, t.Any]] = {}
    if "Options" in template.source:
        options = {r.name: r.host_options for r in store.load_all()[0]}
    text = template.render(LS_HEADERS) if table else ""
    try:
        for row in rows:
            host = options.get(row.name, {})
            text += template.render(
                Record(
                    Name=row.name,
                    Active=row.active,
                    ActiveHost=row.active_host,
                    ActiveSwarm=False,
                    DriverName=row.driver,
                    State=row.state,
                    URL=row.url,
                    SwarmOptions=host.get("SwarmOptions"),
                    Swarm=row.swarm,
                    EngineOptions=host.get("EngineOptions"),
                    Error=row.error,
                    DockerVersion=row.docker_version,
                    ResponseTime=_duration(row.response_time_ms),
                )
            )
    except TemplateError as exc:
        raise CLIError(str(exc).replace("type struct", "type commands.HostListItem")) from None
    ctx.stdout.write(tabwrite(text) if table else text)
    return 0


def cmd_active(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    if args:
        raise CLIError(ERR_TOO_MANY)
    rows = list_machines(ctx.store, timeout=float(opts["timeout"]), docker_host=ctx.environ.get("DOCKER_HOST"))
    for row in rows:
        if row.active_host:
            ctx.out(row.name)
            return 0
    if any(row.state == "Timeout" for row in rows):
        raise CLIError("Error getting active host: timeout")
    raise CLIError("No active host found")


# env / config ---------------------------------------------------------------------------------------


def _shell(ctx: Context, given: str | None) -> str:
    """``--shell``, else the basename of ``$SHELL``; the original's message when neither is there."""
    if given:
        return given
    found = ctx.environ.get("SHELL", "")
    if not found:
        ctx.stdout.write("The default lines below are for a sh/bash shell, you can specify the shell you're using, with the --shell flag.\n\n")
        raise CLIError("Error: Unknown shell")
    return os.path.basename(found)


def cmd_env(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    if opts["swarm"]:
        raise CLIError("Error: --swarm is not offered: %s does not create or track Swarm masters. Run env without --swarm." % PROG)
    hint = tuple(_hint_program(ctx.argv[0]) + ctx.argv[1:])
    if opts["unset"]:
        if args:
            raise CLIError("Error: Expected no machine name when the -u flag is present")
        shell = _shell(ctx, opts["shell"])
        request = EnvRequest(unset=True, shell=shell if shell in SHELLS else "bash", no_proxy=opts["no-proxy"], hint=hint)
    else:
        if len(args) > 1:
            raise CLIError(ERR_EXPECTED_ONE)
        record = _load(ctx, _target(ctx, args))
        _check_connection(ctx, record, "Error checking TLS connection")
        shell = _shell(ctx, opts["shell"])
        request = EnvRequest(name=record.name, shell=shell if shell in SHELLS else "bash", no_proxy=opts["no-proxy"], verify_tls=False, hint=hint)
    ctx.stdout.write(machine_env(ctx.store, request, environ=ctx.environ)["script"])
    return 0


def cmd_config(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    if opts["swarm"]:
        raise CLIError("Error: --swarm is not offered: %s does not create or track Swarm masters. Run config without --swarm." % PROG)
    record = _load(ctx, _target(ctx, args))
    url = _check_connection(ctx, record, "Error running connection boilerplate")
    tls = endpoint_for(ctx.store, record).tls
    ctx.stdout.write("--tlsverify\n--tlscacert=%s\n--tlscert=%s\n--tlskey=%s\n-H=%s\n" % (go_quote(tls.ca), go_quote(tls.cert), go_quote(tls.key), url))
    return 0


# inspect / ip / url / status / version --------------------------------------------------------------


def cmd_inspect(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    if len(args) > 1:
        ctx.stdout.write(COMMANDS["inspect"].help_text())
        raise CLIError(ERR_EXPECTED_ONE)
    record = _load(ctx, _target(ctx, args))
    doc = record.redacted()
    if not opts["format"]:
        ctx.out(dumps_config(doc).decode("utf-8"))
        return 0
    try:
        template = Template(opts["format"], funcs=("json", "prettyjson"))
    except TemplateError as exc:
        raise CLIError("template parsing error: %s" % exc) from None
    try:
        text = template.render(json.loads(go_json(doc)))
    except TemplateError as exc:
        raise CLIError(str(exc)) from None
    ctx.out(text)
    return 0


def cmd_ip(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    for record in _targets(ctx, args):
        ip = get_driver(record.driver_name).ip(record)
        if not ip:
            raise CLIError("Error getting IP address: IP address is not set")
        ctx.out(ip)
    return 0


def cmd_url(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    if len(args) > 1:
        raise CLIError(ERR_EXPECTED_ONE)
    record = _load(ctx, _target(ctx, args))
    if get_driver(record.driver_name).needs_ssh and not _is_running(record):
        raise CLIError("Host is not running")
    ctx.out(get_driver(record.driver_name).url(record))
    return 0


def cmd_status(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    if len(args) > 1:
        raise CLIError(ERR_EXPECTED_ONE)
    record = _load(ctx, _target(ctx, args))
    try:
        ctx.out(get_driver(record.driver_name).state(record, 10.0))
    except MachineError as exc:
        raise CLIError("error getting state for host %s: %s" % (record.name, flagged(exc.msg))) from None
    return 0


def version_string() -> str:
    """``dockyard-machine version X, build Y``: the collection's version, read from its own metadata."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    version = "unknown"
    try:
        with open(os.path.join(root, "MANIFEST.json"), encoding="utf-8") as handle:
            version = json.load(handle)["collection_info"]["version"]
    except (OSError, ValueError, KeyError):
        try:
            with open(os.path.join(root, "galaxy.yml"), encoding="utf-8") as handle:
                found = re.search(r"^version:\s*['\"]?([^'\"\s]+)", handle.read(), re.M)
            version = found.group(1) if found else version
        except OSError:
            pass
    return "%s version %s, build dockyard.machine" % (PROG, version)


def cmd_version(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    if not args:
        ctx.out(version_string())
        return 0
    if len(args) != 1:
        raise CLIError(ERR_EXPECTED_ONE)
    record = _load(ctx, args[0])
    endpoint = endpoint_for(ctx.store, record)
    ctx.out(str(engine_version(endpoint.url, endpoint.tls, ENV_CHECK_TIMEOUT).get("Version", "")))
    return 0


# rm / power / certificates ---------------------------------------------------------------------------


def _manager(ctx: Context, cloud_options: t.Mapping[str, t.Any] | None = None) -> t.Any:
    from ansible_collections.dockyard.machine.plugins.module_utils._machine import MachineManager

    return MachineManager(ctx.store, cloud_options=cloud_options)


def cmd_rm(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    if not args:
        ctx.stdout.write(COMMANDS["rm"].help_text())
        raise CLIError(ERR_NO_MACHINE_SPECIFIED)
    force = opts["force"]
    ctx.out("About to remove %s" % ", ".join(args))
    ctx.out("WARNING: This action will delete both local reference and remote instance.")
    if not (force or opts["y"] or ctx.confirm("Are you sure?")):
        return 0
    manager = _manager(ctx)
    errors: list[str] = []

    def collect(message: str) -> None:
        if force:
            ctx.err(message)
        errors.append(message)

    for name in args:
        failed = False
        try:
            _load(ctx, name)
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


def _power(action: str) -> t.Callable[[Context, dict[str, t.Any], list[str]], int]:
    state, doing, done, end_state, hint = _POWER[action]

    def run(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
        records = _targets(ctx, args)
        manager = _manager(ctx)
        errors = []
        for record in records:
            ctx.out("%s %s..." % (doing, go_quote(record.name)))
            try:
                outcome = manager.power(record.name, state)
            except MachineError as exc:
                errors.append(flagged(exc.msg))
                continue
            if end_state and not any(step.endswith((" engine", " instance")) for step in outcome.steps):
                errors.append("Machine %s is already %s." % (go_quote(record.name), end_state))
                continue
            if action != "restart":
                ctx.out("Machine %s was %s." % (go_quote(record.name), done))
        if errors:
            raise CLIError("\n".join(errors))
        if hint:
            ctx.out("%s machines may have new IP addresses. You may need to re-run the `%s env` command." % (hint, PROG))
        return 0

    return run


def cmd_kill(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    """A forced stop where the driver powers the host (EC2); the original's messages elsewhere."""
    errors = []
    manager = _manager(ctx)
    for record in _targets(ctx, args):
        ctx.out("Killing %s..." % go_quote(record.name))
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
    records = _targets(ctx, args)
    manager = _manager(ctx)
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
    records = _targets(ctx, args)
    manager = _manager(ctx)
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


# beyond the original: export / import / certs check ---------------------------------------------------

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
        _load(ctx, name)
    report = export_to_file(ctx.store, opts["output"], args or None, include_ca_key=opts["include-ca-key"], passphrase=_passphrase(ctx, opts))
    for warning in report.warnings:
        ctx.err(flagged(warning))
    ctx.out("%s %s to %s" % ("Exported" if report.changed else "Unchanged:", ", ".join(report.machines) or "no machine", report.path))
    return 0


def cmd_import(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    from ansible_collections.dockyard.machine.plugins.module_utils._bundle import import_from_file

    if not args:
        raise CLIError("Error: name the bundle file: %s import FILE [NAME...]" % PROG)
    report = import_from_file(ctx.store, args[0], args[1:] or None, passphrase=_passphrase(ctx, opts))
    for warning in report.warnings:
        ctx.err(flagged(warning))
    for name in report.imported:
        ctx.out("Imported %s" % name)
    for name in report.unchanged:
        ctx.out("%s is already in the store as the bundle has it" % name)
    return 0


def cmd_certs(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    if not args or args[0] != "check":
        raise CLIError("Error: the certs command takes one action: %s certs check [NAME...]" % PROG)
    for name in args[1:]:
        _load(ctx, name)
    report = _manager(ctx).certificate_report(args[1:] or None, renew_days=int(opts["renew-days"]))
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


# create ----------------------------------------------------------------------------------------------

CREATE_FLAGS = (
    Flag(("driver", "d"), "string", "Driver to create machine with.", "virtualbox", "MACHINE_DRIVER"),
    Flag(("engine-install-url",), "string", "Custom URL to use for engine installation", DEFAULT_INSTALL_URL, "MACHINE_DOCKER_INSTALL_URL"),
    Flag(("engine-opt",), "slice", "Specify arbitrary flags to include with the created engine in the form flag=value"),
    Flag(("engine-insecure-registry",), "slice", "Specify insecure registries to allow with the created engine"),
    Flag(("engine-registry-mirror",), "slice", "Specify registry mirrors to use", env="ENGINE_REGISTRY_MIRROR"),
    Flag(("engine-label",), "slice", "Specify labels for the created engine"),
    Flag(("engine-storage-driver",), "string", "Specify a storage driver to use with the engine"),
    Flag(("engine-env",), "slice", "Specify environment variables to set in the engine"),
    Flag(("swarm",), "bool", "Configure Machine to join a Swarm cluster"),
    Flag(("swarm-image",), "string", "Specify Docker image to use for Swarm", "swarm:latest", "MACHINE_SWARM_IMAGE"),
    Flag(("swarm-master",), "bool", "Configure Machine to be a Swarm master"),
    Flag(("swarm-discovery",), "string", "Discovery service to use with Swarm", ""),
    Flag(("swarm-strategy",), "string", "Define a default scheduling strategy for Swarm", "spread"),
    Flag(("swarm-opt",), "slice", "Define arbitrary flags for Swarm master"),
    Flag(("swarm-join-opt",), "slice", "Define arbitrary flags for Swarm join"),
    Flag(("swarm-host",), "string", "ip/socket to listen on for Swarm master", "tcp://0.0.0.0:3376"),
    Flag(("swarm-addr",), "string", "addr to advertise for Swarm (default: detect and use the machine IP)", ""),
    Flag(("swarm-experimental",), "bool", "Enable Swarm experimental features"),
    Flag(("tls-san",), "slice", "Support extra SANs for TLS certs"),
)
SWARM_FLAGS = ("swarm", "swarm-master", "swarm-discovery", "swarm-opt", "swarm-join-opt", "swarm-addr", "swarm-experimental")


def _flag(option: DriverOption) -> Flag:
    """The command-line flag of a driver's option, from its declaration."""
    default = option.default if option.flag_kind in ("string", "int") and option.codec is None else None
    return Flag((option.flag,), option.flag_kind, option.help, "" if default is None else default, option.env)


def driver_flags(driver: str) -> tuple[Flag, ...]:
    """create's flags for ``driver``: its task-level options' (credentials, region ...), then its own options'."""
    cls = DRIVERS[driver]
    return tuple(_flag(o) for o in cls.TASK_OPTIONS + cls.OPTIONS if o.flag)


def _driver_lookup(args: t.Sequence[str], environ: t.Mapping[str, str]) -> str:
    """``flagHackLookup("--driver")``: the driver named anywhere on the command line, before parsing."""
    for index, word in enumerate(args):
        if word in ("-d", "--driver", "-driver") and index + 1 < len(args):
            return args[index + 1]
        for prefix in ("-d=", "--driver=", "-driver="):
            if word.startswith(prefix):
                return word[len(prefix) :]
    return environ.get("MACHINE_DRIVER") or "virtualbox"


def _create_params(name: str, driver: str, opts: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The params docker_machine would receive for this create: the driver's options under its name (the module's
    defaults for those not given), its task-level options at the top, the engine's from the --engine-* flags."""
    from ansible_collections.dockyard.machine.plugins.module_utils._spec import install_source_for

    cls = DRIVERS[driver]
    given: dict[str, t.Any] = {}
    for option in cls.TASK_OPTIONS + cls.OPTIONS:
        if not option.flag:
            continue
        try:
            given[option.name] = option.from_flag(opts.get(option.flag))
        except ValueError as exc:
            raise CLIError("Error setting machine configuration from flags provided: --%s %s" % (option.flag, exc)) from None
    for option in cls.OPTIONS:
        if option.required and given.get(option.name) is None:
            raise CLIError("Error setting machine configuration from flags provided: %s" % cls.missing_option_message(option))
    options = defaults(cls.OPTIONS)
    options.update({o.name: given[o.name] for o in cls.OPTIONS if given.get(o.name) is not None})
    install_url = opts["engine-install-url"] or DEFAULT_INSTALL_URL
    engine_opts: dict[str, list[str]] = {}
    for flag in opts["engine-opt"]:
        key, _sep, value = flag.partition("=")
        engine_opts.setdefault(key, []).append(value)
    params: dict[str, t.Any] = {o.name: given[o.name] for o in cls.TASK_OPTIONS if given.get(o.name) is not None}
    params.update(
        name=name,
        driver=driver,
        engine=dict(
            source=install_source_for(install_url),
            install_url=install_url,
            labels=opts["engine-label"],
            insecure_registries=opts["engine-insecure-registry"],
            registry_mirrors=opts["engine-registry-mirror"],
            storage_driver=opts["engine-storage-driver"] or "",
            env=opts["engine-env"],
            options=engine_opts,
        ),
        tls_san=opts["tls-san"],
    )
    params[driver] = options
    return params


def cmd_create(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    from ansible_collections.dockyard.machine.plugins.module_utils._machine import ensure_certificates
    from ansible_collections.dockyard.machine.plugins.module_utils._spec import MachineSpec

    driver = opts["driver"]
    if len(args) > 1:
        raise CLIError("Invalid command line. Found extra arguments [%s]" % " ".join(args[1:]))
    if not args or not args[0]:
        ctx.stdout.write(COMMANDS["create"].help_text())
        raise CLIError("Error: No machine name specified")
    name = args[0]
    if not NAME_PATTERN.fullmatch(name):
        raise CLIError("Error creating machine: %s" % ERR_INVALID_NAME)
    used_swarm = [f for f in SWARM_FLAGS if opts.get(f)]
    if used_swarm:
        raise CLIError("Error: --%s is not offered: %s does not set up Swarm (legacy standalone Swarm). Remove the --swarm* flags." % (used_swarm[0], PROG))
    params = _create_params(name, driver, opts)
    store = ctx.store
    if os.path.isdir(os.path.join(store.machines_dir, name)):
        raise CLIError("Docker machine %s already exists" % go_quote(name))
    spec = MachineSpec.from_params(params)
    cloud = cloud_options(params)
    # The original checks some drivers' options with the flags (none's --url), others in their pre-create check
    # (after the CA exists; exit 3): the driver says which, and the checks are its own.
    if DRIVERS[driver].validates_with_flags:
        try:
            get_driver(driver, cloud).validate(spec.driver_options)
        except MachineError as exc:
            raise CLIError("Error setting machine configuration from flags provided: %s" % flagged(exc.msg)) from None
    try:
        authority = ensure_certificates(store)
        if "ca" in authority.created:
            ctx.out("Creating CA: %s" % store.cert_path("ca.pem"))
        if "client" in authority.created:
            ctx.out("Creating client certificate: %s" % store.cert_path("cert.pem"))
        ctx.out("Running pre-create checks...")
        try:
            get_driver(driver, cloud).validate(spec.driver_options)
        except MachineError as exc:
            raise CLIError("Error with pre-create check: %s" % go_quote(flagged(exc.msg)), code=3) from None
        ctx.out("Creating machine...")
        _manager(ctx, cloud).present(spec)
    except MachineError as exc:
        message = flagged(exc.msg)
        if not os.path.isdir(os.path.join(store.machines_dir, name)):
            raise CLIError("Error creating machine: %s" % message) from None
        raise CLIError(
            "Error creating machine: %s\nThe machine is in the store with this error; fix the cause and run `%s rm -y %s` before creating it again."
            % (message, PROG, name)
        ) from None
    ctx.out("Checking connection to Docker...")
    ctx.out("Docker is up and running!")
    ctx.out("To see how to connect your Docker Client to the Docker Engine running on this virtual machine, run: %s env %s" % (PROG, name))
    return 0


# ssh / scp -------------------------------------------------------------------------------------------


def cmd_ssh(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    if args and args[0] in ("-help", "--help", "-h"):
        ctx.stdout.write(COMMANDS["ssh"].help_text())
        return 0
    record = _load(ctx, _target(ctx, args))
    if not get_driver(record.driver_name).needs_ssh:
        raise CLIError("Error: Cannot run SSH command: machine %s (driver %s) has no SSH access" % (go_quote(record.name), record.driver_name))
    if not _is_running(record):
        raise CLIError("Error: Cannot run SSH command: Host %s is not running" % go_quote(record.name))
    with _manager(ctx).user_session(record.name) as session:
        return ctx.runner(session.user_argv(args[1:]))


def _scp_side(ctx: Context, spec: str) -> tuple[str, str, str]:
    """``[[user@]machine:]path`` -> (machine or "", user, path); ``localhost:`` is a local path."""
    if ":" not in spec:
        return "", "", spec
    host, path = spec.split(":", 1)
    user = ""
    if "@" in host:
        user, host = host.split("@", 1)
    if host == "localhost":
        return "", "", path
    return host, user, path


def cmd_scp(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    if len(args) != 2:
        ctx.stdout.write(COMMANDS["scp"].help_text())
        raise CLIError("Improper number of arguments")
    (src_host, src_user, src_path), (dst_host, dst_user, dst_path) = (_scp_side(ctx, a) for a in args)
    tool = "rsync" if opts["delta"] else "scp"
    if not shutil.which(tool):
        raise CLIError(
            "You must have a copy of the rsync binary locally to use the --delta option"
            if opts["delta"]
            else "You must have a copy of the scp binary locally to use the scp feature"
        )
    if src_host and dst_host:
        raise CLIError("Copying from one machine to another (%s to %s) is not offered: copy to a local folder first, then on." % (src_host, dst_host))
    machine = src_host or dst_host
    if not machine:
        return ctx.runner([tool] + (["-r"] if opts["recursive"] else []) + ["--", src_path, dst_path])
    try:
        record = _load(ctx, machine)
    except CLIError as exc:
        raise CLIError("Error loading host: %s" % exc.message) from None
    with _manager(ctx).user_session(record.name) as session:
        source = session.remote_path(src_path, src_user) if src_host else src_path
        destination = session.remote_path(dst_path, dst_user) if dst_host else dst_path
        return ctx.runner(session.copy_argv(source, destination, recursive=opts["recursive"], quiet=opts["quiet"], delta=opts["delta"]))


# completion --------------------------------------------------------------------------------------

BASH_COMPLETION = r"""# dockyard-machine completion for bash: eval "$(dockyard-machine completion bash)" (for example in ~/.bashrc)
_dockyard_machine() {
    local IFS=$'\n'
    COMPREPLY=($("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:$COMP_CWORD}" 2>/dev/null))
    if [ ${#COMPREPLY[@]} -eq 0 ]; then
        COMPREPLY=($(compgen -f -- "${COMP_WORDS[COMP_CWORD]}"))
    fi
}
complete -F _dockyard_machine dockyard-machine
"""
ZSH_PREAMBLE = """# dockyard-machine completion for zsh: eval "$(dockyard-machine completion zsh)" (for example in ~/.zshrc)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
"""


def cmd_completion(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    if args != ["bash"] and args != ["zsh"]:
        raise CLIError("Error: name the shell: `%s completion bash` or `%s completion zsh`" % (PROG, PROG))
    ctx.stdout.write((ZSH_PREAMBLE if args[0] == "zsh" else "") + BASH_COMPLETION)
    return 0


def _flag_words(flags: t.Iterable[Flag]) -> list[str]:
    return [("-" if len(n) == 1 else "--") + n for f in flags for n in f.names]


def complete(words: t.Sequence[str], environ: t.Mapping[str, str]) -> list[str]:
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
        pool = _flag_words(GLOBAL_FLAGS) if current.startswith("-") else list(COMMANDS)
        if before and before[-1].lstrip("-") in ("s", "storage-path"):
            pool = []
        return [w for w in pool if w.startswith(current)]
    command = COMMANDS.get(before[index])
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
    if command.name == "scp":
        return [n + ":" for n in names if (n + ":").startswith(current)]
    return [n for n in names if n.startswith(current)]


def cmd_complete(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    for word in complete(args, ctx.environ):
        ctx.out(word)
    return 0


# --- The table of commands ------------------------------------------------------------------------

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
            "Run '%s create --driver name --help' to include the create flags for that driver in the help text." % PROG,
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
        Command("restart", "Restart a machine", _power("restart"), NAMES_ARG),
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
        Command("start", "Start a machine", _power("start"), NAMES_ARG),
        Command("status", "Get the status of a machine", cmd_status, NAME_ARG),
        Command("stop", "Stop a machine", _power("stop"), NAMES_ARG),
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


def app_help() -> str:
    text = "Usage: %s [OPTIONS] COMMAND [arg...]\n\nCreate and manage machines running Docker.\n\nVersion: %s\n\nOptions:\n" % (
        PROG,
        version_string().split(" version ", 1)[1],
    )
    text += "".join("  %s\n" % f.help_line() for f in GLOBAL_FLAGS)
    text += "  \nCommands:\n" + "".join("  %s\t%s\n" % (c.name, c.usage) for c in COMMANDS.values())
    text += "  \nRun '%s COMMAND --help' for more information on a command.\n" % PROG
    return tabwrite(text)


def _run(ctx: Context, argv: list[str]) -> int:
    try:
        # Global flags come before the command; Go's flag parsing stops at the command's name.
        values, rest = parse_flags(GLOBAL_FLAGS, _global_part(argv[1:]), ctx.environ)
    except UsageError as exc:
        ctx.stdout.write("Incorrect Usage.\n\n" + app_help())
        raise CLIError(exc.message) from None
    tail = argv[1 + len(_global_part(argv[1:])) :]
    ctx.storage_path = values["storage-path"] or ""
    ctx.debug = values["debug"] or _env_bool(ctx.environ.get("MACHINE_DEBUG", ""))
    for name in ("tls-ca-cert", "tls-ca-key", "tls-client-cert", "tls-client-key"):
        if values[name]:
            raise CLIError("--%s is not offered: %s keeps the CA and client certificate in the store's certs folder." % (name, PROG))
    if values["version"]:
        ctx.out(version_string())
        return 0
    words = rest + tail
    if not words or values["help"]:
        ctx.stdout.write(app_help())
        return 0
    if words[0] == "help":
        if len(words) > 1 and words[1] in COMMANDS:
            ctx.stdout.write(COMMANDS[words[1]].help_text())
        else:
            ctx.stdout.write(app_help())
        return 0
    command = COMPLETE if words[0] == COMPLETE.name else COMMANDS.get(words[0])
    if command is None:
        raise CLIError("%s: '%s' is not a %s command. See '%s --help'." % (PROG, words[0], PROG, PROG))
    args = words[1:]
    if command.skip_flag_parsing:
        return command.handler(ctx, {}, args) or 0
    flags = command.flags
    if command.name == "create":
        driver = _driver_lookup(args, ctx.environ)
        if driver not in DRIVERS:
            supported = " or ".join("-d %s" % n for n in DRIVERS)
            raise CLIError("Driver %s is not offered by %s (%s); use %s." % (go_quote(driver), PROG, ", ".join(sorted(DRIVERS)), supported))
        flags = flags + driver_flags(driver)
    try:
        opts, args = parse_flags(flags + (HELP_FLAG,), args, ctx.environ, command)
    except UsageError as exc:
        ctx.stdout.write("Incorrect Usage.\n\n" + command.help_text())
        raise CLIError(exc.message) from None
    if opts.pop("help"):
        # create's help lists the flags of the driver named with -d, as the original's does.
        ctx.stdout.write(replace(command, flags=flags).help_text())
        return 0
    return command.handler(ctx, opts, args) or 0


def _global_part(words: t.Sequence[str]) -> list[str]:
    """The words before the command name: flags, and the values of global flags that take one."""
    takes_value = {n for f in GLOBAL_FLAGS if f.kind != "bool" for n in f.names}
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
            ctx.err("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip())
            for key in ("cmd", "rc", "stdout", "stderr"):
                if exc.details.get(key) not in (None, ""):
                    ctx.err("%s: %s" % (key, exc.details[key]))
        ctx.err(flagged(exc.msg))
        return 1
    except KeyboardInterrupt:
        return 130
