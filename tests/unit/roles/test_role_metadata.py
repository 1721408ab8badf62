"""The roles' defaults, argument specs and per-OS variables agree with each other."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[3] / "roles"


def _load(path: Path):
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("role", ["docker_host", "compose_stack", "swarm_cluster"])
def test_every_default_is_in_the_argument_spec_and_back(role):
    defaults = _load(ROLES / role / "defaults" / "main.yml")
    spec = _load(ROLES / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert set(defaults) == set(spec) - {name for name, option in spec.items() if option.get("required")}
    for name, option in spec.items():
        assert name.startswith(role + "_")
        if "default" in option:
            # A documented default is the real one (templated defaults are documented in prose instead).
            assert defaults[name] == option["default"], name


@pytest.mark.parametrize("vars_file", sorted((ROLES / "docker_host" / "vars").glob("*.yml")), ids=lambda p: p.stem)
def test_os_variables_name_packages_for_both_sources_or_say_why_not(vars_file):
    values = _load(vars_file)
    assert values["docker_host_os_pkg_mgr"] in ("apt", "dnf")
    for source in ("docker", "distro"):
        engine = values["docker_host_os_packages"][source]
        compose = values["docker_host_os_compose_packages"][source]
        if not engine:
            assert source in values.get("docker_host_os_no_engine", {}), "%s: no %s engine and no message" % (vars_file.stem, source)
        elif not compose:
            assert source in values.get("docker_host_os_no_compose", {}), "%s: no %s Compose and no message" % (vars_file.stem, source)


def test_debian_12_distro_has_no_compose_v2_and_debian_13_has_the_plugin():
    bookworm = _load(ROLES / "docker_host" / "vars" / "Debian-12.yml")
    trixie = _load(ROLES / "docker_host" / "vars" / "Debian-13.yml")
    assert bookworm["docker_host_os_compose_packages"]["distro"] == [] and "1.29" in bookworm["docker_host_os_no_compose"]["distro"]
    assert trixie["docker_host_os_compose_packages"] == {"docker": ["docker-compose-plugin"], "distro": ["docker-compose"]}
    assert "docker-cli" in trixie["docker_host_os_packages"]["distro"]
