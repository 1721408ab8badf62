# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""The only module_util that knows AnsibleModule: shared options and the one way modules fail."""

from __future__ import annotations

import os
import typing as t

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.dockyard.machine.plugins.module_utils._errors import MachineError
from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineStore, resolve_store_path

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible.module_utils.basic import AnsibleModule

__all__ = ["STORE_ARGS", "fail_from", "require_cryptography", "store_from"]

# One source for the store option (docs: doc_fragments/_store.py).  The environment fallback is
# resolved in resolve_store_path so that modules, the inventory plugin and tests agree.
STORE_ARGS: dict[str, dict[str, t.Any]] = {
    "store_path": {"type": "path"},
}


def store_from(module: AnsibleModule, *, must_exist: bool = False) -> MachineStore:
    """The store the task names; with ``must_exist``, a missing folder fails the task instead of reading as empty.

    Modules that only read (listing, env, certificate checks, export) pass ``must_exist`` so that a
    mistyped path is an error, as the inventory plugin warns about it; creating a machine makes the folder.
    """
    store = MachineStore(resolve_store_path(module.params.get("store_path")))
    if must_exist and not os.path.isdir(store.root):
        module.fail_json(
            msg="The machine store %s does not exist. Set option 'store_path' (or MACHINE_STORAGE_PATH) to the folder that holds "
            "certs/ and machines/." % store.root,
            store_path=store.root,
        )
    return store


def fail_from(module: AnsibleModule, error: MachineError, **result: t.Any) -> t.NoReturn:
    """Turn a typed error into fail_json, with step/cmd/rc/stdout/stderr when the error carries them."""
    fields = dict(result)
    fields.update(error.result())
    # fail_json's own ``warnings`` argument is deprecated (ansible-core 2.23 removes it).
    for warning in fields.pop("warnings", None) or ():
        module.warn(warning)
    module.fail_json(msg=error.msg, **fields)
    raise AssertionError("fail_json returned")  # pragma: no cover


def require_cryptography(module: AnsibleModule) -> None:
    from ansible_collections.dockyard.machine.plugins.module_utils import _certs

    if not _certs.HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=str(_certs.CRYPTOGRAPHY_IMPORT_ERROR))
