# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""An existing host reached over SSH (docker-machine's ``generic`` driver)."""

from __future__ import annotations

import os
import typing as t


from ansible_collections.dockyard.machine.plugins.module_utils._drivers.base import Driver, base_fields, tcp_reachable
from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord

__all__ = ["GenericDriver"]


class GenericDriver(Driver):
    name = "generic"
    needs_ssh = True
    supports_power = False
    has_cloud_resources = False

    # Mirrors --generic-* (reference section 5.1); documented in doc_fragments/_drivers.py.
    option_spec = {
        "ip_address": {"type": "str", "required": True},
        "ssh_user": {"type": "str", "default": "root"},
        "ssh_key": {"type": "path"},
        "ssh_port": {"type": "int", "default": 22},
        "engine_port": {"type": "int", "default": 2376},
        "proxy_jump": {"type": "str"},
        "ssh_config": {"type": "path"},
    }

    def validate(self, options: t.Mapping[str, t.Any] | None) -> dict[str, t.Any]:
        checked = super().validate(options)
        key = checked.get("ssh_key")
        if key and not os.path.isfile(key):
            raise DriverError('SSH key does not exist: "%s". Fix option generic.ssh_key.' % key, option="generic.ssh_key")
        config = checked.get("ssh_config")
        if config and not os.path.isfile(config):
            raise DriverError('SSH client configuration does not exist: "%s". Fix option generic.ssh_config.' % config, option="generic.ssh_config")
        return checked

    def driver_section(self, name: str, root: str, options: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        key = options.get("ssh_key") or ""
        # The original copies the key into the machine folder under its own file name.
        key_copy = os.path.join(root, "machines", name, os.path.basename(key)) if key else ""
        section = base_fields(
            name,
            root,
            ip_address=options["ip_address"],
            ssh_user=options.get("ssh_user") or "root",
            ssh_port=int(options.get("ssh_port") or 22),
            ssh_key_path=key_copy,
        )
        section["EnginePort"] = int(options.get("engine_port") or 2376)
        section["SSHKey"] = os.path.abspath(key) if key else ""
        return section

    def recorded_options(self, record: MachineRecord) -> dict[str, t.Any]:
        # The user's key where the record says it was, else the copy in the machine folder.
        key = str(record.driver.get("SSHKey") or "")
        if not key or not os.path.isfile(key):
            key = record.ssh_key_path if record.ssh_key_path and os.path.isfile(record.ssh_key_path) else ""
        return {
            "ip_address": record.ip_address,
            "ssh_user": record.ssh_user,
            "ssh_key": key or None,
            "ssh_port": record.ssh_port,
            "engine_port": self.engine_port(record),
            "proxy_jump": record.sidecar.get("ProxyJump") or None,
            # Never the SSHConfig the record notes: a record does not choose what ssh runs (the task passes it).
            "ssh_config": None,
        }

    def local_files(self, name: str, root: str, options: t.Mapping[str, t.Any]) -> dict[str, tuple[str, int]]:
        key = options.get("ssh_key")
        if not key:
            return {}
        copy = os.path.join(root, "machines", name, os.path.basename(key))
        files = {copy: (key, 0o600)}
        if os.path.isfile(key + ".pub"):
            files[copy + ".pub"] = (key + ".pub", 0o600)
        return files

    def state(self, record: MachineRecord, timeout: float) -> str:
        # The original's rule: the SSH port answers -> Running, otherwise Stopped (never Error).
        return "Running" if tcp_reachable(self.ip(record), record.ssh_port, timeout) else "Stopped"
