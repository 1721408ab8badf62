"""The ssh options a user passes after a machine's name: read as ssh reads them, the ones that would undo pinning refused."""

from __future__ import annotations

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils._errors import SSHError
from ansible_collections.dockyard.machine.plugins.module_utils._ssh_options import PassedSSHArgs, split_ssh_args


@pytest.mark.parametrize(
    "words, expected",
    [
        # The three shapes of the issue: an end of options, an ssh flag, an ssh option with its value.
        (["--", "echo", "-n", "hi"], PassedSSHArgs(command=("echo", "-n", "hi"))),
        (["-C", "echo", "hi"], PassedSSHArgs(options=("-C",), command=("echo", "hi"))),
        (["-o", "ConnectTimeout=3", "uptime"], PassedSSHArgs(options=("-o", "ConnectTimeout=3"), command=("uptime",))),
        # ssh's getopt: clusters, values joined to their letter, options stop at the first other word.
        (["-Ctt", "-oServerAliveInterval=5", "top"], PassedSSHArgs(options=("-C", "-t", "-t", "-o", "ServerAliveInterval=5"), command=("top",))),
        (["ls", "-C", "--", "x"], PassedSSHArgs(command=("ls", "-C", "--", "x"))),
        (["-L", "8080:localhost:80", "-N"], PassedSSHArgs(options=("-L", "8080:localhost:80", "-N"))),
        ([], PassedSSHArgs()),
        # A login name: ssh keeps the first one it reads.
        (["-l", "ann", "-o", "User=bob", "id"], PassedSSHArgs(user="ann", command=("id",))),
        (["-o", "user = bob", "id"], PassedSSHArgs(user="bob", command=("id",))),
    ],
)
def test_options_and_command_are_told_apart_as_ssh_does(words, expected):
    assert split_ssh_args(words) == expected


@pytest.mark.parametrize(
    "words, option, why",
    [
        (["-o", "StrictHostKeyChecking=no", "true"], "-o StrictHostKeyChecking", "host key is pinned"),
        # ssh unquotes the keyword and ignores its case.
        (["-o", '"StrictHostKeyChecking" no', "true"], "-o StrictHostKeyChecking", "host key is pinned"),
        (["-ouserknownhostsfile=/dev/null"], "-o userknownhostsfile", "host key is pinned"),
        (["-o", "KnownHostsCommand=/bin/true"], "-o KnownHostsCommand", "host key is pinned"),
        (["-o", "HostKeyAlias x"], "-o HostKeyAlias", "host key is pinned"),
        (["-o", "ControlPath=/tmp/other"], "-o ControlPath", "connection"),
        (["-S", "/tmp/other"], "-S", "connection"),
        (["-CM"], "-M", "connection"),
        (["-O", "exit"], "-O", "connection"),
        (["-p", "2222"], "-p", "address and SSH port"),
        (["-o", "Port=2222"], "-o Port", "address and SSH port"),
        (["-o", "HostName=10.0.0.1"], "-o HostName", "address and SSH port"),
    ],
)
def test_options_that_would_undo_pinning_or_move_the_connection_are_refused(words, option, why):
    with pytest.raises(SSHError) as caught:
        split_ssh_args(words)
    assert caught.value.msg.startswith("The ssh option %s is not offered: " % option)
    assert why in caught.value.msg


@pytest.mark.parametrize(
    "words, message",
    [
        (["-Z", "x"], "Unknown ssh option -Z"),
        (["--help"], "Unknown ssh option --"),
        (["-o"], "The ssh option -o needs a value"),
        (["-C", "-i"], "The ssh option -i needs a value"),
        (["-o", "Bad-Key=1"], "is not an ssh option"),
        (["-l", "-oProxyCommand=touch /tmp/x"], "is not a user name"),
        (["-o", "User=a b"], "is not a user name"),
    ],
)
def test_words_ssh_would_misread_are_refused_with_what_to_fix(words, message):
    with pytest.raises(SSHError, match=message):
        split_ssh_args(words)
