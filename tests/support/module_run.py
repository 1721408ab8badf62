"""Running a module's main() in-process, as Ansible would, and reading its JSON result."""

from __future__ import annotations

import json
import typing as t

import pytest
from ansible.module_utils.testing import patch_module_args


def run_module(main: t.Callable[[], None], args: dict[str, t.Any], capsys: pytest.CaptureFixture[str]) -> dict[str, t.Any]:
    """The module's result; its exit code must match ``failed``."""
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exited:
            main()
    result = json.loads(capsys.readouterr().out)
    assert exited.value.code == (1 if result.get("failed") else 0)
    return result
