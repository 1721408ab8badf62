"""Fixtures shared by unit and end-to-end tests."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]


def _drop_other_checkouts() -> None:
    """Keep only this checkout's copy of the collection importable.

    A virtualenv shared by git worktrees names one checkout's ``.build/collections`` in a ``.pth`` file; from
    another worktree, ``ansible_collections.dockyard.machine`` would then span two folders, which Ansible's
    collection loader refuses ("this loader requires exactly one path to search").
    """
    for entry in list(sys.path):
        other = Path(entry or ".", "ansible_collections", "dockyard", "machine")
        if other.is_dir() and other.resolve() != CHECKOUT:
            sys.path.remove(entry)


_drop_other_checkouts()
FIXTURE_STORE = Path(__file__).parent / "fixtures" / "docker-machine-store"
# Where the original tool wrote that store; every path inside its config.json files starts here.
FIXTURE_ROOT = "/home/operator/.docker/machine"
FIXTURE_MACHINES = ("aws-sandbox", "m1", "m2")


def copy_store(source: Path, target: Path) -> Path:
    """Copy a store and give it the modes the original writes (git keeps none): 0700 folders, 0600 files."""
    shutil.copytree(source, target)
    for folder, dirs, files in os.walk(target):
        os.chmod(folder, 0o700)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o600)
    return target


@pytest.fixture
def fixture_store(tmp_path: Path) -> Path:
    """A fresh copy of the store the original Docker Machine wrote, in another folder (a moved store)."""
    return copy_store(FIXTURE_STORE, tmp_path / "moved" / "machine")
