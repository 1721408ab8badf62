# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this plugin_util is internal to dockyard.machine; its API may change without notice.
"""``create``: the original's flags (the drivers' from their declarations), turned into the params docker_machine
would receive, then the one call the module makes."""

from __future__ import annotations

import os
import typing as t
from dataclasses import replace

from ansible_collections.dockyard.machine.plugins.module_utils._drivers import DRIVERS, cloud_options, get_driver
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.options import DriverOption, defaults
from ansible_collections.dockyard.machine.plugins.module_utils._errors import MachineError
from ansible_collections.dockyard.machine.plugins.module_utils._store import DEFAULT_INSTALL_URL, NAME_PATTERN
from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_context import Command, Context, machine_manager
from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_flags import Flag
from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_messages import (
    ERR_INVALID_NAME,
    SECRET_HELP,
    CLIError,
    flagged,
    go_quote,
    secret_on_command_line,
)
from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_swarm import join_swarm, swarm_request

__all__ = ["CREATE_FLAGS", "cmd_create", "driver_flags", "driver_lookup", "with_driver_flags"]


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
# The original's default driver, built into it: its `create --help` and its `create` without a name answer without -d.
ORIGINAL_DEFAULT_DRIVER = "virtualbox"


def _flag(option: DriverOption) -> Flag:
    """The command-line flag of a driver's option, from its declaration."""
    default = option.default if option.flag_kind in ("string", "int") and option.codec is None else None
    usage = SECRET_HELP % option.help if option.secret and option.env else option.help
    return Flag((option.flag,), option.flag_kind, usage, "" if default is None else default, option.env)


def _warn_secrets_on_the_command_line(ctx: Context, driver: str) -> None:
    """A secret given as a flag is in the process list for everyone to read: say so, naming its environment variable."""
    cls = DRIVERS[driver]
    words = ctx.argv[1 : ctx.argv.index("--")] if "--" in ctx.argv else ctx.argv[1:]
    for option in cls.TASK_OPTIONS + cls.OPTIONS:
        if option.secret and option.flag and option.env:
            names = ("-" + option.flag, "--" + option.flag)
            if any(w in names or w.startswith(tuple(n + "=" for n in names)) for w in words):
                ctx.err(secret_on_command_line(option.flag, option.env))


def driver_flags(driver: str) -> tuple[Flag, ...]:
    """create's flags for ``driver``: its task-level options' (credentials, region ...), then its own options'."""
    cls = DRIVERS[driver]
    return tuple(_flag(o) for o in cls.TASK_OPTIONS + cls.OPTIONS if o.flag)


def driver_lookup(args: t.Sequence[str], environ: t.Mapping[str, str]) -> str:
    """``flagHackLookup("--driver")``: the driver named anywhere on the command line, before parsing."""
    for index, word in enumerate(args):
        if word in ("-d", "--driver", "-driver") and index + 1 < len(args):
            return args[index + 1]
        for prefix in ("-d=", "--driver=", "-driver="):
            if word.startswith(prefix):
                return word[len(prefix) :]
    return environ.get("MACHINE_DRIVER") or "virtualbox"


def _not_offered(driver: str, prog: str) -> CLIError:
    supported = " or ".join("-d %s" % n for n in DRIVERS)
    return CLIError("Driver %s is not offered by %s (%s); use %s." % (go_quote(driver), prog, ", ".join(sorted(DRIVERS)), supported))


def with_driver_flags(ctx: Context, command: Command, args: t.Sequence[str]) -> Command:
    """create as the original runs it for the driver the command line names: the driver's flags added to create's and
    all sorted by name (its help, and its usage errors, list them so).

    The original's default driver adds none here (it is not offered): ``create --help`` and ``create`` without a name
    still print create's help as the original's do; creating a machine with it is refused (``cmd_create``). Any other
    driver that is not offered is refused at once, as the original refuses a driver it cannot find.
    """
    driver = driver_lookup(args, ctx.environ)
    if driver in DRIVERS:
        extra = driver_flags(driver)
    elif driver == ORIGINAL_DEFAULT_DRIVER:
        extra = ()
    else:
        raise _not_offered(driver, ctx.prog)
    return replace(command, flags=tuple(sorted(command.flags + extra, key=lambda f: f.help_line())))


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
        if option.choices and given[option.name] is not None and given[option.name] not in option.choices:
            raise CLIError(
                "Error setting machine configuration from flags provided: --%s is one of %s, not %s"
                % (option.flag, ", ".join(option.choices), go_quote(str(given[option.name])))
            )
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
    if driver in DRIVERS:
        _warn_secrets_on_the_command_line(ctx, driver)
    if len(args) > 1:
        raise CLIError("Invalid command line. Found extra arguments [%s]" % " ".join(args[1:]))
    if not args or not args[0]:
        ctx.stdout.write(ctx.command_help())
        raise CLIError("Error: No machine name specified")
    name = args[0]
    if not NAME_PATTERN.fullmatch(name):
        raise CLIError("Error creating machine: %s" % ERR_INVALID_NAME)
    if driver not in DRIVERS:
        raise _not_offered(driver, ctx.prog)
    swarm = swarm_request(opts, CREATE_FLAGS, ctx.prog)
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
    # The original makes and provisions the host of a driver that has one, then checks its engine; a machine of
    # another driver (none: an engine that may not be up yet) it only records, and so does this command.
    reach_engine = DRIVERS[driver].needs_ssh or DRIVERS[driver].creates_hosts
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
        manager = machine_manager(ctx, cloud)
        manager.present(spec, reach_engine=reach_engine)
        if swarm is not None:
            ctx.out("Configuring swarm...")
            ctx.out(join_swarm(manager, name, swarm))
    except MachineError as exc:
        message = flagged(exc.msg)
        if not os.path.isdir(os.path.join(store.machines_dir, name)):
            raise CLIError("Error creating machine: %s" % message) from None
        raise CLIError(
            "Error creating machine: %s\nThe machine is in the store with this error; fix the cause and run `%s rm -y %s` before creating it again."
            % (message, ctx.prog, name)
        ) from None
    if reach_engine:
        ctx.out("Checking connection to Docker...")
        ctx.out("Docker is up and running!")
    ctx.out("To see how to connect your Docker Client to the Docker Engine running on this virtual machine, run: %s env %s" % (ctx.prog, name))
    return 0
