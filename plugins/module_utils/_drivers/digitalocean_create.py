# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""Creating, resuming and adopting a digitalocean machine: SSH key, droplet, firewall and reserved IP.

Each resource is recorded (``HostContext.save``) before the next is made: the SSH key's id, a create token
(tagged on the droplet, so a droplet whose creation answer was lost is found again and never made twice), the
droplet's id, the firewall's name and then its id, the reserved IP. A create that fails leaves a record from
which a second run resumes and ``state=absent`` removes everything; a droplet DigitalOcean refused outright takes
the SSH key made for it along, so nothing is left.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import secrets
import time
import typing as t

from ansible_collections.dockyard.machine.plugins.module_utils._drivers.base import HostContext
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.digitalocean import (
    FLEET_TAG,
    OWN_NAME_PREFIX,
    DigitalOceanDriver,
    address_of,
    droplet_id,
    owner_tag,
    split_tags,
    wait_active,
)
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.digitalocean_api import APIError, DigitalOceanAPI
from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord

__all__ = ["CREATE_TAG_PREFIX", "ensure_droplet", "find_created", "key_fingerprint", "wait_gone"]

#: Tagged on a droplet with the record's create token before it is asked for.
CREATE_TAG_PREFIX = "dockyard-create:"
KEY_LIMIT = 16 * 1024


class CreateError(DriverError):
    """A step of a create failed; what was made is in the record."""


@contextlib.contextmanager
def _step(machine: str, step: str) -> t.Iterator[None]:
    """An API error in ``step`` becomes one sentence: what failed, why, and that the record can resume or be removed."""
    try:
        yield
    except CreateError:
        raise
    except APIError as exc:
        raise CreateError(
            "Creating machine %s failed at step '%s': %s Everything created so far is in the record: run the task again to resume, "
            "or state=absent to remove it." % (machine, step, exc.msg),
            machine=machine,
            step=step,
            option=exc.details.get("option"),
            api_status=exc.status or None,
            api_error=exc.error_id or None,
        ) from exc


def key_fingerprint(public_key: str) -> str:
    """DigitalOcean's fingerprint of an OpenSSH public key line: MD5 of the key blob, colon-separated hex."""
    try:
        blob = base64.b64decode(public_key.split()[1], validate=True)
    except (IndexError, ValueError):
        raise DriverError("%r is not an OpenSSH public key line." % public_key[:60], option="digitalocean.ssh_key_path") from None
    digest = hashlib.md5(blob).hexdigest()  # DigitalOcean's key id format, not a security check
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def find_created(api: DigitalOceanAPI, record: MachineRecord) -> int:
    """The droplet a create asked for with the record's token (its answer may have been lost); 0 when there is none."""
    token = str(record.sidecar.get("CreateToken") or "")
    if not token:
        return 0
    found = api.droplets(tag=CREATE_TAG_PREFIX + token)
    return int(found[0]["id"]) if found else 0


def wait_gone(api: DigitalOceanAPI, number: int, timeout: float, *, interval: float = 1.0) -> None:
    deadline = time.monotonic() + timeout
    while api.droplet(number) is not None:
        if time.monotonic() >= deadline:
            raise DriverError("Droplet %d is still there %d s after its deletion: run again, or raise option timeout." % (number, timeout), option="timeout")
        time.sleep(interval)


def ensure_droplet(driver: DigitalOceanDriver, record: MachineRecord, options: t.Mapping[str, t.Any], context: HostContext) -> list[str]:
    """Bring the machine's droplet to active with every resource it should have; returns the steps taken. The record's
    address is the current one afterwards (the caller re-issues the certificate when it changed)."""
    d = record.driver
    steps: list[str] = []
    name = record.name
    api = driver.api(record, min(context.timeout, 60))
    driver.note_api(record)
    if not droplet_id(record) and record.sidecar.get("CreateToken"):
        with _step(name, "find created droplet"):
            found = find_created(api, record)
        if found:
            d["DropletID"], d["DropletName"] = found, name
            context.save()
    if not droplet_id(record) and options.get("adopt"):
        with _step(name, "adopt droplet"):
            _adopt(api, record, options, context, steps)
    if droplet_id(record):
        with _step(name, "start droplet"):
            droplet = _converge(driver, api, record, context, steps)
    else:
        droplet = _create(api, record, options, context, steps)
    with _step(name, "firewall"):
        _ensure_firewalls(api, record, options, context, steps)
    with _step(name, "reserved ip"):
        _ensure_reserved_ip(api, record, options, droplet, context, steps)
    address = address_of(record, droplet)
    if address != d.get("IPAddress"):
        if d.get("IPAddress"):
            steps.append("address")
        d["IPAddress"] = address
        context.save()
    return steps


def _converge(driver: DigitalOceanDriver, api: DigitalOceanAPI, record: MachineRecord, context: HostContext, steps: list[str]) -> dict[str, t.Any]:
    number = droplet_id(record)
    droplet = driver.live_droplet(api, record, "read droplet", " and create it again")
    if droplet.get("status") == "off":
        api.wait_action(api.droplet_action(number, "power_on"), context.timeout)
        steps.append("start droplet")
    if droplet.get("status") != "active" or "start droplet" in steps:
        droplet = wait_active(api, record, number, context.timeout)
    return droplet


def _create(api: DigitalOceanAPI, record: MachineRecord, options: t.Mapping[str, t.Any], context: HostContext, steps: list[str]) -> dict[str, t.Any]:
    d, side, name = record.driver, record.sidecar, record.name
    with _step(name, "check region"):
        _check_region(api, name, str(d["Region"]), str(d["Size"]))
    with _step(name, "ssh key"):
        key_id = _ensure_key(api, record, options, context, steps)
    if not side.get("CreateToken"):
        side["CreateToken"] = secrets.token_hex(8)
        context.save()
    body: dict[str, t.Any] = {
        "name": name,
        "region": d["Region"],
        "size": d["Size"],
        "image": d["Image"],
        "ssh_keys": [key_id],
        "backups": bool(d.get("Backups")),
        "ipv6": bool(d.get("IPv6")),
        "monitoring": bool(d.get("Monitoring")),
        "tags": [FLEET_TAG, owner_tag(name), CREATE_TAG_PREFIX + side["CreateToken"]] + split_tags([str(d.get("Tags") or "")]),
    }
    if d.get("PrivateNetworking"):
        body["private_networking"] = True
    if options.get("userdata"):
        # The file the task passed; the path a record keeps (UserDataFile) is never read again.
        with open(options["userdata"], "rb") as handle:
            body["user_data"] = handle.read(64 * 1024 + 1).decode("utf-8", "replace")
    try:
        droplet = api.create_droplet(body)
    except APIError as exc:
        refused = 400 <= exc.status < 500  # DigitalOcean said no: nothing was made (a 5xx or no answer may have made it)
        undo = (
            _undo_before_droplet(api, record, context)
            if refused
            else (
                "Whether the droplet was made is not known: run the task again to find it (it is tagged with the record's create token), or "
                "state=absent to remove it."
            )
        )
        raise CreateError(
            "Creating machine %s failed at step 'create droplet': %s %s" % (name, exc.msg, undo),
            machine=name,
            step="create droplet",
            option=exc.details.get("option"),
            api_status=exc.status or None,
            api_error=exc.error_id or None,
        ) from exc
    d["DropletID"], d["DropletName"] = int(droplet["id"]), name
    context.save()
    steps.append("create droplet")
    with _step(name, "wait for active"):
        return wait_active(api, record, int(droplet["id"]), context.timeout)


def _undo_before_droplet(api: DigitalOceanAPI, record: MachineRecord, context: HostContext) -> str:
    """Delete the SSH key imported for a droplet DigitalOcean refused; returns what to tell the user."""
    key_id = DigitalOceanDriver.own_key_id(record)
    try:
        if key_id:
            api.delete_ssh_key(key_id)
            record.driver["SSHKeyID"] = 0
        record.sidecar.pop("CreateToken", None)
    except APIError as exc:  # what is left stays in the record, for absent
        context.save()
        return "Removing the SSH key made for it failed (%s): state=absent removes it." % exc.msg
    context.save()
    return "The SSH key made for it was removed: nothing was left in DigitalOcean." if key_id else "Nothing was left in DigitalOcean."


def _check_region(api: DigitalOceanAPI, machine: str, region: str, size: str) -> None:
    """The original's pre-create check (a region DigitalOcean has), and that it offers the size."""
    regions = {r.get("slug"): r for r in api.regions()}
    found = regions.get(region)
    if found is None or not found.get("available", True):
        raise CreateError(
            "digitalocean requires a valid region: %r is not one%s. Fix option digitalocean.region (one of %s)."
            % (region, "" if found is None else " that takes new droplets", ", ".join(sorted(str(s) for s, r in regions.items() if r.get("available", True)))),
            machine=machine,
            step="check region",
            option="digitalocean.region",
        )
    sizes = found.get("sizes")
    if isinstance(sizes, list) and size not in sizes:
        raise CreateError(
            "Region %s does not offer size %r: fix option digitalocean.size (one of %s)." % (region, size, ", ".join(str(s) for s in sizes)),
            machine=machine,
            step="check region",
            option="digitalocean.size",
        )


def _ensure_key(api: DigitalOceanAPI, record: MachineRecord, options: t.Mapping[str, t.Any], context: HostContext, steps: list[str]) -> int:
    """The SSH key the droplet is created with: the user's by fingerprint, else one imported for the machine (the public
    half of ``ssh_key_path``, or of a key made in the machine folder)."""
    d = record.driver
    fingerprint = str(d.get("SSHKeyFingerprint") or "")
    if fingerprint:
        key = api.ssh_key(fingerprint)
        if key is None:
            raise CreateError(
                "Digital Ocean SSH key with fingerprint %s doesn't exist: fix option digitalocean.ssh_key_fingerprint." % fingerprint,
                machine=record.name,
                step="ssh key",
                option="digitalocean.ssh_key_fingerprint",
            )
        d["SSHKeyID"] = int(key["id"])
        context.save()
        return int(key["id"])
    if DigitalOceanDriver.own_key_id(record) and api.ssh_key(DigitalOceanDriver.own_key_id(record)) is not None:
        return DigitalOceanDriver.own_key_id(record)
    public = _public_key(record, options, context)
    try:
        key = api.create_ssh_key(OWN_NAME_PREFIX + record.name, public)
    except APIError as exc:
        if exc.status != 422:
            raise
        # Already in the account: imported by a create whose answer was lost (ours), or the user's own (never ours to delete).
        key = api.ssh_key(key_fingerprint(public))
        if key is None:
            raise
        if key.get("name") != OWN_NAME_PREFIX + record.name:
            d["SSHKeyFingerprint"] = key_fingerprint(public)
    else:
        steps.append("ssh key")
    d["SSHKeyID"] = int(key["id"])
    context.save()
    return int(key["id"])


def _public_key(record: MachineRecord, options: t.Mapping[str, t.Any], context: HostContext) -> str:
    """The public key to import: ``ssh_key_path``'s .pub, else one made in the machine folder (id_rsa, 0600, as the original)."""
    key = options.get("ssh_key_path")
    if key:
        with open(key + ".pub", "rb") as handle:
            return handle.read(KEY_LIMIT).decode("ascii", "replace").strip()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    private_path = os.path.join(context.machine_dir, "id_rsa")
    if os.path.isfile(private_path) and os.path.isfile(private_path + ".pub"):  # made by a create that died later
        with open(private_path + ".pub", "rb") as handle:
            return " ".join(handle.read(KEY_LIMIT).decode("ascii", "replace").split()[:2])
    made = ed25519.Ed25519PrivateKey.generate()
    private = made.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    public = made.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode("ascii")
    context.write_file(private_path, private, 0o600)
    context.write_file(private_path + ".pub", ("%s %s\n" % (public, record.name)).encode(), 0o600)
    record.driver["SSHKeyPath"] = private_path
    context.save()
    return public


def _user_public_key(path: str) -> str:
    """The public half of the user's private key: its .pub, else derived from the key (OpenSSH format)."""
    if os.path.isfile(path + ".pub"):
        with open(path + ".pub", "rb") as handle:
            return handle.read(KEY_LIMIT).decode("ascii", "replace").strip()
    from cryptography.hazmat.primitives import serialization

    with open(path, "rb") as handle:
        private = serialization.load_ssh_private_key(handle.read(KEY_LIMIT), password=None)
    return private.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode("ascii")


def _ensure_firewalls(api: DigitalOceanAPI, record: MachineRecord, options: t.Mapping[str, t.Any], context: HostContext, steps: list[str]) -> None:
    """With ``firewall_cidrs``, a firewall of the machine's own opening SSH and the engine's port to them (all outbound
    traffic allowed); with ``firewalls``, the droplet added to each of those (the user's, never changed otherwise)."""
    number = droplet_id(record)
    side = record.sidecar
    cidrs = list(options.get("firewall_cidrs") or [])
    own = dict(side.get("Firewall") or {})
    if cidrs and not own:
        own = {"Id": "", "Name": "%s%s-%s" % (OWN_NAME_PREFIX, record.name, secrets.token_hex(4))}
        side["Firewall"] = own
        context.save()
    if own:
        if not own.get("Id"):
            existing = next((f for f in api.firewalls() if f.get("name") == own["Name"]), None)  # made by a run whose answer was lost
            if existing is None:
                everywhere = {"addresses": ["0.0.0.0/0", "::/0"]}
                existing = api.create_firewall(
                    {
                        "name": own["Name"],
                        "inbound_rules": [
                            {"protocol": "tcp", "ports": str(port), "sources": {"addresses": cidrs or ["0.0.0.0/0", "::/0"]}}
                            for port in (record.ssh_port, 2376)
                        ],
                        "outbound_rules": [
                            {"protocol": "tcp", "ports": "all", "destinations": everywhere},
                            {"protocol": "udp", "ports": "all", "destinations": everywhere},
                            {"protocol": "icmp", "destinations": everywhere},
                        ],
                        "droplet_ids": [number],
                    }
                )
                steps.append("firewall")
            own["Id"] = str(existing["id"])
            side["Firewall"] = own
            context.save()
        _join_firewall(api, own["Id"], number, steps, "digitalocean.firewall_cidrs", record.name)
    for firewall_id in options.get("firewalls") or []:
        _join_firewall(api, str(firewall_id), number, steps, "digitalocean.firewalls", record.name)


def _join_firewall(api: DigitalOceanAPI, firewall_id: str, number: int, steps: list[str], option: str, machine: str) -> None:
    firewall = api.firewall(firewall_id)
    if firewall is None:
        raise CreateError("Firewall %s does not exist: fix option %s." % (firewall_id, option), machine=machine, step="firewall", option=option)
    if number not in (firewall.get("droplet_ids") or []):
        api.add_droplet_to_firewall(firewall_id, number)
        steps.append("join firewall")


def _ensure_reserved_ip(
    api: DigitalOceanAPI, record: MachineRecord, options: t.Mapping[str, t.Any], droplet: t.Mapping[str, t.Any], context: HostContext, steps: list[str]
) -> None:
    """With ``reserved_ip``, an address of the machine's own (made once, released by absent); with ``reserved_ip_address``,
    the user's (never released). Either is assigned to the droplet, and is the machine's address."""
    side = record.sidecar
    reserved = dict(side.get("ReservedIp") or {})
    if not reserved:
        if options.get("reserved_ip"):
            region = str((droplet.get("region") or {}).get("slug") or record.driver["Region"])
            made = api.create_reserved_ip(region)
            reserved = {"Ip": str(made["ip"]), "Created": True}
            steps.append("reserved ip")
        elif options.get("reserved_ip_address"):
            reserved = {"Ip": str(options["reserved_ip_address"]), "Created": False}
        else:
            return
        side["ReservedIp"] = reserved
        context.save()
    current = api.reserved_ip(reserved["Ip"])
    if current is None:
        raise CreateError(
            "Reserved IP %s of machine %s does not exist: fix option digitalocean.reserved_ip_address, or remove the machine (state=absent)."
            % (reserved["Ip"], record.name),
            machine=record.name,
            step="reserved ip",
            option="digitalocean.reserved_ip_address",
        )
    holder = current.get("droplet") if isinstance(current.get("droplet"), dict) else {}
    if holder.get("id") != droplet_id(record):
        api.wait_action(api.assign_reserved_ip(reserved["Ip"], droplet_id(record)), context.timeout)
        steps.append("assign reserved ip")


def _adopt(api: DigitalOceanAPI, record: MachineRecord, options: t.Mapping[str, t.Any], context: HostContext, steps: list[str]) -> None:
    """A store that does not know the machine (a lost laptop) takes over its droplet: the one tagged
    ``dockyard-machine:NAME``, else the one named NAME; with the SSH key and firewall a create made for it."""
    d, side, name = record.driver, record.sidecar, record.name
    found = api.droplets(tag=owner_tag(name)) or [x for x in api.droplets(name=name) if x.get("name") == name]
    live = [x for x in found if x.get("status") != "archive"]
    if len(live) != 1:
        raise CreateError(
            "Adopting machine %s: %s droplet tagged %s or named %s. %s"
            % (
                name,
                "no" if not live else "more than one (%s)" % ", ".join(str(x.get("id")) for x in live),
                owner_tag(name),
                name,
                "Set digitalocean.adopt to false to create one." if not live else "Tag the one to adopt with %s only." % owner_tag(name),
            ),
            machine=name,
            step="adopt droplet",
            option="digitalocean.adopt",
        )
    droplet = live[0]
    number = int(droplet["id"])
    image = droplet.get("image") if isinstance(droplet.get("image"), dict) else {}
    d.update(
        {
            "DropletID": number,
            "DropletName": str(droplet.get("name") or name),
            "Region": str((droplet.get("region") or {}).get("slug") or d.get("Region")),
            "Size": str(droplet.get("size_slug") or d.get("Size")),
            "Image": str(image.get("slug") or image.get("id") or d.get("Image")),
        }
    )
    # The key a create imported for it (named for the machine) becomes ours again; any other key stays the user's.
    fingerprint = key_fingerprint(_user_public_key(str(options["ssh_key_path"])))
    key = api.ssh_key(fingerprint)
    if key is not None and key.get("name") == OWN_NAME_PREFIX + name:
        d["SSHKeyID"], d["SSHKeyFingerprint"] = int(key["id"]), ""
    else:
        d["SSHKeyID"], d["SSHKeyFingerprint"] = int(key["id"]) if key else 0, fingerprint
    mine = [f for f in api.firewalls() if number in (f.get("droplet_ids") or []) and str(f.get("name", "")).startswith("%s%s-" % (OWN_NAME_PREFIX, name))]
    if len(mine) == 1:
        side["Firewall"] = {"Id": str(mine[0]["id"]), "Name": str(mine[0]["name"])}
    held = [r for r in api.list("reserved_ips", "reserved_ips") if isinstance(r.get("droplet"), dict) and r["droplet"].get("id") == number]
    if held:
        side["ReservedIp"] = {"Ip": str(held[0]["ip"]), "Created": False}  # whose it is cannot be told: never released
    side["Adopted"] = number
    context.save()
    steps.append("adopt droplet")
