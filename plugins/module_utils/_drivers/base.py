# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""What every driver offers.  The orchestrator asks drivers about capabilities, never about names."""

from __future__ import annotations

import os
import typing as t
from dataclasses import dataclass

from ansible_collections.dockyard.machine.plugins.module_utils._drivers.options import DriverOption, argument_spec
from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._sidecar import SidecarKey
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord

__all__ = ["Driver", "HostContext", "STATES", "base_fields", "machine_file", "tcp_reachable"]

# libmachine/state/state.go
STATES = ("", "Running", "Paused", "Saved", "Stopped", "Stopping", "Starting", "Error", "Timeout")


def tcp_reachable(host: str, port: int, timeout: float) -> bool:
    """True when a TCP connection to host:port opens within ``timeout`` seconds."""
    import socket  # here, not with the module: commands that read records only start without it

    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except (OSError, ValueError):  # ValueError: an address no resolver takes (a record's control characters: UnicodeError)
        return False


def machine_file(path: t.Any, machine_dir: str) -> str:
    """``path`` when it names a file inside ``machine_dir`` (by real path, so no link leads out), else empty.

    A path a record holds is data about the machine's folder, never a pointer to read elsewhere: records and bundles are
    untrusted, and a file of the controller read for a machine may be shipped out (copied into the folder an export
    carries, sent to a cloud as user data). Files outside the store are read only when the task or command passes them.
    """
    if not isinstance(path, str) or not path or not os.path.isfile(path):
        return ""
    folder = os.path.realpath(machine_dir)
    return path if os.path.realpath(path).startswith(folder + os.sep) else ""


@dataclass(frozen=True)
class HostContext:
    """What a driver that creates hosts may do while it works (it never sees the store itself)."""

    machine_dir: str
    timeout: float
    #: Write the record now: called after each cloud resource is known, before the next one is made.
    save: t.Callable[[], None]
    #: Write a file in the machine folder (path, bytes, mode), atomically and inside the store.
    write_file: t.Callable[[str, bytes, int], bool]


class Driver:
    """A place where machines live.  Subclasses set the flags and override what they support.

    Drivers never see the store or certificates: they get a record's data and answer questions.
    """

    name: t.ClassVar[str] = ""
    needs_ssh: t.ClassVar[bool] = True
    supports_power: t.ClassVar[bool] = False
    has_cloud_resources: t.ClassVar[bool] = False
    #: The driver makes the host itself (a cloud instance) in ``ensure_host``, before it is provisioned over SSH.
    creates_hosts: t.ClassVar[bool] = False
    #: What users call the host in step words ("start instance"), and the step that makes one ("launch instance").
    host_noun: t.ClassVar[str] = "host"
    create_step: t.ClassVar[str] = "create host"
    default_engine_port: t.ClassVar[int] = 2376
    #: Fields of the record's Driver section that the driver learns while it works (IDs, addresses): converging an
    #: existing record keeps them instead of taking them from the task's options.
    cloud_fields: t.ClassVar[tuple[str, ...]] = ()
    #: The facts the driver keeps in the record's sidecar (what it made in the cloud, ...), besides the store's
    #: (_store.SIDECAR_KEYS): a bundle carries these to another store, so that its ``absent`` removes them there too.
    sidecar_keys: t.ClassVar[tuple[SidecarKey, ...]] = ()

    def __init__(self, cloud_options: t.Mapping[str, t.Any] | None = None) -> None:
        """``cloud_options``: the task's options for reaching the driver's cloud (``task_option_spec``), if any."""
        self.cloud_options = dict(cloud_options or {})

    #: Options the driver takes at the task's top level (its cloud's standard connection options: region, credentials),
    #: with the original's flags. No two drivers declare the same name: a task option has one owner and one spec.
    TASK_OPTIONS: t.ClassVar[tuple[DriverOption, ...]] = ()
    #: ``module_defaults`` groups whose entries fill the driver's task-level options (another collection's group that
    #: ansible-core resolves without docker_machine); applied only to tasks of this driver (or of a machine's record).
    DEFAULTS_GROUPS: t.ClassVar[tuple[str, ...]] = ()

    @classmethod
    def task_option_spec(cls) -> dict[str, t.Any]:
        """The argument spec of the driver's task-level options (``TASK_OPTIONS``, or its cloud's standard spec)."""
        return argument_spec(cls.TASK_OPTIONS)

    def ip(self, record: MachineRecord) -> str:
        """The address the machine is reached at (no network call)."""
        return record.ip_address

    def engine_port(self, record: MachineRecord) -> int:
        return int(record.driver.get("EnginePort") or self.default_engine_port)

    def url(self, record: MachineRecord) -> str:
        """The Docker URL, as ``docker-machine url`` prints it (no network call)."""
        ip = self.ip(record)
        if not ip:
            raise DriverError("Machine %s has no IP address in its record." % record.name, machine=record.name)
        host = "[%s]" % ip if ":" in ip else ip
        return "tcp://%s:%d" % (host, self.engine_port(record))

    @staticmethod
    def tag_text(record: MachineRecord) -> str:
        """The record's tags as the original wrote them (its Driver section's ``Tags`` text); empty when there are none."""
        raw = record.driver.get("Tags")
        return raw if isinstance(raw, str) else ""

    def tags(self, record: MachineRecord) -> dict[str, str]:
        """The record's tags as a mapping, read with the driver's own codec; empty for drivers without tags."""
        return {}

    def state(self, record: MachineRecord, timeout: float) -> str:
        """The live state (one of STATES), bounded by ``timeout`` seconds."""
        raise NotImplementedError

    # -- cloud resources (drivers with has_cloud_resources) --

    def cloud_resources(self, record: MachineRecord) -> list[str]:
        """What the machine has in the cloud, as a user reads it ("EC2 instance i-0abc in us-east-1"); no network call."""
        return []

    def remove_cloud_resources(self, record: MachineRecord, timeout: float) -> list[str]:
        """Remove what ``cloud_resources`` lists (idempotent: what is gone already counts as removed); returns what was
        removed. Raises DriverError naming what is left when something cannot be removed."""
        return []

    # -- hosts the driver makes (drivers with creates_hosts or supports_power) --

    def has_host(self, record: MachineRecord) -> bool:
        """Whether the record names its host yet (a driver that creates hosts: the host was made); no network call."""
        return True

    def ensure_host(self, record: MachineRecord, options: t.Mapping[str, t.Any], context: HostContext) -> list[str]:
        """Make or start the host so that it answers SSH at ``record``'s address; returns the steps taken."""
        raise NotImplementedError

    def power(self, record: MachineRecord, action: str, timeout: float, *, force: bool = False) -> bool:
        """``start``, ``stop`` or ``restart`` the host itself; False when it already was so. A start updates the
        record's address when it changed."""
        raise NotImplementedError

    # -- creating records (the orchestrator writes them; drivers only say what goes in) --

    #: The driver's own options, declared once (options.py): its module spec, flags and plain record fields come from it.
    OPTIONS: t.ClassVar[tuple[DriverOption, ...]] = ()
    #: The driver's own sub-options, nested under its name in docker_machine's argument spec (from ``OPTIONS``).
    option_spec: t.ClassVar[dict[str, t.Any]] = {}

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.option_spec = argument_spec(cls.OPTIONS)

    #: The original checks this driver's options when it reads the command line's flags (before the store's CA exists),
    #: not in its pre-create check.
    validates_with_flags: t.ClassVar[bool] = False

    @classmethod
    def missing_option_message(cls, option: DriverOption) -> str:
        """The original's words for a required flag the command line did not get."""
        return "%s driver requires the --%s option" % (cls.name, option.flag)

    def unsupported(self, action: str, done: str) -> str:
        """The original's words for a power action (``kill``, past ``killed``) the driver cannot do."""
        return "%s driver does not support %s" % (self.name, action)

    def validate(self, options: t.Mapping[str, t.Any] | None) -> dict[str, t.Any]:
        """Check the driver's options; return them (an error names the option to fix)."""
        if not options:
            raise DriverError("Driver %s needs its options: set option '%s'." % (self.name, self.name), option=self.name)
        return dict(options)

    def driver_section(self, name: str, root: str, options: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        """The record's Driver section, in the original driver's field order."""
        raise NotImplementedError

    def local_files(self, name: str, root: str, options: t.Mapping[str, t.Any]) -> dict[str, tuple[str, int]]:
        """Files to copy into the machine folder: {destination path: (source path, mode)}."""
        return {}

    def recorded_options(self, record: MachineRecord) -> dict[str, t.Any]:
        """The driver's options that give ``record`` back (``docker-machine provision`` re-applies them)."""
        raise DriverError("Machines of driver %s cannot be provisioned again from their record." % self.name, machine=record.name)

    def options_from_record(self, record: MachineRecord, machine_dir: str) -> dict[str, t.Any]:
        """``recorded_options``, where every file option names a file of the machine's folder (``machine_dir``) or nothing:
        a record never makes the controller read (and so copy or send) a file elsewhere."""
        options = self.recorded_options(record)
        for option in self.OPTIONS:
            if option.type == "path" and options.get(option.name) and not machine_file(options[option.name], machine_dir):
                options[option.name] = None
        return options

    def auth_paths(self, name: str, root: str, options: t.Mapping[str, t.Any]) -> dict[str, str]:
        """AuthOptions paths that differ from the store's defaults (the original's --tls-* flags)."""
        return {}


def base_fields(
    name: str,
    root: str,
    *,
    ip_address: str = "",
    ssh_user: str = "",
    ssh_port: int = 0,
    ssh_key_path: str = "",
    swarm_host: str = "",
) -> dict[str, t.Any]:
    """libmachine's BaseDriver fields, flattened first into every driver section, in its order."""
    return {
        "IPAddress": ip_address,
        "MachineName": name,
        "SSHUser": ssh_user,
        "SSHPort": ssh_port,
        "SSHKeyPath": ssh_key_path,
        "StorePath": root,
        "SwarmMaster": False,
        "SwarmHost": swarm_host,
        "SwarmDiscovery": "",
    }
