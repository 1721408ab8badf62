# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""What a sidecar fact is: a key, the shape of its value as data, and whether it may travel to another store.

The store declares the facts of every machine (``_store.SIDECAR_KEYS``); each driver declares its own
(``Driver.sidecar_keys``).  Whoever reads a sidecar it did not write (a bundle's import) keeps a fact only
when its owner declared it and its value has the declared shape.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass

__all__ = ["MAX_SIDECAR_TEXT", "Shape", "SidecarKey", "fits", "kept_value", "optional"]

MAX_SIDECAR_TEXT = 4096

#: A value's shape: ``str`` (one printable line of text), ``bool``, ``int``, a compiled pattern (text that matches it
#: whole), ``[shape]`` (a list of such values) or ``{field: shape}`` (a mapping with these fields, each required unless
#: its shape is ``optional(shape)``).
Shape = t.Any


@dataclass(frozen=True)
class _Optional:
    shape: Shape


def optional(shape: Shape) -> _Optional:
    """A field of a ``{field: shape}`` mapping that may be missing (a fact recorded in two steps: a name, then an ID)."""
    return _Optional(shape)


@dataclass(frozen=True)
class SidecarKey:
    """One fact a sidecar may hold, declared by its owner."""

    name: str
    shape: Shape
    #: What the value is, for messages: "a step and a message"; for a list, what one entry is.
    what: str
    #: A bundle carries it to another store. False for facts that could make this controller run something (a path to
    #: an SSH configuration, a jump host): those are given again by the task that needs them.
    portable: bool = True


def fits(value: t.Any, shape: Shape) -> bool:
    """True when ``value`` has ``shape`` (see Shape)."""
    if shape is str:
        return isinstance(value, str) and len(value) <= MAX_SIDECAR_TEXT and value.isprintable()
    if shape is bool:
        return isinstance(value, bool)
    if shape is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(shape, re.Pattern):
        return fits(value, str) and shape.fullmatch(value) is not None
    if isinstance(shape, list):
        return isinstance(value, list) and all(fits(item, shape[0]) for item in value)
    if isinstance(shape, dict):
        required = {k for k, s in shape.items() if not isinstance(s, _Optional)}
        if not isinstance(value, dict) or not required <= set(value) <= set(shape):
            return False
        return all(fits(v, shape[k].shape if isinstance(shape[k], _Optional) else shape[k]) for k, v in value.items())
    raise TypeError("not a sidecar shape: %r" % (shape,))


def kept_value(key: SidecarKey, value: t.Any) -> tuple[t.Any, str]:
    """What of ``value`` is kept (None: nothing) and, when something was left out, why (empty when all was kept).

    A list keeps its entries that fit; any other value is kept whole or not at all.
    """
    if fits(value, key.shape):
        return value, ""
    if isinstance(key.shape, list):
        if not isinstance(value, list):
            return None, "not a list"
        good = [item for item in value if fits(item, key.shape[0])]
        return (good or None), "an entry that is not %s" % key.what
    return None, "not %s" % key.what
