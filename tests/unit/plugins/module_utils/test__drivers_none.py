"""The none driver's options: an engine URL that DOCKER_HOST can carry as it is."""

from __future__ import annotations

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils._drivers.none import NoneDriver
from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError


@pytest.mark.parametrize("url", ["127.0.0.1:2376", "engine.example:2376", "127.0.0.1"])
def test_a_url_without_scheme_is_refused_with_the_fix(url):
    with pytest.raises(DriverError) as caught:
        NoneDriver().validate({"url": url})
    assert caught.value.details["option"] == "none.url"
    assert "tcp://%s" % url in caught.value.msg


@pytest.mark.parametrize("url", ["tcp://127.0.0.1:99999", "tcp://127.0.0.1:port", "udp://127.0.0.1:2376", "tcp://:2376"])
def test_a_url_that_is_no_engine_address_is_refused(url):
    with pytest.raises(DriverError) as caught:
        NoneDriver().validate({"url": url})
    assert caught.value.details["option"] == "none.url"


def test_a_tcp_url_passes_unchanged():
    assert NoneDriver().validate({"url": "tcp://127.0.0.1:2376"})["url"] == "tcp://127.0.0.1:2376"
