"""The SSH layer's command lines: what reaches ``ssh`` from records, shared stores and bundles."""

from __future__ import annotations

import re

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


@pytest.mark.parametrize("jump", ["-oProxyCommand=touch /tmp/x", "bastion,-oProxyCommand=x", "bast ion", "b;touch x", "a\nb", "$(id)@b"])
def test_a_jump_host_that_is_not_hops_is_refused(jump):
    with pytest.raises(SSHError, match="jump host") as info:
        SSHTarget(host="127.0.0.1", alias="a", proxy_jump=jump)
    assert info.value.details["option"] == "proxy_jump"


@pytest.mark.parametrize("jump", ["bastion", "ops@bastion.example.com:2222", "a@b,c@d:22", "[::1]:22", "jump_1"])
def test_jump_hosts_as_ssh_takes_them_are_accepted(jump):
    assert SSHTarget(host="127.0.0.1", alias="a", proxy_jump=jump).proxy_jump == jump


@pytest.mark.parametrize("answer", ["ssh: connect to host 127.0.0.1 port 22: Connection refused", "root@127.0.0.1: Permission denied (publickey)."])
def test_a_settled_host_that_refuses_fails_at_once_and_a_new_one_is_retried(answer):
    refusing = [Step("^true$", rc=255, stderr=answer) for dummy in range(3)]
    runner = TranscriptRunner(list(refusing))
    with SSHSession(SSHTarget(host="127.0.0.1", alias="a"), runner=runner) as session:
        with pytest.raises(SSHError, match=re.escape(answer.split(": ", 1)[1])):
            session.wait_until_reachable(30, settled=True, interval=0.01)
    assert len(runner.calls) == 1
    # A host being created may refuse while it boots: retried until it answers.
    runner = TranscriptRunner([*refusing[:2], Step("^true$")])
    with SSHSession(SSHTarget(host="127.0.0.1", alias="a"), runner=runner) as session:
        session.wait_until_reachable(30, interval=0.01)
    assert runner.finished()
