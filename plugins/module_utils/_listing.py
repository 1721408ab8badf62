# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""``docker-machine ls`` and ``inspect``: rows, filters, the text table, hosts queried in parallel."""

from __future__ import annotations

import re
import time
import typing as t
from dataclasses import dataclass, field, fields

from ansible_collections.dockyard.machine.plugins.module_utils._drivers import get_driver
from ansible_collections.dockyard.machine.plugins.module_utils._errors import MachineError, StoreError

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord, MachineStore

__all__ = ["FILTER_KEYS", "MachineFilter", "MachineRow", "describe_machine", "list_machines", "query_machine", "render_table", "swarm_column"]

FILTER_KEYS = ("name", "driver", "state", "label")
HEADERS = ("NAME", "ACTIVE", "DRIVER", "STATE", "URL", "SWARM", "DOCKER", "ERRORS")
MAX_WORKERS = 32


@dataclass
class MachineRow:
    """One line of ``ls``; field names follow the original's template fields, snake_cased."""

    name: str
    active: str = ""
    active_host: bool = False
    driver: str = ""
    state: str = ""
    url: str = ""
    swarm: str = ""
    docker_version: str = ""
    error: str = ""
    response_time_ms: int = 0
    # The engine's Swarm section (/info), read with its version; the SWARM column is made from every row's (swarm_column).
    swarm_node: dict[str, t.Any] = field(default_factory=dict, repr=False)
    # The error behind ``error``, for callers that word it their own way (the command line, as the original).
    failure: MachineError | None = field(default=None, repr=False, compare=False)

    def cells(self) -> tuple[str, ...]:
        return (self.name, self.active, self.driver, self.state, self.url, self.swarm, self.docker_version, self.error)

    # Kept for the command line's own wording and columns; a module returns ``error`` and ``swarm``.
    NOT_RETURNED = ("swarm_node", "failure")

    def as_dict(self) -> dict[str, t.Any]:
        """The row as a module returns it: ``active`` is a bool there, as in ``describe_machine``; ``*``/``-`` is table text."""
        row = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in self.NOT_RETURNED}
        row["active"] = row.pop("active_host")
        return row


class MachineFilter:
    """``--filter`` semantics: AND across keys, OR within a key.  Built once, validated up front."""

    def __init__(self, filters: t.Mapping[str, t.Any] | None) -> None:
        self.values: dict[str, list[str]] = {}
        for key, value in (filters or {}).items():
            lowered = key.lower()
            if lowered not in FILTER_KEYS:
                raise MachineError("Unsupported filter key %r in option 'filters'; use one of: %s." % (key, ", ".join(FILTER_KEYS)), option="filters")
            items = value if isinstance(value, list) else [value]
            self.values[lowered] = [str(v) for v in items]
        self.name_patterns = []
        for pattern in self.values.get("name", []):
            try:
                self.name_patterns.append(re.compile(pattern))
            except re.error as exc:
                raise MachineError("Filter name=%r in option 'filters' is not a valid regular expression: %s." % (pattern, exc), option="filters") from exc
        for label in self.values.get("label", []):
            if "=" not in label:
                raise MachineError("Filter label=%r in option 'filters' must be KEY=VALUE." % label, option="filters")

    def _matches(self, name: str, driver: str, labels: t.Iterable[str], state: str | None) -> bool:
        if self.name_patterns and not any(p.search(name) for p in self.name_patterns):
            return False
        drivers = self.values.get("driver")
        if drivers and driver.lower() not in [d.lower() for d in drivers]:
            return False
        wanted_labels = self.values.get("label")
        if wanted_labels and not set(wanted_labels) & set(labels):
            return False
        states = self.values.get("state")
        return state is None or not states or state.lower() in [s.lower() for s in states]

    def matches_record(self, record: MachineRecord) -> bool:
        """Every test that needs no network (name, driver, label); state is checked on the row."""
        return self._matches(record.name, record.driver_name, record.engine_options.get("Labels") or [], None)

    def matches_row(self, row: MachineRow, labels: t.Iterable[str] = ()) -> bool:
        return self._matches(row.name, row.driver, labels, row.state)


def query_machine(store: MachineStore, record: MachineRecord, timeout: float, docker_host: str | None) -> MachineRow:
    """State, URL and engine version of one machine, each network step bounded by ``timeout``."""
    # Imported when a machine is asked, not with the module: `ls -q` and the filters only read records.
    from ansible_collections.dockyard.machine.plugins.module_utils._endpoint import endpoint_for
    from ansible_collections.dockyard.machine.plugins.module_utils._engine import engine_info

    started = time.monotonic()
    row = MachineRow(name=record.name, driver=record.driver_name, active="-")
    try:
        row.state = get_driver(record.driver_name).state(record, timeout)
        if row.state == "Running":
            endpoint = endpoint_for(store, record)
            row.url = endpoint.url
            row.active_host = bool(docker_host) and docker_host == endpoint.url
            row.active = "*" if row.active_host else "-"
            # /info instead of the original's /version: the same one call, with the engine's Swarm section too.
            info = engine_info(endpoint.url, endpoint.tls, timeout)
            row.docker_version = "v%s" % info.get("ServerVersion", "")
            swarm = info.get("Swarm")
            row.swarm_node = swarm if isinstance(swarm, dict) else {}
    except MachineError as exc:
        row.error = " ".join(exc.msg.split())
        row.failure = exc
        if not row.state:
            row.state = "Error"
    if not row.docker_version:
        # The original shows Unknown for every host it loaded but could not ask (stopped ones too).
        row.docker_version = "Unknown"
    row.response_time_ms = int((time.monotonic() - started) * 1000)
    return row


def _error_row(error: StoreError) -> MachineRow:
    return MachineRow(name=error.machine or "", driver="not found", state="Error", error=" ".join(error.msg.split()))


def list_machines(
    store: MachineStore,
    *,
    timeout: float,
    docker_host: str | None,
    machine_filter: MachineFilter | None = None,
    query: t.Callable[[MachineStore, MachineRecord, float, str | None], MachineRow] = query_machine,
) -> list[MachineRow]:
    """Rows for every machine that passes the filter, hosts queried in parallel; a slow host shows Timeout.

    ``query`` asks one host; tests pass a stand-in here.
    """
    chosen = machine_filter or MachineFilter(None)
    records, errors = store.load_all()
    records = [r for r in records if chosen.matches_record(r)]
    labels_of = {r.name: r.engine_options.get("Labels") or [] for r in records}
    rows: dict[str, MachineRow] = {}
    if records:
        import concurrent.futures  # a thread pool only where there are hosts to ask

        pool = concurrent.futures.ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(records)))
        try:
            futures = {r.name: pool.submit(query, store, r, timeout, docker_host) for r in records}
            # Each host gets two bounded network steps (state, version); past that it is a Timeout.
            deadline = time.monotonic() + 2 * timeout + 1
            for record in records:
                try:
                    rows[record.name] = futures[record.name].result(timeout=max(0.0, deadline - time.monotonic()))
                except concurrent.futures.TimeoutError:
                    rows[record.name] = MachineRow(name=record.name, driver=record.driver_name, state="Timeout")
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
    for error in errors:
        row = _error_row(error)
        if chosen.matches_row(row):
            rows[row.name] = row
    ordered = [rows[name] for name in store.names() if name in rows]
    swarm_column(records, ordered)
    return [row for row in ordered if row.driver == "not found" or chosen.matches_row(row, labels_of.get(row.name, ()))]


def _legacy_swarm(record: MachineRecord) -> dict[str, t.Any]:
    """The record's HostOptions.SwarmOptions (the original's standalone Swarm), when it is a dictionary."""
    options = record.host_options.get("SwarmOptions")
    return options if isinstance(options, dict) else {}


def _text(value: t.Any) -> str:
    return value if isinstance(value, str) else ""


def swarm_column(records: t.Sequence[MachineRecord], rows: t.Sequence[MachineRow]) -> None:
    """Fill each row's SWARM column.

    A record the original wrote for its standalone Swarm (SwarmOptions.Discovery set) shows what the original's ``ls``
    shows: the name of the listed machine that is master of that discovery, with `` (master)`` on the master's own
    row. Otherwise a machine whose engine is in a Swarm-mode cluster (its /info, read with the version) shows the
    Swarm-mode equivalent: a manager ``NAME (manager)`` with its own name, a worker the name of a listed machine that
    manages its cluster (the first in the store's order), or the manager's address when none of them is listed.
    """
    masters: dict[str, str] = {}
    for record in records:
        legacy = _legacy_swarm(record)
        if legacy.get("Master") is True:
            masters[_text(legacy.get("Discovery"))] = record.name
    legacy_of = {record.name: _legacy_swarm(record) for record in records}
    active = {row.name: row.swarm_node for row in rows if _text(row.swarm_node.get("LocalNodeState")) == "active"}
    name_of_node = {_text(node.get("NodeID")): name for name, node in active.items() if _text(node.get("NodeID"))}
    for row in rows:
        legacy = legacy_of.get(row.name, {})
        discovery = _text(legacy.get("Discovery"))
        node = active.get(row.name)
        if discovery:
            row.swarm = masters.get(discovery, "")
            if legacy.get("Master") is True:
                row.swarm = "%s (master)" % row.swarm
        elif node is not None:
            if node.get("ControlAvailable") is True:
                row.swarm = "%s (manager)" % row.name
                continue
            managers = [m for m in node.get("RemoteManagers") or [] if isinstance(m, dict)]
            listed = [name_of_node[_text(m.get("NodeID"))] for m in managers if _text(m.get("NodeID")) in name_of_node]
            addresses = sorted(_text(m.get("Addr")) for m in managers if _text(m.get("Addr")))
            row.swarm = next((name for name in (r.name for r in rows) if name in listed), addresses[0] if addresses else "")


def render_table(rows: t.Sequence[MachineRow]) -> str:
    """The original's table: Go tabwriter with minwidth 5, tabwidth 1, padding 3, spaces; the last column unpadded."""
    lines = [HEADERS] + [row.cells() for row in rows]
    widths = [max(5, max(len(line[i]) for line in lines) + 3) for i in range(len(HEADERS) - 1)]
    out = []
    for line in lines:
        out.append("".join(cell.ljust(widths[i]) for i, cell in enumerate(line[:-1])) + line[-1])
    return "\n".join(out) + "\n"


def describe_machine(store: MachineStore, name: str, *, timeout: float, docker_host: str | None) -> dict[str, t.Any]:
    """``inspect``, ``status``, ``ip`` and ``url`` of one machine; secrets redacted."""
    record = store.load(name)
    row = query_machine(store, record, timeout, docker_host)
    driver = get_driver(record.driver_name)
    return {
        "name": record.name,
        "driver": record.driver_name,
        "status": row.state,
        "ip": driver.ip(record),
        "url": row.url,
        "active": row.active_host,
        "docker_version": row.docker_version,
        "error": row.error,
        "inspect": record.redacted(),
        "healed_paths": list(record.healed),
    }
