"""dockyard-machine's words as the original's, run as a user runs it: a subprocess on a copy of the original's store.

The program named as invoked (a ``docker-machine`` symlink), the original's messages and help layout, values of a
record printed without the terminal control characters it may hold. Machines of this file listen nowhere (addresses
127.0.0.188-189 of test_cli.py's range, where nothing listens).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ansible_collections.dockyard.machine.tests.e2e.test_cli import cli_env


@pytest.fixture
def docker_machine(tmp_path: Path) -> Path:
    """A ``docker-machine`` symlink to the installed command, as users keep their scripts."""
    program = shutil.which("dockyard-machine")
    assert program, "dockyard-machine is not on PATH: run `make venv` and put .venv/bin first on PATH"
    link = tmp_path / "bin" / "docker-machine"
    link.parent.mkdir()
    link.symlink_to(program)
    return link


def run(program: Path | str, store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(store)
    if os.path.dirname(str(program)):
        env["PATH"] = "%s:%s" % (os.path.dirname(str(program)), env.get("PATH", ""))
    return subprocess.run([os.path.basename(str(program)), *args], capture_output=True, text=True, timeout=60, env=env, check=False)


def test_the_program_is_named_as_invoked(old_store: Path, docker_machine: Path) -> None:
    missing = run(docker_machine, old_store, "inspect", "nope")
    assert (missing.returncode, missing.stderr) == (
        1,
        'Docker machine "nope" does not exist. Use "docker-machine ls" to list machines. Use "docker-machine create" to add a new one.\n',
    )
    unknown = run(docker_machine, old_store, "frobnicate")
    assert unknown.stderr == "docker-machine: 'frobnicate' is not a docker-machine command. See 'docker-machine --help'.\n"
    assert run(docker_machine, old_store, "version").stdout.startswith("docker-machine version ")
    assert run(docker_machine, old_store, "ls", "--help").stdout.startswith("Usage: docker-machine ls [OPTIONS] [arg...]\n")
    assert run(docker_machine, old_store, "env", "-u").stdout.splitlines()[-1] == "# eval $(docker-machine env -u)"


def test_ls_template_that_fails_on_the_header(old_store: Path) -> None:
    """The header is rendered inside the error handling: the original's partial header and Go's error, no traceback (16.6)."""
    result = run("dockyard-machine", old_store, "ls", "--format", "table {{.Name}}\\t{{.EngineOptions.Labels}}")
    assert (result.returncode, result.stdout) == (1, "NAME   ")
    assert result.stderr == 'template: :1:26: executing "" at <.EngineOptions.Labels>: can\'t evaluate field Labels in type string\n'


def test_a_host_that_is_down_in_the_original_words(old_store: Path, tmp_path: Path) -> None:
    """m1's SSH port does not answer (the original's Stopped): version, stop, kill, restart and scp say so as the
    original does (16.10)."""
    cases = [
        (["version", "m1"], "", "Unable to query docker version: Host is not running\n"),
        (["stop", "m1"], 'Stopping "m1"...\n', 'Machine "m1" is already stopped.\n'),
        (["kill", "m1"], 'Killing "m1"...\n', 'Machine "m1" is already stopped.\n'),
        (["restart", "m1"], 'Restarting "m1"...\nStarting "m1"...\n', "generic driver does not support start\n"),
        (["scp", "m1:/etc/hostname", str(tmp_path / "hostname")], "", 'Error: Cannot run SSH command: Host "m1" is not running\n'),
    ]
    for args, out, err in cases:
        result = run("dockyard-machine", old_store, *args)
        assert (result.returncode, result.stdout, result.stderr) == (1, out, err), args


def test_help_in_the_original_s_layout(old_store: Path, docker_machine: Path) -> None:
    """16.11: docker-machine's templates, tab-padded; no --help line; [OPTIONS] only where there are flags."""
    ls = run(docker_machine, old_store, "ls", "--help")
    assert ls.stdout.splitlines()[:7] == [
        "Usage: docker-machine ls [OPTIONS] [arg...]",
        "",
        "List machines",
        "",
        "Options:",
        "   ",
        "   --quiet, -q\t\t\t\t\tEnable quiet mode",
    ]
    assert "--help" not in ls.stdout
    assert run(docker_machine, old_store, "url", "--help").stdout.startswith("Usage: docker-machine url [arg...]\n")
    top = run(docker_machine, old_store, "--help").stdout.splitlines()
    assert '  --storage-path, -s "%s"\tConfigures storage path [$MACHINE_STORAGE_PATH]' % old_store in top
    assert top[-1] == "Run 'docker-machine COMMAND --help' for more information on a command."


def test_a_secret_flag_is_flagged_as_readable_by_others(old_store: Path) -> None:
    """15.12: the help says so, and a secret given on the command line is warned about, naming its variable."""
    helped = run("dockyard-machine", old_store, "create", "-d", "amazonec2", "--help").stdout
    assert "in ps and /proc/PID/cmdline: set the environment variable instead) [$AWS_SECRET_ACCESS_KEY]" in helped
    given = run("dockyard-machine", old_store, "create", "-d", "amazonec2", "--amazonec2-secret-key", "s3cret")
    assert given.returncode == 1
    assert given.stderr.startswith("Warning: --amazonec2-secret-key on the command line can be read by other users of this computer")
    assert "set AWS_SECRET_ACCESS_KEY in the environment instead." in given.stderr


def test_record_values_reach_the_terminal_escaped(old_store: Path) -> None:
    """15.13: a record's escape sequences are printed escaped; a normal value as it is."""
    config = old_store / "machines" / "m1" / "config.json"
    doc = json.loads(config.read_text())
    doc["Driver"]["IPAddress"] = "127.0.0.188\x1b]0;owned\x07\x1b[2J"
    config.write_text(json.dumps(doc, indent=4))
    shown = run("dockyard-machine", old_store, "ip", "m1", "m2")
    assert (shown.returncode, shown.stdout) == (0, "127.0.0.188\\x1b]0;owned\\x07\\x1b[2J\n127.0.0.189\n"), shown.stderr
    formatted = run("dockyard-machine", old_store, "inspect", "-f", "{{.Driver.IPAddress}}", "m1").stdout
    assert formatted == "127.0.0.188\\x1b]0;owned\\x07\\x1b[2J\n"
    listed = run("dockyard-machine", old_store, "ls", "-t", "2")
    assert listed.returncode == 0 and "\x1b" not in listed.stdout + listed.stderr
