"""Stands in for botocore in a Python that does not have it: PYTHONPATH=tests/support/without_boto3 makes `import botocore` fail as it does there."""

from __future__ import annotations

raise ModuleNotFoundError("No module named 'botocore'", name="botocore")
