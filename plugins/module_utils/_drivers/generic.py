# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""An existing host reached over SSH (docker-machine's ``generic`` driver)."""

from __future__ import annotations

import os
import typing as t


from ansible_collections.dockyard.machine.plugins.module_utils._drivers.base import Driver, base_fields, tcp_reachable
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.options import DriverOption, from_fields, to_fields
from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord

__all__ = ["GenericDriver"]


class GenericDriver(Driver):
    name = "generic"
    needs_ssh = True
    supports_power = False
    has_cloud_resources = False

    # Mirrors --generic-* (reference section 5.1), in the original's order; documented in doc_fragments/_drivers.py.
    OPTIONS = (
        DriverOption(
            "engine_port", type="int", default=2376, flag="generic-engine-port", env="GENERIC_ENGINE_PORT", help="Docker engine port", field="EnginePort"
        ),
        DriverOption("ip_address", required=True, flag="generic-ip-address", env="GENERIC_IP_ADDRESS", help="IP Address of machine", field="IPAddress"),
        DriverOption("ssh_user", default="root", flag="generic-ssh-user", env="GENERIC_SSH_USER", help="SSH user", field="SSHUser"),
        DriverOption(
            "ssh_key",
            type="path",
            flag="generic-ssh-key",
            env="GENERIC_SSH_KEY",
            help="SSH private key path (if not provided, default SSH key will be used)",
            field="SSHKey",
        ),
        DriverOption("ssh_port", type="int", default=22, flag="generic-ssh-port", env="GENERIC_SSH_PORT", help="SSH port", field="SSHPort"),
        DriverOption("proxy_jump"),
        DriverOption("ssh_config", type="path"),
    )

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
        fields = to_fields(self.OPTIONS, options)
        # The original copies the key into the machine folder under its own file name.
        key = fields["SSHKey"]
        section = base_fields(
            name,
            root,
            ip_address=fields.pop("IPAddress"),
            ssh_user=fields.pop("SSHUser"),
            ssh_port=int(fields.pop("SSHPort")),
            ssh_key_path=os.path.join(root, "machines", name, os.path.basename(key)) if key else "",
        )
        section.update(fields)  # EnginePort, SSHKey
        return section

    def recorded_options(self, record: MachineRecord) -> dict[str, t.Any]:
        options = dict.fromkeys(o.name for o in self.OPTIONS)
        options.update(from_fields(self.OPTIONS, record.driver))
        # The copy in the machine folder (the key the record names elsewhere is never read again: options_from_record).
        key = record.ssh_key_path if record.ssh_key_path and os.path.isfile(record.ssh_key_path) else options["ssh_key"]
        options["ssh_key"] = key or None
        options["proxy_jump"] = record.sidecar.get("ProxyJump") or None
        # Never the SSHConfig the record notes: a record does not choose what ssh runs (the task passes it).
        options["ssh_config"] = None
        return options

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
