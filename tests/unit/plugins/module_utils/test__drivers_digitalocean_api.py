"""The DigitalOcean API client: every answer the emulator sends parsed by the client over real HTTP (open_url), and
every error the API can answer (401, 404, 422, 429, 5xx, timeouts) through a fake transport at the client's seam."""

from __future__ import annotations

import json
import socket
import time
import typing as t

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils._drivers.digitalocean_api import (
    ATTEMPTS,
    DEFAULT_API_URL,
    APIError,
    DigitalOceanAPI,
    Reply,
    public_ipv4,
)
from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError
from ansible_collections.dockyard.machine.tests.support.do_emulator import TOKEN, Emulator, emulator

PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test"


class FakeTransport:
    """Answers queued per request, and what was sent."""

    def __init__(self, *answers: Reply | BaseException) -> None:
        self.answers = list(answers)
        self.sent: list[tuple[str, str, dict[str, str], bytes | None]] = []

    def __call__(self, method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float) -> Reply:
        self.sent.append((method, url, headers, body))
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def _json(status: int, doc: t.Any, **headers: str) -> Reply:
    return Reply(status, dict(headers), json.dumps(doc).encode())


def _api(transport: FakeTransport, sleeps: list[float] | None = None) -> DigitalOceanAPI:
    waits = sleeps if sleeps is not None else []
    return DigitalOceanAPI("secret-token", "https://api.example.test", transport=transport, sleep=waits.append)


@pytest.fixture(scope="module")
def do() -> t.Iterator[Emulator]:
    with emulator() as running:
        yield running


def test_every_answer_the_emulator_sends_is_parsed_by_the_client(do: Emulator) -> None:
    do.reset()
    api = DigitalOceanAPI(TOKEN, do.url, timeout=10)
    assert {r["slug"] for r in api.regions()} >= {"nyc3", "fra1"}
    assert api.get("account")["account"]["status"] == "active"
    assert api.get("images/ubuntu-24-04-x64")["image"]["slug"] == "ubuntu-24-04-x64"
    assert len(api.list("sizes", "sizes")) == 3
    key = api.create_ssh_key("web1", PUBLIC_KEY)
    assert api.ssh_key(key["fingerprint"]) == key and api.ssh_key(key["id"]) == key
    droplet = api.create_droplet(
        {
            "name": "web1",
            "region": "nyc3",
            "size": "s-1vcpu-1gb",
            "image": "ubuntu-24-04-x64",
            "ssh_keys": [key["id"]],
            "tags": ["dockyard-machine:web1"],
            "ipv6": True,
            "private_networking": True,
        }
    )
    assert droplet["status"] == "new" and public_ipv4(droplet) == ""
    do.wait_idle()
    live = api.droplet(droplet["id"])
    assert live is not None and live["status"] == "active" and public_ipv4(live).startswith("127.0.9.")
    assert [d["id"] for d in api.droplets(tag="dockyard-machine:web1")] == [droplet["id"]]
    assert api.droplets(tag="dockyard-machine:other") == []
    action = api.droplet_action(droplet["id"], "shutdown")
    assert api.wait_action(action, 10, interval=0.05)["status"] == "completed"
    assert api.droplet(droplet["id"])["status"] == "off"
    firewall = api.create_firewall(
        {
            "name": "dockyard-machine-web1",
            "inbound_rules": [{"protocol": "tcp", "ports": "22", "sources": {"addresses": ["127.0.0.0/8"]}}],
            "outbound_rules": [],
            "droplet_ids": [droplet["id"]],
        }
    )
    api.add_droplet_to_firewall(firewall["id"], droplet["id"])
    assert api.firewall(firewall["id"])["droplet_ids"] == [droplet["id"]]
    assert [f["id"] for f in api.firewalls()] == [firewall["id"]]
    reserved = api.create_reserved_ip("nyc3")
    assigned = api.assign_reserved_ip(reserved["ip"], droplet["id"])
    api.wait_action(assigned, 10, interval=0.05)
    assert api.reserved_ip(reserved["ip"])["droplet"]["id"] == droplet["id"]
    assert api.delete_reserved_ip(reserved["ip"]) and api.reserved_ip(reserved["ip"]) is None
    assert api.delete_firewall(firewall["id"]) and not api.delete_firewall(firewall["id"])
    assert api.delete_droplet(droplet["id"]) and api.droplet(droplet["id"]) is None
    assert api.delete_ssh_key(key["id"]) and not api.delete_ssh_key(key["id"])
    assert do.resources() == {"droplets": [], "ssh_keys": [], "firewalls": [], "reserved_ips": []}


def test_a_listing_follows_next_links_page_after_page(do: Emulator) -> None:
    do.reset()
    api = DigitalOceanAPI(TOKEN, do.url, timeout=10)
    do.on_create = lambda **droplet: time.sleep(0.5)  # each boots for a while
    for n in range(7):
        api.create_droplet({"name": "m%d" % n, "region": "nyc3", "size": "s-1vcpu-1gb", "image": "debian-12-x64", "tags": ["fleet"]})
    do.requests.clear()
    found = api.list("droplets", "droplets", query={"tag_name": "fleet", "per_page": 3})
    assert sorted(d["name"] for d in found) == ["m%d" % n for n in range(7)]
    assert do.count("GET", "/v2/droplets") == 3
    do.wait_idle()
    # Created while the others booted, each still got an address of its own.
    assert len({public_ipv4(d) for d in api.droplets(tag="fleet")}) == 7


def test_a_wrong_token_names_the_option_to_fix(do: Emulator) -> None:
    api = DigitalOceanAPI("wrong", do.url, timeout=10)
    with pytest.raises(APIError) as caught:
        api.regions()
    assert caught.value.status == 401 and caught.value.error_id == "unauthorized"
    assert "Unable to authenticate you" in caught.value.msg and "digitalocean_access_token" in caught.value.msg
    assert caught.value.details["option"] == "digitalocean_access_token"


def test_no_token_is_refused_before_any_request() -> None:
    transport = FakeTransport()
    with pytest.raises(DriverError, match="DIGITALOCEAN_ACCESS_TOKEN"):
        DigitalOceanAPI("", transport=transport)
    assert transport.sent == []


def test_requests_carry_the_token_only_to_the_api_and_json_bodies() -> None:
    transport = FakeTransport(_json(202, {"droplet": {"id": 7, "status": "new"}}))
    api = _api(transport)
    api.create_droplet({"name": "web1"})
    method, url, headers, body = transport.sent[0]
    assert (method, url) == ("POST", "https://api.example.test/v2/droplets")
    assert headers["Authorization"] == "Bearer secret-token" and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"name": "web1"}
    assert DigitalOceanAPI("x", transport=transport).base_url == DEFAULT_API_URL


def test_a_next_link_to_another_host_is_not_followed() -> None:
    transport = FakeTransport(_json(200, {"droplets": [{"id": 1}], "links": {"pages": {"next": "https://evil.example/v2/droplets?page=2"}}}))
    with pytest.raises(DriverError, match="link to another place"):
        _api(transport).droplets()
    assert len(transport.sent) == 1


def test_404_is_none_for_a_read_and_false_for_a_delete() -> None:
    gone = _json(404, {"id": "not_found", "message": "The resource you were accessing could not be found."})
    transport = FakeTransport(gone, gone)
    api = _api(transport)
    assert api.droplet(5) is None
    assert api.delete_droplet(5) is False


def test_422_names_the_api_error_and_the_option() -> None:
    transport = FakeTransport(_json(422, {"id": "unprocessable_entity", "message": "You specified an invalid size for Droplet creation."}))
    with pytest.raises(APIError) as caught:
        _api(transport).create_droplet({"name": "web1", "size": "huge"})
    error = caught.value
    assert error.status == 422 and error.error_id == "unprocessable_entity"
    assert "invalid size" in error.msg and "Fix option digitalocean.size" in error.msg and error.details["option"] == "digitalocean.size"


def test_429_is_retried_with_the_servers_wait_then_reported() -> None:
    limited = _json(429, {"id": "too_many_requests", "message": "API Rate limit exceeded."}, **{"retry-after": "3"})
    sleeps: list[float] = []
    transport = FakeTransport(limited, _json(201, {"action": {"id": 1, "status": "in-progress"}}))
    assert _api(transport, sleeps).droplet_action(9, "power_on")["id"] == 1
    assert sleeps == [3.0] and len(transport.sent) == 2  # a POST refused for load is safe to send again

    transport = FakeTransport(*[limited] * ATTEMPTS)
    with pytest.raises(APIError, match="rate limit held after %d attempts" % ATTEMPTS) as caught:
        _api(transport).regions()
    assert caught.value.status == 429 and len(transport.sent) == ATTEMPTS


def test_5xx_is_retried_for_reads_but_never_for_a_create() -> None:
    broken = _json(503, {"id": "service_unavailable", "message": "Service is down."})
    sleeps: list[float] = []
    transport = FakeTransport(broken, broken, _json(200, {"droplet": {"id": 3}}))
    assert _api(transport, sleeps).droplet(3) == {"id": 3}
    assert sleeps == [1.0, 2.0]
    transport = FakeTransport(broken)
    with pytest.raises(APIError, match="failed on its side") as caught:
        _api(transport).create_droplet({"name": "x"})
    assert caught.value.status == 503 and len(transport.sent) == 1  # a droplet made before the 503 is never made twice


def test_an_answer_that_is_not_json_is_an_error_with_its_text() -> None:
    transport = FakeTransport(Reply(502, {}, b"<html>Bad Gateway</html>"), Reply(200, {}, b"not json"))
    api = DigitalOceanAPI("t", "https://api.example.test", transport=transport, sleep=lambda s: None, attempts=1)
    with pytest.raises(APIError, match="Bad Gateway"):
        api.regions()
    with pytest.raises(APIError, match="not a JSON object"):
        api.regions()


def test_timeouts_are_retried_for_reads_then_name_option_timeout_never_for_a_create() -> None:
    transport = FakeTransport(*[socket.timeout("timed out")] * ATTEMPTS)
    with pytest.raises(APIError, match="did not answer GET /v2/droplets/4 within 30 s") as caught:
        _api(transport).droplet(4)
    assert caught.value.details["option"] == "timeout" and len(transport.sent) == ATTEMPTS
    transport = FakeTransport(socket.timeout("timed out"))
    with pytest.raises(APIError, match="did not answer POST /v2/droplets"):
        _api(transport).create_droplet({"name": "x"})
    assert len(transport.sent) == 1


def test_a_connection_refused_names_the_api_url() -> None:
    transport = FakeTransport(ConnectionRefusedError(111, "Connection refused"))
    with pytest.raises(APIError, match="Cannot reach the DigitalOcean API at https://api.example.test") as caught:
        _api(transport).regions()
    assert caught.value.details["option"] == "digitalocean_api_url"


def test_a_timeout_against_the_emulator_is_bounded(do: Emulator) -> None:
    do.fail_next("GET", "^/v2/regions", 0, times=1, headers={"delay": 2})
    api = DigitalOceanAPI(TOKEN, do.url, timeout=0.5, attempts=1)
    with pytest.raises(APIError, match="did not answer"):
        api.regions()


def test_an_action_that_errored_or_never_completes() -> None:
    transport = FakeTransport(_json(200, {"action": {"id": 1, "type": "power_on", "status": "errored"}}))
    with pytest.raises(APIError, match="action 1 .power_on. failed"):
        _api(transport).wait_action({"id": 1, "type": "power_on", "status": "in-progress"}, 10)
    transport = FakeTransport()
    with pytest.raises(APIError, match="did not complete within 0 s"):
        _api(transport).wait_action({"id": 2, "type": "shutdown", "status": "in-progress"}, 0)


def test_a_bad_api_url_is_refused() -> None:
    with pytest.raises(DriverError, match="fix option digitalocean_api_url"):
        DigitalOceanAPI("t", "ftp://example.test")
