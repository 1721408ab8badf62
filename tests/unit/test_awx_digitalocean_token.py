"""The DigitalOcean token credential type: AWX would accept it, and a job gets the token where the driver reads it."""

from __future__ import annotations

from ansible_collections.dockyard.machine.plugins.module_utils._drivers.digitalocean import TOKEN_ENV
from ansible_collections.dockyard.machine.tests.support import awx


def test_the_token_credential_type_injects_what_the_driver_reads(tmp_path) -> None:
    definition = awx.load_credential_type("digitalocean_token.yml")
    awx.check_credential_type(definition)
    assert [f["id"] for f in definition["inputs"]["fields"] if f.get("secret")] == ["access_token"]
    injected = awx.inject(definition, {"access_token": "dop_v1_abc"}, tmp_path)
    assert injected.env == {TOKEN_ENV: "dop_v1_abc"} and not injected.extra_vars and not injected.files
