# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""Docker CLI contexts written as files, the way ``docker context create`` writes them (no docker binary).

Layout (checked against docker 28.2 ``context create --docker host=...,ca=...,cert=...,key=...``)::

    $DOCKER_CONFIG/contexts/meta/<sha256(name)>/meta.json
        {"Name":N,"Metadata":{"Description":D},"Endpoints":{"docker":{"Host":URL,"SkipTLSVerify":false}}}
    $DOCKER_CONFIG/contexts/tls/<sha256(name)>/docker/{ca,cert,key}.pem    folders 0700, files 0600

The CLI copies the certificate files (it does not point at them), so do we; ``docker context rm -f``
deletes both folders and drops ``currentContext`` from ``config.json`` when it named the context.
"""

from __future__ import annotations

import json
import os
import re
import typing as t

from ansible_collections.dockyard.machine.plugins.module_utils._errors import MachineError
from ansible_collections.dockyard.machine.plugins.module_utils._store import atomic_write, make_dirs, resolve_folder

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._engine import TLSFiles

__all__ = [
    "CONTEXT_NAME_PATTERN",
    "DEFAULT_DOCKER_CONFIG",
    "DOCKER_CONFIG_ENV",
    "DockerContextError",
    "context_dirs",
    "ensure_context",
    "read_context",
    "remove_context",
    "resolve_docker_config",
    "validate_context_name",
]

DOCKER_CONFIG_ENV = "DOCKER_CONFIG"
DEFAULT_DOCKER_CONFIG = "~/.docker"
ENDPOINT = "docker"
# docker/cli cli/context/store: the rule `docker context create` applies, and the name it keeps for itself.
CONTEXT_NAME_PATTERN = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.+-]+")
RESERVED_CONTEXT_NAMES = ("default",)
CURRENT_CONTEXT_KEY = "currentContext"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
# TLSFiles field -> the file name the CLI gives it inside the context's TLS folder.
TLS_FILE_NAMES = (("ca", "ca.pem"), ("cert", "cert.pem"), ("key", "key.pem"))


class DockerContextError(MachineError):
    """A Docker CLI context cannot be read, written or removed."""


def resolve_docker_config(option: str | None = None, environ: t.Mapping[str, str] | None = None) -> str:
    """Option ``docker_config``, else ``$DOCKER_CONFIG``, else ``~/.docker``; absolute."""
    return resolve_folder(option, DOCKER_CONFIG_ENV, DEFAULT_DOCKER_CONFIG, environ)


def validate_context_name(name: t.Any) -> str:
    """Return ``name`` if the Docker CLI accepts it as a context name, else raise naming the option."""
    if not isinstance(name, str) or not CONTEXT_NAME_PATTERN.fullmatch(name):
        raise DockerContextError(
            "%r cannot name a Docker context: the Docker CLI wants at least two characters matching "
            "%s. Set option 'context_name' to another name." % (name, CONTEXT_NAME_PATTERN.pattern),
            option="context_name",
        )
    if name in RESERVED_CONTEXT_NAMES:
        raise DockerContextError(
            "%r is a reserved Docker context name (the Docker CLI's own). Set option 'context_name' to another name." % name,
            option="context_name",
        )
    return name


def context_dirs(name: str, config_dir: str) -> tuple[str, str]:
    """(metadata folder, TLS folder of the ``docker`` endpoint) for context ``name``."""
    import hashlib

    context_id = hashlib.sha256(name.encode("utf-8")).hexdigest()
    contexts = os.path.join(config_dir, "contexts")
    return os.path.join(contexts, "meta", context_id), os.path.join(contexts, "tls", context_id, ENDPOINT)


def _meta_document(name: str, url: str, description: str) -> dict[str, t.Any]:
    # Key order as the CLI's json.Marshal writes it; Description only when set, as the CLI does.
    metadata = {"Description": description} if description else {}
    return {"Name": name, "Metadata": metadata, "Endpoints": {ENDPOINT: {"Host": url, "SkipTLSVerify": False}}}


def _read_bytes(path: str, what: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DockerContextError("Cannot read %s %s: %s" % (what, path, exc.strerror), path=path) from exc


def _fingerprint(data: bytes | None) -> str | None:
    import hashlib

    return None if data is None else "sha256:" + hashlib.sha256(data).hexdigest()


def read_context(name: str, config_dir: str) -> dict[str, t.Any] | None:
    """What the context holds now, for comparison and diffs (certificate files as fingerprints only).

    None when there is no ``meta.json``.  A ``meta.json`` that is not JSON reads as ``{"invalid": true}``
    so that it gets rewritten.
    """
    meta_dir, tls_dir = context_dirs(name, config_dir)
    raw = _read_bytes(os.path.join(meta_dir, "meta.json"), "Docker context metadata")
    if raw is None:
        return None
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        meta = {"invalid": True}
    tls = {filename: _fingerprint(_read_bytes(os.path.join(tls_dir, filename), "Docker context TLS file")) for _field, filename in TLS_FILE_NAMES}
    return {"meta": meta, "tls": {k: v for k, v in tls.items() if v is not None}}


def _source_tls(tls: TLSFiles) -> dict[str, bytes]:
    files = {}
    for field, filename in TLS_FILE_NAMES:
        path = getattr(tls, field)
        data = _read_bytes(path, "the machine's TLS file")
        if data is None:
            raise DockerContextError("Cannot copy %s into the Docker context: %s does not exist." % (filename, path), path=path)
        files[filename] = data
    return files


def ensure_context(
    name: str,
    url: str,
    tls: TLSFiles,
    config_dir: str | None,
    check_mode: bool,
    *,
    description: str = "",
) -> tuple[bool, dict[str, t.Any]]:
    """Create or update context ``name`` (endpoint ``url``, copies of ``tls``); (changed, diff).

    Compares content, not bytes, so a context the CLI itself rewrote is not rewritten.  Writes go
    through temp files and ``os.replace``; TLS files first, ``meta.json`` last, so a reader that
    finds the metadata finds the certificates too.  In check mode nothing is written.
    """
    validate_context_name(name)
    root = resolve_docker_config(config_dir)
    meta_dir, tls_dir = context_dirs(name, root)
    before = read_context(name, root)
    files = _source_tls(tls)
    after = {"meta": _meta_document(name, url, description), "tls": {k: _fingerprint(v) for k, v in files.items()}}
    diff = {"before": before or {}, "after": after, "before_header": meta_dir, "after_header": meta_dir}
    if before == after:
        return False, diff
    if not check_mode:
        try:
            make_dirs(tls_dir, PRIVATE_DIR_MODE)
            for filename, data in files.items():
                atomic_write(os.path.join(tls_dir, filename), data, PRIVATE_FILE_MODE)
            meta = json.dumps(after["meta"], separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            atomic_write(os.path.join(meta_dir, "meta.json"), meta, PRIVATE_FILE_MODE)
        except OSError as exc:
            raise DockerContextError(
                "Cannot write the Docker context %s under %s: %s. Check option 'docker_config'." % (name, root, exc.strerror or exc),
                path=exc.filename or root,
                option="docker_config",
            ) from exc
    return True, diff


def _current_context_cleared(config_file: str, name: str, check_mode: bool) -> bool:
    """Drop ``currentContext`` from ``config.json`` when it names ``name`` (what ``context rm -f`` does)."""
    raw = _read_bytes(config_file, "Docker CLI configuration")
    if raw is None:
        return False
    try:
        config = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise DockerContextError("%s is not valid JSON (%s); fix it before removing a context." % (config_file, exc), path=config_file) from exc
    if not isinstance(config, dict) or config.get(CURRENT_CONTEXT_KEY) != name:
        return False
    if not check_mode:
        del config[CURRENT_CONTEXT_KEY]
        mode = os.stat(config_file).st_mode & 0o777
        # Every other key (auths, credsStore, ...) is kept as it was; tab indent like the CLI.
        atomic_write(config_file, json.dumps(config, indent="\t", ensure_ascii=False).encode("utf-8"), mode)
    return True


def remove_context(name: str, config_dir: str | None, check_mode: bool) -> tuple[bool, dict[str, t.Any]]:
    """Delete context ``name`` (metadata and TLS folders); (changed, diff).  Absent is not an error.

    When ``config.json`` has it as the current context, that setting is dropped too, so the CLI
    goes back to its default (``DOCKER_HOST`` or the local socket), like ``docker context rm -f``.
    """
    validate_context_name(name)
    root = resolve_docker_config(config_dir)
    meta_dir, tls_dir = context_dirs(name, root)
    tls_root = os.path.dirname(tls_dir)
    before = read_context(name, root)
    present = [d for d in (meta_dir, tls_root) if os.path.isdir(d)]
    try:
        cleared = _current_context_cleared(os.path.join(root, "config.json"), name, check_mode)
        if not check_mode:
            import shutil

            for folder in present:
                shutil.rmtree(folder)
    except OSError as exc:
        raise DockerContextError(
            "Cannot remove the Docker context %s under %s: %s" % (name, root, exc.strerror or exc),
            path=exc.filename or root,
            option="docker_config",
        ) from exc
    before_state = dict(before or {})
    if cleared:
        before_state["current"] = True
    diff = {"before": before_state, "after": {}, "before_header": meta_dir, "after_header": meta_dir}
    return bool(present) or cleared, diff
