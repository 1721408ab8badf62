# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""An existing Docker daemon URL with no SSH (docker-machine's ``none`` driver)."""

from __future__ import annotations

import os
import typing as t


from ansible_collections.dockyard.machine.plugins.module_utils._drivers.base import Driver, base_fields
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.options import DriverOption, to_fields
from ansible_collections.dockyard.machine.plugins.module_utils._engine import split_url
from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError, EngineError

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord

__all__ = ["NoneDriver"]


class NoneDriver(Driver):
    name = "none"
    needs_ssh = False
    supports_power = False
    has_cloud_resources = False

    validates_with_flags = True

    @classmethod
    def missing_option_message(cls, option: DriverOption) -> str:
        return "--%s option is required when no driver is selected" % option.flag

    def unsupported(self, action: str, done: str) -> str:
        return "hosts without a driver cannot be %s" % done

    def ip(self, record: MachineRecord) -> str:
        # The original stores host:port here (drivers/none: GetIP returns the URL's host part with port).
        return record.ip_address

    def url(self, record: MachineRecord) -> str:
        url = str(record.driver.get("URL") or "")
        if not url:
            raise DriverError("Machine %s (driver none) has no URL in its record." % record.name, machine=record.name)
        return url

    def state(self, record: MachineRecord, timeout: float) -> str:
        return "Running"

    # Mirrors --url (reference section 5.2), plus the client files the original could not take.
    OPTIONS = (
        DriverOption("url", required=True, flag="url", help="URL of host when no driver is selected", field="URL"),
        DriverOption("ca_cert", type="path"),
        DriverOption("client_cert", type="path"),
        DriverOption("client_key", type="path"),
    )

    def validate(self, options: t.Mapping[str, t.Any] | None) -> dict[str, t.Any]:
        checked = super().validate(options)
        if checked["url"] and "://" not in checked["url"]:
            # HOST:PORT without a scheme is a TCP address, as Docker reads DOCKER_HOST; recorded with its scheme, so that
            # env, url and ls (ours and the original's) give a URL every client reads.
            checked["url"] = "tcp://" + checked["url"]
        try:
            split_url(checked["url"])
        except EngineError as exc:
            raise DriverError("%s Fix option none.url." % exc.msg, option="none.url") from exc
        given = [k for k in ("ca_cert", "client_cert", "client_key") if checked.get(k)]
        if given and len(given) != 3:
            raise DriverError(
                "Options none.ca_cert, none.client_cert and none.client_key go together; only %s was given." % ", ".join("none." + g for g in given),
                option="none",
            )
        for key in given:
            if not os.path.isfile(checked[key]):
                raise DriverError("File %s does not exist. Fix option none.%s." % (checked[key], key), option="none." + key)
        return checked

    def recorded_options(self, record: MachineRecord) -> dict[str, t.Any]:
        options: dict[str, t.Any] = {"url": self.url(record)}
        auth = record.auth_options
        # The engine's own client files, when the record points at copies in its folder rather than at the store's.
        if auth.get("CaCertPath") and os.path.dirname(auth["CaCertPath"]) != auth.get("CertDir"):
            for option, key in (("ca_cert", "CaCertPath"), ("client_cert", "ClientCertPath"), ("client_key", "ClientKeyPath")):
                options[option] = auth.get(key)
        return options

    def driver_section(self, name: str, root: str, options: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        host, port = split_url(options["url"])
        section = base_fields(name, root, ip_address="%s:%d" % (host, port))
        section.update(to_fields(self.OPTIONS, options))
        return section

    def local_files(self, name: str, root: str, options: t.Mapping[str, t.Any]) -> dict[str, tuple[str, int]]:
        """User-supplied client files become the machine folder's ca.pem, cert.pem and key.pem."""
        if not options.get("ca_cert"):
            return {}
        machine_dir = os.path.join(root, "machines", name)
        return {
            os.path.join(machine_dir, "ca.pem"): (options["ca_cert"], 0o644),
            os.path.join(machine_dir, "cert.pem"): (options["client_cert"], 0o644),
            os.path.join(machine_dir, "key.pem"): (options["client_key"], 0o600),
        }

    def auth_paths(self, name: str, root: str, options: t.Mapping[str, t.Any]) -> dict[str, str]:
        """With the engine's own client files, the record points at their copies, so the original's ls works too."""
        if not options.get("ca_cert"):
            return {}
        machine_dir = os.path.join(root, "machines", name)
        return {
            "CaCertPath": os.path.join(machine_dir, "ca.pem"),
            "ClientCertPath": os.path.join(machine_dir, "cert.pem"),
            "ClientKeyPath": os.path.join(machine_dir, "key.pem"),
        }
