# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this plugin_util is internal to dockyard.machine; its API may change without notice.
"""The original's commands that show machines: ls, active, env, config, inspect, ip, url, status, version."""

from __future__ import annotations

import json
import os
import re
import sys
import typing as t

from ansible_collections.dockyard.machine.plugins.module_utils._drivers import get_driver
from ansible_collections.dockyard.machine.plugins.module_utils._env import CLI_NAME, EnvRequest, machine_env
from ansible_collections.dockyard.machine.plugins.module_utils._errors import EngineError, MachineError
from ansible_collections.dockyard.machine.plugins.module_utils._listing import MachineFilter, list_machines, render_table
from ansible_collections.dockyard.machine.plugins.module_utils._shell import SHELLS
from ansible_collections.dockyard.machine.plugins.module_utils._store import dumps_config
from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_context import (
    Context,
    engine_stopped_here,
    is_running,
    load_machine,
    target_name,
    target_records,
)
from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_messages import (
    ERR_EXPECTED_ONE,
    ERR_HOST_NOT_RUNNING,
    ERR_TOO_MANY,
    CLIError,
    dial_error,
    docker_version_error,
    engine_stopped,
    flagged,
    go_quote,
)
from ansible_collections.dockyard.machine.plugins.plugin_utils._gotemplate import Record, Template, TemplateError, go_json, tabwrite

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._endpoint import Endpoint
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord

__all__ = ["LS_HEADERS", "cmd_active", "cmd_config", "cmd_env", "cmd_inspect", "cmd_ip", "cmd_ls", "cmd_status", "cmd_url", "cmd_version", "version_string"]


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


def _connection(ctx: Context, record: MachineRecord, prefix: str) -> Endpoint:
    """``check.DefaultConnChecker``: the host runs, then a TLS call with the client certificate; its failure in the
    original's words, with the underlying error as the original shows Go's (for example "connection refused")."""
    # Imported by the commands that talk to an engine; ip, inspect, ls -q and the others start without the TLS client.
    from ansible_collections.dockyard.machine.plugins.module_utils._endpoint import check_connection

    check = check_connection(ctx.store, record, ENV_CHECK_TIMEOUT, running_first=True)
    if not check.running:
        raise CLIError("%s: %s" % (prefix, ERR_HOST_NOT_RUNNING))
    endpoint = t.cast("Endpoint", check.endpoint)
    if check.error is not None:
        refused = isinstance(check.error.__cause__, ConnectionRefusedError) and get_driver(record.driver_name).needs_ssh
        if refused or engine_stopped_here(record):
            # The host runs (its driver said so), its engine does not (stopped by stop, or refusing connections).
            raise CLIError("%s: %s" % (prefix, engine_stopped(ctx.prog, record.name)))
        where = endpoint.url.split("://", 1)[-1]
        raise CLIError(
            "%s: Error checking and/or regenerating the certs: There was an error validating certificates for host %s: %s\n"
            "You can attempt to regenerate them using '%s regenerate-certs [name]'.\n"
            "Be advised that this will trigger a Docker daemon restart which might stop running containers.\n"
            % (prefix, go_quote(where), dial_error(check.error, where), ctx.prog)
        ) from check.error
    return endpoint


def _hint_program(argv0: str) -> list[str]:
    """argv[0] as the hint line shows it: the bare name when that is what PATH finds (the usual case), else as given.

    Run as ``python -m dockyard_machine_cli``, the hint names the command when it is on PATH, else that module run.
    """
    import shutil  # here, not with the module: most commands never print a hint

    base = os.path.basename(argv0)
    if base == "__main__.py":
        return [CLI_NAME] if shutil.which(CLI_NAME) else [sys.executable, "-m", "dockyard_machine_cli"]
    found = shutil.which(base)
    try:
        if found and (argv0 == base or os.path.samefile(found, argv0)):
            return [base]
    except OSError:
        pass
    return [argv0]


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


def _swarm_leader(column: str) -> str:
    """The name a SWARM column names: the master's (or manager's), without `` (master)`` or `` (manager)``."""
    for suffix in (" (master)", " (manager)"):
        if column.endswith(suffix):
            return column[: -len(suffix)]
    return column


def cmd_ls(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    filters = _parse_filters(opts["filter"])
    # swarm=NAME: the machines whose SWARM column names NAME as their master (or Swarm-mode manager), as the original's.
    swarm_names = [name.lower() for name in filters.pop("swarm", [])]
    try:
        machine_filter = MachineFilter(filters)
    except MachineError as exc:
        raise CLIError(flagged(exc.msg)) from None
    store = ctx.store
    if opts["quiet"] and "state" not in filters and not swarm_names:
        records, _errors = store.load_all()
        for record in records:
            if machine_filter.matches_record(record):
                ctx.out(record.name)
        return 0
    template, table = _parse_format(opts["format"])
    text = ""
    if opts["format"] and table and not opts["quiet"]:
        # The original writes the header before it asks any host (a header that fails asks none).
        try:
            text = template.render(LS_HEADERS)
        except TemplateError as exc:
            raise _template_failed(ctx, text, exc, table) from None
    rows = list_machines(store, timeout=float(opts["timeout"]), docker_host=ctx.environ.get("DOCKER_HOST"), machine_filter=machine_filter)
    if swarm_names:
        rows = [row for row in rows if _swarm_leader(row.swarm).lower() in swarm_names]
    for row in rows:
        if isinstance(row.failure, EngineError) and row.url:
            row.error = docker_version_error(row.failure, row.url)
    if opts["quiet"]:
        for row in rows:
            if row.driver != "not found":
                ctx.out(row.name)
        return 0
    if not opts["format"]:
        ctx.write(render_table(rows))
        return 0
    options: dict[str, dict[str, t.Any]] = {}
    if "Options" in template.source:
        options = {r.name: r.host_options for r in store.load_all()[0]}
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
        raise _template_failed(ctx, text, exc, table) from None
    ctx.write(tabwrite(text) if table else text)
    return 0


def _template_failed(ctx: Context, written: str, exc: TemplateError, table: bool) -> CLIError:
    """What the original shows when an ls template fails: the output so far (its tabwriter flushed), then Go's error."""
    text = written + exc.partial
    ctx.write(tabwrite(text) if table else text)
    return CLIError(str(exc).replace("type struct", "type commands.HostListItem"))


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
        raise CLIError("Error: --swarm is not offered: %s does not create or track Swarm masters. Run env without --swarm." % ctx.prog)
    hint = tuple(_hint_program(ctx.argv[0]) + ctx.argv[1:])
    if opts["unset"]:
        if args:
            raise CLIError("Error: Expected no machine name when the -u flag is present")
        shell = _shell(ctx, opts["shell"])
        request = EnvRequest(unset=True, shell=shell if shell in SHELLS else "bash", no_proxy=opts["no-proxy"], hint=hint)
    else:
        if len(args) > 1:
            raise CLIError(ERR_EXPECTED_ONE)
        record = load_machine(ctx, target_name(ctx, args))
        _connection(ctx, record, "Error checking TLS connection")
        shell = _shell(ctx, opts["shell"])
        request = EnvRequest(name=record.name, shell=shell if shell in SHELLS else "bash", no_proxy=opts["no-proxy"], verify_tls=False, hint=hint)
    ctx.write(machine_env(ctx.store, request, environ=ctx.environ, record=record if not opts["unset"] else None)["script"])
    return 0


def cmd_config(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    if opts["swarm"]:
        raise CLIError("Error: --swarm is not offered: %s does not create or track Swarm masters. Run config without --swarm." % ctx.prog)
    record = load_machine(ctx, target_name(ctx, args))
    endpoint = _connection(ctx, record, "Error running connection boilerplate")
    tls = endpoint.tls
    ctx.write("--tlsverify\n--tlscacert=%s\n--tlscert=%s\n--tlskey=%s\n-H=%s\n" % (go_quote(tls.ca), go_quote(tls.cert), go_quote(tls.key), endpoint.url))
    return 0


def cmd_inspect(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    if len(args) > 1:
        ctx.stdout.write(ctx.command_help())
        raise CLIError(ERR_EXPECTED_ONE)
    record = load_machine(ctx, target_name(ctx, args))
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
    for record in target_records(ctx, args):
        ip = get_driver(record.driver_name).ip(record)
        if not ip:
            raise CLIError("Error getting IP address: IP address is not set")
        ctx.out(ip)
    return 0


def cmd_url(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    if len(args) > 1:
        raise CLIError(ERR_EXPECTED_ONE)
    record = load_machine(ctx, target_name(ctx, args))
    if get_driver(record.driver_name).needs_ssh:
        if not is_running(record):
            raise CLIError(ERR_HOST_NOT_RUNNING)
        if engine_stopped_here(record):
            raise CLIError(engine_stopped(ctx.prog, record.name))
    ctx.out(get_driver(record.driver_name).url(record))
    return 0


def cmd_status(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    if len(args) > 1:
        raise CLIError(ERR_EXPECTED_ONE)
    record = load_machine(ctx, target_name(ctx, args))
    try:
        ctx.out(get_driver(record.driver_name).state(record, 10.0))
    except MachineError as exc:
        raise CLIError("error getting state for host %s: %s" % (record.name, flagged(exc.msg))) from None
    return 0


def version_string(prog: str) -> str:
    """``PROG version X, build Y``: the collection's version, read from its own metadata."""
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
    return "%s version %s, build dockyard.machine" % (prog, version)


def cmd_version(ctx: Context, opts: dict[str, t.Any], args: list[str]) -> int:
    if not args:
        ctx.out(version_string(ctx.prog))
        return 0
    if len(args) != 1:
        raise CLIError(ERR_EXPECTED_ONE)
    from ansible_collections.dockyard.machine.plugins.module_utils._endpoint import endpoint_for
    from ansible_collections.dockyard.machine.plugins.module_utils._engine import engine_version

    record = load_machine(ctx, args[0])
    if get_driver(record.driver_name).needs_ssh and not is_running(record):
        raise CLIError("Unable to query docker version: %s" % ERR_HOST_NOT_RUNNING)
    endpoint = endpoint_for(ctx.store, record)
    try:
        answer = engine_version(endpoint.url, endpoint.tls, ENV_CHECK_TIMEOUT)
    except EngineError as exc:
        raise CLIError(docker_version_error(exc, endpoint.url)) from None
    ctx.out(str(answer.get("Version", "")))
    return 0
