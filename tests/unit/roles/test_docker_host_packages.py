"""docker_host's package lists, rendered by Ansible's templating from the role's own task files.

The Docker-repository path cannot run here (download.docker.com is unreachable), so its package names
and version pins are checked this way; the distribution path also runs in Molecule.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROLE = Path(__file__).resolve().parents[3] / "roles" / "docker_host"


def packages(manager: str, os_vars: str, source: str, version: str = "", compose: bool = True) -> list[str]:
    install = yaml.safe_load((ROLE / "tasks" / ("install-%s.yml" % manager)).read_text())[-1]
    module = next(key for key in install if key.startswith("ansible.builtin."))
    variables = dict(yaml.safe_load((ROLE / "vars" / ("%s.yml" % os_vars)).read_text()),
                     docker_host_install_source=source, docker_host_version=version, docker_host_compose=compose)
    variables.update({key: trust_as_template(value) for key, value in install["vars"].items()})
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(install[module]["name"]))


DOCKER_APT = ["docker-ce", "docker-ce-cli", "containerd.io", "docker-buildx-plugin", "docker-compose-plugin"]


@pytest.mark.parametrize(
    "manager, os_vars, source, version, expected",
    [
        ("apt", "Debian-12", "docker", "", DOCKER_APT),
        ("apt", "Debian-12", "docker", "26.1", ["docker-ce=5:26.1*", "docker-ce-cli=5:26.1*"] + DOCKER_APT[2:]),
        ("apt", "Debian-12", "distro", "", ["docker.io"]),
        ("apt", "Debian-13", "distro", "", ["docker.io", "docker-cli", "docker-compose"]),
        ("apt", "Debian-13", "distro", "26.1", ["docker.io=26.1*", "docker-cli=26.1*", "docker-compose"]),
        ("apt", "Ubuntu-24", "distro", "", ["docker.io", "docker-compose-v2"]),
        ("apt", "Ubuntu-22", "docker", "27.3", ["docker-ce=5:27.3*", "docker-ce-cli=5:27.3*"] + DOCKER_APT[2:]),
        ("dnf", "RedHat-9", "docker", "26.1", ["docker-ce-26.1*", "docker-ce-cli-26.1*"] + DOCKER_APT[2:]),
        ("dnf", "RedHat-9", "docker", "", DOCKER_APT),
        ("dnf", "Amazon-2023", "distro", "25.0", ["docker-25.0*"]),
    ],
)
def test_packages_per_source_and_pin(manager, os_vars, source, version, expected):
    assert packages(manager, os_vars, source, version) == expected


def test_without_compose_only_the_engine():
    assert packages("apt", "Debian-13", "distro", compose=False) == ["docker.io", "docker-cli"]
