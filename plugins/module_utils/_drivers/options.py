# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""One declaration per driver option.

A driver lists its options once as ``DriverOption`` values. Everything else that names an option is derived
from that list: the module's argument spec (``argument_spec``), the command line's flags, help and
flag-to-option mapping, the option names in messages, and the plain copies between options and the record's
Driver section (``to_fields``/``from_fields``). A fact such as a default is written in one place.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

__all__ = ["DriverOption", "argument_spec", "flag_names", "from_fields", "to_fields"]

# The command line's flag kinds (Go's flag types as the original prints them), by Ansible type.
_FLAG_KINDS = {"str": "string", "path": "string", "int": "int", "float": "string", "bool": "bool", "list": "slice", "dict": "slice"}


@dataclass(frozen=True)
class DriverOption:
    """One option of one driver: how the module takes it, how the command line takes it, where the record keeps it."""

    #: The module's sub-option name under the driver's name (``amazonec2.instance_type``).
    name: str
    #: Ansible's type: str, path, int, float, bool, list, dict.
    type: str = "str"
    default: t.Any = None
    choices: tuple[str, ...] = ()
    #: Element type of a list.
    elements: str = "str"
    required: bool = False
    #: The original's command-line flag without dashes (``amazonec2-instance-type``); empty: the module only.
    flag: str = ""
    #: Environment variable the flag falls back to, as the original's (``AWS_INSTANCE_TYPE``).
    env: str = ""
    #: One line of help for the command line (the original's words where it has the flag).
    help: str = ""
    #: The field of the record's Driver section that holds the value as is (``InstanceType``); empty when the
    #: driver's own code maps it (or the record does not keep it).
    field: str = ""
    #: A secret: ``no_log`` in the module, never written to the store.
    secret: bool = False

    @property
    def flag_kind(self) -> str:
        """The command line's kind of flag: string, int, bool or slice."""
        return _FLAG_KINDS.get(self.type, "string")

    def spec(self) -> dict[str, t.Any]:
        """This option's entry in an Ansible argument spec."""
        entry: dict[str, t.Any] = {"type": self.type}
        if self.type == "list":
            entry["elements"] = self.elements
        if self.required:
            entry["required"] = True
        if self.default is not None:
            entry["default"] = list(self.default) if isinstance(self.default, (list, tuple)) else self.default
        if self.choices:
            entry["choices"] = list(self.choices)
        if self.secret:
            entry["no_log"] = True
        return entry

    def fallback(self) -> t.Any:
        """The default as a fresh value (lists and dicts copied), for code that fills options the task left out."""
        if isinstance(self.default, (list, tuple)):
            return list(self.default)
        if isinstance(self.default, dict):
            return dict(self.default)
        return self.default


def argument_spec(options: t.Iterable[DriverOption]) -> dict[str, dict[str, t.Any]]:
    """The ``options`` of a driver's dict in a module's argument spec."""
    return {option.name: option.spec() for option in options}


def flag_names(options: t.Iterable[DriverOption], prefix: str) -> dict[str, str]:
    """``{'<prefix>.<option>': '--<flag>'}`` for every option with a flag: how messages name it on the command line."""
    return {"%s.%s" % (prefix, o.name) if prefix else o.name: "--" + o.flag for o in options if o.flag}


def to_fields(options: t.Iterable[DriverOption], values: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The Driver-section fields that copy an option as is (``field`` set), from the task's option values."""
    fields: dict[str, t.Any] = {}
    for option in options:
        if not option.field or option.secret:
            continue
        value = values.get(option.name)
        fields[option.field] = option.fallback() if value is None else value
    return fields


def from_fields(options: t.Iterable[DriverOption], section: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The option values a record's Driver section gives back for the options with a ``field`` (missing or empty
    fields give the option's default)."""
    values: dict[str, t.Any] = {}
    for option in options:
        if not option.field or option.secret:
            continue
        value = section.get(option.field)
        values[option.name] = option.fallback() if value in (None, "") else value
    return values
