"""Records for end-to-end tests, written with the collection's own store code.

Until the docker_machine module can register machines, tests add ``none``-driver records (an
existing daemon URL) exactly as the original's ``create -d none --url URL`` lays them out, plus the
client certificate copies our ``none`` driver makes so that DOCKER_CERT_PATH works.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ansible_collections.dockyard.machine.plugins.module_utils._drivers.base import base_fields
from ansible_collections.dockyard.machine.plugins.module_utils._engine import split_url
from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord, MachineStore, new_config


def add_none_machine(store_root: Path, name: str, url: str) -> Path:
    store = MachineStore(str(store_root))
    host, port = split_url(url)
    driver = base_fields(name, store.root, ip_address="%s:%d" % (host, port))
    driver["URL"] = url
    store.save(MachineRecord(name=name, config=new_config(name, store.root, "none", driver)))
    machine_dir = Path(store.machine_dir(name))
    for filename in ("ca.pem", "cert.pem", "key.pem"):
        shutil.copy2(Path(store.certs_dir) / filename, machine_dir / filename)
    return machine_dir
