"""The release tarball as users get it: built, checked by Galaxy's importer, installed into a clean path, documented,
and run from there (the inventory over a real store, the command line installed the way the README says).

Nothing here reads the checkout's plugins: every Ansible and Python process gets only the installed copy (the
checkout's .build/collections is taken off PYTHONPATH and no ansible.cfg applies).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tarfile
import typing as t
from pathlib import Path

import pytest

from ansible_collections.dockyard.machine.tests.conftest import FIXTURE_MACHINES, FIXTURE_STORE, copy_store
from ansible_collections.dockyard.machine.tests.support.inventory_json import plain

CHECKOUT = Path(__file__).resolve().parents[2]
# galaxy-importer and its ansible-doc live in their own venv (requirements/release.txt); `make artifact` names it.
RELEASE_VENV = Path(os.environ.get("DOCKYARD_RELEASE_VENV", CHECKOUT / ".build" / "release-venv"))
# What the tarball must not carry: the test bed, development configuration, CI.
NOT_SHIPPED = ("tests/", ".ci/", "bench/", "requirements/", "Makefile", "ansible.cfg", ".ansible-lint", ".gitignore")
SHIPPED = ("LICENSE", "README.md", "meta/runtime.yml", "changelogs/changelog.yaml", "cli/pyproject.toml", "cli/wheel_backend.py")


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a user's shell: this run's PATH and network guard, but no checkout on PYTHONPATH, no
    ansible.cfg, no collection path, HOME in a fresh folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "DOCKER_", "MACHINE_", "PIP_"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and "collections" not in p)
    env.update(HOME=str(home), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    env.update(extra)
    return env


def run(argv: list[str], env: dict[str, str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def tarball(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("build")
    done = run(["ansible-galaxy", "collection", "build", "--output-path", str(out), str(CHECKOUT)], clean_env(out), out)
    assert done.returncode == 0, done.stderr
    (path,) = out.glob("dockyard-machine-*.tar.gz")
    with tarfile.open(path) as tar:
        files = [m for m in tar.getmembers() if m.isfile()]
    print("\ntarball %s: %d bytes, %d files" % (path.name, path.stat().st_size, len(files)))
    return path


@pytest.fixture(scope="module")
def members(tarball: Path) -> dict[str, bytes]:
    with tarfile.open(tarball) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def installed(tarball: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """HOME of a user who ran ``ansible-galaxy collection install TARBALL`` (its dependencies come with ``ansible``)."""
    home = tmp_path_factory.mktemp("home")
    # --force: .venv's Python may see a checkout's copy through a .pth file (make venv), which is not this HOME's.
    done = run(["ansible-galaxy", "collection", "install", "--offline", "--no-deps", "--force", str(tarball)], clean_env(home), home)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (home / ".ansible/collections/ansible_collections/dockyard/machine/MANIFEST.json").is_file()
    return home


def plugin_names(members: t.Mapping[str, bytes], kind: str) -> list[str]:
    return sorted(
        "dockyard.machine." + Path(name).stem
        for name in members
        if name.startswith("plugins/%s/" % kind) and name.endswith(".py") and not Path(name).stem.startswith("_")
    )


def test_the_tarball_holds_what_users_run_and_no_test_bed(members: dict[str, bytes]) -> None:
    for name in SHIPPED:
        assert name in members, name
    for role in {name.split("/")[1] for name in members if name.startswith("roles/")}:
        assert "roles/%s/README.md" % role in members and "roles/%s/meta/argument_specs.yml" % role in members
    assert len(plugin_names(members, "modules")) >= 5
    shipped_junk = [n for n in members if n.startswith(NOT_SHIPPED) or "/molecule/" in n or "__pycache__" in n or n.endswith(".pyc")]
    assert not shipped_junk
    with_keys = [n for n, data in members.items() if b"PRIVATE KEY-----" in data]
    assert not with_keys
    assert b"GNU GENERAL PUBLIC LICENSE" in members["LICENSE"] and b"Version 3" in members["LICENSE"]
    info = json.loads(members["MANIFEST.json"])["collection_info"]
    assert info["license"] == ["GPL-3.0-or-later"]
    assert not [v for k, v in info.items() if isinstance(v, str) and "example." in v], info


def test_galaxy_importer_accepts_it_and_documents_every_plugin(tarball: Path, members: dict[str, bytes], tmp_path: Path) -> None:
    # Galaxy wants the source repository's URL, which galaxy.yml leaves out until one is public: the importer checks a
    # copy whose MANIFEST.json names this checkout (file://); the shipped tarball is not changed.
    staged = tmp_path / "staged"
    staged.mkdir()
    with tarfile.open(tarball) as tar:
        tar.extractall(staged, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    manifest = json.loads((staged / "MANIFEST.json").read_text())
    manifest["collection_info"]["repository"] = manifest["collection_info"]["repository"] or CHECKOUT.as_uri()
    (staged / "MANIFEST.json").write_text(json.dumps(manifest))
    checked = tmp_path / tarball.name
    with tarfile.open(checked, "w:gz") as tar:
        for entry in sorted(staged.iterdir()):
            tar.add(entry, arcname=entry.name)
    config = tmp_path / "galaxy-importer.cfg"
    # Galaxy's own checks without the sanity container (ansible-test runs in `make sanity`).
    config.write_text("[galaxy-importer]\nRUN_ANSIBLE_TEST = False\nRUN_ANSIBLE_DOC = True\nRUN_ANSIBLE_LINT = True\n")
    env = clean_env(tmp_path, GALAXY_IMPORTER_CONFIG=str(config), PATH="%s%s%s" % (RELEASE_VENV / "bin", os.pathsep, os.environ["PATH"]))
    done = run([str(RELEASE_VENV / "bin" / "python"), "-m", "galaxy_importer.main", "--print-result", str(checked)], env, tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Importer processing completed successfully" in done.stdout + done.stderr
    result = json.loads(done.stdout[done.stdout.index("\n{") :])
    documented = {
        (c["content_type"], c["content_name"]) for c in result["docs_blob"]["contents"] if (c.get("doc_strings") or {}).get("doc", {}).get("options")
    }
    wanted = {("module", m.split(".")[-1]) for m in plugin_names(members, "modules")}
    wanted |= {("inventory", m.split(".")[-1]) for m in plugin_names(members, "inventory")}
    assert wanted <= documented, sorted(wanted - documented)
    roles = {c["name"]: c for c in result["contents"] if c["content_type"] == "role"}
    assert roles and all(role["description"] for role in roles.values())
    assert result["docs_blob"]["collection_readme"]["html"]


def test_ansible_doc_shows_every_plugin_and_role_of_the_installed_copy(installed: Path, members: dict[str, bytes]) -> None:
    env = clean_env(installed)
    root = installed / ".ansible/collections/ansible_collections/dockyard/machine"
    for kind, names in (("module", plugin_names(members, "modules")), ("inventory", plugin_names(members, "inventory")),
                        ("filter", plugin_names(members, "filter"))):
        done = run(["ansible-doc", "--json", "-t", kind, *names], env, installed)
        assert done.returncode == 0, done.stderr
        docs = json.loads(done.stdout)
        for name in names:
            assert docs[name]["doc"]["filename"].startswith(str(root)), (name, docs[name]["doc"]["filename"])
            assert docs[name]["doc"].get("options") or docs[name]["doc"].get("positional"), name
    roles = sorted("dockyard.machine." + n.split("/")[1] for n in members if n.endswith("/meta/argument_specs.yml"))
    done = run(["ansible-doc", "--json", "-t", "role", *roles], env, installed)
    assert done.returncode == 0, done.stderr
    assert sorted(json.loads(done.stdout)) == roles


def test_the_inventory_of_the_installed_copy_reads_a_store_the_original_wrote(installed: Path, tmp_path: Path) -> None:
    store = copy_store(FIXTURE_STORE, tmp_path / "machine")
    source = tmp_path / "machines.docker_machine.yml"
    source.write_text("plugin: dockyard.machine.docker_machine\nstore_path: %s\n" % store)
    done = run(["ansible-inventory", "-i", str(source), "--list"], clean_env(installed), tmp_path)
    assert done.returncode == 0, done.stderr
    inventory = plain(json.loads(done.stdout))
    assert sorted(inventory["_meta"]["hostvars"]) == sorted(FIXTURE_MACHINES)
    assert inventory["_meta"]["hostvars"]["m1"]["ansible_host"] == "127.0.0.11"


def test_the_readme_command_line_install_works_offline_and_leaves_the_collection_as_installed(installed: Path, tmp_path: Path) -> None:
    readme = (installed / ".ansible/collections/ansible_collections/dockyard/machine/README.md").read_text()
    line = next(line for line in readme.splitlines() if line.startswith("pip install ~/.ansible/collections/"))
    # A clean venv of the Python Ansible runs on, with Ansible importable (what "the environment where Ansible runs" has) but
    # without our command, pip's index switched off: the README's line, pasted into bash.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    site = subprocess.run([str(venv / "bin/python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    ansible_site = str(Path(__import__("ansible").__file__).parents[1])
    Path(site, "ansible-from-ci-venv.pth").write_text(ansible_site + "\n")
    env = clean_env(installed, PATH="%s%s%s" % (venv / "bin", os.pathsep, os.environ["PATH"]), PIP_NO_INDEX="1", PIP_CONFIG_FILE=os.devnull)
    done = run(["bash", "-c", line], env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert Path(venv / "bin/dockyard-machine").is_file()

    verify = run(["ansible-galaxy", "collection", "verify", "--offline", "dockyard.machine"], env, tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "Successfully verified that checksums for 'dockyard.machine" in verify.stdout, verify.stdout
    collection = installed / ".ansible/collections/ansible_collections/dockyard/machine"
    assert not list(collection.glob("cli/build")) and not list(collection.rglob("*.egg-info")) and not list(collection.rglob("__pycache__"))

    store = copy_store(FIXTURE_STORE, tmp_path / "machine")
    listing = run(["bash", "-c", "dockyard-machine -s %s ls -t 2" % shlex.quote(str(store))], env, tmp_path)
    assert "Traceback" not in listing.stderr, listing.stderr
    assert sorted(row.split()[0] for row in listing.stdout.splitlines()[1:]) == sorted(FIXTURE_MACHINES), listing.stdout
    script = "import dockyard_machine_cli as c; c._load(); import ansible_collections.dockyard.machine as m; print(list(m.__path__))"
    where = run([str(venv / "bin/python"), "-c", script], env, tmp_path)
    assert str(collection) in where.stdout, where.stdout + where.stderr
