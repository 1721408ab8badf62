"""Reading what ``ansible-inventory --list`` prints."""

from __future__ import annotations

import typing as t


def plain(value: t.Any) -> t.Any:
    """Drop the ``{"__ansible_unsafe": ...}`` marking ansible-inventory puts on values from a plugin."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value
