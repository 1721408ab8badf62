# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""What a call on machines did, for the caller, and the status it leaves in a machine's record."""

from __future__ import annotations

import contextlib
import typing as t
from dataclasses import dataclass, field

from ansible_collections.dockyard.machine.plugins.module_utils._errors import MachineError

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord, MachineStore

__all__ = ["Outcome", "mark_recorded", "mark_running", "recording_failure"]


@dataclass
class Outcome:
    """What a lifecycle call did (or, in check mode, would do)."""

    changed: bool = False
    status: str = ""
    machine: dict[str, t.Any] | None = None
    docker: dict[str, t.Any] | None = None
    env: dict[str, str] | None = None
    docker_version: str = ""
    steps: list[str] = field(default_factory=list)  # words for users; what the code acts on is in the flags below
    warnings: list[str] = field(default_factory=list)
    diff: dict[str, t.Any] = field(default_factory=dict)
    #: A session pinned host keys in the record's sidecar (the caller saves the record).
    host_keys_pinned: bool = False
    #: The host or its engine was (in check mode: would be) started, stopped or restarted.
    powered: bool = False

    def result(self) -> dict[str, t.Any]:
        out: dict[str, t.Any] = {"changed": self.changed, "status": self.status, "steps": self.steps}
        for key in ("machine", "docker", "env"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.docker_version:
            out["docker_version"] = self.docker_version
        return out


@contextlib.contextmanager
def recording_failure(store: MachineStore, record: MachineRecord) -> t.Iterator[None]:
    """A failure leaves its step and message in the sidecar (``ls`` and the next run see them)."""
    try:
        yield
    except MachineError as exc:
        record.sidecar["Status"] = "error"
        record.sidecar["LastError"] = {"Step": exc.step or "", "Message": exc.msg}
        store.save(record)
        if exc.machine is None:
            exc.machine = record.name
        raise


def mark_recorded(store: MachineStore, record: MachineRecord, outcome: Outcome) -> None:
    """The record says the machine is registered and its engine not reached yet; ``record`` is a step when that changed it."""
    record.sidecar["Status"] = "recorded"
    record.sidecar.pop("LastError", None)
    if store.save(record) and "record" not in outcome.steps:
        outcome.steps.append("record")


def mark_running(store: MachineStore, record: MachineRecord, outcome: Outcome) -> None:
    """The record says the machine runs and holds no error any more; ``record`` is a step when that changed it."""
    record.sidecar["Status"] = "running"
    record.sidecar.pop("LastError", None)
    if store.save(record) and "record" not in outcome.steps:
        outcome.steps.append("record")
