"""A module's RETURN documentation against what it really returned: no key undocumented, none documented in vain."""

from __future__ import annotations

import importlib
import typing as t

import yaml

# Keys Ansible itself adds to every result (or that are documented by the attributes, like diff).
COMMON_KEYS = frozenset({"changed", "failed", "msg", "invocation", "diff", "warnings", "deprecations", "skipped", "_ansible_no_log"})


def return_spec(module: str) -> dict[str, t.Any]:
    """The parsed RETURN block of ``dockyard.machine.<module>``."""
    source = importlib.import_module("ansible_collections.dockyard.machine.plugins.modules.%s" % module)
    return yaml.safe_load(source.RETURN) or {}


def _documented(spec: t.Mapping[str, t.Any], prefix: str = "") -> set[str]:
    keys = set()
    for key, doc in spec.items():
        keys.add(prefix + key)
        if doc.get("contains"):
            keys |= _documented(doc["contains"], prefix + key + ".")
    return keys


# RETURN's type names and the JSON values they stand for (bool before int: a bool is an int in Python).
TYPES: dict[str, tuple[type, ...]] = {"str": (str,), "bool": (bool,), "int": (int,), "float": (int, float), "list": (list,), "dict": (dict,)}


def _type_ok(value: t.Any, documented: str | None) -> bool:
    if documented not in TYPES:
        return True
    if documented in ("int", "float") and isinstance(value, bool):
        return False
    return isinstance(value, TYPES[documented])


def _returned(value: t.Mapping[str, t.Any], spec: t.Mapping[str, t.Any] | None, mistyped: set[str], prefix: str = "") -> set[str]:
    keys = set()
    for key, item in value.items():
        if not prefix and key in COMMON_KEYS:
            continue
        keys.add(prefix + key)
        doc = (spec or {}).get(key) or {}
        if doc and not _type_ok(item, doc.get("type")):
            mistyped.add("%s%s: documented %s, returned %s" % (prefix, key, doc.get("type"), type(item).__name__))
        contains = doc.get("contains")
        if not contains:
            continue
        for element in item if isinstance(item, list) else [item]:
            if isinstance(element, t.Mapping):
                keys |= _returned(element, contains, mistyped, prefix + key + ".")
    return keys


def compare(module: str, results: t.Iterable[t.Mapping[str, t.Any]]) -> tuple[set[str], set[str], set[str]]:
    """Over ``results`` (dotted key paths): returned but undocumented, documented but never returned, and
    values whose JSON type is not the documented one."""
    spec = return_spec(module)
    returned: set[str] = set()
    mistyped: set[str] = set()
    for result in results:
        returned |= _returned(result, spec, mistyped)
    documented = _documented(spec)
    return returned - documented, documented - returned, mistyped
