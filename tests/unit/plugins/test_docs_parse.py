# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every plugin's documentation is YAML that parses: ansible-doc fails on a plugin whose block does not.

The blocks are read from the source with ``ast``, not imported: importing a plugin outside Ansible's
plugin loader would make the loader unable to find it later in the same test process.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

PLUGINS = Path(__file__).resolve().parents[3] / "plugins"
FOLDERS = ("modules", "doc_fragments", "inventory", "filter")
BLOCKS = ("DOCUMENTATION", "EXAMPLES", "RETURN")


def _sources() -> list[Path]:
    return sorted(p for folder in FOLDERS if (PLUGINS / folder).is_dir() for p in (PLUGINS / folder).glob("*.py") if p.name != "__init__.py")


def _blocks(source: Path) -> list[str]:
    """The string constants named like documentation blocks, at module level or in a class (doc fragments)."""
    found = []
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            names = [target.id for target in node.targets if isinstance(target, ast.Name)]
            if any(name in BLOCKS or (source.parent.name == "doc_fragments" and name.isupper()) for name in names):
                found.append(node.value.value)
    return found


@pytest.mark.parametrize("source", _sources(), ids=lambda p: "%s/%s" % (p.parent.name, p.name))
def test_every_documentation_block_is_yaml(source: Path) -> None:
    texts = _blocks(source)
    assert texts, "%s has no documentation block" % source
    for text in texts:
        list(yaml.safe_load_all(text))  # EXAMPLES of an inventory plugin may hold several files
