"""The README's AWX store volumes (issue 15 item 14), its lines run as pasted: the bundle exported on one computer,
the node's folders made and the store imported as root, then what jobs see, with and without the CA's volume.

The node's /var/lib is a fresh tmpfs in a mount namespace of its own (unshare), so the lines run with their own
absolute paths and leave nothing on this computer.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from ansible_collections.dockyard.machine.tests.conftest import FIXTURE_STORE, copy_store
from ansible_collections.dockyard.machine.tests.e2e.conftest import REPO

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("setpriv"),
                                reason="needs root, unshare and setpriv")


def _section_blocks() -> list[tuple[str, str]]:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("**2. The store's volumes.**"):readme.index("**3. Objects in AWX.**")]
    return re.findall(r"```(\w+)\n(.*?)```", section, re.S)


# Run inside the node's namespace after the README's lines: what the volumes hold, and what jobs can do there.
CHECK = r"""
import json, os, subprocess, sys
from ansible_collections.dockyard.machine.plugins.module_utils._authority import ensure_certificates
from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineStore

def as_user(uid, *argv):
    return subprocess.run(["setpriv", "--reuid", str(uid), "--regid", "0", "--clear-groups", *argv], capture_output=True, text=True).returncode

out = {"tree": {}}
for dirpath, dirnames, filenames in os.walk("/var/lib/dockyard"):
    for name in [""] + dirnames + filenames:
        path = os.path.join(dirpath, name) if name else dirpath
        info = os.lstat(path)
        out["tree"][path] = [oct(info.st_mode & 0o7777), info.st_uid, info.st_gid, os.path.isdir(path)]
record = "/var/lib/dockyard/machine/machines/m1/config.json"
out["ee_user_reads_the_store"] = as_user(1000, "cat", record) == 0
out["ee_user_writes_certs"] = as_user(1000, "touch", "/var/lib/dockyard/machine/certs/x") == 0
out["gid0_other_uid_reads_the_store"] = as_user(2000, "cat", record) == 0
out["gid0_other_uid_reads_the_ca"] = as_user(2000, "cat", "/var/lib/dockyard/ca/ca-key.pem") == 0
inventory = subprocess.run(["ansible-inventory", "-i", "awx/inventory/volume.docker_machine.yml", "--list"], capture_output=True, text=True)
out["inventory"] = json.loads(inventory.stdout) if inventory.returncode == 0 else inventory.stderr
# A job of the CA's instance group: the CA's volume mounted over the store's certs/.
subprocess.run(["mount", "--bind", "/var/lib/dockyard/ca", "/var/lib/dockyard/machine/certs"], check=True)
out["ca_job_created"] = list(ensure_certificates(MachineStore("/var/lib/dockyard/machine")).created)
print(json.dumps(out))
"""


def test_the_readmes_store_volumes_work_as_pasted(tmp_path):
    blocks = _section_blocks()
    assert [lang for lang, dummy in blocks] == ["bash", "bash", "yaml"]
    (export_block, node_block), pod_spec = [text for dummy, text in blocks[:2]], blocks[2][1]

    # The computer that has the store (the original tool's store, with its CA key): the export line as pasted.
    work = tmp_path / "work"
    work.mkdir()
    (work / "passphrase.txt").write_text("correct horse battery staple\n")
    source = copy_store(FIXTURE_STORE, tmp_path / "laptop" / "machine")
    env = dict(os.environ, MACHINE_STORAGE_PATH=str(source))
    exported = subprocess.run(["bash", "-euc", export_block], cwd=work, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    assert (work / "machines.bundle").is_file()

    # The node, as root: its lines as pasted, then the checks, in a mount namespace whose /var/lib is empty.
    shutil.copytree(REPO / "awx", work / "awx")  # the project's inventory source file, as AWX runs it from the project
    (work / "check.py").write_text(CHECK)
    env = dict(os.environ)
    env.pop("MACHINE_STORAGE_PATH", None)
    script = "mount -t tmpfs tmpfs /var/lib\n%s\n%s check.py\n" % (node_block, sys.executable)
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-euc", script], cwd=work, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])

    tree = out["tree"]
    ca = "/var/lib/dockyard/ca"
    assert sorted(p for p in tree if p.startswith(ca + "/")) == [ca + "/" + f for f in ("ca-key.pem", "ca.pem", "cert.pem", "key.pem")]
    assert tree[ca + "/ca-key.pem"] == ["0o600", 1000, 0, False]
    assert tree["/var/lib/dockyard/machine/certs"] == ["0o555", 0, 0, True]
    # Every folder but the empty certs/ is the EE user's alone; no file is readable by group or others but certificates.
    folders = {p: v for p, v in tree.items() if p != "/var/lib/dockyard/machine/certs" and v[3]}
    assert {p: v for p, v in folders.items() if v[0] != "0o700" or v[1] != 1000} == {}
    shared = {p: v for p, v in tree.items() if int(v[0], 8) & 0o077 and not p.endswith(("ca.pem", "cert.pem", "server.pem"))}
    assert shared == {"/var/lib/dockyard/machine/certs": ["0o555", 0, 0, True]}
    # Jobs run as uid 1000 read the store, cannot write certs/ without the CA's volume; another uid of group 0 reads nothing.
    assert out["ee_user_reads_the_store"] and not out["ee_user_writes_certs"]
    assert not out["gid0_other_uid_reads_the_store"] and not out["gid0_other_uid_reads_the_ca"]
    # The inventory source reads the store without certs/: each machine's Docker TLS files are its own folder's copies.
    inventory = out["inventory"]
    assert isinstance(inventory, dict), inventory
    m1 = inventory["_meta"]["hostvars"]["m1"]
    cert_path = m1["docker_machine_env"]["DOCKER_CERT_PATH"]
    assert cert_path in ("/var/lib/dockyard/machine/machines/m1", {"__ansible_unsafe": "/var/lib/dockyard/machine/machines/m1"})
    # A job with the CA's volume uses the imported CA (no second CA).
    assert out["ca_job_created"] == []

    # The pod specification: the CA group's mounts, the other group's are the same without dockyard-ca.
    spec = yaml.safe_load(pod_spec)["spec"]
    mounts = {m["name"]: m["mountPath"] for m in spec["containers"][0]["volumeMounts"]}
    assert mounts == {"dockyard-store": "/var/lib/dockyard/machine", "dockyard-keys": "/var/lib/dockyard/keys",
                      "dockyard-ca": "/var/lib/dockyard/machine/certs"}
    assert {v["name"] for v in spec["volumes"]} == set(mounts)
