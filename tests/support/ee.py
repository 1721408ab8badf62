"""The AWX execution environment of awx/execution-environment.yml, built here without a registry.

``ansible-builder create`` makes the build context from the definition as it is. Two things differ from a
build for AWX, both only because no registry and no Galaxy server is reachable:

- the base image is ``dockyard/ee-base:HASH`` (tests/bed/ee-base: the test bed's Debian 13 image with pip and a
  package-manager wrapper), passed as the build argument EE_BASE_IMAGE, with PKGMGR naming the wrapper;
- the collections of awx/ee/requirements.yml come as tarballs (ours from ``ansible-galaxy collection build``,
  community.docker and amazon.aws packed from the ones installed in the venv), installed with ``--offline``.

Images are tagged with a hash of what makes them (the context's files, the collections' file checksums), so a
second build with nothing changed costs one ``docker image inspect``. Run as a script, it builds the image
and prints its reference.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFINITION = REPO / "awx" / "execution-environment.yml"
BASE_DIR = REPO / "tests" / "bed" / "ee-base"
MACHINE_IMAGE = "dockyard/machine:trixie"
ROOTFS_REPO = "dockyard/ee-rootfs"
BASE_REPO = "dockyard/ee-base"
EE_REPO = "dockyard/machine-ee"
LABEL = "dockyard.ee"
PKGMGR = "/usr/local/bin/dockyard-pkgmgr"
HOST_CA = os.environ.get("PIP_CERT") or "/etc/ssl/certs/ca-certificates.crt"
# The collections of awx/ee/requirements.yml and what they depend on, as the venv's `ansible` package has them.
THIRD_PARTY = ("community.docker", "community.library_inventory_filtering_v1", "amazon.aws")


class EEError(RuntimeError):
    """A build step failed."""


def _run(argv: list[str], timeout: float, cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd)
    except subprocess.TimeoutExpired as exc:
        raise EEError("%s timed out after %.0f s" % (" ".join(argv), timeout)) from exc
    if done.returncode != 0:
        raise EEError("%s failed (exit %d):\n%s\n%s" % (" ".join(argv), done.returncode, done.stdout[-6000:], done.stderr[-6000:]))
    return done.stdout


def _image_exists(ref: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", ref], capture_output=True, timeout=60, check=False).returncode == 0


def _tree_hash(root: Path, skip: tuple[str, ...] = ()) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(skip):
            continue
        digest.update(rel.encode() + b"\0" + oct(path.stat().st_mode & 0o111).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _rootfs_image() -> str:
    """The machine image's files as an image of their own, without its configuration.

    Every image built FROM the machine image would inherit its label dockyard.recipe, and tests/bed/images.sh
    prunes unused images with that label: the untagged layers of a build running at the same time included.
    """
    machine = _run(["docker", "image", "inspect", "-f", "{{.Id}}", MACHINE_IMAGE], timeout=60).strip()
    ref = "%s:%s" % (ROOTFS_REPO, machine.split(":")[-1][:16])
    if not _image_exists(ref):
        container = _run(["docker", "create", MACHINE_IMAGE], timeout=60).strip()
        try:
            export = subprocess.Popen(["docker", "export", container], stdout=subprocess.PIPE)
            imported = subprocess.run(["docker", "import", "-c", "LABEL %s=rootfs" % LABEL, "-", ref], stdin=export.stdout,
                                      capture_output=True, text=True, timeout=600, check=False)
            if export.wait(timeout=60) != 0 or imported.returncode != 0:
                raise EEError("docker export %s | docker import failed: %s" % (MACHINE_IMAGE, imported.stderr))
        finally:
            subprocess.run(["docker", "rm", "-f", container], capture_output=True, timeout=60, check=False)
        _prune(ROOTFS_REPO, ref)
    return ref


def base_image() -> str:
    """``dockyard/ee-base:HASH``, built from the machine image unless it exists.

    It trusts this machine's CA certificates (HOST_CA) for pip only (PIP_CERT): the build's pip reaches the
    package index the way this machine does, while the EE's own TLS clients keep the image's CAs.
    """
    rootfs = _rootfs_image()
    with tempfile.TemporaryDirectory() as tmp:
        context = Path(tmp) / "base"
        shutil.copytree(BASE_DIR, context)
        shutil.copyfile(HOST_CA, context / "host-ca-certificates.crt")
        ref = "%s:%s" % (BASE_REPO, hashlib.sha256((_tree_hash(context) + rootfs).encode()).hexdigest()[:16])
        if not _image_exists(ref):
            _run(["docker", "build", "-q", "--label", "%s=base" % LABEL, "--build-arg", "ROOTFS_IMAGE=" + rootfs, "-t", ref, str(context)],
                 timeout=900)
    _prune(BASE_REPO, ref)
    return ref


def _installed_collection(fqcn: str) -> Path:
    namespace, name = fqcn.split(".")
    for entry in sys.path:
        candidate = Path(entry) / "ansible_collections" / namespace / name / "MANIFEST.json"
        if candidate.is_file():
            return candidate.parent
    raise EEError("collection %s is not installed in this Python's path" % fqcn)


def _pack_installed(fqcn: str, dest: Path) -> Path:
    """An installed collection as the tarball Galaxy would serve: MANIFEST.json, FILES.json and its files.

    The `ansible` package leaves out some files that FILES.json lists (CI folders); they are dropped from
    FILES.json, and MANIFEST.json names the new FILES.json's checksum.
    """
    root = _installed_collection(fqcn)
    manifest = json.loads((root / "MANIFEST.json").read_text())
    listing = json.loads((root / "FILES.json").read_text())
    listing["files"] = [entry for entry in listing["files"] if entry["name"] == "." or (root / entry["name"]).exists()]
    files_json = json.dumps(listing, indent=4).encode()
    manifest["file_manifest_file"]["chksum_sha256"] = hashlib.sha256(files_json).hexdigest()
    manifest_json = json.dumps(manifest, indent=4).encode()
    tarball = dest / ("%s-%s.tar.gz" % (fqcn.replace(".", "-"), manifest["collection_info"]["version"]))
    with tarfile.open(tarball, "w:gz") as tar:
        for name, data in (("MANIFEST.json", manifest_json), ("FILES.json", files_json)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
        for entry in listing["files"]:
            if entry["name"] != ".":
                tar.add(str(root / entry["name"]), arcname=entry["name"], recursive=False)
    return tarball


def collection_tarballs(dest: Path) -> list[Path]:
    """This checkout's collection (ansible-galaxy collection build) and the third-party ones, in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    _run(["ansible-galaxy", "collection", "build", "--force", "--output-path", str(dest), str(REPO)], timeout=300)
    ours = sorted(dest.glob("dockyard-machine-*.tar.gz"))
    return ours + [_pack_installed(fqcn, dest) for fqcn in THIRD_PARTY]


def _checksums(tarball: Path) -> bytes:
    with tarfile.open(tarball) as tar:
        member = tar.extractfile("FILES.json")
        assert member is not None
        return member.read()


def create_context(context: Path) -> None:
    """``ansible-builder create`` on the definition, as it is."""
    if context.exists():
        shutil.rmtree(context)
    _run(["ansible-builder", "create", "-f", str(DEFINITION), "-c", str(context), "--output-filename", "Dockerfile"], timeout=300)


def offline_collections(context: Path) -> None:
    """Swap the context's Galaxy requirements for the tarballs, installed without Galaxy."""
    build = context / "_build"
    tarballs = collection_tarballs(build / "collections")
    lines = ["---", "collections:"]
    for tarball in tarballs:
        lines += ["  - name: collections/%s" % tarball.name, "    type: file"]
    (build / "requirements.yml").write_text("\n".join(lines) + "\n")


def context_hash(context: Path) -> str:
    digest = hashlib.sha256(_tree_hash(context, skip=("_build/collections/",)).encode())
    for tarball in sorted((context / "_build" / "collections").glob("*.tar.gz")):
        digest.update(tarball.name.encode() + _checksums(tarball))
    return digest.hexdigest()[:16]


def ensure_ee(work: Path | None = None, timeout: float = 1800) -> str:
    """The EE image for this checkout (built unless current): its reference."""
    base = base_image()
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        context = Path(tmp) / "context"
        create_context(context)
        offline_collections(context)
        ref = "%s:%s" % (EE_REPO, hashlib.sha256((context_hash(context) + base).encode()).hexdigest()[:16])
        if _image_exists(ref):
            return ref
        _run(["docker", "build", "--label", "%s=ee" % LABEL, "-t", ref,
              "--build-arg", "EE_BASE_IMAGE=" + base, "--build-arg", "PKGMGR=" + PKGMGR,
              "--build-arg", "ANSIBLE_GALAXY_CLI_COLLECTION_OPTS=--offline", str(context)], timeout=timeout)
    _prune(EE_REPO, ref)
    return ref


def _prune(repo: str, keep: str) -> None:
    """Images of ``repo`` that older recipes made (other hashes) are of no further use; one in use stays."""
    for old in _run(["docker", "images", "--filter", "label=" + LABEL, "--format", "{{.Repository}}:{{.Tag}}"], timeout=60).split():
        if old != keep and old.startswith(repo + ":"):
            subprocess.run(["docker", "rmi", old], capture_output=True, timeout=120, check=False)


if __name__ == "__main__":
    os.environ.setdefault("DOCKER_BUILDKIT", "0")
    print(ensure_ee())
