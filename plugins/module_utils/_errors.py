# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""Typed errors raised by every layer; modules catch MachineError once and turn it into fail_json."""

from __future__ import annotations

import typing as t

__all__ = [
    "MachineError",
    "StoreError",
    "InvalidNameError",
    "MachineNotFoundError",
    "CertError",
    "DriverError",
    "EngineError",
    "SSHError",
    "ProvisionError",
]


class MachineError(Exception):
    """Base of every error this collection raises on purpose.

    ``msg`` is the sentence a user reads; everything else is keyword-only so that arguments
    cannot be swapped.  ``details`` carries structured facts (``cmd``, ``rc``, ``stdout``,
    ``stderr``, ``path``, ``option`` ...) that modules attach to their failure result.
    """

    def __init__(self, msg: str, *, step: str | None = None, machine: str | None = None, **details: t.Any) -> None:
        super().__init__(msg)
        self.msg = msg
        self.step = step
        self.machine = machine
        self.details = details

    def result(self) -> dict[str, t.Any]:
        """The fields a module adds to ``fail_json`` next to ``msg``."""
        out: dict[str, t.Any] = {k: v for k, v in self.details.items() if v is not None}
        if self.step is not None:
            out["step"] = self.step
        if self.machine is not None:
            out["machine"] = self.machine
        return out


class StoreError(MachineError):
    """The machine store cannot be read or written as asked."""


class InvalidNameError(StoreError):
    """A machine name fails docker-machine's rule; raised before any file is touched."""


class MachineNotFoundError(StoreError):
    """No such machine in the store."""


class CertError(MachineError):
    """A certificate or key cannot be made, read or verified."""


class DriverError(MachineError):
    """The driver cannot reach or act on the place where the machine lives."""


class EngineError(MachineError):
    """The Docker engine did not answer over TLS as expected."""


class SSHError(MachineError):
    """A command over SSH failed; details carry cmd, rc, stdout and stderr."""


class ProvisionError(MachineError):
    """A provisioning step on the host failed."""
