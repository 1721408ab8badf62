# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests for _shell: the exact text `docker-machine env` prints, written out by hand per shell."""

from __future__ import annotations

import subprocess

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils import _shell
from ansible_collections.dockyard.machine.plugins.module_utils._errors import MachineError

# The values of the reference's own example (docker-machine notes, section 6).
ENV = {
    "DOCKER_TLS_VERIFY": "1",
    "DOCKER_HOST": "tcp://1.2.3.4:2376",
    "DOCKER_CERT_PATH": "/h/.docker/machine/machines/dev",
    "DOCKER_MACHINE_NAME": "dev",
    "NO_PROXY": "example.com,1.2.3.4",
}
NAMES = ["DOCKER_TLS_VERIFY", "DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_MACHINE_NAME", "NO_PROXY"]
COMMAND = "docker-machine env --no-proxy dev"

# Every line below was typed from the reference, not produced by the code under test.
# Note the space after "shell:" in every hint, and the TAB after "REM " in cmd's.
POSIX_SET = (
    'export DOCKER_TLS_VERIFY="1"\n'
    'export DOCKER_HOST="tcp://1.2.3.4:2376"\n'
    'export DOCKER_CERT_PATH="/h/.docker/machine/machines/dev"\n'
    'export DOCKER_MACHINE_NAME="dev"\n'
    'export NO_PROXY="example.com,1.2.3.4"\n'
    "# Run this command to configure your shell: \n"
    "# eval $(docker-machine env --no-proxy dev)\n"
)
SET_TEXT = {
    "bash": POSIX_SET,
    "sh": POSIX_SET,
    "zsh": POSIX_SET,
    "fish": (
        'set -gx DOCKER_TLS_VERIFY "1";\n'
        'set -gx DOCKER_HOST "tcp://1.2.3.4:2376";\n'
        'set -gx DOCKER_CERT_PATH "/h/.docker/machine/machines/dev";\n'
        'set -gx DOCKER_MACHINE_NAME "dev";\n'
        'set -gx NO_PROXY "example.com,1.2.3.4";\n'
        "# Run this command to configure your shell: \n"
        "# eval (docker-machine env --no-proxy dev)\n"
    ),
    "powershell": (
        '$Env:DOCKER_TLS_VERIFY = "1"\n'
        '$Env:DOCKER_HOST = "tcp://1.2.3.4:2376"\n'
        '$Env:DOCKER_CERT_PATH = "/h/.docker/machine/machines/dev"\n'
        '$Env:DOCKER_MACHINE_NAME = "dev"\n'
        '$Env:NO_PROXY = "example.com,1.2.3.4"\n'
        "# Run this command to configure your shell: \n"
        "# & docker-machine env --no-proxy dev | Invoke-Expression\n"
    ),
    "cmd": (
        "SET DOCKER_TLS_VERIFY=1\n"
        "SET DOCKER_HOST=tcp://1.2.3.4:2376\n"
        "SET DOCKER_CERT_PATH=/h/.docker/machine/machines/dev\n"
        "SET DOCKER_MACHINE_NAME=dev\n"
        "SET NO_PROXY=example.com,1.2.3.4\n"
        "REM Run this command to configure your shell: \n"
        "REM \t@FOR /f \"tokens=*\" %i IN ('docker-machine env --no-proxy dev') DO @%i\n"
    ),
    "emacs": (
        '(setenv "DOCKER_TLS_VERIFY" "1")\n'
        '(setenv "DOCKER_HOST" "tcp://1.2.3.4:2376")\n'
        '(setenv "DOCKER_CERT_PATH" "/h/.docker/machine/machines/dev")\n'
        '(setenv "DOCKER_MACHINE_NAME" "dev")\n'
        '(setenv "NO_PROXY" "example.com,1.2.3.4")\n'
        ";; Run this command to configure your shell: \n"
        ';; (with-temp-buffer (shell-command "docker-machine env --no-proxy dev" (current-buffer)) (eval-buffer))\n'
    ),
    "tcsh": (
        'setenv DOCKER_TLS_VERIFY "1";\n'
        'setenv DOCKER_HOST "tcp://1.2.3.4:2376";\n'
        'setenv DOCKER_CERT_PATH "/h/.docker/machine/machines/dev";\n'
        'setenv DOCKER_MACHINE_NAME "dev";\n'
        'setenv NO_PROXY "example.com,1.2.3.4";\n'
        ": Run this command to configure your shell: \n"
        ": eval `docker-machine env --no-proxy dev`\n"
    ),
}

POSIX_UNSET = (
    "unset DOCKER_TLS_VERIFY\n"
    "unset DOCKER_HOST\n"
    "unset DOCKER_CERT_PATH\n"
    "unset DOCKER_MACHINE_NAME\n"
    "unset NO_PROXY\n"
    "# Run this command to configure your shell: \n"
    "# eval $(docker-machine env --no-proxy dev)\n"
)
UNSET_TEXT = {
    "bash": POSIX_UNSET,
    "sh": POSIX_UNSET,
    "zsh": POSIX_UNSET,
    "fish": (
        "set -e DOCKER_TLS_VERIFY;\n"
        "set -e DOCKER_HOST;\n"
        "set -e DOCKER_CERT_PATH;\n"
        "set -e DOCKER_MACHINE_NAME;\n"
        "set -e NO_PROXY;\n"
        "# Run this command to configure your shell: \n"
        "# eval (docker-machine env --no-proxy dev)\n"
    ),
    "powershell": (
        r"Remove-Item Env:\\DOCKER_TLS_VERIFY" "\n"
        r"Remove-Item Env:\\DOCKER_HOST" "\n"
        r"Remove-Item Env:\\DOCKER_CERT_PATH" "\n"
        r"Remove-Item Env:\\DOCKER_MACHINE_NAME" "\n"
        r"Remove-Item Env:\\NO_PROXY" "\n"
        "# Run this command to configure your shell: \n"
        "# & docker-machine env --no-proxy dev | Invoke-Expression\n"
    ),
    "cmd": (
        "SET DOCKER_TLS_VERIFY=\n"
        "SET DOCKER_HOST=\n"
        "SET DOCKER_CERT_PATH=\n"
        "SET DOCKER_MACHINE_NAME=\n"
        "SET NO_PROXY=\n"
        "REM Run this command to configure your shell: \n"
        "REM \t@FOR /f \"tokens=*\" %i IN ('docker-machine env --no-proxy dev') DO @%i\n"
    ),
    "emacs": (
        '(setenv "DOCKER_TLS_VERIFY" nil)\n'
        '(setenv "DOCKER_HOST" nil)\n'
        '(setenv "DOCKER_CERT_PATH" nil)\n'
        '(setenv "DOCKER_MACHINE_NAME" nil)\n'
        '(setenv "NO_PROXY" nil)\n'
        ";; Run this command to configure your shell: \n"
        ';; (with-temp-buffer (shell-command "docker-machine env --no-proxy dev" (current-buffer)) (eval-buffer))\n'
    ),
    "tcsh": (
        "unsetenv DOCKER_TLS_VERIFY;\n"
        "unsetenv DOCKER_HOST;\n"
        "unsetenv DOCKER_CERT_PATH;\n"
        "unsetenv DOCKER_MACHINE_NAME;\n"
        "unsetenv NO_PROXY;\n"
        ": Run this command to configure your shell: \n"
        ": eval `docker-machine env --no-proxy dev`\n"
    ),
}


def test_every_shell_has_expected_text() -> None:
    assert set(SET_TEXT) == set(_shell.SHELLS) == set(UNSET_TEXT)


@pytest.mark.parametrize("shell", _shell.SHELLS)
def test_render_set_is_byte_for_byte(shell: str) -> None:
    assert _shell.render_set(ENV, shell, COMMAND) == SET_TEXT[shell]


@pytest.mark.parametrize("shell", _shell.SHELLS)
def test_render_unset_is_byte_for_byte(shell: str) -> None:
    assert _shell.render_unset(NAMES, shell, COMMAND) == UNSET_TEXT[shell]


@pytest.mark.parametrize("shell", _shell.SHELLS)
def test_unset_prints_no_proxy_name_without_its_value(shell: str) -> None:
    # The original printed `unset NO_PROXYexample.com,1.2.3.4`; the value never appears now.
    text = _shell.render_unset(NAMES, shell, "x")
    assert "example.com" not in text
    assert "1.2.3.4" not in text


def test_set_keeps_the_mapping_order() -> None:
    env = {"B": "2", "A": "1"}
    assert _shell.render_set(env, "bash", "c").splitlines()[:2] == ['export B="2"', 'export A="1"']


def test_powershell_unset_has_two_literal_backslashes() -> None:
    first = _shell.render_unset(["X"], "powershell", "c").splitlines()[0]
    assert first == "Remove-Item Env:" + "\\" * 2 + "X"
    assert first.count("\\") == 2


def test_cmd_hint_has_a_tab_after_rem() -> None:
    second = _shell.usage_hint("cmd", "c").splitlines()[1]
    assert second.startswith("REM \t@FOR")
    assert second.endswith("IN ('c') DO @%i")


@pytest.mark.parametrize("shell", _shell.SHELLS)
def test_hint_first_line_ends_with_a_space(shell: str) -> None:
    assert _shell.usage_hint(shell, "c").split("\n")[0].endswith("shell: ")


def test_unknown_shell_names_the_option() -> None:
    with pytest.raises(MachineError) as caught:
        _shell.render_set(ENV, "csh", COMMAND)
    assert caught.value.details["option"] == "shell"
    assert "csh" in caught.value.msg


@pytest.mark.parametrize("value", ['/a"b', "/a$HOME", "/a`id`", "/a\nb", "/a\rb"])
def test_values_the_quotes_cannot_carry_are_refused(value: str) -> None:
    with pytest.raises(MachineError) as caught:
        _shell.render_set({"DOCKER_CERT_PATH": value}, "bash", COMMAND)
    assert caught.value.details["variable"] == "DOCKER_CERT_PATH"


def test_ordinary_odd_values_pass_unchanged() -> None:
    # Spaces, backslashes and single quotes are fine inside the original's double quotes.
    text = _shell.render_set({"DOCKER_CERT_PATH": "/my store/it's\\here"}, "bash", "c")
    assert text.splitlines()[0] == "export DOCKER_CERT_PATH=\"/my store/it's\\here\""


@pytest.mark.parametrize(
    ("shell", "expected"),
    [
        ("bash", "ansible localhost -a 'name=web1 shell=bash'"),
        ("fish", "ansible localhost -a 'name=web1 shell=bash'"),
        ("emacs", "ansible localhost -a 'name=web1 shell=bash'"),
        ("cmd", 'ansible localhost -a "name=web1 shell=bash"'),
    ],
)
def test_join_argv_quotes_words_with_spaces(shell: str, expected: str) -> None:
    assert _shell.join_argv(["ansible", "localhost", "-a", "name=web1 shell=bash"], shell) == expected


def test_join_argv_leaves_plain_words_bare() -> None:
    assert _shell.join_argv(["ansible", "-a", "name=web1"], "bash") == "ansible -a name=web1"


# --- no_proxy: the original's rule ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "ip", "expected"),
    [
        ({}, "1.2.3.4", ("NO_PROXY", "1.2.3.4")),
        ({"NO_PROXY": ""}, "1.2.3.4", ("NO_PROXY", "1.2.3.4")),
        ({"NO_PROXY": "example.com"}, "1.2.3.4", ("NO_PROXY", "example.com,1.2.3.4")),
        ({"no_proxy": "example.com"}, "1.2.3.4", ("no_proxy", "example.com,1.2.3.4")),
        # Lowercase wins when both are set; an empty lowercase one does not count.
        ({"no_proxy": "a.example", "NO_PROXY": "b.example"}, "1.2.3.4", ("no_proxy", "a.example,1.2.3.4")),
        ({"no_proxy": "", "NO_PROXY": "b.example"}, "1.2.3.4", ("NO_PROXY", "b.example,1.2.3.4")),
        # Already there: unchanged, and "there" means substring, as in the original.
        ({"NO_PROXY": "example.com,1.2.3.4"}, "1.2.3.4", ("NO_PROXY", "example.com,1.2.3.4")),
        ({"NO_PROXY": "10.0.0.10"}, "10.0.0.1", ("NO_PROXY", "10.0.0.10")),
    ],
)
def test_no_proxy_value(environ: dict[str, str], ip: str, expected: tuple[str, str]) -> None:
    assert _shell.no_proxy_value(environ, ip) == expected


def test_no_proxy_name_follows_the_same_rule() -> None:
    assert _shell.no_proxy_name({"no_proxy": "x"}) == "no_proxy"
    assert _shell.no_proxy_name({"no_proxy": "", "NO_PROXY": "x"}) == "NO_PROXY"
    assert _shell.no_proxy_name({}) == "NO_PROXY"


# --- what each shell's syntax cannot carry -------------------------------------------------------

HOSTILE = {
    # cmd.exe: the value is bare, so an operator starts another command or expands.
    "cmd": ["/a&calc", "/a|calc", "/a>x", "/a<x", "/a^&b", "/a%PATH%", "/a!x!", "/a)b", '/a"b'],
    "bash": ["/a$(id)", "/a`id`", '/a"b', "/a\\", "/a\\\\$b", "/a\nb"],
    "sh": ["/a$(id)", "/a`id`", '/a"b', "/a\\"],
    "zsh": ["/a$(id)", "/a`id`", '/a"b', "/a\\"],
    "fish": ["/a$HOME", '/a"b', "/a\\", "/a\\\\b"],
    "powershell": ["/a$(calc)", "/a`b", '/a"b', "/a\u201d; calc #"],
    "emacs": ['/a") (shell-command "id', "/a\\b"],
    "tcsh": ["/a!!", "/a$HOME", "/a`id`", '/a"b', "/a\\"],
}


@pytest.mark.parametrize(("shell", "value"), [(shell, value) for shell, values in HOSTILE.items() for value in values])
def test_values_special_in_the_target_shell_are_refused(shell: str, value: str) -> None:
    with pytest.raises(MachineError) as caught:
        _shell.render_set({"DOCKER_CERT_PATH": value}, shell, COMMAND)
    assert caught.value.details["variable"] == "DOCKER_CERT_PATH"
    assert shell in caught.value.msg


def test_cmd_operators_are_fine_where_they_are_quoted() -> None:
    # `&` ends a cmd.exe command but is plain text inside POSIX double quotes.
    assert _shell.render_set({"DOCKER_CERT_PATH": "/a&b"}, "bash", "c").splitlines()[0] == 'export DOCKER_CERT_PATH="/a&b"'


ODD_BUT_SAFE = "/my store/it's\\here;&|*~ (x)"


@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_accepted_values_evaluate_to_themselves_in_the_real_shell(shell: str, tmp_path) -> None:
    marker = tmp_path / "ran"
    value = ODD_BUT_SAFE + " touch " + str(marker)
    script = _shell.render_set({"DOCKER_CERT_PATH": value}, shell, "true")
    done = subprocess.run([shell, "-c", script + 'printf %s "$DOCKER_CERT_PATH"'], capture_output=True, text=True, timeout=30, check=True)
    assert done.stdout == value
    assert not marker.exists()
