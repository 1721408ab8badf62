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

import os
import typing as t
from dataclasses import dataclass

__all__ = ["PAIRS", "DriverOption", "PairCodec", "argument_spec", "defaults", "flag_names", "from_fields", "to_fields"]

# The command line's flag kinds (Go's flag types as the original prints them), by Ansible type.
_FLAG_KINDS = {"str": "string", "path": "string", "int": "int", "float": "string", "bool": "bool", "list": "slice", "dict": "slice"}


class PairCodec:
    """``key1,value1,key2,value2`` (the original's text for tags, as its flag and its record field hold it) and the
    mapping ``{key1: value1, key2: value2}``."""

    def encode(self, value: t.Mapping[str, t.Any] | None) -> str:
        return ",".join("%s,%s" % (k, v) for k, v in sorted((value or {}).items()))

    def decode(self, text: t.Any, *, strict: bool = False) -> dict[str, str]:
        """The mapping; an odd trailing item is dropped as the original drops it, or with ``strict`` a ValueError."""
        if isinstance(text, t.Mapping):
            return {str(k): str(v) for k, v in text.items()}
        if not isinstance(text, str) or not text:
            return {}
        items = [item for item in text.split(",") if item] if strict else text.split(",")
        if strict and len(items) % 2:
            raise ValueError("takes key,value pairs (an even count)")
        return {items[i]: items[i + 1] for i in range(0, len(items) - 1, 2)}


#: The pair codec: tags as ``key1,value1,key2,value2``.
PAIRS = PairCodec()

# What a record field holds for an option that has no value and no default (Go's zero values).
_ZERO: dict[str, t.Any] = {"str": "", "path": "", "int": 0, "float": 0.0, "bool": False}


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
    #: Not a secret though its name looks like one to validate-modules (a key's fingerprint): ``no_log: false``.
    public: bool = False
    #: How the flag's text and the record field's text hold the value (``encode(value)``, ``decode(text, strict=)``,
    #: for example ``PAIRS``); None: they hold it as it is.
    codec: t.Any = None

    @property
    def flag_kind(self) -> str:
        """The command line's kind of flag: string, int, bool or slice (a value with a codec is one string)."""
        return "string" if self.codec is not None else _FLAG_KINDS.get(self.type, "string")

    def from_flag(self, raw: t.Any) -> t.Any:
        """The option's value from its flag's parsed value (None when the flag was not given: the default applies).

        Raises ValueError when the codec cannot read the text.
        """
        if raw is None or raw == "" or raw == [] or (raw is False and self.type == "bool"):
            return None
        if self.codec is not None:
            return self.codec.decode(raw, strict=True)
        if self.type == "path":
            return os.path.expanduser(str(raw))
        if self.type == "list":
            return list(raw)
        return raw

    def field_value(self, value: t.Any) -> t.Any:
        """What the record field holds for the option's value (its default when None; paths absolute)."""
        if value is None:
            value = self.fallback()
        if self.codec is not None:
            return self.codec.encode(value)
        if value is None:
            return [] if self.type == "list" else {} if self.type == "dict" else _ZERO.get(self.type, "")
        if self.type == "path" and value:
            return os.path.abspath(str(value))
        return value

    def value_of_field(self, raw: t.Any) -> t.Any:
        """The option's value a record field gives back (a missing or empty field gives the default)."""
        if raw in (None, "") or (self.type == "int" and raw == 0 and not isinstance(raw, bool)):
            return self.fallback()
        if self.codec is not None:
            return self.codec.decode(raw)
        return raw

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
        elif self.public:
            entry["no_log"] = False
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
    """The Driver-section fields that copy an option (``field`` set), from the task's option values: the default when
    a value is None, Go's zero value when there is neither, paths absolute, the codec's text."""
    return {o.field: o.field_value(values.get(o.name)) for o in options if o.field and not o.secret}


def from_fields(options: t.Iterable[DriverOption], section: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The option values a record's Driver section gives back for the options with a ``field`` (missing or empty
    fields give the option's default)."""
    return {o.name: o.value_of_field(section.get(o.field)) for o in options if o.field and not o.secret}


def defaults(options: t.Iterable[DriverOption]) -> dict[str, t.Any]:
    """Every option at its default (None without one), as a module's argument spec fills options a task left out."""
    return {o.name: o.fallback() for o in options}
