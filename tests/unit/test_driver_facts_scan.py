# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drivers own their facts: no code outside ``_drivers/`` and ``doc_fragments/`` names a driver or a cloud record field.

An AST scan of ``plugins/``: identifiers and string literals (docstrings and the DOCUMENTATION, EXAMPLES and RETURN
texts, ``__all__``, do not count) that are
- a registered driver name: a string literal equal to it, or starting with it as a flag or option does
  (``--amazonec2-region``, ``amazonec2.ami``, ``amazonec2-tags``);
- an identifier, or a string literal without spaces (an option name: ``ec2_refresh``, ``group/amazon.aws.aws``), with
  a cloud's word as one of its parts (``ec2``, ``aws``, ``amazon``, ``amazonec2``, ``digitalocean``, ``droplet``);
- a record field of a driver that makes hosts in a cloud (its declared fields, the fields it learns, its sidecar keys),
  as a string literal equal to it; a field that is one English word (``Size``, ``Image``, ``Region``) only where it is
  read from or written to a record's section (``record.driver["Region"]``, ``side.get("Tags")``), since a bundle's
  manifest has a ``Size`` and the swarm options an ``Image`` too.
``none`` and ``generic`` are English words (a CA state "none", an OS id "none"): a literal equal to one of them counts
only where its statement (or its ``if`` test) is about a driver, i.e. mentions ``driver``.
"""

from __future__ import annotations

import ast
import os
import re
import typing as t

from ansible_collections.dockyard.machine.plugins.module_utils._drivers import DRIVERS
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.base import base_fields

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "plugins")
EXEMPT = (os.path.join("module_utils", "_drivers") + os.sep, "doc_fragments" + os.sep)
DOC_NAMES = {"DOCUMENTATION", "EXAMPLES", "RETURN"}
# The drivers the issue names, registered or about to be.
DRIVER_NAMES = set(DRIVERS) | {"digitalocean"}
CLOUD_WORDS = {"ec2", "aws", "amazon", "amazonec2", "digitalocean", "droplet", "droplets"}
ENGLISH_NAMES = {"none", "generic"}
# Sidecar keys of the drivers, when a driver does not list them itself (yet).
KNOWN_SIDECAR_KEYS = {"ClientToken", "CreatedSecurityGroups", "PendingSecurityGroup", "ElasticIp", "Adopted"}


def cloud_fields() -> set[str]:
    """Record fields and sidecar keys that belong to drivers of cloud hosts (not libmachine's base fields)."""
    fields: set[str] = set(KNOWN_SIDECAR_KEYS)
    for cls in DRIVERS.values():
        if not (cls.has_cloud_resources or cls.creates_hosts):
            continue
        fields.update(o.field for o in cls.OPTIONS if o.field)
        fields.update(cls.cloud_fields)
        fields.update(key.name for key in cls.sidecar_keys)  # SidecarKey declarations
    return fields - set(base_fields("", "")) - {""}


def _is_driver_text(text: str) -> bool:
    return any(text == name or re.match(r"^(--)?%s[-.]" % re.escape(name), text) for name in DRIVER_NAMES)


def _record_access(source: str, node: ast.AST, parents: dict[int, ast.AST]) -> bool:
    """Whether the literal is a key read from or written to a record's Driver section or sidecar (``d["Region"]`` where
    ``d`` names them, ``record.driver.get("Tags")``)."""
    parent = parents.get(id(node))
    if isinstance(parent, ast.Subscript):
        target: ast.AST = parent.value
    elif isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute) and parent.func.attr in ("get", "pop", "setdefault") and parent.args:
        target = parent.func.value
    else:
        return False
    text = (ast.get_source_segment(source, target) or "").lower()
    return any(word in text for word in ("driver", "side", "section")) or text in ("d", "fields")


def _names_cloud(text: str) -> bool:
    """True when one of the word parts of an identifier or option name is a cloud's (``ec2_refresh``, ``AmazonEC2Driver``)."""
    parts = re.findall(r"[A-Z]+[0-9]*(?![a-z])|[A-Z]?[a-z]+[0-9]*|[0-9]+", text)
    return any(part.lower() in CLOUD_WORDS for part in parts)


_CONTEXTS = (ast.Compare, ast.keyword, ast.Subscript, ast.Assign, ast.AnnAssign, ast.Return, ast.Call, ast.stmt)


def _about_driver(source: str, node: ast.AST, parents: dict[int, ast.AST]) -> bool:
    """Whether the nearest comparison, call, subscript, keyword or assignment holding an English-word literal mentions
    a driver (``record.driver_name == "none"``, ``get_driver("generic")``, ``DRIVER_FLAGS = {"generic": ...}``)."""
    context = parents.get(id(node))
    while context is not None and not isinstance(context, _CONTEXTS):
        context = parents.get(id(context))
    if context is None:
        return False
    if isinstance(context, ast.stmt) and hasattr(context, "test"):
        context = context.test
    return "driver" in (ast.get_source_segment(source, context) or "").lower()


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings or DOCUMENTATION/EXAMPLES/RETURN."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                skip.add(id(body[0].value))
        if isinstance(node, ast.Assign) and any(isinstance(tg, ast.Name) and tg.id in DOC_NAMES | {"__all__"} for tg in node.targets):
            skip.update(id(n) for n in ast.walk(node.value))
    return skip


def _identifiers(node: ast.AST) -> t.Iterator[str]:
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, ast.Attribute):
        yield node.attr
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        yield node.name
    elif isinstance(node, ast.arg):
        yield node.arg
    elif isinstance(node, ast.keyword) and node.arg:
        yield node.arg
    elif isinstance(node, ast.alias):
        yield (node.asname or node.name).rsplit(".", 1)[-1]


def scan(root: str = ROOT) -> list[str]:
    """Every place outside the drivers' folder and the doc fragments that names a driver or a cloud field."""
    fields = cloud_fields()
    found: list[str] = []
    for folder, _dirs, files in os.walk(root):
        for file_name in sorted(files):
            path = os.path.join(folder, file_name)
            relative = os.path.relpath(path, root)
            if not file_name.endswith(".py") or relative.startswith(EXEMPT):
                continue
            with open(path, encoding="utf-8") as handle:
                source = handle.read()
            tree = ast.parse(source, path)
            skip = _docstrings(tree)
            parents = {id(child): parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
            for node in ast.walk(tree):
                line = getattr(node, "lineno", 0)
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                    text = node.value
                    if text in ENGLISH_NAMES:
                        hit = _about_driver(source, node, parents)
                    else:
                        one_word = re.fullmatch(r"[A-Z][a-z]+", text) is not None
                        field_hit = text in fields and (not one_word or _record_access(source, node, parents))
                        hit = _is_driver_text(text) or field_hit or (not re.search(r"\s", text) and _names_cloud(text))
                    if hit:
                        found.append("%s:%d: %r" % (relative, line, text))
                    continue
                for name in _identifiers(node):
                    if _names_cloud(name):
                        found.append("%s:%d: %s" % (relative, line, name))
    return found


def test_no_driver_names_or_cloud_fields_outside_the_drivers() -> None:
    places = scan()
    assert not places, "%d places name a driver or a cloud field outside _drivers/ and doc_fragments/:\n%s" % (len(places), "\n".join(places))


def test_the_scan_finds_what_it_looks_for(tmp_path: t.Any) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""Module docstring naming amazonec2 and InstanceId."""\n'
        'DOCUMENTATION = "driver: amazonec2"\n'
        'def ec2_refresh(record):\n'
        '    """Docstring: generic hosts."""\n'
        '    message, state = "none of the hosts", "none"\n'
        '    if record.driver_name == "none" or state == "generic":\n'
        '        return record.driver.get("InstanceId"), "amazonec2", "--generic-ip-address", "aws_profile", message\n'
        '    return {"Size": 1, "Zone": record.driver["Zone"]}\n'
    )
    places = scan(str(tmp_path))
    assert sorted(places) == sorted(
        [
            "sample.py:3: ec2_refresh",
            "sample.py:6: 'none'",
            "sample.py:7: 'InstanceId'",
            "sample.py:7: 'amazonec2'",
            "sample.py:7: '--generic-ip-address'",
            "sample.py:7: 'aws_profile'",
            "sample.py:8: 'Zone'",
        ]
    )
