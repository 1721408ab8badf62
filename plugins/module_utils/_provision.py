# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""What runs on a host over SSH: detect the OS, install the engine, configure TLS, restart, report.

Every step looks before it acts, so a second run changes nothing, and check mode runs only the
looking half.  The provisioner gets an SSH session, never a driver or the store.
"""

from __future__ import annotations

import re
import shlex
import typing as t
from dataclasses import dataclass, field

from ansible_collections.dockyard.machine.plugins.module_utils._daemon_config import (
    DAEMON_JSON_PATH,
    DOCKERD_BINARY,
    DROPIN_PATH,
    REMOTE_CA,
    REMOTE_SERVER_CERT,
    REMOTE_SERVER_KEY,
    DaemonConfig,
    merge_daemon_json,
    render_dropin,
)
from ansible_collections.dockyard.machine.plugins.module_utils._errors import ProvisionError, SSHError
from ansible_collections.dockyard.machine.plugins.module_utils._store import DEFAULT_INSTALL_URL

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._ssh import SSHSession

__all__ = ["INSTALL_SOURCES", "EngineInstall", "checked_version", "OSInfo", "Provisioner", "ProvisionReport", "ProvisionRequest", "parse_os_release"]

INSTALL_SOURCES = ("docker", "distro", "script")
DEBIAN_FAMILY = ("debian", "ubuntu", "raspbian", "linuxmint", "pop")
RHEL_FAMILY = ("rhel", "centos", "fedora", "rocky", "almalinux", "ol", "amzn")
# What a package version can hold on apt and dnf (epoch, upstream version, revision, ~ and + suffixes).
VERSION_PATTERN = re.compile(r"[0-9A-Za-z.:~+_-]+")

# Retries apt while another process (cloud-init, unattended-upgrades) holds its locks: 100 x 3 s.
APT_FUNCTION = (
    "apt_retry() { n=0; while :; do out=$(DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=60 \"$@\" 2>&1) && return 0; "
    "case \"$out\" in *'Could not get lock'*|*'Unable to acquire'*|*'is held by process'*) n=$((n+1)); [ $n -lt 100 ] || break; sleep 3;; "
    "*) break;; esac; done; printf '%s\\n' \"$out\" >&2; return 1; }; "
)


@dataclass(frozen=True)
class OSInfo:
    id: str
    id_like: tuple[str, ...]
    version_id: str
    pretty_name: str

    @property
    def family(self) -> str:
        names = (self.id, *self.id_like)
        if any(n in DEBIAN_FAMILY for n in names):
            return "debian"
        if any(n in RHEL_FAMILY for n in names):
            return "rhel"
        return ""


def parse_os_release(text: str) -> OSInfo:
    """``/etc/os-release`` as the original reads it: KEY=VALUE, quotes stripped, other lines skipped."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and not key.startswith("#"):
            values[key.strip()] = value.strip().strip('"').strip("'")
    return OSInfo(
        id=values.get("ID", "").lower(),
        id_like=tuple(values.get("ID_LIKE", "").lower().split()),
        version_id=values.get("VERSION_ID", ""),
        pretty_name=values.get("PRETTY_NAME", values.get("ID", "")),
    )


@dataclass(frozen=True)
class EngineInstall:
    """How to install the engine when it is missing."""

    enabled: bool = True
    source: str = "docker"
    install_url: str = DEFAULT_INSTALL_URL
    version: str = ""


@dataclass(frozen=True)
class ProvisionRequest:
    ca_pem: bytes
    server_cert_pem: bytes
    server_key_pem: bytes
    daemon: DaemonConfig
    install: EngineInstall = EngineInstall()
    ready_timeout: float = 600


@dataclass
class ProvisionReport:
    os: OSInfo | None = None
    changed_steps: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changed_steps)


def checked_version(version: str) -> str:
    """``version`` when it is empty or a package version, else a ProvisionError naming engine.version."""
    if version and not VERSION_PATTERN.fullmatch(version):
        raise ProvisionError(
            "engine.version %r is not a package version: use letters, digits and . : ~ + _ - only (for example 26.1 or "
            "5:26.1.4-1~debian.12~bookworm), or leave it empty for the newest." % version,
            step="install engine",
            option="engine.version",
        )
    return version


def install_script(os_info: OSInfo, install: EngineInstall, *, upgrade: bool = False) -> str:
    """The shell text that installs the engine from the chosen source on this OS family; every value is shell-quoted.

    ``upgrade``: the engine is installed and is brought to the newest version the source offers within the pin. apt's
    ``install`` (and so the install URL's script) upgrades an installed package; dnf and yum are asked to upgrade.
    """
    version = checked_version(install.version)
    dnf, yum = ("upgrade", "update") if upgrade else ("install", "install")
    if install.source == "script":
        env = "VERSION=%s " % shlex.quote(version) if version else ""
        return "set -e; command -v curl >/dev/null || { %s apt_retry update && apt_retry install -y curl; }; curl -fsSL %s | %ssh -s" % (
            APT_FUNCTION,
            shlex.quote(install.install_url),
            env,
        ) if os_info.family == "debian" else "set -e; curl -fsSL %s | %ssh -s" % (shlex.quote(install.install_url), env)
    if os_info.family == "debian":
        if install.source == "distro":
            package = "docker.io=%s*" % version if version else "docker.io"
            # Debian 13 moved the docker command into docker-cli, which docker.io only recommends.
            return "set -e; %s apt_retry update; apt_retry install -y %s $(apt-cache show docker-cli >/dev/null 2>&1 && echo docker-cli)" % (
                APT_FUNCTION,
                shlex.quote(package),
            )
        repo_os = "ubuntu" if os_info.id == "ubuntu" or "ubuntu" in os_info.id_like else "debian"
        pin = "=5:%s*" % version if version else ""
        names = ("docker-ce" + pin, "docker-ce-cli" + pin, "containerd.io", "docker-buildx-plugin", "docker-compose-plugin")
        packages = " ".join(shlex.quote(p) for p in names)
        return (
            "set -e; %s apt_retry update; apt_retry install -y ca-certificates curl; install -m 0755 -d /etc/apt/keyrings; "
            "curl -fsSL https://download.docker.com/linux/%s/gpg -o /etc/apt/keyrings/docker.asc; chmod a+r /etc/apt/keyrings/docker.asc; "
            ". /etc/os-release; printf 'Types: deb\\nURIs: https://download.docker.com/linux/%s\\nSuites: %%s\\nComponents: stable\\n"
            "Signed-By: /etc/apt/keyrings/docker.asc\\n' \"$VERSION_CODENAME\" > /etc/apt/sources.list.d/docker.sources; "
            "apt_retry update; apt_retry install -y %s"
        ) % (APT_FUNCTION, repo_os, repo_os, packages)
    if install.source == "distro":
        package = "moby-engine" if os_info.id == "fedora" else "docker"
        pinned = "%s-%s" % (package, version) if version else package
        return "set -e; (command -v dnf >/dev/null && dnf %s -y %s) || yum %s -y %s" % (dnf, shlex.quote(pinned), yum, shlex.quote(pinned))
    repo_os = {"fedora": "fedora", "rhel": "rhel"}.get(os_info.id, "centos")
    suffix = "-%s" % version if version else ""
    engine, cli = shlex.quote("docker-ce" + suffix), shlex.quote("docker-ce-cli" + suffix)
    return (
        "set -e; (command -v dnf >/dev/null && dnf -y install dnf-plugins-core && dnf config-manager --add-repo "
        "https://download.docker.com/linux/%s/docker-ce.repo && dnf %s -y %s %s containerd.io docker-compose-plugin) "
        "|| (yum install -y yum-utils && yum-config-manager --add-repo https://download.docker.com/linux/%s/docker-ce.repo "
        "&& yum %s -y %s %s containerd.io docker-compose-plugin)"
    ) % (repo_os, dnf, engine, cli, repo_os, yum, engine, cli)


class Provisioner:
    """Brings one host to the requested engine configuration.  ``check_mode``: look, never act."""

    def __init__(self, session: SSHSession, *, check_mode: bool = False) -> None:
        self.session = session
        self.check_mode = check_mode

    def provision(self, request: ProvisionRequest) -> ProvisionReport:
        # Bad values are refused before anything runs on the host.
        checked_version(request.install.version)
        dropin = render_dropin(request.daemon).encode()
        report = ProvisionReport()
        report.os = self.detect_os()
        self.wait_until_ready(request.ready_timeout)
        self.ensure_engine(report, request.install)
        files = [
            ("server certificates", REMOTE_CA, request.ca_pem, 0o644),
            ("server certificates", REMOTE_SERVER_CERT, request.server_cert_pem, 0o644),
            ("server certificates", REMOTE_SERVER_KEY, request.server_key_pem, 0o600),
            ("daemon configuration", DROPIN_PATH, dropin, 0o644),
            ("daemon configuration", DAEMON_JSON_PATH, self._daemon_json(report, request.daemon), 0o644),
        ]
        for step, path, data, mode in files:
            if self._put(path, data, mode, step) and step not in report.changed_steps:
                report.changed_steps.append(step)
        active = self.engine_active()
        if report.changed_steps or not active:
            report.changed_steps.append("restart engine")
            if not self.check_mode:
                if active:
                    # live-restore can be switched on by a reload: then the restart keeps running containers,
                    # even on a host whose engine ran without it until now.
                    self.session.run("systemctl reload docker.service || true", step="reload engine")
                self.restart_engine()
        return report

    # -- steps --
    def detect_os(self) -> OSInfo:
        result = self.session.run("cat /etc/os-release", step="detect operating system")
        info = parse_os_release(result.stdout)
        if not info.family:
            raise ProvisionError(
                "OS type not recognized: %s (ID=%s). Supported: Debian, Ubuntu and the RHEL family (RHEL, CentOS, Fedora, Rocky, "
                "Alma, Oracle Linux, Amazon Linux)." % (info.pretty_name or "unknown", info.id or "none"),
                step="detect operating system",
                stdout=result.stdout,
            )
        return info

    def wait_until_ready(self, timeout: float) -> None:
        """cloud-init finishes its first boot (and its apt runs) before we touch packages."""
        script = "if command -v cloud-init >/dev/null 2>&1; then timeout %d cloud-init status --wait >/dev/null 2>&1 || true; fi" % int(timeout)
        self.session.run(script, step="wait for cloud-init", timeout=timeout + 30)

    def ensure_engine(self, report: ProvisionReport, install: EngineInstall) -> None:
        probe = self.session.run(
            "command -v dockerd >/dev/null 2>&1 || [ -x /usr/sbin/dockerd ] || [ -x /usr/bin/dockerd ]", step="look for the engine", check=False
        )
        if probe.rc != 0:
            if not install.enabled:
                raise ProvisionError(
                    "Docker is not installed on the host and engine.install is false. Install it, or set engine.install=true.",
                    step="install engine",
                )
            report.changed_steps.append("install engine")
            if self.check_mode:
                return
            self.session.run(install_script(report.os or OSInfo("", (), "", ""), install), step="install engine (%s)" % install.source, timeout=1800)
        self._dockerd_path(report)

    def _dockerd_path(self, report: ProvisionReport) -> None:
        # The original's drop-in (and its regenerate-certs) starts /usr/bin/dockerd.
        link = self.session.run(
            "[ -x {b} ] && echo present || {{ [ -x /usr/sbin/dockerd ] && echo link; }}".format(b=shlex.quote(DOCKERD_BINARY)), step="dockerd path", check=False
        )
        if link.stdout.strip() == "link":
            report.changed_steps.append("dockerd path")
            if not self.check_mode:
                self.session.run("ln -sf /usr/sbin/dockerd %s" % shlex.quote(DOCKERD_BINARY), step="dockerd path")

    def upgrade_engine(self, install: EngineInstall, ready_timeout: float = 600) -> tuple[ProvisionReport, str, str]:
        """``docker-machine upgrade``: the engine upgraded from the source and within the pin it was installed with, then
        restarted as the original does (a package upgrade may leave docker.socket in charge again). Returns the report
        and the engine's versions before and after."""
        checked_version(install.version)
        report = ProvisionReport()
        report.os = self.detect_os()
        if not install.enabled:
            raise ProvisionError(
                "The engine of this machine is not installed by dockyard.machine (engine.install is false in its record): "
                "upgrade Docker on the host yourself, or provision it with engine.install=true.",
                step="upgrade engine",
                option="engine.install",
            )
        self.wait_until_ready(ready_timeout)
        before = self.engine_version()
        if not before:
            raise ProvisionError("Docker is not installed on the host: provision the machine first (it installs the engine).", step="upgrade engine")
        if not self.check_mode:
            self.session.run(install_script(report.os, install, upgrade=True), step="upgrade engine (%s)" % install.source, timeout=1800)
        after = self.engine_version() if not self.check_mode else before
        if after != before:
            report.changed_steps.append("upgrade engine")
        self._dockerd_path(report)
        report.changed_steps.append("restart engine")
        if not self.check_mode:
            self.restart_engine()
        return report, before, after

    def engine_version(self) -> str:
        """``dockerd --version`` of the host ("" when there is none)."""
        result = self.session.run(
            "for d in dockerd /usr/bin/dockerd /usr/sbin/dockerd; do command -v $d >/dev/null 2>&1 && exec $d --version; done; true",
            step="engine version",
            check=False,
        )
        return result.stdout.strip()

    def _daemon_json(self, report: ProvisionReport, daemon: DaemonConfig) -> bytes:
        current = self.session.run("cat %s 2>/dev/null || true" % shlex.quote(DAEMON_JSON_PATH), step="read daemon.json").stdout
        try:
            merged, removed = merge_daemon_json(current, daemon)
        except ValueError as exc:
            raise ProvisionError(
                "%s on the host is not a JSON object (%s). Fix or remove it; dockerd would not start with it either." % (DAEMON_JSON_PATH, exc),
                step="daemon configuration",
                stdout=current,
            ) from exc
        if removed:
            report.warnings.append(
                "Removed %s from %s: the engine gets them as flags from %s, and dockerd refuses to start when both set them."
                % (", ".join(removed), DAEMON_JSON_PATH, DROPIN_PATH)
            )
        return merged.encode()

    def _put(self, path: str, data: bytes, mode: int, step: str) -> bool:
        if self.check_mode:
            return self.session.file_differs(path, data, mode=mode, step=step)
        return self.session.put_file(path, data, mode=mode, step=step)

    def engine_active(self) -> bool:
        return self.session.run("systemctl is-active --quiet docker.service", step="engine state", check=False).rc == 0

    def restart_engine(self) -> None:
        # With socket activation (Debian's docker.io) docker.socket owns /var/run/docker.sock; the drop-in's
        # dockerd binds that path itself, so the socket unit is stopped first and restarted after.
        script = (
            "systemctl daemon-reload; "
            "if systemctl list-unit-files docker.socket >/dev/null 2>&1; then systemctl stop docker.socket || true; fi; "
            "systemctl enable docker.service >/dev/null 2>&1 || true; "
            "systemctl restart docker.service"
        )
        try:
            self.session.run(script, step="restart engine", timeout=300)
        except SSHError as exc:
            journal = self.session.run("journalctl -u docker.service -n 40 --no-pager 2>&1 || true", step="engine journal", check=False)
            raise ProvisionError(
                "The Docker engine did not start with the new configuration: %s\nLast lines of its journal:\n%s" % (exc.msg, journal.stdout),
                step="restart engine",
                **exc.details,
            ) from exc
