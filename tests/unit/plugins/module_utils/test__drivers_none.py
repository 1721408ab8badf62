"""The none driver's options: an engine URL that DOCKER_HOST can carry as it is (HOST:PORT read as tcp://HOST:PORT)."""

from __future__ import annotations

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils._drivers.none import NoneDriver
from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError


@pytest.mark.parametrize("url", ["127.0.0.1:2376", "engine.example:2376", "127.0.0.1"])
def test_a_url_without_scheme_is_a_tcp_address_as_docker_reads_it(url):
    assert NoneDriver().validate({"url": url})["url"] == "tcp://" + url


def test_the_record_keeps_the_url_with_its_scheme():
    driver = NoneDriver()
    section = driver.driver_section("n1", "/store", driver.validate({"url": "engine.example:2376"}))
    assert (section["URL"], section["IPAddress"]) == ("tcp://engine.example:2376", "engine.example:2376")


@pytest.mark.parametrize("url", ["", ":2376", "engine.example:port"])
def test_a_url_without_scheme_that_is_no_address_is_refused(url):
    with pytest.raises(DriverError) as caught:
        NoneDriver().validate({"url": url})
    assert caught.value.details["option"] == "none.url"


@pytest.mark.parametrize("url", ["tcp://127.0.0.1:99999", "tcp://127.0.0.1:port", "udp://127.0.0.1:2376", "tcp://:2376"])
def test_a_url_that_is_no_engine_address_is_refused(url):
    with pytest.raises(DriverError) as caught:
        NoneDriver().validate({"url": url})
    assert caught.value.details["option"] == "none.url"


def test_a_tcp_url_passes_unchanged():
    assert NoneDriver().validate({"url": "tcp://127.0.0.1:2376"})["url"] == "tcp://127.0.0.1:2376"
