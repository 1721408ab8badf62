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
from dataclasses import dataclass, field

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
    "merge_daemon_json",
    "render_dropin",
]

REMOTE_CERT_DIR = "/etc/docker"
REMOTE_CA = REMOTE_CERT_DIR + "/ca.pem"
REMOTE_SERVER_CERT = REMOTE_CERT_DIR + "/server.pem"
REMOTE_SERVER_KEY = REMOTE_CERT_DIR + "/server-key.pem"
DROPIN_PATH = "/etc/systemd/system/docker.service.d/10-machine.conf"
DAEMON_JSON_PATH = "/etc/docker/daemon.json"
# The original's drop-in starts this path; Debian's docker.io ships /usr/sbin/dockerd only.
DOCKERD_BINARY = "/usr/bin/dockerd"
DEFAULT_STORAGE_DRIVER = "overlay2"

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
    daemon_json: t.Mapping[str, t.Any] = field(default_factory=lambda: {"live-restore": True})

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


def _go_quote(value: str) -> str:
    """Go's ``%q`` for the printable ASCII the original's Env entries hold."""
    out = ['"']
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append("\\x%02x" % ord(char))
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def render_dropin(config: DaemonConfig) -> str:
    """``10-machine.conf`` byte for byte as docker-machine's systemd template renders it."""
    flags = "".join("--label %s " % label for label in (*config.labels, "provider=%s" % config.provider))
    flags += "".join("--insecure-registry %s " % registry for registry in config.insecure_registries)
    flags += "".join("--registry-mirror %s " % mirror for mirror in config.registry_mirrors)
    flags += "".join("--%s " % flag for flag in config.arbitrary_flags)
    return (
        "[Service]\n"
        "ExecStart=\n"
        "ExecStart={binary} -H tcp://0.0.0.0:{port} -H unix:///var/run/docker.sock --storage-driver {sd} "
        "--tlsverify --tlscacert {ca} --tlscert {cert} --tlskey {key} {flags}\n"
        "Environment={env}\n"
    ).format(
        binary=DOCKERD_BINARY,
        port=config.port,
        sd=config.storage_driver or DEFAULT_STORAGE_DRIVER,
        ca=REMOTE_CA,
        cert=REMOTE_SERVER_CERT,
        key=REMOTE_SERVER_KEY,
        flags=flags,
        env="".join("%s " % _go_quote(entry) for entry in config.env),
    )


def merge_daemon_json(current_text: str, config: DaemonConfig) -> tuple[str, list[str]]:
    """The host's daemon.json with our keys set and conflicting keys removed; also the keys removed.

    An empty or missing file counts as ``{}``; a file that is not a JSON object raises ValueError.
    """
    current = json.loads(current_text) if current_text.strip() else {}
    if not isinstance(current, dict):
        raise ValueError("daemon.json does not hold a JSON object")
    removed = [key for key in CONFLICTING_DAEMON_JSON_KEYS if key in current]
    merged = {k: v for k, v in current.items() if k not in CONFLICTING_DAEMON_JSON_KEYS}
    merged.update(config.daemon_json)
    return json.dumps(merged, indent=2, sort_keys=True) + "\n", removed
