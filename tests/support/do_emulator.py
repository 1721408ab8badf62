"""A stateful DigitalOcean API v2 emulator for tests: stdlib http.server on 127.0.0.1, in a thread of the test process.

It keeps droplets, actions, SSH keys, firewalls, reserved IPs and tags, and serves regions, sizes and images; its
request and answer shapes follow DigitalOcean's public OpenAPI description (digitalocean/openapi): error objects
``{"id", "message", "request_id"}``, lists with ``links.pages`` and ``meta.total``, 202 for droplet, firewall and
reserved-IP creation, 201 for actions, 204 for deletions.

A droplet's public IPv4 address comes from ``DROPLET_NET`` (127.0.9.0/24, used by no other test), reserved IPs from
the top of it. A test makes a droplet real with ``on_create``: called in a thread with the droplet and the public
keys it was created with (it starts a machine container on the droplet's address); the droplet stays ``new`` until it
returns, then is ``active``. ``on_delete``, ``on_power`` and ``on_reserved_ip`` follow the rest of its life. Faults
are queued with ``fail_next``. Nothing here dials anything.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import ipaddress
import itertools
import json
import re
import threading
import time
import typing as t
import urllib.parse
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "dop_v1_emulator-test-token"
DROPLET_NET = ipaddress.ip_network("127.0.9.0/24")
FIRST_DROPLET_HOST = 10
FIRST_RESERVED_HOST = 200
REGIONS = ("nyc1", "nyc3", "ams3", "fra1", "sfo3")
SIZES = {"s-1vcpu-1gb": (1024, 1, 25, 6.0), "s-1vcpu-2gb": (2048, 1, 50, 12.0), "s-2vcpu-4gb": (4096, 2, 80, 24.0)}
IMAGES = {"ubuntu-24-04-x64": ("Ubuntu", "24.04 (LTS) x64"), "ubuntu-22-04-x64": ("Ubuntu", "22.04 (LTS) x64"), "debian-12-x64": ("Debian", "12 x64")}
# DigitalOcean's tag rule: letters, numbers, colons, dashes and underscores, at most 255.
TAG = re.compile(r"^[A-Za-z0-9:_\-]{1,255}$")
HOSTNAME = re.compile(r"^[A-Za-z0-9.\-]{1,255}$")

Hook = t.Callable[..., None]


def fingerprint(public_key: str) -> str:
    """DigitalOcean's fingerprint of an OpenSSH public key: MD5 of the key blob, colon-separated hex."""
    blob = base64.b64decode(public_key.split()[1])
    digest = hashlib.md5(blob).hexdigest()  # noqa: S324 - DigitalOcean's format, not a security check
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


class Fault(t.NamedTuple):
    method: str
    path: re.Pattern
    status: int
    body: dict | None
    headers: dict


class _Answer(Exception):
    def __init__(self, status: int, body: dict | None = None, headers: dict | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def _error(status: int, error_id: str, message: str) -> _Answer:
    return _Answer(status, {"id": error_id, "message": message, "request_id": str(uuid.uuid4())})


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class Emulator:
    url: str = ""
    token: str = TOKEN
    on_create: Hook | None = None
    on_delete: Hook | None = None
    on_power: Hook | None = None
    on_reserved_ip: Hook | None = None
    droplets: dict[int, dict] = field(default_factory=dict)
    actions: dict[int, dict] = field(default_factory=dict)
    ssh_keys: dict[int, dict] = field(default_factory=dict)
    firewalls: dict[str, dict] = field(default_factory=dict)
    reserved_ips: dict[str, dict] = field(default_factory=dict)
    tags: set[str] = field(default_factory=set)
    #: (method, path) of every request received, in order.
    requests: list[tuple[str, str]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    #: Droplet id -> the address it gets at its next power_on (a stop and start that moves it).
    next_address: dict[int, str] = field(default_factory=dict)
    #: The public keys each droplet was created with.
    droplet_keys: dict[int, list[str]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: t.Iterator[int] = field(default_factory=lambda: itertools.count(3164444))
    _threads: list[threading.Thread] = field(default_factory=list)

    # -- what tests use -------------------------------------------------------------------------------

    def reset(self) -> None:
        self.wait_idle()
        with self.lock:
            for store in (self.droplets, self.actions, self.ssh_keys, self.firewalls, self.reserved_ips, self.next_address, self.droplet_keys):
                store.clear()
            self.tags.clear()
            self.requests.clear()
            self.faults.clear()
            self.on_create = self.on_delete = self.on_power = self.on_reserved_ip = None

    def fail_next(self, method: str, path: str, status: int, body: dict | None = None, *, times: int = 1, headers: dict | None = None) -> None:
        """The next ``times`` requests ``method`` to a path matching the regex ``path`` get ``status`` (and ``body``)."""
        if body is None and status != 0:
            body = {
                "id": {429: "too_many_requests", 422: "unprocessable_entity", 404: "not_found", 401: "unauthorized"}.get(status, "server_error"),
                "message": "Injected by the test.",
                "request_id": str(uuid.uuid4()),
            }
        with self.lock:
            self.faults.extend(Fault(method, re.compile(path), status, body, headers or {}) for _count in range(times))

    def resources(self) -> dict[str, list]:
        """Everything that exists (what a removal must leave at zero)."""
        with self.lock:
            return {
                "droplets": sorted(self.droplets),
                "ssh_keys": sorted(self.ssh_keys),
                "firewalls": sorted(self.firewalls),
                "reserved_ips": sorted(self.reserved_ips),
            }

    def add_ssh_key(self, name: str, public_key: str) -> dict:
        """An SSH key the user made (not through the driver)."""
        with self.lock:
            return self._create_key({"name": name, "public_key": public_key})

    def add_firewall(self, name: str) -> dict:
        with self.lock:
            return self._create_firewall({"name": name, "inbound_rules": [{"protocol": "tcp", "ports": "22", "sources": {"addresses": ["0.0.0.0/0"]}}]})

    def add_reserved_ip(self, region: str = "nyc3") -> dict:
        with self.lock:
            return self._new_reserved_ip(region)

    def wait_idle(self, timeout: float = 300) -> None:
        """Wait for every hook thread (containers started or removed)."""
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = [th for th in self._threads if th.is_alive()]

    def count(self, method: str, prefix: str) -> int:
        return sum(1 for m, p in self.requests if m == method and p.startswith(prefix))

    # -- dispatch ---------------------------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: t.Mapping[str, str], body: bytes) -> tuple[int, dict | None, dict]:
        parts = urllib.parse.urlsplit(raw_path)
        path, query = parts.path, dict(urllib.parse.parse_qsl(parts.query))
        with self.lock:
            self.requests.append((method, path))
            for fault in self.faults:
                if fault.method == method and fault.path.search(path):
                    self.faults.remove(fault)
                    if fault.status == 0:  # no answer at all: the client times out
                        return 0, None, {}
                    return fault.status, fault.body, fault.headers
            try:
                if headers.get("Authorization") != "Bearer %s" % self.token:
                    raise _error(401, "unauthorized", "Unable to authenticate you")
                doc = json.loads(body.decode() or "{}") if body else {}
                if not isinstance(doc, dict):
                    raise _error(400, "bad_request", "The request body is not a JSON object.")
                status, answer = self._route(method, path, query, doc)
            except _Answer as answer_exc:
                return answer_exc.status, answer_exc.body, answer_exc.headers
            except (ValueError, KeyError, TypeError) as exc:
                return 422, {"id": "unprocessable_entity", "message": "Bad request: %s" % exc, "request_id": str(uuid.uuid4())}, {}
            return status, answer, {}

    def _route(self, method: str, path: str, query: dict, doc: dict) -> tuple[int, dict | None]:
        segments = [s for s in path.split("/") if s][1:] if path.startswith("/v2/") else None
        if not segments:
            raise _error(404, "not_found", "The resource you were accessing could not be found.")
        head, rest = segments[0], segments[1:]
        if head == "account" and not rest and method == "GET":
            return 200, {
                "account": {
                    "droplet_limit": 25,
                    "floating_ip_limit": 3,
                    "email": "test@example.com",
                    "uuid": "b6fr89dbf6d9156cace5f3c78dc9851d957381ef",
                    "email_verified": True,
                    "status": "active",
                    "status_message": "",
                }
            }
        if head == "account" and rest[:1] == ["keys"]:
            return self._keys(method, rest[1:], query, doc)
        if head == "regions" and method == "GET":
            return 200, self._page("regions", [self._region(r) for r in REGIONS], query)
        if head == "sizes" and method == "GET":
            return 200, self._page("sizes", [self._size(s) for s in SIZES], query)
        if head == "images" and method == "GET":
            if rest:
                if rest[0] not in IMAGES:
                    raise _error(404, "not_found", "The resource you were accessing could not be found.")
                return 200, {"image": self._image(rest[0])}
            return 200, self._page("images", [self._image(i) for i in IMAGES], query)
        if head == "droplets":
            return self._droplets(method, rest, query, doc)
        if head == "actions" and method == "GET":
            if not rest:
                return 200, self._page("actions", [self._action_view(a) for a in self.actions.values()], query)
            return 200, {"action": self._action_view(self._get(self.actions, int(rest[0])))}
        if head == "firewalls":
            return self._firewalls(method, rest, query, doc)
        if head == "reserved_ips":
            return self._reserved(method, rest, query, doc)
        if head == "tags":
            if method == "POST":
                name = str(doc.get("name") or "")
                if not TAG.match(name):
                    raise _error(422, "unprocessable_entity", "name must be letters, numbers, colons, dashes and underscores")
                self.tags.add(name)
                return 201, {"tag": {"name": name, "resources": {"count": 0}}}
            if method == "GET" and not rest:
                return 200, self._page("tags", [{"name": n} for n in sorted(self.tags)], query)
        raise _error(404, "not_found", "The resource you were accessing could not be found.")

    @staticmethod
    def _get(table: dict, key: t.Any) -> dict:
        if key not in table:
            raise _error(404, "not_found", "The resource you were accessing could not be found.")
        return table[key]

    def _page(self, key: str, items: list[dict], query: dict) -> dict:
        per_page = max(1, min(200, int(query.get("per_page") or 20)))
        page = max(1, int(query.get("page") or 1))
        last = max(1, -(-len(items) // per_page))
        pages: dict[str, str] = {}
        base = {k: v for k, v in query.items() if k not in ("page", "per_page")}

        def link(number: int) -> str:
            return "%s/v2/%s?%s" % (self.url, key if key != "ssh_keys" else "account/keys", urllib.parse.urlencode(dict(base, page=number, per_page=per_page)))

        if page < last:
            pages.update(next=link(page + 1), last=link(last))
        if page > 1:
            pages.update(first=link(1), prev=link(page - 1))
        return {key: items[(page - 1) * per_page:page * per_page], "links": {"pages": pages} if pages else {}, "meta": {"total": len(items)}}

    # -- catalogue ----------------------------------------------------------------------------------

    @staticmethod
    def _region(slug: str) -> dict:
        return {
            "slug": slug,
            "name": slug.upper(),
            "sizes": list(SIZES),
            "available": True,
            "features": ["backups", "ipv6", "metadata", "install_agent", "server_id", "management_networking"],
        }

    @staticmethod
    def _size(slug: str) -> dict:
        memory, vcpus, disk, monthly = SIZES[slug]
        return {
            "slug": slug,
            "memory": memory,
            "vcpus": vcpus,
            "disk": disk,
            "transfer": 1.0,
            "price_monthly": monthly,
            "price_hourly": round(monthly / 730, 5),
            "regions": list(REGIONS),
            "available": True,
            "description": "Basic",
        }

    @staticmethod
    def _image(slug: str) -> dict:
        distribution, name = IMAGES[slug]
        return {
            "id": 100000 + sorted(IMAGES).index(slug),
            "name": name,
            "distribution": distribution,
            "slug": slug,
            "public": True,
            "regions": list(REGIONS),
            "created_at": "2024-04-25T00:00:00Z",
            "type": "base",
            "min_disk_size": 7,
            "size_gigabytes": 2.3,
            "description": name,
            "tags": [],
            "status": "available",
            "error_message": "",
        }

    # -- SSH keys -----------------------------------------------------------------------------------

    def _keys(self, method: str, rest: list[str], query: dict, doc: dict) -> tuple[int, dict | None]:
        if not rest:
            if method == "GET":
                return 200, self._page("ssh_keys", list(self.ssh_keys.values()), query)
            if method == "POST":
                return 201, {"ssh_key": self._create_key(doc)}
        else:
            key = self._find_key(rest[0])
            if method == "GET":
                return 200, {"ssh_key": key}
            if method == "DELETE":
                del self.ssh_keys[key["id"]]
                return 204, None
        raise _error(405, "method_not_allowed", "Method not allowed")

    def _find_key(self, id_or_fingerprint: str) -> dict:
        for key in self.ssh_keys.values():
            if str(key["id"]) == id_or_fingerprint or key["fingerprint"] == id_or_fingerprint:
                return key
        raise _error(404, "not_found", "The resource you were accessing could not be found.")

    def _create_key(self, doc: dict) -> dict:
        name, public = str(doc.get("name") or ""), str(doc.get("public_key") or "")
        if not name:
            raise _error(422, "unprocessable_entity", "Name can't be blank")
        try:
            print_ = fingerprint(public)
        except (IndexError, ValueError):
            raise _error(422, "unprocessable_entity", "Key invalid, key should be of the format `type key [comment]`") from None
        if any(k["fingerprint"] == print_ for k in self.ssh_keys.values()):
            raise _error(422, "unprocessable_entity", "SSH Key is already in use on your account")
        key = {"id": next(self._ids), "fingerprint": print_, "public_key": public.strip(), "name": name}
        self.ssh_keys[key["id"]] = key
        return key

    # -- droplets -----------------------------------------------------------------------------------

    def _droplets(self, method: str, rest: list[str], query: dict, doc: dict) -> tuple[int, dict | None]:
        if not rest:
            if method == "GET":
                found = [
                    d
                    for d in self.droplets.values()
                    if (not query.get("tag_name") or query["tag_name"] in d["tags"]) and (not query.get("name") or d["name"] == query["name"])
                ]
                return 200, self._page("droplets", [self._droplet_view(d) for d in found], query)
            if method == "POST":
                droplet, action = self._create_droplet(doc)
                return 202, {
                    "droplet": self._droplet_view(droplet),
                    "links": {"actions": [{"id": action["id"], "rel": "create", "href": "%s/v2/actions/%d" % (self.url, action["id"])}]},
                }
            raise _error(405, "method_not_allowed", "Method not allowed")
        droplet = self._get(self.droplets, int(rest[0]))
        if not rest[1:]:
            if method == "GET":
                return 200, {"droplet": self._droplet_view(droplet)}
            if method == "DELETE":
                self._delete_droplet(droplet)
                return 204, None
        if rest[1:] == ["actions"] and method == "POST":
            return 201, {"action": self._action_view(self._power(droplet, str(doc.get("type") or "")))}
        raise _error(405, "method_not_allowed", "Method not allowed")

    def _create_droplet(self, doc: dict) -> tuple[dict, dict]:
        name = doc.get("name")
        if not isinstance(name, str) or not HOSTNAME.match(name):
            raise _error(422, "unprocessable_entity", "Name Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)")
        if doc.get("region") not in REGIONS:
            raise _error(422, "unprocessable_entity", "You specified an invalid region for Droplet creation.")
        if doc.get("size") not in SIZES:
            raise _error(422, "unprocessable_entity", "You specified an invalid size for Droplet creation.")
        image = doc.get("image")
        if image not in IMAGES:
            raise _error(422, "unprocessable_entity", "You specified an invalid image for Droplet creation.")
        keys = []
        for ref in doc.get("ssh_keys") or []:
            try:
                keys.append(self._find_key(str(ref))["public_key"])
            except _Answer:
                raise _error(422, "unprocessable_entity", "You specified an invalid SSH key ID or fingerprint.") from None
        tags = doc.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(tag, str) and TAG.match(tag) for tag in tags):
            raise _error(422, "unprocessable_entity", "Tag names must be letters, numbers, colons, dashes and underscores.")
        user_data = doc.get("user_data")
        if user_data is not None and (not isinstance(user_data, str) or len(user_data.encode()) > 64 * 1024):
            raise _error(422, "unprocessable_entity", "User data must be text of at most 64 KiB.")
        self.tags.update(tags)
        droplet_id = next(self._ids)
        memory, vcpus, disk, monthly = SIZES[doc["size"]]
        features = [
            f
            for f, on in (
                ("backups", doc.get("backups")),
                ("ipv6", doc.get("ipv6")),
                ("monitoring", doc.get("monitoring")),
                ("private_networking", doc.get("private_networking")),
            )
            if on
        ]
        droplet = {
            "id": droplet_id,
            "name": name,
            "memory": memory,
            "vcpus": vcpus,
            "disk": disk,
            "locked": False,
            "status": "new",
            "kernel": None,
            "created_at": _now(),
            "features": features,
            "backup_ids": [],
            "next_backup_window": None,
            "snapshot_ids": [],
            "image": self._image(image),
            "volume_ids": [],
            "size": self._size(doc["size"]),
            "size_slug": doc["size"],
            "networks": {"v4": [], "v6": []},
            "region": self._region(doc["region"]),
            "tags": list(tags),
            "vpc_uuid": str(uuid.uuid4()),
            "user_data": user_data,
        }
        self.droplets[droplet_id] = droplet
        self.droplet_keys[droplet_id] = keys
        action = self._new_action("create", droplet, done=False)
        address = self._free_address(FIRST_DROPLET_HOST, FIRST_RESERVED_HOST)
        droplet["_address"] = address  # taken now: a droplet created while this one boots gets another

        def boot() -> None:
            if self.on_create is not None:
                self.on_create(droplet=dict(droplet), address=address, public_keys=list(keys))
            with self.lock:
                if droplet_id in self.droplets:
                    self._set_address(droplet, address, bool(doc.get("private_networking")), bool(doc.get("ipv6")))
                    droplet["status"] = "active"
                    action.update(status="completed", completed_at=_now())

        self._in_thread(boot)
        return droplet, action

    def _in_thread(self, work: t.Callable[[], None]) -> None:
        thread = threading.Thread(target=work, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _free_address(self, first: int, last: int) -> str:
        used = {n["ip_address"] for d in self.droplets.values() for n in d["networks"]["v4"]} | set(self.reserved_ips)
        used |= {d.get("_address", "") for d in self.droplets.values()} | set(self.next_address.values())
        for host in range(first, last):
            candidate = str(DROPLET_NET[host])
            if candidate not in used:
                return candidate
        raise _error(422, "unprocessable_entity", "No address is left in %s." % DROPLET_NET)

    @staticmethod
    def _set_address(droplet: dict, address: str, private: bool, ipv6: bool) -> None:
        droplet["_address"] = address
        v4 = [{"ip_address": address, "netmask": "255.255.255.0", "gateway": str(DROPLET_NET[1]), "type": "public"}]
        if private:
            v4.append({"ip_address": "127.0.10.%d" % (int(address.rsplit(".", 1)[1])), "netmask": "255.255.255.0", "gateway": "", "type": "private"})
        droplet["networks"] = {
            "v4": v4,
            "v6": [{"ip_address": "fd00::%x" % droplet["id"], "netmask": 64, "gateway": "fd00::1", "type": "public"}] if ipv6 else [],
        }

    def _droplet_view(self, droplet: dict) -> dict:
        return {k: v for k, v in droplet.items() if not k.startswith("_") and k != "user_data"}

    def _delete_droplet(self, droplet: dict) -> None:
        del self.droplets[droplet["id"]]
        for firewall in self.firewalls.values():
            if droplet["id"] in firewall["droplet_ids"]:
                firewall["droplet_ids"].remove(droplet["id"])
        for reserved in self.reserved_ips.values():
            if reserved["droplet"] and reserved["droplet"]["id"] == droplet["id"]:
                reserved["droplet"] = None
        if self.on_delete is not None:
            hook, view = self.on_delete, dict(droplet)
            self._in_thread(lambda: hook(droplet=view))

    def _power(self, droplet: dict, kind: str) -> dict:
        if kind not in ("power_on", "power_off", "shutdown", "reboot", "power_cycle"):
            raise _error(422, "unprocessable_entity", "Action type is not valid for a Droplet: %r" % kind)
        if droplet["status"] == "new":
            raise _error(422, "unprocessable_entity", "Droplet is currently booting")
        action = self._new_action(kind, droplet, done=False)
        droplet_id = droplet["id"]

        def finish() -> None:
            moved = ""
            with self.lock:
                if kind == "power_on":
                    moved = self.next_address.pop(droplet_id, "")
            if self.on_power is not None:
                self.on_power(droplet=dict(droplet), kind=kind, address=moved)
            with self.lock:
                if moved and droplet_id in self.droplets:
                    self._set_address(droplet, moved, any(n["type"] == "private" for n in droplet["networks"]["v4"]), bool(droplet["networks"]["v6"]))
                droplet["status"] = "off" if kind in ("power_off", "shutdown") else "active"
                action.update(status="completed", completed_at=_now())

        self._in_thread(finish)
        return action

    def _new_action(self, kind: str, resource: dict, *, done: bool, resource_type: str = "droplet") -> dict:
        action = {
            "id": next(self._ids),
            "status": "completed" if done else "in-progress",
            "type": kind,
            "started_at": _now(),
            "completed_at": _now() if done else None,
            "resource_id": resource.get("id", 0),
            "resource_type": resource_type,
            "region": self._region(resource["region"]["slug"]) if resource.get("region") else None,
            "region_slug": resource["region"]["slug"] if resource.get("region") else None,
        }
        self.actions[action["id"]] = action
        return action

    @staticmethod
    def _action_view(action: dict) -> dict:
        return dict(action)

    # -- firewalls --------------------------------------------------------------------------------

    def _firewalls(self, method: str, rest: list[str], query: dict, doc: dict) -> tuple[int, dict | None]:
        if not rest:
            if method == "GET":
                return 200, self._page("firewalls", list(self.firewalls.values()), query)
            if method == "POST":
                return 202, {"firewall": self._create_firewall(doc)}
        else:
            firewall = self._get(self.firewalls, rest[0])
            if not rest[1:] and method == "GET":
                firewall["status"] = "succeeded"
                firewall["pending_changes"] = []
                return 200, {"firewall": firewall}
            if not rest[1:] and method == "DELETE":
                del self.firewalls[rest[0]]
                return 204, None
            if rest[1:] == ["droplets"] and method == "POST":
                for droplet_id in doc.get("droplet_ids") or []:
                    self._get(self.droplets, int(droplet_id))
                    if droplet_id not in firewall["droplet_ids"]:
                        firewall["droplet_ids"].append(droplet_id)
                return 204, None
        raise _error(405, "method_not_allowed", "Method not allowed")

    def _create_firewall(self, doc: dict) -> dict:
        name = doc.get("name")
        if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9.\-_]{1,255}$", name):
            raise _error(400, "bad_request", "name: must be made up of letters, numbers, dashes, underscores and periods")
        for rule in list(doc.get("inbound_rules") or []) + list(doc.get("outbound_rules") or []):
            if rule.get("protocol") not in ("tcp", "udp", "icmp") or not isinstance(rule.get("ports", ""), str):
                raise _error(400, "bad_request", "rules: protocol must be tcp, udp or icmp")
            for where in ("sources", "destinations"):
                for cidr in (rule.get(where) or {}).get("addresses") or []:
                    try:
                        ipaddress.ip_network(cidr, strict=False)
                    except ValueError:
                        raise _error(400, "bad_request", "%s: %r is not an address or CIDR" % (where, cidr)) from None
        droplet_ids = list(doc.get("droplet_ids") or [])
        for droplet_id in droplet_ids:
            self._get(self.droplets, int(droplet_id))
        firewall = {
            "id": str(uuid.uuid4()),
            "name": name,
            "status": "waiting",
            "created_at": _now(),
            "pending_changes": [{"droplet_id": d, "removing": False, "status": "waiting"} for d in droplet_ids],
            "inbound_rules": list(doc.get("inbound_rules") or []),
            "outbound_rules": list(doc.get("outbound_rules") or []),
            "droplet_ids": droplet_ids,
            "tags": list(doc.get("tags") or []),
        }
        self.firewalls[firewall["id"]] = firewall
        return firewall

    # -- reserved IPs ------------------------------------------------------------------------------

    def _reserved(self, method: str, rest: list[str], query: dict, doc: dict) -> tuple[int, dict | None]:
        if not rest:
            if method == "GET":
                return 200, self._page("reserved_ips", [self._reserved_view(r) for r in self.reserved_ips.values()], query)
            if method == "POST":
                if doc.get("droplet_id"):
                    droplet = self._get(self.droplets, int(doc["droplet_id"]))
                    reserved = self._new_reserved_ip(droplet["region"]["slug"])
                    self._assign(reserved, droplet)
                elif doc.get("region") in REGIONS:
                    reserved = self._new_reserved_ip(doc["region"])
                else:
                    raise _error(422, "unprocessable_entity", "Either a region or a droplet_id is required.")
                return 202, {"reserved_ip": self._reserved_view(reserved), "links": {}}
        else:
            reserved = self._get(self.reserved_ips, rest[0])
            if not rest[1:] and method == "GET":
                return 200, {"reserved_ip": self._reserved_view(reserved)}
            if not rest[1:] and method == "DELETE":
                del self.reserved_ips[rest[0]]
                return 204, None
            if rest[1:] == ["actions"] and method == "POST":
                if doc.get("type") == "assign":
                    droplet = self._get(self.droplets, int(doc.get("droplet_id") or 0))
                    if droplet["region"]["slug"] != reserved["region"]["slug"]:
                        raise _error(422, "unprocessable_entity", "The reserved IP and the Droplet must be in the same region.")
                    action = self._assign(reserved, droplet)
                elif doc.get("type") == "unassign":
                    reserved["droplet"] = None
                    action = self._new_action("unassign_ip", {"id": 0, "region": reserved["region"]}, done=True, resource_type="reserved_ip")
                else:
                    raise _error(422, "unprocessable_entity", "Action type must be assign or unassign.")
                return 201, {"action": action}
        raise _error(405, "method_not_allowed", "Method not allowed")

    def _new_reserved_ip(self, region: str) -> dict:
        ip = self._free_address(FIRST_RESERVED_HOST, 255)
        reserved = {"ip": ip, "region": self._region(region), "droplet": None, "locked": False, "project_id": str(uuid.uuid4())}
        self.reserved_ips[ip] = reserved
        return reserved

    def _assign(self, reserved: dict, droplet: dict) -> dict:
        reserved["droplet"] = droplet
        action = self._new_action("assign_ip", {"id": 0, "region": reserved["region"]}, done=False, resource_type="reserved_ip")
        hook, view = self.on_reserved_ip, dict(droplet)

        def finish() -> None:
            if hook is not None:
                hook(droplet=view, ip=reserved["ip"])
            with self.lock:
                action.update(status="completed", completed_at=_now())

        self._in_thread(finish)
        return action

    def _reserved_view(self, reserved: dict) -> dict:
        view = dict(reserved)
        if reserved["droplet"] is not None:
            view["droplet"] = self._droplet_view(reserved["droplet"])
        return view


class _Handler(BaseHTTPRequestHandler):
    emulator: Emulator
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, doc, headers = self.emulator.handle(self.command, self.path, dict(self.headers), body)
        if status == 0:
            time.sleep(float(headers.get("delay", 5)))
            self.close_connection = True
            return
        data = json.dumps(doc).encode() if doc is not None else b""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, str(value))
        self.send_header("ratelimit-limit", "5000")
        self.send_header("ratelimit-remaining", "4999")
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = do_PUT = _serve

    def log_message(self, format: str, *args: t.Any) -> None:  # noqa: A002 - http.server's signature
        pass


@contextlib.contextmanager
def emulator(token: str = TOKEN) -> t.Iterator[Emulator]:
    """The emulator on a free port of 127.0.0.1 for the length of a ``with`` block."""
    state = Emulator(token=token)
    handler = type("Handler", (_Handler,), {"emulator": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    state.url = "http://127.0.0.1:%d" % server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        state.wait_idle(60)
