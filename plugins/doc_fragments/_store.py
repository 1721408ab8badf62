# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this doc fragment is internal to dockyard.machine.

from __future__ import annotations


class ModuleDocFragment:
    # Mirrors STORE_ARGS in plugins/module_utils/_common.py.
    DOCUMENTATION = r"""
options:
  store_path:
    description:
      - The docker-machine store folder (the original's C(--storage-path)).
      - When not set, the environment variable E(MACHINE_STORAGE_PATH) on the controller is used, and
        without it C(~/.docker/machine).
      - Stores written by the original Docker Machine are read as they are. A store copied to another
        folder or computer works too; its recorded paths are repaired on the next write.
      - Modules that only read the store fail when this folder does not exist, so that a mistyped path
        is not mistaken for an empty store; creating a machine or importing a bundle makes it.
    type: path
notes:
  - "Run this module on the controller (C(delegate_to: localhost)); the store lives there."
"""

    ATTRIBUTES = r"""
attributes:
  action_group:
    description: Use C(group/dockyard.machine.docker_machine) in C(module_defaults) to set O(store_path) once.
    support: full
    membership:
      - dockyard.machine.docker_machine
"""
