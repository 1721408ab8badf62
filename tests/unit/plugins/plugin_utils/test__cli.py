# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dockyard-machine's argument parsing and output, run in-process against a moved copy of the original's store.

The TLS check of ``env`` and ``config`` meets the small fake engine of the env module's tests (a
TLS server on 127.0.0.1 that demands a client certificate signed by the store's CA).
"""

from __future__ import annotations

import io
import json
import os
import socket
import ssl
import threading
import typing as t
from dataclasses import dataclass
from pathlib import Path

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils import _certs
from ansible_collections.dockyard.machine.plugins.module_utils._drivers import DRIVERS
from ansible_collections.dockyard.machine.plugins.module_utils._listing import MachineRow, list_machines, render_table
from ansible_collections.dockyard.machine.plugins.module_utils._machine import MachineManager
from ansible_collections.dockyard.machine.plugins.module_utils._ssh import SSHSession, SSHTarget
from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineStore, dumps_config
from ansible_collections.dockyard.machine.plugins.plugin_utils import _cli, _cli_complete, _cli_flags, _cli_manage, _cli_messages, _cli_show
from ansible_collections.dockyard.machine.tests.unit.plugins.modules.test_docker_machine_env import FAKE_VERSION, start_engine

NOT_EXIST = 'Docker machine "%s" does not exist. Use "dockyard-machine ls" to list machines. Use "dockyard-machine create" to add a new one.\n'


@dataclass
class Run:
    code: int
    out: str
    err: str
    ran: list[list[str]]


def run(store: Path | None, *args: str, env: dict[str, str] | None = None, stdin: str = "", argv0: str = "dockyard-machine") -> Run:
    environ = {"SHELL": "/bin/bash", "HOME": "/nonexistent-home"}
    if store is not None:
        environ["MACHINE_STORAGE_PATH"] = str(store)
    environ.update(env or {})
    out, err, ran = io.StringIO(), io.StringIO(), []

    def runner(argv: list[str]) -> int:
        ran.append(list(argv))
        return 0

    code = _cli.main([argv0, *args], environ=environ, stdout=out, stderr=err, stdin=io.StringIO(stdin), runner=runner)
    return Run(code, out.getvalue(), err.getvalue(), ran)


def tree(root: Path) -> dict[str, bytes]:
    """Every file of the store and its bytes; the empty lock files in .locks/ are how the store serialises writers, not content."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.parent.name != ".locks"}


def set_config(store: Path, name: str, section: tuple[str, ...], **fields: t.Any) -> None:
    """Update one section of a machine's config.json (``("Driver",)``, ``("HostOptions", "SwarmOptions")``)."""
    path = store / "machines" / name / "config.json"
    doc = json.loads(path.read_text())
    part = doc
    for key in section:
        part = part[key]
    part.update(fields)
    path.write_text(json.dumps(doc, indent=4))


def set_driver(store: Path, name: str, **fields: t.Any) -> None:
    set_config(store, name, ("Driver",), **fields)


@pytest.fixture
def store(fixture_store: Path) -> Path:
    """The original's store, its generic machines moved to addresses of this file's own where nothing listens."""
    set_driver(fixture_store, "m1", IPAddress="127.0.0.188")
    set_driver(fixture_store, "m2", IPAddress="127.0.0.189")
    return fixture_store


@pytest.fixture
def engine(store: Path, tmp_path: Path) -> t.Iterator[int]:
    """An engine the store's CA signed, reached as machine m1 (its SSH port is the engine's, so m1 counts as running)."""
    ca = _certs.load_pair((store / "certs" / "ca.pem").read_bytes(), (store / "certs" / "ca-key.pem").read_bytes())
    state, server = start_engine(tmp_path, ca, store / "certs" / "ca.pem")
    set_driver(store, "m1", IPAddress="127.0.0.1", EnginePort=state.port, SSHPort=state.port)
    yield state.port
    server.shutdown()
    server.server_close()


# --- flags ---------------------------------------------------------------------------------------

FLAGS = (
    _cli_flags.Flag(("shell",), "string", ""),
    _cli_flags.Flag(("unset", "u"), "bool", ""),
    _cli_flags.Flag(("timeout", "t"), "int", "", 10),
    _cli_flags.Flag(("filter",), "slice", ""),
)


@pytest.mark.parametrize(
    ("args", "values", "rest"),
    [
        ([], {"shell": None, "unset": False, "timeout": 10, "filter": []}, []),
        (["web1", "--shell", "fish"], {"shell": "fish"}, ["web1"]),
        (["--shell=fish", "-u", "web1"], {"shell": "fish", "unset": True}, ["web1"]),
        (["-u=false", "-t", "3"], {"unset": False, "timeout": 3}, []),
        (["--filter", "a=1", "--filter=b=2"], {"filter": ["a=1", "b=2"]}, []),
        (["a", "--", "-u"], {"unset": False}, ["a", "--", "-u"]),
        (["--", "-u"], {"unset": False}, ["-u"]),
        (["-u", "a", "-t", "5"], {"unset": True, "timeout": 10}, ["a", "-t", "5"]),
        (["-"], {}, ["-"]),
    ],
)
def test_flags_parse_like_codegangsta_cli(args: list[str], values: dict[str, t.Any], rest: list[str]) -> None:
    parsed, remaining = _cli_flags.parse_flags(FLAGS, args, {})
    assert {k: parsed[k] for k in values} == values
    assert remaining == rest


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bogus"], "flag provided but not defined: -bogus"),
        (["-x=1"], "flag provided but not defined: -x"),
        (["--shell"], "flag needs an argument: -shell"),
        (["-t", "ten"], 'invalid value "ten" for flag -t: strconv.ParseInt: parsing "ten": invalid syntax'),
        (["-u=maybe"], 'invalid boolean value "maybe" for -u: strconv.ParseBool: parsing "maybe": invalid syntax'),
        (["---u"], "bad flag syntax: ---u"),
    ],
)
def test_flag_errors_are_go_flag_messages(args: list[str], message: str) -> None:
    with pytest.raises(_cli_flags.UsageError) as info:
        _cli_flags.parse_flags(FLAGS, args, {})
    assert info.value.message == message


def test_a_flag_takes_its_environment_variable() -> None:
    flags = (_cli_flags.Flag(("storage-path", "s"), "string", "", "", "MACHINE_STORAGE_PATH"),)
    assert _cli_flags.parse_flags(flags, [], {"MACHINE_STORAGE_PATH": "/x"})[0]["storage-path"] == "/x"
    assert _cli_flags.parse_flags(flags, ["-s", "/y"], {"MACHINE_STORAGE_PATH": "/x"})[0]["storage-path"] == "/y"


def test_unknown_flag_prints_usage_and_fails(store: Path) -> None:
    before = tree(store)
    result = run(store, "ls", "--bogus")
    assert result.code == 1
    assert result.out.startswith("Incorrect Usage.\n\nUsage: dockyard-machine ls [OPTIONS] [arg...]\n\nList machines\n")
    assert "--filter [--filter option --filter option]" in result.out
    assert result.err == "flag provided but not defined: -bogus\n"
    assert tree(store) == before


def test_unknown_command(store: Path) -> None:
    result = run(store, "frobnicate")
    assert (result.code, result.out) == (1, "")
    assert result.err == "dockyard-machine: 'frobnicate' is not a dockyard-machine command. See 'dockyard-machine --help'.\n"


def test_version_and_help() -> None:
    version = run(None, "--version")
    assert version.code == 0 and version.out.startswith("dockyard-machine version ") and version.out.endswith(", build dockyard.machine\n")
    assert run(None, "version").out == version.out
    assert run(None, "-v").out == version.out
    top = run(None, "--help")
    assert top.code == 0 and top.out.startswith("Usage: dockyard-machine [OPTIONS] COMMAND [arg...]\n\nCreate and manage machines running Docker.\n")
    assert "\n  regenerate-certs\tRegenerate TLS Certificates for a machine\n" in top.out
    assert run(None).out == top.out
    env_help = run(None, "env", "--help")
    assert env_help.code == 0 and env_help.out.startswith("Usage: dockyard-machine env [OPTIONS] [arg...]\n\nDisplay the commands")
    assert "   --unset, -u" in env_help.out
    assert run(None, "help", "env").out == env_help.out


def test_help_in_the_original_s_layout(tmp_path: Path) -> None:
    """docker-machine's help templates through codegangsta/cli's tab-padded writer (16.11): no --help line per command,
    [OPTIONS] only for commands with flags, the store path the command would use, codegangsta's help command."""
    ls = run(tmp_path / "store", "ls", "--help").out
    assert ls == (
        "Usage: dockyard-machine ls [OPTIONS] [arg...]\n\nList machines\n\nOptions:\n   \n"
        "   --quiet, -q\t\t\t\t\tEnable quiet mode\n"
        "   --filter [--filter option --filter option]\tFilter output based on conditions provided\n"
        '   --timeout, -t "10"\t\t\t\tTimeout in seconds, default to 10s\n'
        "   --format, -f \t\t\t\tPretty-print machines using a Go template\n"
    )
    ip = run(tmp_path / "store", "ip", "-h").out
    assert ip == "Usage: dockyard-machine ip [arg...]\n\nGet the IP address of a machine\n\nDescription:\n   Argument(s) are one or more machine names.\n"
    assert (
        run(tmp_path / "store", "help", "version").out
        == "Usage: dockyard-machine version [arg...]\n\nShow the Docker Machine version or a machine docker version\n"
    )
    top = run(tmp_path / "store", "--help").out.splitlines()
    assert '  --storage-path, -s "%s"\tConfigures storage path [$MACHINE_STORAGE_PATH]' % (tmp_path / "store") in top
    # A string flag without a value keeps codegangsta's space before the tabs.
    assert [line.split("\t")[0] for line in top if line.endswith("\tCA to verify remotes against [$MACHINE_TLS_CA_CERT]")] == ["  --tls-ca-cert "]
    assert top[-3:] == [
        "  help\t\t\tShows a list of commands or help for one command",
        "  ",
        "Run 'dockyard-machine COMMAND --help' for more information on a command.",
    ]
    assert run(None, "--help").out.count('--storage-path, -s "%s"\t' % os.path.expanduser("~/.docker/machine")) == 1


def test_storage_path_flag_wins_over_the_environment(store: Path, tmp_path: Path) -> None:
    result = run(tmp_path / "elsewhere", "-s", str(store), "ls", "-q")
    assert result.out == "aws-sandbox\nm1\nm2\n"
    assert run(tmp_path / "elsewhere", "ls", "-q").out == ""


def test_tls_path_flags_are_refused_clearly(store: Path) -> None:
    result = run(store, "--tls-ca-cert", "/x/ca.pem", "ls")
    assert result.code == 1 and "--tls-ca-cert is not offered" in result.err


# --- ls / active --------------------------------------------------------------------------------


def test_ls_table_of_stopped_machines(store: Path) -> None:
    result = run(store, "ls", "--filter", "driver=generic", "-t", "2")
    assert result.code == 0, result.err
    assert result.out == (
        "NAME   ACTIVE   DRIVER    STATE     URL   SWARM   DOCKER    ERRORS\n"
        "m1     -        generic   Stopped                 Unknown   \n"
        "m2     -        generic   Stopped                 Unknown   \n"
    )


def test_ls_quiet_and_name_filter(store: Path) -> None:
    assert run(store, "ls", "-q").out == "aws-sandbox\nm1\nm2\n"
    assert run(store, "ls", "-q", "--filter", "name=^m", "--filter", "name=sandbox").out == "aws-sandbox\nm1\nm2\n"
    assert run(store, "ls", "-q", "--filter", "NAME=2$").out == "m2\n"
    assert run(store, "ls", "-q", "--filter", "driver=GENERIC", "--filter", "name=1").out == "m1\n"
    assert run(store, "ls", "-q", "--filter", "driver=generic", "--filter", "state=running", "-t", "2").out == ""


@pytest.mark.parametrize(
    ("filter_", "message"),
    [("driver", "Unsupported filter syntax\n"), ("colour=red", "Unsupported filter key 'colour'\n")],
)
def test_ls_bad_filters(store: Path, filter_: str, message: str) -> None:
    result = run(store, "ls", "--filter", filter_)
    assert (result.code, result.out, result.err) == (1, "", message)


def test_ls_format_fields_and_table(store: Path) -> None:
    result = run(store, "ls", "--filter", "driver=generic", "-t", "2", "--format", "{{.Name}}: {{.State}} {{.DriverName}} [{{.URL}}] {{.ActiveHost}}")
    assert result.out == "m1: Stopped generic [] false\nm2: Stopped generic [] false\n"
    table = run(store, "ls", "--filter", "name=^m1$", "-t", "2", "-f", "table {{.Name}}\\t{{.DockerVersion}}\\t{{.Error}}")
    assert table.out == "NAME   DOCKER    ERRORS\nm1     Unknown   \n"


def test_ls_format_with_an_unknown_field(store: Path) -> None:
    result = run(store, "ls", "--filter", "name=m1", "-t", "2", "-f", "{{.Name}} {{.Colour}}")
    assert result.code == 1
    assert "can't evaluate field Colour in type commands.HostListItem" in result.err


def test_ls_of_a_store_that_does_not_exist(tmp_path: Path) -> None:
    result = run(tmp_path / "none", "ls")
    assert (result.code, result.out) == (0, "NAME   ACTIVE   DRIVER   STATE   URL   SWARM   DOCKER   ERRORS\n")


def test_ls_shows_a_broken_record(store: Path) -> None:
    (store / "machines" / "m2" / "config.json").write_text("{not json")
    result = run(store, "ls", "--filter", "driver=generic", "-t", "2")
    lines = result.out.splitlines()
    assert lines[1].startswith("m1 ")
    assert "m2" not in result.out  # the original shows it whatever the filter; here the filter applies to it too
    everything = run(store, "ls", "-t", "2").out.splitlines()
    assert [line.split()[:4] for line in everything if line.startswith("m2")] == [["m2", "not", "found", "Error"]]


def test_active_without_an_active_machine(store: Path) -> None:
    result = run(store, "active", "-t", "2", env={"DOCKER_HOST": "tcp://127.0.0.188:2376"})
    assert (result.code, result.out, result.err) == (1, "", "No active host found\n")
    assert run(store, "active", "m1").err == "Error: Too many arguments given\n"


def test_active_names_the_machine_of_docker_host(store: Path, engine: int) -> None:
    result = run(store, "active", "-t", "5", env={"DOCKER_HOST": "tcp://127.0.0.1:%d" % engine})
    assert (result.code, result.out) == (0, "m1\n"), result.err
    table = run(store, "ls", "--filter", "name=m1", "-t", "5", env={"DOCKER_HOST": "tcp://127.0.0.1:%d" % engine})
    assert table.out.splitlines()[1].split() == ["m1", "*", "generic", "Running", "tcp://127.0.0.1:%d" % engine, "v" + FAKE_VERSION]


# --- env / config ---------------------------------------------------------------------------------


def test_env_bash_against_an_engine(store: Path, engine: int) -> None:
    result = run(store, "env", "m1")
    assert result.code == 0, result.err
    assert result.out == (
        'export DOCKER_TLS_VERIFY="1"\n'
        'export DOCKER_HOST="tcp://127.0.0.1:%d"\n'
        'export DOCKER_CERT_PATH="%s"\n'
        'export DOCKER_MACHINE_NAME="m1"\n'
        "# Run this command to configure your shell: \n"
        "# eval $(dockyard-machine env m1)\n" % (engine, store / "machines" / "m1")
    )
    assert result.err == ""


def test_env_shell_from_the_flag_and_from_shell(store: Path, engine: int) -> None:
    fish = run(store, "env", "--shell", "fish", "--no-proxy", "m1", env={"NO_PROXY": "example.com"})
    assert fish.out.splitlines()[4] == 'set -gx NO_PROXY "example.com,127.0.0.1";'
    assert fish.out.splitlines()[-1] == "# eval (dockyard-machine env --shell fish --no-proxy m1)"
    # As with the original, flag parsing stops at the first argument after a flag: a flag after the name is an argument.
    assert run(store, "env", "--shell", "fish", "m1", "--no-proxy").err == "Error: Expected one machine name as an argument\n"
    tcsh = run(store, "env", "m1", env={"SHELL": "/usr/bin/tcsh"})
    assert tcsh.out.splitlines()[0] == 'setenv DOCKER_TLS_VERIFY "1";'
    assert tcsh.out.splitlines()[-1] == ": eval `dockyard-machine env m1`"
    # Any shell the original does not name gets the POSIX lines.
    dash = run(store, "env", "m1", env={"SHELL": "/bin/dash"})
    assert dash.out.splitlines()[0] == 'export DOCKER_TLS_VERIFY="1"'


def test_env_of_a_stopped_machine(store: Path) -> None:
    result = run(store, "env", "m1")
    assert (result.code, result.out, result.err) == (1, "", "Error checking TLS connection: Host is not running\n")


def none_machine(store: Path, engine: int, name: str, url: str) -> None:
    """A none machine (made against the engine), then pointed at ``url``."""
    assert run(store, "create", "-d", "none", "--url", "tcp://127.0.0.1:%d" % engine, name).code == 0
    set_driver(store, name, URL=url)


CERT_HINT = (
    "\nYou can attempt to regenerate them using 'dockyard-machine regenerate-certs [name]'.\n"
    "Be advised that this will trigger a Docker daemon restart which might stop running containers.\n\n"
)


def test_env_when_the_engine_does_not_answer(store: Path, engine: int) -> None:
    """The original's words (16.5): Go's dial error in the certificate check, ls's ERRORS from its Docker client."""
    none_machine(store, engine, "n1", "tcp://127.0.0.1:1")  # nothing listens on 127.0.0.1:1
    result = run(store, "env", "n1")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "Error checking TLS connection: Error checking and/or regenerating the certs: "
        'There was an error validating certificates for host "127.0.0.1:1": dial tcp 127.0.0.1:1: connect: connection refused' + CERT_HINT
    )
    assert run(store, "config", "n1").err.startswith("Error running connection boilerplate: Error checking and/or regenerating the certs: ")
    listed = run(store, "ls", "--filter", "name=^n1$", "--format", "{{.Error}}")
    assert listed.out == "Unable to query docker version: Cannot connect to the docker engine endpoint\n"
    version = run(store, "version", "n1")
    assert (version.code, version.err) == (1, "Unable to query docker version: Cannot connect to the docker engine endpoint\n")


@pytest.fixture
def moved_engine(store: Path, tmp_path: Path) -> t.Iterator[int]:
    """A TLS engine on 127.0.0.1 whose certificate (the store's CA) covers 127.0.0.11 only: the machine moved."""
    ca = _certs.load_pair((store / "certs" / "ca.pem").read_bytes(), (store / "certs" / "ca-key.pem").read_bytes())
    pair = _certs.new_server(ca, "moved", ["127.0.0.11"])
    (tmp_path / "moved-cert.pem").write_bytes(pair.cert_pem)
    (tmp_path / "moved-key.pem").write_bytes(pair.key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(tmp_path / "moved-cert.pem"), str(tmp_path / "moved-key.pem"))
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _peer = listener.accept()
            except OSError:
                return
            try:
                context.wrap_socket(conn, server_side=True).close()
            except OSError:
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()


def test_a_certificate_that_no_longer_covers_the_address(store: Path, engine: int, moved_engine: int) -> None:
    """env names regenerate-certs (the command, not the module) and no sentence ends in two periods (16.5)."""
    none_machine(store, engine, "n2", "tcp://127.0.0.1:%d" % moved_engine)
    mismatch = "IP address mismatch, certificate is not valid for '127.0.0.1'"
    result = run(store, "env", "n2")
    assert result.err == (
        "Error checking TLS connection: Error checking and/or regenerating the certs: "
        'There was an error validating certificates for host "127.0.0.1:%d": %s' % (moved_engine, mismatch) + CERT_HINT
    )
    listed = run(store, "ls", "--filter", "name=^n2$", "--format", "{{.Error}}").out
    assert listed == "Unable to query docker version: Get https://127.0.0.1:%d/v1.15/version: %s\n" % (moved_engine, mismatch)
    # The modules' own words keep naming the module, with one period.
    info = list_machines(MachineStore(str(store)), timeout=5, docker_host=None, machine_filter=None)
    module_error = next(row.error for row in info if row.name == "n2")
    assert "'127.0.0.1'. Re-issue the machine's server certificate with dockyard.machine.docker_machine_certs." in module_error
    assert ".." not in module_error


@pytest.fixture
def closing_port() -> t.Iterator[int]:
    """A port on 127.0.0.1 that accepts connections, reads the client's first words and closes (a relay whose engine is
    gone); reading first makes the close an orderly one (unread data would make it a reset)."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _peer = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    conn.recv(65536)
                except OSError:
                    pass

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()


def test_env_url_and_config_of_a_host_whose_engine_is_stopped(store: Path, engine: int, closing_port: int) -> None:
    """After stop of a machine whose host we do not power, the engine is stopped: said as the original says a host is
    not running (16.10)."""
    set_driver(store, "m1", EnginePort=1)  # the host answers (its SSH port is the engine's), its engine port refuses
    stopped = "Engine is not running; start it with `dockyard-machine start m1`\n"
    assert run(store, "env", "m1").err == "Error checking TLS connection: " + stopped
    assert run(store, "config", "m1").err == "Error running connection boilerplate: " + stopped
    assert run(store, "url", "m1").out == "tcp://127.0.0.1:1\n"  # url asks no engine; the record says who stopped it
    machines = MachineStore(str(store))
    record = machines.load("m1")
    record.sidecar["Status"] = "stopped"  # as stop writes it
    machines.save(record)
    url = run(store, "url", "m1")
    assert (url.code, url.out, url.err) == (1, "", stopped)
    set_driver(store, "m1", EnginePort=closing_port)  # a relay in front of the stopped engine: connections accepted, then closed
    assert run(store, "env", "m1").err == "Error checking TLS connection: " + stopped
    set_driver(store, "m1", EnginePort=engine)  # started by other means: the engine's answer wins over the record
    assert run(store, "env", "m1").code == 0


def test_a_connection_closed_during_the_handshake_is_go_s_eof(store: Path, engine: int, closing_port: int) -> None:
    none_machine(store, engine, "n3", "tcp://127.0.0.1:%d" % closing_port)
    result = run(store, "env", "n3")
    assert result.err.startswith("Error checking TLS connection: Error checking and/or regenerating the certs: There was an error validating certificates")
    assert result.err.endswith('for host "127.0.0.1:%d": EOF' % closing_port + CERT_HINT)
    listed = run(store, "ls", "--filter", "name=^n3$", "--format", "{{.Error}}").out
    assert listed == "Unable to query docker version: Get https://127.0.0.1:%d/v1.15/version: EOF\n" % closing_port


def test_env_without_shell_fails_like_the_original(store: Path, engine: int) -> None:
    result = run(store, "env", "m1", env={"SHELL": ""})
    assert result.code == 1
    assert result.out == "The default lines below are for a sh/bash shell, you can specify the shell you're using, with the --shell flag.\n\n"
    assert result.err == "Error: Unknown shell\n"


@pytest.mark.parametrize(
    ("shell", "first", "hint"),
    [
        ("bash", "unset DOCKER_TLS_VERIFY", "# eval $(dockyard-machine env -u --shell bash)"),
        ("fish", "set -e DOCKER_TLS_VERIFY;", "# eval (dockyard-machine env -u --shell fish)"),
        ("powershell", "Remove-Item Env:\\\\DOCKER_TLS_VERIFY", "# & dockyard-machine env -u --shell powershell | Invoke-Expression"),
        ("cmd", "SET DOCKER_TLS_VERIFY=", "REM \t@FOR /f \"tokens=*\" %i IN ('dockyard-machine env -u --shell cmd') DO @%i"),
        (
            "emacs",
            '(setenv "DOCKER_TLS_VERIFY" nil)',
            ';; (with-temp-buffer (shell-command "dockyard-machine env -u --shell emacs" (current-buffer)) (eval-buffer))',
        ),
        ("tcsh", "unsetenv DOCKER_TLS_VERIFY;", ": eval `dockyard-machine env -u --shell tcsh`"),
    ],
)
def test_env_unset_for_every_shell(tmp_path: Path, shell: str, first: str, hint: str) -> None:
    result = run(tmp_path / "no-store", "env", "-u", "--shell", shell)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert len(lines) == 6 and lines[0] == first and lines[-1] == hint
    assert lines[4].endswith("Run this command to configure your shell: ")


def test_env_argument_errors(store: Path) -> None:
    assert run(store, "env", "-u", "m1").err == "Error: Expected no machine name when the -u flag is present\n"
    assert run(store, "env", "m1", "m2").err == "Error: Expected one machine name as an argument\n"
    assert run(store, "env").err == 'Error: No machine name(s) specified and no "default" machine exists\n'
    assert run(store, "env", "nope").err == NOT_EXIST % "nope"
    assert run(store, "env", "../m1").err == NOT_EXIST % "../m1"
    swarm = run(store, "env", "--swarm", "m1")
    assert swarm.code == 1 and "--swarm is not offered" in swarm.err


def test_config_against_an_engine(store: Path, engine: int) -> None:
    result = run(store, "config", "m1")
    folder = store / "machines" / "m1"
    assert result.out == '--tlsverify\n--tlscacert="%s/ca.pem"\n--tlscert="%s/cert.pem"\n--tlskey="%s/key.pem"\n-H=tcp://127.0.0.1:%d\n' % (
        folder,
        folder,
        folder,
        engine,
    )
    assert run(store, "config", "m2").err == "Error running connection boilerplate: Host is not running\n"


def test_version_of_a_machine(store: Path, engine: int) -> None:
    assert run(store, "version", "m1").out == FAKE_VERSION + "\n"


# --- inspect / ip / url / status ------------------------------------------------------------------


def test_inspect_prints_the_record_like_config_json(store: Path) -> None:
    result = run(store, "inspect", "m1")
    record = MachineStore(str(store)).load("m1")
    assert result.out == dumps_config(record.redacted()).decode() + "\n"
    assert json.loads(result.out)["Driver"]["IPAddress"] == "127.0.0.188"


def test_inspect_never_prints_cloud_credentials(store: Path) -> None:
    set_driver(store, "aws-sandbox", AccessKey="AKIAEXAMPLE", SecretKey="very-secret")
    result = run(store, "inspect", "aws-sandbox")
    assert "very-secret" not in result.out and "AKIAEXAMPLE" not in result.out
    assert json.loads(result.out)["Driver"]["SecretKey"] == "********"
    assert "very-secret" not in run(store, "inspect", "-f", "{{json .Driver}}", "aws-sandbox").out


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{.Driver.IPAddress}}", "127.0.0.188"),
        ("{{ .Driver.SSHPort }}:{{.DriverName}}", "22:generic"),
        ("{{json .HostOptions.EngineOptions.Labels}}", "[]"),
        ("{{.HostOptions.AuthOptions.ServerCertSANs}}", "[]"),
        ("{{.Nothing}}", "<no value>"),
        ("{{json .HostOptions.SwarmOptions.Host}}", '"tcp://0.0.0.0:3376"'),
    ],
)
def test_inspect_format(store: Path, template: str, expected: str) -> None:
    result = run(store, "inspect", "--format", template, "m1")
    assert (result.code, result.out) == (0, expected + "\n"), result.err


def test_inspect_prettyjson_sorts_keys_as_go_maps_do(store: Path) -> None:
    out = run(store, "inspect", "-f", "{{prettyjson .Driver}}", "m1").out
    keys = list(json.loads(out))
    assert keys == sorted(keys) and out.startswith('{\n    "EnginePort": 2376,')


def test_inspect_errors(store: Path) -> None:
    two = run(store, "inspect", "m1", "m2")
    assert two.code == 1 and two.out.startswith("Usage: dockyard-machine inspect") and two.err == "Error: Expected one machine name as an argument\n"
    assert run(store, "inspect", "nope").err == NOT_EXIST % "nope"
    bad = run(store, "inspect", "-f", "{{range .}}", "m1")
    assert bad.code == 1 and bad.err.startswith('template parsing error: template: :1: function "range" not defined')


def test_ip_url_status(store: Path) -> None:
    assert run(store, "ip", "m1", "m2").out == "127.0.0.188\n127.0.0.189\n"
    missing = run(store, "ip", "m1", "nope")
    assert (missing.code, missing.out, missing.err) == (1, "", NOT_EXIST % "nope")
    assert run(store, "url", "m1").err == "Host is not running\n"
    assert run(store, "status", "m1").out == "Stopped\n"
    assert run(store, "status", "m1", "m2").err == "Error: Expected one machine name as an argument\n"


def test_url_and_status_of_a_running_machine(store: Path, engine: int) -> None:
    assert run(store, "url", "m1").out == "tcp://127.0.0.1:%d\n" % engine
    assert run(store, "status", "m1").out == "Running\n"


def test_the_default_machine_is_used_without_a_name(store: Path) -> None:
    (store / "machines" / "m1").rename(store / "machines" / "default")
    assert run(store, "ip").out == "127.0.0.188\n"
    assert run(store, "status").out == "Stopped\n"


# --- rm ------------------------------------------------------------------------------------------


def test_rm_needs_a_name(store: Path) -> None:
    result = run(store, "rm")
    assert result.code == 1 and result.out.startswith("Usage: dockyard-machine rm [OPTIONS] [arg...]")
    assert result.err == "Error: Expected to get one or more machine names as arguments\n"


def test_rm_asks_first(store: Path) -> None:
    before = tree(store)
    result = run(store, "rm", "m2", stdin="n\n")
    assert result.code == 0
    assert result.out == "About to remove m2\nWARNING: This action will delete both local reference and remote instance.\nAre you sure? (y/n): "
    assert tree(store) == before
    yes = run(store, "rm", "m2", stdin="yes\n")
    assert yes.out.endswith("Are you sure? (y/n): Successfully removed m2\n")
    assert not (store / "machines" / "m2").exists()


def test_rm_y_removes_only_the_named_machines(store: Path) -> None:
    result = run(store, "rm", "-y", "m1", "m2")
    assert result.code == 0, result.err
    assert result.out == (
        "About to remove m1, m2\nWARNING: This action will delete both local reference and remote instance.\n"
        "Successfully removed m1\nSuccessfully removed m2\n"
    )
    assert sorted(os.listdir(store / "machines")) == ["aws-sandbox"]


def test_rm_of_an_unknown_machine(store: Path) -> None:
    before = tree(store)
    result = run(store, "rm", "-y", "nope")
    assert result.code == 1
    assert result.err == 'Error removing host "nope": ' + NOT_EXIST % "nope"
    assert tree(store) == before
    forced = run(store, "rm", "-f", "nope", "../m1")
    assert forced.code == 0
    assert forced.err.splitlines() == [
        'Error removing host "nope": ' + (NOT_EXIST % "nope").strip(),
        'Can\'t remove "nope"',
        'Error removing host "../m1": ' + (NOT_EXIST % "../m1").strip(),
        'Can\'t remove "../m1"',
    ]
    assert tree(store) == before


def test_rm_f_removes_a_record_that_does_not_load(store: Path) -> None:
    (store / "machines" / "m2" / "config.json").write_text("{half")
    assert run(store, "rm", "-y", "m2").code == 1
    assert (store / "machines" / "m2").exists()
    forced = run(store, "rm", "-f", "m2")
    assert forced.code == 0 and "Successfully removed m2" in forced.out
    assert not (store / "machines" / "m2").exists()


# --- create --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["-d", "generic", "--generic-ip-address", "127.0.0.1", "bad_name"],
            "Error creating machine: Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -\n",
        ),
        (["-d", "generic", "--generic-ip-address", "127.0.0.1", "m1"], 'Docker machine "m1" already exists\n'),
        (["-d", "generic", "new1"], "Error setting machine configuration from flags provided: generic driver requires the --generic-ip-address option\n"),
        (["-d", "none", "new1"], "Error setting machine configuration from flags provided: --url option is required when no driver is selected\n"),
        (["-d", "generic", "--generic-ip-address", "127.0.0.1", "a", "b"], "Invalid command line. Found extra arguments [b]\n"),
        (["-d", "generic", "--generic-ip-address", "127.0.0.1", "--swarm-master", "--swarm-discovery", "token://0ac5", "new1"], None),
        (["new1"], None),
        (["-d", "generic", "--generic-ip-address", "127.0.0.1", "--generic-ssh-key", "/nonexistent/key", "new1"], None),
        (["-d", "generic", "--url", "tcp://127.0.0.1:2376", "new1"], "flag provided but not defined: -url\n"),
    ],
)
def test_create_refuses_bad_input_and_leaves_the_store_as_it_was(store: Path, args: list[str], message: str | None) -> None:
    before = tree(store)
    result = run(store, "create", *args)
    assert result.code == (3 if "--generic-ssh-key" in args else 1)
    if message is not None:
        assert result.err == message
    else:
        assert result.err.strip() and "Traceback" not in result.err
    assert tree(store) == before


def test_create_messages_name_flags_not_module_options(store: Path) -> None:
    key = run(store, "create", "-d", "generic", "--generic-ip-address", "127.0.0.1", "--generic-ssh-key", "/nonexistent/key", "new1")
    # The original's pre-create check: its message quoted, exit 3.
    assert (key.code, key.out) == (3, "Running pre-create checks...\n")
    assert key.err == 'Error with pre-create check: "SSH key does not exist: \\"/nonexistent/key\\". Fix flag --generic-ssh-key."\n'
    url = run(store, "create", "-d", "none", "--url", "tcp://127.0.0.1:99999", "new1")
    assert url.err.startswith("Error setting machine configuration from flags provided: ") and url.out == ""
    assert "Fix flag --url." in url.err and "option" not in url.err
    driver = run(store, "create", "new1")
    assert driver.err.startswith('Driver "virtualbox" is not offered by dockyard-machine')
    swarm = run(store, "create", "-d", "generic", "--generic-ip-address", "127.0.0.1", "--swarm-master", "--swarm-discovery", "token://0ac5", "new1")
    assert swarm.err.startswith("Error: --swarm-discovery configured the standalone Swarm that Docker retired")


def test_create_none_against_an_engine(store: Path, engine: int) -> None:
    engine_flags = ["--engine-label", "role=test", "--engine-opt", "dns=192.0.2.53", "--engine-opt", "debug", "--engine-opt", "dns=192.0.2.54"]
    engine_flags += ["--engine-install-url", "https://get.example/install.sh"]
    result = run(store, "create", "-d", "none", "--url", "tcp://127.0.0.1:%d" % engine, *engine_flags, "n1")
    assert result.code == 0, result.err
    # The original only records a none machine: no connection check, so none of its lines.
    assert result.out.splitlines() == [
        "Running pre-create checks...",
        "Creating machine...",
        "To see how to connect your Docker Client to the Docker Engine running on this virtual machine, run: dockyard-machine env n1",
    ]
    record = MachineStore(str(store)).load("n1")
    assert record.driver["URL"] == "tcp://127.0.0.1:%d" % engine
    assert record.engine_options["Labels"] == ["role=test"]
    assert record.engine_options["ArbitraryFlags"] == ["dns=192.0.2.53", "dns=192.0.2.54", "debug"]  # repeated flags stay
    assert (record.engine_options["InstallURL"], record.sidecar["Engine"]["Source"]) == ("https://get.example/install.sh", "script")
    assert run(store, "ls", "-q", "--filter", "label=role=test").out == "n1\n"
    assert run(store, "url", "n1").out == "tcp://127.0.0.1:%d\n" % engine


def test_create_on_an_empty_store_makes_the_ca_first(tmp_path: Path, store: Path, engine: int) -> None:
    empty = tmp_path / "empty"
    result = run(empty, "create", "-d", "none", "--url", "tcp://127.0.0.1:%d" % engine, "n1")
    assert result.out.splitlines()[:2] == ["Creating CA: %s/certs/ca.pem" % empty, "Creating client certificate: %s/certs/cert.pem" % empty]
    # Recorded as the original records it; the engine trusts the other store's CA, which env's TLS check finds.
    assert result.code == 0 and (empty / "machines" / "n1" / "config.json").is_file()
    env = run(empty, "env", "n1")
    assert env.code == 1 and env.out == "" and "127.0.0.1:%d" % engine in env.err


# --- power, ssh, scp, certificates ---------------------------------------------------------------


def test_power_of_an_unknown_machine_touches_nothing(store: Path) -> None:
    before = tree(store)
    for command in ("start", "stop", "restart", "kill", "regenerate-certs"):
        result = (
            run(store, command, "-f" if command == "regenerate-certs" else "m1", "nope") if command == "regenerate-certs" else run(store, command, "m1", "nope")
        )
        assert result.code == 1, command
        assert result.err.endswith(NOT_EXIST % "nope"), command
    assert tree(store) == before


def test_kill_is_not_supported_by_these_drivers(store: Path, engine: int) -> None:
    result = run(store, "kill", "m1")  # m1 runs: its SSH port answers
    assert (result.code, result.out, result.err) == (1, 'Killing "m1"...\n', "generic driver does not support kill\n")


def test_a_host_that_is_down_in_the_original_words(store: Path, tmp_path: Path) -> None:
    """m1's SSH port does not answer: the original's state Stopped, and its words for each command (16.10)."""
    before = tree(store)
    version = run(store, "version", "m1")
    assert (version.code, version.out, version.err) == (1, "", "Unable to query docker version: Host is not running\n")
    stop = run(store, "stop", "m1")
    assert (stop.code, stop.out, stop.err) == (1, 'Stopping "m1"...\n', 'Machine "m1" is already stopped.\n')
    kill = run(store, "kill", "m1")
    assert (kill.code, kill.out, kill.err) == (1, 'Killing "m1"...\n', 'Machine "m1" is already stopped.\n')
    restart = run(store, "restart", "m1")
    assert (restart.code, restart.out, restart.err) == (1, 'Restarting "m1"...\nStarting "m1"...\n', "generic driver does not support start\n")
    start = run(store, "start", "m1")
    assert (start.code, start.out, start.err) == (1, 'Starting "m1"...\n', "generic driver does not support start\n")
    scp = run(store, "scp", "m1:/etc/hostname", str(tmp_path / "hostname"))
    assert (scp.code, scp.err, scp.ran) == (1, 'Error: Cannot run SSH command: Host "m1" is not running\n', [])
    assert tree(store) == before


def test_power_of_a_none_machine(store: Path, engine: int) -> None:
    run(store, "create", "-d", "none", "--url", "tcp://127.0.0.1:%d" % engine, "n1")
    result = run(store, "stop", "n1")
    assert result.code == 1 and result.out == 'Stopping "n1"...\n'
    assert result.err == "Hosts without a driver cannot be stopped (driver none).\n"


def test_regenerate_certs_asks_first(store: Path) -> None:
    before = tree(store)
    result = run(store, "regenerate-certs", "m1", stdin="\n")
    assert (result.code, result.out) == (0, "Regenerate TLS machine certs?  Warning: this is irreversible. (y/n): ")
    assert tree(store) == before


def test_ssh_to_a_stopped_machine(store: Path) -> None:
    result = run(store, "ssh", "m1", "docker", "ps")
    assert (result.code, result.err, result.ran) == (1, 'Error: Cannot run SSH command: Host "m1" is not running\n', [])
    assert run(store, "ssh", "nope").err == NOT_EXIST % "nope"
    assert run(store, "ssh", "--help").out.startswith("Usage: dockyard-machine ssh")


def test_ssh_options_that_would_undo_pinning_are_refused_before_any_connection(store: Path) -> None:
    """ssh's own options are read after the name (issue 16 item 1); these few are refused by name, whatever the machine's state."""
    result = run(store, "ssh", "m1", "-o", "StrictHostKeyChecking=no", "true")
    assert (result.code, result.ran) == (1, [])
    assert result.err == "The ssh option -o StrictHostKeyChecking is not offered: the machine's host key is pinned in its record and always checked.\n"
    assert run(store, "ssh", "m1", "-p", "2222", "true").err.startswith("The ssh option -p is not offered: the machine's address and SSH port")


def test_scp_argument_errors(store: Path) -> None:
    assert run(store, "scp", "a").err == "Improper number of arguments\n"
    assert run(store, "scp", "nope:/etc/hosts", "/tmp/x").err == "Error loading host: " + NOT_EXIST % "nope"
    assert run(store, "scp", "m1:/a", "nope:/b").err == "Error loading host: " + NOT_EXIST % "nope"
    assert run(store, "scp", "a b@m1:/a", "/b").err.startswith("'a b' is not a user name")
    both = run(store, "scp", "-d", "m1:/a", "m2:/b")
    assert both.code == 1
    assert both.err == "--delta copies between a machine and this computer only (rsync cannot copy between two remote hosts): leave it out.\n"


def test_upgrade_reaches_the_engine_through_the_provisioner_only(store: Path, engine: int) -> None:
    """upgrade (issue 16 item 9) exists with the original's help; a machine without a host of ours is refused by name."""
    shown = run(store, "upgrade", "--help").out
    assert shown.startswith("Usage: dockyard-machine upgrade ") and "\n\nUpgrade a machine to the latest version of Docker\n" in shown
    assert run(store, "upgrade", "nope").err == NOT_EXIST % "nope"
    run(store, "create", "-d", "none", "--url", "tcp://127.0.0.1:%d" % engine, "n1")
    result = run(store, "upgrade", "n1")
    assert (result.code, result.out) == (1, "Upgrading docker...\n")
    assert result.err == "Machine n1 (driver none) has no host this collection reaches: upgrade the engine where it runs.\n"


def test_mount_names_the_package_to_install_and_unmounts_with_fusermount(store: Path, tmp_path: Path) -> None:
    """mount (issue 16 item 9): sshfs where it is installed; the package to install where it is not."""
    assert run(store, "mount").err == "Improper number of arguments\n"
    missing = run(store, "mount", "m1:/srv", "/mnt", env={"PATH": str(tmp_path)})
    assert (missing.code, missing.ran) == (1, [])
    assert missing.err == (
        "You must have a copy of the sshfs binary locally to use the mount feature: install the package sshfs "
        "(Debian, Ubuntu: apt-get install sshfs; Fedora, RHEL: dnf install fuse-sshfs).\n"
    )
    assert run(store, "mount", "-u", "m1:/srv", env={"PATH": str(tmp_path)}).err.startswith(
        "You must have a copy of the fusermount binary locally to use the unmount option: install the package fuse3"
    )
    fusermount = tmp_path / "fusermount3"
    fusermount.write_text("#!/bin/sh\n")
    fusermount.chmod(0o755)
    # The mountpoint defaults to the machine's path, as in the original.
    unmounted = run(store, "mount", "-u", "m1:/srv", env={"PATH": str(tmp_path)})
    assert (unmounted.code, unmounted.ran) == (0, [[str(fusermount), "-u", "--", "/srv"]])
    assert run(store, "mount", "-u", "nope:/srv", "/mnt", env={"PATH": str(tmp_path)}).err == "Error loading host: " + NOT_EXIST % "nope"


def test_a_copy_between_machines_relays_through_a_private_folder_each_machine_over_its_own_session(tmp_path: Path) -> None:
    """scp m1:path m2:path (issue 16 item 8): the first machine's files land in a folder of this computer, then go on."""
    ran: list[list[str]] = []

    def runner(argv: list[str]) -> int:
        ran.append(list(argv))
        if len(ran) == 1:
            relay = Path(argv[-1])
            assert oct(relay.stat().st_mode & 0o777) == "0o700"
            (relay / "hostname").write_text("m1\n")
        return 0

    source = SSHSession(SSHTarget(host="127.0.0.188", alias="dockyard-machine-m1", pinned_host_keys=("ssh-ed25519 AAAA",)))
    destination = SSHSession(SSHTarget(host="127.0.0.189", alias="dockyard-machine-m2", port=2222, user="docker"))
    with source, destination:
        code = _cli_manage.relay_copy(runner, (source, "", "/etc/hostname"), (destination, "bob", "/tmp/copied"), {"recursive": True, "quiet": False})
    assert code == 0 and len(ran) == 2
    fetch, send = ran
    relay = fetch[-1]
    assert fetch[-3:] == ["--", "root@127.0.0.188:/etc/hostname", relay] and "HostKeyAlias=dockyard-machine-m1" in fetch
    assert send[-3:] == ["--", relay + "/hostname", "bob@127.0.0.189:/tmp/copied"] and "HostKeyAlias=dockyard-machine-m2" in send
    assert send[send.index("-P") + 1] == "2222" and "-r" in send and "ControlPath=none" in send
    assert not Path(relay).exists()


def test_scp_between_local_paths_runs_scp_only(store: Path) -> None:
    result = run(store, "scp", "-r", "localhost:/a", "/b")
    assert result.code == 0 and result.ran == [["scp", "-r", "--", "/a", "/b"]]


# --- output helpers ------------------------------------------------------------------------------


def test_the_default_table_is_the_listing_table() -> None:
    rows = [
        MachineRow(name="web1", active="*", driver="generic", state="Running", url="tcp://127.0.0.188:2376", docker_version="v26.1.5"),
        MachineRow(name="a-much-longer-name", driver="none", state="Timeout"),
        MachineRow(name="x", active="-", driver="generic", state="Stopped", docker_version="Unknown", error="some error"),
    ]
    template, table = _cli_show._parse_format(None)
    assert table
    from ansible_collections.dockyard.machine.plugins.plugin_utils._gotemplate import Record, tabwrite

    text = template.render(_cli_show.LS_HEADERS)
    for row in rows:
        text += template.render(
            Record(
                Name=row.name,
                Active=row.active,
                DriverName=row.driver,
                State=row.state,
                URL=row.url,
                Swarm="",
                DockerVersion=row.docker_version,
                Error=row.error,
            )
        )
    assert tabwrite(text) == render_table(rows)


@pytest.mark.parametrize(("ms", "text"), [(0, "0s"), (42, "42ms"), (1000, "1s"), (1500, "1.5s"), (61000, "1m1s"), (125250, "2m5.25s")])
def test_durations_print_like_go(ms: int, text: str) -> None:
    assert _cli_show._duration(ms) == text


def test_module_messages_name_the_flags() -> None:
    assert _cli_messages.flagged("Fix option generic.ssh_key.") == "Fix flag --generic-ssh-key."
    assert _cli_messages.flagged("Set option 'store_path' (or MACHINE_STORAGE_PATH)") == "Set flag -s/--storage-path (or MACHINE_STORAGE_PATH)"
    assert _cli_messages.flagged("Set option 'name' to a valid name.") == "Set the machine name argument to a valid name."
    assert _cli_messages.flagged("the option 'colour' is odd") == "the option 'colour' is odd"


# --- completion ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["st"], ["start", "status", "stop"]),
        (["--st"], ["--storage-path"]),
        (["env", ""], ["aws-sandbox", "m1", "m2"]),
        (["rm", "-y", "m"], ["m1", "m2"]),
        (["env", "--shell", "f"], ["fish"]),
        (["env", "--u"], ["--unset"]),
        (["create", "-d", ""], list(DRIVERS)),
        (["create", "--generic-ip"], ["--generic-ip-address"]),
        (["create", "x"], []),
        (["scp", "m"], ["m1:", "m2:"]),
        (["mount", "m"], ["m1:", "m2:"]),
        (["upgrade", "m"], ["m1", "m2"]),
        (["completion", "z"], ["zsh"]),
        (["nope", ""], []),
    ],
)
def test_completion_candidates(store: Path, words: list[str], expected: list[str]) -> None:
    assert _cli_complete.complete(words, {"MACHINE_STORAGE_PATH": str(store)}, _cli.COMMANDS, _cli.GLOBAL_FLAGS) == expected


def test_completion_follows_the_storage_path_flag(store: Path, tmp_path: Path) -> None:
    assert _cli_complete.complete(["-s", str(store), "ip", "aws"], {"MACHINE_STORAGE_PATH": str(tmp_path)}, _cli.COMMANDS, _cli.GLOBAL_FLAGS) == ["aws-sandbox"]
    assert run(store, "__complete", "inspect", "m").out == "m1\nm2\n"


def test_completion_scripts(store: Path) -> None:
    bash = run(store, "completion", "bash")
    assert bash.code == 0 and "complete -F _dockyard_machine dockyard-machine\n" in bash.out and "__complete" in bash.out
    zsh = run(store, "completion", "zsh")
    assert zsh.out.startswith("# dockyard-machine completion for zsh") and "bashcompinit" in zsh.out and zsh.out.endswith(bash.out)
    assert run(store, "completion").code == 1


def test_provision_of_a_none_machine_applies_its_record_again(store: Path, engine: int) -> None:
    created = run(store, "create", "-d", "none", "--url", "tcp://127.0.0.1:%d" % engine, "--engine-label", "a=b", "--tls-san", "web.example", "n1")
    assert created.code == 0, created.err
    before = tree(store)
    result = run(store, "provision", "n1")
    assert (result.code, result.out, result.err) == (0, "", "")
    # create only recorded it; provision reached its engine, which the sidecar now says, and changed nothing else.
    sidecar = "machines/n1/dockyard-machine.json"
    after = tree(store)
    assert (json.loads(before.pop(sidecar))["Status"], json.loads(after.pop(sidecar))["Status"]) == ("recorded", "running")
    assert after == before
    spec = MachineManager(MachineStore(str(store))).recorded_spec("n1")
    assert (spec.driver, dict(spec.driver_options), spec.engine.labels, spec.tls_san) == (
        "none",
        {"url": "tcp://127.0.0.1:%d" % engine},
        ("a=b",),
        ("web.example",),
    )


def test_recorded_spec_of_a_machine_the_original_wrote(store: Path) -> None:
    spec = MachineManager(MachineStore(str(store))).recorded_spec("m1")
    assert spec.driver == "generic"
    assert spec.driver_options["ip_address"] == "127.0.0.188" and spec.driver_options["ssh_user"] == "root"
    assert spec.driver_options["ssh_key"] == str(store / "machines" / "m1" / "id_rsa")
    assert spec.engine.install.source == "docker" and spec.engine.install.enabled


# --- beyond the original: export, import, certs check --------------------------------------------


def test_export_then_import_into_another_store(store: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "m1.bundle"
    passphrase = tmp_path / "pass"
    passphrase.write_text("correct horse battery staple\n")
    exported = run(store, "export", "-o", str(bundle), "--passphrase-file", str(passphrase), "m1")
    assert (exported.code, exported.out, exported.err) == (0, "Exported m1 to %s\n" % bundle, "")
    assert oct(bundle.stat().st_mode & 0o777) == "0o600"
    other = tmp_path / "other"
    refused = run(other, "import", str(bundle))
    assert refused.code == 1 and "passphrase" in refused.err and not (other / "machines").exists()
    imported = run(other, "import", "--passphrase-file", str(passphrase), str(bundle))
    assert (imported.code, imported.out) == (0, "Imported m1\n"), imported.err
    assert run(other, "ls", "-q").out == "m1\n"
    assert run(other, "import", str(bundle), env={"DOCKYARD_MACHINE_PASSPHRASE": "correct horse battery staple"}).out == (
        "m1 is already in the store as the bundle has it\n"
    )


def test_export_warns_about_an_unencrypted_bundle(store: Path, tmp_path: Path) -> None:
    result = run(store, "export", "-o", str(tmp_path / "b"), "m2")
    assert result.code == 0
    assert (
        result.err
        == "The bundle %s holds private keys (TLS, SSH) unencrypted; set flag --passphrase-file (or $DOCKYARD_MACHINE_PASSPHRASE) to encrypt it.\n"
        % (tmp_path / "b")
    )
    assert run(store, "export", "m2").err == "Error: name the bundle file with -o/--output FILE\n"
    assert run(store, "export", "-o", str(tmp_path / "c"), "nope").err == NOT_EXIST % "nope"


def test_certs_check(store: Path) -> None:
    set_driver(store, "m1", IPAddress="127.0.0.11")  # the address its certificate was issued for (no connection is made)
    result = run(store, "certs", "check", "m1")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["NAME", "EXPIRES", "ADDRESS", "COVERED", "DUE"]
    assert lines[1].split()[0] == "(CA)" and lines[3].split()[0] == "m1" and lines[3].split()[2:] == ["127.0.0.11", "yes", "-"]
    set_driver(store, "m1", IPAddress="127.0.0.187")  # the machine moved: its certificate does not cover the new address
    moved = run(store, "certs", "check", "m1")
    assert moved.code == 1 and moved.out.splitlines()[3].split()[2:4] == ["127.0.0.187", "no"]
    assert run(store, "certs").err == "Error: the certs command takes one action: dockyard-machine certs check [NAME...]\n"


def test_the_hint_names_the_program_as_path_finds_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    program = tmp_path / "bin" / "dockyard-machine"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", str(program.parent))
    assert _cli_show._hint_program(str(program)) == ["dockyard-machine"]
    assert _cli_show._hint_program("dockyard-machine") == ["dockyard-machine"]
    assert _cli_show._hint_program("/elsewhere/dockyard-machine") == ["/elsewhere/dockyard-machine"]
    assert _cli_show._hint_program("/site/dockyard_machine_cli/__main__.py") == ["dockyard-machine"]
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert _cli_show._hint_program("/site/dockyard_machine_cli/__main__.py")[1:] == ["-m", "dockyard_machine_cli"]


def test_messages_name_the_program_as_invoked(store: Path, engine: int) -> None:
    """Run through a symlink named docker-machine, every message, help and hint names docker-machine (16.4)."""
    argv0 = "/usr/local/bin/docker-machine"
    missing = run(store, "ip", "nope", argv0=argv0)
    assert missing.err == NOT_EXIST.replace("dockyard-machine", "docker-machine") % "nope"
    assert run(store, "frobnicate", argv0=argv0).err == "docker-machine: 'frobnicate' is not a docker-machine command. See 'docker-machine --help'.\n"
    assert run(None, "--version", argv0=argv0).out.startswith("docker-machine version ")
    top = run(None, "--help", argv0=argv0).out
    assert top.startswith("Usage: docker-machine [OPTIONS] COMMAND") and "Run 'docker-machine COMMAND --help'" in top
    assert run(None, "create", "-d", "none", "--help", argv0=argv0).out.startswith("Usage: docker-machine create")
    assert "Run 'docker-machine create --driver name --help'" in run(None, "create", "-d", "none", "--help", argv0=argv0).out
    assert run(store, "ls", "--bogus", argv0=argv0).out.startswith("Incorrect Usage.\n\nUsage: docker-machine ls")
    assert "complete -F _dockyard_machine docker-machine\n" in run(store, "completion", "bash", argv0=argv0).out
    assert run(store, "certs", argv0=argv0).err == "Error: the certs command takes one action: docker-machine certs check [NAME...]\n"
    set_driver(store, "m1", EnginePort=1)  # nothing listens: the message names the command to run
    assert run(store, "env", "m1", argv0=argv0).err == "Error checking TLS connection: Engine is not running; start it with `docker-machine start m1`\n"
    # python -m dockyard_machine_cli names the command.
    assert run(None, "--version", argv0="/site/dockyard_machine_cli/__main__.py").out.startswith("dockyard-machine version ")


def test_create_help_lists_the_driver_flags() -> None:
    generic = run(None, "create", "-d", "generic", "--help")
    assert generic.code == 0 and "--generic-ip-address" in generic.out and "--url" not in generic.out
    assert "--url" in run(None, "create", "--driver=none", "-h").out


def test_unknown_global_flag_prints_the_app_usage(store: Path) -> None:
    result = run(store, "--bogus", "ls")
    assert result.code == 1
    assert result.out.startswith("Incorrect Usage.\n\nUsage: dockyard-machine [OPTIONS] COMMAND [arg...]\n")
    assert result.err == "flag provided but not defined: -bogus\n"


@pytest.mark.parametrize(
    ("template", "out", "err"),
    [
        # The header is a map of strings: .EngineOptions is the text ENGINE_OPTIONS, which has no field Labels (16.6).
        (
            "table {{.Name}}\\t{{.EngineOptions.Labels}}",
            "NAME   ",
            'template: :1:26: executing "" at <.EngineOptions.Labels>: can\'t evaluate field Labels in type string\n',
        ),
        ("{{.Name}} {{.Colour}}", "m1 ", 'template: :1:12: executing "" at <.Colour>: can\'t evaluate field Colour in type commands.HostListItem\n'),
    ],
)
def test_ls_template_errors_print_what_the_original_prints(store: Path, template: str, out: str, err: str) -> None:
    result = run(store, "ls", "--filter", "name=^m1$", "-t", "2", "--format", template)
    assert (result.code, result.out, result.err) == (1, out, err)


def test_ls_rows_render_engine_labels(store: Path) -> None:
    """Without table, rows render the record's engine options."""
    result = run(store, "ls", "--filter", "name=^m1$", "-t", "2", "--format", "{{.Name}} {{.EngineOptions.Labels}}")
    assert (result.code, result.out) == (0, "m1 []\n"), result.err


def test_record_values_reach_the_terminal_without_control_characters(store: Path) -> None:
    """A record's escape sequences are shown escaped, never sent to the terminal; normal values are unchanged (15.13)."""
    hostile = "127.0.0.188\x1b]0;owned\x07\x1b[2J\r\x9b31m\u202e"
    shown = "127.0.0.188\\x1b]0;owned\\x07\\x1b[2J\\x0d\\x9b31m\\u202e"
    set_driver(store, "m1", IPAddress=hostile)
    path = store / "machines" / "m1" / "config.json"
    doc = json.loads(path.read_text())
    doc["HostOptions"]["EngineOptions"]["Labels"] = ["role=\x1b[31mred"]
    path.write_text(json.dumps(doc, indent=4))
    assert run(store, "ip", "m1", "m2").out == shown + "\n127.0.0.189\n"
    assert run(store, "inspect", "-f", "{{.Driver.IPAddress}}", "m1").out == shown + "\n"
    inspected = run(store, "inspect", "m1").out
    assert "\x1b" not in inspected and "\x9b" not in inspected and "\u202e" not in inspected
    listed = run(store, "ls", "--filter", "name=^m1$", "-t", "2", "--format", "{{.Name}} {{.EngineOptions.Labels}}")
    assert listed.out == "m1 [role=\\x1b[31mred]\n"
    assert "\x1b" not in run(store, "ls", "-t", "2").out
    assert _cli_messages.printable("tcp://127.0.0.1:2376\tok\n") == "tcp://127.0.0.1:2376\tok\n"
