# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""DigitalOcean's REST API v2, through ansible-core's own ``open_url``: the dozen calls the digitalocean driver makes.

No SDK: DigitalOcean's ``pydo`` pulls azure-core, azure-identity and msrest into every controller and execution
environment for what is a few JSON requests. Each answer is read up to ``MAX_RESPONSE`` bytes and parsed as JSON;
an error answer becomes ``APIError`` naming DigitalOcean's error id and message and the option to fix. Requests
DigitalOcean refused for load (429) or failed on its side (5xx) are sent again a bounded number of times; a POST
only after a 429 (its refusal is certain, so nothing was made twice). Lists follow ``links.pages.next`` on the
same API only: the token is never sent anywhere else.

The token is held in memory only. The API's URL is DigitalOcean's unless a task names another (a test emulator);
a record never chooses it (the driver checks a recorded one against the task's).
"""

from __future__ import annotations

import json
import socket
import time
import typing as t
import urllib.parse

from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError

__all__ = ["APIError", "DEFAULT_API_URL", "DigitalOceanAPI", "MAX_RESPONSE", "Reply", "Transport", "open_url_transport", "public_ipv4"]

DEFAULT_API_URL = "https://api.digitalocean.com"
#: The largest answer read (a page of 200 droplets is well under 1 MiB).
MAX_RESPONSE = 4 * 1024 * 1024
#: Attempts of one request when DigitalOcean answers 429 or 5xx (or a read times out).
ATTEMPTS = 4
#: Longest wait between two attempts, whatever the answer's ratelimit-reset says.
MAX_WAIT = 10.0
#: The largest page DigitalOcean serves.
PER_PAGE = 200
#: Pages followed at most in one listing (200 x 50 = 10,000 items).
MAX_PAGES = 50


class Reply(t.NamedTuple):
    """What one HTTP exchange gave: status, headers (lower-case names) and the body, read within the bound."""

    status: int
    headers: dict[str, str]
    body: bytes


#: ``(method, url, headers, body, timeout) -> Reply``; raises OSError (socket.timeout included) when no answer came.
Transport = t.Callable[[str, str, t.Dict[str, str], t.Optional[bytes], float], Reply]


class APIError(DriverError):
    """DigitalOcean answered with an error: ``status``, its error ``error_id`` (``not_found``) and message."""

    def __init__(self, msg: str, *, status: int = 0, error_id: str = "", **kwargs: t.Any) -> None:
        super().__init__(msg, **kwargs)
        self.status = status
        self.error_id = error_id


def _read_bounded(stream: t.Any) -> bytes:
    data = stream.read(MAX_RESPONSE + 1)
    if len(data) > MAX_RESPONSE:
        raise DriverError("The DigitalOcean API sent an answer larger than %d bytes; it was not read." % MAX_RESPONSE)
    return data


def open_url_transport(method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float) -> Reply:
    """One request through ansible-core's ``open_url``: certificates verified, no redirects followed (the token
    would go with them), no .netrc."""
    from urllib.error import HTTPError

    from ansible.module_utils.urls import open_url

    try:
        response = open_url(
            url,
            data=body,
            headers=headers,
            method=method,
            timeout=timeout,
            validate_certs=True,
            follow_redirects="none",
            use_netrc=False,
        )
    except HTTPError as exc:  # an answer all the same: its body says why
        try:
            data = _read_bounded(exc) if exc.fp is not None else b""
        finally:
            exc.close()
        return Reply(exc.code, {k.lower(): v for k, v in (exc.headers or {}).items()}, data)
    with response:
        return Reply(response.status, {k.lower(): v for k, v in response.headers.items()}, _read_bounded(response))


class DigitalOceanAPI:
    """The calls the driver makes, each bounded by ``timeout`` seconds; an error names ``option`` to fix."""

    def __init__(
        self,
        token: str,
        base_url: str = "",
        *,
        timeout: float = 30.0,
        transport: Transport | None = None,
        sleep: t.Callable[[float], None] = time.sleep,
        attempts: int = ATTEMPTS,
    ) -> None:
        if not token:
            raise DriverError(
                "No DigitalOcean access token: set option digitalocean_access_token or the environment's DIGITALOCEAN_ACCESS_TOKEN.",
                option="digitalocean_access_token",
            )
        self.base_url = (base_url or DEFAULT_API_URL).rstrip("/")
        parts = urllib.parse.urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise DriverError("%r is not an http(s) URL: fix option digitalocean_api_url." % self.base_url, option="digitalocean_api_url")
        self._token = token
        self.timeout = timeout
        self._transport = transport or open_url_transport
        self._sleep = sleep
        self._attempts = max(1, attempts)
        #: Requests sent (attempts included), for benchmarks and the inventory's debug lines.
        self.calls = 0

    # -- the exchange ---------------------------------------------------------------------------------

    def request(
        self, method: str, path: str, body: t.Mapping[str, t.Any] | None = None, *, query: t.Mapping[str, t.Any] | None = None, option: str = ""
    ) -> dict[str, t.Any]:
        """Send one request (``path`` under /v2, or a full URL on this API) and return its JSON object ({} for 204)."""
        url = self._url(path, query)
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": "Bearer %s" % self._token, "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        what = "%s %s" % (method, urllib.parse.urlsplit(url).path)
        attempt = 0
        while True:
            attempt += 1
            self.calls += 1
            try:
                reply = self._transport(method, url, headers, data, self.timeout)
            except (socket.timeout, TimeoutError) as exc:
                if method != "POST" and attempt < self._attempts:
                    self._sleep(min(MAX_WAIT, 2.0 ** (attempt - 1)))
                    continue
                raise APIError(
                    "The DigitalOcean API at %s did not answer %s within %g s (%s): run again, or raise option timeout."
                    % (self.base_url, what, self.timeout, exc),
                    option="timeout",
                ) from exc
            except OSError as exc:
                raise APIError(
                    "Cannot reach the DigitalOcean API at %s for %s: %s. Check the network (or option digitalocean_api_url)." % (self.base_url, what, exc),
                    option="digitalocean_api_url",
                ) from exc
            retry = reply.status == 429 or (reply.status >= 500 and method != "POST")
            if retry and attempt < self._attempts:
                self._sleep(self._wait(reply, attempt))
                continue
            return self._parse(reply, what, option)

    def _url(self, path: str, query: t.Mapping[str, t.Any] | None) -> str:
        if "://" in path:
            # A link the API gave (the next page): followed only on this API, so the token goes nowhere else.
            here, there = urllib.parse.urlsplit(self.base_url), urllib.parse.urlsplit(path)
            if (there.scheme, there.netloc) != (here.scheme, here.netloc) or not there.path.startswith("/v2/"):
                raise DriverError("The DigitalOcean API at %s gave a link to another place (%s); it was not followed." % (self.base_url, path[:200]))
            url = path
        else:
            url = "%s/v2/%s" % (self.base_url, path.lstrip("/"))
        if query:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode({k: v for k, v in query.items() if v not in (None, "")})
        return url

    @staticmethod
    def _wait(reply: Reply, attempt: int) -> float:
        """Seconds before the next attempt: the answer's Retry-After (or ratelimit-reset, a Unix time), else doubling."""
        try:
            if "retry-after" in reply.headers:
                return max(0.0, min(MAX_WAIT, float(reply.headers["retry-after"])))
            if reply.status == 429 and "ratelimit-reset" in reply.headers:
                return max(0.0, min(MAX_WAIT, float(reply.headers["ratelimit-reset"]) - time.time()))
        except ValueError:
            pass
        return min(MAX_WAIT, 2.0 ** (attempt - 1))

    def _parse(self, reply: Reply, what: str, option: str) -> dict[str, t.Any]:
        doc: t.Any = {}
        if reply.body.strip():
            try:
                doc = json.loads(reply.body.decode("utf-8"))
            except ValueError:
                doc = None
        if 200 <= reply.status < 300:
            if not isinstance(doc, dict):
                raise APIError("The DigitalOcean API at %s answered %s with something that is not a JSON object." % (self.base_url, what), status=reply.status)
            return doc
        error_id = str(doc.get("id") or "") if isinstance(doc, dict) else ""
        message = str(doc.get("message") or "") if isinstance(doc, dict) else ""
        if not message:
            message = reply.body[:200].decode("utf-8", "replace").strip() or "no message"
        raise APIError(
            self._sentence(reply.status, error_id, message, what, option), status=reply.status, error_id=error_id, option=self._option_for(reply.status, option)
        )

    def _sentence(self, status: int, error_id: str, message: str, what: str, option: str) -> str:
        said = "DigitalOcean refused %s: %s%s (HTTP %d)." % (what, "%s: " % error_id if error_id else "", message[:500], status)
        if status == 401:
            return said + " The access token is wrong, expired or revoked: fix option digitalocean_access_token (or DIGITALOCEAN_ACCESS_TOKEN)."
        if status == 403:
            return said + " The access token lacks a scope this needs: give it read and write scopes (option digitalocean_access_token)."
        if status == 429:
            return said + " The API's rate limit held after %d attempts: wait a minute and run again." % self._attempts
        if status >= 500:
            return said + " DigitalOcean failed on its side: run again later."
        if option:
            return said + " Fix option %s." % option
        return said

    @staticmethod
    def _option_for(status: int, option: str) -> str:
        if status in (401, 403):
            return "digitalocean_access_token"
        return option

    def get(self, path: str, *, query: t.Mapping[str, t.Any] | None = None, option: str = "") -> dict[str, t.Any]:
        return self.request("GET", path, query=query, option=option)

    def post(self, path: str, body: t.Mapping[str, t.Any], *, option: str = "") -> dict[str, t.Any]:
        return self.request("POST", path, body, option=option)

    def delete(self, path: str, *, gone_ok: bool = True) -> bool:
        """DELETE; True when it was deleted now, False when it was gone already (404) and ``gone_ok``."""
        try:
            self.request("DELETE", path)
        except APIError as exc:
            if gone_ok and exc.status == 404:
                return False
            raise
        return True

    def get_or_none(self, path: str, *, query: t.Mapping[str, t.Any] | None = None) -> dict[str, t.Any] | None:
        """GET, None for 404 (a resource that is gone)."""
        try:
            return self.get(path, query=query)
        except APIError as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, path: str, key: str, *, query: t.Mapping[str, t.Any] | None = None) -> list[dict[str, t.Any]]:
        """Every item of a paginated listing (``key`` is the list's name in the answer), page after page."""
        items: list[dict[str, t.Any]] = []
        params = dict(query or {})
        params.setdefault("per_page", PER_PAGE)
        doc = self.get(path, query=params)
        for _page in range(MAX_PAGES):
            found = doc.get(key)
            if not isinstance(found, list):
                raise APIError("The DigitalOcean API at %s answered GET %s without a list %r." % (self.base_url, path, key))
            items.extend(i for i in found if isinstance(i, dict))
            following = ((doc.get("links") or {}).get("pages") or {}).get("next") if isinstance(doc.get("links"), dict) else None
            if not following:
                return items
            doc = self.get(str(following))
        raise APIError("The DigitalOcean API at %s gave more than %d pages for GET %s; the listing was stopped." % (self.base_url, MAX_PAGES, path))

    # -- the calls ----------------------------------------------------------------------------------

    def regions(self) -> list[dict[str, t.Any]]:
        return self.list("regions", "regions")

    def droplet(self, droplet_id: int) -> dict[str, t.Any] | None:
        """The droplet, None when it is gone."""
        doc = self.get_or_none("droplets/%d" % droplet_id)
        return _object(doc, "droplet", self.base_url) if doc is not None else None

    def droplets(self, *, tag: str = "", name: str = "") -> list[dict[str, t.Any]]:
        return self.list("droplets", "droplets", query={"tag_name": tag, "name": name})

    def create_droplet(self, body: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        return _object(self.post("droplets", body, option="digitalocean.size"), "droplet", self.base_url)

    def delete_droplet(self, droplet_id: int) -> bool:
        return self.delete("droplets/%d" % droplet_id)

    def droplet_action(self, droplet_id: int, kind: str) -> dict[str, t.Any]:
        return _object(self.post("droplets/%d/actions" % droplet_id, {"type": kind}), "action", self.base_url)

    def action(self, action_id: int) -> dict[str, t.Any]:
        return _object(self.get("actions/%d" % action_id), "action", self.base_url)

    def wait_action(self, action: t.Mapping[str, t.Any], timeout: float, *, interval: float = 1.0) -> dict[str, t.Any]:
        """Poll an action until it is ``completed``; APIError when it ``errored`` or ``timeout`` ran out."""
        deadline = time.monotonic() + timeout
        current = dict(action)
        while True:
            status = current.get("status")
            if status == "completed":
                return current
            if status == "errored":
                raise APIError("DigitalOcean action %s (%s) failed." % (current.get("id"), current.get("type")), error_id="errored")
            if time.monotonic() >= deadline:
                raise APIError(
                    "DigitalOcean action %s (%s) did not complete within %g s: run again, or raise option timeout."
                    % (current.get("id"), current.get("type"), timeout),
                    option="timeout",
                )
            self._sleep(interval)
            current = self.action(int(current["id"]))

    def ssh_key(self, id_or_fingerprint: str | int) -> dict[str, t.Any] | None:
        doc = self.get_or_none("account/keys/%s" % urllib.parse.quote(str(id_or_fingerprint), safe=":"))
        return _object(doc, "ssh_key", self.base_url) if doc is not None else None

    def create_ssh_key(self, name: str, public_key: str) -> dict[str, t.Any]:
        return _object(self.post("account/keys", {"name": name, "public_key": public_key}, option="digitalocean.ssh_key_path"), "ssh_key", self.base_url)

    def delete_ssh_key(self, key_id: int) -> bool:
        return self.delete("account/keys/%d" % key_id)

    def firewall(self, firewall_id: str) -> dict[str, t.Any] | None:
        doc = self.get_or_none("firewalls/%s" % urllib.parse.quote(firewall_id, safe=""))
        return _object(doc, "firewall", self.base_url) if doc is not None else None

    def firewalls(self) -> list[dict[str, t.Any]]:
        return self.list("firewalls", "firewalls")

    def create_firewall(self, body: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        return _object(self.post("firewalls", body, option="digitalocean.firewall_cidrs"), "firewall", self.base_url)

    def add_droplet_to_firewall(self, firewall_id: str, droplet_id: int) -> None:
        self.post("firewalls/%s/droplets" % urllib.parse.quote(firewall_id, safe=""), {"droplet_ids": [droplet_id]}, option="digitalocean.firewalls")

    def delete_firewall(self, firewall_id: str) -> bool:
        return self.delete("firewalls/%s" % urllib.parse.quote(firewall_id, safe=""))

    def reserved_ip(self, ip: str) -> dict[str, t.Any] | None:
        doc = self.get_or_none("reserved_ips/%s" % urllib.parse.quote(ip, safe=""))
        return _object(doc, "reserved_ip", self.base_url) if doc is not None else None

    def create_reserved_ip(self, region: str) -> dict[str, t.Any]:
        return _object(self.post("reserved_ips", {"region": region}, option="digitalocean.reserved_ip"), "reserved_ip", self.base_url)

    def assign_reserved_ip(self, ip: str, droplet_id: int) -> dict[str, t.Any]:
        doc = self.post(
            "reserved_ips/%s/actions" % urllib.parse.quote(ip, safe=""), {"type": "assign", "droplet_id": droplet_id}, option="digitalocean.reserved_ip_address"
        )
        return _object(doc, "action", self.base_url)

    def delete_reserved_ip(self, ip: str) -> bool:
        return self.delete("reserved_ips/%s" % urllib.parse.quote(ip, safe=""))


def _object(doc: t.Mapping[str, t.Any], key: str, where: str) -> dict[str, t.Any]:
    value = doc.get(key)
    if not isinstance(value, dict):
        raise APIError("The DigitalOcean API at %s answered without the %s object it owes." % (where, key))
    return value


def public_ipv4(droplet: t.Mapping[str, t.Any]) -> str:
    """The droplet's public IPv4 address (``networks.v4`` entry of type ``public``), empty when it has none yet."""
    networks = droplet.get("networks") if isinstance(droplet.get("networks"), dict) else {}
    for network in networks.get("v4") or []:
        if isinstance(network, dict) and network.get("type") == "public" and network.get("ip_address"):
            return str(network["ip_address"])
    return ""
