"""Fixtures shared by unit and end-to-end tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

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
