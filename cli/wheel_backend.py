# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The build backend of ``pip install .../cli`` (PEP 517): writes the command's wheel with the standard library only.

So the install needs nothing from a package index (no setuptools; an execution environment build without an index
works) and writes nothing into this folder, which may be an installed collection that ``ansible-galaxy collection
verify`` checks: the wheel goes straight to the folder pip names, built from the files as they are.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sys
import tomllib
import zipfile

# An installed collection is verified file by file: no bytecode of this module beside it.
sys.dont_write_bytecode = True

__all__ = ["build_wheel", "get_requires_for_build_wheel"]

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = "dockyard_machine_cli"


def _project() -> dict:
    """pyproject.toml's [project] table, the one owner of the wheel's name, version and scripts."""
    with open(os.path.join(HERE, "pyproject.toml"), "rb") as source:
        return tomllib.load(source)["project"]


def get_requires_for_build_wheel(config_settings: dict | None = None) -> list[str]:  # pylint: disable=unused-argument
    return []


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _dist_info(project: dict) -> str:
    return "%s-%s.dist-info" % (project["name"].replace("-", "_"), project["version"])


def _files(project: dict) -> dict[str, bytes]:
    """Path in the wheel -> content: the package's modules and the dist-info (RECORD comes last, in build_wheel)."""
    files: dict[str, bytes] = {}
    folder = os.path.join(HERE, PACKAGE)
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            with open(os.path.join(folder, name), "rb") as source:
                files["%s/%s" % (PACKAGE, name)] = source.read()
    info = _dist_info(project)
    files[info + "/METADATA"] = (
        "Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: %s\nLicense: %s\nRequires-Python: %s\n"
        % (project["name"], project["version"], project["description"], project["license"], project["requires-python"])
    ).encode()
    files[info + "/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: dockyard-machine wheel_backend\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    scripts = "".join("%s = %s\n" % item for item in sorted(project["scripts"].items()))
    files[info + "/entry_points.txt"] = ("[console_scripts]\n" + scripts).encode()
    return files


def build_wheel(wheel_directory: str, config_settings: dict | None = None, metadata_directory: str | None = None) -> str:  # pylint: disable=unused-argument
    project = _project()
    files = _files(project)
    info = _dist_info(project)
    record = "".join("%s,%s,%d\n" % (path, _digest(data), len(data)) for path, data in files.items()) + "%s/RECORD,,\n" % info
    files[info + "/RECORD"] = record.encode()
    wheel_name = "%s-%s-py3-none-any.whl" % (project["name"].replace("-", "_"), project["version"])
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w", compression=zipfile.ZIP_DEFLATED) as wheel:
        for path, data in files.items():
            wheel.writestr(zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return wheel_name
