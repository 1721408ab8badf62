# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this doc fragment is internal to dockyard.machine.

from __future__ import annotations


class ModuleDocFragment:
    # One attribute per driver; each mirrors its driver's option_spec in plugins/module_utils/_drivers/.
    GENERIC = r"""
options:
  generic:
    description:
      - Options of the V(generic) driver, an existing host reached over SSH (the original's C(--generic-*) flags).
      - The user must be V(root) or have password-less C(sudo).
      - The host's SSH key is pinned on first contact and checked on every later contact. Your C(~/.ssh/config)
        applies (jump hosts, identities), unlike with the original.
    type: dict
    suboptions:
      ip_address:
        description: The host's address or DNS name. It becomes a SAN of the server certificate.
        type: str
        required: true
      ssh_user:
        description: SSH user.
        type: str
        default: root
      ssh_key:
        description:
          - Private key to log in with. It is copied into the machine's folder of the store (0600), as the original does.
          - Without it, C(ssh) uses your agent, C(~/.ssh/config) and default keys.
        type: path
      ssh_port:
        description: SSH port.
        type: int
        default: 22
      engine_port:
        description: Port the Docker engine listens on with TLS.
        type: int
        default: 2376
      proxy_jump:
        description: Jump host(s) for SSH, as C(ssh -J) takes them (V(user@bastion:22)). Kept in the store's sidecar file.
        type: str
      ssh_config:
        description:
          - An SSH client configuration file to use instead of C(~/.ssh/config) (C(ssh -F)), for example one an AWX credential
            injects.
          - It is used for the SSH connections of the task that passes it, with any O(state). Pass O(generic) with it again
            with O(state=started), O(state=stopped), O(state=restarted) or O(state=absent) and O(cleanup=true). The store's
            sidecar file notes it, but a noted configuration is never used by itself (a record, which a shared store or a
            bundle may have written, never chooses what C(ssh) runs on this controller).
        type: path
"""

    NONE = r"""
options:
  none:
    description:
      - Options of the V(none) driver, an existing Docker engine that is only registered (the original's C(--url)).
      - Nothing is installed or changed on the engine's host; O(state=present) checks the engine over TLS.
    type: dict
    suboptions:
      url:
        description: The engine's URL, V(tcp://HOST:PORT).
        type: str
        required: true
      ca_cert:
        description:
          - CA certificate that signed the engine's certificate. With O(none.client_cert) and O(none.client_key), these files
            are copied into the machine's folder and used instead of the store's CA and client certificate.
          - Without them the engine must trust the store's CA.
        type: path
      client_cert:
        description: Client certificate the engine accepts. Requires O(none.ca_cert) and O(none.client_key).
        type: path
      client_key:
        description: Key of O(none.client_cert). Copied with mode 0600.
        type: path
"""
