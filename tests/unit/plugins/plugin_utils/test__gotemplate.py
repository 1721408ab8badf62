# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Go text/template and tabwriter subset: values print as Go prints them, tables align as Go aligns them."""

from __future__ import annotations

import pytest

from ansible_collections.dockyard.machine.plugins.plugin_utils._gotemplate import Record, Template, TemplateError, go_json, go_print, tabwrite


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (22, "22"),
        (2376, "2376"),
        (0, "0"),
        (1000000, "1e+06"),
        (123456, "123456"),
        (1.5, "1.5"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-3, "-3"),
        (True, "true"),
        (None, "<nil>"),
        ({"b": 1, "a": "x"}, "map[a:x b:1]"),
        (["a", 2], "[a 2]"),
        ([], "[]"),
    ],
)
def test_values_print_like_go_fmt(value: object, text: str) -> None:
    assert go_print(value) == text


def test_json_sorts_keys_and_escapes_html() -> None:
    assert go_json({"b": "<x>", "a": [1, True]}) == '{"a":[1,true],"b":"\\u003cx\\u003e"}'
    assert go_json({"b": 1, "a": 2}, indent=True) == '{\n    "a": 2,\n    "b": 1\n}'


def test_fields_pipes_and_trim_markers() -> None:
    data = {"Driver": {"IPAddress": "10.0.0.5", "SSHPort": 22}, "Name": "web1"}
    assert Template("{{.Name}}@{{ .Driver.IPAddress }}:{{.Driver.SSHPort}}").render(data) == "web1@10.0.0.5:22"
    assert Template("{{.Driver | json}}", funcs=["json"]).render(data) == '{"IPAddress":"10.0.0.5","SSHPort":22}'
    assert Template("a  {{- .Name -}}  b").render(data) == "aweb1b"
    assert Template('{{"lit"}} {{.Missing}} {{.Missing.Deeper}}').render(data) == "lit <no value> <no value>"


def test_a_struct_refuses_unknown_fields() -> None:
    with pytest.raises(TemplateError, match="can't evaluate field Colour in type struct"):
        Template("{{.Colour}}").render(Record(Name="x"))


@pytest.mark.parametrize("source", ["{{if .Name}}x{{end}}", "{{.Name", "{{}}", "{{json .A .B}}", '{{printf "%s" .Name}}'])
def test_unsupported_templates_are_refused(source: str) -> None:
    with pytest.raises(TemplateError):
        Template(source, funcs=["json"]).render({"Name": "x"})


def test_tabwriter_blocks_like_go() -> None:
    # Lines without a cell in a column end that column's block; the text after the last tab is never padded.
    text = "a\tbb\tc\nxxxxxx\ty\tz\nno tabs here\nq\tr\n"
    assert tabwrite(text) == "a        bb   c\nxxxxxx   y    z\nno tabs here\nq    r\n"


def test_exec_errors_point_where_go_points_and_keep_what_was_written() -> None:
    with pytest.raises(TemplateError) as info:
        Template("a{{.Name}}\n  {{.X.Y}}").render({"Name": "n", "X": "text"})
    assert str(info.value) == 'template: :2:6: executing "" at <.X.Y>: can\'t evaluate field Y in type string'
    assert info.value.partial == "an\n  "
    with pytest.raises(TemplateError) as info:
        Template("{{json .Size.Unit}}", funcs=["json"]).render({"Size": 3})
    assert str(info.value) == 'template: :1:12: executing "" at <.Size.Unit>: can\'t evaluate field Unit in type float64'
