"""Stands in for boto3 in a Python that does not have it: PYTHONPATH=tests/support/without_boto3 makes `import boto3` fail as it does there."""

from __future__ import annotations

raise ModuleNotFoundError("No module named 'boto3'", name="boto3")
