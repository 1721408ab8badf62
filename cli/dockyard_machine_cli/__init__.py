# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Entry point of ``dockyard-machine``: find the installed dockyard.machine collection and run its command line."""

from __future__ import annotations

import os
import sys

__all__ = ["main"]

TARGET = "ansible_collections.dockyard.machine.plugins.plugin_utils._cli"


def _collection_paths() -> list[str]:
    """Where Ansible looks for collections: ANSIBLE_COLLECTIONS_PATH and ansible.cfg, through Ansible's own config."""
    try:
        from ansible import constants  # pylint: disable=import-outside-toplevel

        paths = list(constants.COLLECTIONS_PATHS)
    except Exception:  # pylint: disable=broad-exception-caught
        raw = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.environ.get("ANSIBLE_COLLECTIONS_PATHS") or ""
        paths = [p for p in raw.split(os.pathsep) if p] or ["~/.ansible/collections", "/usr/share/ansible/collections"]
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
