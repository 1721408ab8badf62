"""Issue a server certificate for a host from a store's CA (made when the store has none), with the collection's code.

Usage: python issue_certs.py STORE NAME ADDRESS. Writes STORE/machines/NAME/{server.pem,server-key.pem}: the
files the docker_host role takes for TLS, as after `docker_machine` created the machine.
"""

from __future__ import annotations

import os
import sys

from ansible_collections.dockyard.machine.plugins.module_utils import _certs, _machine
from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineStore


def main(store_path: str, name: str, address: str) -> None:
    store = MachineStore(store_path)
    authority = _machine.ensure_certificates(store)
    server = _certs.new_server(authority.ca, "%s.%s" % (_certs.default_org_user(), name), [address, "localhost"])
    folder = os.path.join(store_path, "machines", name)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    for filename, data, mode in (("server-key.pem", server.key_pem, 0o600), ("server.pem", server.cert_pem, 0o644)):
        path = os.path.join(folder, filename)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as handle:
            handle.write(data)


if __name__ == "__main__":
    main(*sys.argv[1:4])
