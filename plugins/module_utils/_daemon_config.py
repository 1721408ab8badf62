# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""The one definition of a machine's Docker daemon configuration (module and docker_host role both use it).

Listen and TLS settings, and every option docker-machine renders as a flag, live in the systemd
drop-in ``/etc/systemd/system/docker.service.d/10-machine.conf``, rendered exactly as the original
renders it: when the original's ``regenerate-certs`` or ``provision`` rewrites that file, nothing
moves.  Those keys therefore stay out of ``daemon.json`` (dockerd refuses to start when a flag and
``daemon.json`` set the same key).  What the original never sets, such as ``live-restore``, goes
into ``daemon.json``, merged with what the host already has.
"""

from __future__ import annotations

import json
import typing as t
import unicodedata
from dataclasses import dataclass, field

from ansible_collections.dockyard.machine.plugins.module_utils._errors import ProvisionError

__all__ = [
    "CONFLICTING_DAEMON_JSON_KEYS",
    "DAEMON_JSON_PATH",
    "DOCKERD_BINARY",
    "DROPIN_PATH",
    "REMOTE_CA",
    "REMOTE_CERT_DIR",
    "REMOTE_SERVER_CERT",
    "REMOTE_SERVER_KEY",
    "DaemonConfig",
    "dump_daemon_json",
    "merge_daemon_json",
    "render_dropin",
]

# The daemon.json key that keeps containers running while the engine restarts (and that Swarm mode refuses).
LIVE_RESTORE = "live-restore"
REMOTE_CERT_DIR = "/etc/docker"
REMOTE_CA = REMOTE_CERT_DIR + "/ca.pem"
REMOTE_SERVER_CERT = REMOTE_CERT_DIR + "/server.pem"
REMOTE_SERVER_KEY = REMOTE_CERT_DIR + "/server-key.pem"
DROPIN_PATH = "/etc/systemd/system/docker.service.d/10-machine.conf"
DAEMON_JSON_PATH = "/etc/docker/daemon.json"
# The original's drop-in starts this path; Debian's docker.io ships /usr/sbin/dockerd only.
DOCKERD_BINARY = "/usr/bin/dockerd"
DEFAULT_STORAGE_DRIVER = "overlay2"
# Characters that make systemd split or unescape an ExecStart= word (whitespace is checked apart).
_EXEC_SPECIAL = "\"'\\"

# Keys that the drop-in sets as flags: having them in daemon.json too stops dockerd from starting.
CONFLICTING_DAEMON_JSON_KEYS = (
    "hosts",
    "tls",
    "tlsverify",
    "tlscacert",
    "tlscert",
    "tlskey",
    "storage-driver",
    "labels",
    "insecure-registries",
    "registry-mirrors",
)


@dataclass(frozen=True)
class DaemonConfig:
    """What a machine's engine is configured with (the record's EngineOptions plus port and provider)."""

    provider: str
    port: int = 2376
    storage_driver: str = ""
    labels: tuple[str, ...] = ()
    insecure_registries: tuple[str, ...] = ()
    registry_mirrors: tuple[str, ...] = ()
    arbitrary_flags: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    daemon_json: t.Mapping[str, t.Any] = field(default_factory=lambda: {LIVE_RESTORE: True})

    @classmethod
    def from_engine_options(cls, engine_options: t.Mapping[str, t.Any], *, provider: str, port: int) -> DaemonConfig:
        return cls(
            provider=provider,
            port=port,
            storage_driver=str(engine_options.get("StorageDriver") or ""),
            labels=tuple(engine_options.get("Labels") or ()),
            insecure_registries=tuple(engine_options.get("InsecureRegistry") or ()),
            registry_mirrors=tuple(engine_options.get("RegistryMirror") or ()),
            arbitrary_flags=tuple(engine_options.get("ArbitraryFlags") or ()),
            env=tuple(engine_options.get("Env") or ()),
        )


def _checked(value: str, option: str) -> str:
    """``value`` unchanged, or a ProvisionError naming ``option`` when it holds a control character.

    A newline would end the drop-in's line and start another directive (``ExecStartPre=`` runs as root).
    """
    for position, char in enumerate(value):
        if unicodedata.category(char) == "Cc":
            # The value itself is left out: engine.env may carry a proxy password.
            raise ProvisionError(
                "%s holds a control character (U+%04X at position %d of a value): newlines, carriage returns, tabs, NUL and "
                "other control characters cannot be written to the engine's systemd unit. Remove it from %s." % (option, ord(char), position, option),
                step="daemon configuration",
                option=option,
            )
    return value


def _exec_word(value: str, option: str) -> str:
    """One ExecStart= argument: ordinary values as they are, others double-quoted the way systemd unquotes them.

    systemd expands ``%`` specifiers and ``$`` variables even inside quotes, so both are doubled; whitespace,
    quotes and backslashes need quotes; a lone ``;`` would separate commands.
    """
    word = _checked(value, option).replace("%", "%%").replace("$", "$$")
    if word == ";":
        return "\\;"
    if word == "" or any(char in _EXEC_SPECIAL or char.isspace() for char in word):
        return '"%s"' % word.replace("\\", "\\\\").replace('"', '\\"')
    return word


def _environment_word(value: str) -> str:
    """One Environment= assignment, double-quoted like the original (Go's ``%q``); ``%`` is a specifier there."""
    word = _checked(value, "engine.env").replace("%", "%%")
    return '"%s"' % word.replace("\\", "\\\\").replace('"', '\\"')


def render_dropin(config: DaemonConfig) -> str:
    """``10-machine.conf`` byte for byte as docker-machine's systemd template renders it, for ordinary values.

    Every value is checked and quoted here, in one place: control characters are refused naming the option,
    and a value systemd would split or expand is quoted so that it reaches dockerd as one argument.
    """
    flags = "".join("--label %s " % _exec_word(label, "engine.labels") for label in config.labels)
    flags += "--label %s " % _exec_word("provider=%s" % config.provider, "driver")
    flags += "".join("--insecure-registry %s " % _exec_word(registry, "engine.insecure_registries") for registry in config.insecure_registries)
    flags += "".join("--registry-mirror %s " % _exec_word(mirror, "engine.registry_mirrors") for mirror in config.registry_mirrors)
    flags += "".join("%s " % _exec_word("--" + flag, "engine.options") for flag in config.arbitrary_flags)
    return (
        "[Service]\n"
        "ExecStart=\n"
        "ExecStart={binary} -H tcp://0.0.0.0:{port:d} -H unix:///var/run/docker.sock --storage-driver {sd} "
        "--tlsverify --tlscacert {ca} --tlscert {cert} --tlskey {key} {flags}\n"
        "Environment={env}\n"
    ).format(
        binary=DOCKERD_BINARY,
        port=int(config.port),
        sd=_exec_word(config.storage_driver or DEFAULT_STORAGE_DRIVER, "engine.storage_driver"),
        ca=REMOTE_CA,
        cert=REMOTE_SERVER_CERT,
        key=REMOTE_SERVER_KEY,
        flags=flags,
        env="".join("%s " % _environment_word(entry) for entry in config.env),
    )


def dump_daemon_json(values: t.Mapping[str, t.Any]) -> str:
    """daemon.json text: two-space indent, sorted keys, final newline (the module and the role write the same bytes)."""
    return json.dumps(dict(values), indent=2, sort_keys=True) + "\n"


def merge_daemon_json(current_text: str, config: DaemonConfig) -> tuple[str, list[str]]:
    """The host's daemon.json with our keys set and conflicting keys removed; also the keys removed.

    An empty or missing file counts as ``{}``; a file that is not a JSON object raises ValueError.
    A host's own ``"live-restore": false`` stays: Swarm mode refuses an engine with live-restore (its swarm
    component does not even start after a restart), and the swarm_cluster role turns it off on every node.
    """
    current = json.loads(current_text) if current_text.strip() else {}
    if not isinstance(current, dict):
        raise ValueError("daemon.json does not hold a JSON object")
    removed = [key for key in CONFLICTING_DAEMON_JSON_KEYS if key in current]
    merged = {k: v for k, v in current.items() if k not in CONFLICTING_DAEMON_JSON_KEYS}
    merged.update({k: v for k, v in config.daemon_json.items() if not (k == LIVE_RESTORE and current.get(k) is False)})
    return dump_daemon_json(merged), removed
