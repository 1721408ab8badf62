# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this plugin_util is internal to dockyard.machine; its API may change without notice.
"""Store -> inventory host variables, for the ``dockyard.machine.docker_machine`` inventory plugin.

Everything here returns plain JSON-able data (str, int, bool, list, dict) so that the result can be
written to an inventory cache as it is and unit-tested without Ansible's inventory machinery.  The
plugin marks the values unsafe when it hands them to Ansible.

Only fields named here leave the store: cloud credentials (``AccessKey``, ``SecretKey``,
``SessionToken``) and key contents never become host variables; file paths do.

The SSH host keys docker_machine pinned (sidecar ``HostKeys``) are written to one known-hosts file,
``dockyard-known_hosts`` in the store, under each machine's ``HostKeyAlias``; ``ansible_ssh_common_args``
names that file and alias with strict checking, so Ansible's ssh accepts those keys and no other.
"""

from __future__ import annotations

import hashlib
import math
import os
import queue
import re
import shlex
import threading
import time
import typing as t
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.dockyard.machine.plugins.module_utils._drivers import batch_refresher, get_driver
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.base import Driver
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.batch import RefreshReport
from ansible_collections.dockyard.machine.plugins.module_utils._endpoint import endpoint_for
from ansible_collections.dockyard.machine.plugins.module_utils._errors import MachineError, StoreError
from ansible_collections.dockyard.machine.plugins.module_utils._machine import HOST_KEY_ALIAS
from ansible_collections.dockyard.machine.plugins.module_utils._ssh import is_ssh_name
from ansible_collections.dockyard.machine.plugins.module_utils._store import FILE_MODE, atomic_write

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._drivers.batch import Refreshed, RefreshSettings
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord, MachineStore

__all__ = [
    "CACHE_FORMAT",
    "KNOWN_HOSTS_NAME",
    "MAX_STATE_WORKERS",
    "StateProbe",
    "StoreScan",
    "apply_refresh",
    "cached_scan",
    "driver_group_name",
    "driver_state",
    "fallback_known_hosts_path",
    "host_key_ssh_args",
    "machine_hostvars",
    "make_unsafe",
    "pinned_host_keys",
    "probe_states",
    "refresh_in_batches",
    "scan_store",
    "write_known_hosts",
]

# Bump when the shape of the cached payload changes: an older cache is then ignored, not misread.
CACHE_FORMAT = 1
# State checks at once; each one is a TCP connect or one cloud API call bounded by the timeout.
MAX_STATE_WORKERS = 32
# Extra wait, past the per-host bound, before a check that has not answered is called a Timeout.
STATE_GRACE_SECONDS = 1.0

StateProbe = t.Callable[["MachineRecord", float], str]

_GROUP_UNSAFE = re.compile(r"[^A-Za-z0-9_]")

# The generated known-hosts file in the store root (one line per pinned key: alias, key type, key).
KNOWN_HOSTS_NAME = "dockyard-known_hosts"
# One pinned key as the sidecar holds it: "keytype base64".  Nothing else may reach the known-hosts file
# (a newline would add a line of its own; a marker such as @cert-authority or a pattern would widen the trust).
_HOST_KEY = re.compile(r"[a-z][a-z0-9@.-]* [A-Za-z0-9+/]+={0,3}")


def make_unsafe(value: t.Any) -> t.Any:
    """A copy of ``value`` in which no string from the store can ever be templated.

    Strings holding ``{`` or ``}`` (every Jinja marker has one) go through Ansible's ``wrap_var``; other
    strings cannot start a template under any ansible-core version and are passed as they are, which keeps
    1,000 hosts from paying ``wrap_var``'s per-string cost.  Dict keys are treated like values.
    """
    if isinstance(value, str):
        return wrap_var(value) if ("{" in value or "}" in value) else value
    if isinstance(value, dict):
        return {make_unsafe(key): make_unsafe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [make_unsafe(item) for item in value]
    return value


def driver_group_name(driver_name: str) -> str:
    """``docker_machine_<driver>`` with every character outside ``[A-Za-z0-9_]`` replaced by ``_``."""
    return "docker_machine_" + _GROUP_UNSAFE.sub("_", driver_name)


def _url_host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def _check_ssh_name(record: MachineRecord, what: str, value: str) -> None:
    """Refuse (the caller skips the machine) a record's address or user that the collection's SSH rule refuses: Ansible's
    ssh would read ``-oProxyCommand=...`` in ``ansible_host`` as an option."""
    if value and not is_ssh_name(value):
        raise StoreError(
            "its record's %s %r is not a host or user name ssh can take (it starts with '-', or holds spaces or control "
            "characters), so the machine is left out of the inventory. Fix the record's %s (or remove the machine)."
            % (what, value, "IPAddress" if what == "address" else "SSHUser"),
            machine=record.name,
        )


def machine_hostvars(store: MachineStore, record: MachineRecord) -> tuple[dict[str, t.Any], list[str]]:
    """The host variables of one machine, and the problems worth a warning (the machine is listed anyway).

    Raises ``MachineError``/``ValueError``/``TypeError``/``AttributeError`` when the record is too broken to
    describe a host at all; the caller skips it with a warning.
    """
    problems: list[str] = []
    labels = record.engine_options.get("Labels") or []
    if not isinstance(labels, list):
        raise TypeError("HostOptions.EngineOptions.Labels is not a list")

    hostvars: dict[str, t.Any] = {}
    try:
        driver = get_driver(record.driver_name)
    except MachineError as exc:
        # An old store can hold machines of drivers we do not support (virtualbox ...): still list them.
        driver = None
        problems.append(exc.msg)
    needs_ssh = driver.needs_ssh if driver is not None else True
    if needs_ssh:
        for what, value in (("address", record.ip_address), ("SSH user", record.ssh_user)):
            _check_ssh_name(record, what, value)
        if record.ip_address:
            hostvars["ansible_host"] = record.ip_address
        hostvars["ansible_port"] = record.ssh_port
        hostvars["ansible_user"] = record.ssh_user
        if record.ssh_key_path:
            hostvars["ansible_ssh_private_key_file"] = record.ssh_key_path
    hostvars["docker_machine_name"] = record.name
    hostvars["docker_machine_driver"] = record.driver_name
    hostvars["docker_machine_labels"] = [str(label) for label in labels]
    # The driver reads its own tags (an unsupported driver's record: none parsed, the raw text kept).
    hostvars["docker_machine_tags"] = driver.tags(record) if driver is not None else {}
    hostvars["dm_tags"] = Driver.tag_text(record)

    if driver is not None:
        try:
            endpoint = endpoint_for(store, record)
        except MachineError as exc:
            problems.append(exc.msg)
        else:
            env = endpoint.env()
            hostvars["docker_machine_url"] = endpoint.url
            hostvars["docker_machine_docker"] = endpoint.docker_options()
            hostvars["docker_machine_env"] = env
            for name, value in env.items():
                hostvars["dm_" + name] = value
            if not needs_ssh:
                url_host = _url_host(endpoint.url)
                _check_ssh_name(record, "address", url_host)
                if url_host:
                    hostvars["ansible_host"] = url_host
    return hostvars, problems


def pinned_host_keys(record: MachineRecord) -> tuple[list[str], list[str]]:
    """The host keys pinned for ``record`` that are well formed, and one problem per entry that is not."""
    raw = record.sidecar.get("HostKeys") or []
    if not isinstance(raw, list):
        return [], ["its sidecar's HostKeys is not a list; the pinned keys are not used"]
    keys: list[str] = []
    problems: list[str] = []
    for entry in raw:
        if isinstance(entry, str) and _HOST_KEY.fullmatch(entry):
            if entry not in keys:
                keys.append(entry)
        else:
            problems.append("its sidecar's HostKeys holds an entry that is not 'KEYTYPE BASE64' (%.40r); it is left out" % (entry,))
    return keys, problems


def host_key_ssh_args(known_hosts: str, alias: str) -> str:
    """``ansible_ssh_common_args`` that make ssh check the host against ``alias`` in ``known_hosts`` only.

    Ansible splits the value with ``shlex``, so every word is quoted for it.
    """
    options = (
        "UserKnownHostsFile=%s" % known_hosts,
        "GlobalKnownHostsFile=/dev/null",
        "HostKeyAlias=%s" % alias,
        "StrictHostKeyChecking=yes",
    )
    return " ".join("-o %s" % shlex.quote(option) for option in options)


def fallback_known_hosts_path(store_root: str, environ: t.Mapping[str, str] | None = None) -> str:
    """Where the known-hosts file of a store that cannot be written goes: the user's cache folder, one per store."""
    env = os.environ if environ is None else environ
    cache = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    digest = hashlib.sha256(store_root.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return os.path.join(os.path.abspath(cache), "dockyard.machine", "known_hosts-%s" % digest)


def write_known_hosts(store: MachineStore, pins: t.Mapping[str, t.Sequence[str]]) -> tuple[str | None, str | None]:
    """Write ``{machine: keys}`` to the store's known-hosts file (atomically, 0600): ``(path, warning)``.

    When the store cannot be written (read-only, not ours), the file goes to the cache folder instead (as
    documented, no warning: a read-only store stays read-only); when neither works, ``(None, warning)`` and
    the hosts keep the user's own host key policy.
    """
    data = "".join("%s %s\n" % (HOST_KEY_ALIAS % name, key) for name in pins for key in pins[name]).encode("utf-8")
    in_store = os.path.join(store.root, KNOWN_HOSTS_NAME)
    try:
        store.write_file(in_store, data, FILE_MODE)
        return in_store, None
    except (MachineError, OSError) as exc:
        reason = getattr(exc, "msg", None) or getattr(exc, "strerror", None) or str(exc)
    fallback = fallback_known_hosts_path(store.root)
    try:
        atomic_write(fallback, data, FILE_MODE)
    except OSError as exc:
        return None, (
            "Cannot write the pinned SSH host keys to %s (%s) nor to %s (%s); those machines are reached with your own "
            "SSH host key checking." % (in_store, reason, fallback, exc.strerror or exc)
        )
    return fallback, None


def driver_state(record: MachineRecord, timeout: float) -> str:
    """The default state probe: ask the record's driver, bounded by ``timeout`` seconds."""
    return get_driver(record.driver_name).state(record, timeout)


def refresh_in_batches(records: t.Sequence[MachineRecord], settings: RefreshSettings) -> RefreshReport:
    """Ask every driver that has a batch refresher about its machines at once; the others are left out of the report."""
    by_driver: dict[str, list[MachineRecord]] = {}
    for record in records:
        if batch_refresher(record.driver_name) is not None:
            by_driver.setdefault(record.driver_name, []).append(record)
    report = RefreshReport()
    for driver_name, members in by_driver.items():
        refresher = batch_refresher(driver_name)
        if refresher is not None:
            report.merge(refresher(members, settings))
    return report


def _with_url(value: t.Any, key: str, url: str) -> None:
    if isinstance(value, dict) and key in value:
        value[key] = url


def apply_refresh(name: str, hostvars: dict[str, t.Any], outcome: Refreshed, recorded_address: str) -> list[str]:
    """Put what the cloud said into one machine's host variables; returns the warnings worth showing.

    The state goes in ``docker_machine_state`` (with ``docker_machine_state_error``); a new address replaces
    ``ansible_host`` and the Docker URL everywhere it appears.  The store is not written.
    """
    problems: list[str] = []
    hostvars["docker_machine_state"] = outcome.state
    if outcome.error:
        hostvars["docker_machine_state_error"] = " ".join(outcome.error.split())
    if not outcome.address:
        return problems
    if not is_ssh_name(outcome.address):
        problems.append(
            "Docker machine %r: its cloud gave the address %r, which is not a host name ssh can take (it starts with '-', or "
            "holds spaces or control characters); the recorded address stays in ansible_host." % (name, outcome.address)
        )
        return problems
    hostvars["ansible_host"] = outcome.address
    if outcome.url and "docker_machine_url" in hostvars:
        hostvars["docker_machine_url"] = outcome.url
        _with_url(hostvars.get("docker_machine_docker"), "docker_host", outcome.url)
        _with_url(hostvars.get("docker_machine_env"), "DOCKER_HOST", outcome.url)
        _with_url(hostvars, "dm_DOCKER_HOST", outcome.url)
    if recorded_address and recorded_address != outcome.address:
        problems.append(
            "Docker machine %r: its address is now %s, its record says %s; this inventory uses %s. The record (the "
            "inventory does not write it) and the machine's server certificate may still name the old address."
            % (name, outcome.address, recorded_address, outcome.address)
        )
    return problems


def probe_states(
    records: t.Sequence[MachineRecord],
    probe: StateProbe,
    timeout: float,
    max_workers: int = MAX_STATE_WORKERS,
) -> dict[str, tuple[str, str]]:
    """``{name: (state, error)}`` for every record, checked in parallel.

    Each probe gets ``timeout`` seconds.  A probe that raises gives ``Error`` with its message; one that has
    not answered when the whole batch should have finished gives ``Timeout``.  Workers are daemon threads,
    so a probe that ignores its timeout can never keep ``ansible-inventory`` from exiting.
    """
    results: dict[str, tuple[str, str]] = {}
    if not records:
        return results
    lock = threading.Lock()
    pending: queue.SimpleQueue[MachineRecord] = queue.SimpleQueue()
    for record in records:
        pending.put(record)

    def work() -> None:
        while True:
            try:
                record = pending.get_nowait()
            except queue.Empty:
                return
            try:
                outcome = (str(probe(record, timeout)), "")
            except MachineError as exc:
                outcome = ("Error", " ".join(exc.msg.split()))
            except Exception as exc:  # a probe must never take the whole inventory down
                outcome = ("Error", "%s: %s" % (type(exc).__name__, exc))
            with lock:
                results[record.name] = outcome

    workers = max(1, min(max_workers, len(records)))
    threads = [threading.Thread(target=work, name="docker-machine-state-%d" % i, daemon=True) for i in range(workers)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout * math.ceil(len(records) / workers) + STATE_GRACE_SECONDS
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    with lock:
        final = dict(results)
    for record in records:
        if record.name not in final:
            final[record.name] = ("Timeout", "no answer within %g s" % timeout)
    return final


@dataclass
class StoreScan:
    """What one read of the store produced: host variables per machine (store order) and warnings."""

    store_path: str
    live_state: bool
    hosts: dict[str, dict[str, t.Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: Whether the machines of drivers with a batch refresher were refreshed from their cloud.
    cloud_refresh: bool = False
    #: What the cloud refresh cost (API calls, one line per region); not cached.
    refresh_calls: int = 0
    refresh_details: list[str] = field(default_factory=list)

    def payload(self) -> dict[str, t.Any]:
        """The plain-data form written to the inventory cache."""
        return {
            "format": CACHE_FORMAT,
            "store_path": self.store_path,
            "live_state": self.live_state,
            "cloud_refresh": self.cloud_refresh,
            "hosts": self.hosts,
        }


def cached_scan(payload: t.Any, *, store_path: str, live_state: bool, cloud_refresh: bool = False) -> StoreScan | None:
    """The scan a cache entry holds, or None when it was written for another store, setting or format."""
    if not isinstance(payload, t.Mapping) or payload.get("format") != CACHE_FORMAT:
        return None
    if payload.get("store_path") != store_path or bool(payload.get("live_state")) != live_state:
        return None
    if bool(payload.get("cloud_refresh")) != cloud_refresh:
        return None
    hosts = payload.get("hosts")
    if not isinstance(hosts, t.Mapping) or not all(isinstance(v, t.Mapping) for v in hosts.values()):
        return None
    return StoreScan(store_path=store_path, live_state=live_state, cloud_refresh=cloud_refresh, hosts={str(k): dict(v) for k, v in hosts.items()})


def _skip_message(store: MachineStore, name: str, error: Exception, path: str | None = None) -> str:
    """One warning line naming the machine, the file or folder, and what is wrong with it."""
    details = getattr(error, "details", None) or {}
    path = details.get("path") or path or os.path.join(store.machines_dir, name)
    message = getattr(error, "msg", None) or "%s: %s" % (type(error).__name__, error)
    message = " ".join(str(message).split())
    if path in message:
        return "Skipping docker machine %r: %s" % (name, message)
    return "Skipping docker machine %r (%s): %s" % (name, path, message)


def scan_store(
    store: MachineStore,
    *,
    live_state: bool = False,
    state_timeout: float = 5.0,
    state_probe: StateProbe = driver_state,
    max_workers: int = MAX_STATE_WORKERS,
    refresh: RefreshSettings | None = None,
) -> StoreScan:
    """Read every machine once; a record that cannot be read is skipped with a warning, never fatal.

    With ``live_state`` each machine's driver is asked for its state (in parallel) and the answer goes in
    ``docker_machine_state`` (plus ``docker_machine_state_error`` when the check failed).

    With ``refresh``, the machines of drivers that have a batch refresher get their state and current address
    from their cloud in a few batched calls instead (bounded by ``refresh.timeout``); with ``live_state`` the
    other machines are still asked one by one.
    """
    scan = StoreScan(store_path=store.root, live_state=live_state, cloud_refresh=refresh is not None)
    if not os.path.isdir(store.machines_dir):
        # Most often a typo in store_path or MACHINE_STORAGE_PATH: say so instead of listing nothing silently.
        scan.warnings.append("The docker-machine store %s has no machines folder (%s); no hosts listed." % (store.root, store.machines_dir))
        return scan
    records, errors = store.load_all()
    for error in errors:
        scan.warnings.append(_skip_message(store, error.machine or "", error))
    described: list[MachineRecord] = []
    pins: dict[str, list[str]] = {}
    for record in records:
        try:
            hostvars, problems = machine_hostvars(store, record)
        except (MachineError, ValueError, TypeError, AttributeError) as exc:
            scan.warnings.append(_skip_message(store, record.name, exc, store.config_path(record.name)))
            continue
        if hostvars.get("ansible_port") is not None:  # reached over SSH: its pinned keys are worth using
            keys, key_problems = pinned_host_keys(record)
            problems.extend(key_problems)
            if keys:
                pins[record.name] = keys
        for problem in problems:
            scan.warnings.append("Docker machine %r: %s" % (record.name, " ".join(problem.split())))
        scan.hosts[record.name] = hostvars
        described.append(record)
    if pins:
        known_hosts, warning = write_known_hosts(store, pins)
        if warning:
            scan.warnings.append(warning)
        if known_hosts:
            for name in pins:
                scan.hosts[name]["ansible_ssh_common_args"] = host_key_ssh_args(known_hosts, HOST_KEY_ALIAS % name)
    refreshed: set[str] = set()
    if refresh is not None:
        report = refresh_in_batches(described, refresh)
        scan.refresh_calls = report.calls
        scan.refresh_details = list(report.details)
        scan.warnings.extend(report.warnings)
        for record in described:
            outcome = report.machines.get(record.name)
            if outcome is not None:
                scan.warnings.extend(apply_refresh(record.name, scan.hosts[record.name], outcome, record.ip_address))
                refreshed.add(record.name)
    if live_state:
        to_probe = [record for record in described if record.name not in refreshed]
        states = probe_states(to_probe, state_probe, state_timeout, max_workers)
        for record in to_probe:
            state, error = states[record.name]
            scan.hosts[record.name]["docker_machine_state"] = state
            if error:
                scan.hosts[record.name]["docker_machine_state_error"] = error
    return scan
