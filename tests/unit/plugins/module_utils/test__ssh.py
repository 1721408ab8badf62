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


def _session(user: str = "root") -> SSHSession:
    return SSHSession(SSHTarget(host="127.0.0.1", alias="dockyard-machine-t", port=2222, user=user, pinned_host_keys=("ssh-ed25519 AAAA",)))


def _option(argv: list[str], keyword: str) -> list[str]:
    return [argv[i + 1] for i, word in enumerate(argv[:-1]) if word == "-o" and argv[i + 1].startswith(keyword + "=")]


def test_a_users_ssh_options_come_before_ours_and_the_command_after_the_host():
    with _session() as session:
        argv = session.user_argv(["uptime"], options=["-C", "-o", "ConnectTimeout=3"])
    assert argv[:4] == ["ssh", "-C", "-o", "ConnectTimeout=3"]
    assert argv[-3:] == ["--", "127.0.0.1", "uptime"]
    # ssh keeps the first value: the user's ConnectTimeout wins; the pinning is still ours.
    assert _option(argv, "ConnectTimeout") == ["ConnectTimeout=3", "ConnectTimeout=10"]
    assert _option(argv, "StrictHostKeyChecking") == ["StrictHostKeyChecking=yes"]
    assert argv[argv.index("-l") + 1] == "root"
    assert _option(argv, "ControlMaster") == ["ControlMaster=auto"]


def test_another_user_logs_in_over_a_connection_of_its_own():
    """The shared connection is the record user's: riding it would run the command as that user (issue 15 item 10)."""
    with _session() as session:
        argv = session.user_argv(["id"], user="bob")
        copy = session.copy_argv("/tmp/a", session.remote_path("/tmp/b", "bob"), user="bob")
        rsync = session.copy_argv(session.remote_path("/tmp/b", "bob"), "/tmp/a", user="bob", delta=True)
        own = session.copy_argv("/tmp/a", session.remote_path("/tmp/b"), user="")
    assert argv[argv.index("-l") + 1] == "bob"
    for line in (argv, copy, rsync[rsync.index("-e") + 1].split()):
        assert _option(line, "ControlPath") == ["ControlPath=none"] and _option(line, "ControlMaster") == ["ControlMaster=no"], line
        assert _option(line, "StrictHostKeyChecking") == ["StrictHostKeyChecking=yes"]
    assert copy[-2:] == ["/tmp/a", "bob@127.0.0.1:/tmp/b"]
    assert _option(own, "ControlMaster") == ["ControlMaster=auto"] and own[-1] == "root@127.0.0.1:/tmp/b"


def test_a_copy_takes_several_sources():
    with _session() as session:
        argv = session.copy_argv(["/r/a", "/r/b"], session.remote_path("/tmp/"), recursive=True)
    assert argv[-5:] == ["-r", "--", "/r/a", "/r/b", "root@127.0.0.1:/tmp/"]


def test_a_mount_has_a_connection_of_its_own_with_the_pinned_host_key():
    """sshfs outlives the command (issue 16 item 9): never the shared connection; the session's known_hosts, port, key and user."""
    target = SSHTarget(host="127.0.0.1", alias="dockyard-machine-t", port=2222, user="docker", key_path="/keys/a,b", pinned_host_keys=("ssh-ed25519 AAAA",))
    with SSHSession(target) as session:
        argv = session.mount_argv("/srv", "/mnt/srv")
        bob = session.mount_argv("/home/bob", "/mnt/bob", user="bob")
        known_hosts = session.known_hosts
    assert argv[:6] == ["sshfs", "docker@127.0.0.1:/srv", "/mnt/srv", "-p", "2222", "-o"]
    assert _option(argv, "ControlMaster") == ["ControlMaster=no"] and _option(argv, "ControlPath") == ["ControlPath=none"]
    assert _option(argv, "StrictHostKeyChecking") == ["StrictHostKeyChecking=yes"]
    assert _option(argv, "UserKnownHostsFile") == ["UserKnownHostsFile=%s" % known_hosts]
    assert _option(argv, "HostKeyAlias") == ["HostKeyAlias=dockyard-machine-t"]
    # FUSE splits -o values at commas: the key path's comma is escaped.
    assert _option(argv, "IdentityFile") == ["IdentityFile=/keys/a\\,b"]
    assert bob[1] == "bob@127.0.0.1:/home/bob"
