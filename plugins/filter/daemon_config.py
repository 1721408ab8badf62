# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: daemon_config
short_description: The Docker engine's systemd drop-in and daemon.json, rendered as M(dockyard.machine.docker_machine) renders them
version_added: 1.0.0
author:
  - dockyard.machine developers (@dockyard)
description:
  - Renders a machine's engine configuration with the collection's one definition of it, the code
    M(dockyard.machine.docker_machine) provisions hosts with. The C(dockyard.machine.docker_host) role writes what it
    returns, so a host configured by the role and a machine created by the module hold the same files, byte for byte.
  - With O(_input.tls=true), the listen address, the TLS flags, labels, registries, mirrors and the storage driver go into
    the systemd drop-in C(/etc/systemd/system/docker.service.d/10-machine.conf), exactly as the original Docker Machine
    writes it (its C(regenerate-certs) then rewrites the same file without breaking the engine), and these keys stay out
    of C(daemon.json).
  - With O(_input.tls=false) there is no drop-in; labels, registries, mirrors and the storage driver go into C(daemon.json).
  - Keys of O(_input.options) that the drop-in sets as flags (C(hosts), C(tls), C(tlsverify), C(tlscacert), C(tlscert),
    C(tlskey), C(storage-driver), C(labels), C(insecure-registries), C(registry-mirrors)) are refused, naming the setting
    to use instead, because dockerd does not start when a flag and C(daemon.json) set the same key.
options:
  _input:
    description: The engine's settings.
    type: dict
    required: true
    suboptions:
      tls:
        description: Listen with TLS on O(_input.port), with the certificates under C(/etc/docker).
        type: bool
        default: false
      port:
        description: TCP port of the TLS endpoint.
        type: int
        default: 2376
      provider:
        description: The value of the V(provider=...) engine label (the machine's driver).
        type: str
        default: generic
      storage_driver:
        description: Storage driver; empty means V(overlay2) with TLS (the original's choice) and the engine's default without.
        type: str
        default: ""
      labels:
        description: Engine labels, V(KEY=VALUE).
        type: list
        elements: str
        default: []
      insecure_registries:
        description: Registries reached without TLS verification.
        type: list
        elements: str
        default: []
      registry_mirrors:
        description: Registry mirrors.
        type: list
        elements: str
        default: []
      env:
        description: Environment of the engine's service, V(KEY=VALUE). Only with O(_input.tls=true) (it lives in the drop-in).
        type: list
        elements: str
        default: []
      options:
        description: Further C(daemon.json) keys, for example V(live-restore) or V(log-opts).
        type: dict
        default: {}
"""

EXAMPLES = r"""
- name: Render the engine configuration of a TLS machine
  ansible.builtin.set_fact:
    engine_files: "{{ settings | dockyard.machine.daemon_config }}"
  vars:
    settings:
      tls: true
      labels: [role=web]
      options:
        live-restore: true
        log-driver: json-file
        log-opts: {max-size: 10m, max-file: "3"}

- name: Write the drop-in
  ansible.builtin.copy:
    content: "{{ engine_files.dropin }}"
    dest: "{{ engine_files.dropin_path }}"
    mode: "0644"
"""

RETURN = r"""
_value:
  description: What to write on the host, and where.
  type: dict
  contains:
    dropin:
      description: The drop-in's text; empty when O(_input.tls=false).
      type: str
    dropin_path:
      description: Where the drop-in goes.
      type: str
    daemon_json:
      description: The text of C(daemon.json) (two-space indent, sorted keys, final newline).
      type: str
    daemon_json_path:
      description: Where C(daemon.json) goes.
      type: str
    ca_path:
      description: Where the CA certificate goes on the host.
      type: str
    cert_path:
      description: Where the server certificate goes on the host.
      type: str
    key_path:
      description: Where the server key goes on the host (mode 0600).
      type: str
    dockerd_binary:
      description: The path the drop-in starts dockerd from; it must exist (Debian's C(docker.io) has C(/usr/sbin/dockerd) only).
      type: str
"""

import typing as t

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.dockyard.machine.plugins.module_utils._daemon_config import (
    CONFLICTING_DAEMON_JSON_KEYS,
    DAEMON_JSON_PATH,
    DOCKERD_BINARY,
    DROPIN_PATH,
    REMOTE_CA,
    REMOTE_SERVER_CERT,
    REMOTE_SERVER_KEY,
    DaemonConfig,
    dump_daemon_json,
    render_dropin,
)
from ansible_collections.dockyard.machine.plugins.module_utils._errors import MachineError

# The setting to use for each key that cannot be given as a daemon.json option.
_INSTEAD = {
    "hosts": "tls and port",
    "tls": "tls",
    "tlsverify": "tls",
    "tlscacert": "tls",
    "tlscert": "tls",
    "tlskey": "tls",
    "storage-driver": "storage_driver",
    "labels": "labels",
    "insecure-registries": "insecure_registries",
    "registry-mirrors": "registry_mirrors",
}
_KNOWN = ("tls", "port", "provider", "storage_driver", "labels", "insecure_registries", "registry_mirrors", "env", "options")


def _strings(settings: t.Mapping[str, t.Any], key: str) -> tuple[str, ...]:
    value = settings.get(key) or []
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise AnsibleFilterError("daemon_config: %s must be a list of strings, not %r" % (key, value))
    return tuple(to_text(item) for item in value)


def daemon_config(settings: t.Any) -> dict[str, t.Any]:
    """The files that configure the engine as the collection's one definition renders them."""
    if not isinstance(settings, t.Mapping):
        raise AnsibleFilterError("daemon_config expects a dictionary of settings, not %s" % type(settings).__name__)
    unknown = sorted(set(settings) - set(_KNOWN))
    if unknown:
        raise AnsibleFilterError("daemon_config: unknown settings %s (known: %s)" % (", ".join(unknown), ", ".join(_KNOWN)))
    options = settings.get("options") or {}
    if not isinstance(options, t.Mapping):
        raise AnsibleFilterError("daemon_config: options must be a dictionary of daemon.json keys")
    conflicting = [key for key in CONFLICTING_DAEMON_JSON_KEYS if key in options]
    if conflicting:
        raise AnsibleFilterError(
            "daemon_config: %s cannot be daemon.json options: the engine gets them as flags, and dockerd does not start when "
            "a flag and daemon.json set the same key. Use the settings %s instead."
            % (", ".join(conflicting), ", ".join(sorted({_INSTEAD[key] for key in conflicting})))
        )
    tls = bool(settings.get("tls", False))
    try:
        port = int(settings.get("port") or 2376)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("daemon_config: port must be a number, not %r" % settings.get("port")) from exc
    if not 0 < port < 65536:
        raise AnsibleFilterError("daemon_config: port %d is not a TCP port" % port)
    storage_driver = to_text(settings.get("storage_driver") or "")
    labels = _strings(settings, "labels")
    insecure = _strings(settings, "insecure_registries")
    mirrors = _strings(settings, "registry_mirrors")
    env = _strings(settings, "env")
    daemon_json = dict(options)
    if not tls:
        if env:
            raise AnsibleFilterError("daemon_config: env is written to the TLS drop-in; without tls it has nowhere to go")
        for key, value in (("storage-driver", storage_driver), ("labels", list(labels)),
                           ("insecure-registries", list(insecure)), ("registry-mirrors", list(mirrors))):
            if value:
                daemon_json[key] = value
    config = DaemonConfig(
        provider=to_text(settings.get("provider") or "generic"),
        port=port,
        storage_driver=storage_driver,
        labels=labels,
        insecure_registries=insecure,
        registry_mirrors=mirrors,
        env=env,
        daemon_json=daemon_json,
    )
    try:
        dropin = render_dropin(config) if tls else ""
    except MachineError as exc:
        raise AnsibleFilterError("daemon_config: %s" % exc.msg) from exc
    text = dump_daemon_json(config.daemon_json)
    return {
        "dropin": dropin,
        "dropin_path": DROPIN_PATH,
        "daemon_json": text,
        "daemon_json_path": DAEMON_JSON_PATH,
        "ca_path": REMOTE_CA,
        "cert_path": REMOTE_SERVER_CERT,
        "key_path": REMOTE_SERVER_KEY,
        "dockerd_binary": DOCKERD_BINARY,
    }


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"daemon_config": daemon_config}
