# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Entry point of ``dockyard-machine``: find the installed dockyard.machine collection and run its command line."""

from __future__ import annotations

import os
import re
import stat
import sys
import typing as t

__all__ = ["main"]

TARGET = "ansible_collections.dockyard.machine.plugins.plugin_utils._cli"


# Ansible's defaults and where it looks for ansible.cfg (ansible/config/base.yml, manager.find_ini_config_file).
_DEFAULT_HOME = "~/.ansible"
_SYSTEM_COLLECTIONS = "/usr/share/ansible/collections"
# ansible.cfg keys that move the collections path: collections_path (collections_paths before 2.10) and home.
_PATH_KEYS = re.compile(r"^\s*(collections_paths?|home)\s*[=:]", re.MULTILINE)


def _config_file(environ: t.Mapping[str, str]) -> str | None:
    """The ansible.cfg Ansible reads: $ANSIBLE_CONFIG, ./ansible.cfg (not in a world-writable folder), ~/.ansible.cfg,
    /etc/ansible/ansible.cfg; the first that exists and is readable."""
    candidates = []
    if "ANSIBLE_CONFIG" in environ:
        given = os.path.abspath(os.path.expanduser(environ["ANSIBLE_CONFIG"]))
        candidates.append(os.path.join(given, "ansible.cfg") if os.path.isdir(given) else given)
    try:
        cwd = os.getcwd()
        if not os.stat(cwd).st_mode & stat.S_IWOTH:
            candidates.append(os.path.join(cwd, "ansible.cfg"))
    except OSError:
        pass
    candidates += [os.path.expanduser("~/.ansible.cfg"), "/etc/ansible/ansible.cfg"]
    return next((path for path in candidates if os.path.exists(path) and os.access(path, os.R_OK)), None)


def _paths_without_ansible(environ: t.Mapping[str, str]) -> list[str] | None:
    """The collections path where it can be known without importing Ansible (which takes several times longer than the
    command itself): $ANSIBLE_COLLECTIONS_PATH, which wins over any ansible.cfg; else, when no ansible.cfg sets the
    path or Ansible's home, Ansible's default. None when only Ansible's own config can tell."""
    raw = environ.get("ANSIBLE_COLLECTIONS_PATH")
    if raw:
        return [p for p in raw.split(os.pathsep) if p]
    config = _config_file(environ)
    if config is not None:
        try:
            with open(config, encoding="utf-8", errors="replace") as handle:
                if _PATH_KEYS.search(handle.read()):
                    return None
        except OSError:
            return None
    home = environ.get("ANSIBLE_HOME") or _DEFAULT_HOME
    return [os.path.join(home, "collections"), _SYSTEM_COLLECTIONS]


def _collection_paths(environ: t.Mapping[str, str] | None = None) -> list[str]:
    """Where Ansible looks for collections: ANSIBLE_COLLECTIONS_PATH and ansible.cfg, through Ansible's own config
    where a file of it may set them."""
    environ = os.environ if environ is None else environ
    paths = _paths_without_ansible(environ)
    if paths is None:
        try:
            from ansible import constants  # pylint: disable=import-outside-toplevel

            paths = list(constants.COLLECTIONS_PATHS)
        except Exception:  # pylint: disable=broad-exception-caught
            raw = environ.get("ANSIBLE_COLLECTIONS_PATH") or environ.get("ANSIBLE_COLLECTIONS_PATHS") or ""
            paths = [p for p in raw.split(os.pathsep) if p] or [_DEFAULT_HOME + "/collections", _SYSTEM_COLLECTIONS]
    return [os.path.abspath(os.path.expanduser(p)) for p in paths]


def _load():
    try:
        return __import__(TARGET, fromlist=["main"])
    except ImportError:
        pass
    paths = _collection_paths()
    # ansible_collections is a namespace package: each folder added here is searched for dockyard/machine.
    for path in reversed(paths):
        if path not in sys.path:
            sys.path.insert(0, path)
    try:
        return __import__(TARGET, fromlist=["main"])
    except ImportError as exc:
        sys.stderr.write(
            "dockyard-machine: cannot import the Ansible collection dockyard.machine (%s). It was looked for in: %s. "
            "Install it with `ansible-galaxy collection install dockyard.machine`, or set ANSIBLE_COLLECTIONS_PATH to the "
            "folder that holds ansible_collections/dockyard/machine.\n" % (exc, ", ".join(paths))
        )
        return None


def main() -> int:
    module = _load()
    if module is None:
        return 1
    return module.main()


if __name__ == "__main__":
    sys.exit(main())
