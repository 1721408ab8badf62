# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this plugin_util is internal to dockyard.machine; its API may change without notice.
"""The part of Go's text/template and text/tabwriter that ``docker-machine ls -f`` and ``inspect -f`` use.

Templates hold literal text and actions ``{{ PIPELINE }}`` (``{{-`` and ``-}}`` trim the spaces
next to them). A pipeline is commands joined by ``|``; a command is a field chain (``.``,
``.Name``, ``.Driver.IPAddress``), a quoted string, or a function (``json``, ``prettyjson``)
followed by its argument. Values print the way Go's ``fmt`` prints them (maps as ``map[k:v]``,
numbers decoded from JSON as float64). Anything else (``range``, ``if``, variables) is refused
with an error that names it.
"""

from __future__ import annotations

import json
import math
import re
import typing as t
from dataclasses import dataclass

__all__ = ["Record", "TemplateError", "Template", "go_json", "tabwrite"]

NO_VALUE = "<no value>"


class TemplateError(Exception):
    """A template that cannot be parsed or run; the message reads like Go's.

    ``partial``: what a run wrote before it failed (Go's template writes as it goes; the original prints that part).
    """

    partial = ""


class Record(dict):
    """A value whose missing fields are an error (a Go struct), not ``<no value>`` (a Go map)."""

    type_name = "struct"


_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
_FIELD = re.compile(r"^(\.[A-Za-z_][A-Za-z0-9_]*)+$|^\.$")
_STRING = re.compile(r'^"((?:[^"\\]|\\.)*)"$|^`([^`]*)`$')


def _html_escape(text: str) -> str:
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def go_json(value: t.Any, indent: bool = False) -> str:
    """``json.Marshal`` (or ``MarshalIndent(v, "", "    ")``) of a value decoded into Go maps: keys sorted, HTML escaped."""
    if indent:
        text = json.dumps(value, indent=4, sort_keys=True, ensure_ascii=False)
    else:
        text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return _html_escape(text)


def _go_float(number: float) -> str:
    """``fmt.Print`` of a float64 (what JSON numbers decode to): strconv's shortest 'g' form."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    if number == 0:
        return "0"
    import decimal

    sign, digits, exponent = decimal.Decimal(repr(float(number))).normalize().as_tuple()
    text = "".join(str(d) for d in digits)
    point = len(text) + int(exponent)  # position of the decimal point
    exp = point - 1
    eprec = 6  # strconv's 'g' with the shortest precision decides with 6 digits
    prefix = "-" if sign else ""
    if exp < -4 or exp >= eprec:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return "%s%se%s%02d" % (prefix, mantissa, "-" if exp < 0 else "+", abs(exp))
    if point <= 0:
        return "%s0.%s%s" % (prefix, "0" * -point, text)
    if point >= len(text):
        return prefix + text + "0" * (point - len(text))
    return "%s%s.%s" % (prefix, text[:point], text[point:])


def go_print(value: t.Any) -> str:
    """A value as Go's ``fmt.Print`` shows it."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _go_float(float(value))
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "map[%s]" % " ".join("%s:%s" % (k, go_print(value[k])) for k in sorted(value))
    if isinstance(value, (list, tuple)):
        return "[%s]" % " ".join(go_print(v) for v in value)
    return str(value)


def go_type(value: t.Any) -> str:
    """The Go type a value decoded from JSON (or a header's text) has, as Go's errors name it."""
    if isinstance(value, Record):
        return value.type_name
    for kind, name in ((bool, "bool"), (str, "string"), (int, "float64"), (float, "float64"), (dict, "map[string]interface {}"), (list, "[]interface {}")):
        if isinstance(value, kind):
            return name
    return type(value).__name__


@dataclass(frozen=True)
class _Command:
    kind: str  # "field", "string", "func"
    text: str
    args: tuple[str, ...] = ()
    #: Where Go's error for each word (the command's, then its arguments') points: "LINE:COLUMN".
    where: tuple[str, ...] = ()


FUNCS: dict[str, t.Callable[[t.Any], str]] = {"json": go_json, "prettyjson": lambda v: go_json(v, indent=True)}


class Template:
    """A parsed template; ``funcs`` names the functions it may call (``json``, ``prettyjson``)."""

    def __init__(self, source: str, funcs: t.Iterable[str] = ()) -> None:
        self.source = source
        self.funcs = set(funcs)
        self.parts: list[str | list[_Command]] = []
        position = 0
        for match in _ACTION.finditer(source):
            text = source[position : match.start()]
            if match.group(1):
                text = text.rstrip()
            self.parts.append(text)
            inner = match.group(2)
            self.parts.append(self._pipeline(inner.strip(), self._line(match.start()), match.start(2) + len(inner) - len(inner.lstrip())))
            position = match.end()
            if match.group(3):
                rest = source[position:]
                position += len(rest) - len(rest.lstrip())
        tail = source[position:]
        if "{{" in tail:
            raise TemplateError("template: :%d: unclosed action" % self._line(position + tail.index("{{")))
        self.parts.append(tail)

    def _line(self, offset: int) -> int:
        return self.source.count("\n", 0, offset) + 1

    def _where(self, offset: int, word: str) -> str:
        """Go's ``ErrorContext`` of a word at ``offset``: line and byte column (from 0) of its node; a field chain's node
        (``.A.B``) starts at its second field."""
        fields = [m.start() for m in re.finditer(r"\.", word)] if word.startswith(".") else []
        position = offset + (fields[1] if len(fields) > 1 else 0)
        newline = self.source.rfind("\n", 0, position)
        return "%d:%d" % (self._line(position), position if newline < 0 else position - newline - 1)

    def _pipeline(self, text: str, line: int, offset: int = 0) -> list[_Command]:
        if not text:
            raise TemplateError("template: :%d: missing value for command" % line)
        commands = []
        start = 0
        for piece in text.split("|"):
            located = [(m.group(0), offset + start + m.start()) for m in re.finditer(r"\S+", piece)]
            start += len(piece) + 1
            words = [w for w, _o in located]
            where = tuple(self._where(o, w) for w, o in located)
            if not words:
                raise TemplateError("template: :%d: missing command" % line)
            head = words[0]
            if _FIELD.match(head) or _STRING.match(head):
                if len(words) > 1:
                    raise TemplateError("template: :%d: can't give argument to non-function %s" % (line, head))
                commands.append(_Command("field" if head.startswith(".") else "string", head, where=where))
            elif head in self.funcs:
                if len(words) > 2:
                    raise TemplateError("template: :%d: wrong number of args for %s: want 1 got %d" % (line, head, len(words) - 1))
                for word in words[1:]:
                    if not (_FIELD.match(word) or _STRING.match(word)):
                        raise TemplateError("template: :%d: unsupported argument %r (dockyard-machine templates take fields like .Name)" % (line, word))
                commands.append(_Command("func", head, tuple(words[1:]), where))
            else:
                raise TemplateError(
                    'template: :%d: function "%s" not defined (dockyard-machine templates take fields like {{.Name}}%s)'
                    % (line, head, " and the functions %s" % ", ".join(sorted(self.funcs)) if self.funcs else "")
                )
        return commands

    @staticmethod
    def _operand(word: str, data: t.Any, where: str = "1") -> t.Any:
        string = _STRING.match(word)
        if string:
            return string.group(1) if string.group(1) is not None else string.group(2)
        value = data
        if word == ".":
            return value
        for name in word[1:].split("."):
            if isinstance(value, Record):
                if name not in value:
                    raise TemplateError('template: :%s: executing "" at <%s>: can\'t evaluate field %s in type %s' % (where, word, name, value.type_name))
                value = value[name]
            elif isinstance(value, dict):
                value = value.get(name, _Missing)
                if value is _Missing:
                    return _Missing
            elif value is _Missing or value is None:
                return _Missing
            else:
                raise TemplateError('template: :%s: executing "" at <%s>: can\'t evaluate field %s in type %s' % (where, word, name, go_type(value)))
        return value

    def render(self, data: t.Any) -> str:
        out: list[str] = []
        try:
            self._render(data, out)
        except TemplateError as exc:
            exc.partial = "".join(out)
            raise
        return "".join(out)

    def _render(self, data: t.Any, out: list[str]) -> None:
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value: t.Any = _Missing
            for index, command in enumerate(part):
                if command.kind == "func":
                    args = [self._operand(a, data, w) for a, w in zip(command.args, command.where[1:] or ["1"] * len(command.args))]
                    if index:
                        args.append(value)
                    if len(args) != 1:
                        raise TemplateError("template: :1: wrong number of args for %s: want 1 got %d" % (command.text, len(args)))
                    value = FUNCS[command.text](None if args[0] is _Missing else args[0])
                elif index:
                    raise TemplateError("template: :1: can't give argument to non-function %s" % command.text)
                else:
                    value = self._operand(command.text, data, command.where[0] if command.where else "1")
            out.append(NO_VALUE if value is _Missing else go_print(value))


class _MissingType:
    def __repr__(self) -> str:
        return NO_VALUE


_Missing: t.Any = _MissingType()


def tabwrite(text: str, minwidth: int = 5, tabwidth: int = 1, padding: int = 3, padchar: str = " ") -> str:
    """Go's ``tabwriter.NewWriter(w, minwidth, tabwidth, padding, padchar, 0)`` over ``text``, flushed at the end.

    Cells end with a tab; the text after a line's last tab is not aligned. A column block is a run of
    consecutive lines that have a cell in that column; its width is its widest cell plus padding. With
    ``padchar`` a tab, cells are padded with tabs to the next multiple of ``tabwidth`` (codegangsta/cli's help).
    """

    def pad(cell: str, width: int) -> str:
        if padchar != "\t":
            return cell.ljust(width)
        width = -(-width // tabwidth) * tabwidth
        return cell + "\t" * -(-(width - len(cell)) // tabwidth)

    lines = [line.split("\t") for line in text.split("\n")]
    trailing = lines.pop() if lines and lines[-1] == [""] else None
    widths: list[int] = []
    out: list[str] = []

    def write_lines(start: int, end: int) -> None:
        for cells in lines[start:end]:
            parts = []
            for j, cell in enumerate(cells):
                parts.append(pad(cell, widths[j]) if j < len(cells) - 1 and j < len(widths) else cell)
            out.append("".join(parts))

    def format_block(line0: int, line1: int) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write_lines(line0, this)
            line0 = this
            width = minwidth
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + padding)
                this += 1
            widths.append(width)
            format_block(line0, this)
            widths.pop()
            line0 = this
        write_lines(line0, line1)

    format_block(0, len(lines))
    return "\n".join(out) + ("\n" if trailing is not None else "")
