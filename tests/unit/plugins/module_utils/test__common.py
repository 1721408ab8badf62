"""The one way modules fail: typed errors become fail_json fields, warnings become module.warn."""

from __future__ import annotations

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils._common import fail_from
from ansible_collections.dockyard.machine.plugins.module_utils._errors import CertError


class RecordingModule:
    """The two members fail_from uses."""

    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.failed: dict | None = None

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    def fail_json(self, **fields) -> None:
        self.failed = fields
        raise SystemExit(1)


def test_warnings_go_through_warn_not_through_fail_jsons_deprecated_argument():
    module = RecordingModule()
    error = CertError("rotation failed", step="rotate", failed_machines=["web2"], warnings=["web2 was not re-issued: refused"])
    with pytest.raises(SystemExit):
        fail_from(module, error)
    assert module.warnings == ["web2 was not re-issued: refused"]
    assert module.failed == {"msg": "rotation failed", "step": "rotate", "failed_machines": ["web2"]}
