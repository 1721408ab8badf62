"""The SSH layer's command lines: what reaches ``ssh`` from records, shared stores and bundles."""

from __future__ import annotations

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils._errors import SSHError
from ansible_collections.dockyard.machine.plugins.module_utils._ssh import SSHSession, SSHTarget
from ansible_collections.dockyard.machine.tests.unit.plugins.module_utils.fakes import Step, TranscriptRunner


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "web1.example.com", "bastion-only-name"])
def test_the_host_comes_after_the_end_of_options(host):
    runner = TranscriptRunner([Step("true")])
    with SSHSession(SSHTarget(host=host, alias="dockyard-machine-t"), runner=runner) as session:
        session.run("true", step="probe")
    run_argv = runner.calls[0][0]
    assert run_argv[-3:-1] == ["--", host]
    # The ControlMaster is closed the same way.
    assert all(argv[-2:] == ["--", host] for argv, dummy in runner.calls[1:])


@pytest.mark.parametrize(
    "host", ["-oProxyCommand=touch /tmp/dockyard-pwned", "-J", "", "web1 -oProxyCommand=x", "web1\n", "web\x00", "\tweb1"]
)
def test_a_host_that_ssh_would_read_as_an_option_is_refused(host):
    with pytest.raises(SSHError) as caught:
        SSHTarget(host=host, alias="dockyard-machine-t")
    assert caught.value.details["option"] == "ip_address"
    assert "generic.ip_address" in caught.value.msg


@pytest.mark.parametrize("user", ["-oProxyCommand=x", "root admin", "", "ro\not"])
def test_a_user_that_is_not_a_user_name_is_refused(user):
    with pytest.raises(SSHError) as caught:
        SSHTarget(host="127.0.0.1", alias="dockyard-machine-t", user=user)
    assert caught.value.details["option"] == "ssh_user"
