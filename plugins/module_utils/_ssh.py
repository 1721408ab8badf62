# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""The one way to run commands and copy files on a host: the ``ssh`` binary, through an injected runner.

- The user's ``~/.ssh/config`` applies (ProxyJump, bastions, identities); we add only what we must.
- Host keys are pinned: the first contact records the host's keys, later contacts accept only
  those (``StrictHostKeyChecking=yes`` against a known_hosts file we write from the pinned keys).
  ``HostKeyAlias`` ties the keys to the machine, not to its address, so a new IP keeps its pin.
- Secrets travel on stdin, never on a command line.
- One connection is shared by every command of a run (ControlMaster), so steps cost milliseconds.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
import typing as t
from dataclasses import dataclass

from ansible_collections.dockyard.machine.plugins.module_utils._errors import SSHError

__all__ = ["CommandResult", "Runner", "SSHSession", "SSHTarget", "is_ssh_name", "subprocess_runner"]

# argv, stdin bytes, timeout seconds -> (rc, stdout, stderr)
Runner = t.Callable[[t.Sequence[str], t.Optional[bytes], float], t.Tuple[int, bytes, bytes]]

SSH_UNREACHABLE_RC = 255


def subprocess_runner(argv: t.Sequence[str], stdin: bytes | None, timeout: float) -> tuple[int, bytes, bytes]:
    try:
        done = subprocess.run(list(argv), input=stdin if stdin is not None else b"", capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        return 124, exc.stdout or b"", (exc.stderr or b"") + b"\n(timed out after %d s)" % int(timeout)
    except FileNotFoundError as exc:
        raise SSHError("The ssh client is not installed on the controller (%s)." % exc) from exc
    return done.returncode, done.stdout, done.stderr


def is_ssh_name(value: t.Any) -> bool:
    """The collection's rule for a host or user name that reaches ssh's command line (ours, or Ansible's through an
    inventory): not empty, not starting with ``-`` (ssh would read ``-oProxyCommand=...`` as an option and run it), and
    no whitespace or control characters. Records, bundles and cloud answers are untrusted: each value passes this."""
    return (
        isinstance(value, str) and bool(value) and not value.startswith("-") and not any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value)
    )


PROXY_JUMP_HOP = re.compile(r"(?:[A-Za-z0-9_.][A-Za-z0-9_.+-]*@)?(?:[A-Za-z0-9_][A-Za-z0-9_.-]*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


@dataclass(frozen=True)
class SSHTarget:
    """Where and as whom to connect; ``alias`` names the machine for host-key pinning."""

    host: str
    alias: str
    port: int = 22
    user: str = "root"
    key_path: str = ""
    proxy_jump: str = ""
    config_file: str = ""  # empty: ssh's own default (~/.ssh/config)
    pinned_host_keys: tuple[str, ...] = ()  # "keytype base64" lines; empty means first contact
    connect_timeout: int = 10

    def __post_init__(self) -> None:
        # ssh reads a word that starts with "-" as an option (``-oProxyCommand=...`` runs a command
        # here), and whitespace or control characters cannot be part of a host or user name. The
        # values come from records, shared stores and bundles: untrusted, so refused before any use.
        for what, value, option in (("address", self.host, "ip_address"), ("SSH user", self.user, "ssh_user")):
            if not is_ssh_name(value):
                raise SSHError(
                    "Refusing to connect: the %s %r is not a host or user name (it is empty, starts with '-', or holds "
                    "spaces or control characters). Fix the driver's option '%s' (for example 'generic.%s')." % (what, value, option, option),
                    option=option,
                )
        # ProxyJump is handed to ssh -J: hops of [user@]host[:port], comma-separated, none an option.
        if self.proxy_jump and not all(PROXY_JUMP_HOP.fullmatch(hop) for hop in self.proxy_jump.split(",")):
            raise SSHError(
                "Refusing to connect: the jump host %r is not a list of [user@]host[:port] hops (a hop starts with '-' or "
                "holds spaces, control or shell characters). Fix option 'proxy_jump' (for example 'generic.proxy_jump')." % self.proxy_jump,
                option="proxy_jump",
            )

    @property
    def needs_sudo(self) -> bool:
        return self.user != "root"


@dataclass(frozen=True)
class CommandResult:
    cmd: str
    rc: int
    stdout: str
    stderr: str


class SSHSession:
    """Commands on one host.  Use as a context manager: leaving it closes the shared connection."""

    def __init__(self, target: SSHTarget, *, runner: Runner = subprocess_runner, ssh_binary: str = "ssh") -> None:
        self.target = target
        self.runner = runner
        self.ssh_binary = ssh_binary
        # A short path: the control socket's name must fit in a unix socket address.
        self.workdir = tempfile.mkdtemp(prefix="dym-")
        self.known_hosts = os.path.join(self.workdir, "known_hosts")
        if target.pinned_host_keys:
            with open(self.known_hosts, "w", encoding="utf-8") as handle:
                handle.writelines("%s %s\n" % (target.alias, key) for key in target.pinned_host_keys)

    def __enter__(self) -> SSHSession:
        return self

    def __exit__(self, *exc: t.Any) -> None:
        self.close()

    def close(self) -> None:
        if os.path.exists(os.path.join(self.workdir, "cm")):
            self.runner(self._base_argv() + ["-O", "exit", "--", self.target.host], None, 10)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _base_argv(self) -> list[str]:
        target = self.target
        return [self.ssh_binary] + self._options() + ["-p", str(target.port), "-l", target.user] + self._identity()

    def _shares_connection(self, user: str) -> bool:
        """The shared connection is the record's user's: another user logs in over a connection of their own."""
        return not user or user == self.target.user

    def _options(self, shared: bool = True) -> list[str]:
        """What ssh and scp share: the user's config file, host-key pinning and (``shared``) the shared connection."""
        target = self.target
        argv = []
        if target.config_file:
            argv += ["-F", target.config_file]
        argv += [
            "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=%d" % target.connect_timeout,
            "-o", "ServerAliveInterval=10",
            "-o", "ServerAliveCountMax=3",
            "-o", "HostKeyAlias=%s" % target.alias,
            "-o", "UserKnownHostsFile=%s" % self.known_hosts,
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=%s" % ("yes" if target.pinned_host_keys else "accept-new"),
        ]
        if shared:
            argv += ["-o", "ControlMaster=auto", "-o", "ControlPath=%s" % os.path.join(self.workdir, "cm"), "-o", "ControlPersist=60"]
        else:
            argv += ["-o", "ControlMaster=no", "-o", "ControlPath=none"]
        return argv + ["-o", "LogLevel=ERROR"]

    def _identity(self) -> list[str]:
        argv = []
        if self.target.key_path:
            argv += ["-i", self.target.key_path, "-o", "IdentitiesOnly=yes"]
        if self.target.proxy_jump:
            argv += ["-J", self.target.proxy_jump]
        return argv

    def user_argv(self, command: t.Sequence[str] = (), *, options: t.Sequence[str] = (), user: str = "") -> list[str]:
        """The ssh command line for a user's own command (or a login shell without one), no sudo.

        ``options`` are ssh options the user passed (checked by ``_ssh_options.split_ssh_args``); they come first, so
        theirs win over our defaults, which still pin the host key. The record's user rides the session's shared
        connection; another ``user`` gets a connection of its own. ``~/.ssh/config`` applies.
        """
        login = user or self.target.user
        argv = [self.ssh_binary, *options] + self._options(self._shares_connection(login))
        return argv + ["-p", str(self.target.port), "-l", login] + self._identity() + ["--", self.target.host, *command]

    def remote_path(self, path: str, user: str = "") -> str:
        """``user@host:path`` as scp and rsync read it (an IPv6 address in brackets)."""
        host = "[%s]" % self.target.host if ":" in self.target.host else self.target.host
        return "%s@%s:%s" % (user or self.target.user, host, path)

    def copy_argv(
        self,
        source: str | t.Sequence[str],
        destination: str,
        *,
        recursive: bool = False,
        quiet: bool = False,
        delta: bool = False,
        user: str = "",
    ) -> list[str]:
        """scp (or, with ``delta``, rsync over this session's ssh) from ``source`` (one path or several) to ``destination``.

        The remote side is a :meth:`remote_path` of this host as ``user``; the other side is local. The record's user
        rides the session's shared connection; another user gets a connection of its own.
        """
        sources = [source] if isinstance(source, str) else list(source)
        options = self._options(self._shares_connection(user))
        if delta:
            ssh = [self.ssh_binary] + options + ["-p", str(self.target.port)] + self._identity()
            argv = ["rsync"] + ([] if quiet else ["--progress"]) + ["-e", " ".join(shlex.quote(a) for a in ssh)]
            return argv + (["-r"] if recursive else []) + ["--", *sources, destination]
        argv = ["scp"] + options + ["-P", str(self.target.port)] + self._identity()
        return argv + (["-r"] if recursive else []) + (["-q"] if quiet else []) + ["--", *sources, destination]

    def mount_argv(self, path: str, mountpoint: str, *, user: str = "") -> list[str]:
        """sshfs mounting ``path`` of this host as ``user`` on the local ``mountpoint``, with this session's pinned host key.

        The mount outlives this session, so its ssh has a connection of its own (never the shared one). sshfs checks
        the host key when it connects, before it returns; a later reconnection would find no key and fail closed.
        """

        def fuse(value: str) -> str:  # FUSE splits -o values at commas
            return value.replace("\\", "\\\\").replace(",", "\\,")

        options = self._options(shared=False)
        argv = ["sshfs", self.remote_path(path, user), mountpoint, "-p", str(self.target.port)]
        for flag, value in zip(options[::2], options[1::2]):
            argv += [flag, fuse(value)]
        if self.target.key_path:
            argv += ["-o", "IdentityFile=%s" % fuse(self.target.key_path), "-o", "IdentitiesOnly=yes"]
        if self.target.proxy_jump:
            argv += ["-o", "ProxyJump=%s" % self.target.proxy_jump]
        return argv

    def learned_host_keys(self) -> tuple[str, ...]:
        """The host keys in use: pinned ones, or those accepted at first contact (``keytype base64``)."""
        try:
            with open(self.known_hosts, encoding="utf-8") as handle:
                lines = [line.split(None, 1)[1].strip() for line in handle if line.strip() and not line.startswith("#")]
        except (FileNotFoundError, IndexError):
            return ()
        return tuple(sorted(set(lines)))

    def run(
        self,
        script: str,
        *,
        step: str,
        stdin: bytes | None = None,
        check: bool = True,
        timeout: float = 600,
        redact_stdin: bool = True,
    ) -> CommandResult:
        """Run ``script`` with ``sh -c`` on the host (as root: through ``sudo -n`` for other users)."""
        remote = "sh -c %s" % shlex.quote(script)
        if self.target.needs_sudo:
            remote = "sudo -n " + remote
        rc, out, err = self.runner(self._base_argv() + ["--", self.target.host, remote], stdin, timeout)
        result = CommandResult(cmd=script, rc=rc, stdout=out.decode("utf-8", "replace"), stderr=err.decode("utf-8", "replace"))
        if check and rc != 0:
            raise self._error(step, result)
        return result

    def _error(self, step: str, result: CommandResult) -> SSHError:
        where = "%s@%s:%d" % (self.target.user, self.target.host, self.target.port)
        if result.rc == SSH_UNREACHABLE_RC and "Host key verification failed" in result.stderr:
            msg = (
                "The SSH host key of %s (%s) is not the one pinned for this machine. If the host was rebuilt on purpose, "
                "re-pin it with the docker_machine option ssh_host_key_reset=true." % (where, self.target.alias)
            )
        elif result.rc == SSH_UNREACHABLE_RC:
            msg = "Cannot reach %s over SSH at step '%s': %s" % (where, step, result.stderr.strip() or "no answer")
        else:
            msg = "Step '%s' failed on %s with exit code %d: %s" % (step, where, result.rc, (result.stderr or result.stdout).strip()[-2000:])
        return SSHError(msg, step=step, cmd=result.cmd, rc=result.rc, stdout=result.stdout, stderr=result.stderr)

    def wait_until_reachable(self, timeout: float, *, step: str = "wait for SSH", interval: float = 1.0, settled: bool = False) -> None:
        """Retry a no-op login until it works or ``timeout`` passes; a host-key mismatch fails at once.

        A ``settled`` host (one that was set up before: power, re-issue, rotation, clean-up) also fails
        at once when it refuses the connection or the login: a booting host does both for a while, a
        stopped one or one without our key for ever.
        """
        deadline = time.monotonic() + timeout
        while True:
            result = self.run("true", step=step, check=False, timeout=max(5.0, self.target.connect_timeout + 5.0))
            if result.rc == 0:
                return
            final = "Host key verification failed" in result.stderr or (
                settled and ("Connection refused" in result.stderr or "Permission denied" in result.stderr)
            )
            if final or time.monotonic() + interval >= deadline:
                raise self._error(step, result)
            if result.rc != SSH_UNREACHABLE_RC:
                raise self._error(step, result)
            time.sleep(interval)

    def put_file(self, path: str, data: bytes, *, mode: int, step: str) -> bool:
        """Write ``data`` to ``path`` atomically with ``mode`` unless it is already there; True when written.

        The content goes over stdin; the command line holds only the path and a checksum.
        """
        digest = hashlib.sha256(data).hexdigest()
        quoted = shlex.quote(path)
        directory = shlex.quote(os.path.dirname(path) or "/")
        script = (
            "set -e; "
            "if [ -f {p} ] && [ \"$(sha256sum < {p} | cut -d' ' -f1)\" = {d} ] && [ \"$(stat -c %a {p})\" = {m} ]; "
            "then cat > /dev/null; echo unchanged; exit 0; fi; "
            "umask 077; mkdir -p {dir}; tmp=$(mktemp {p}.XXXXXX); cat > \"$tmp\"; chmod {m} \"$tmp\"; mv -f \"$tmp\" {p}; echo written"
        ).format(p=quoted, d=digest, m="%o" % mode, dir=directory)
        result = self.run(script, step=step, stdin=data)
        return result.stdout.strip().endswith("written")

    def file_differs(self, path: str, data: bytes, *, mode: int, step: str) -> bool:
        """True when ``path`` is missing or differs from ``data``/``mode`` (reads only a checksum)."""
        quoted = shlex.quote(path)
        script = "if [ -f {p} ]; then echo \"$(sha256sum < {p} | cut -d' ' -f1) $(stat -c %a {p})\"; fi".format(p=quoted)
        result = self.run(script, step=step)
        return result.stdout.strip() != "%s %o" % (hashlib.sha256(data).hexdigest(), mode)
