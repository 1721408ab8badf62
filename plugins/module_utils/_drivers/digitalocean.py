# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""DigitalOcean droplets (docker-machine's ``digitalocean`` driver): options, records, state, power and removal.

The create itself (SSH key, droplet, firewall, reserved IP, adoption) is in digitalocean_create.py; the
inventory's batch refresh in digitalocean_refresh.py; the REST client in digitalocean_api.py.

The access token comes from the task (``digitalocean_access_token``) or DIGITALOCEAN_ACCESS_TOKEN, is held in
memory only, and is never written: records the original wrote keep theirs in ``AccessToken``, which is neither
used nor shown, and is emptied when the record is written again.
"""

from __future__ import annotations

import ipaddress
import os
import re
import typing as t

from ansible_collections.dockyard.machine.plugins.module_utils._drivers.base import Driver, HostContext, base_fields
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.digitalocean_api import (
    DEFAULT_API_URL,
    APIError,
    DigitalOceanAPI,
    public_ipv4,
)
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.options import DriverOption, from_fields, to_fields
from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError
from ansible_collections.dockyard.machine.plugins.module_utils._sidecar import SidecarKey, optional

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord

__all__ = ["DigitalOceanDriver", "FLEET_TAG", "OPTIONS", "TASK_OPTIONS", "OWNER_TAG_PREFIX", "STATE_MAP", "TOKEN_ENV", "address_of", "owner_tag"]

TOKEN_ENV = "DIGITALOCEAN_ACCESS_TOKEN"
ENGINE_PORT = 2376  # fixed in the original: no option
#: Every droplet, SSH key and firewall a create makes is marked with the machine's name: ``dockyard-machine:NAME``.
OWNER_TAG_PREFIX = "dockyard-machine:"
#: ... and with this one tag, by which the inventory lists them all at once.
FLEET_TAG = "dockyard-machine"
#: What the create names the SSH key and firewall it makes (a random suffix for the firewall).
OWN_NAME_PREFIX = "dockyard-machine-"
USER_DATA_LIMIT = 64 * 1024  # DigitalOcean's limit for user data
#: How to reach DigitalOcean, with every state, at the task's top level; never recorded.
TASK_OPTIONS = (
    DriverOption("digitalocean_access_token", flag="digitalocean-access-token", env=TOKEN_ENV, help="Digital Ocean access token", secret=True),
    DriverOption(
        "digitalocean_api_url",
        flag="digitalocean-api-url",
        help="DigitalOcean API URL, for a test emulator (default %s); a record never chooses it" % DEFAULT_API_URL,
    ),
)
_TAG = re.compile(r"^[A-Za-z0-9:_\-]{1,255}$")

# drivers/digitalocean GetState: droplet status -> docker-machine state
STATE_MAP = {"new": "Starting", "active": "Running", "off": "Stopped", "archive": "Error"}


class CommaList:
    """The original's text for droplet tags (``tag1,tag2``, as its flag and its record field hold it) and the list."""

    @staticmethod
    def encode(value: t.Iterable[str] | None) -> str:
        return ",".join(split_tags(value or []))

    @staticmethod
    def decode(text: t.Any, *, strict: bool = False) -> list[str]:
        if isinstance(text, (list, tuple)):
            return split_tags(text)
        return split_tags([text]) if isinstance(text, str) else []


# The original's flags, environment variables, defaults and help (drivers/digitalocean/digitalocean.go), then ours.
# Its image default (ubuntu-16-04-x64) is no longer served: ours is a current Ubuntu LTS.
OPTIONS = (
    DriverOption(
        "backups", type="bool", default=False, flag="digitalocean-backups", env="DIGITALOCEAN_BACKUPS", help="enable backups for droplet", field="Backups"
    ),
    DriverOption("image", default="ubuntu-24-04-x64", flag="digitalocean-image", env="DIGITALOCEAN_IMAGE", help="Digital Ocean Image", field="Image"),
    DriverOption("ipv6", type="bool", default=False, flag="digitalocean-ipv6", env="DIGITALOCEAN_IPV6", help="enable ipv6 for droplet", field="IPv6"),
    DriverOption(
        "monitoring",
        type="bool",
        default=False,
        flag="digitalocean-monitoring",
        env="DIGITALOCEAN_MONITORING",
        help="enable monitoring for droplet",
        field="Monitoring",
    ),
    DriverOption(
        "private_networking",
        type="bool",
        default=False,
        flag="digitalocean-private-networking",
        env="DIGITALOCEAN_PRIVATE_NETWORKING",
        help="enable private networking for droplet",
        field="PrivateNetworking",
    ),
    DriverOption("region", default="nyc3", flag="digitalocean-region", env="DIGITALOCEAN_REGION", help="Digital Ocean region", field="Region"),
    DriverOption("size", default="s-1vcpu-1gb", flag="digitalocean-size", env="DIGITALOCEAN_SIZE", help="Digital Ocean size", field="Size"),
    DriverOption(
        "ssh_key_fingerprint",
        public=True,
        flag="digitalocean-ssh-key-fingerprint",
        env="DIGITALOCEAN_SSH_KEY_FINGERPRINT",
        help="SSH key fingerprint",
        field="SSHKeyFingerprint",
    ),
    DriverOption("ssh_key_path", type="path", flag="digitalocean-ssh-key-path", env="DIGITALOCEAN_SSH_KEY_PATH", help="SSH private key path"),
    DriverOption("ssh_port", type="int", default=22, flag="digitalocean-ssh-port", env="DIGITALOCEAN_SSH_PORT", help="SSH port"),
    DriverOption("ssh_user", default="root", flag="digitalocean-ssh-user", env="DIGITALOCEAN_SSH_USER", help="SSH username"),
    DriverOption(
        "tags",
        type="list",
        default=(),
        flag="digitalocean-tags",
        env="DIGITALOCEAN_TAGS",
        help="comma-separated list of tags to apply to the Droplet",
        field="Tags",
        codec=CommaList(),
    ),
    DriverOption("userdata", type="path", flag="digitalocean-userdata", env="DIGITALOCEAN_USERDATA", help="path to file with cloud-init user-data"),
    DriverOption(
        "reserved_ip",
        type="bool",
        default=False,
        flag="digitalocean-reserved-ip",
        help="a reserved IP of the machine's own: its address (and certificate) never changes",
    ),
    DriverOption("reserved_ip_address", flag="digitalocean-reserved-ip-address", help="an existing reserved IP of yours to assign (never released)"),
    DriverOption(
        "firewall_cidrs",
        type="list",
        default=(),
        flag="digitalocean-firewall-cidrs",
        help="a cloud firewall of the machine's own opening SSH and 2376 to these CIDRs",
    ),
    DriverOption("firewalls", type="list", default=(), flag="digitalocean-firewalls", help="IDs of existing firewalls of yours to add the droplet to"),
    DriverOption(
        "adopt", type="bool", default=False, flag="digitalocean-adopt", help="take over the existing droplet tagged dockyard-machine:NAME, else named NAME"
    ),
)


def owner_tag(name: str) -> str:
    return OWNER_TAG_PREFIX + name


def split_tags(values: t.Iterable[str]) -> list[str]:
    """The user's tags: a list, each entry possibly the original's comma-separated string; blanks dropped, order kept."""
    tags: list[str] = []
    for value in values or ():
        for tag in str(value).split(","):
            tag = tag.strip()
            if tag and tag not in tags:
                tags.append(tag)
    return tags


def droplet_id(record: MachineRecord) -> int:
    """The record's droplet (0: none yet); a record is untrusted, so anything but a positive integer is refused."""
    value = record.driver.get("DropletID") or 0
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if number < 0 or isinstance(value, bool):
        raise DriverError("The record of machine %s holds DropletID %r, which is not a droplet id." % (record.name, value), machine=record.name)
    return number


def address_of(record: MachineRecord, droplet: t.Mapping[str, t.Any]) -> str:
    """The machine's address: its reserved IP when it has one, else the droplet's public IPv4 (the original's GetIP)."""
    reserved = record.sidecar.get("ReservedIp")
    if isinstance(reserved, dict) and reserved.get("Ip"):
        return str(reserved["Ip"])
    return public_ipv4(droplet)


class DigitalOceanDriver(Driver):
    name = "digitalocean"
    needs_ssh = True
    supports_power = True
    has_cloud_resources = True
    creates_hosts = True
    host_noun = "droplet"
    create_step = "create droplet"
    default_engine_port = ENGINE_PORT
    # What a create learns from DigitalOcean: a converge keeps these from the record instead of the task's options.
    cloud_fields = ("IPAddress", "DropletID", "DropletName", "SSHKeyID", "SSHKeyPath", "Region", "Image", "Size")
    #: The sidecar keys this driver writes, each with the shape a bundle's copy must have (records are untrusted).
    sidecar_keys = (
        # The API a machine made elsewhere than DigitalOcean's was made through: a task naming another is refused.
        SidecarKey("APIURL", str, "an API address"),
        SidecarKey("CreateToken", re.compile(r"[0-9a-f]{16}"), "a create token"),
        SidecarKey("Firewall", {"Name": str, "Id": optional(str)}, "a firewall's name and ID"),
        SidecarKey("ReservedIp", {"Ip": str, "Created": bool}, "a reserved IP and whether it was made for the machine"),
        SidecarKey("Adopted", int, "a droplet ID"),
    )
    OPTIONS = OPTIONS
    TASK_OPTIONS = TASK_OPTIONS

    # -- reaching DigitalOcean ----------------------------------------------------------------------------

    def _task_url(self) -> str:
        return str(self.cloud_options.get("digitalocean_api_url") or "").rstrip("/")

    def api(self, record: MachineRecord, timeout: float) -> DigitalOceanAPI:
        """A client for the machine's API: the task's URL (else DigitalOcean's) and token. A record that names another
        API is refused: a record never chooses where the token goes."""
        task_url = self._task_url()
        recorded = str(record.sidecar.get("APIURL") or "").rstrip("/")
        if recorded and recorded != (task_url or DEFAULT_API_URL):
            raise DriverError(
                "Machine %s was made through the DigitalOcean API at %s, and this task names %s: set option digitalocean_api_url to %s "
                "to manage it (a record never chooses where the access token is sent)." % (record.name, recorded, task_url or DEFAULT_API_URL, recorded),
                machine=record.name,
                option="digitalocean_api_url",
            )
        return self.make_api(self._token(), task_url, timeout)

    def _token(self) -> str:
        return str(self.cloud_options.get("digitalocean_access_token") or os.environ.get(TOKEN_ENV) or "")

    def make_api(self, token: str, base_url: str, timeout: float) -> DigitalOceanAPI:
        """Seam for tests: the client the driver talks through."""
        return DigitalOceanAPI(token, base_url, timeout=timeout)

    def note_api(self, record: MachineRecord) -> None:
        """A machine made through another API than DigitalOcean's keeps its URL, so later tasks must name the same."""
        if self._task_url() and self._task_url() != DEFAULT_API_URL:
            record.sidecar["APIURL"] = self._task_url()

    # -- reading records --------------------------------------------------------------------------------

    def engine_port(self, record: MachineRecord) -> int:
        return ENGINE_PORT

    def tags(self, record: MachineRecord) -> dict[str, str]:
        """The record's tags (the original's comma-separated ``Tags``) as a mapping: ``key:value`` tags split at the first
        colon, others with an empty value."""
        raw = record.driver.get("Tags")
        found: dict[str, str] = {}
        for tag in split_tags([raw if isinstance(raw, str) else ""]):
            key, _sep, value = tag.partition(":")
            found[key] = value
        return found

    def has_host(self, record: MachineRecord) -> bool:
        try:
            return droplet_id(record) > 0
        except DriverError:
            return False

    def state(self, record: MachineRecord, timeout: float) -> str:
        number = droplet_id(record)
        if not number:
            return "Error"
        try:
            droplet = self.api(record, timeout).droplet(number)
        except APIError as exc:
            raise DriverError("Cannot read the state of droplet %d: %s" % (number, exc.msg), machine=record.name) from exc
        if droplet is None:
            return "Error"
        return STATE_MAP.get(str(droplet.get("status")), "Error")

    # -- options and records ----------------------------------------------------------------------------

    def validate(self, options: t.Mapping[str, t.Any] | None) -> dict[str, t.Any]:
        checked = {o.name: o.fallback() for o in OPTIONS}
        checked.update({k: v for k, v in (options or {}).items() if v is not None})
        if not self._token():  # the original's pre-create check, before the store or DigitalOcean is touched
            raise DriverError(
                "digitalocean driver requires an access token: set option digitalocean_access_token or the environment's %s." % TOKEN_ENV,
                option="digitalocean_access_token",
            )
        key, fingerprint = checked.get("ssh_key_path"), checked.get("ssh_key_fingerprint")
        if key and not os.path.isfile(key):
            raise DriverError('SSH key does not exist: "%s". Fix option digitalocean.ssh_key_path.' % key, option="digitalocean.ssh_key_path")
        if key and not fingerprint and not checked.get("adopt") and not os.path.isfile(key + ".pub"):
            raise DriverError(
                'The public half "%s.pub" of digitalocean.ssh_key_path is missing: it is imported as the machine\'s SSH key. Create it '
                "(ssh-keygen -y -f KEY > KEY.pub) or set digitalocean.ssh_key_fingerprint to a key already in your account." % key,
                option="digitalocean.ssh_key_path",
            )
        if checked.get("adopt") and not key:
            raise DriverError(
                "Adopting an existing droplet needs digitalocean.ssh_key_path: the private key it accepts (for a machine this collection "
                "made, the machine folder's id_rsa from a backup of the store).",
                option="digitalocean.ssh_key_path",
            )
        user_data = checked.get("userdata")
        if user_data and (not os.path.isfile(user_data) or os.path.getsize(user_data) > USER_DATA_LIMIT):
            raise DriverError(
                'user-data file "%s" must exist and hold at most 64 KiB: fix option digitalocean.userdata.' % user_data, option="digitalocean.userdata"
            )
        for tag in split_tags(checked.get("tags") or []):
            if not _TAG.match(tag):
                raise DriverError(
                    "Tag %r may hold only letters, numbers, colons, dashes and underscores: fix option digitalocean.tags." % tag, option="digitalocean.tags"
                )
        for cidr in checked.get("firewall_cidrs") or []:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise DriverError("%r is not a CIDR block: fix option digitalocean.firewall_cidrs." % cidr, option="digitalocean.firewall_cidrs") from None
        if checked.get("reserved_ip") and checked.get("reserved_ip_address"):
            raise DriverError(
                "Set digitalocean.reserved_ip (one of its own) or digitalocean.reserved_ip_address (yours), not both.", option="digitalocean.reserved_ip"
            )
        if checked.get("reserved_ip_address"):
            try:
                ipaddress.IPv4Address(checked["reserved_ip_address"])
            except ValueError:
                raise DriverError(
                    "%r is not an IPv4 address: fix option digitalocean.reserved_ip_address." % checked["reserved_ip_address"],
                    option="digitalocean.reserved_ip_address",
                ) from None
        if not 0 < int(checked.get("ssh_port") or 0) < 65536:
            raise DriverError("digitalocean.ssh_port must be a port number (1-65535).", option="digitalocean.ssh_port")
        return checked

    def driver_section(self, name: str, root: str, options: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        """The original's record: BaseDriver, then its Driver struct's fields in order (AccessToken always empty)."""
        key = options.get("ssh_key_path") or ""
        if key:
            key_path = os.path.join(root, "machines", name, os.path.basename(key))
        elif options.get("ssh_key_fingerprint"):
            key_path = ""  # the original: the user's agent and default keys
        else:
            key_path = os.path.join(root, "machines", name, "id_rsa")
        section = base_fields(name, root, ssh_user=options.get("ssh_user") or "root", ssh_port=int(options.get("ssh_port") or 22), ssh_key_path=key_path)
        copied = to_fields(OPTIONS, options)
        section.update(
            {
                "AccessToken": "",
                "DropletID": 0,
                "DropletName": "",
                "Image": copied["Image"],
                "Region": copied["Region"],
                "SSHKeyID": 0,
                "SSHKeyFingerprint": copied["SSHKeyFingerprint"] or "",
                "SSHKey": os.path.abspath(key) if key else "",
                "Size": copied["Size"],
                "IPv6": bool(copied["IPv6"]),
                "Backups": bool(copied["Backups"]),
                "PrivateNetworking": bool(copied["PrivateNetworking"]),
                "UserDataFile": os.path.abspath(options["userdata"]) if options.get("userdata") else "",
                "Monitoring": bool(copied["Monitoring"]),
                "Tags": copied["Tags"],
            }
        )
        return section

    def local_files(self, name: str, root: str, options: t.Mapping[str, t.Any]) -> dict[str, tuple[str, int]]:
        key = options.get("ssh_key_path")
        if not key:
            return {}
        copy = os.path.join(root, "machines", name, os.path.basename(key))  # the original's copy
        files = {copy: (key, 0o600)}
        if os.path.isfile(key + ".pub"):
            files[copy + ".pub"] = (key + ".pub", 0o600)
        return files

    def recorded_options(self, record: MachineRecord) -> dict[str, t.Any]:
        d, side = record.driver, record.sidecar
        values = from_fields(OPTIONS, d)
        # The copy in the machine folder of the key the create was given; never the path the record names.
        key = str(d.get("SSHKey") or "")
        if key and record.ssh_key_path and os.path.isfile(record.ssh_key_path):
            key = record.ssh_key_path
        reserved = side.get("ReservedIp") if isinstance(side.get("ReservedIp"), dict) else {}
        values.update(
            {
                "ssh_key_fingerprint": d.get("SSHKeyFingerprint") or None,
                "ssh_key_path": key or None,
                "ssh_port": record.ssh_port,
                "ssh_user": record.ssh_user,
                "userdata": d.get("UserDataFile") or None,
                "reserved_ip": bool(reserved.get("Created")),
                "reserved_ip_address": reserved.get("Ip") if reserved and not reserved.get("Created") else None,
                "firewall_cidrs": [],
                "firewalls": [],
                "adopt": False,
            }
        )
        return values

    # -- the host ---------------------------------------------------------------------------------------

    def ensure_host(self, record: MachineRecord, options: t.Mapping[str, t.Any], context: HostContext) -> list[str]:
        from ansible_collections.dockyard.machine.plugins.module_utils._drivers.digitalocean_create import ensure_droplet

        record.driver["AccessToken"] = ""  # an original record's token is never written back
        return ensure_droplet(self, record, options, context)

    def power(self, record: MachineRecord, action: str, timeout: float, *, force: bool = False) -> bool:
        """``start``, ``stop`` (``force``: power off) or ``restart`` the droplet through droplet actions, each waited for;
        False when it already was so. The record's address is refreshed after a start or restart."""
        number = droplet_id(record)
        if not number:
            raise DriverError("Machine %s has no droplet in its record: create it first (state=present)." % record.name, machine=record.name, option="state")
        api = self.api(record, min(timeout, 60))
        step = "%s droplet" % action
        try:
            droplet = self.live_droplet(api, record, step)
            status = str(droplet.get("status"))
            if (action == "start" and status == "active") or (action == "stop" and status == "off"):
                changed = False
            else:
                kind = {"start": "power_on", "stop": "power_off" if force else "shutdown", "restart": "reboot"}[action]
                if action == "start" and status == "new":
                    kind = ""
                if kind:
                    api.wait_action(api.droplet_action(number, kind), timeout)
                changed = bool(kind)
            if action != "stop":
                droplet = wait_active(api, record, number, timeout)
                address = address_of(record, droplet)
                if address:
                    record.driver["IPAddress"] = address
        except APIError as exc:
            raise DriverError(
                "Cannot %s droplet %d of machine %s: %s" % (action, number, record.name, exc.msg),
                machine=record.name,
                step=step,
                option=exc.details.get("option"),
            ) from exc
        record.driver["AccessToken"] = ""
        return changed

    def live_droplet(self, api: DigitalOceanAPI, record: MachineRecord, step: str, remedy: str = "") -> dict[str, t.Any]:
        number = droplet_id(record)
        droplet = api.droplet(number)
        if droplet is None or droplet.get("status") == "archive":
            raise DriverError(
                "Droplet %d of machine %s is %s: remove the machine (state=absent)%s."
                % (number, record.name, "gone" if droplet is None else "archived", remedy),
                machine=record.name,
                step=step,
                option="state",
            )
        return droplet

    # -- cloud resources ------------------------------------------------------------------------------

    @staticmethod
    def own_key_id(record: MachineRecord) -> int:
        """The SSH key the create imported for this machine; never the user's (given by fingerprint)."""
        if record.driver.get("SSHKeyFingerprint"):
            return 0
        try:
            return max(0, int(record.driver.get("SSHKeyID") or 0))
        except (TypeError, ValueError):
            return 0

    @staticmethod
    def own_firewall(record: MachineRecord) -> dict[str, str]:
        firewall = record.sidecar.get("Firewall")
        return firewall if isinstance(firewall, dict) and (firewall.get("Id") or firewall.get("Name")) else {}

    @staticmethod
    def own_reserved_ip(record: MachineRecord) -> str:
        reserved = record.sidecar.get("ReservedIp")
        return str(reserved.get("Ip") or "") if isinstance(reserved, dict) and reserved.get("Created") else ""

    def cloud_resources(self, record: MachineRecord) -> list[str]:
        found = []
        number = droplet_id(record)
        if number:
            found.append("droplet %d" % number)
        elif record.sidecar.get("CreateToken"):
            found.append("the droplet tagged dockyard-create:%s, if any" % record.sidecar["CreateToken"])
        if self.own_key_id(record):
            found.append("SSH key %d" % self.own_key_id(record))
        firewall = self.own_firewall(record)
        if firewall:
            found.append("firewall %s" % (firewall.get("Id") or "%s, if it was made" % firewall.get("Name")))
        if self.own_reserved_ip(record):
            found.append("reserved IP %s" % self.own_reserved_ip(record))
        return ["DigitalOcean %s" % what for what in found]

    def remove_cloud_resources(self, record: MachineRecord, timeout: float) -> list[str]:
        """Delete the droplet, then the reserved IP, firewall and SSH key made for it. A key given by fingerprint, a firewall
        or reserved IP the user named, are never deleted; nor is a key or firewall whose name is not the one we gave."""
        from ansible_collections.dockyard.machine.plugins.module_utils._drivers.digitalocean_create import find_created, wait_gone

        removed: list[str] = []
        step = "connect to DigitalOcean"
        try:
            api = self.api(record, min(timeout, 30.0))
            step = "find the droplet"
            number = droplet_id(record) or find_created(api, record)
            if number:
                step = "delete droplet %d" % number
                droplet = api.droplet(number)
                if droplet is not None:
                    _check_ours(record, "droplet %d" % number, droplet.get("name"), droplet.get("tags"))
                    api.delete_droplet(number)
                    wait_gone(api, number, timeout)
                removed.append("DigitalOcean droplet %d" % number)
                record.driver["DropletID"] = 0
            reserved = self.own_reserved_ip(record)
            if reserved:
                step = "release reserved IP %s" % reserved
                api.delete_reserved_ip(reserved)
                removed.append("DigitalOcean reserved IP %s" % reserved)
            firewall = self.own_firewall(record)
            if firewall:
                step = "delete firewall %s" % (firewall.get("Id") or firewall.get("Name"))
                firewall_id = firewall.get("Id") or next((f["id"] for f in api.firewalls() if f.get("name") == firewall.get("Name")), "")
                if firewall_id:
                    found = api.firewall(firewall_id)
                    if found is not None:
                        _check_ours(record, "firewall %s" % firewall_id, found.get("name"), None)
                        api.delete_firewall(firewall_id)
                    removed.append("DigitalOcean firewall %s" % firewall_id)
            key_id = self.own_key_id(record)
            if key_id:
                step = "delete SSH key %d" % key_id
                key = api.ssh_key(key_id)
                if key is not None:
                    _check_ours(record, "SSH key %d" % key_id, key.get("name"), None)
                    api.delete_ssh_key(key_id)
                removed.append("DigitalOcean SSH key %d" % key_id)
        except DriverError as exc:
            left = [r for r in self.cloud_resources(record) if r not in removed]
            raise DriverError(
                "Cannot remove the cloud resources of machine %s (step '%s'): %s Still there: %s. Nothing was removed from the store. "
                "Give the access token (option digitalocean_access_token or DIGITALOCEAN_ACCESS_TOKEN) and run again, or set option 'force' "
                "to remove the record and leave them (and their bill)." % (record.name, step, exc.msg, ", ".join(left) or "nothing else we created"),
                machine=record.name,
                step="remove cloud resources",
                option=exc.details.get("option") or "force",
                cloud_resources=left,
            ) from exc
        return removed


def _check_ours(record: MachineRecord, what: str, name: t.Any, tags: t.Any) -> None:
    """Refuse to delete what the record names but we did not make: its name is not the one a create gives (a record or a
    bundle is untrusted input, and may name someone else's resource)."""
    names = {record.name, str(record.driver.get("DropletName") or ""), OWN_NAME_PREFIX + record.name}
    if str(name) in names or str(name).startswith(OWN_NAME_PREFIX + record.name + "-"):
        return
    if isinstance(tags, list) and owner_tag(record.name) in tags:
        return
    raise DriverError(
        "DigitalOcean %s is named %r, not as machine %s names what it makes: it is not deleted. Check the record, or set option "
        "'force' to remove only the record." % (what, name, record.name),
        machine=record.name,
        option="force",
    )


def wait_active(api: DigitalOceanAPI, record: MachineRecord, number: int, timeout: float, *, interval: float = 1.0) -> dict[str, t.Any]:
    """Poll the droplet until it is ``active`` with a public IPv4 address (bounded by ``timeout``)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        droplet = api.droplet(number)
        if droplet is None:
            raise DriverError(
                "Droplet %d of machine %s is gone: remove the machine (state=absent)." % (number, record.name),
                machine=record.name,
                step="wait for active",
                option="state",
            )
        if droplet.get("status") == "active" and public_ipv4(droplet):
            return droplet
        if time.monotonic() >= deadline:
            raise DriverError(
                "Droplet %d of machine %s is %s after %d s, not active with an address. It is in the record: run again to wait longer "
                "(option timeout), or state=absent to remove it." % (number, record.name, droplet.get("status"), timeout),
                machine=record.name,
                step="wait for active",
                option="timeout",
            )
        time.sleep(interval)
