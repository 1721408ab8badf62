# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``python -m dockyard_machine_cli``: the same as the ``dockyard-machine`` command."""

from __future__ import annotations

import sys

from dockyard_machine_cli import main

sys.exit(main())
