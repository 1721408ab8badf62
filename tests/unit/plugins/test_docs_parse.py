# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every plugin's documentation is YAML that parses: ansible-doc fails on a plugin whose block does not."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
import yaml

PACKAGES = ("modules", "doc_fragments", "inventory", "filter")
BLOCKS = ("DOCUMENTATION", "EXAMPLES", "RETURN")


def _plugins() -> list[str]:
    found = []
    for package in PACKAGES:
        try:
            module = importlib.import_module("ansible_collections.dockyard.machine.plugins.%s" % package)
        except ImportError:
            continue
        found += ["%s.%s" % (module.__name__, info.name) for info in pkgutil.iter_modules(module.__path__)]
    return found


@pytest.mark.parametrize("name", _plugins())
def test_every_documentation_block_is_yaml(name: str) -> None:
    module = importlib.import_module(name)
    texts = [getattr(module, block) for block in BLOCKS if isinstance(getattr(module, block, None), str)]
    fragment = getattr(module, "ModuleDocFragment", None)
    if fragment is not None:
        texts += [v for k, v in vars(fragment).items() if k.isupper() and isinstance(v, str)]
    assert texts, "%s has no documentation block" % name
    for text in texts:
        list(yaml.safe_load_all(text))  # EXAMPLES of an inventory plugin may hold several files
