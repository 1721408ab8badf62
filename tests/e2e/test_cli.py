"""dockyard-machine run as a user runs it: a subprocess on a real store, against real machine containers over real SSH.

The machine names start with ``cli-`` and the machines listen on 127.0.0.170-189 only: other end-to-end
files run at the same time on the same test bed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from ansible_collections.dockyard.machine.tests.conftest import FIXTURE_STORE, copy_store
from ansible_collections.dockyard.machine.tests.e2e.test_docker_machine_certs import TINY_IMAGE
from ansible_collections.dockyard.machine.tests.support import bed

NOT_EXIST = 'Docker machine "%s" does not exist. Use "dockyard-machine ls" to list machines. Use "dockyard-machine create" to add a new one.\n'


def cli_env(store: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_") and k not in ("NO_PROXY", "no_proxy")}
    env.update(MACHINE_STORAGE_PATH=str(store), SHELL="/bin/bash")
    env.update(extra)
    return env


def dm(store: Path, *args: str, stdin: str = "", timeout: float = 300, **extra: str) -> subprocess.CompletedProcess[str]:
    """``dockyard-machine ARGS`` as a subprocess; the command must be on PATH (``make venv`` puts it in .venv/bin)."""
    program = shutil.which("dockyard-machine")
    assert program, "dockyard-machine is not on PATH: run `make venv` and put .venv/bin first on PATH"
    return subprocess.run(["dockyard-machine", *args], input=stdin, capture_output=True, text=True, timeout=timeout, env=cli_env(store, **extra), check=False)


def shell(store: Path, script: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """A bash script, as a user types it in a terminal."""
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=timeout, env=cli_env(store), check=False)


def tree(root: Path) -> dict[str, bytes]:
    """Every file of the store and its bytes; the empty lock files in .locks/ are how the store serialises writers, not content."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.parent.name != ".locks"}


def test_the_tutorial_cheat_sheet_on_a_real_machine(bed_key, tmp_path):
    """create, ls, eval $(env), docker version, active, env -u, inspect, ip, url, status, config, ssh, scp,
    stop/start, regenerate-certs with a container kept running, rm -y: every line as the tutorials write it."""
    key, pub = bed_key
    name = "cli-web1"
    machine = bed.start_machine(name, "bookworm-docker", "127.0.0.170", pub)
    store = tmp_path / "store"
    try:
        started = time.monotonic()
        created = dm(store, "create", "-d", "generic", "--generic-ip-address", machine.ip, "--generic-ssh-key", str(key), "--engine-label", "role=cli", name)
        print("dockyard-machine create (generic, Docker present): %.1f s" % (time.monotonic() - started))
        assert created.returncode == 0, created.stdout + created.stderr
        lines = created.stdout.splitlines()
        assert lines[:2] == ["Creating CA: %s/certs/ca.pem" % store, "Creating client certificate: %s/certs/cert.pem" % store]
        assert lines[-1] == "To see how to connect your Docker Client to the Docker Engine running on this virtual machine, run: dockyard-machine env %s" % name

        listed = dm(store, "ls")
        assert listed.returncode == 0, listed.stderr
        header, row = listed.stdout.splitlines()
        assert header.split() == ["NAME", "ACTIVE", "DRIVER", "STATE", "URL", "SWARM", "DOCKER", "ERRORS"]
        fields = row.split()
        assert fields[:5] == [name, "-", "generic", "Running", "tcp://127.0.0.170:2376"] and fields[5].startswith("v"), row
        assert dm(store, "ls", "-q", "--filter", "label=role=cli").stdout == name + "\n"
        assert dm(store, "ls", "--format", "{{.Name}} {{.State}} {{.URL}}").stdout == "%s Running tcp://127.0.0.170:2376\n" % name

        # The two forms the tutorials use; then the docker CLI reaches the machine's engine for real.
        for form in ('eval "$(dockyard-machine env %s)"' % name, "eval $(dockyard-machine env %s)" % name):
            done = shell(store, form + ' && docker version --format "{{.Server.Version}}" && echo "$DOCKER_MACHINE_NAME" && dockyard-machine active')
            assert done.returncode == 0, done.stdout + done.stderr
            version, machine_name, active = done.stdout.splitlines()
            assert "v" + version == fields[5] and machine_name == name and active == name
        # The hint line the command prints works when pasted, and so does the one the module prints.
        env_out = dm(store, "env", name).stdout
        assert env_out.splitlines()[-2:] == ["# Run this command to configure your shell: ", "# eval $(dockyard-machine env %s)" % name]
        pasted = shell(store, env_out.splitlines()[-1][2:] + ' && docker info --format "{{json .Labels}}"')
        assert pasted.returncode == 0 and "role=cli" in pasted.stdout, pasted.stderr
        unset = shell(store, 'eval "$(dockyard-machine env %s)"; eval "$(dockyard-machine env -u)"; echo "[${DOCKER_HOST-unset}]"' % name)
        assert unset.stdout == "[unset]\n", unset.stderr

        assert dm(store, "inspect", "-f", "{{.Driver.IPAddress}} {{.DriverName}}", name).stdout == "127.0.0.170 generic\n"
        assert json.loads(dm(store, "inspect", name).stdout)["Name"] == name
        assert dm(store, "ip", name).stdout == "127.0.0.170\n"
        assert dm(store, "url", name).stdout == "tcp://127.0.0.170:2376\n"
        assert dm(store, "status", name).stdout == "Running\n"
        config = dm(store, "config", name).stdout.splitlines()
        assert config[0] == "--tlsverify" and config[-1] == "-H=tcp://127.0.0.170:2376"
        flags = shell(store, "docker $(dockyard-machine config %s) version --format '{{.Server.Version}}'" % name)
        assert flags.returncode == 0 and "v" + flags.stdout.strip() == fields[5], flags.stderr

        # ssh: a command, with the host key pinned at create (the machine's key is new on every start).
        pinned = json.loads((store / "machines" / name / "dockyard-machine.json").read_text())["HostKeys"]
        ps = dm(store, "ssh", name, "docker", "ps")
        assert ps.returncode == 0 and ps.stdout.startswith("CONTAINER ID"), ps.stderr
        assert dm(store, "ssh", name, "exit 3").returncode == 3
        # Without a command: a login shell, here reading its commands from stdin (no terminal).
        login = dm(store, "ssh", name, stdin="hostname; echo done\n")
        assert login.returncode == 0 and login.stdout.splitlines()[-1] == "done", login.stderr
        assert json.loads((store / "machines" / name / "dockyard-machine.json").read_text())["HostKeys"] == pinned

        # scp both ways.
        local = tmp_path / "hello.txt"
        local.write_text("hello from the controller\n")
        up = dm(store, "scp", str(local), "%s:/tmp/hello.txt" % name)
        assert up.returncode == 0, up.stderr
        assert machine.exec("cat", "/tmp/hello.txt").stdout == "hello from the controller\n"
        down = dm(store, "scp", "%s:/etc/hostname" % name, str(tmp_path / "hostname"))
        assert down.returncode == 0, down.stderr
        assert (tmp_path / "hostname").read_text() == machine.exec("cat", "/etc/hostname").stdout
        folder = tmp_path / "folder"
        (folder / "sub").mkdir(parents=True)
        (folder / "sub" / "f").write_text("x")
        assert dm(store, "scp", "-r", str(folder), "%s:/tmp/" % name).returncode == 0
        assert machine.exec("cat", "/tmp/folder/sub/f").stdout == "x"

        # stop / start power the engine of a generic host (the original refused both).
        stopped = dm(store, "stop", name)
        assert (stopped.returncode, stopped.stdout) == (0, 'Stopping "%s"...\nMachine "%s" was stopped.\n' % (name, name)), stopped.stderr
        saved = tmp_path / "env.sh"
        saved.write_text(env_out)
        assert shell(store, ". %s && docker version" % saved, timeout=60).returncode != 0
        again = dm(store, "stop", name)
        assert (again.returncode, again.stderr) == (1, 'Machine "%s" is already stopped.\n' % name)
        # The engine is stopped, the host runs: said as the original says a host is not running; ls in its words.
        stopped_words = "Engine is not running; start it with `dockyard-machine start %s`\n" % name
        assert (dm(store, "env", name).returncode, dm(store, "env", name).stderr) == (1, "Error checking TLS connection: " + stopped_words)
        assert (dm(store, "url", name).stdout, dm(store, "url", name).stderr) == ("", stopped_words)
        # The test bed relays 127.0.0.170:2376 to the machine: the relay accepts, then closes (Go's EOF); a host without
        # a relay refuses (samalba/dockerclient's words).
        errors = dm(store, "ls", "--filter", "name=^%s$" % name, "--format", "{{.State}}: {{.Error}}").stdout
        assert errors in (
            "Running: Unable to query docker version: Get https://127.0.0.170:2376/v1.15/version: EOF\n",
            "Running: Unable to query docker version: Cannot connect to the docker engine endpoint\n",
        ), errors
        started = dm(store, "start", name)
        assert started.returncode == 0, started.stderr
        assert started.stdout.splitlines() == [
            'Starting "%s"...' % name,
            'Machine "%s" was started.' % name,
            "Started machines may have new IP addresses. You may need to re-run the `dockyard-machine env` command.",
        ]
        assert dm(store, "start", name).stderr == 'Machine "%s" is already running.\n' % name

        # provision: the record's options applied again; nothing to change, the engine still answers. The record (a
        # shared store's) names the operator's own private key as its SSHKey: provision uses the machine folder's copy
        # and never copies that key in, where an export would carry it (issue 15, item 1).
        operator_key = tmp_path / "operator" / "id_ed25519"
        operator_key.parent.mkdir()
        operator_key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nthe operator's own, never a machine's\n")
        record_path = store / "machines" / name / "config.json"
        record_doc = json.loads(record_path.read_text())
        record_doc["Driver"]["SSHKey"] = str(operator_key)
        record_path.write_text(json.dumps(record_doc, indent=4))
        provisioned = dm(store, "provision", name)
        assert provisioned.returncode == 0, provisioned.stdout + provisioned.stderr
        assert provisioned.stdout == "Waiting for SSH to be available...\nDetecting the provisioner...\n"
        assert not [p.name for p in (store / "machines" / name).iterdir() if b"the operator's own" in p.read_bytes()]
        assert shell(store, 'eval "$(dockyard-machine env %s)" && docker version >/dev/null' % name).returncode == 0

        # regenerate-certs -f: a new server certificate, and a container without restart policy keeps running.
        built = machine.exec("sh", "-c", TINY_IMAGE)
        assert built.returncode == 0, built.stderr
        keeper = shell(
            store, 'eval "$(dockyard-machine env %s)" && docker run -d --name keeper tiny >/dev/null && docker inspect -f "{{.State.StartedAt}}" keeper' % name
        )
        assert keeper.returncode == 0, keeper.stderr
        old_cert = (store / "machines" / name / "server.pem").read_bytes()
        regenerated = dm(store, "regenerate-certs", "-f", name)
        assert (regenerated.returncode, regenerated.stdout) == (0, "Regenerating TLS certificates\n"), regenerated.stderr
        assert (store / "machines" / name / "server.pem").read_bytes() != old_cert
        state = shell(store, 'eval "$(dockyard-machine env %s)" && docker inspect -f "{{.State.Running}} {{.State.StartedAt}}" keeper' % name)
        assert state.stdout.split() == ["true", keeper.stdout.strip()], state.stderr

        removed = dm(store, "rm", "-y", name)
        assert removed.returncode == 0, removed.stderr
        assert removed.stdout.splitlines()[-1] == "Successfully removed %s" % name
        assert not (store / "machines" / name).exists()
        assert dm(store, "ls", "-q").stdout == ""
    finally:
        if not os.environ.get("DOCKYARD_KEEP_MACHINES"):
            bed.stop_machine(name)


@pytest.mark.parametrize(
    ("args", "out", "err"),
    [
        (["env", "nope"], "", NOT_EXIST % "nope"),
        (["inspect", "nope"], "", NOT_EXIST % "nope"),
        (["ssh", "nope"], "", NOT_EXIST % "nope"),
        (["rm", "-y", "nope"], None, 'Error removing host "nope": ' + NOT_EXIST % "nope"),
        (["create", "-d", "generic", "--generic-ip-address", "127.0.0.189", "no_under_scores"], "", None),
        (["ls", "--bogus"], None, "flag provided but not defined: -bogus\n"),
        (["env", "-u", "m1"], "", "Error: Expected no machine name when the -u flag is present\n"),
        (["frobnicate"], "", "dockyard-machine: 'frobnicate' is not a dockyard-machine command. See 'dockyard-machine --help'.\n"),
    ],
)
def test_bad_input_gives_the_original_message_and_leaves_the_store_alone(old_store: Path, args: list[str], out: str | None, err: str | None) -> None:
    before = tree(old_store)
    started = time.monotonic()
    result = dm(old_store, *args, timeout=60)
    assert time.monotonic() - started < 30
    assert result.returncode == 1
    if out is not None:
        assert result.stdout == out
    if err is not None:
        assert result.stderr == err
    else:
        assert result.stderr == "Error creating machine: Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -\n"
    assert tree(old_store) == before


@pytest.mark.parametrize(
    ("args", "err"),
    [
        (["env", "m1"], "Error checking TLS connection: Host is not running\n"),
        (["ssh", "m1", "true"], 'Error: Cannot run SSH command: Host "m1" is not running\n'),
        (["url", "m1"], "Host is not running\n"),
        (["config", "m2"], "Error running connection boilerplate: Host is not running\n"),
    ],
)
def test_an_unreachable_host_fails_fast_with_the_original_message(old_store: Path, args: list[str], err: str) -> None:
    before = tree(old_store)
    started = time.monotonic()
    result = dm(old_store, *args, timeout=60)
    assert time.monotonic() - started < 20
    assert (result.returncode, result.stdout, result.stderr) == (1, "", err)
    assert tree(old_store) == before


def test_an_old_store_lists_and_unsets(old_store: Path) -> None:
    """The original's own store: ls shows its machines (stopped ones Unknown, as the original did), env -u needs none."""
    listed = dm(old_store, "ls", "--filter", "driver=generic", "-t", "3")
    assert listed.stdout.splitlines()[1:] == [
        "m1     -        generic   Stopped                 Unknown   ",
        "m2     -        generic   Stopped                 Unknown   ",
    ]
    unset = dm(old_store, "env", "-u")
    assert unset.stdout.splitlines()[-1] == "# eval $(dockyard-machine env -u)"


def test_python_m_runs_the_same_command(old_store: Path) -> None:
    done = subprocess.run(
        [shutil.which("python") or "python3", "-m", "dockyard_machine_cli", "ls", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_env(old_store),
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, "aws-sandbox\nm1\nm2\n"), done.stderr


# Completion in the real shells: the README's line evaluated, then the shell's own completion entry point
# asked for the candidates of a partly typed line (COMP_WORDS/COMP_CWORD, as bash sets them for -F).
COMPLETE_BASH = """
eval "$(dockyard-machine completion bash)"
complete -p dockyard-machine
COMP_WORDS=(dockyard-machine {words}); COMP_CWORD={cword}; _dockyard_machine
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
# zsh runs the same function through bashcompinit, whose wrapper sets ksharrays (0-based arrays) for it.
COMPLETE_ZSH = """
eval "$(dockyard-machine completion zsh)"
print -r -- "$_comps[dockyard-machine]"
setopt ksharrays
COMP_WORDS=(dockyard-machine {words}); COMP_CWORD={cword}; _dockyard_machine
print -rl -- "${{COMPREPLY[@]}}"
"""


@pytest.mark.parametrize("program", ["bash", "zsh"])
def test_completion_in_the_real_shell_offers_commands_flags_and_machine_names(program: str, tmp_path: Path) -> None:
    assert shutil.which(program), "%s is not installed: .ci/run and `make unit` install it" % program
    store = copy_store(FIXTURE_STORE, tmp_path / "store")
    argv = ["bash", "--norc", "--noprofile", "-c"] if program == "bash" else ["zsh", "-f", "-c"]
    template = COMPLETE_BASH if program == "bash" else COMPLETE_ZSH
    env = cli_env(store, HOME=str(tmp_path), ZDOTDIR=str(tmp_path))
    for words, cword, expected in ((["st"], 1, ["start", "status", "stop"]), (["env", "m"], 2, ["m1", "m2"]), (["env", "--shell", "fi"], 3, ["fish"])):
        script = template.format(words=" ".join(words), cword=cword)
        done = subprocess.run([*argv, script], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path, check=False)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        registered, candidates = lines[0], lines[1:]
        assert "_dockyard_machine" in registered, done.stdout
        assert candidates == expected, (program, words, done.stdout, done.stderr)


def test_the_command_make_venv_installed_finds_the_collection_from_any_folder(tmp_path):
    """The line `make demo` prints is pasted in a new terminal, anywhere: no ansible.cfg, no ANSIBLE_* variables."""
    store = copy_store(FIXTURE_STORE, tmp_path / "store")
    program = shutil.which("dockyard-machine")
    assert program, "dockyard-machine is not on PATH: run `make venv`"
    env = {"HOME": str(tmp_path), "PATH": "%s:/usr/bin:/bin" % os.path.dirname(program), "SHELL": "/bin/bash"}
    done = subprocess.run(["dockyard-machine", "-s", str(store), "ip", "m1"], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path, check=False)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout.strip() == json.loads((store / "machines" / "m1" / "config.json").read_text())["Driver"]["IPAddress"]
